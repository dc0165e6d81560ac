/*
 * pkey: DKIM keys on OpenSSL 3 EVP (see pkey.h).  Public keys from key
 * record bytes, private keys from files, and RSASSA-PKCS1-v1_5 / PureEdDSA
 * signatures over a SHA-256 digest; new keys and their file forms for the
 * key tool.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "b64.h"
#include "pkey.h"

/*
 * The largest DER SubjectPublicKeyInfo an RSA key of PKEY_RSA_MAX_BITS can
 * have (RFC 5280 section 4.1, RFC 8017 appendix A.1.1):
 *   SEQUENCE header                                   4
 *   AlgorithmIdentifier { rsaEncryption, NULL }      15
 *   BIT STRING header + unused-bits octet             5
 *   RSAPublicKey SEQUENCE header                      4
 *   INTEGER n: header 4, a leading zero, 8192/8     1029
 *   INTEGER e: OpenSSL refuses e over 64 bits for
 *              moduli over 3072 bits: 2 + 1 + 8      11
 * = 1068 bytes (an 8192-bit key with e = 65537 takes 1062).  Anything
 * longer is refused before OpenSSL parses it.
 */
#define RSA_DER_MAX (4 + 15 + 5 + 4 + (4 + 1 + PKEY_RSA_MAX_BITS / 8) + 11)

#define ED25519_LEN 32
#define DIGEST_LEN  32 /* SHA-256 */
#define SIG_MAX     (PKEY_RSA_MAX_BITS / 8)
#define KEYFILE_MAX 65536 /* a PEM RSA 8192-bit key is about 6.3 KiB */

struct pkey {
	EVP_PKEY *pk;
	enum pkey_type type;
	unsigned bits;
	bool priv;
	atomic_uint refs;
};

/* Set *why (why may be NULL) and return NULL. */
static struct pkey *
fail(const char **why, const char *msg)
{
	if (why != NULL)
		*why = msg;
	ERR_clear_error();
	return NULL;
}

/* Wrap pk (stolen: freed on failure). */
static struct pkey *
wrap(EVP_PKEY *pk, enum pkey_type t, bool priv)
{
	struct pkey *k = malloc(sizeof(*k));
	int bits = EVP_PKEY_get_bits(pk);

	if (k == NULL) {
		EVP_PKEY_free(pk);
		return NULL;
	}
	k->pk = pk;
	k->type = t;
	k->bits = bits > 0 ? (unsigned)bits : 0;
	k->priv = priv;
	atomic_init(&k->refs, 1);
	return k;
}

/* DER that is either a SubjectPublicKeyInfo or a PKCS#1 RSAPublicKey,
 * with nothing after it; NULL if neither. */
static EVP_PKEY *
decode_rsa_der(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)len);

	if (pk == NULL) {
		p = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	}
	if (pk != NULL && p != der + len) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

/* Whether OpenSSL's error queue says an allocation failed (OpenSSL 3.0
 * reports a failed allocation inside a verification as "invalid"). */
static bool
ssl_oom(void)
{
	unsigned long e;

	while ((e = ERR_get_error()) != 0)
		if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ||
		    (ERR_SYSTEM_ERROR(e) && ERR_GET_REASON(e) == ENOMEM))
			return true;
	return false;
}

/* An RSA public key from p= bytes. */
static struct pkey *
rsa_public(const unsigned char *der, size_t len, const char **why)
{
	EVP_PKEY *pk;
	struct pkey *k;

	if (len > RSA_DER_MAX)
		return fail(why, "key too large");
	if (len == 0 || (pk = decode_rsa_der(der, len)) == NULL)
		return fail(why, ssl_oom() ? PKEY_OOM : "bad RSA key");
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
		EVP_PKEY_free(pk);
		return fail(why, "not an RSA key");
	}
	if (EVP_PKEY_get_bits(pk) > PKEY_RSA_MAX_BITS) {
		EVP_PKEY_free(pk);
		return fail(why, "key too large");
	}
	if ((k = wrap(pk, PKEY_RSA, false)) == NULL)
		return fail(why, PKEY_OOM);
	return k;
}

