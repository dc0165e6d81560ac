/*
 * spf_record: the SPF record language of RFC 7208 (sections 4.5, 4.6.1,
 * 5, 6, 7 and the collected ABNF of section 12).
 *
 * spf_record_is_spf() tells an SPF record from other TXT data: it starts
 * with "v=spf1" (any case) followed by SP or the end (section 4.5).
 * spf_record_parse() checks the whole record against the ABNF before
 * anything is evaluated (section 4.6: a syntax error anywhere is a
 * permerror): terms separated by 1*SP, trailing SP allowed; mechanisms
 * all/include/a/mx/ptr/ip4/ip6/exists with the qualifiers + - ~ ?;
 * dual CIDR lengths without leading zeros (a/24//64, /0 allowed, /33 and
 * /032 refused); strict dotted-quad ip4 networks; domain-specs whose
 * macro-strings are valid (section 7.1) and that end in a macro-expand or
 * in "." toplabel ["."] where the toplabel is LDH and not all-numeric;
 * the macro letters c, r and t only in explanation text (section 7.2);
 * redirect= and exp= at most once each (section 6) and always with a
 * domain-spec; other modifiers need a valid name and macro-string and are
 * otherwise ignored.  Any byte outside printable ASCII and SP (a NUL, CR,
 * LF, TAB, UTF-8) is a syntax error.
 *
 * spf_record_expand() is macro expansion (section 7.3): the letters
 * s l o d i p h c r t v, the transformers (digits, r) and delimiters, %%
 * %_ %-, URL escaping for upper-case letters (RFC 3986 unreserved set),
 * and for a domain the truncation from the left to 253 characters.  It
 * checks the syntax again, so it is safe on any input.
 *
 * Ownership: spf_record_parse() returns one owned block (the struct, the
 * term array and a copy of the text the terms point into), released by
 * spf_record_free().  Everything else works on caller storage.
 * Thread rules: no state; every function is thread-safe.
 */
#ifndef AUTHMILTER_SPF_RECORD_H
#define AUTHMILTER_SPF_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errbuf.h"

#define SPF_RECORD_DOMAIN_MAX 253   /* text form, without the final dot */
#define SPF_RECORD_EXPAND_MAX 65536 /* cap on a domain expansion */

enum {
	SPF_RECORD_OK = 0,
	SPF_RECORD_ESYNTAX = -1, /* not valid RFC 7208 syntax */
	SPF_RECORD_ENOMEM = -2,  /* out of memory */
	SPF_RECORD_E2BIG = -3,   /* expansion longer than the cap */
};

enum spf_record_kind {
	SPF_REC_ALL,
	SPF_REC_INCLUDE,
	SPF_REC_A,
	SPF_REC_MX,
	SPF_REC_PTR,
	SPF_REC_IP4,
	SPF_REC_IP6,
	SPF_REC_EXISTS,
	SPF_REC_REDIRECT,
	SPF_REC_EXP,
	SPF_REC_MODIFIER /* an unknown modifier: kept, never evaluated */
};

struct spf_term {
	enum spf_record_kind kind;
	char qualifier;   /* '+', '-', '~' or '?' for mechanisms, else 0 */
	const char *spec; /* domain-spec (macro-string), NULL when absent */
	unsigned cidr4;   /* prefix lengths; 32 and 128 when absent */
	unsigned cidr6;
	unsigned char net[16]; /* ip4 (first 4 bytes) or ip6 network */
	const char *text;      /* the term as written */
};

struct spf_record {
	size_t nterms;
	const struct spf_term *terms;
	const struct spf_term *redirect; /* NULL when absent */
	const struct spf_term *exp;      /* NULL when absent */
	bool has_all;                    /* an "all" mechanism is present */
};

/* Where a macro-string stands, which decides what it may hold. */
enum spf_macro_ctx {
	SPF_MACRO_DOMAIN,   /* domain-spec: no c/r/t, needs a domain-end */
	SPF_MACRO_MODIFIER, /* value of an unknown modifier */
	SPF_MACRO_EXPLAIN,  /* explain-string: SP allowed, every letter */
};

/* The values macros expand to (section 7.2); p may be NULL when the
 * string does not use it (then it expands to "unknown"). */
struct spf_macro_env {
	const char *s, *l, *o, *d, *i, *p, *h, *c, *r, *t, *v;
};

/* Whether txt (len bytes) is an SPF version 1 record (section 4.5). */
bool spf_record_is_spf(const char *txt, size_t len);

/* Parse a record (len bytes, NUL bytes included) into *out.
 * SPF_RECORD_OK, SPF_RECORD_ESYNTAX with the reason in eb, or
 * SPF_RECORD_ENOMEM. */
int spf_record_parse(const char *txt, size_t len, struct spf_record **out,
                     struct errbuf *eb);

/* Free a parsed record (NULL is allowed). */
void spf_record_free(struct spf_record *r);

/* Check a macro-string of len bytes for ctx: SPF_RECORD_OK or
 * SPF_RECORD_ESYNTAX with the reason in eb. */
int spf_record_check_macro(const char *s, size_t len, enum spf_macro_ctx ctx,
                           struct errbuf *eb);

/* Whether s[0..n) is a toplabel (section 7.1): LDH, starting and ending
 * with a letter or digit, not all-numeric. */
bool spf_record_toplabel_ok(const char *s, size_t n);

/* The macro letters s holds, as a bit mask (bit 'x' - 'a', either case);
 * 0 for a string without macros or with bad syntax. */
unsigned spf_record_macro_letters(const char *s);

#define SPF_MACRO_BIT(ch) (1u << ((ch) - 'a'))

/* Expand s into out (reset first).  For SPF_MACRO_DOMAIN the result is
 * truncated from the left to SPF_RECORD_DOMAIN_MAX characters, a final
 * dot removed first (section 7.3), and a result over
 * SPF_RECORD_EXPAND_MAX is SPF_RECORD_E2BIG; for SPF_MACRO_EXPLAIN the
 * text is cut at out's cap instead.  SPF_RECORD_OK, SPF_RECORD_ESYNTAX,
 * SPF_RECORD_ENOMEM or SPF_RECORD_E2BIG. */
int spf_record_expand(const char *s, const struct spf_macro_env *env,
                      enum spf_macro_ctx ctx, struct buf *out);

#endif
