/*
 * spf_record: parse SPF records and expand macros (see spf_record.h).
 *
 * The parser follows the collected ABNF of RFC 7208 section 12 term by
 * term; the only judgement calls are the ones the RFC leaves open and
 * the RFC 7208 test suite settles:
 *   - a term is a modifier when it starts with a name followed by "=";
 *     "redirect" and "exp" are then never unknown modifiers, so a bad
 *     value for them is a syntax error, not an ignored modifier;
 *   - for a and mx a trailing "/digits" (and "//digits") is the CIDR
 *     length, since a domain-spec can never end in one (its toplabel is
 *     not all-numeric) — "a:foo:bar/baz.example.com" is a domain;
 *   - CIDR lengths are refused with leading zeros, like ip4 qnums.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "ascii.h"
#include "spf_record.h"

#define DELIMITERS ".-+,/_="
#define LETTERS    "slodiphcrtv" /* the order of macro_value()'s table */

/* One %-sequence: a macro letter with its transformers, or %% %_ %-. */
struct macro {
	char letter;   /* lower-case letter, or '%', '_', '-' */
	bool upper;    /* written in upper case: URL-escape the value */
	unsigned keep; /* right-hand parts to keep; 0 means all */
	bool reverse;
	char delims[8]; /* distinct delimiters; "" means "." */
};

