/*
 * hdr_from: the one From parser every method uses (see hdr.h): a
 * tokenizer (CFWS skipped between tokens, comments nested by a counter,
 * never by recursion) and a small loop over the tokens: linear time,
 * constant stack.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "hdr.h"

#define HDR_COMMENT_MAX 64 /* comment nesting cap (RFC 5322 sets none) */

/* ---- From: tokens (RFC 5322 3.2, 3.4, 4.4; RFC 6532 3.2) ---- */

enum ftok {
	FT_EOF,
	FT_ERR,
	FT_ATOM, /* 1*atext, UTF-8 included */
	FT_QSTR, /* a quoted-string, quotes included */
	FT_DLIT, /* a domain-literal, brackets included */
	FT_DOT,
	FT_AT,
	FT_LT,
	FT_GT,
	FT_COMMA,
	FT_COLON,
	FT_SEMI,
};

struct flex {
	const unsigned char *p, *end;
	enum ftok t;             /* the current token */
	const unsigned char *ts; /* its text */
	size_t tlen;
};

/* atext (3.2.3) plus any non-ASCII byte (RFC 6532 3.2). */
static bool
is_atext(int c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80)
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* A byte of ctext, qtext or dtext before the exclusions of each: VCHAR,
 * non-ASCII and obs-NO-WS-CTL; i.e. anything but NUL, WSP, CR and LF. */
static bool
is_text(int c)
{
	return c != 0 && c != '\t' && c != '\n' && c != '\r' && c != ' ';
}

/* Bytes of one piece of FWS at p: a WSP, or a line break (CRLF or the
 * bare LF of a value not yet normalised) followed by WSP; 0 if none. */
static size_t
fws_len(const unsigned char *p, const unsigned char *end)
{
	if (p >= end)
		return 0;
	if (ascii_is_wsp(*p))
		return 1;
	if (*p == '\n' && end - p >= 2 && ascii_is_wsp(p[1]))
		return 1;
	if (*p == '\r' && end - p >= 3 && p[1] == '\n' && ascii_is_wsp(p[2]))
		return 2;
	return 0;
}

/* A quoted-pair at p: "\" and any byte but NUL, CR, LF (3.2.1 with
 * obs-qp; RFC 6532 extends VCHAR). */
static bool
qp_ok(const unsigned char *p, const unsigned char *end)
{
	return end - p >= 2 && p[1] != 0 && p[1] != '\r' && p[1] != '\n';
}

/* Skip a comment starting at '('; -1 if unterminated or malformed. */
static int
skip_comment(struct flex *lx)
{
	unsigned depth = 0;
	size_t n;

	while (lx->p < lx->end) {
		int c = *lx->p;

		if (c == '(') {
			if (++depth > HDR_COMMENT_MAX)
				return -1;
			lx->p++;
		} else if (c == ')') {
			lx->p++;
			if (--depth == 0)
				return 0;
		} else if (c == '\\') {
			if (!qp_ok(lx->p, lx->end))
				return -1;
			lx->p += 2;
		} else if ((n = fws_len(lx->p, lx->end)) > 0) {
			lx->p += n;
		} else if (is_text(c)) {
			lx->p++;
		} else {
			return -1;
		}
	}
	return -1;
}

/* Skip CFWS (3.2.2); -1 on a malformed comment. */
static int
skip_cfws(struct flex *lx)
{
	size_t n;

	for (;;) {
		if ((n = fws_len(lx->p, lx->end)) > 0)
			lx->p += n;
		else if (lx->p == lx->end || *lx->p != '(')
			return 0;
		else if (skip_comment(lx) < 0)
			return -1;
	}
}

/* Scan a quoted-string or domain-literal from its opening byte to its
 * closing byte; -1 if malformed. */
static int
lex_quoted(struct flex *lx, int open, int close)
{
	size_t n;

	for (lx->p++; lx->p < lx->end;) {
		int c = *lx->p;

		if (c == close) {
			lx->p++;
			return 0;
		} else if (c == '\\') {
			if (!qp_ok(lx->p, lx->end))
				return -1;
			lx->p += 2;
		} else if ((n = fws_len(lx->p, lx->end)) > 0) {
			lx->p += n;
		} else if (c != open && is_text(c)) {
			lx->p++;
		} else {
			return -1;
		}
	}
	return -1;
}

