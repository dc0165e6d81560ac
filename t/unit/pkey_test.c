/*
 * pkey_test: loading private keys, parsing public keys, signing and
 * verifying, against the key material in t/data/keys (see its README)
 * and signatures made there by openssl pkeyutl, python3-nacl (dkimpy's
 * Ed25519) and python3-cryptography; new keys and their file forms
 * (generated, written, read back).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64.h"
#include "pkey.h"
#include "../lib/tap.h"

#define PATH_MAX_T 4096

static const char *srcdir;

/* t/data/keys/<name> under the source tree. */
static const char *
keypath(const char *name, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/t/data/keys/%s", srcdir, name);
	return out;
}

/* The bytes of a base64 file in t/data/keys; the length or -1. */
static ssize_t
read_b64(const char *name, unsigned char *out, size_t outsz)
{
	char path[PATH_MAX_T], text[8192];
	FILE *f = fopen(keypath(name, path, sizeof(path)), "r");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(text, 1, sizeof(text), f);
	fclose(f);
	return b64_decode(text, n, out, outsz);
}

static void
sha256(const char *s, unsigned char md[32])
{
	unsigned int len = 32;

	EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL);
}

/* "rsa 2048" / "ed25519 256" / "error: <message>" for a key file. */
static void
describe_load(const char *name, char *out, size_t outsz)
{
	char path[PATH_MAX_T];
	struct errbuf eb = {{0}};
	struct pkey *k =
	    pkey_load_private(keypath(name, path, sizeof(path)), &eb);
	size_t plen = strlen(path);

	if (k == NULL) {
		/* The message names the file: show it relative. */
		if (strncmp(eb.msg, path, plen) == 0)
			snprintf(out, outsz, "error: %s%s", name,
			         eb.msg + plen);
		else
			snprintf(out, outsz, "error: %s", eb.msg);
		return;
	}
	snprintf(out, outsz, "%s %u%s", pkey_type_name(pkey_type(k)),
	         pkey_bits(k), pkey_is_private(k) ? "" : " public?");
	pkey_unref(k);
}

static void
test_load(void)
{
	static const struct {
		const char *file, *want;
	} cases[] = {
	    {"rsa1024-pkcs1.pem", "rsa 1024"},
	    {"rsa2048-pkcs1.pem", "rsa 2048"},
	    {"rsa2048-pkcs8.pem", "rsa 2048"},
	    {"rsa4096-pkcs8.pem", "rsa 4096"},
	    {"rsa512-pkcs1.pem", "rsa 512"},
	    {"ed25519.pem", "ed25519 256"},
	    {"ed25519-seed.key", "ed25519 256"},
	    {"rfc8463-brisbane.key", "ed25519 256"},
	    {"ec-p256.pem",
	     "error: ec-p256.pem: EC keys are not supported: use RSA or "
	     "Ed25519"},
	    {"ed448.pem",
	     "error: ed448.pem: ED448 keys are not supported: use RSA or "
	     "Ed25519"},
	    {"corrupt.pem", "error: corrupt.pem: damaged PEM private key"},
	    {"encrypted.pem",
	     "error: encrypted.pem: encrypted private keys are not "
	     "supported"},
	    {"rsa2048-pub.pem",
	     "error: rsa2048-pub.pem: not a PEM private key or an Ed25519 "
	     "seed"},
	    {"rsa2048.dns",
	     "error: rsa2048.dns: not a PEM private key or an Ed25519 "
	     "seed"},
	    {"ed25519-spki-pub.b64",
	     "error: ed25519-spki-pub.b64: not a PEM private key or an "
	     "Ed25519 seed"},
	    {"missing.pem", "error: missing.pem: No such file or directory"},
	    {".", "error: .: Is a directory"},
	};
	char got[ERRBUF_SIZE + 64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		describe_load(cases[i].file, got, sizeof(got));
		is_str(got, cases[i].want, "load %s", cases[i].file);
	}
}