/* Whether c (not NUL) is in the set. */
static bool
in_set(int c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* ---- macro-strings (section 7.1) ---------------------------------- */

/* Read the transformers and delimiters of "%{x...}" from s[i]; returns
 * the length of the whole macro, or 0 with a message. */
static size_t
macro_tail(const char *s, size_t n, size_t i, struct macro *m,
           struct errbuf *eb)
{
	unsigned long v = 0;
	bool digits = false;
	size_t k = 0;

	for (; i < n && ascii_is_digit(s[i]); i++) {
		digits = true;
		if (v < 100000)
			v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (digits && v == 0) {
		errbuf_set(eb, "macro with a zero transformer");
		return 0;
	}
	m->keep = (unsigned)v;
	if (i < n && ascii_lower(s[i]) == 'r') {
		m->reverse = true;
		i++;
	}
	for (; i < n && in_set(s[i], DELIMITERS); i++)
		if (k < sizeof(m->delims) - 1 &&
		    strchr(m->delims, s[i]) == NULL)
			m->delims[k++] = s[i];
	if (i >= n || s[i] != '}') {
		errbuf_set(eb, "malformed macro");
		return 0;
	}
	return i + 1;
}

/* Parse the %-sequence at s (s[0] == '%', n bytes); its length, or 0. */
static size_t
macro_parse(const char *s, size_t n, struct macro *m, struct errbuf *eb)
{
	memset(m, 0, sizeof(*m));
	if (n >= 2 && (s[1] == '%' || s[1] == '_' || s[1] == '-')) {
		m->letter = s[1];
		return 2;
	}
	if (n < 2 || s[1] != '{') {
		errbuf_set(eb, "\"%%\" not followed by \"{\", \"%%\", \"_\" or "
		               "\"-\"");
		return 0;
	}
	if (n < 3 || !ascii_is_alpha(s[2]) ||
	    !in_set(ascii_lower(s[2]), LETTERS)) {
		errbuf_set(eb, "unknown macro letter");
		return 0;
	}
	m->letter = (char)ascii_lower(s[2]);
	m->upper = s[2] != m->letter;
	return macro_tail(s, n, 3, m, eb);
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
bool
spf_record_toplabel_ok(const char *s, size_t n)
{
	bool alpha = false, dash = false;

	if (n == 0 || !ascii_is_alnum(s[0]) || !ascii_is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '-')
			dash = true;
		else if (ascii_is_alpha(s[i]))
			alpha = true;
		else if (!ascii_is_digit(s[i]))
			return false;
	}
	return alpha || dash;
}

/* domain-end = ( "." toplabel [ "." ] ) / macro-expand, where the
 * literal text after the last macro starts at s[tail]. */
static int
domain_end_check(const char *s, size_t n, size_t tail, struct errbuf *eb)
{
	const char *dot;
	size_t end = n;

	if (n == 0) {
		errbuf_set(eb, "empty domain-spec");
		return SPF_RECORD_ESYNTAX;
	}
	if (tail == n)
		return SPF_RECORD_OK; /* ends in a macro-expand */
	if (s[end - 1] == '.')
		end--;
	dot = end > tail ? memrchr(s + tail, '.', end - tail) : NULL;
	if (dot == NULL ||
	    !spf_record_toplabel_ok(dot + 1, (size_t)(s + end - dot - 1))) {
		errbuf_set(eb, "domain-spec \"%.*s\" lacks a valid top label",
		           (int)(n > 80 ? 80 : n), s);
		return SPF_RECORD_ESYNTAX;
	}
	return SPF_RECORD_OK;
}

int
spf_record_check_macro(const char *s, size_t n, enum spf_macro_ctx ctx,
                       struct errbuf *eb)
{
	size_t i = 0, tail = 0;
	struct macro m;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t k;

		if (c == '%') {
			if ((k = macro_parse(s + i, n - i, &m, eb)) == 0)
				return SPF_RECORD_ESYNTAX;
			if (ctx == SPF_MACRO_DOMAIN &&
			    in_set(m.letter, "crt")) {
				errbuf_set(eb,
				           "macro %%{%c} outside explanation "
				           "text",
				           m.letter);
				return SPF_RECORD_ESYNTAX;
			}
			i += k;
			tail = i;
		} else if (c == ' ' && ctx == SPF_MACRO_EXPLAIN) {
			i++;
		} else if (c < 0x21 || c > 0x7e) {
			errbuf_set(eb, "byte 0x%02x in a macro-string", c);
			return SPF_RECORD_ESYNTAX;
		} else
			i++;
	}
	if (ctx == SPF_MACRO_DOMAIN)
		return domain_end_check(s, n, tail, eb);
	return SPF_RECORD_OK;
}

unsigned
spf_record_macro_letters(const char *s)
{
	size_t n = strlen(s), i = 0, k;
	unsigned bits = 0;
	struct macro m;

	while (i < n) {
		if (s[i] != '%') {
			i++;
			continue;
		}
		if ((k = macro_parse(s + i, n - i, &m, NULL)) == 0)
			return 0;
		if (ascii_is_alpha(m.letter))
			bits |= SPF_MACRO_BIT(m.letter);
		i += k;
	}
	return bits;
}

/* ---- expansion (section 7.3) -------------------------------------- */

/* The value of a macro letter; p and r default to "unknown" (7.3). */
static const char *
macro_value(const struct spf_macro_env *env, char letter)
{
	const char *const values[] = {env->s, env->l, env->o, env->d,
	                              env->i, env->p, env->h, env->c,
	                              env->r, env->t, env->v}; /* LETTERS */
	const char *v = values[strchr(LETTERS, letter) - LETTERS];

	if (v == NULL)
		return letter == 'p' || letter == 'r' ? "unknown" : "";
	return v;
}

/* Append n bytes, URL-escaped (RFC 3986 unreserved kept) when asked. */
static int
emit(struct buf *out, const char *p, size_t n, bool escape)
{
	int rc = BUF_OK;

	if (!escape)
		return buf_append(out, p, n);
	for (size_t i = 0; i < n && rc == BUF_OK; i++) {
		unsigned char c = (unsigned char)p[i];

		if (ascii_is_alnum(c) || in_set(c, "-._~"))
			rc = buf_putc(out, c);
		else
			rc = buf_printf(out, "%%%02X", c);
	}
	return rc;
}

/* Emit parts of v from p on, keep of them, joined with ".". */
static int
emit_forward(struct buf *out, const char *p, const char *delims, size_t keep,
             bool upper)
{
	int rc = BUF_OK;

	for (size_t j = 0; j < keep && rc == BUF_OK; j++) {
		size_t len = strcspn(p, delims);

		if (j > 0)
			rc = buf_putc(out, '.');
		if (rc == BUF_OK)
			rc = emit(out, p, len, upper);
		p += len + (p[len] != '\0');
	}
	return rc;
}

/* Emit the parts of v that end at end, last first, keep of them. */
static int
emit_backward(struct buf *out, const char *v, const char *end,
              const char *delims, size_t keep, bool upper)
{
	int rc = BUF_OK;

	for (size_t j = 0; j < keep && rc == BUF_OK; j++) {
		const char *start = end;

		while (start > v && !in_set(start[-1], delims))
			start--;
		if (j > 0)
			rc = buf_putc(out, '.');
		if (rc == BUF_OK)
			rc = emit(out, start, (size_t)(end - start), upper);
		end = start > v ? start - 1 : v;
	}
	return rc;
}

/* Split on the delimiters, reverse, keep the right-hand parts, join with
 * "." (7.3), in one pass over v either way. */
static int
emit_transformed(struct buf *out, const char *v, const struct macro *m)
{
	const char *delims = m->delims[0] != '\0' ? m->delims : ".";
	const char *p = v;
	size_t nparts = 1, keep;

	for (const char *s = v; *(s += strcspn(s, delims)) != '\0'; s++)
		nparts++;
	keep = m->keep == 0 || m->keep > nparts ? nparts : m->keep;
	if (!m->reverse) {
		for (size_t skip = nparts - keep; skip > 0; skip--)
			p += strcspn(p, delims) + 1;
		return emit_forward(out, p, delims, keep, m->upper);
	}
	/* Reversed, the right-hand parts are the first ones of v. */
	for (size_t j = 0; j < keep; j++)
		p += strcspn(p, delims) + (j + 1 < keep);
	return emit_backward(out, v, p, delims, keep, m->upper);
}

static int
expand_macro(struct buf *out, const struct macro *m,
             const struct spf_macro_env *env)
{
	const char *v;

	switch (m->letter) {
	case '%':
		return buf_putc(out, '%');
	case '_':
		return buf_putc(out, ' ');
	case '-':
		return buf_puts(out, "%20");
	}
	v = macro_value(env, m->letter);
	if (m->keep == 0 && !m->reverse && m->delims[0] == '\0')
		return emit(out, v, strlen(v), m->upper);
	return emit_transformed(out, v, m);
}

/* Drop a final dot, then whole labels from the left until the name fits
 * in SPF_RECORD_DOMAIN_MAX characters (section 7.3). */
static void
truncate_domain(struct buf *out)
{
	size_t skip = 0;

	if (out->len > 0 && out->data[out->len - 1] == '.')
		buf_truncate(out, out->len - 1);
	while (out->len - skip > SPF_RECORD_DOMAIN_MAX) {
		const char *dot =
		    memchr(out->data + skip, '.', out->len - skip);

		skip = dot != NULL ? (size_t)(dot - out->data) + 1 : out->len;
	}
	if (skip > 0) {
		memmove(out->data, out->data + skip, out->len - skip);
		buf_truncate(out, out->len - skip);
	}
}

int
spf_record_expand(const char *s, const struct spf_macro_env *env,
                  enum spf_macro_ctx ctx, struct buf *out)
{
	size_t n = strlen(s), i = 0, k, cap = out->max;
	struct macro m;
	int rc = BUF_OK;

	buf_reset(out);
	if (spf_record_check_macro(s, n, ctx, NULL) != SPF_RECORD_OK)
		return SPF_RECORD_ESYNTAX;
	if (ctx == SPF_MACRO_DOMAIN &&
	    (out->max == 0 || out->max > SPF_RECORD_EXPAND_MAX))
		out->max = SPF_RECORD_EXPAND_MAX;
	while (i < n && rc == BUF_OK) {
		if (s[i] != '%') {
			k = strcspn(s + i, "%");
			rc = buf_append(out, s + i, k);
			i += k;
			continue;
		}
		i += macro_parse(s + i, n - i, &m, NULL);
		rc = expand_macro(out, &m, env);
	}
	out->max = cap;
	if (rc == BUF_ENOMEM)
		return SPF_RECORD_ENOMEM;
	if (rc == BUF_E2BIG && ctx != SPF_MACRO_EXPLAIN)
		return SPF_RECORD_E2BIG;
	if (ctx == SPF_MACRO_DOMAIN)
		truncate_domain(out);
	return SPF_RECORD_OK;
}

/* ---- records (sections 4.5, 4.6.1, 5, 6) -------------------------- */

bool
spf_record_is_spf(const char *txt, size_t len)
{
	return len >= 6 && strncasecmp(txt, "v=spf1", 6) == 0 &&
	       (len == 6 || txt[6] == ' ');
}

/* A CIDR length: "0" or 1-3 digits without a leading zero, <= max. */
static bool
cidr_len(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 3 || (s[0] == '0' && n > 1))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return v <= max;
}

/* dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ],
 * the whole of s[0..n). */
static bool
dual_cidr(const char *s, size_t n, struct spf_term *t)
{
	const char *six = NULL;
	size_t four_len = n;

	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '/' && s[i + 1] == '/') {
			six = s + i + 2;
			four_len = i;
			break;
		}
	if (six != NULL &&
	    !cidr_len(six, (size_t)(s + n - six), 128, &t->cidr6))
		return false;
	if (four_len == 0)
		return true;
	return s[0] == '/' && cidr_len(s + 1, four_len - 1, 32, &t->cidr4);
}

/* Where the CIDR suffix of "a:"/"mx:" argument s[0..n) begins (n if
 * none): a final "//digits", then a final "/digits" before it. */
static size_t
cidr_suffix(const char *s, size_t n)
{
	size_t p = n, d = n;

	while (d > 0 && ascii_is_digit(s[d - 1]))
		d--;
	if (d < n && d >= 2 && s[d - 1] == '/' && s[d - 2] == '/') {
		p = d - 2;
		d = p;
		while (d > 0 && ascii_is_digit(s[d - 1]))
			d--;
	}
	if (d < p && d >= 1 && s[d - 1] == '/' && (d < 2 || s[d - 2] != '/'))
		p = d - 1;
	return p;
}

