/*
 * dkim_verify: DKIM verification of one inbound message (RFC 6376
 * section 6, RFC 8301, RFC 8463).
 *
 * Fed as the message arrives: dkim_verify_field() for each DKIM-Signature
 * field the moment it is received (the field is parsed, its key lookup
 * starts and its body hash is registered with the message's shared
 * bodyhash set); the body goes to that set once, whatever the number of
 * signatures; dkim_verify_finish() at end of message waits for the keys
 * (bounded by the DNS deadline) and adds one "dkim" result per signature:
 *
 *   pass       signature and body hash verify
 *   fail       the signature or the body hash does not verify, or the
 *              body is shorter than l=
 *   policy     it verifies, but over only part of the body (l=) while
 *              the body has more, and the policy says such a signature
 *              does not count (verify.dkim.body_length = no_pass)
 *   neutral    not evaluated: beyond verify.dkim.max_signatures, or the
 *              header section was too large to keep (past 60 signatures
 *              the rest are one "not evaluated: N more" record)
 *   permerror  a malformed signature, no key, a bad or revoked key,
 *              rsa-sha1 or an RSA key under the floor (RFC 8301), the
 *              key's h=/k=/t=s refusing it, an expired signature (x=) or
 *              one from the future (t=, beyond a clock-skew allowance)
 *   temperror  the key lookup failed temporarily
 *
 * Each result carries header.d, header.i, header.s, header.a and
 * header.b (the shortest prefix of b=, at least 8 characters, that tells
 * this message's signatures apart: RFC 6008) and reason= when not pass.
 * A failing result names POLICY_K_DKIM_FAIL / _PERMERROR / _TEMPERROR.
 *
 * Ownership: dkim_verify_new() returns an owned object; the keycache,
 * dns, bodyhash and hdr given to it are borrowed and must outlive it.
 * Thread rules: one message, one thread at a time.
 */
#ifndef AUTHMILTER_DKIM_VERIFY_H
#define AUTHMILTER_DKIM_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "policy.h"

#define DKIM_CLOCK_SKEW 300 /* seconds of t=/x= tolerance */

struct dkim_verify;
struct keycache;
struct dns;
struct bodyhash;
struct hdr;
struct resultset;

struct dkim_verify_settings {
	unsigned min_rsa_bits;
	unsigned max_signatures;
	enum body_length body_length;
};

/* A verifier for one message; NULL when out of memory. */
struct dkim_verify *dkim_verify_new(const struct dkim_verify_settings *s,
                                    struct keycache *kc, struct dns *d,
                                    struct bodyhash *bh);

/* Field index of hdr h is a DKIM-Signature: parse it and start its key
 * lookup; 0, or -1 when out of memory. */
int dkim_verify_field(struct dkim_verify *dv, const struct hdr *h,
                      size_t index);

/* After bodyhash_final(): wait for the keys and add one result per
 * signature to rs (nothing when there were none); now is the wall-clock
 * time for t=/x=; 0, or -1 when out of memory. */
int dkim_verify_finish(struct dkim_verify *dv, const struct hdr *h, time_t now,
                       struct resultset *rs);

/* Number of signatures seen. */
size_t dkim_verify_count(const struct dkim_verify *dv);

/* Free (NULL is allowed). */
void dkim_verify_free(struct dkim_verify *dv);

#endif
