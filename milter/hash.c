/*
 * hash: digests through OpenSSL 3 EVP, and the deduplicated set of body
 * hashes of one message (see hash.h).
 *
 * Each canonicalization in use has one pass: a canon_body whose sink
 * counts the canonical bytes and feeds every digest of that
 * canonicalization, each only up to its own limit (RFC 6376 section 3.7,
 * hash step 1: the canonical body "truncated to the length specified in
 * the l= tag").  A canonicalizer only ever emits bytes that are final,
 * so the first `limit` bytes it emits are the first `limit` bytes of the
 * canonical body, whatever follows.
 *
 * The canonicalizer passes runs of the caller's bytes; where the body
 * makes them short (two spaces after every full stop, tabs, trailing
 * WSP), each pass gathers them in a small fixed stage first, because
 * a digest update per few bytes would cost more than the hashing.
 */
#include "config.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hash.h"

#define STAGE_SIZE 4096 /* bytes gathered before the digests see them */

struct digest {
	enum canon c;
	enum hash_alg a;
	int64_t limit; /* -1: the whole body */
	uint64_t fed;  /* canonical bytes given to ctx */
	EVP_MD_CTX *ctx;
	unsigned char md[HASH_MAX_SIZE];
	unsigned mdlen;
};

struct pass {
	struct bodyhash *bh;   /* back pointer for the sink */
	struct canon_body *cb; /* NULL until a want needs this canon */
	enum canon c;
	uint64_t len; /* canonical bytes emitted */
	size_t nstage;
	unsigned char stage[STAGE_SIZE]; /* short runs not yet digested */
};

struct bodyhash {
	struct digest *d;
	int nd, cap;
	struct pass pass[2]; /* indexed by enum canon */
	unsigned npasses;
	bool started;  /* bodyhash_update() was called */
	bool finished; /* bodyhash_final() was called */
	int err;       /* -1 once an EVP call failed */
};

/* The EVP digest for a; the EVP_sha*() objects are static in libcrypto,
 * so there is nothing to free and no state of ours to share. */
static const EVP_MD *
alg_md(enum hash_alg a)
{
	return a == HASH_SHA1 ? EVP_sha1() : EVP_sha256();
}

size_t
hash_size(enum hash_alg a)
{
	return a == HASH_SHA1 ? 20 : 32;
}

int
hash_digest(enum hash_alg a, const void *p, size_t n, unsigned char *md,
            size_t *mdlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 0;
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, alg_md(a), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, p, n) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	*mdlen = len;
	return 0;
}

struct bodyhash *
bodyhash_new(void)
{
	struct bodyhash *bh = calloc(1, sizeof(*bh));

	if (bh == NULL)
		return NULL;
	for (int i = 0; i < 2; i++) {
		bh->pass[i].bh = bh;
		bh->pass[i].c = (enum canon)i;
	}
	return bh;
}

void
bodyhash_free(struct bodyhash *bh)
{
	if (bh == NULL)
		return;
	for (int i = 0; i < bh->nd; i++)
		EVP_MD_CTX_free(bh->d[i].ctx);
	for (int i = 0; i < 2; i++)
		canon_body_free(bh->pass[i].cb);
	free(bh->d);
	free(bh);
}

/* Feed canonical bytes to one digest, no more than its limit allows. */
static void
digest_feed(struct bodyhash *bh, struct digest *d, const unsigned char *p,
            size_t n)
{
	if (d->limit >= 0 && (uint64_t)d->limit - d->fed < n)
		n = (size_t)((uint64_t)d->limit - d->fed);
	if (n == 0)
		return;
	if (EVP_DigestUpdate(d->ctx, p, n) != 1)
		bh->err = -1;
	d->fed += n;
}

/* Hand n canonical bytes of pass ps to each of its digests. */
static void
fan_out(struct pass *ps, const unsigned char *p, size_t n)
{
	struct bodyhash *bh = ps->bh;

	for (int i = 0; i < bh->nd; i++)
		if (bh->d[i].c == ps->c)
			digest_feed(bh, &bh->d[i], p, n);
}

static void
flush(struct pass *ps)
{
	fan_out(ps, ps->stage, ps->nstage);
	ps->nstage = 0;
}

