/*
 * hdr: the header fields of one message, kept in a chunked arena, and the
 * one From parser every method uses (see hdr.h).
 *
 * Storage: fields and their text are carved out of chunks of HDR_CHUNK
 * bytes, so a message costs one malloc per chunk, not per field; a field
 * never moves once stored (hdr_get pointers stay valid).  Only the index
 * (one pointer per field) is a growing array.
 *
 * The From parser is in hdr_from.c.
 */
#include "config.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "hdr.h"

#define HDR_CHUNK 16384           /* arena chunk: a typical header in 1-2 */
#define HDR_BIG   (HDR_CHUNK / 4) /* larger fields get a chunk */

struct hdr_chunk {
	struct hdr_chunk *next;
	size_t size, used;
	max_align_t data[]; /* size bytes */
};

struct hdr {
	size_t max_fields, max_bytes;
	size_t nbytes;          /* raw bytes kept */
	struct hdr_field **idx; /* fields, top to bottom */
	size_t n, idxcap;
	struct hdr_chunk *chunks; /* the chunk being filled first */
	unsigned from_refused;    /* From fields hdr_add() could not keep */
	bool overflowed;
};

/* ---- storage ---- */

struct hdr *
hdr_new(size_t max_fields, size_t max_bytes)
{
	struct hdr *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->max_fields = max_fields;
	h->max_bytes = max_bytes;
	return h;
}

void
hdr_free(struct hdr *h)
{
	struct hdr_chunk *c, *next;

	if (h == NULL)
		return;
	for (c = h->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(h->idx);
	free(h);
}

/* A new chunk of size bytes, linked first (small) or second (big). */
static struct hdr_chunk *
chunk_new(struct hdr *h, size_t size, bool big)
{
	struct hdr_chunk *c;

	if (size > SIZE_MAX - sizeof(*c) ||
	    (c = malloc(sizeof(*c) + size)) == NULL)
		return NULL;
	c->size = size;
	c->used = 0;
	if (big && h->chunks != NULL) {
		/* Keep filling the current chunk after a big field. */
		c->next = h->chunks->next;
		h->chunks->next = c;
	} else {
		c->next = h->chunks;
		h->chunks = c;
	}
	return c;
}

/* n bytes of arena memory, aligned for any type; NULL when out of memory. */
static void *
arena_alloc(struct hdr *h, size_t n)
{
	const size_t a = alignof(max_align_t);
	struct hdr_chunk *c = h->chunks;
	void *p;

	if (n > SIZE_MAX - a)
		return NULL;
	n = (n + a - 1) / a * a;
	if (n > HDR_BIG)
		c = chunk_new(h, n, true);
	else if (c == NULL || c->size - c->used < n)
		c = chunk_new(h, HDR_CHUNK, false);
	if (c == NULL)
		return NULL;
	p = (unsigned char *)c->data + c->used;
	c->used += n;
	return p;
}

/* Room for one more index entry. */
static int
index_grow(struct hdr *h)
{
	struct hdr_field **p;
	size_t ncap;

	if (h->n < h->idxcap)
		return HDR_OK;
	ncap = h->idxcap ? h->idxcap * 2 : 64;
	if (ncap > SIZE_MAX / sizeof(*p) ||
	    (p = realloc(h->idx, ncap * sizeof(*p))) == NULL)
		return HDR_ENOMEM;
	h->idx = p;
	h->idxcap = ncap;
	return HDR_OK;
}

/* Length of value once every bare LF becomes CRLF. */
static size_t
norm_len(const char *v)
{
	size_t n = 0;

	for (size_t i = 0; v[i] != '\0'; i++)
		n += (v[i] == '\n' && (i == 0 || v[i - 1] != '\r')) ? 2 : 1;
	return n;
}

/* Copy v to d turning bare LF into CRLF; the bytes written. */
static size_t
norm_copy(char *d, const char *v)
{
	size_t n = 0;

	for (size_t i = 0; v[i] != '\0'; i++) {
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			d[n++] = '\r';
		d[n++] = v[i];
	}
	return n;
}

/* Whether the field name s[0..n) is name, ignoring ASCII case and WSP at
 * its end ("From :" is the obsolete form of "From:", RFC 5322 4.5). */
static bool
name_is(const char *s, size_t n, const char *name)
{
	size_t len = strlen(name);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n != len)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_lower((unsigned char)s[i]) !=
		    ascii_lower((unsigned char)name[i]))
			return false;
	return true;
}

/* Refuse a field: remember that the section is incomplete, and whether
 * a From field is missing from it (hdr_from must not pass then). */
static int
refuse(struct hdr *h, const char *name, size_t nlen, int rc)
{
	h->overflowed = true;
	if (name_is(name, nlen, "From") && h->from_refused < 65535)
		h->from_refused++;
	return rc;
}

int
hdr_add(struct hdr *h, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = norm_len(value), raw;
	struct hdr_field *f;
	char *d;

	if (h->n >= h->max_fields || vlen > SIZE_MAX / 2 - nlen ||
	    (raw = nlen + 1 + vlen) > h->max_bytes - h->nbytes)
		return refuse(h, name, nlen, HDR_EFULL);
	if (index_grow(h) != HDR_OK ||
	    (f = arena_alloc(h, sizeof(*f) + raw + 1)) == NULL)
		return refuse(h, name, nlen, HDR_ENOMEM);
	d = (char *)(f + 1);
	memcpy(d, name, nlen);
	d[nlen] = ':';
	norm_copy(d + nlen + 1, value);
	d[raw] = '\0';
	f->raw = d;
	f->rawlen = raw;
	f->namelen = nlen;
	h->idx[h->n++] = f;
	h->nbytes += raw;
	return HDR_OK;
}

size_t
hdr_count(const struct hdr *h)
{
	return h->n;
}

const struct hdr_field *
hdr_get(const struct hdr *h, size_t i)
{
	return i < h->n ? h->idx[i] : NULL;
}

bool
hdr_overflowed(const struct hdr *h)
{
	return h->overflowed;
}

bool
hdr_is(const struct hdr_field *f, const char *name)
{
	return name_is(f->raw, f->namelen, name);
}

const char *
hdr_value(const struct hdr_field *f, size_t *len)
{
	if (len != NULL)
		*len = f->rawlen - f->namelen - 1;
	return f->raw + f->namelen + 1;
}

unsigned
hdr_from_refused(const struct hdr *h)
{
	return h->from_refused;
}