struct pkey *
pkey_public(enum pkey_type t, const unsigned char *der, size_t len,
            const char **why)
{
	EVP_PKEY *pk;
	struct pkey *k;

	if (t == PKEY_RSA)
		return rsa_public(der, len, why);
	/* RFC 8463 section 4: the raw 32-byte public key, no ASN.1. */
	if (len != ED25519_LEN)
		return fail(why, "bad ed25519 key");
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, der, len);
	if (pk == NULL)
		return fail(why, ssl_oom() ? PKEY_OOM : "bad ed25519 key");
	if ((k = wrap(pk, PKEY_ED25519, false)) == NULL)
		return fail(why, PKEY_OOM);
	return k;
}

/* Read a whole key file (at most KEYFILE_MAX bytes) into a fresh buffer
 * of KEYFILE_MAX + 1 bytes (the caller cleanses and frees it); the
 * length, or -1 with a message in eb. */
static ssize_t
read_keyfile(const char *path, unsigned char **out, struct errbuf *eb)
{
	unsigned char *data;
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd == -1) {
		errbuf_set(eb, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((data = malloc(KEYFILE_MAX + 1)) == NULL) {
		close(fd);
		errbuf_set(eb, "%s: out of memory", path);
		return -1;
	}
	do {
		n = read(fd, data + len, KEYFILE_MAX + 1 - len);
		if (n > 0)
			len += (size_t)n;
	} while ((n > 0 && len <= KEYFILE_MAX) || (n == -1 && errno == EINTR));
	if (n == -1)
		errbuf_set(eb, "%s: %s", path, strerror(errno));
	else if (len > KEYFILE_MAX)
		errbuf_set(eb, "%s: too large for a key file", path);
	close(fd);
	if (n == -1 || len > KEYFILE_MAX) {
		OPENSSL_cleanse(data, KEYFILE_MAX + 1);
		free(data);
		return -1;
	}
	*out = data;
	return (ssize_t)len;
}

/* PEM passphrase callback: keys must not be encrypted (the daemon starts
 * unattended); note that one was asked for and refuse. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/* Whether the text holds s. */
static bool
contains(const unsigned char *data, size_t len, const char *s)
{
	return memmem(data, len, s, strlen(s)) != NULL;
}

/* A PEM private key (PKCS#1 RSA, PKCS#8 any type); NULL with a message. */
static EVP_PKEY *
parse_pem(const unsigned char *data, size_t len, const char **msg)
{
	bool asked = false;
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	EVP_PKEY *pk;

	if (bio == NULL) {
		*msg = "out of memory";
		return NULL;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &asked);
	BIO_free(bio);
	if (pk != NULL)
		return pk;
	if (asked)
		*msg = "encrypted private keys are not supported";
	else if (contains(data, len, "PRIVATE KEY-----"))
		*msg = "damaged PEM private key";
	else
		*msg = "not a PEM private key or an Ed25519 seed";
	return NULL;
}

/* The base64 32-byte Ed25519 seed dknewkey writes; NULL with a message. */
static EVP_PKEY *
parse_seed(const unsigned char *data, size_t len, const char **msg)
{
	unsigned char seed[48];
	ssize_t n = b64_decode((const char *)data, len, seed, sizeof(seed));
	EVP_PKEY *pk = NULL;

	if (n == ED25519_LEN) {
		pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
		                                  ED25519_LEN);
		if (pk == NULL)
			*msg = "bad Ed25519 seed";
	} else {
		*msg = "not a PEM private key or an Ed25519 seed";
	}
	OPENSSL_cleanse(seed, sizeof(seed));
	return pk;
}

/* Keep pk (stolen) only if it is a key type DKIM signs with; NULL with a
 * message. */
