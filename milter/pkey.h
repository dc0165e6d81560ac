/*
 * pkey: DKIM public and private keys and the signature operations on
 * them (OpenSSL 3 EVP only; no deprecated RSA_* calls).
 *
 * Public keys come from DKIM key records (RFC 6376 section 3.6.1):
 *   rsa      p= is a DER SubjectPublicKeyInfo; a bare DER RSAPublicKey
 *            (PKCS#1), which some publish, is accepted too
 *   ed25519  p= is the raw 32-byte key (RFC 8463 section 4)
 * RSA keys are refused before parsing when the DER is larger than an
 * 8192-bit key can be (a 64 KiB record cannot cost an expensive parse),
 * and after parsing when over PKEY_RSA_MAX_BITS; the policy's lower floor
 * (1024, RFC 8301 section 3.2) is checked by the verifier, which knows it.
 *
 * Private keys are read from files: PEM RSA (PKCS#1 "RSA PRIVATE KEY" or
 * PKCS#8 "PRIVATE KEY"), PEM Ed25519 (PKCS#8), or the raw base64 32-byte
 * Ed25519 seed that dkimpy's dknewkey writes.  Buffers that held private
 * material are wiped (OPENSSL_cleanse); OpenSSL clears the key itself.
 *
 * New keys (for the key tool): pkey_generate() makes an RSA key (public
 * exponent 65537) or an Ed25519 key from the OpenSSL default random
 * source; pkey_private_text() writes a private key in a form
 * pkey_load_private() reads back: PKCS#8 PEM for either type, or the raw
 * base64 Ed25519 seed for dkimpy, which reads no Ed25519 PEM.
 *
 * Signatures are over a digest: for rsa-sha256 RSASSA-PKCS1-v1_5 with
 * SHA-256 (the digest is the SHA-256 of the canonicalized header data),
 * for ed25519-sha256 PureEdDSA over that same 32-byte digest (RFC 8463
 * section 3).
 *
 * Ownership: keys are immutable and refcounted (pkey_ref/pkey_unref), so
 * the key cache and configuration snapshots can share them across
 * threads.  Thread rules: any thread may use a key it holds a reference
 * to.
 */
#ifndef AUTHMILTER_PKEY_H
#define AUTHMILTER_PKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errbuf.h"

#define PKEY_RSA_MAX_BITS 8192
/* RFC 8301 section 3.2: verifiers must not accept RSA keys under 1024
 * bits, so no smaller key is ever made. */
#define PKEY_RSA_GEN_MIN_BITS 1024

enum pkey_type { PKEY_RSA, PKEY_ED25519 };

/* Private key file forms written by pkey_private_text(). */
enum pkey_format {
	PKEY_FORMAT_PEM, /* PKCS#8 "PRIVATE KEY" PEM (RFC 5958, RFC 7468) */
	PKEY_FORMAT_SEED /* Ed25519 only: base64 of the 32-byte seed, as
	                    dkimpy's dknewkey writes it, and a newline */
};

struct pkey;

/* A public key from decoded p= bytes; NULL with a short static reason in *why.
 */
struct pkey *pkey_public(enum pkey_type t, const unsigned char *der, size_t len,
                         const char **why);

/* A private key from a file; NULL with a message in eb. */
struct pkey *pkey_load_private(const char *path, struct errbuf *eb);

/* Take / drop a reference (unref of NULL is allowed). */
struct pkey *pkey_ref(struct pkey *k);
void pkey_unref(struct pkey *k);

enum pkey_type pkey_type(const struct pkey *k);
unsigned pkey_bits(const struct pkey *k);
bool pkey_is_private(const struct pkey *k);

/* The reason pkey_public() gives when it ran out of memory: not a
 * property of the key (callers must not cache it). */
#define PKEY_OOM "out of memory"

/* Verify sig over a SHA-256 digest: 1 valid, 0 invalid, -1 error (out of
 * memory: the signature was not checked). */
int pkey_verify(const struct pkey *k, const unsigned char *digest, size_t dlen,
                const unsigned char *sig, size_t siglen);

/* Sign a SHA-256 digest with a private key; appends the raw signature to
 * out; 0 or -1. */
int pkey_sign(const struct pkey *k, const unsigned char *digest, size_t dlen,
              struct buf *out);

/* The public half in DKIM p= form (DER SPKI for RSA, 32 raw bytes for
 * Ed25519), appended to out; 0 or -1. */
int pkey_public_dkim(const struct pkey *k, struct buf *out);

/* A new private key: RSA of bits bits (PKEY_RSA_GEN_MIN_BITS to
 * PKEY_RSA_MAX_BITS), or Ed25519 (bits 0 or 256); owned by the caller
 * (pkey_unref).  NULL with a message in eb. */
struct pkey *pkey_generate(enum pkey_type t, unsigned bits, struct errbuf *eb);

/* Append private key k in form f to out in one append, so that when out
 * holds no other secret, growing it leaves no copy of the key behind; the
 * caller wipes out->data (out->cap bytes) before freeing it.  0, or -1
 * with a message in eb (a public key, the seed form of an RSA key, out of
 * memory or over out's cap). */
int pkey_private_text(const struct pkey *k, enum pkey_format f, struct buf *out,
                      struct errbuf *eb);

/* "rsa" / "ed25519" (the k= names). */
const char *pkey_type_name(enum pkey_type t);

#endif