/* Write data to a fresh temporary file; its path in out. */
static int
temp_file(const void *data, size_t len, char *out, size_t outsz)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(out, outsz, "%s/pkey_test.XXXXXX", dir ? dir : "/tmp");
	if ((fd = mkstemp(out)) == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* Files made on the spot: seeds with whitespace, wrong sizes, a huge
 * file. */
static void
test_load_generated(void)
{
	static const struct {
		const char *name, *text, *want;
	} cases[] = {
	    {"seed with newline",
	     "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n", "ed25519 256"},
	    {"seed with spaces around",
	     "  \r\nnWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\r\n\t",
	     "ed25519 256"},
	    {"31-byte seed", "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyufw==",
	     "error: not a PEM private key or an Ed25519 seed"},
	    {"33-byte seed", "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2AA",
	     "error: not a PEM private key or an Ed25519 seed"},
	    {"empty file", "",
	     "error: not a PEM private key or an Ed25519 seed"},
	    {"binary", "\x30\x82\x01\x00\xff",
	     "error: not a PEM private key or an Ed25519 seed"},
	    {"PEM without a key", "-----BEGIN PRIVATE KEY-----\n",
	     "error: damaged PEM private key"},
	};
	char path[PATH_MAX_T], got[ERRBUF_SIZE + 64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct errbuf eb = {{0}};
		struct pkey *k;

		if (temp_file(cases[i].text, strlen(cases[i].text), path,
		              sizeof(path)) != 0) {
			ok(0, "%s: temporary file", cases[i].name);
			continue;
		}
		k = pkey_load_private(path, &eb);
		if (k != NULL)
			snprintf(got, sizeof(got), "%s %u",
			         pkey_type_name(pkey_type(k)), pkey_bits(k));
		else if (strncmp(eb.msg, path, strlen(path)) == 0)
			snprintf(got, sizeof(got), "error%s",
			         eb.msg + strlen(path));
		else
			snprintf(got, sizeof(got), "error: %s", eb.msg);
		is_str(got, cases[i].want, "load: %s", cases[i].name);
		pkey_unref(k);
		unlink(path);
	}
}

static void
test_load_too_large(void)
{
	size_t len = 70000;
	char *big = malloc(len), path[PATH_MAX_T];
	struct errbuf eb = {{0}};
	struct pkey *k = NULL;

	memset(big, 'A', len);
	if (temp_file(big, len, path, sizeof(path)) == 0) {
		k = pkey_load_private(path, &eb);
		ok(k == NULL && strstr(eb.msg, "too large for a key file"),
		   "load: a 70000-byte file is refused (%s)", eb.msg);
		unlink(path);
	}
	pkey_unref(k);
	free(big);
}

/* The public half of a private key, through its DKIM p= form. */
static struct pkey *
public_of(const struct pkey *priv)
{
	struct buf p;
	struct pkey *pub = NULL;
	const char *why = NULL;

	buf_init(&p, 0);
	if (pkey_public_dkim(priv, &p) == 0)
		pub = pkey_public(pkey_type(priv),
		                  (const unsigned char *)p.data, p.len, &why);
	buf_free(&p);
	return pub;
}

/* Sign with name, verify with its public key, and check that any change
 * breaks the signature. */
static void
roundtrip(const char *name)
{
	char path[PATH_MAX_T];
	struct errbuf eb = {{0}};
	struct pkey *k = pkey_load_private(keypath(name, path, sizeof(path)),
	                                   &eb),
	            *pub;
	unsigned char md[32], *sig;
	struct buf b;
	size_t want;

	if (!ok(k != NULL, "%s: loads (%s)", name, eb.msg))
		return;
	pub = public_of(k);
	ok(pub != NULL && !pkey_is_private(pub), "%s: public key", name);
	want = pkey_type(k) == PKEY_RSA ? pkey_bits(k) / 8 : 64;
	sha256(name, md);
	buf_init(&b, 0);
	is_int(pkey_sign(k, md, sizeof(md), &b), 0, "%s: sign", name);
	is_int((long long)b.len, (long long)want, "%s: signature length", name);
	sig = (unsigned char *)b.data;
	is_int(pkey_verify(pub, md, 32, sig, b.len), 1, "%s: verifies", name);
	is_int(pkey_verify(k, md, 32, sig, b.len), 1,
	       "%s: verifies with the private key too", name);
	md[7] ^= 0x01;
	is_int(pkey_verify(pub, md, 32, sig, b.len), 0,
	       "%s: flipped digest byte", name);
	md[7] ^= 0x01;
	sig[b.len / 2] ^= 0x80;
	is_int(pkey_verify(pub, md, 32, sig, b.len), 0,
	       "%s: flipped signature byte", name);
	sig[b.len / 2] ^= 0x80;
	is_int(pkey_verify(pub, md, 32, sig, b.len - 1), 0,
	       "%s: truncated signature", name);
	is_int(pkey_verify(pub, md, 32, sig, 0), 0, "%s: empty signature",
	       name);
	is_int(pkey_verify(pub, md, 20, sig, b.len), -1,
	       "%s: a 20-byte digest is an error", name);
	is_int(pkey_sign(pub, md, 32, &b), -1, "%s: a public key cannot sign",
	       name);
	buf_free(&b);
	pkey_unref(pub);
	pkey_unref(k);
}

static void
test_roundtrip(void)
{
	static const char *const files[] = {
	    "rsa512-pkcs1.pem",  "rsa1024-pkcs1.pem",    "rsa2048-pkcs1.pem",
	    "rsa2048-pkcs8.pem", "rsa4096-pkcs8.pem",    "ed25519.pem",
	    "ed25519-seed.key",  "rfc8463-brisbane.key",
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		roundtrip(files[i]);
}

/* A public key from a base64 DER file: "rsa 2048" or "error: why". */
static void
describe_public(enum pkey_type t, const char *file, char *out, size_t outsz)
{
	unsigned char der[4096];
	ssize_t n = read_b64(file, der, sizeof(der));
	const char *why = NULL;
	struct pkey *k;

	if (n < 0) {
		snprintf(out, outsz, "unreadable %s", file);
		return;
	}
	k = pkey_public(t, der, (size_t)n, &why);
	if (k != NULL)
		snprintf(out, outsz, "%s %u", pkey_type_name(pkey_type(k)),
		         pkey_bits(k));
	else
		snprintf(out, outsz, "error: %s", why);
	pkey_unref(k);
}

static void
test_public_files(void)
{
	static const struct {
		enum pkey_type t;
		const char *file, *want;
	} cases[] = {
	    {PKEY_RSA, "rsa8192-pub.b64", "rsa 8192"},
	    {PKEY_RSA, "rsa2048-pkcs1pub.b64", "rsa 2048"},
	    {PKEY_RSA, "rsa8200-fake-pub.b64", "error: key too large"},
	    {PKEY_RSA, "rsa16384-fake-pub.b64", "error: key too large"},
	    {PKEY_RSA, "ec-p256-pub.b64", "error: not an RSA key"},
	    {PKEY_RSA, "ed25519-spki-pub.b64", "error: not an RSA key"},
	    {PKEY_ED25519, "ed25519-spki-pub.b64", "error: bad ed25519 key"},
	    {PKEY_ED25519, "rsa2048-pkcs1pub.b64", "error: bad ed25519 key"},
	};
	char got[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		describe_public(cases[i].t, cases[i].file, got, sizeof(got));
		is_str(got, cases[i].want, "public %s as %s", cases[i].file,
		       pkey_type_name(cases[i].t));
	}
}

/* Public keys from literal base64 (RFC 8463 appendix A.2) and bytes. */
static void
test_public_literal(void)
{
	static const struct {
		const char *name;
		enum pkey_type t;
		const char *b64, *want;
	} cases[] = {
	    {"RFC 8463 A.2 brisbane", PKEY_ED25519,
	     "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "ed25519 256"},
	    {"RFC 8463 A.2 test (RSA)", PKEY_RSA,
	     "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6"
	     "Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/"
	     "e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G"
	     "+2kryOTIKT+l/K4w3QIDAQAB",
	     "rsa 1024"},
	    {"RSA SPKI with a trailing byte", PKEY_RSA,
	     "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6"
	     "Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/"
	     "e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G"
	     "+2kryOTIKT+l/K4w3QIDAQABAA==",
	     "error: bad RSA key"},
	    {"truncated RSA SPKI", PKEY_RSA,
	     "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6",
	     "error: bad RSA key"},
	    {"empty RSA", PKEY_RSA, "", "error: bad RSA key"},
	    {"garbage RSA", PKEY_RSA, "aGVsbG8gd29ybGQ=", "error: bad RSA key"},
	    {"31-byte ed25519", PKEY_ED25519,
	     "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==",
	     "error: bad ed25519 key"},
	    {"33-byte ed25519", PKEY_ED25519,
	     "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURoA",
	     "error: bad ed25519 key"},
	    {"empty ed25519", PKEY_ED25519, "", "error: bad ed25519 key"},
	    {"32 raw bytes as RSA", PKEY_RSA,
	     "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
	     "error: bad RSA key"},
	};
	unsigned char der[1024];
	char got[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		ssize_t n = b64_decode(cases[i].b64, strlen(cases[i].b64), der,
		                       sizeof(der));
		struct pkey *k =
		    n < 0 ? NULL
		          : pkey_public(cases[i].t, der, (size_t)n, &why);

		if (k != NULL)
			snprintf(got, sizeof(got), "%s %u",
			         pkey_type_name(pkey_type(k)), pkey_bits(k));
		else
			snprintf(got, sizeof(got), "error: %s", why);
		is_str(got, cases[i].want, "public: %s", cases[i].name);
		pkey_unref(k);
	}
}

/* DER one byte past the 8192-bit bound is refused without parsing, and
 * 64 KiB of it just as fast. */
static void
test_public_bounds(void)
{
	static const size_t sizes[] = {1069, 2000, 65536};
	unsigned char *der = calloc(1, 65536);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const char *why = NULL;
		struct pkey *k = pkey_public(PKEY_RSA, der, sizes[i], &why);

		is_str(k == NULL ? why : "a key", "key too large",
		       "public: %zu bytes of DER", sizes[i]);
		pkey_unref(k);
	}
	free(der);
}

/* The private key's p= form equals the published one (dknewkey .dns and
 * the RFC 8463 A.2 record). */
static void
test_public_dkim(void)
{
	static const struct {
		const char *key, *want;
	} cases[] = {
	    {"rfc8463-brisbane.key",
	     "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="},
	    {"ed25519-seed.key", "@ed25519-seed.dns"},
	    {"rsa2048-pkcs8.pem", "@rsa2048.dns"},
	    {"rsa2048-pkcs1.pem", "@rsa2048.dns"},
	};
	char path[PATH_MAX_T], text[2048];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct errbuf eb = {{0}};
		struct pkey *k = pkey_load_private(
		    keypath(cases[i].key, path, sizeof(path)), &eb);
		struct buf der, b64;
		const char *want = cases[i].want, *p;
		FILE *f;
		size_t n;

		buf_init(&der, 0);
		buf_init(&b64, 0);
		if (k != NULL && pkey_public_dkim(k, &der) == 0)
			b64_encode((const unsigned char *)der.data, der.len,
			           &b64);
		if (want[0] == '@' &&
		    (f = fopen(keypath(want + 1, path, sizeof(path)), "r"))) {
			n = fread(text, 1, sizeof(text) - 1, f);
			text[n] = '\0';
			fclose(f);
			want = (p = strstr(text, "p=")) ? p + 2 : text;
		}
		is_str(buf_cstr(&b64), want, "p= of %s", cases[i].key);
		buf_free(&der);
		buf_free(&b64);
		pkey_unref(k);
	}
}

/* One line of xcheck.txt: the signature another tool made verifies, and
 * ours is the same (both schemes are deterministic). */
static void
xcheck_line(char *line)
{
	char *key = strtok_r(line, " \n", &line), *tool, *hex, *sigb64;
	char path[PATH_MAX_T];
	unsigned char md[32], sig[1024];
	struct errbuf eb = {{0}};
	struct pkey *k, *pub;
	struct buf mine, mine64;
	ssize_t siglen;

	tool = strtok_r(NULL, " \n", &line);
	hex = strtok_r(NULL, " \n", &line);
	sigb64 = strtok_r(NULL, " \n", &line);
	if (key == NULL || key[0] == '#' || sigb64 == NULL)
		return;
	for (int i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &md[i]);
	siglen = b64_decode(sigb64, strlen(sigb64), sig, sizeof(sig));
	k = pkey_load_private(keypath(key, path, sizeof(path)), &eb);
	pub = k != NULL ? public_of(k) : NULL;
	is_int(pub != NULL && siglen > 0
	           ? pkey_verify(pub, md, 32, sig, (size_t)siglen)
	           : -2,
	       1, "%s: signature by %s verifies", key, tool);
	buf_init(&mine, 0);
	buf_init(&mine64, 0);
	if (k != NULL && pkey_sign(k, md, 32, &mine) == 0)
		b64_encode((const unsigned char *)mine.data, mine.len, &mine64);
	is_str(buf_cstr(&mine64), sigb64, "%s: our signature equals %s's", key,
	       tool);
	buf_free(&mine);
	buf_free(&mine64);
	pkey_unref(pub);
	pkey_unref(k);
}

static void
test_xcheck(void)
{
	char path[PATH_MAX_T], line[4096];
	FILE *f = fopen(keypath("xcheck.txt", path, sizeof(path)), "r");

	if (!ok(f != NULL, "xcheck.txt opens"))
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		xcheck_line(line);
	fclose(f);
}

static void
test_misc(void)
{
	char path[PATH_MAX_T];
	struct pkey *k =
	    pkey_load_private(keypath("ed25519.pem", path, sizeof(path)), NULL);

	is_str(pkey_type_name(PKEY_RSA), "rsa", "type name rsa");
	is_str(pkey_type_name(PKEY_ED25519), "ed25519", "type name ed25519");
	ok(pkey_ref(k) == k, "pkey_ref returns the key");
	pkey_unref(k);
	ok(pkey_is_private(k), "still alive after one unref");
	pkey_unref(k);
	pkey_unref(NULL);
	ok(pkey_ref(NULL) == NULL, "pkey_ref(NULL)");
	k = pkey_load_private(path, NULL);
	ok(k != NULL, "a NULL errbuf is accepted (success)");
	pkey_unref(k);
	ok(pkey_load_private(keypath("ec-p256.pem", path, sizeof(path)),
	                     NULL) == NULL,
	   "a NULL errbuf is accepted (failure)");
}

/* "rsa 2048" or "error: message" for a generated key (freed). */
static void
describe_new(struct pkey *k, const struct errbuf *eb, char *out, size_t outsz)
{
	if (k == NULL)
		snprintf(out, outsz, "error: %s", eb->msg);
	else
		snprintf(out, outsz, "%s %u%s", pkey_type_name(pkey_type(k)),
		         pkey_bits(k), pkey_is_private(k) ? "" : " public?");
}

static void
test_generate_sizes(void)
{
	static const struct {
		const char *name;
		enum pkey_type t;
		unsigned bits;
		const char *want;
	} cases[] = {
	    {"rsa 1024", PKEY_RSA, 1024, "rsa 1024"},
	    {"rsa 2048", PKEY_RSA, 2048, "rsa 2048"},
	    {"rsa 1023 (RFC 8301)", PKEY_RSA, 1023,
	     "error: RSA keys must have 1024 to 8192 bits, not 1023"},
	    {"rsa 512", PKEY_RSA, 512,
	     "error: RSA keys must have 1024 to 8192 bits, not 512"},
	    {"rsa 0", PKEY_RSA, 0,
	     "error: RSA keys must have 1024 to 8192 bits, not 0"},
	    {"rsa 8193", PKEY_RSA, 8193,
	     "error: RSA keys must have 1024 to 8192 bits, not 8193"},
	    {"ed25519 0", PKEY_ED25519, 0, "ed25519 256"},
	    {"ed25519 256", PKEY_ED25519, 256, "ed25519 256"},
	    {"ed25519 2048", PKEY_ED25519, 2048,
	     "error: Ed25519 keys have 256 bits, not 2048"},
	};
	char got[ERRBUF_SIZE + 64];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct errbuf eb = {{0}};
		struct pkey *k = pkey_generate(cases[i].t, cases[i].bits, &eb);

		describe_new(k, &eb, got, sizeof(got));
		is_str(got, cases[i].want, "generate %s", cases[i].name);
		pkey_unref(k);
	}
	ok(pkey_generate(PKEY_RSA, 100, NULL) == NULL,
	   "generate: a NULL errbuf is accepted");
}