static struct pkey *
check_private(EVP_PKEY *pk, const char *path, struct errbuf *eb)
{
	int id = EVP_PKEY_get_base_id(pk);
	int bits = EVP_PKEY_get_bits(pk);
	struct pkey *k;

	if (id == EVP_PKEY_EC)
		errbuf_set(eb,
		           "%s: EC keys are not supported: use RSA or "
		           "Ed25519",
		           path);
	else if (id != EVP_PKEY_RSA && id != EVP_PKEY_ED25519)
		errbuf_set(eb,
		           "%s: %s keys are not supported: use RSA or "
		           "Ed25519",
		           path, EVP_PKEY_get0_type_name(pk));
	else if (id == EVP_PKEY_RSA && bits > PKEY_RSA_MAX_BITS)
		errbuf_set(eb,
		           "%s: RSA key of %d bits: verifiers refuse more "
		           "than %d",
		           path, bits, PKEY_RSA_MAX_BITS);
	else {
		k = wrap(pk, id == EVP_PKEY_RSA ? PKEY_RSA : PKEY_ED25519,
		         true);
		if (k == NULL)
			errbuf_set(eb, "%s: out of memory", path);
		return k;
	}
	EVP_PKEY_free(pk);
	return NULL;
}

struct pkey *
pkey_load_private(const char *path, struct errbuf *eb)
{
	unsigned char *data = NULL;
	ssize_t len = read_keyfile(path, &data, eb);
	const char *msg = NULL;
	EVP_PKEY *pk;

	if (len < 0)
		return NULL;
	if (contains(data, (size_t)len, "-----BEGIN"))
		pk = parse_pem(data, (size_t)len, &msg);
	else
		pk = parse_seed(data, (size_t)len, &msg);
	OPENSSL_cleanse(data, KEYFILE_MAX + 1);
	free(data);
	ERR_clear_error();
	if (pk == NULL) {
		errbuf_set(eb, "%s: %s", path, msg);
		return NULL;
	}
	return check_private(pk, path, eb);
}

struct pkey *
pkey_ref(struct pkey *k)
{
	if (k != NULL)
		atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
	return k;
}

void
pkey_unref(struct pkey *k)
{
	if (k == NULL ||
	    atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) != 1)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

enum pkey_type
pkey_type(const struct pkey *k)
{
	return k->type;
}

unsigned
pkey_bits(const struct pkey *k)
{
	return k->bits;
}

bool
pkey_is_private(const struct pkey *k)
{
	return k->priv;
}

/* A context for an RSASSA-PKCS1-v1_5 SHA-256 operation on a digest. */
static EVP_PKEY_CTX *
rsa_ctx(EVP_PKEY *pk, bool sign)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);

	if (ctx == NULL)
		return NULL;
	if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int
rsa_verify(const struct pkey *k, const unsigned char *digest, size_t dlen,
           const unsigned char *sig, size_t siglen)
{
	EVP_PKEY_CTX *ctx = rsa_ctx(k->pk, false);
	int r;

	if (ctx == NULL)
		return -1;
	/* A malformed signature (wrong length, bad padding) is invalid, not
	 * an error: OpenSSL reports both as <= 0; only a failed allocation
	 * is an error. */
	r = EVP_PKEY_verify(ctx, sig, siglen, digest, dlen) == 1 ? 1 : 0;
	EVP_PKEY_CTX_free(ctx);
	return r == 0 && ssl_oom() ? -1 : r;
}

/* RFC 8463 section 3: PureEdDSA over the SHA-256 digest itself. */
static int
ed25519_verify(const struct pkey *k, const unsigned char *digest, size_t dlen,
               const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int r = -1;

	if (m == NULL)
		return -1;
	if (EVP_DigestVerifyInit(m, NULL, NULL, NULL, k->pk) == 1)
		r = EVP_DigestVerify(m, sig, siglen, digest, dlen) == 1 ? 1 : 0;
	EVP_MD_CTX_free(m);
	return r == 0 && ssl_oom() ? -1 : r;
}

