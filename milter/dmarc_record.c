/*
 * dmarc_record: DMARC Policy Record parsing and tree-walk arithmetic (see
 * dmarc_record.h).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ascii.h"
#include "dmarc_record.h"

/* Whether v[0..n) equals the keyword w, ignoring ASCII case. */
static bool
keyword(const char *v, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)v[i]) != w[i])
			return false;
	return true;
}

/* One character out of set (lower-case), or 0. */
static char
one_of(const char *v, size_t n, const char *set)
{
	int c = n == 1 ? ascii_lower((unsigned char)v[0]) : 0;

	return c != 0 && strchr(set, c) != NULL ? (char)c : 0;
}

/* ---- tag values (RFC 9989 section 4.8, RFC 7489 section 6.4) ---- */

static int
parse_req(const char *v, size_t n, enum dmarc_req *out)
{
	if (keyword(v, n, "none"))
		*out = DMARC_REQ_NONE;
	else if (keyword(v, n, "quarantine"))
		*out = DMARC_REQ_QUARANTINE;
	else if (keyword(v, n, "reject"))
		*out = DMARC_REQ_REJECT;
	else
		return -1;
	return 0;
}

static int
tag_p(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return parse_req(v, n, &r->p);
}

static int
tag_sp(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return parse_req(v, n, &r->sp);
}

static int
tag_np(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return parse_req(v, n, &r->np);
}

static int
tag_adkim(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return (r->adkim = one_of(v, n, "rs")) != 0 ? 0 : -1;
}

static int
tag_aspf(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return (r->aspf = one_of(v, n, "rs")) != 0 ? 0 : -1;
}

static int
tag_psd(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return (r->psd = one_of(v, n, "ynu")) != 0 ? 0 : -1;
}

static int
tag_t(const char *v, size_t n, struct dmarc_record_tags *r)
{
	char c = one_of(v, n, "yn");

	r->t = c == 'y';
	return c != 0 ? 0 : -1;
}

/* Split v at sep (with *WSP around it) and call fn on each item;
 * -1 when fn refuses one or an item is empty. */
static int
each_item(const char *v, size_t n, char sep,
          int (*fn)(const char *, size_t, void *), void *arg)
{
	size_t i = 0;
	int rc = 0;

	while (i <= n) {
		size_t s = i, e;

		while (i < n && v[i] != sep)
			i++;
		e = i;
		while (s < e && ascii_is_wsp(v[s]))
			s++;
		while (e > s && ascii_is_wsp(v[e - 1]))
			e--;
		if (e == s || fn(v + s, e - s, arg) != 0)
			rc = -1;
		i++;
	}
	return rc;
}

/* dmarc-fo: 0 and 1 exclusive, each option at most once. */
static int
fo_item(const char *v, size_t n, void *arg)
{
	static const char opts[] = "01ds";
	unsigned *fo = arg;
	char c = one_of(v, n, opts);
	unsigned bit;

	if (c == 0)
		return -1;
	bit = 1u << (strchr(opts, c) - opts);
	if ((*fo & bit) || ((bit & (DMARC_FO_0 | DMARC_FO_1)) &&
	                    (*fo & (DMARC_FO_0 | DMARC_FO_1))))
		return -1;
	*fo |= bit;
	return 0;
}

static int
tag_fo(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return each_item(v, n, ':', fo_item, &r->fo);
}

/* A URI character (RFC 3986 unreserved / reserved / "%"), less "," and
 * "!", which DMARC needs encoded (section 4.8). */
static bool
uri_char(int c)
{
	return ascii_is_alpha(c) || ascii_is_digit(c) ||
	       strchr("-._~:/?#[]@$&'()*+=%", c) != NULL;
}

