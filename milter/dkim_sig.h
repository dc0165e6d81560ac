/*
 * dkim_sig: the signature engine shared by DKIM and ARC.
 *
 * One parser for the three signature fields (RFC 6376 section 3.5,
 * RFC 8617 sections 4.1.2-4.1.3):
 *   DKIM-Signature             v=1, a, b, bh, c, d, h, i (AUID), l, q, s, t, x
 *   ARC-Message-Signature      the same tags without v=, with i= the ARC
 *                              instance (1..50)
 *   ARC-Seal                   a, b, cv, d, i (instance), s, t; no h/bh/c/l
 * and one header-hash routine: select the fields h= names (from the
 * bottom up, each instance once, names beyond the instances present
 * contribute nothing, which is what makes oversigning work: section
 * 5.4.2), canonicalize them, append the signature field itself with the
 * value of b= (and the FWS around it) removed and without its CRLF
 * (section 3.7), and digest.  ARC-Seal's own header set is built by ARC.
 *
 * Parsing is strict where the RFC says a signature is invalid (missing
 * required tag, v= not 1, h= without From, i= outside d=, x= before t=,
 * malformed numbers, bad base64, unknown canonicalization, q= other than
 * dns/txt, duplicate tags) and lenient where it says so (unknown tags are
 * ignored).  The algorithm a= is recognised even when it must not be
 * used (rsa-sha1, RFC 8301) so the verifier can say why.  Hard caps:
 * DKIM_SIG_MAX_H names in h=, DKIM_SIG_MAX_B bytes of signature.
 *
 * Ownership: dkim_sig_parse() fills a caller-owned struct and allocates
 * the h= names; dkim_sig_clear() frees them.  No globals; thread-safe.
 */
#ifndef AUTHMILTER_DKIM_SIG_H
#define AUTHMILTER_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "canon.h"
#include "hash.h"
#include "pkey.h"

#define DKIM_SIG_MAX_H    512  /* names in h= */
#define DKIM_SIG_MAX_B    1100 /* bytes of b= (an 8192-bit RSA signature) */
#define DKIM_SIG_NAME_MAX 256

enum dkim_sig_kind {
	DKIM_SIG_DKIM, /* DKIM-Signature */
	DKIM_SIG_AMS,  /* ARC-Message-Signature */
	DKIM_SIG_AS    /* ARC-Seal */
};

enum arc_cv { ARC_CV_NONE, ARC_CV_PASS, ARC_CV_FAIL };

struct dkim_sig {
	enum dkim_sig_kind kind;
	enum pkey_type keytype; /* from a= */
	enum hash_alg hash;     /* from a= */
	char algorithm[32];     /* a= as written (lower-cased), for header.a */
	enum canon hcanon, bcanon;
	char domain[DKIM_SIG_NAME_MAX];   /* d=, lower-cased */
	char selector[DKIM_SIG_NAME_MAX]; /* s= */
	char auid[DKIM_SIG_NAME_MAX * 2]; /* i= of DKIM (default "@" d=) */
	unsigned instance;                /* i= of ARC fields; 0 for DKIM */
	enum arc_cv cv;                   /* cv= of ARC-Seal */
	size_t nh;
	char **h; /* h= names, as written */
	unsigned char b[DKIM_SIG_MAX_B];
	size_t blen;
	char bprefix[24]; /* leading b= characters, for header.b */
	unsigned char bh[HASH_MAX_SIZE];
	size_t bhlen;
	int64_t l; /* -1 when absent */
	int64_t t; /* -1 when absent */
	int64_t x; /* -1 when absent */
};

/* Parse a signature field value (as hdr.c keeps it: leading whitespace,
 * CRLF folding).  0, or -1 with a short static reason in *why (the
 * struct must still be cleared). */
int dkim_sig_parse(enum dkim_sig_kind kind, const char *value, size_t len,
                   struct dkim_sig *out, const char **why);

/* Free what dkim_sig_parse allocated (the struct stays usable). */
void dkim_sig_clear(struct dkim_sig *s);

struct hdr;

/* The header hash of s over the fields of h (h= selection), the signature
 * field being field sig_index of h; 0, or -1 when out of memory or on an
 * EVP error.  md gets hash_size(s->hash) bytes. */
int dkim_sig_header_hash(const struct dkim_sig *s, const struct hdr *h,
                         size_t sig_index, unsigned char *md, size_t *mdlen);

/* The header hash over the fields names[0..n) select (bottom-up, each
 * instance once, field index skip never: the signature being verified;
 * (size_t)-1 for none) followed by sigraw (the signature field as
 * "Name:value" with b= empty), canonicalized with c; 0 or -1.  Shared by
 * verification, signing and ARC. */
int dkim_sig_hash_fields(enum canon c, enum hash_alg a, char *const *names,
                         size_t n, const struct hdr *h, size_t skip,
                         const char *sigraw, size_t siglen, unsigned char *md,
                         size_t *mdlen);

/* Append raw field text with the value of its b= tag removed (section
 * 3.7 step 2); 0, or -1 when there is no b= tag or out of memory. */
int dkim_sig_strip_b(const char *raw, size_t len, struct buf *out);

/* Parse an a= value ("rsa-sha256", "ed25519-sha256", "rsa-sha1"); 0 or -1. */
int dkim_sig_algorithm(const char *s, size_t len, enum pkey_type *kt,
                       enum hash_alg *ha);

#endif