/* The token type of a one-byte special, or FT_ERR. */
static enum ftok
special(int c)
{
	switch (c) {
	case '.':
		return FT_DOT;
	case '@':
		return FT_AT;
	case '<':
		return FT_LT;
	case '>':
		return FT_GT;
	case ',':
		return FT_COMMA;
	case ':':
		return FT_COLON;
	case ';':
		return FT_SEMI;
	default:
		return FT_ERR;
	}
}

/* Advance to the next token; FT_ERR sticks. */
static void
lex_next(struct flex *lx)
{
	if (lx->t == FT_ERR)
		return;
	if (skip_cfws(lx) < 0) {
		lx->t = FT_ERR;
		return;
	}
	lx->ts = lx->p;
	if (lx->p == lx->end) {
		lx->t = FT_EOF;
	} else if (*lx->p == '"') {
		lx->t = lex_quoted(lx, '"', '"') < 0 ? FT_ERR : FT_QSTR;
	} else if (*lx->p == '[') {
		lx->t = lex_quoted(lx, '[', ']') < 0 ? FT_ERR : FT_DLIT;
	} else if (is_atext(*lx->p)) {
		while (lx->p < lx->end && is_atext(*lx->p))
			lx->p++;
		lx->t = FT_ATOM;
	} else {
		lx->t = special(*lx->p++);
	}
	lx->tlen = (size_t)(lx->p - lx->ts);
}

/* ---- From: one mailbox at a time ---- */

struct fmbox {
	char addr[sizeof(((struct hdr_from *)0)->address)];
	size_t alen;
	char dom[HDR_DOMAIN_MAX];
	size_t dlen;
	bool hasdom;  /* a domain name (not a literal) was read */
	bool toolong; /* addr or dom did not fit */
};

struct fparse {
	struct flex lx;
	struct fmbox mb;
	struct hdr_from *out;      /* address and first domain go here */
	char dom2[HDR_DOMAIN_MAX]; /* a second domain, if any */
	unsigned ndomains;         /* distinct domains: 0, 1, 2, 3 = more */
	bool syntax, toolong, nodomain, commas;
};

static void
mb_reset(struct fmbox *mb)
{
	mb->alen = mb->dlen = 0;
	mb->addr[0] = mb->dom[0] = '\0';
	mb->hasdom = mb->toolong = false;
}

/* Append token text to the address: folds (the only CR and LF a token
 * can hold) are dropped, the rest is kept as written. */
static void
mb_put(struct fmbox *mb, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (mb->alen + 1 >= sizeof(mb->addr)) {
			mb->toolong = true;
			return;
		}
		mb->addr[mb->alen++] = (char)s[i];
		mb->addr[mb->alen] = '\0';
	}
}