int
pkey_verify(const struct pkey *k, const unsigned char *digest, size_t dlen,
            const unsigned char *sig, size_t siglen)
{
	int r;

	if (dlen != DIGEST_LEN)
		return -1;
	if (k->type == PKEY_RSA)
		r = rsa_verify(k, digest, dlen, sig, siglen);
	else
		r = ed25519_verify(k, digest, dlen, sig, siglen);
	ERR_clear_error();
	return r;
}

static int
rsa_sign_with(EVP_PKEY *pk, const unsigned char *digest, size_t dlen,
              unsigned char *sig, size_t *siglen)
{
	EVP_PKEY_CTX *ctx = rsa_ctx(pk, true);
	int r;

	if (ctx == NULL)
		return -1;
	r = EVP_PKEY_sign(ctx, sig, siglen, digest, dlen) == 1 ? 0 : -1;
	EVP_PKEY_CTX_free(ctx);
	return r;
}

/*
 * Every RSA signature is checked before it leaves: a fault in the CRT or
 * blinding step must not publish a wrong signature (which would also
 * leak the key's factors).  OpenSSL 3.0 reports success when an
 * allocation fails inside BN_BLINDING_update, and the key's blinding
 * then stays wrong for every later signature; so a signature that does
 * not verify is made again with a fresh copy of the key (new blinding).
 * The shared key is never modified: other threads may be using it.
 */
static int
rsa_sign(const struct pkey *k, const unsigned char *digest, size_t dlen,
         unsigned char *sig, size_t *siglen)
{
	size_t cap = *siglen;
	EVP_PKEY *fresh;
	int r;

	if (rsa_sign_with(k->pk, digest, dlen, sig, siglen) == 0 &&
	    rsa_verify(k, digest, dlen, sig, *siglen) == 1)
		return 0;
	if ((fresh = EVP_PKEY_dup(k->pk)) == NULL)
		return -1;
	*siglen = cap;
	r = rsa_sign_with(fresh, digest, dlen, sig, siglen);
	if (r == 0 && rsa_verify(k, digest, dlen, sig, *siglen) != 1)
		r = -1;
	EVP_PKEY_free(fresh);
	return r;
}

static int
ed25519_sign(const struct pkey *k, const unsigned char *digest, size_t dlen,
             unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int r = -1;

	if (m == NULL)
		return -1;
	if (EVP_DigestSignInit(m, NULL, NULL, NULL, k->pk) == 1 &&
	    EVP_DigestSign(m, sig, siglen, digest, dlen) == 1)
		r = 0;
	EVP_MD_CTX_free(m);
	return r;
}

int
pkey_sign(const struct pkey *k, const unsigned char *digest, size_t dlen,
          struct buf *out)
{
	unsigned char sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	int r;

	if (!k->priv || dlen != DIGEST_LEN ||
	    EVP_PKEY_get_size(k->pk) > (int)sizeof(sig))
		return -1;
	if (k->type == PKEY_RSA)
		r = rsa_sign(k, digest, dlen, sig, &siglen);
	else
		r = ed25519_sign(k, digest, dlen, sig, &siglen);
	ERR_clear_error();
	if (r == 0 && buf_append(out, sig, siglen) != BUF_OK)
		r = -1;
	return r;
}

int
pkey_public_dkim(const struct pkey *k, struct buf *out)
{
	unsigned char raw[ED25519_LEN], *der = NULL;
	size_t rawlen = sizeof(raw);
	int len, r = -1;

	if (k->type == PKEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(k->pk, raw, &rawlen) == 1 &&
		    rawlen == ED25519_LEN)
			r = buf_append(out, raw, rawlen) == BUF_OK ? 0 : -1;
	} else if ((len = i2d_PUBKEY(k->pk, &der)) > 0) {
		r = buf_append(out, der, (size_t)len) == BUF_OK ? 0 : -1;
		OPENSSL_free(der);
	}
	ERR_clear_error();
	return r;
}

const char *
pkey_type_name(enum pkey_type t)
{
	return t == PKEY_ED25519 ? "ed25519" : "rsa";
}