/* The p= form of a key, base64; "" on failure. */
static void
p_of(const struct pkey *k, struct buf *out)
{
	struct buf der;

	buf_init(&der, 0);
	buf_reset(out);
	if (k != NULL && pkey_public_dkim(k, &der) == 0)
		b64_encode((const unsigned char *)der.data, der.len, out);
	buf_free(&der);
}

/* Write k in form f to a file and load it back: the reloaded key has the
 * same public half and verifies what k signs. */
static void
text_roundtrip(const char *name, struct pkey *k, enum pkey_format f,
               const char *head, const char *tail)
{
	struct errbuf eb = {{0}};
	struct buf text, p1, p2, sig;
	char path[PATH_MAX_T];
	unsigned char md[32];
	struct pkey *back = NULL;
	size_t hl = strlen(head), tl = strlen(tail);

	buf_init(&text, 0);
	buf_init(&p1, 0);
	buf_init(&p2, 0);
	buf_init(&sig, 0);
	is_int(pkey_private_text(k, f, &text, &eb), 0, "%s: text (%s)", name,
	       eb.msg);
	ok(text.len > hl + tl && memcmp(text.data, head, hl) == 0 &&
	       memcmp(text.data + text.len - tl, tail, tl) == 0,
	   "%s: the expected first and last lines", name);
	if (temp_file(text.data, text.len, path, sizeof(path)) == 0) {
		back = pkey_load_private(path, &eb);
		unlink(path);
	}
	ok(back != NULL, "%s: pkey_load_private reads it (%s)", name, eb.msg);
	p_of(k, &p1);
	p_of(back, &p2);
	is_str(buf_cstr(&p2), buf_cstr(&p1), "%s: same public key", name);
	sha256(name, md);
	if (back != NULL)
		pkey_sign(back, md, 32, &sig);
	is_int(pkey_verify(k, md, 32, (unsigned char *)sig.data, sig.len), 1,
	       "%s: the reloaded key signs for the original", name);
	OPENSSL_cleanse(text.data, text.cap);
	buf_free(&text);
	buf_free(&p1);
	buf_free(&p2);
	buf_free(&sig);
	pkey_unref(back);
}

