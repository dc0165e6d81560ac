/*
 * fuzz_canon: libFuzzer target for canon_body_*, canon_header() and the
 * body-hash set.  The input is a body, canonicalized with both
 * algorithms in one chunk and in pseudo-random chunks derived from the
 * data; every input must give:
 *   - the same output in both chunkings;
 *   - an output that is canonical: CRLF line ends only, ending in one
 *     CRLF and no empty line (simple: never empty; relaxed: empty or
 *     as said, with no tab, no two SPs and no SP before a CRLF);
 *   - bodyhash digests (whole body and l=) equal to hash_digest() of
 *     that output.
 * The input is also a header field for canon_header(): simple copies
 * it, relaxed leaves no LF but the final CRLF, no tab, no two SPs.
 * Seeds: the files of t/vectors/canon/.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "canon.h"
#include "hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
collect(void *arg, const unsigned char *p, size_t n)
{
	if (n == 0 || buf_append(arg, p, n) != BUF_OK)
		abort();
}

/* FNV-1a of the data: the chunking seed. */
static uint32_t
seed_of(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h | 1;
}

static size_t
next_chunk(uint32_t *s, size_t left)
{
	size_t k;

	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	k = *s % 17;
	return k < left ? k : left;
}

/* Canonicalize d in one chunk (seed 0) or in random chunks into out. */
static void
body(enum canon c, const uint8_t *d, size_t n, uint32_t seed, struct buf *out)
{
	struct canon_body *cb = canon_body_new(c, collect, out);

	if (cb == NULL)
		abort();
	while (n > 0) {
		size_t k = seed == 0 ? n : next_chunk(&seed, n);

		canon_body_update(cb, d, k);
		d += k;
		n -= k;
	}
	canon_body_final(cb);
	canon_body_free(cb);
}

static bool
has(const struct buf *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= b->len; i++)
		if (memcmp(b->data + i, s, n) == 0)
			return true;
	return false;
}

/* The properties of a canonical body listed at the top. */
static void
check_canonical(enum canon c, const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] == '\n' && (i == 0 || b->data[i - 1] != '\r'))
			abort();
	if (b->len == 0) {
		if (c == CANON_SIMPLE)
			abort();
		return;
	}
	if (b->len < 2 || memcmp(b->data + b->len - 2, "\r\n", 2) != 0)
		abort();
	if (b->len >= 4 && memcmp(b->data + b->len - 4, "\r\n\r\n", 4) == 0)
		abort();
	if (c == CANON_SIMPLE && b->len == 2)
		return;
	if (b->len == 2)
		abort(); /* an empty line alone: only simple's empty body */
	if (c == CANON_RELAXED &&
	    (has(b, "\t") || has(b, "  ") || has(b, " \r\n")))
		abort();
}

/* Digests of the whole body and of its first half (l=) must equal
 * hash_digest() of the canonical bytes. */
static void
check_bodyhash(enum canon c, const uint8_t *d, size_t n, uint32_t seed,
               const struct buf *want)
{
	struct bodyhash *bh = bodyhash_new();
	unsigned char md[HASH_MAX_SIZE], md2[HASH_MAX_SIZE];
	size_t len, len2;
	uint64_t clen;
	int whole, half;

	if (bh == NULL)
		abort();
	whole = bodyhash_want(bh, c, HASH_SHA256, -1);
	half = bodyhash_want(bh, c, HASH_SHA256, (int64_t)want->len / 2);
	while (n > 0) {
		size_t k = next_chunk(&seed, n);

		if (bodyhash_update(bh, d, k) != 0)
			abort();
		d += k;
		n -= k;
	}
	if (bodyhash_final(bh) != 0 || bodyhash_passes(bh) != 1)
		abort();
	if (bodyhash_result(bh, whole, md, &len, &clen) != 0 ||
	    clen != want->len ||
	    hash_digest(HASH_SHA256, want->data, want->len, md2, &len2) != 0 ||
	    len != len2 || memcmp(md, md2, len) != 0)
		abort();
	if (bodyhash_result(bh, half, md, &len, &clen) != 0 ||
	    hash_digest(HASH_SHA256, want->data, want->len / 2, md2, &len2) !=
	        0 ||
	    memcmp(md, md2, len) != 0)
		abort();
	bodyhash_free(bh);
}

static void
check_body(enum canon c, const uint8_t *d, size_t n)
{
	struct buf one, many;

	buf_init(&one, 0);
	buf_init(&many, 0);
	body(c, d, n, 0, &one);
	body(c, d, n, seed_of(d, n), &many);
	if (one.len != many.len ||
	    (one.len > 0 && memcmp(one.data, many.data, one.len) != 0))
		abort();
	check_canonical(c, &one);
	check_bodyhash(c, d, n, seed_of(d, n) ^ 0x5bd1e995u, &one);
	buf_free(&one);
	buf_free(&many);
}

static void
check_header(const uint8_t *d, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (canon_header(CANON_SIMPLE, (const char *)d, n, true, &b) != 0 ||
	    b.len != n + 2 || (n > 0 && memcmp(b.data, d, n) != 0))
		abort();
	buf_reset(&b);
	if (canon_header(CANON_RELAXED, (const char *)d, n, false, &b) != 0 ||
	    b.len > n || memchr(b.data != NULL ? b.data : "", '\n', b.len) ||
	    has(&b, "\t") || has(&b, "  ") ||
	    (b.len > 0 && b.data[b.len - 1] == ' '))
		abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_body(CANON_SIMPLE, data, size);
	check_body(CANON_RELAXED, data, size);
	check_header(data, size);
	return 0;
}