/* A domain-spec at s (NUL-terminated in the spec copy, n bytes). */
static int
spec_check(char *s, size_t n, struct spf_term *t, struct errbuf *eb)
{
	if (spf_record_check_macro(s, n, SPF_MACRO_DOMAIN, eb) != 0)
		return SPF_RECORD_ESYNTAX;
	s[n] = '\0';
	t->spec = s;
	return SPF_RECORD_OK;
}

/* a / mx: [ ":" domain-spec ] [ dual-cidr-length ] after the name. */
static int
parse_a_mx(char *r, size_t n, struct spf_term *t, struct errbuf *eb)
{
	size_t p = n > 0 && r[0] == ':' ? cidr_suffix(r + 1, n - 1) + 1 : 0;

	/* The CIDR first: spec_check() ends the domain-spec with a NUL. */
	if (p < n && !dual_cidr(r + p, n - p, t)) {
		errbuf_set(eb, "bad CIDR length in \"%.60s\"", t->text);
		return SPF_RECORD_ESYNTAX;
	}
	if (p > 0)
		return spec_check(r + 1, p - 1, t, eb);
	return SPF_RECORD_OK;
}

/* ip4-network = qnum "." qnum "." qnum "." qnum, no leading zeros. */
static bool
ip4_network(const char *s, size_t n, unsigned char *out)
{
	size_t i = 0;

	for (int q = 0; q < 4; q++) {
		size_t start = i;
		unsigned v = 0;

		while (i < n && ascii_is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return false;
		out[q] = (unsigned char)v;
		if (q < 3 && (i >= n || s[i++] != '.'))
			return false;
	}
	return i == n;
}

/* ip4 / ip6: ":" network [ "/" length ] after the name. */
static int
parse_ip(const char *r, size_t n, struct spf_term *t, struct errbuf *eb)
{
	bool six = t->kind == SPF_REC_IP6;
	const char *slash = n > 0 ? memchr(r, '/', n) : NULL;
	size_t netlen = slash != NULL ? (size_t)(slash - r) : n;
	char net[64];
	bool ok;

	if (n < 2 || r[0] != ':' || netlen - 1 >= sizeof(net)) {
		errbuf_set(eb, "\"%.60s\" needs a network", t->text);
		return SPF_RECORD_ESYNTAX;
	}
	memcpy(net, r + 1, netlen - 1);
	net[netlen - 1] = '\0';
	ok = six ? inet_pton(AF_INET6, net, t->net) == 1
	         : ip4_network(net, netlen - 1, t->net);
	if (ok && slash != NULL)
		ok = cidr_len(slash + 1, (size_t)(r + n - slash - 1),
		              six ? 128 : 32, six ? &t->cidr6 : &t->cidr4);
	if (!ok) {
		errbuf_set(eb, "bad network in \"%.60s\"", t->text);
		return SPF_RECORD_ESYNTAX;
	}
	return SPF_RECORD_OK;
}

static const struct {
	const char *name;
	enum spf_record_kind kind;
} mechanisms[] = {
    {"all", SPF_REC_ALL}, {"include", SPF_REC_INCLUDE}, {"a", SPF_REC_A},
    {"mx", SPF_REC_MX},   {"ptr", SPF_REC_PTR},         {"ip4", SPF_REC_IP4},
    {"ip6", SPF_REC_IP6}, {"exists", SPF_REC_EXISTS},
};

/* The argument r[0..n) after a mechanism name. */
static int
parse_mech_arg(char *r, size_t n, struct spf_term *t, struct errbuf *eb)
{
	switch (t->kind) {
	case SPF_REC_A:
	case SPF_REC_MX:
		return parse_a_mx(r, n, t, eb);
	case SPF_REC_IP4:
	case SPF_REC_IP6:
		return parse_ip(r, n, t, eb);
	case SPF_REC_PTR:
		if (n == 0)
			return SPF_RECORD_OK;
		/* FALLTHROUGH */
	case SPF_REC_INCLUDE:
	case SPF_REC_EXISTS:
		if (n > 0 && r[0] == ':')
			return spec_check(r + 1, n - 1, t, eb);
		break;
	default:
		if (n == 0)
			return SPF_RECORD_OK; /* all */
		break;
	}
	errbuf_set(eb, "bad argument in \"%.60s\"", t->text);
	return SPF_RECORD_ESYNTAX;
}

/* directive = [ qualifier ] mechanism */
static int
parse_directive(char *s, size_t n, struct spf_term *t, struct errbuf *eb)
{
	size_t i = 0, name;

	t->qualifier = '+';
	if (n > 0 && in_set(s[0], "+-~?"))
		t->qualifier = s[i++];
	name = i;
	while (i < n && ascii_is_alnum(s[i]))
		i++;
	for (size_t k = 0; k < sizeof(mechanisms) / sizeof(mechanisms[0]); k++)
		if (i - name == strlen(mechanisms[k].name) &&
		    strncasecmp(s + name, mechanisms[k].name, i - name) == 0 &&
		    (i == n || s[i] == ':' || s[i] == '/')) {
			t->kind = mechanisms[k].kind;
			return parse_mech_arg(s + i, n - i, t, eb);
		}
	errbuf_set(eb, "unknown mechanism \"%.60s\"", t->text);
	return SPF_RECORD_ESYNTAX;
}

/* modifier = name "=" value, name = ALPHA *( ALPHA / DIGIT / - _ . ) */
static int
parse_modifier(char *s, size_t n, size_t name, struct spf_term *t,
               struct errbuf *eb)
{
	char *v = s + name + 1;
	size_t vn = n - name - 1;

	if (name == 8 && strncasecmp(s, "redirect", 8) == 0)
		t->kind = SPF_REC_REDIRECT;
	else if (name == 3 && strncasecmp(s, "exp", 3) == 0)
		t->kind = SPF_REC_EXP;
	else {
		t->kind = SPF_REC_MODIFIER;
		return spf_record_check_macro(v, vn, SPF_MACRO_MODIFIER, eb);
	}
	return spec_check(v, vn, t, eb);
}

/* One term s[0..n); spec is the same bytes in the second copy. */
static int
parse_term(char *spec, size_t n, struct spf_term *t, struct errbuf *eb)
{
	size_t i = 0;

	t->cidr4 = 32;
	t->cidr6 = 128;
	if (n > 0 && ascii_is_alpha(spec[0]))
		while (i < n &&
		       (ascii_is_alnum(spec[i]) || in_set(spec[i], "-_.")))
			i++;
	if (i > 0 && i < n && spec[i] == '=')
		return parse_modifier(spec, n, i, t, eb);
	return parse_directive(spec, n, t, eb);
}

/* Record the term in r; duplicate redirect/exp is an error (section 6). */
static int
note_term(struct spf_record *r, const struct spf_term *t, struct errbuf *eb)
{
	const struct spf_term **slot = NULL;

	if (t->kind == SPF_REC_ALL)
		r->has_all = true;
	else if (t->kind == SPF_REC_REDIRECT)
		slot = &r->redirect;
	else if (t->kind == SPF_REC_EXP)
		slot = &r->exp;
	if (slot == NULL)
		return SPF_RECORD_OK;
	if (*slot != NULL) {
		errbuf_set(eb, "%s= given twice",
		           t->kind == SPF_REC_EXP ? "exp" : "redirect");
		return SPF_RECORD_ESYNTAX;
	}
	*slot = t;
	return SPF_RECORD_OK;
}

/* Count the SP-separated terms after the version. */
static size_t
count_terms(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 6; i < len; i++)
		if (s[i] != ' ' && s[i - 1] == ' ')
			n++;
	return n;
}