static void
test_generate_text(void)
{
	struct pkey *rsa = pkey_generate(PKEY_RSA, 2048, NULL);
	struct pkey *ed = pkey_generate(PKEY_ED25519, 0, NULL);
	struct pkey *ed2 = pkey_generate(PKEY_ED25519, 0, NULL);
	struct buf a, b;

	if (!ok(rsa != NULL && ed != NULL && ed2 != NULL, "generate: keys"))
		goto out;
	text_roundtrip("rsa pem", rsa, PKEY_FORMAT_PEM,
	               "-----BEGIN PRIVATE KEY-----\n",
	               "\n-----END PRIVATE KEY-----\n");
	text_roundtrip("ed25519 pem", ed, PKEY_FORMAT_PEM,
	               "-----BEGIN PRIVATE KEY-----\n",
	               "\n-----END PRIVATE KEY-----\n");
	text_roundtrip("ed25519 seed", ed, PKEY_FORMAT_SEED, "", "=\n");
	buf_init(&a, 0);
	buf_init(&b, 0);
	pkey_private_text(ed, PKEY_FORMAT_SEED, &a, NULL);
	is_int((long long)a.len, 45, "ed25519 seed: 44 base64 + newline");
	p_of(ed, &a);
	p_of(ed2, &b);
	ok(a.len > 0 && strcmp(a.data, b.data) != 0,
	   "two generated keys differ");
	OPENSSL_cleanse(a.data, a.cap);
	buf_free(&a);
	buf_free(&b);
out:
	pkey_unref(rsa);
	pkey_unref(ed);
	pkey_unref(ed2);
}