static bool
is_hex(int c)
{
	return ascii_is_digit(c) ||
	       (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f');
}

/* dmarc-uri / obs-dmarc-uri: scheme ":" rest [ "!" 1*DIGIT [kmgt] ]. */
static int
uri_item(const char *v, size_t n, void *arg)
{
	size_t i = 1, end;
	const char *bang = memchr(v, '!', n);

	end = bang != NULL ? (size_t)(bang - v) : n;
	if (bang != NULL) {
		size_t j = end + 1;

		while (j < n && ascii_is_digit(v[j]))
			j++;
		if (j == end + 1 ||
		    (j < n &&
		     (j + 1 != n ||
		      strchr("kmgt", ascii_lower((unsigned char)v[j])) ==
		          NULL)))
			return -1;
	}
	if (end == 0 || !ascii_is_alpha((unsigned char)v[0]))
		return -1;
	while (i < end && (ascii_is_alpha((unsigned char)v[i]) ||
	                   ascii_is_digit(v[i]) || strchr("+-.", v[i]) != NULL))
		i++;
	if (i >= end || v[i] != ':' || i + 1 == end)
		return -1;
	for (i++; i < end; i++) {
		if (!uri_char((unsigned char)v[i]))
			return -1;
		if (v[i] == '%' &&
		    (i + 2 >= end || !is_hex(v[i + 1]) || !is_hex(v[i + 2])))
			return -1;
	}
	(*(unsigned *)arg)++;
	return 0;
}

static int
tag_rua(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return each_item(v, n, ',', uri_item, &r->nrua);
}

static int
tag_ruf(const char *v, size_t n, struct dmarc_record_tags *r)
{
	return each_item(v, n, ',', uri_item, &r->nruf);
}

/* 1*ndigits DIGIT no larger than max into *out. */
static int
number(const char *v, size_t n, size_t ndigits, unsigned long max,
       unsigned long *out)
{
	unsigned long x = 0;

	if (n == 0 || n > ndigits)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!ascii_is_digit(v[i]))
			return -1;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x > max)
		return -1;
	*out = x;
	return 0;
}

static int
tag_pct(const char *v, size_t n, struct dmarc_record_tags *r)
{
	unsigned long x;

	if (number(v, n, 3, 100, &x) != 0)
		return -1;
	r->pct = (int)x;
	return 0;
}

static int
tag_ri(const char *v, size_t n, struct dmarc_record_tags *r)
{
	unsigned long x;

	(void)r;
	return number(v, n, 10, 4294967295UL, &x);
}

/* Keyword (RFC 5321 section 4.1.2): ALPHA/DIGIT, inner "-". */
static int
rf_item(const char *v, size_t n, void *arg)
{
	(void)arg;
	if (v[n - 1] == '-' || v[0] == '-')
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!ascii_is_alpha((unsigned char)v[i]) &&
		    !ascii_is_digit(v[i]) && v[i] != '-')
			return -1;
	return 0;
}

static int
tag_rf(const char *v, size_t n, struct dmarc_record_tags *r)
{
	(void)r;
	return each_item(v, n, ':', rf_item, NULL);
}

static const struct tagdef {
	const char *name;
	unsigned bit;
	int (*parse)(const char *, size_t, struct dmarc_record_tags *);
} tagdefs[] = {
    {"p", DMARC_TAG_P, tag_p},          {"sp", DMARC_TAG_SP, tag_sp},
    {"np", DMARC_TAG_NP, tag_np},       {"adkim", DMARC_TAG_ADKIM, tag_adkim},
    {"aspf", DMARC_TAG_ASPF, tag_aspf}, {"psd", DMARC_TAG_PSD, tag_psd},
    {"t", DMARC_TAG_T, tag_t},          {"fo", DMARC_TAG_FO, tag_fo},
    {"rua", DMARC_TAG_RUA, tag_rua},    {"ruf", DMARC_TAG_RUF, tag_ruf},
    {"pct", DMARC_TAG_PCT, tag_pct},    {"ri", DMARC_TAG_RI, tag_ri},
    {"rf", DMARC_TAG_RF, tag_rf},
};

