/*
 * Unit tests for the DKIM signature engine (dkim_sig.c) with canon.c,
 * hash.c and pkey.c: signature parsing rules (RFC 6376 section 3.5,
 * RFC 8617 section 4.1), b= stripping (section 3.7), and an offline
 * verification of the RFC 8463 Appendix A example, known answers from
 * the RFC.  dkim_verify.c itself (key lookups, results) is driven by the
 * script tests through the daemon.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "dkim_sig.h"
#include "hash.h"
#include "hdr.h"
#include "pkey.h"
#include "../lib/tap.h"

#define GOOD                                                                   \
	" v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=sel;"          \
	" h=From:To:Subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;" \
	" b=dGVzdA=="

static const struct {
	const char *name;
	enum dkim_sig_kind kind;
	const char *value;
	const char *why; /* NULL: must parse */
} parse_cases[] = {
    {"good", DKIM_SIG_DKIM, GOOD, NULL},
    {"missing v=", DKIM_SIG_DKIM, &GOOD[5], "missing v= tag"},
    {"v=2", DKIM_SIG_DKIM,
     " v=2; a=rsa-sha256; d=example.com; s=x; h=from; "
     "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==",
     "unsupported version v="},
    {"missing s=", DKIM_SIG_DKIM,
     " v=1; a=rsa-sha256; d=example.com; h=from; "
     "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==",
     "missing s= tag"},
    {"h= without from", DKIM_SIG_DKIM,
     " v=1; a=rsa-sha256; d=example.com; s=x; h=to:subject; "
     "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==",
     "h= does not include From"},
    {"duplicate tag", DKIM_SIG_DKIM, GOOD "; s=other", "duplicate tag"},
    {"unknown algorithm", DKIM_SIG_DKIM,
     " v=1; a=rsa-md5; d=example.com; s=x; h=from; "
     "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==",
     "unknown algorithm"},
    {"bad c=", DKIM_SIG_DKIM, GOOD "; c=future", NULL /* dup c */},
    {"i= outside d=", DKIM_SIG_DKIM, GOOD "; i=a@evil.example",
     "i= is not within d="},
    {"i= subdomain", DKIM_SIG_DKIM, GOOD "; i=a@mail.example.com", NULL},
    {"i= suffix trick", DKIM_SIG_DKIM, GOOD "; i=a@badexample.com",
     "i= is not within d="},
    {"x= before t=", DKIM_SIG_DKIM, GOOD "; t=200; x=100", "x= is before t="},
    {"l= not a number", DKIM_SIG_DKIM, GOOD "; l=12a", "bad l= tag"},
    {"q=dns/txt", DKIM_SIG_DKIM, GOOD "; q=dns/txt", NULL},
    {"q=http", DKIM_SIG_DKIM, GOOD "; q=http", "unsupported q= tag"},
    {"bh= wrong length", DKIM_SIG_DKIM,
     " v=1; a=rsa-sha256; d=example.com; s=x; h=from; bh=dGVzdA==; b=dGVzdA==",
     "bad bh= tag"},
    {"empty b=", DKIM_SIG_DKIM,
     " v=1; a=rsa-sha256; d=example.com; s=x; h=from; "
     "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=",
     "empty signature"},
    {"d= with a parenthesis", DKIM_SIG_DKIM,
     " v=1; a=rsa-sha256; d=example.com(.evil; s=x; h=from; "
     "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==",
     "bad d= tag"},
    {"unknown tags ignored", DKIM_SIG_DKIM, GOOD "; zz=whatever; z=a|b", NULL},
    {"AMS good", DKIM_SIG_AMS,
     " i=1; a=rsa-sha256; d=example.com; s=x; h=from; "
     "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==",
     NULL},
    {"AMS i=51", DKIM_SIG_AMS,
     " i=51; a=rsa-sha256; d=example.com; s=x; h=from; "
     "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==",
     "bad instance i="},
    {"AS good", DKIM_SIG_AS,
     " i=2; a=rsa-sha256; cv=pass; d=example.com; s=x; t=1; b=dGVzdA==", NULL},
    {"AS with h=", DKIM_SIG_AS,
     " i=2; a=rsa-sha256; cv=pass; d=example.com; s=x; h=from; b=dGVzdA==",
     "ARC-Seal must not have h="},
    {"AS bad cv", DKIM_SIG_AS,
     " i=2; a=rsa-sha256; cv=maybe; d=example.com; s=x; b=dGVzdA==",
     "bad cv= tag"},
    {"AS missing cv", DKIM_SIG_AS,
     " i=2; a=rsa-sha256; d=example.com; s=x; b=dGVzdA==", "missing cv= tag"},
};

static void
test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		struct dkim_sig s;
		const char *why = NULL;
		int rc =
		    dkim_sig_parse(parse_cases[i].kind, parse_cases[i].value,
		                   strlen(parse_cases[i].value), &s, &why);

		if (strcmp(parse_cases[i].name, "bad c=") == 0) {
			is_str(rc ? why : "parsed", "duplicate tag",
			       "parse: a second c= is a duplicate");
		} else {
			is_str(rc ? why : NULL, parse_cases[i].why, "parse: %s",
			       parse_cases[i].name);
		}
		dkim_sig_clear(&s);
	}
}

static void
test_fields(void)
{
	struct dkim_sig s;
	const char *why;

	dkim_sig_parse(DKIM_SIG_DKIM, GOOD, strlen(GOOD), &s, &why);
	is_str(s.domain, "example.com", "d= is lower-cased");
	is_str(s.auid, "@example.com", "i= defaults to @d=");
	is_int(s.hcanon, CANON_RELAXED, "c= header canonicalization");
	is_int(s.bcanon, CANON_SIMPLE, "c= body canonicalization");
	is_int((long long)s.nh, 3, "three h= names");
	is_str(s.nh == 3 ? s.h[2] : NULL, "Subject", "h= names as written");
	is_int(s.l, -1, "no l=");
	is_str(s.bprefix, "dGVzdA==", "b= prefix kept for header.b");
	dkim_sig_clear(&s);
}

