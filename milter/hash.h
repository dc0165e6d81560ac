/*
 * hash: message digests for DKIM/ARC (OpenSSL 3 EVP only) and the
 * per-message set of body hashes.
 *
 * Body hashes are deduplicated: every signature (verified or made) asks
 * for (canonicalization, algorithm, length limit) with bodyhash_want();
 * equal requests share one digest, and each canonicalization runs once
 * however many digests use it (at most two passes over the body: simple
 * and relaxed).  The raw body is fed once with bodyhash_update(); each
 * digest takes only the first `limit` canonical bytes (DKIM l=), and
 * bodyhash_complete() says when every digest has all it wants, so the
 * milter can ask the MTA to skip the rest of the body (SMFIS_SKIP).
 * bodyhash_result() also reports how many canonical bytes the body had,
 * so the verifier can tell a body shorter than l= (invalid) from one
 * with content after the signed part (RFC 6376 section 8.2).
 *
 * Ownership: bodyhash_new() returns an owned set.  Thread rules: one
 * message, one thread at a time.  Failures (out of memory, an EVP error)
 * are returned, never turned into a digest.
 */
#ifndef AUTHMILTER_HASH_H
#define AUTHMILTER_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "canon.h"

#define HASH_MAX_SIZE     64  /* bytes of the largest digest */
#define BODYHASH_MAX_WANT 128 /* distinct body hashes per message */

enum hash_alg {
	HASH_SHA256,
	HASH_SHA1 /* only to recognise it: RFC 8301 forbids its use */
};

/* Digest of n bytes; 0 or -1.  *mdlen gets the digest size. */
int hash_digest(enum hash_alg a, const void *p, size_t n, unsigned char *md,
                size_t *mdlen);

/* Digest size of a (32 for SHA-256). */
size_t hash_size(enum hash_alg a);

struct bodyhash;

/* A new set; NULL when out of memory. */
struct bodyhash *bodyhash_new(void);

/* Free (NULL is allowed). */
void bodyhash_free(struct bodyhash *bh);

/* Ask for a body hash; limit < 0 means the whole body.  Returns its id
 * (>= 0; equal requests get the same id), or -1 when out of memory or
 * past BODYHASH_MAX_WANT.  Only before the first bodyhash_update(). */
int bodyhash_want(struct bodyhash *bh, enum canon c, enum hash_alg a,
                  int64_t limit);

/* Feed raw body bytes; 0, or -1 on an EVP failure. */
int bodyhash_update(struct bodyhash *bh, const unsigned char *p, size_t n);

/* Whether every digest has reached its limit (no digest wants more). */
bool bodyhash_complete(const struct bodyhash *bh);

/* End of body: finish every digest; 0 or -1. */
int bodyhash_final(struct bodyhash *bh);

/* After bodyhash_final: digest id into md (HASH_MAX_SIZE bytes), its
 * length, and the total canonical body length of its canonicalization;
 * 0, or -1 for a bad id. */
int bodyhash_result(const struct bodyhash *bh, int id, unsigned char *md,
                    size_t *mdlen, uint64_t *canon_len);

/* How many canonicalization passes the set runs (for tests: signing with
 * many keys must still be one pass per canonicalization). */
unsigned bodyhash_passes(const struct bodyhash *bh);

#endif