/* Put a tag back to its default after a syntax error (section 4.8). */
static void
tag_reset(struct dmarc_record_tags *r, unsigned bit)
{
	switch (bit) {
	case DMARC_TAG_P:
		r->p = DMARC_REQ_INVALID;
		break;
	case DMARC_TAG_SP:
		r->sp = DMARC_REQ_INVALID;
		break;
	case DMARC_TAG_NP:
		r->np = DMARC_REQ_INVALID;
		break;
	case DMARC_TAG_ADKIM:
		r->adkim = 'r';
		break;
	case DMARC_TAG_ASPF:
		r->aspf = 'r';
		break;
	case DMARC_TAG_PSD:
		r->psd = 'u';
		break;
	case DMARC_TAG_T:
		r->t = false;
		break;
	case DMARC_TAG_FO:
		r->fo = 0;
		break;
	case DMARC_TAG_RUA:
		break; /* the valid URIs still count */
	case DMARC_TAG_RUF:
		break;
	case DMARC_TAG_PCT:
		r->pct = 100;
		break;
	default:
		break;
	}
}

/* Whether every byte of v is a dmarc-value character. */
static bool
value_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return false;
	return n > 0;
}

/* One dmarc-tag, WSP around it already trimmed. */
static void
one_tag(const char *s, size_t n, struct dmarc_record_tags *r, unsigned *seen)
{
	size_t i = 0, v;

	while (i < n && ascii_is_alpha((unsigned char)s[i]))
		i++;
	v = i;
	while (v < n && ascii_is_wsp(s[v]))
		v++;
	if (i == 0 || v >= n || s[v] != '=') {
		r->bad |= DMARC_TAG_OTHER;
		return;
	}
	for (v++; v < n && ascii_is_wsp(s[v]); v++)
		;
	for (size_t k = 0; k < sizeof(tagdefs) / sizeof(tagdefs[0]); k++) {
		const struct tagdef *t = &tagdefs[k];

		if (strlen(t->name) != i || memcmp(t->name, s, i) != 0)
			continue;
		if ((*seen & t->bit) || !value_ok(s + v, n - v) ||
		    t->parse(s + v, n - v, r) != 0) {
			r->bad |= t->bit;
			tag_reset(r, t->bit);
		}
		*seen |= t->bit;
		return;
	}
}

/* The offset just past "v=DMARC1" and its WSP, or 0 when s does not
 * start with the version tag (RFC 9989 section 4.7: "MUST be the first
 * tag"; the value is case-sensitive). */
static size_t
version_end(const char *s, size_t len)
{
	size_t i = 1;

	if (len == 0 || s[0] != 'v')
		return 0;
	while (i < len && ascii_is_wsp(s[i]))
		i++;
	if (i == len || s[i++] != '=')
		return 0;
	while (i < len && ascii_is_wsp(s[i]))
		i++;
	if (len - i < 6 || memcmp(s + i, "DMARC1", 6) != 0)
		return 0;
	for (i += 6; i < len && ascii_is_wsp(s[i]); i++)
		;
	return i == len || s[i] == ';' ? i : 0;
}

int
dmarc_record_parse(const char *s, size_t len, struct dmarc_record_tags *out)
{
	size_t i = version_end(s, len);
	unsigned seen = 0;

	memset(out, 0, sizeof(*out));
	out->adkim = out->aspf = 'r';
	out->psd = 'u';
	out->pct = 100;
	if (i == 0)
		return DMARC_RECORD_NOT_DMARC;
	while (i < len) {
		size_t b = ++i, e;

		while (i < len && s[i] != ';')
			i++;
		for (e = i; e > b && ascii_is_wsp(s[e - 1]); e--)
			;
		while (b < e && ascii_is_wsp(s[b]))
			b++;
		if (b < e)
			one_tag(s + b, e - b, out, &seen);
	}
	return DMARC_RECORD_OK;
}

const char *
dmarc_req_name(enum dmarc_req r)
{
	switch (r) {
	case DMARC_REQ_NONE:
		return "none";
	case DMARC_REQ_QUARANTINE:
		return "quarantine";
	case DMARC_REQ_REJECT:
		return "reject";
	case DMARC_REQ_INVALID:
		return "invalid";
	default:
		return "-";
	}
}