/* Put OpenSSL's last error after what in eb, and clear the error queue. */
static void
ssl_error(struct errbuf *eb, const char *what)
{
	char msg[256];
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "unknown error");
	errbuf_set(eb, "%s: %s", what, msg);
	ERR_clear_error();
}

struct pkey *
pkey_generate(enum pkey_type t, unsigned bits, struct errbuf *eb)
{
	EVP_PKEY *pk;
	struct pkey *k;

	if (t == PKEY_RSA &&
	    (bits < PKEY_RSA_GEN_MIN_BITS || bits > PKEY_RSA_MAX_BITS)) {
		errbuf_set(eb, "RSA keys must have %d to %d bits, not %u",
		           PKEY_RSA_GEN_MIN_BITS, PKEY_RSA_MAX_BITS, bits);
		return NULL;
	}
	if (t == PKEY_ED25519 && bits != 0 && bits != 256) {
		errbuf_set(eb, "Ed25519 keys have 256 bits, not %u", bits);
		return NULL;
	}
	if (t == PKEY_RSA)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pk == NULL) {
		ssl_error(eb, "key generation failed");
		return NULL;
	}
	ERR_clear_error();
	if ((k = wrap(pk, t, true)) == NULL)
		errbuf_set(eb, "out of memory");
	return k;
}

/* What a BUF_* error means here. */
static const char *
buf_error(int rc)
{
	return rc == BUF_E2BIG ? "key text over the buffer's cap"
	                       : "out of memory";
}

/* Append the unencrypted PKCS#8 PEM form of pk to out.  The memory BIO
 * wipes its storage when freed (OpenSSL's BUF_MEM_free clears it). */
static int
pem_text(EVP_PKEY *pk, struct buf *out, struct errbuf *eb)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	int r = -1;

	if (bio == NULL) {
		errbuf_set(eb, "out of memory");
		return -1;
	}
	if (PEM_write_bio_PKCS8PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) !=
	    1)
		ssl_error(eb, "cannot encode the private key");
	else if ((len = BIO_get_mem_data(bio, &data)) <= 0 || data == NULL)
		errbuf_set(eb, "cannot encode the private key");
	else if ((r = buf_append(out, data, (size_t)len)) != BUF_OK)
		errbuf_set(eb, "%s", buf_error(r));
	BIO_free(bio);
	ERR_clear_error();
	return r == 0 ? 0 : -1;
}

/* Append the base64 Ed25519 seed and a newline to out (one reservation,
 * so out is not moved while it holds the seed). */
static int
seed_text(const struct pkey *k, struct buf *out, struct errbuf *eb)
{
	unsigned char seed[ED25519_LEN];
	size_t n = sizeof(seed);
	int rc, r = -1;

	if (k->type != PKEY_ED25519) {
		errbuf_set(eb, "only Ed25519 keys have a raw seed form");
		return -1;
	}
	if (EVP_PKEY_get_raw_private_key(k->pk, seed, &n) != 1 ||
	    n != ED25519_LEN)
		ssl_error(eb, "cannot read the Ed25519 seed");
	else if ((rc = buf_reserve(out, (ED25519_LEN + 2) / 3 * 4 + 1)) !=
	             BUF_OK ||
	         (rc = b64_encode(seed, n, out)) != BUF_OK ||
	         (rc = buf_putc(out, '\n')) != BUF_OK)
		errbuf_set(eb, "%s", buf_error(rc));
	else
		r = 0;
	OPENSSL_cleanse(seed, sizeof(seed));
	return r == 0 ? 0 : -1;
}

int
pkey_private_text(const struct pkey *k, enum pkey_format f, struct buf *out,
                  struct errbuf *eb)
{
	if (!k->priv) {
		errbuf_set(eb, "not a private key");
		return -1;
	}
	if (f == PKEY_FORMAT_SEED)
		return seed_text(k, out, eb);
	return pem_text(k->pk, out, eb);
}
