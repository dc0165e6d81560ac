/*
 * arc_seal: add this hop's ARC set to a message (RFC 8617 section 5.1):
 * the three field values ARC-Authentication-Results (AAR),
 * ARC-Message-Signature (AMS) and ARC-Seal (AS), made with the signature
 * engine DKIM uses (dkim_sig.c, canon.c, hash.c, pkey.c).
 *
 *   AAR  " i=N; " followed by this hop's Authentication-Results value
 *        (authserv-id and results, as authres_format() wrote it), the
 *        combined assessment of section 4.1.1
 *   AMS  a DKIM signature with the instance in i= (section 4.1.2):
 *        a=rsa-sha256, c=relaxed/relaxed, t=, the body hash of the whole
 *        body (never l=), and h= from the configured list: each name as
 *        often as the field occurs (From at least once, RFC 6376 5.4;
 *        at most 8 copies of one name and DKIM_SIG_MAX_H names in all,
 *        so no message can make an AMS that cannot be written or
 *        verified), once more for oversigned names, and every
 *        DKIM-Signature present (section 4.1.2 SHOULD);
 *        Authentication-Results and the ARC fields are never listed
 *        (section 4.1.2 MUST NOT)
 *   AS   i=, a=rsa-sha256, cv=, d=, s=, t= and b= (section 4.1.3; no h=):
 *        cv=none at i=1, else pass or fail as the chain was found
 *        (section 5.1.1 step 4C); b= signs, relaxed, the AAR, AMS and AS
 *        of sets 1..N and then the new set in that order (section
 *        5.1.1); on a failed chain only the new set (section 5.1.2)
 * The instance is one more than the highest found (section 5.1 step 3).
 * Nothing is made when the chain forbids it (struct arc_chain.can_seal:
 * the latest AS said cv=fail, section 5.1 step 2; or there is no
 * instance left under 50).
 *
 * Values carry their leading space and fold with "\n\t", as
 * smfi_insheader() takes them under SMFIP_HDR_LEADSPC (the MTA writes
 * CRLF); hashing uses the CRLF form, which relaxed canonicalization makes
 * equal.  Layout: i= first, as the section 4.1.2/4.1.3 ABNF writes it,
 * and b= folded in lines of 72 characters.  suite_layout writes what the
 * ARC test suite's expected values were generated from instead: tags in
 * alphabetical order and the AMS b= on one line (the AS signs the AMS as
 * it is written, so both change the signed bytes); it exists for that
 * suite, and its output is as valid.
 * Inserting: AAR, then AMS, then AS, each at the top, so the AS ends up
 * first; every other change to the message (DKIM signing) comes before
 * sealing (section 5.1 step 1).
 *
 * Ownership: the hdr, set, chain, bodyhash and key are borrowed; the
 * output buffers are the caller's (arc_seal_out_free).  Failures: -1 with
 * a message in eb (out of memory, a key that is not RSA, an EVP error);
 * nothing half-made is left in out, and the message can go on unsealed
 * (sealing is optional, section 5.1.4; a failure here must not bounce
 * mail).  Thread rules: one message, one
 * thread; a key may be shared.
 */
#ifndef AUTHMILTER_ARC_SEAL_H
#define AUTHMILTER_ARC_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arc_verify.h"
#include "buf.h"
#include "errbuf.h"

struct hdr;
struct arc_set;
struct bodyhash;
struct pkey;

struct arc_seal_params {
	struct pkey *key;     /* RSA private key (borrowed) */
	const char *domain;   /* d= */
	const char *selector; /* s= */
	char *const *headers; /* fields the AMS signs when present */
	size_t nheaders;
	char *const *oversign; /* ... and signs once more than present */
	size_t noversign;
	time_t now;        /* t= */
	bool suite_layout; /* the ARC test suite's layout (above) */
};

/* The three field values, NUL-terminated in data. */
struct arc_seal_out {
	struct buf aar, ams, as;
};

/* Ask the message's body hash set for the AMS body hash (relaxed,
 * SHA-256, whole body); its id, or -1.  Before the body starts. */
int arc_seal_want(struct bodyhash *bh);

/* After bodyhash_final() and arc_verify_finish(): make the set.  authres
 * is this hop's A-R value (leading space and "\n\t" or "\r\n\t" folds
 * allowed).  1 when out holds the three values, 0 when the chain forbids
 * sealing (out left empty), -1 on failure with eb set.  out is
 * initialised here; free it with arc_seal_out_free() in every case. */
int arc_seal_make(const struct hdr *h, const struct arc_set *set,
                  const struct arc_chain *chain, const struct bodyhash *bh,
                  int bh_id, const char *authres,
                  const struct arc_seal_params *p, struct arc_seal_out *out,
                  struct errbuf *eb);

/* Release the buffers (safe on a zeroed or freed struct). */
void arc_seal_out_free(struct arc_seal_out *out);

#endif