static const char *
req_short(enum dmarc_req r)
{
	return r == DMARC_REQ_INVALID ? "!" : dmarc_req_name(r);
}

void
dmarc_record_render(const struct dmarc_record_tags *r, char *out, size_t outsz)
{
	char fo[16] = "", bad[128] = "";
	size_t nf = 0, nb = 0;

	for (int k = 0; k < 4; k++)
		if (r->fo & (1u << k))
			nf += (size_t)snprintf(fo + nf, sizeof(fo) - nf, "%s%c",
			                       nf ? ":" : "", "01ds"[k]);
	for (size_t k = 0; k < sizeof(tagdefs) / sizeof(tagdefs[0]); k++)
		if (r->bad & tagdefs[k].bit)
			nb +=
			    (size_t)snprintf(bad + nb, sizeof(bad) - nb, "%s%s",
			                     nb ? "," : "", tagdefs[k].name);
	if (r->bad & DMARC_TAG_OTHER)
		snprintf(bad + nb, sizeof(bad) - nb, "%sother", nb ? "," : "");
	snprintf(out, outsz,
	         "p=%s sp=%s np=%s adkim=%c aspf=%c psd=%c t=%c pct=%d fo=%s "
	         "rua=%u ruf=%u bad=%s",
	         req_short(r->p), req_short(r->sp), req_short(r->np), r->adkim,
	         r->aspf, r->psd, r->t ? 'y' : 'n', r->pct, nf ? fo : "0",
	         r->nrua, r->nruf, bad[0] ? bad : "-");
}

/* ---- domains: A-labels (RFC 3492, RFC 5890 section 2.3.2.1) ---- */

/* Decode one UTF-8 sequence at s[0..n) into *cp; its length, or 0. */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Bias adaptation (RFC 3492 section 6.1). */
static uint32_t
adapt(uint32_t delta, uint32_t npoints, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 * delta) / (delta + 38);
}

/* Append one Punycode digit; -1 when out is full. */
static int
put_digit(char *out, size_t outsz, size_t *o, uint32_t d)
{
	if (*o + 1 >= outsz)
		return -1;
	out[(*o)++] = (char)(d < 26 ? 'a' + d : '0' + d - 26);
	return 0;
}

/* Encode the variable-length integer q (RFC 3492 section 6.3). */
static int
put_number(char *out, size_t outsz, size_t *o, uint32_t q, uint32_t bias)
{
	for (uint32_t k = 36;; k += 36) {
		uint32_t t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;

		if (q < t)
			break;
		if (put_digit(out, outsz, o, t + (q - t) % (36 - t)) != 0)
			return -1;
		q = (q - t) / (36 - t);
	}
	return put_digit(out, outsz, o, q);
}

