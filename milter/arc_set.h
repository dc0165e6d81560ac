/*
 * arc_set: the ARC sets of one message (RFC 8617 sections 4.1, 4.2, 5.1.1
 * and 5.2 steps 1-3): collect the ARC-Authentication-Results (AAR),
 * ARC-Message-Signature (AMS) and ARC-Seal (AS) fields, check the shape of
 * the chain, and compute the ARC-Seal header hash that verification and
 * sealing share.
 *
 * Collecting: arc_set_add() is given each ARC field of the header section
 * (struct hdr, so every method reads the same parse) as it arrives.  The
 * instance is read from the AAR's leading "i=N;" (section 4.1.1; CFWS
 * allowed around it) or from the i= tag of an AMS/AS tag-list; the AMS and
 * AS are parsed at once with the shared signature engine (dkim_sig.c), so
 * key lookups can start early.  A field whose instance cannot be read, is
 * outside 1..50 (section 4.2.1), repeats an instance, or is larger than
 * ARC_FIELD_MAX, is remembered as a defect; so is a chain of more than
 * ARC_FIELDS_MAX ARC fields (nothing past that is even parsed).  The AMS
 * and AS i= may stand anywhere in the tag-list: the section 4.1.2/4.1.3
 * ABNF puts it first, but published chains (and the ARC test suite) do
 * not always, and the instance is unambiguous either way.
 *
 * Checking (arc_set_check), in the order of section 5.2:
 *   EMPTY    no ARC field at all: chain status "none" (step 1)
 *   INVALID  more than 50 sets or an instance out of range (step 1); the
 *            AS of the highest instance says cv=fail (step 2); not exactly
 *            one AAR, AMS and AS per instance, instances not 1..N without
 *            gaps, cv= not "none" at i=1 and "pass" above (step 3); any
 *            defect noted while collecting
 *   VALID    the structure holds; signatures are arc_verify's business
 * With the highest instance N and whether its AS said cv=fail, which is
 * what sealing needs (section 5.1 steps 2-3).
 *
 * Hashing: arc_set_seal_hash() feeds, relaxed-canonicalized (section
 * 4.1.3), the AAR, AMS and AS of instances 1..nprior in increasing order
 * (section 5.1.1) followed by three given fields, the last (an AS with b=
 * empty) without its CRLF (RFC 6376 section 3.7).  That is the input of
 * both the verification of AS i (nprior = i - 1, the set's own fields) and
 * the signature of a new AS (nprior = N, or 0 on a failed chain, section
 * 5.1.2).
 *
 * Ownership: arc_set_new() returns an owned set; the struct hdr passed to
 * every call is borrowed, must be the same one each time and outlive the
 * set.  Signatures and texts returned are borrowed from the set.
 * Failures: only out of memory (or an EVP error while hashing) is an
 * error; everything a message can do wrong is a verdict.
 * Thread rules: one message, one thread at a time.
 */
#ifndef AUTHMILTER_ARC_SET_H
#define AUTHMILTER_ARC_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "dkim_sig.h"

#define ARC_MAX_INSTANCE 50           /* RFC 8617 section 4.2.1 */
#define ARC_FIELDS_MAX   (3 * 50 + 3) /* ARC fields looked at, at most */
/* Bytes of one ARC field ("Name:value"): far above real AAR/AMS/AS (a few
 * kB: an 8192-bit b= is 1366 characters, long h= lists a few hundred),
 * and it bounds the work a hostile field costs. */
#define ARC_FIELD_MAX (32 * 1024)
#define ARC_WHY_MAX   160

enum arc_field { ARC_AAR, ARC_AMS, ARC_AS, ARC_NFIELDS };

enum arc_set_state { ARC_SET_EMPTY, ARC_SET_VALID, ARC_SET_INVALID };

/* The outcome of arc_set_check(). */
struct arc_set_check {
	enum arc_set_state state;
	unsigned n;       /* highest instance seen (may be > 50), 0 if none */
	bool latest_fail; /* an AS of instance n says cv=fail */
	char why[ARC_WHY_MAX]; /* INVALID: what is wrong; else "" */
};

struct hdr;
struct hdr_field;
struct authres_parsed;
struct arc_set;

/* Which ARC field f is: ARC_AAR, ARC_AMS, ARC_AS, or -1 for none. */
int arc_field_kind(const struct hdr_field *f);

/* Field name of kind k ("ARC-Seal", ...). */
const char *arc_field_name(enum arc_field k);

/* A new, empty set; NULL when out of memory. */
struct arc_set *arc_set_new(void);

/* Free (NULL is allowed). */
void arc_set_free(struct arc_set *s);

/* Field index of h, if it is an ARC field, joins the set.  Returns its
 * instance (1..50) when it was recorded there, 0 when it was not (not an
 * ARC field, or a defect noted for arc_set_check), -1 when out of
 * memory. */
int arc_set_add(struct arc_set *s, const struct hdr *h, size_t index);

/* Check the chain's structure (section 5.2 steps 1-3). */
void arc_set_check(const struct arc_set *s, struct arc_set_check *out);

/* Number of ARC fields given to arc_set_add(). */
unsigned arc_set_fields(const struct arc_set *s);

/* The parsed AMS or AS of instance i (borrowed), or NULL when there is
 * none or it did not parse; *why (may be NULL) then gets the parse error,
 * or NULL when the field is absent. */
const struct dkim_sig *arc_set_sig(const struct arc_set *s, unsigned i,
                                   enum arc_field k, const char **why);

/* Field index in the hdr of field k of instance i, or (size_t)-1. */
size_t arc_set_index(const struct arc_set *s, unsigned i, enum arc_field k);

/* Parse the authres-payload of the AAR of instance i into out (caller
 * storage, released with authres_parsed_free() whatever the outcome);
 * 0, or -1 when there is no such AAR or it is not a valid A-R payload. */
int arc_set_aar(const struct arc_set *s, const struct hdr *h, unsigned i,
                struct authres_parsed *out);

/* The ARC-Seal hash input (see above): sets 1..nprior of the set from h,
 * then last[0..2] ("Name:value", CRLF-folded, lens in lastlen), hashed
 * with SHA-256 into md; 0, or -1 (out of memory, EVP error, or a set
 * field missing: call only on a VALID set). */
int arc_set_seal_hash(const struct arc_set *s, const struct hdr *h,
                      unsigned nprior, const char *const last[3],
                      const size_t lastlen[3], unsigned char *md,
                      size_t *mdlen);

/* The hash that AS i of a VALID set signs: sets 1..i-1, then AAR i, AMS
 * i and AS i with its b= value removed; 0 or -1. */
int arc_set_as_hash(const struct arc_set *s, const struct hdr *h, unsigned i,
                    unsigned char *md, size_t *mdlen);

#endif