struct record_block {
	struct spf_record rec;
	struct spf_term terms[];
};

/* Split txt at SP and parse each term into b; the terms point into the
 * two copies, where each term ends with a NUL. */
static int
parse_terms(struct record_block *b, const char *txt, size_t len, char *text,
            char *spec, struct errbuf *eb)
{
	size_t i = 6;

	while (i < len) {
		size_t start;
		struct spf_term *t = &b->terms[b->rec.nterms];

		while (i < len && txt[i] == ' ')
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && txt[i] != ' ')
			i++;
		text[i] = '\0';
		spec[i] = '\0';
		t->text = text + start;
		if (parse_term(spec + start, i - start, t, eb) != 0 ||
		    note_term(&b->rec, t, eb) != 0)
			return SPF_RECORD_ESYNTAX;
		b->rec.nterms++;
	}
	return SPF_RECORD_OK;
}

int
spf_record_parse(const char *txt, size_t len, struct spf_record **out,
                 struct errbuf *eb)
{
	struct record_block *b;
	size_t nterms;
	char *text, *spec;

	*out = NULL;
	if (!spf_record_is_spf(txt, len)) {
		errbuf_set(eb, "not an SPF record");
		return SPF_RECORD_ESYNTAX;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)txt[i];

		if (c != ' ' && (c < 0x21 || c > 0x7e)) {
			errbuf_set(eb, "byte 0x%02x at offset %zu", c, i);
			return SPF_RECORD_ESYNTAX;
		}
	}
	nterms = count_terms(txt, len);
	b = calloc(1,
	           sizeof(*b) + nterms * sizeof(b->terms[0]) + 2 * (len + 1));
	if (b == NULL)
		return SPF_RECORD_ENOMEM;
	text = (char *)&b->terms[nterms];
	spec = text + len + 1;
	memcpy(text, txt, len);
	memcpy(spec, txt, len);
	b->rec.terms = b->terms;
	if (parse_terms(b, txt, len, text, spec, eb) != 0) {
		free(b);
		return SPF_RECORD_ESYNTAX;
	}
	*out = &b->rec;
	return SPF_RECORD_OK;
}

void
spf_record_free(struct spf_record *r)
{
	free(r); /* the record is the first member of its block */
}