/* Append to the domain, ASCII lower-cased. */
static void
mb_putdom(struct fmbox *mb, const unsigned char *s, size_t n)
{
	if (n >= sizeof(mb->dom) - mb->dlen) {
		mb->toolong = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		mb->dom[mb->dlen++] = (char)ascii_lower(s[i]);
	mb->dom[mb->dlen] = '\0';
}

static bool
is_word(enum ftok t)
{
	return t == FT_ATOM || t == FT_QSTR;
}

/* Read words and dots into the address; *local: they form a local-part
 * (word *("." word), 3.4.1 and 4.4); *phrase: they form a phrase
 * (word *(word / "."), 3.2.5 and 4.1).  The number of tokens read. */
static unsigned
read_words(struct fparse *fp, bool *local, bool *phrase)
{
	struct flex *lx = &fp->lx;
	enum ftok last = FT_EOF;
	unsigned n = 0;

	*local = *phrase = true;
	while (is_word(lx->t) || lx->t == FT_DOT) {
		if (lx->t == FT_DOT) {
			if (!is_word(last))
				*local = false; /* ".a", "a..b" */
			if (n == 0)
				*phrase =
				    false; /* a phrase starts with a word */
		} else if (is_word(last)) {
			*local = false; /* "a b": two words, no dot */
		}
		mb_put(&fp->mb, lx->ts, lx->tlen);
		last = lx->t;
		n++;
		lex_next(lx);
	}
	if (!is_word(last))
		*local = false;
	return n;
}

/* A domain (3.4.1, obs-domain 4.4); record: keep it in the mailbox. */
static int
read_domain(struct fparse *fp, bool record)
{
	struct flex *lx = &fp->lx;

	if (lx->t == FT_DLIT) {
		/* A domain-literal names no domain DMARC can use. */
		if (record)
			mb_put(&fp->mb, lx->ts, lx->tlen);
		lex_next(lx);
		return 0;
	}
	for (;;) {
		if (lx->t != FT_ATOM)
			return -1;
		if (record) {
			mb_put(&fp->mb, lx->ts, lx->tlen);
			mb_putdom(&fp->mb, lx->ts, lx->tlen);
			fp->mb.hasdom = true;
		}
		lex_next(lx);
		if (lx->t != FT_DOT)
			return 0;
		if (record) {
			mb_put(&fp->mb, lx->ts, 1);
			mb_putdom(&fp->mb, lx->ts, 1);
		}
		lex_next(lx);
	}
}

/* obs-route (4.4): obs-domain-list ":", read and ignored. */
static int
read_route(struct fparse *fp)
{
	struct flex *lx = &fp->lx;

	while (lx->t == FT_COMMA)
		lex_next(lx);
	if (lx->t != FT_AT)
		return -1;
	lex_next(lx);
	if (read_domain(fp, false) < 0)
		return -1;
	while (lx->t == FT_COMMA) {
		lex_next(lx);
		if (lx->t != FT_AT)
			continue;
		lex_next(lx);
		if (read_domain(fp, false) < 0)
			return -1;
	}
	if (lx->t != FT_COLON)
		return -1;
	lex_next(lx);
	return 0;
}

/* An addr-spec whose domain may be missing ("user"). */
static int
read_addr_spec(struct fparse *fp)
{
	bool local, phrase;

	read_words(fp, &local, &phrase);
	if (!local)
		return -1;
	if (fp->lx.t != FT_AT)
		return 0;
	mb_put(&fp->mb, fp->lx.ts, 1);
	lex_next(&fp->lx);
	return read_domain(fp, true);
}

/* angle-addr after its "<" (3.4, obs-angle-addr 4.4); "<>" is empty. */
static int
read_angle(struct fparse *fp)
{
	struct flex *lx = &fp->lx;

	mb_reset(&fp->mb); /* forget the display name */
	if (lx->t == FT_AT || lx->t == FT_COMMA)
		if (read_route(fp) < 0)
			return -1;
	if (lx->t != FT_GT && read_addr_spec(fp) < 0)
		return -1;
	if (lx->t != FT_GT)
		return -1;
	lex_next(lx);
	return 0;
}

/* One mailbox (3.4): name-addr or addr-spec. */
static int
read_mailbox(struct fparse *fp)
{
	struct flex *lx = &fp->lx;
	bool local, phrase;
	unsigned n;

	mb_reset(&fp->mb);
	n = read_words(fp, &local, &phrase);
	switch (lx->t) {
	case FT_LT:
		if (n > 0 && !phrase)
			return -1;
		lex_next(lx);
		return read_angle(fp);
	case FT_AT:
		if (!local)
			return -1;
		mb_put(&fp->mb, lx->ts, 1);
		lex_next(lx);
		return read_domain(fp, true);
	case FT_COMMA:
	case FT_EOF:
		return local ? 0 : -1; /* a local part alone: no domain */
	default:
		return -1; /* ":" of a group, stray specials */
	}
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), 0 if none. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Whether s is well-formed UTF-8 (addresses must be; RFC 6532 3.1). */
static bool
utf8_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k;

	for (size_t i = 0; i < n; i += k)
		if ((k = utf8_len(u + i, n - i)) == 0)
			return false;
	return true;
}

/* Account for the mailbox just read. */
static void
add_mailbox(struct fparse *fp)
{
	struct fmbox *mb = &fp->mb;
	struct hdr_from *out = fp->out;

	if (mb->toolong)
		fp->toolong = true;
	if (!utf8_ok(mb->addr, mb->alen))
		fp->syntax = true;
	if (out->naddrs++ == 0)
		memcpy(out->address, mb->addr, mb->alen + 1);
	if (!mb->hasdom) {
		fp->nodomain = true;
	} else if (fp->ndomains == 0) {
		memcpy(out->domain, mb->dom, mb->dlen + 1);
		fp->ndomains = 1;
	} else if (strcmp(mb->dom, out->domain) != 0) {
		if (fp->ndomains == 1)
			memcpy(fp->dom2, mb->dom, mb->dlen + 1);
		if (fp->ndomains == 1 || strcmp(mb->dom, fp->dom2) != 0)
			fp->ndomains++;
		if (fp->ndomains > 3)
			fp->ndomains = 3;
	}
}

