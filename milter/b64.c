/*
 * b64: strict base64 decoding with whitespace skipped, and encoding
 * (see b64.h).  RFC 4648 section 4 alphabet and padding, which is the
 * one of RFC 2045 section 6.8 that DKIM names.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "b64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1. */
static int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool
b64_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

size_t
b64_decoded_max(size_t inlen)
{
	/* Every 4 significant characters give at most 3 bytes, and a
	 * partial group is invalid. */
	return inlen / 4 * 3;
}

struct b64_state {
	uint32_t acc;   /* data bits of the current group */
	unsigned nchar; /* characters of the group so far, '=' included */
	unsigned npad;  /* '=' in the group */
	bool done;      /* a padded group ended the data */
	size_t o;       /* bytes written */
};

/* Flush a complete group of 4; -1 if the bytes do not fit or the bits
 * that padding drops are not zero. */
static int
b64_flush(struct b64_state *st, unsigned char *out, size_t outsz)
{
	unsigned nbytes = 3 - st->npad, drop = st->npad * 2;
	uint32_t v = st->acc;

	if ((v & ((1u << drop) - 1)) != 0 || outsz - st->o < nbytes)
		return -1;
	v >>= drop;
	for (unsigned i = nbytes; i-- > 0;)
		out[st->o + nbytes - 1 - i] = (unsigned char)(v >> (8 * i));
	st->o += nbytes;
	st->done = st->npad > 0;
	st->acc = 0;
	st->nchar = st->npad = 0;
	return 0;
}

/* Take one significant character; -1 if it makes the input invalid. */
static int
b64_take(struct b64_state *st, int c)
{
	int v;

	if (st->done)
		return -1;
	if (c == '=') {
		/* "xx==" or "xxx=": never in the first two places. */
		if (st->nchar < 2)
			return -1;
		st->npad++;
		st->nchar++;
		return 0;
	}
	if ((v = b64_value(c)) < 0 || st->npad > 0)
		return -1;
	st->acc = st->acc << 6 | (uint32_t)v;
	st->nchar++;
	return 0;
}

ssize_t
b64_decode(const char *in, size_t inlen, unsigned char *out, size_t outsz)
{
	struct b64_state st = {0, 0, 0, false, 0};

	if (outsz > SSIZE_MAX)
		outsz = SSIZE_MAX;
	for (size_t i = 0; i < inlen; i++) {
		int c = (unsigned char)in[i];

		if (b64_space(c))
			continue;
		if (b64_take(&st, c) < 0)
			return -1;
		if (st.nchar == 4 && b64_flush(&st, out, outsz) < 0)
			return -1;
	}
	return st.nchar == 0 ? (ssize_t)st.o : -1;
}

int
b64_encode(const unsigned char *in, size_t len, struct buf *out)
{
	size_t n, i;
	char *d;
	int rc;

	if (len / 3 > (SIZE_MAX - 4) / 4)
		return BUF_E2BIG;
	n = len / 3 * 4 + (len % 3 ? 4 : 0);
	if ((rc = buf_reserve(out, n)) != BUF_OK)
		return rc;
	d = out->data + out->len;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		             in[i + 2];

		*d++ = b64_alphabet[v >> 18];
		*d++ = b64_alphabet[(v >> 12) & 63];
		*d++ = b64_alphabet[(v >> 6) & 63];
		*d++ = b64_alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 |
		             (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*d++ = b64_alphabet[v >> 18];
		*d++ = b64_alphabet[(v >> 12) & 63];
		*d++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		*d++ = '=';
	}
	out->len += n;
	out->data[out->len] = '\0';
	return BUF_OK;
}
