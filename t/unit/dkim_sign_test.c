/*
 * Unit tests for dkim_sign: the keys chosen for a From domain, the h= list
 * (every configured field as often as present, oversigned ones once
 * more), one body pass whatever the number of keys, and signatures that
 * our own verifier engine accepts (independent verifiers are run by
 * t/mta/dkim_sign_e2e.t).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkim_sig.h"
#include "dkim_sign.h"
#include "hash.h"
#include "hdr.h"
#include "pkey.h"
#include "policy.h"
#include "../lib/tap.h"

static char dir[1024];

static struct policy *
load_policy(const char *json)
{
	char path[1100];
	FILE *f;
	struct errbuf eb;
	struct policy *p;

	snprintf(path, sizeof(path), "%s/policy.json", dir);
	f = fopen(path, "w");
	fputs(json, f);
	fclose(f);
	p = policy_load(path, &eb);
	if (p == NULL)
		diag("%s", eb.msg);
	return p;
}

static struct hdr *
headers(const char *from)
{
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);

	hdr_add(h, "From", from);
	hdr_add(h, "To", " bob@example.net");
	hdr_add(h, "Subject", " first");
	hdr_add(h, "Subject", " second");
	hdr_add(h, "X-Other", " not signed");
	return h;
}

/* The field as the MTA writes it: CRLF folds (caller frees). */
static char *
crlf(const char *v)
{
	struct buf b;

	buf_init(&b, 0);
	for (; *v; v++) {
		if (*v == '\n')
			buf_putc(&b, '\r');
		buf_putc(&b, *v);
	}
	return buf_steal(&b);
}

/* Parse signature value v, hash it over h and verify with key k. */
static int
verifies(const char *v, struct hdr *h, struct pkey *k, const unsigned char *bmd)
{
	struct dkim_sig s;
	const char *why;
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen;
	int ok;

	if (hdr_add(h, "DKIM-Signature", v) != 0 ||
	    dkim_sig_parse(DKIM_SIG_DKIM, v, strlen(v), &s, &why) != 0) {
		diag("parse: %s", why);
		return 0;
	}
	ok = dkim_sig_header_hash(&s, h, hdr_count(h) - 1, md, &mdlen) == 0 &&
	     pkey_verify(k, md, mdlen, s.b, s.blen) == 1 &&
	     memcmp(s.bh, bmd, s.bhlen) == 0;
	dkim_sig_clear(&s);
	return ok;
}

int
main(void)
{
	const char *src = getenv("T_SRCDIR");
	char json[4096];
	struct policy *p;
	struct pkey *keys[3];
	struct errbuf eb;
	char kp[3][1100];
	const char *files[3] = {"rsa2048-pkcs8.pem", "ed25519.pem",
	                        "rsa1024-pkcs1.pem"};

	snprintf(dir, sizeof(dir), "/tmp/dkim_sign_test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	for (int i = 0; i < 3; i++) {
		snprintf(kp[i], sizeof(kp[i]), "%s/t/data/keys/%s",
		         src ? src : ".", files[i]);
		keys[i] = pkey_load_private(kp[i], &eb);
		ok(keys[i] != NULL, "load %s", files[i]);
	}
	snprintf(json, sizeof(json),
	         "{\"sign\": {\"keys\": ["
	         "{\"domain\": \"example.com\", \"selector\": \"r\", "
	         "\"key_file\": \"%s\"},"
	         "{\"domain\": \"example.com\", \"selector\": \"e\", "
	         "\"algorithm\": \"ed25519-sha256\", \"key_file\": \"%s\"},"
	         "{\"domain\": \"other.example\", \"selector\": \"o\", "
	         "\"key_file\": \"%s\"}],"
	         " \"headers\": [\"From\", \"To\", \"Subject\", \"Cc\"],"
	         " \"oversign\": [\"From\", \"Subject\", \"Cc\", \"Reply-To\"],"
	         " \"expire_seconds\": 3600}}",
	         kp[0], kp[1], kp[2]);
	p = load_policy(json);
	if (!ok(p != NULL, "policy loads") || !keys[0] || !keys[1] || !keys[2])
		return done_testing();

	struct bodyhash *bh = bodyhash_new();
	struct dkim_sign *s = dkim_sign_new(p, keys, bh);
	struct hdr *h = headers(" Alice <alice@mail.example.com>");
	const char *why;
	const char body[] = "Hello.\r\n\r\n";
	unsigned char bmd[HASH_MAX_SIZE];
	size_t bmdlen;
	uint64_t clen;

	is_int(dkim_sign_prepare(s, h, &why), 2,
	       "a subdomain of example.com gets both example.com keys, not "
	       "other.example's");
	bodyhash_update(bh, (const unsigned char *)body, sizeof(body) - 1);
	bodyhash_final(bh);
	is_int(bodyhash_passes(bh), 1,
	       "two keys, one canonicalization: one body pass");
	is_int(dkim_sign_finish(s, h, 1800000000), 0, "signing succeeds");
	is_int((long long)dkim_sign_count(s), 2, "two signatures");
	const char *v0 = dkim_sign_value(s, 0);
	ok(strstr(
	       v0,
	       " v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=r;") ==
	       v0,
	   "rsa value starts with its tags and a leading space");
	ok(strstr(v0, "h=From:From:To:Subject:Subject:Subject:Cc:Reply-To;") !=
	       NULL,
	   "h= lists From and Subject once more than present, absent Cc and "
	   "Reply-To once, X-Other not at all");
	ok(strstr(v0, "t=1800000000; x=1800003600;") != NULL, "t= and x=");
	ok(strstr(v0, "l=") == NULL, "no l=");
	ok(strchr(v0, '\r') == NULL && strstr(v0, "\n\t") != NULL,
	   "folded with bare LF for libmilter");
	bodyhash_result(bh, 0, bmd, &bmdlen, &clen);
	/* The verifier sees the field as the MTA writes it: CRLF folds. */
	for (int i = 0; i < 2; i++) {
		char *v = crlf(dkim_sign_value(s, (size_t)i));
		struct hdr *h2 = headers(" Alice <alice@mail.example.com>");

		ok(verifies(v, h2, keys[i], bmd),
		   "signature %d verifies with our verifier engine", i);
		hdr_add(h2, "From", " Mallory <m@evil.example>");
		ok(!verifies(v, h2, keys[i], bmd),
		   "signature %d: a From added after signing breaks it "
		   "(oversigning)",
		   i);
		hdr_free(h2);
		free(v);
	}
	dkim_sign_free(s);
	hdr_free(h);

	s = dkim_sign_new(p, keys, bh);
	h = headers(" a@example.com, b@example.org");
	is_int(dkim_sign_prepare(s, h, &why), 0, "two author domains: no key");
	is_str(why, "From has addresses in 2 domains",
	       "... with the From parser's reason");
	dkim_sign_free(s);
	hdr_free(h);
	s = dkim_sign_new(p, keys, bh);
	h = headers(" a@notexample.com");
	is_int(dkim_sign_prepare(s, h, &why), 0,
	       "notexample.com is not below example.com");
	is_str(why, "no signing key for the From domain", "... reason");
	dkim_sign_free(s);
	hdr_free(h);

	bodyhash_free(bh);
	for (int i = 0; i < 3; i++)
		pkey_unref(keys[i]);
	policy_free(p);
	snprintf(json, sizeof(json), "%s/policy.json", dir);
	unlink(json);
	rmdir(dir);
	return done_testing();
}