/* mailbox-list (3.4) with the empty elements of obs-mbox-list (4.4). */
static void
read_list(struct fparse *fp)
{
	struct flex *lx = &fp->lx;

	lex_next(lx);
	while (lx->t != FT_EOF) {
		if (lx->t == FT_COMMA) {
			fp->commas = true;
			lex_next(lx);
			continue;
		}
		if (read_mailbox(fp) < 0 ||
		    (lx->t != FT_COMMA && lx->t != FT_EOF)) {
			fp->syntax = true;
			return;
		}
		add_mailbox(fp);
	}
}

/* Set status and why; only the OK case keeps the domain. */
static void
set_status(struct hdr_from *out, enum hdr_from_status st, const char *why)
{
	out->status = st;
	out->why = why;
	if (st != HDR_FROM_OK)
		out->domain[0] = '\0';
	if (st == HDR_FROM_SYNTAX) {
		out->naddrs = 0;
		out->address[0] = '\0';
	}
}

/* The verdict on one parsed field. */
static void
judge(struct fparse *fp)
{
	struct hdr_from *out = fp->out;

	if (fp->syntax || (out->naddrs == 0 && fp->commas))
		set_status(out, HDR_FROM_SYNTAX, "From is not a mailbox-list");
	else if (fp->toolong)
		set_status(out, HDR_FROM_SYNTAX, "From address is too long");
	else if (out->naddrs == 0)
		set_status(out, HDR_FROM_NO_DOMAIN, "From has no address");
	else if (fp->nodomain)
		set_status(out, HDR_FROM_NO_DOMAIN,
		           "From address has no domain");
	else if (fp->ndomains == 2)
		set_status(out, HDR_FROM_MULTIPLE_DOMAINS,
		           "From has addresses in 2 domains");
	else if (fp->ndomains > 2)
		set_status(out, HDR_FROM_MULTIPLE_DOMAINS,
		           "From has addresses in several domains");
	else
		set_status(out, HDR_FROM_OK, "");
}

static void
from_clear(struct hdr_from *out)
{
	out->status = HDR_FROM_NONE;
	out->nfields = out->naddrs = 0;
	out->domain[0] = out->address[0] = '\0';
	out->why = "no From field";
}

void
hdr_from_value(const char *value, size_t len, struct hdr_from *out)
{
	struct fparse fp;

	memset(&fp, 0, sizeof(fp));
	from_clear(out);
	out->nfields = 1;
	fp.out = out;
	fp.lx.p = (const unsigned char *)value;
	fp.lx.end = fp.lx.p + len;
	fp.lx.t = FT_EOF;
	read_list(&fp);
	judge(&fp);
}

void
hdr_from(const struct hdr *h, struct hdr_from *out)
{
	struct hdr_from one;
	unsigned n = 0, naddrs = 0;

	from_clear(out);
	for (size_t i = 0; i < hdr_count(h); i++) {
		const struct hdr_field *f = hdr_get(h, i);
		size_t len;
		const char *v;

		if (!hdr_is(f, "From"))
			continue;
		v = hdr_value(f, &len);
		hdr_from_value(v, len, n == 0 ? out : &one);
		naddrs += n == 0 ? out->naddrs : one.naddrs;
		n++;
	}
	if (hdr_from_refused(h) > 0 && n + hdr_from_refused(h) < 2) {
		from_clear(out);
		out->nfields = 1;
		set_status(out, HDR_FROM_SYNTAX, "From field was not kept");
		return;
	}
	n += hdr_from_refused(h);
	if (n < 2)
		return;
	/* RFC 9989: several From fields never yield an author domain. */
	out->nfields = n;
	out->naddrs = naddrs;
	out->status = HDR_FROM_MULTIPLE_FIELDS;
	out->domain[0] = '\0';
	out->why = n == 2 ? "2 From fields" : "several From fields";
}
