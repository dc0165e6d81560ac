/*
 * tagval: tag=value lists (RFC 6376 section 3.2), the syntax of
 * DKIM-Signature, DKIM key records, ARC-Seal and ARC-Message-Signature.
 *
 *   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" [FWS] ]
 *   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  =  ALPHA *ALNUMPUNC        (ALNUMPUNC = ALPHA / DIGIT / "_")
 *   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]   tval = 1*VALCHAR
 *   VALCHAR   =  %x21-3A / %x3C-7E / UTF8-2 / UTF8-3 / UTF8-4
 *   FWS       =  [*WSP CRLF] 1*WSP       (RFC 6376 section 2.8)
 *
 * Two additions to the RFC 6376 ABNF: FWS after the final ";" (its prose:
 * "WSP is allowed anywhere around tags"; key records like "p=...; " are
 * common), and well-formed UTF-8 in values (RFC 8616 section 5 allows
 * U-labels in d=, s=, i= and UTF-8 in z=; RFC 6376 3.2 advises not to
 * preclude it).  Malformed UTF-8 and other 8-bit bytes stay errors.
 *
 * Values are borrowed pointers into the input, with the FWS around them
 * trimmed (inner FWS kept: base64 values drop it in b64.c).  A duplicate
 * tag is an error (section 3.2: "Tags with duplicate names MUST NOT occur
 * within a single tag-list; if a tag name does occur more than once, the
 * entire tag-list is invalid").  An empty list, a tag without "=", a bad
 * tag name or a byte outside VALCHAR/FWS in a value (NUL included) is a
 * syntax error.  At most TAGVAL_MAX tags.
 *
 * No allocation; thread-safe.
 */
#ifndef AUTHMILTER_TAGVAL_H
#define AUTHMILTER_TAGVAL_H

#include <stddef.h>

#define TAGVAL_MAX      64
#define TAGVAL_NAME_MAX 32

enum {
	TAGVAL_OK = 0,
	TAGVAL_ESYNTAX = -1,
	TAGVAL_EDUP = -2,
	TAGVAL_ETOOMANY = -3,
};

struct tagval {
	char name[TAGVAL_NAME_MAX]; /* as written; names are case-sensitive */
	const char *value;          /* into the input; not NUL-terminated */
	size_t len;
};

struct tagval_list {
	size_t n;
	struct tagval t[TAGVAL_MAX];
};

/* Parse s[0..len); TAGVAL_OK (*why set to NULL) or an error with a short
 * static reason in *why (why may be NULL). */
int tagval_parse(const char *s, size_t len, struct tagval_list *out,
                 const char **why);

/* The tag named name, or NULL. */
const struct tagval *tagval_get(const struct tagval_list *l, const char *name);

/* Whether t's value equals s exactly (case-sensitive) / ignoring ASCII
 * case; false when t is NULL (so tagval_get() can be passed directly). */
int tagval_eq(const struct tagval *t, const char *s);
int tagval_eqi(const struct tagval *t, const char *s);

/* Copy the value into out (NUL-terminated); -1 if it does not fit or t is
 * NULL. */
int tagval_copy(const struct tagval *t, char *out, size_t outsz);

#endif