/* The Punycode of cp[0..n) after out[0..*o) (RFC 3492 section 6.3). */
static int
punycode(const uint32_t *cp, size_t n, char *out, size_t outsz, size_t *o)
{
	uint32_t next = 128, delta = 0, bias = 72, h, b = 0;

	for (size_t i = 0; i < n; i++)
		if (cp[i] < 0x80) {
			if (*o + 1 >= outsz)
				return -1;
			out[(*o)++] = (char)ascii_lower((int)cp[i]);
			b++;
		}
	if (b > 0) {
		if (*o + 1 >= outsz)
			return -1;
		out[(*o)++] = '-';
	}
	for (h = b; h < n; delta++, next++) {
		uint32_t m = UINT32_MAX;

		for (size_t i = 0; i < n; i++)
			if (cp[i] >= next && cp[i] < m)
				m = cp[i];
		if ((m - next) > (UINT32_MAX - delta) / (h + 1))
			return -1;
		delta += (m - next) * (h + 1);
		next = m;
		for (size_t i = 0; i < n; i++) {
			if (cp[i] < next && ++delta == 0)
				return -1;
			if (cp[i] != next)
				continue;
			if (put_number(out, outsz, o, delta, bias) != 0)
				return -1;
			bias = adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
	}
	return 0;
}

int
dmarc_record_alabel(const char *in, size_t len, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)in;
	uint32_t cp[DMARC_DOMAIN_MAX];
	size_t n = 0, o = 4, k;
	bool ascii = true;

	for (size_t i = 0; i < len; i += k) {
		if (n == DMARC_DOMAIN_MAX ||
		    (k = utf8_decode(u + i, len - i, &cp[n])) == 0)
			return -1;
		ascii = ascii && cp[n] < 0x80;
		n++;
	}
	if (ascii) {
		if (len + 1 > outsz)
			return -1;
		for (size_t i = 0; i < len; i++)
			out[i] = (char)ascii_lower(u[i]);
		out[len] = '\0';
		return 0;
	}
	if (outsz < 5)
		return -1;
	memcpy(out, "xn--", 4);
	if (punycode(cp, n, out, outsz, &o) != 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* Whether c may appear in a label we query: printable ASCII but space
 * and backslash (the RFC 5322 atext of a From domain is wider than LDH). */
static bool
label_char(int c)
{
	return c > ' ' && c < 0x7f && c != '\\';
}

int
dmarc_record_domain(const char *in, char *out)
{
	size_t n = strlen(in), o = 0;

	if (n > 0 && in[n - 1] == '.')
		n--;
	for (size_t i = 0; i < n;) {
		size_t e = i, l;

		while (e < n && in[e] != '.')
			e++;
		if (e == i || dmarc_record_alabel(in + i, e - i, out + o,
		                                  DMARC_DOMAIN_MAX - o) != 0)
			return -1;
		l = strlen(out + o);
		for (size_t j = 0; j < l; j++)
			if (!label_char((unsigned char)out[o + j]))
				return -1;
		if (l > 63)
			return -1;
		o += l;
		if (e < n) {
			if (o + 1 >= DMARC_DOMAIN_MAX)
				return -1;
			out[o++] = '.';
		}
		i = e + 1;
	}
	out[o] = '\0';
	return o == 0 || o > 253 || out[o - 1] == '.' ? -1 : 0;
}

/* ---- the DNS Tree Walk (RFC 9989 section 4.10) ---- */

size_t
dmarc_record_labels(const char *d)
{
	size_t n = *d != '\0';

	for (; *d != '\0'; d++)
		n += *d == '.';
	return n;
}

size_t
dmarc_record_suffix(const char *d, size_t k)
{
	size_t skip = dmarc_record_labels(d) - k, off = 0;

	while (skip-- > 0)
		off += strcspn(d + off, ".") + 1;
	return off;
}

size_t
dmarc_record_walk(const char *d, size_t off[DMARC_WALK_MAX])
{
	size_t x = dmarc_record_labels(d), n = 0;

	off[n++] = 0;
	/* Step 4: x >= 8 jumps to 7 labels; then one label at a time. */
	for (size_t k = x - 1 < DMARC_WALK_MAX - 1 ? x - 1 : DMARC_WALK_MAX - 1;
	     k >= 1; k--)
		off[n++] = dmarc_record_suffix(d, k);
	return n;
}

size_t
dmarc_record_org(const char *d, const struct dmarc_walk_found *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (f[i].psd == 'n')
			return f[i].off;
		/* psd=y: the name one label below it, unless the walk
		 * started there. */
		if (f[i].psd == 'y' && f[i].off != 0)
			return dmarc_record_suffix(
			    d, dmarc_record_labels(d + f[i].off) + 1);
	}
	return n > 0 ? f[n - 1].off : 0;
}

bool
dmarc_record_under(const char *d, const char *parent)
{
	size_t n = strlen(d), m = strlen(parent);

	if (n == m)
		return strcmp(d, parent) == 0;
	return n > m && d[n - m - 1] == '.' && strcmp(d + n - m, parent) == 0;
}
