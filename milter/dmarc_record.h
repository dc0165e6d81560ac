/*
 * dmarc_record: DMARC Policy Records and the domain arithmetic of the DNS
 * Tree Walk, as plain functions without DNS (dmarc_check.c does the
 * lookups).
 *
 * Parsing (RFC 9989 sections 4.7 and 4.8; RFC 7489 sections 6.3 and 6.4):
 * a TXT record is a DMARC Policy Record only when it starts with the "v"
 * tag and the value "DMARC1" exactly (case-sensitive, no leading space;
 * *WSP "=" *WSP allowed); anything else is not one and is discarded
 * (section 4.10 steps 2 and 6).  The rest is a list of tag=value pairs
 * separated by *WSP ";" *WSP.  Tag names are 1*ALPHA and case-sensitive
 * (the DKIM tag-value syntax, RFC 6376 section 3.2); keyword values
 * ("reject", "s", "y") are case-insensitive, as ABNF quoted strings are.
 * A syntax error in a tag is "discarded in favor of default values or
 * ignored outright" (section 4.8): the tag takes its default and its bit
 * is set in bad; for p, sp and np the value becomes DMARC_REQ_INVALID so
 * that the caller can apply section 4.10.1 ("does not contain a valid p
 * tag, or contains an sp or np tag that is not valid").  A tag given
 * twice is a syntax error of that tag.  Unknown tags are ignored.  Every
 * tag of both RFCs is parsed (pct, ri, rf of RFC 7489; np, psd, t of RFC
 * 9989): the caller uses those of its mode.  Parsing is linear, takes a
 * length (NUL bytes are data, and not DMARC syntax) and never allocates.
 *
 * Domains: dmarc_record_domain() normalises a domain for DNS: ASCII
 * lower-cased, without a final dot, every U-label turned into its A-label
 * (RFC 9989 section 5.3.1, Punycode of RFC 3492; no Unicode case mapping
 * or normalisation: a label must already be in its IDNA2008 form), each
 * label 1..63 and the name at most 253 octets.
 *
 * Tree walk (RFC 9989 section 4.10): dmarc_record_walk() lists the names
 * a walk queries, longest first, at most 8 (the label-count shortcut);
 * dmarc_record_org() picks the Organizational Domain from what the walk
 * found (section 4.10.2).
 *
 * Thread rules: no state; every function is thread-safe.
 */
#ifndef AUTHMILTER_DMARC_RECORD_H
#define AUTHMILTER_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#define DMARC_WALK_MAX   8   /* RFC 9989 section 4.10: at most 8 queries */
#define DMARC_DOMAIN_MAX 254 /* 253 octets and the NUL */

enum dmarc_record_status {
	DMARC_RECORD_OK = 0,        /* a DMARC Policy Record */
	DMARC_RECORD_NOT_DMARC = -1 /* does not start with v=DMARC1 */
};

/* A requested policy (p, sp, np): dmarc-request. */
enum dmarc_req {
	DMARC_REQ_ABSENT,
	DMARC_REQ_INVALID,
	DMARC_REQ_NONE,
	DMARC_REQ_QUARANTINE,
	DMARC_REQ_REJECT
};

/* Bits of dmarc_record_tags.bad: tags with a syntax error (or twice). */
enum {
	DMARC_TAG_P = 1 << 0,
	DMARC_TAG_SP = 1 << 1,
	DMARC_TAG_NP = 1 << 2,
	DMARC_TAG_ADKIM = 1 << 3,
	DMARC_TAG_ASPF = 1 << 4,
	DMARC_TAG_PSD = 1 << 5,
	DMARC_TAG_T = 1 << 6,
	DMARC_TAG_FO = 1 << 7,
	DMARC_TAG_RUA = 1 << 8,
	DMARC_TAG_RUF = 1 << 9,
	DMARC_TAG_PCT = 1 << 10,
	DMARC_TAG_RI = 1 << 11,
	DMARC_TAG_RF = 1 << 12,
	DMARC_TAG_OTHER = 1 << 13 /* a part that is not tag=value */
};

/* fo= options (a bitmap; 0 when absent: "0" is the default). */
enum { DMARC_FO_0 = 1, DMARC_FO_1 = 2, DMARC_FO_D = 4, DMARC_FO_S = 8 };

/* The tags of one record, defaults filled in. */
struct dmarc_record_tags {
	enum dmarc_req p, sp, np;
	char adkim, aspf; /* 'r' or 's' */
	char psd;         /* 'y', 'n' or 'u' */
	bool t;           /* t=y: testing (RFC 9989) */
	int pct;          /* 0..100, default 100 (RFC 7489) */
	unsigned fo;      /* DMARC_FO_* */
	unsigned nrua;    /* syntactically valid URIs in rua= */
	unsigned nruf;    /* ... in ruf= */
	unsigned bad;     /* DMARC_TAG_* */
};

/* Parse s[0..len); DMARC_RECORD_OK with out filled, or
 * DMARC_RECORD_NOT_DMARC. */
int dmarc_record_parse(const char *s, size_t len,
                       struct dmarc_record_tags *out);

/* One line describing a parse, for test vectors:
 * "p=reject sp=- np=- adkim=r aspf=r psd=u t=n pct=100 fo=0 rua=1 ruf=0
 * bad=-" (absent requests "-", invalid "!", bad tags by name). */
void dmarc_record_render(const struct dmarc_record_tags *r, char *out,
                         size_t outsz);

/* "none", "quarantine", "reject" ("-" and "invalid" otherwise). */
const char *dmarc_req_name(enum dmarc_req r);

/* Normalise domain in (see above) into out (DMARC_DOMAIN_MAX bytes);
 * 0, or -1 when it is not a usable DNS name. */
int dmarc_record_domain(const char *in, char *out);

/* The A-label of one UTF-8 label in[0..len) ("xn--..."), or the label
 * itself lower-cased when it is ASCII; 0, or -1 (bad UTF-8, too long). */
int dmarc_record_alabel(const char *in, size_t len, char *out, size_t outsz);

/* Number of labels of a normalised domain. */
size_t dmarc_record_labels(const char *d);

/* Offset into d of its suffix of k labels (1 <= k <= labels). */
size_t dmarc_record_suffix(const char *d, size_t k);

/* The names a DNS Tree Walk from d queries, longest first, as offsets into
 * d (RFC 9989 section 4.10 steps 1, 3, 4, 7); the count, 1..8. */
size_t dmarc_record_walk(const char *d, size_t off[DMARC_WALK_MAX]);

/* A name of the walk that holds exactly one DMARC Policy Record. */
struct dmarc_walk_found {
	size_t off; /* into the start domain */
	char psd;   /* its psd= value: 'y', 'n' or 'u' */
};

/* The Organizational Domain of d (an offset into d) from the names of its
 * walk that hold a record, longest first (RFC 9989 section 4.10.2). */
size_t dmarc_record_org(const char *d, const struct dmarc_walk_found *f,
                        size_t n);

/* Whether d is parent or a subdomain of it (both normalised). */
bool dmarc_record_under(const char *d, const char *parent);

#endif
