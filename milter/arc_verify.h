/*
 * arc_verify: ARC chain validation of one inbound message (RFC 8617
 * section 5.2, results as section 6 and RFC 8601 record them).
 *
 * Fed as the message arrives: arc_verify_field() for every header field
 * the moment it is kept (non-ARC fields are ignored, so the caller need
 * not filter): ARC fields join the message's arc_set, the key lookups of
 * every AMS and AS start at once through the shared key cache, and the
 * body hash each AMS needs is registered with the message's shared
 * bodyhash set (equal requests share one digest, so a usual chain costs
 * nothing extra).  At end of message, after bodyhash_final(),
 * arc_verify_finish() runs section 5.2:
 *   1-3  structure (arc_set_check): none / invalid
 *   4    the AMS of the highest instance: signature, body hash, key
 *   6    every AS, highest first, over the sets 1..i (section 5.1.1)
 *   5    oldest-pass, only once the chain passed (the order of 5 and 6
 *        does not change any outcome; failing chains skip the work)
 * and adds one result:
 *   arc=none                                   no ARC field
 *   arc=pass header.oldest-pass=N smtp.remote-ip=IP
 *   arc=fail reason="..." smtp.remote-ip=IP    with POLICY_K_ARC_FAIL
 * Section 5.2.1: every failure is permanent, so a key lookup that failed
 * temporarily makes the chain fail too (the reason says so).  A header
 * section too large to keep (hdr_overflowed) fails any chain and forbids
 * sealing: part of it may be missing.  Key rules are DKIM's (RFC 6376
 * 3.6.1) with RFC 8301: rsa-sha1 and RSA keys under ARC_MIN_RSA_BITS
 * never verify.  t= in the future and an AMS x= in the past (beyond
 * DKIM_CLOCK_SKEW) make a signature fail, as in dkim_verify; so does an
 * AMS l= that leaves body content unsigned (content could be appended
 * under a passing chain), and an AMS whose h= lists ARC-Seal (section
 * 4.1.2; AAR and AMS names in h=, which earlier drafts had sealers sign,
 * are tolerated).
 *
 * After finish, the chain is described by a struct arc_chain (status,
 * highest instance, oldest-pass, whether this hop may seal and how), and,
 * only when the chain passed (section 5.2: a failed chain is treated as
 * no chain), each instance's sealer (AS d=) and parsed AAR are available
 * for a DMARC local-policy override (section 7.2.1): "the sealer of the
 * instance whose AAR recorded the pass is trusted".
 *
 * Ownership: arc_verify_new() returns an owned object; the keycache, dns,
 * bodyhash and hdr given to it are borrowed and must outlive it.  Strings
 * returned are borrowed from it.  Thread rules: one message, one thread at
 * a time.
 */
#ifndef AUTHMILTER_ARC_VERIFY_H
#define AUTHMILTER_ARC_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arc_set.h"

#define ARC_MIN_RSA_BITS 1024 /* RFC 8301 section 3.2 */

/* What this hop learnt about the chain, and what sealing needs. */
struct arc_chain {
	enum arc_cv cv;  /* ARC_CV_NONE / ARC_CV_PASS / ARC_CV_FAIL */
	unsigned n;      /* highest instance found, 0 with none */
	int oldest_pass; /* header.oldest-pass with cv pass, else -1 */
	bool can_seal;   /* section 5.1 step 2: not when the latest AS said
	                    cv=fail, the header section overflowed, the
	                    next instance would pass 50, or the chain failed
	                    only because a key lookup failed temporarily
	                    (no cv=fail seal for our own DNS trouble) */
	unsigned seal_instance;   /* n + 1: the instance we would add */
	char reason[ARC_WHY_MAX]; /* why cv is fail, else "" */
};

struct arc_verify;
struct keycache;
struct dns;
struct bodyhash;
struct hdr;
struct resultset;
struct authres_parsed;

/* A verifier for one message; NULL when out of memory. */
struct arc_verify *arc_verify_new(struct keycache *kc, struct dns *d,
                                  struct bodyhash *bh);

/* Field index of h was just kept: if it is an ARC field, record it and
 * start its key lookup and body hash; 0, or -1 when out of memory. */
int arc_verify_field(struct arc_verify *av, const struct hdr *h, size_t index);

/* After bodyhash_final(): validate the chain, add one "arc" result to rs
 * (smtp.remote-ip when client_ip is not NULL or ""), fill *chain; now is
 * the wall-clock time for t=/x=.  0, or -1 when out of memory or on an
 * internal (EVP) failure: then nothing was added. */
int arc_verify_finish(struct arc_verify *av, const struct hdr *h,
                      const char *client_ip, time_t now, struct resultset *rs,
                      struct arc_chain *chain);

/* The chain's ARC sets, for sealing (borrowed). */
const struct arc_set *arc_verify_set(const struct arc_verify *av);

/* After a finish that passed: the sealer (AS d=, lower-cased) of instance
 * i (1..n), else NULL. */
const char *arc_verify_sealer(const struct arc_verify *av, unsigned i);

/* After a finish that passed: the AAR payload of instance i parsed into
 * out (free with authres_parsed_free() whatever the outcome); 0, or -1
 * when the chain did not pass, there is no such instance or the payload
 * is not a valid A-R. */
int arc_verify_aar(const struct arc_verify *av, const struct hdr *h, unsigned i,
                   struct authres_parsed *out);

/* Free (NULL is allowed). */
void arc_verify_free(struct arc_verify *av);

#endif