static void
test_strip_b(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"DKIM-Signature: a=x; b=abc; bh=def",
	     "DKIM-Signature: a=x; b=; bh=def"},
	    {"DKIM-Signature: b=ab\r\n c; d=x", "DKIM-Signature: b=; d=x"},
	    {"DKIM-Signature: d=x; b = ab c ", "DKIM-Signature: d=x; b ="},
	    {"DKIM-Signature: bh=q; b=zz", "DKIM-Signature: bh=q; b="},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out;

		buf_init(&out, 0);
		is_int(dkim_sig_strip_b(cases[i].in, strlen(cases[i].in), &out),
		       0, "strip b= %zu: ok", i);
		is_str(buf_cstr(&out), cases[i].want, "strip b= %zu: text", i);
		buf_free(&out);
	}
}

/* Read a message file into a hdr (fields as a milter with LEADSPC gets
 * them, folding as bare LF) and the body (CRLF). */
static int
load(const char *path, struct hdr *h, struct buf *body)
{
	FILE *f = fopen(path, "r");
	char line[4096], name[256];
	struct buf value;
	int in_body = 0;

	if (f == NULL)
		return -1;
	buf_init(&value, 0);
	name[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (in_body) {
			buf_printf(body, "%s\r\n", line);
		} else if (line[0] == ' ' || line[0] == '\t') {
			buf_printf(&value, "\n%s", line);
		} else {
			if (name[0] != '\0')
				hdr_add(h, name, buf_cstr(&value));
			buf_reset(&value);
			if (line[0] == '\0') {
				in_body = 1;
				name[0] = '\0';
				continue;
			}
			char *colon = strchr(line, ':');
			snprintf(name, sizeof(name), "%.*s",
			         (int)(colon - line), line);
			buf_puts(&value, colon + 1);
		}
	}
	fclose(f);
	buf_free(&value);
	return 0;
}

static struct pkey *
key_from(enum pkey_type t, const char *p64)
{
	unsigned char der[2048];
	ssize_t n = b64_decode(p64, strlen(p64), der, sizeof(der));
	const char *why;

	return n > 0 ? pkey_public(t, der, (size_t)n, &why) : NULL;
}

/* Header signature and body hash of field idx against key k. */
static int
verify(const struct hdr *h, size_t idx, const struct buf *body, struct pkey *k)
{
	struct dkim_sig s;
	const char *why;
	unsigned char md[HASH_MAX_SIZE], bmd[HASH_MAX_SIZE];
	size_t mdlen, bmdlen;
	uint64_t clen;
	struct bodyhash *bh = bodyhash_new();
	size_t len;
	const char *v = hdr_value(hdr_get(h, idx), &len);
	int id, ok = 0;

	if (dkim_sig_parse(DKIM_SIG_DKIM, v, len, &s, &why) != 0) {
		diag("parse: %s", why);
		bodyhash_free(bh);
		return -1;
	}
	id = bodyhash_want(bh, s.bcanon, s.hash, s.l);
	bodyhash_update(bh, (const unsigned char *)body->data, body->len);
	bodyhash_final(bh);
	bodyhash_result(bh, id, bmd, &bmdlen, &clen);
	if (dkim_sig_header_hash(&s, h, idx, md, &mdlen) == 0 &&
	    pkey_verify(k, md, mdlen, s.b, s.blen) == 1)
		ok |= 1;
	if (bmdlen == s.bhlen && memcmp(bmd, s.bh, bmdlen) == 0)
		ok |= 2;
	dkim_sig_clear(&s);
	bodyhash_free(bh);
	return ok;
}

static void
test_rfc8463(void)
{
	const char *src = getenv("T_SRCDIR");
	char path[1024];
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	struct buf body;
	struct pkey *ed = key_from(
	    PKEY_ED25519, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	struct pkey *rsa = key_from(
	    PKEY_RSA,
	    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6"
	    "Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/"
	    "e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G"
	    "+2kryOTIKT+l/K4w3QIDAQAB");

	buf_init(&body, 0);
	snprintf(path, sizeof(path), "%s/t/vectors/dkim/rfc8463-a3.eml",
	         src ? src : ".");
	ok(ed != NULL && rsa != NULL, "RFC 8463 A.2 keys parse");
	if (!ok(load(path, h, &body) == 0, "load %s", path) || !ed || !rsa)
		goto out;
	is_int(verify(h, 0, &body, ed), 3,
	       "RFC 8463 A.3 ed25519-sha256: signature and body hash verify");
	is_int(verify(h, 1, &body, rsa), 3,
	       "RFC 8463 A.3 rsa-sha256: signature and body hash verify");
	is_int(verify(h, 0, &body, rsa) & 1, 0, "wrong key: no verify");
	body.data[3] ^= 1;
	is_int(verify(h, 1, &body, rsa), 1,
	       "one body byte changed: body hash fails");
	body.data[3] ^= 1;
	hdr_free(h);
	h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	buf_reset(&body);
	load(path, h, &body);
	hdr_add(h, "Subject", " Is dinner ready!");
	is_int(verify(h, 1, &body, rsa), 2,
	       "a second Subject at the bottom is what h= selects: signature "
	       "fails");
out:
	hdr_free(h);
	buf_free(&body);
	pkey_unref(ed);
	pkey_unref(rsa);
}

int
main(void)
{
	test_parse();
	test_fields();
	test_strip_b();
	test_rfc8463();
	return done_testing();
}