/* The failures of pkey_private_text, each with its message. */
static void
test_private_text_errors(void)
{
	struct pkey *rsa = pkey_generate(PKEY_RSA, 1024, NULL);
	struct pkey *pub = rsa != NULL ? public_of(rsa) : NULL;
	struct pkey *ed = pkey_generate(PKEY_ED25519, 0, NULL);
	static const struct {
		const char *name;
		int key; /* 0 rsa, 1 rsa public, 2 ed25519 */
		enum pkey_format f;
		size_t cap;
		const char *want;
	} cases[] = {
	    {"seed of an RSA key", 0, PKEY_FORMAT_SEED, 0,
	     "only Ed25519 keys have a raw seed form"},
	    {"public key", 1, PKEY_FORMAT_PEM, 0, "not a private key"},
	    {"pem over the cap", 0, PKEY_FORMAT_PEM, 100,
	     "key text over the buffer's cap"},
	    {"seed over the cap", 2, PKEY_FORMAT_SEED, 44,
	     "key text over the buffer's cap"},
	    {"seed at the cap", 2, PKEY_FORMAT_SEED, 45, ""},
	};

	if (!ok(rsa != NULL && pub != NULL && ed != NULL, "errors: keys"))
		goto out;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pkey *k = cases[i].key == 0   ? rsa
		                       : cases[i].key == 1 ? pub
		                                           : ed;
		struct errbuf eb = {{0}};
		struct buf out;
		int r;

		buf_init(&out, cases[i].cap);
		r = pkey_private_text(k, cases[i].f, &out, &eb);
		is_int(r, cases[i].want[0] ? -1 : 0, "text: %s returns",
		       cases[i].name);
		is_str(eb.msg, cases[i].want, "text: %s", cases[i].name);
		if (out.data != NULL)
			OPENSSL_cleanse(out.data, out.cap);
		buf_free(&out);
	}
