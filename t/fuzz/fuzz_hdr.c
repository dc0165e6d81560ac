/*
 * fuzz_hdr: libFuzzer target for hdr_add(), hdr_from() and
 * hdr_from_value().  The input is a header section (the "fields" format
 * of t/vectors/from/README: fields end at a line break not followed by
 * WSP, name and value split at the first ':'); the whole input is also
 * parsed as one From value.  Properties checked on every input:
 *   - every stored field is "name:value" with each bare LF turned into
 *     CRLF, NUL-terminated;
 *   - a struct hdr_from is consistent: OK has a lower-case domain that
 *     ends the address after its last '@'; SYNTAX keeps nothing; the
 *     address is well-formed UTF-8;
 *   - with exactly one From field, hdr_from() says what hdr_from_value()
 *     says about the value as given (bare LF and CRLF folds agree).
 * Seeds: t/vectors/from/{input,fields}.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether s[0..n) is well-formed UTF-8 (a plain re-implementation). */
static int
utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, min;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return 0;
		if (n - i <= need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

static void
check_from(const struct hdr_from *r)
{
	const char *at;

	if (r->why == NULL || strlen(r->address) >= sizeof(r->address) ||
	    strlen(r->domain) >= sizeof(r->domain) ||
	    !utf8_valid((const unsigned char *)r->address, strlen(r->address)))
		abort();
	if (r->status != HDR_FROM_OK) {
		if (r->domain[0] != '\0' || r->why[0] == '\0')
			abort();
		if (r->status == HDR_FROM_SYNTAX &&
		    (r->naddrs != 0 || r->address[0] != '\0'))
			abort();
		return;
	}
	if (r->naddrs == 0 || r->nfields != 1 || r->why[0] != '\0' ||
	    (at = strrchr(r->address, '@')) == NULL ||
	    strcasecmp(at + 1, r->domain) != 0)
		abort();
	for (const char *p = r->domain; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			abort();
}

/* Field f must be name ":" value with bare LF -> CRLF. */
static void
check_field(const struct hdr_field *f, const char *name, const char *value)
{
	size_t nlen = strlen(name), k = nlen + 1;

	if (f->namelen != nlen || memcmp(f->raw, name, nlen) != 0 ||
	    f->raw[nlen] != ':' || f->raw[f->rawlen] != '\0')
		abort();
	for (size_t i = 0; value[i] != '\0'; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			if (f->raw[k++] != '\r')
				abort();
		if (f->raw[k++] != value[i])
			abort();
	}
	if (k != f->rawlen)
		abort();
}

static int
same(const struct hdr_from *a, const struct hdr_from *b)
{
	return a->status == b->status && a->naddrs == b->naddrs &&
	       strcmp(a->domain, b->domain) == 0 &&
	       strcmp(a->address, b->address) == 0 &&
	       strcmp(a->why, b->why) == 0;
}

/* Add one field s[0..len) split at its first ':'; its value, or NULL. */
static char *
add_field(struct hdr *h, const char *s, size_t len, int *is_from)
{
	const char *colon = memchr(s, ':', len);
	char *name, *value;

	/* libmilter passes C strings: a NUL cannot reach hdr_add(). */
	if (colon == NULL || memchr(s, '\0', len) != NULL)
		return NULL;
	name = strndup(s, (size_t)(colon - s));
	value = strndup(colon + 1, len - (size_t)(colon - s) - 1);
	if (name == NULL || value == NULL)
		abort();
	if (hdr_add(h, name, value) == HDR_OK) {
		check_field(hdr_get(h, hdr_count(h) - 1), name, value);
		*is_from = hdr_is(hdr_get(h, hdr_count(h) - 1), "From");
	} else {
		*is_from = 0;
	}
	free(name);
	return value;
}

/* Split s into fields as the vectors' "fields" files do. */
static void
add_fields(struct hdr *h, const char *s, size_t len, char **from_value,
           unsigned *nfrom)
{
	size_t pos = 0;

	while (pos < len && s[pos] != '\n' && s[pos] != '\r') {
		size_t e = pos, next;
		char *value;
		int is_from;

		while (e < len && !(s[e] == '\n' &&
		                    (e + 1 >= len ||
		                     (s[e + 1] != ' ' && s[e + 1] != '\t'))))
			e++;
		next = e < len ? e + 1 : e;
		if (e > pos && s[e - 1] == '\r' && e < len)
			e--;
		value = add_field(h, s + pos, e - pos, &is_from);
		if (value != NULL && is_from && (*nfrom)++ == 0)
			*from_value = value;
		else
			free(value);
		pos = next;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	struct hdr_from a, b;
	char *from_value = NULL;
	unsigned nfrom = 0;

	if (h == NULL)
		abort();
	hdr_from_value(s, size, &a);
	check_from(&a);
	add_fields(h, s, size, &from_value, &nfrom);
	hdr_from(h, &b);
	if (b.nfields != nfrom)
		abort();
	if (nfrom != 1)
		check_from(&b);
	if (nfrom == 1) {
		hdr_from_value(from_value, strlen(from_value), &a);
		check_from(&a);
		if (!same(&a, &b))
			abort();
	}
	free(from_value);
	hdr_free(h);
	return 0;
}
