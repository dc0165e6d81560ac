/*
 * hdr: the header section of one message, as received, parsed once.
 *
 * Every header field the MTA passes is kept (up to hard caps) exactly as
 * it will be signed and verified: "Name:value" where value is what the
 * MTA gave with SMFIP_HDR_LEADSPC (leading whitespace included) and every
 * line break normalised to CRLF (Postfix and Sendmail pass folded values
 * with bare LF).  DKIM, ARC and DMARC all read the fields from here, so
 * no two parsers can disagree about what the message says ("Composition
 * Kills", USENIX Security 2020).
 *
 * Caps: at most max_fields fields and max_bytes bytes in all (raw bytes,
 * taken literally: 0 refuses every field); past either, hdr_add() refuses
 * the field and hdr_overflowed() turns true, as it does when memory runs
 * out.  Methods that need the whole header section must then not pass.
 *
 * Field names: a name with trailing WSP ("From " from the obsolete
 * "From :", RFC 5322 section 4.5) is the same field as without it, for
 * hdr_is() and so for hdr_from() and every h= list.
 *
 * From: hdr_from() parses every From field (RFC 5322 section 3.6.2,
 * mailbox-list of section 3.4 with the obsolete forms of section 4.4,
 * comments, quoted local parts, encoded words in display names, UTF-8 per
 * RFC 6532) and reports the author domain only when there is exactly one
 * From field and all of its addresses share one domain; otherwise it says
 * why there is none (DMARC RFC 9989: no, several, or ambiguous authors
 * never pass).  The parser is iterative and linear in the input; comments
 * nest at most 64 deep.
 *
 * Ownership: hdr_new() returns an owned object; fields are borrowed from
 * it and stay valid until hdr_free().  Thread rules: one message, one
 * thread at a time.
 */
#ifndef AUTHMILTER_HDR_H
#define AUTHMILTER_HDR_H

#include <stdbool.h>
#include <stddef.h>

#define HDR_MAX_FIELDS 5000          /* default cap on fields kept */
#define HDR_MAX_BYTES  (1024 * 1024) /* default cap on bytes kept */
#define HDR_DOMAIN_MAX 256

enum {
	HDR_OK = 0,
	HDR_ENOMEM = -1,
	HDR_EFULL = -2, /* a cap was reached; the field was not kept */
};

/* One field: raw is "Name:value" without the final CRLF, CRLF-folded and
 * NUL-terminated (the NUL not counted in rawlen); the value starts at
 * raw + namelen + 1. */
struct hdr_field {
	const char *raw;
	size_t rawlen;
	size_t namelen;
};

struct hdr;

/* A new, empty header section with the given caps; NULL when out of memory. */
struct hdr *hdr_new(size_t max_fields, size_t max_bytes);

/* Free (NULL is allowed). */
void hdr_free(struct hdr *h);

/* Keep one field (value as the MTA gave it); HDR_OK, HDR_ENOMEM, HDR_EFULL. */
int hdr_add(struct hdr *h, const char *name, const char *value);

/* Number of fields kept, top to bottom. */
size_t hdr_count(const struct hdr *h);

/* Field i (0 = topmost); borrowed. */
const struct hdr_field *hdr_get(const struct hdr *h, size_t i);

/* Whether a field was refused (a cap, or out of memory). */
bool hdr_overflowed(const struct hdr *h);

/* How many From fields hdr_add() could not keep (for hdr_from). */
unsigned hdr_from_refused(const struct hdr *h);

/* Whether field f is named name (ASCII case-insensitive; WSP at the end
 * of f's name is ignored). */
bool hdr_is(const struct hdr_field *f, const char *name);

/* The value of f (after the colon, leading whitespace included). */
const char *hdr_value(const struct hdr_field *f, size_t *len);

enum hdr_from_status {
	HDR_FROM_OK,               /* one author domain */
	HDR_FROM_NONE,             /* no From field */
	HDR_FROM_MULTIPLE_FIELDS,  /* more than one From field */
	HDR_FROM_MULTIPLE_DOMAINS, /* addresses of different domains */
	HDR_FROM_NO_DOMAIN,        /* an address without a usable domain
	                              (domain literal, "<>", a local part
	                              alone), or no address at all */
	HDR_FROM_SYNTAX,           /* not a mailbox-list (groups included,
	                              RFC 5322 3.6.2), or an address
	                              longer than the fields below */
};

/* Precedence within one field: SYNTAX, then NO_DOMAIN, then
 * MULTIPLE_DOMAINS.  With several fields, each is parsed, naddrs is the
 * sum and address the first field's.  From fields that hdr_add() refused
 * (caps, memory) count as fields: one such field alone is SYNTAX ("From
 * field was not kept"), so padding the header never hides a From. */
struct hdr_from {
	enum hdr_from_status status;
	unsigned nfields;            /* From fields seen */
	unsigned naddrs;             /* mailboxes in them (0 on SYNTAX) */
	char domain[HDR_DOMAIN_MAX]; /* lower-cased author domain (OK only;
	                                ASCII lower-cased, UTF-8 kept) */
	char address[512];           /* first mailbox's addr-spec as written
	                                without CFWS and folds, or "" */
	const char *why;             /* static text; "" when OK */
};

/* Parse the From fields of h into out (never fails; status says what was
 * found). */
void hdr_from(const struct hdr *h, struct hdr_from *out);

/* Parse one From value (for tests and fuzzing): same as hdr_from with
 * a single field.  Line breaks may be CRLF or the bare LF hdr_add()
 * would have turned into CRLF. */
void hdr_from_value(const char *value, size_t len, struct hdr_from *out);

#endif