/* The sink of a pass: count; stage short runs, pass long ones on. */
static void
pass_sink(void *arg, const unsigned char *p, size_t n)
{
	struct pass *ps = arg;

	ps->len += n;
	if (n >= STAGE_SIZE / 2) {
		flush(ps);
		fan_out(ps, p, n);
		return;
	}
	if (ps->nstage + n > STAGE_SIZE)
		flush(ps);
	memcpy(ps->stage + ps->nstage, p, n);
	ps->nstage += n;
}

/* Make sure the pass for c exists; 0 or -1. */
static int
pass_need(struct bodyhash *bh, enum canon c)
{
	struct pass *ps = &bh->pass[c];

	if (ps->cb != NULL)
		return 0;
	if ((ps->cb = canon_body_new(c, pass_sink, ps)) == NULL)
		return -1;
	bh->npasses++;
	return 0;
}

/* Room for one more digest; 0 or -1. */
static int
grow(struct bodyhash *bh)
{
	struct digest *nd;
	int ncap;

	if (bh->nd < bh->cap)
		return 0;
	ncap = bh->cap ? bh->cap * 2 : 4;
	if (ncap > BODYHASH_MAX_WANT)
		ncap = BODYHASH_MAX_WANT;
	if ((nd = realloc(bh->d, (size_t)ncap * sizeof(*nd))) == NULL)
		return -1;
	bh->d = nd;
	bh->cap = ncap;
	return 0;
}

int
bodyhash_want(struct bodyhash *bh, enum canon c, enum hash_alg a, int64_t limit)
{
	struct digest *d;
	EVP_MD_CTX *ctx;

	assert(!bh->started && (c == CANON_SIMPLE || c == CANON_RELAXED) &&
	       (a == HASH_SHA256 || a == HASH_SHA1));
	if (limit < 0)
		limit = -1;
	for (int i = 0; i < bh->nd; i++)
		if (bh->d[i].c == c && bh->d[i].a == a &&
		    bh->d[i].limit == limit)
			return i;
	if (bh->nd >= BODYHASH_MAX_WANT || grow(bh) < 0)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, alg_md(a), NULL) != 1 ||
	    pass_need(bh, c) < 0) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	d = &bh->d[bh->nd];
	memset(d, 0, sizeof(*d));
	d->c = c;
	d->a = a;
	d->limit = limit;
	d->ctx = ctx;
	return bh->nd++;
}

int
bodyhash_update(struct bodyhash *bh, const unsigned char *p, size_t n)
{
	assert(!bh->finished);
	bh->started = true;
	for (int i = 0; i < 2 && bh->err == 0; i++)
		if (bh->pass[i].cb != NULL)
			canon_body_update(bh->pass[i].cb, p, n);
	return bh->err;
}

/* Emitted canonical bytes are final, staged or not: a digest has all
 * it wants once its pass has emitted `limit` bytes. */
bool
bodyhash_complete(const struct bodyhash *bh)
{
	for (int i = 0; i < bh->nd; i++) {
		const struct digest *d = &bh->d[i];

		if (d->limit < 0 || bh->pass[d->c].len < (uint64_t)d->limit)
			return false;
	}
	return true;
}

int
bodyhash_final(struct bodyhash *bh)
{
	assert(!bh->finished);
	bh->started = true;
	bh->finished = true;
	for (int i = 0; i < 2; i++) {
		if (bh->pass[i].cb != NULL)
			canon_body_final(bh->pass[i].cb);
		flush(&bh->pass[i]);
	}
	for (int i = 0; i < bh->nd; i++) {
		struct digest *d = &bh->d[i];

		if (EVP_DigestFinal_ex(d->ctx, d->md, &d->mdlen) != 1)
			bh->err = -1;
		EVP_MD_CTX_free(d->ctx);
		d->ctx = NULL;
	}
	return bh->err;
}

int
bodyhash_result(const struct bodyhash *bh, int id, unsigned char *md,
                size_t *mdlen, uint64_t *canon_len)
{
	const struct digest *d;

	if (!bh->finished || bh->err != 0 || id < 0 || id >= bh->nd)
		return -1;
	d = &bh->d[id];
	memcpy(md, d->md, d->mdlen);
	*mdlen = d->mdlen;
	*canon_len = bh->pass[d->c].len;
	return 0;
}

unsigned
bodyhash_passes(const struct bodyhash *bh)
{
	return bh->npasses;
}