out:
	pkey_unref(pub);
	pkey_unref(rsa);
	pkey_unref(ed);
}

struct worker {
	struct pkey *pub;
	const unsigned char *md, *sig;
	size_t siglen;
	int bad;
};

static void *
verify_loop(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 200; i++)
		if (pkey_verify(w->pub, w->md, 32, w->sig, w->siglen) != 1)
			w->bad++;
	return NULL;
}

/* Keys are shared read-only between threads. */
static void
test_threads(void)
{
	char path[PATH_MAX_T];
	struct pkey *k = pkey_load_private(
	    keypath("rsa2048-pkcs8.pem", path, sizeof(path)), NULL);
	struct pkey *pub = k != NULL ? public_of(k) : NULL;
	unsigned char md[32];
	struct buf sig;
	struct worker w[4];
	pthread_t th[4];
	int bad = 0;

	if (!ok(pub != NULL, "threads: key"))
		return;
	sha256("threads", md);
	buf_init(&sig, 0);
	pkey_sign(k, md, 32, &sig);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){pub, md, (unsigned char *)sig.data,
		                       sig.len, 0};
		pthread_create(&th[i], NULL, verify_loop, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
	}
	is_int(bad, 0, "threads: 4 x 200 verifications on one key");
	buf_free(&sig);
	pkey_unref(pub);
	pkey_unref(k);
}

int
main(void)
{
	srcdir = getenv("T_SRCDIR");
	if (srcdir == NULL)
		srcdir = ".";
	test_load();
	test_load_generated();
	test_load_too_large();
	test_roundtrip();
	test_public_files();
	test_public_literal();
	test_public_bounds();
	test_public_dkim();
	test_xcheck();
	test_misc();
	test_generate_sizes();
	test_generate_text();
	test_private_text_errors();
	test_threads();
	return done_testing();
}
