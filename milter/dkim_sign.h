/*
 * dkim_sign: DKIM signatures for one outbound message (RFC 6376 section
 * 5, RFC 8463 for Ed25519), made with the engine DKIM verification and
 * ARC use (dkim_sig.c, canon.c, hash.c, pkey.c).
 *
 * dkim_sign_prepare() runs at end of headers: it finds the author domain
 * (hdr_from: exactly one), picks every configured key whose domain is the
 * author domain or a parent of it, and registers the body hashes those
 * keys need with the message's shared bodyhash set (one pass over the
 * body whatever the number of keys).  dkim_sign_finish() at end of
 * message makes one DKIM-Signature field value per key: c= and the header
 * list from the policy, each oversigned name listed once more than it
 * occurs, t= (and x= when configured), never l=.
 *
 * Ownership: dkim_sign_new() returns an owned object; the policy, keys,
 * bodyhash and hdr it is given are borrowed.  Thread rules: one message.
 */
#ifndef AUTHMILTER_DKIM_SIGN_H
#define AUTHMILTER_DKIM_SIGN_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

struct policy;
struct pkey;
struct bodyhash;
struct hdr;
struct dkim_sign;

/* A signer for one message, with the loaded keys of the policy (keys[i]
 * belongs to policy->sign.keys[i]); NULL when out of memory. */
struct dkim_sign *dkim_sign_new(const struct policy *p,
                                struct pkey *const *keys, struct bodyhash *bh);

/* At end of headers: choose the keys.  Returns how many were chosen (0 or
 * more), or -1 when out of memory; with 0, *why says why none applies. */
int dkim_sign_prepare(struct dkim_sign *s, const struct hdr *h,
                      const char **why);

/* After bodyhash_final(): the field values (leading space, "\n\t"
 * folding, as smfi_insheader takes them with SMFIP_HDR_LEADSPC), one per
 * chosen key, in key order.  0, or -1 on failure (nothing is output). */
int dkim_sign_finish(struct dkim_sign *s, const struct hdr *h, time_t now);

/* Results of dkim_sign_finish: count, and value i (borrowed). */
size_t dkim_sign_count(const struct dkim_sign *s);
const char *dkim_sign_value(const struct dkim_sign *s, size_t i);

/* The d= and s= of signature i, for the log. */
const char *dkim_sign_domain(const struct dkim_sign *s, size_t i);
const char *dkim_sign_selector(const struct dkim_sign *s, size_t i);

/* Free (NULL is allowed). */
void dkim_sign_free(struct dkim_sign *s);

#endif
