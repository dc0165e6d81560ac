/*
 * tagval: RFC 6376 section 3.2 tag=value lists (see tagval.h).
 *
 * A single left-to-right pass over the input; every value is a pointer
 * into it.  FWS is RFC 6376 section 2.8: [*WSP CRLF] 1*WSP.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "ascii.h"
#include "tagval.h"

struct tv_scan {
	const unsigned char *p, *end;
};

static bool
is_alnumpunc(int c)
{
	return ascii_is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* Bytes of the VALCHAR at p, or of the well-formed UTF-8 character there
 * (RFC 8616 section 5, RFC 3629); 0 if neither. */
static size_t
valchar_len(const unsigned char *p, const unsigned char *end)
{
	size_t len;
	unsigned lo = 0x80, hi = 0xbf;

	if (p >= end)
		return 0;
	if (*p < 0x80)
		return *p >= 0x21 && *p <= 0x7e && *p != ';';
	if (*p >= 0xc2 && *p <= 0xdf)
		len = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		len = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		len = 4;
	else
		return 0;
	lo = *p == 0xe0 ? 0xa0 : *p == 0xf0 ? 0x90 : lo;
	hi = *p == 0xed ? 0x9f : *p == 0xf4 ? 0x8f : hi;
	if ((size_t)(end - p) < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Bytes of CRLF 1*WSP at p, 0 if none. */
static size_t
fold_len(const unsigned char *p, const unsigned char *end)
{
	return end - p >= 3 && p[0] == '\r' && p[1] == '\n' &&
	               ascii_is_wsp(p[2])
	           ? 2
	           : 0;
}

/* Skip one optional FWS: [*WSP CRLF] 1*WSP. */
static void
skip_fws(struct tv_scan *sc)
{
	const unsigned char *q = sc->p;

	while (q < sc->end && ascii_is_wsp(*q))
		q++;
	q += fold_len(q, sc->end);
	while (q < sc->end && ascii_is_wsp(*q))
		q++;
	sc->p = q;
}

/* Skip 1*(WSP / FWS): any WSP and CRLF WSP; where it ends. */
static const unsigned char *
skip_ws(const unsigned char *p, const unsigned char *end)
{
	size_t n;

	for (;;) {
		if (p < end && ascii_is_wsp(*p))
			p++;
		else if ((n = fold_len(p, end)) > 0)
			p += n;
		else
			return p;
	}
}

/* Skip tval (1*VALCHAR) at p; where it ends (p if there is none). */
static const unsigned char *
skip_tval(const unsigned char *p, const unsigned char *end)
{
	size_t n;

	while ((n = valchar_len(p, end)) > 0)
		p += n;
	return p;
}

/* tag-value: [ tval *( 1*(WSP / FWS) tval ) ]; sets *len. */
static const char *
scan_value(struct tv_scan *sc, size_t *len)
{
	const unsigned char *start = sc->p, *vend = skip_tval(sc->p, sc->end);

	while (vend > start) {
		const unsigned char *q = skip_ws(vend, sc->end),
		                    *r = skip_tval(q, sc->end);

		if (q == vend || r == q)
			break;
		vend = r;
	}
	sc->p = vend;
	*len = (size_t)(vend - start);
	return (const char *)start;
}

/* tag-name into name; NULL or why it is bad. */
static const char *
scan_name(struct tv_scan *sc, char name[TAGVAL_NAME_MAX])
{
	size_t n = 0;

	if (sc->p == sc->end || *sc->p == ';')
		return "empty tag-spec";
	if (!ascii_is_alpha(*sc->p))
		return "bad tag name";
	while (sc->p < sc->end && is_alnumpunc(*sc->p)) {
		if (n + 1 >= TAGVAL_NAME_MAX)
			return "tag name too long";
		name[n++] = (char)*sc->p++;
	}
	name[n] = '\0';
	return NULL;
}

/* Whether l already holds a tag named name. */
static bool
seen(const struct tagval_list *l, const char *name)
{
	return tagval_get(l, name) != NULL;
}

/* One tag-spec up to (not including) the ";" or the end. */
static int
scan_spec(struct tv_scan *sc, struct tagval_list *out, const char **why)
{
	struct tagval *t;
	char name[TAGVAL_NAME_MAX];

	skip_fws(sc);
	if ((*why = scan_name(sc, name)) != NULL)
		return TAGVAL_ESYNTAX;
	if (seen(out, name)) {
		*why = "duplicate tag";
		return TAGVAL_EDUP;
	}
	if (out->n == TAGVAL_MAX) {
		*why = "too many tags";
		return TAGVAL_ETOOMANY;
	}
	skip_fws(sc);
	if (sc->p == sc->end || *sc->p != '=') {
		*why = "\"=\" expected";
		return TAGVAL_ESYNTAX;
	}
	sc->p++;
	skip_fws(sc);
	t = &out->t[out->n++];
	memcpy(t->name, name, sizeof(name));
	t->value = scan_value(sc, &t->len);
	skip_fws(sc);
	if (sc->p < sc->end && *sc->p != ';') {
		*why = "bad character in value";
		return TAGVAL_ESYNTAX;
	}
	return TAGVAL_OK;
}

int
tagval_parse(const char *s, size_t len, struct tagval_list *out,
             const char **why)
{
	struct tv_scan sc = {(const unsigned char *)s,
	                     (const unsigned char *)s + len};
	const unsigned char *next;
	const char *dummy;
	int rc;

	if (why == NULL)
		why = &dummy;
	out->n = 0;
	skip_fws(&sc);
	if (sc.p == sc.end) {
		*why = "empty tag list";
		return TAGVAL_ESYNTAX;
	}
	sc.p = (const unsigned char *)s;
	for (;;) {
		if ((rc = scan_spec(&sc, out, why)) != TAGVAL_OK)
			return rc;
		if (sc.p == sc.end)
			break;
		next = ++sc.p; /* past the ";" */
		/* A final ";" may be followed by FWS ("WSP is allowed
		 * anywhere around tags", section 3.2). */
		skip_fws(&sc);
		if (sc.p == sc.end)
			break;
		sc.p = next; /* a tag-spec follows, with its own [FWS] */
	}
	*why = NULL;
	return TAGVAL_OK;
}

const struct tagval *
tagval_get(const struct tagval_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->t[i].name, name) == 0)
			return &l->t[i];
	return NULL;
}

int
tagval_eq(const struct tagval *t, const char *s)
{
	return t != NULL && strlen(s) == t->len &&
	       memcmp(t->value, s, t->len) == 0;
}

int
tagval_eqi(const struct tagval *t, const char *s)
{
	if (t == NULL || strlen(s) != t->len)
		return 0;
	for (size_t i = 0; i < t->len; i++)
		if (ascii_lower((unsigned char)t->value[i]) !=
		    ascii_lower((unsigned char)s[i]))
			return 0;
	return 1;
}

int
tagval_copy(const struct tagval *t, char *out, size_t outsz)
{
	if (t == NULL || t->len >= outsz)
		return -1;
	memcpy(out, t->value, t->len);
	out[t->len] = '\0';
	return 0;
}
