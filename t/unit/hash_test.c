/*
 * Unit tests for hash: EVP digests and the deduplicated body-hash set.
 * Known values come from RFC 6376 (section 3.4.3/3.4.4 empty bodies,
 * Appendix A); l= cases compare against the digest of the canonical
 * prefix.  Digests are compared as hex; comments give the base64 form
 * that appears in bh= tags.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "hash.h"
#include "../lib/tap.h"

/* Hex of n bytes into out (2n + 1 bytes). */
static const char *
hex(const unsigned char *md, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[2 * n] = '\0';
	return out;
}

/* Hex digest of p by hash_digest(). */
static const char *
digest_hex(enum hash_alg a, const void *p, size_t n, char *out)
{
	unsigned char md[HASH_MAX_SIZE];
	size_t len = 0;

	if (hash_digest(a, p, n, md, &len) != 0)
		return "(error)";
	return hex(md, len, out);
}

/* frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY= */
#define SHA256_CRLF                                                            \
	"7eb70257593da06f682a3ddda54a9d260d4fc514f645237f5ca74b08f8da61a6"
/* 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= */
#define SHA256_EMPTY                                                           \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* uoq1oCgLlTqpdDX/iUbLy7J1Wic= */
#define SHA1_CRLF "ba8ab5a0280b953aa97435ff8946cbcbb2755a27"
/* 2jmj7l5rSw0yVb/vlWAYkK/YBwk= */
#define SHA1_EMPTY "da39a3ee5e6b4b0d3255bfef95601890afd80709"
/* 2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8= (the bh= of Appendix A) */
#define SHA256_A2_BH                                                           \
	"da3512387f4d86d54609058dafd06b2003eb78a4233ba4a7ed72247c954eceff"
/* 4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ= */
#define SHA256_A2_SIMPLE                                                       \
	"e1b2cd5c898af5dad42e799e3f364d10195e51a9c9097e4f22c0c81681f82934"

/* The Appendix A body as printed: two spaces after "game.". */
static const char a2_body[] = "Hi.\r\n\r\nWe lost the game.  Are you "
                              "hungry yet?\r\n\r\nJoe.\r\n";
/* The same with one space. */
static const char a2_body1[] = "Hi.\r\n\r\nWe lost the game. Are you "
                               "hungry yet?\r\n\r\nJoe.\r\n";

static void
test_digest(void)
{
	char h[2 * HASH_MAX_SIZE + 1];

	is_str(digest_hex(HASH_SHA256, "\r\n", 2, h), SHA256_CRLF,
	       "sha256 of CRLF (section 3.4.3)");
	is_str(digest_hex(HASH_SHA256, "", 0, h), SHA256_EMPTY,
	       "sha256 of nothing (section 3.4.4)");
	is_str(digest_hex(HASH_SHA1, "\r\n", 2, h), SHA1_CRLF,
	       "sha1 of CRLF (section 3.4.3)");
	is_str(digest_hex(HASH_SHA1, "", 0, h), SHA1_EMPTY,
	       "sha1 of nothing (section 3.4.4)");
	is_int((long long)hash_size(HASH_SHA256), 32, "sha256 size");
	is_int((long long)hash_size(HASH_SHA1), 20, "sha1 size");
}

/* Feed body in chunks of k bytes (0: one chunk); 0 or -1. */
static int
feed(struct bodyhash *bh, const char *body, size_t n, size_t k)
{
	const unsigned char *p = (const unsigned char *)body;

	if (k == 0)
		k = n;
	for (size_t off = 0; off < n; off += k)
		if (bodyhash_update(bh, p + off, n - off < k ? n - off : k) !=
		    0)
			return -1;
	return 0;
}

/* Result id as hex, and its canonical length. */
static const char *
result_hex(struct bodyhash *bh, int id, char *out, uint64_t *clen)
{
	unsigned char md[HASH_MAX_SIZE];
	size_t len = 0;

	if (bodyhash_result(bh, id, md, &len, clen) != 0)
		return "(error)";
	return hex(md, len, out);
}

struct known {
	const char *name;
	const char *body;
	enum canon c;
	enum hash_alg a;
	const char *want;
	long long clen;
};

static const struct known known[] = {
    {"empty body, simple", "", CANON_SIMPLE, HASH_SHA256, SHA256_CRLF, 2},
    {"empty body, relaxed", "", CANON_RELAXED, HASH_SHA256, SHA256_EMPTY, 0},
    {"CRLF CRLF body, simple, sha1", "\r\n\r\n", CANON_SIMPLE, HASH_SHA1,
     SHA1_CRLF, 2},
    {"CRLF CRLF body, relaxed, sha1", "\r\n\r\n", CANON_RELAXED, HASH_SHA1,
     SHA1_EMPTY, 0},
    {"WSP-only body, relaxed", " \r\n\t\r\n", CANON_RELAXED, HASH_SHA256,
     SHA256_EMPTY, 0},
    /* Appendix A says c=simple/simple and bh=2jUSOH9...; that is the
     * simple hash of the body with ONE space after "game." (or the
     * relaxed hash of the body as printed).  Simple over the printed
     * text, two spaces, gives 4bLNXImK... */
    {"Appendix A body as printed, simple", a2_body, CANON_SIMPLE, HASH_SHA256,
     SHA256_A2_SIMPLE, 55},
    {"Appendix A body as printed, relaxed", a2_body, CANON_RELAXED, HASH_SHA256,
     SHA256_A2_BH, 54},
    {"Appendix A body with one space, simple", a2_body1, CANON_SIMPLE,
     HASH_SHA256, SHA256_A2_BH, 54},
};

static void
test_known(void)
{
	char h[2 * HASH_MAX_SIZE + 1];

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const struct known *t = &known[i];

		for (size_t k = 0; k < 4; k++) {
			struct bodyhash *bh = bodyhash_new();
			int id = bodyhash_want(bh, t->c, t->a, -1);
			uint64_t clen = 0;

			feed(bh, t->body, strlen(t->body), k);
			is_int(bodyhash_final(bh), 0, "%s: final", t->name);
			is_str(result_hex(bh, id, h, &clen), t->want,
			       "%s, chunks of %zu", t->name, k);
			is_int((long long)clen, t->clen, "%s: canon_len",
			       t->name);
			bodyhash_free(bh);
		}
	}
}

struct limit_case {
	const char *name;
	enum canon c;
	long long limit;
	const char *canon; /* the canonical body (of limit_body) */
	int complete;      /* bodyhash_complete() after the body */
};

static const char limit_body[] = "line one\r\nline  two \r\n\r\n\r\n";

static const struct limit_case limits[] = {
    {"l=0", CANON_SIMPLE, 0, "line one\r\nline  two \r\n", 1},
    {"l=4, inside a line", CANON_SIMPLE, 4, "line one\r\nline  two \r\n", 1},
    {"l=9, inside a CRLF", CANON_RELAXED, 9, "line one\r\nline two\r\n", 1},
    {"l=exact length, simple", CANON_SIMPLE, 22, "line one\r\nline  two \r\n",
     0},
    {"l=exact length, relaxed", CANON_RELAXED, 20, "line one\r\nline two\r\n",
     0},
    {"l=longer than the body", CANON_RELAXED, 1000, "line one\r\nline two\r\n",
     0},
};

/* Exact-length limits are reached only by the final CRLF, which the
 * canonicalizer holds back until the end: complete() is false before
 * bodyhash_final(). */
static void
test_limits(void)
{
	char h[2 * HASH_MAX_SIZE + 1], w[2 * HASH_MAX_SIZE + 1];

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		const struct limit_case *t = &limits[i];
		struct bodyhash *bh = bodyhash_new();
		int id = bodyhash_want(bh, t->c, HASH_SHA256, t->limit);
		size_t clen = strlen(t->canon);
		size_t take = (size_t)t->limit < clen ? (size_t)t->limit : clen;
		uint64_t got_len = 0;

		is_int(bodyhash_complete(bh), t->limit == 0,
		       "%s: complete before the body", t->name);
		feed(bh, limit_body, sizeof(limit_body) - 1, 3);
		is_int(bodyhash_complete(bh), t->complete,
		       "%s: complete after the body", t->name);
		is_int(bodyhash_final(bh), 0, "%s: final", t->name);
		is_str(result_hex(bh, id, h, &got_len),
		       digest_hex(HASH_SHA256, t->canon, take, w),
		       "%s: digest of the first %zu canonical bytes", t->name,
		       take);
		is_int((long long)got_len, (long long)clen,
		       "%s: canon_len is the whole canonical body", t->name);
		bodyhash_free(bh);
	}
}

/* complete() turns true as soon as the limited digests have all. */
static void
test_complete_early(void)
{
	struct bodyhash *bh = bodyhash_new();
	int a = bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, 5);
	int b = bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, 12);

	ok(a >= 0 && b >= 0, "two limited wants");
	feed(bh, "abcd", 4, 0);
	is_int(bodyhash_complete(bh), 0, "4 bytes: neither is complete");
	feed(bh, "ef\r\nxyz", 7, 0);
	is_int(bodyhash_complete(bh), 0, "9 bytes: only the 5-byte one");
	feed(bh, "\r\nmore text", 11, 0);
	is_int(bodyhash_complete(bh), 1, "both limits reached");
	is_int(bodyhash_final(bh), 0, "final");
	bodyhash_free(bh);

	bh = bodyhash_new();
	bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, 5);
	bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, -1);
	feed(bh, "a long enough body\r\n", 20, 0);
	is_int(bodyhash_complete(bh), 0,
	       "a digest without a limit is never complete");
	bodyhash_free(bh);
}

static void
test_dedup(void)
{
	struct bodyhash *bh = bodyhash_new();
	int a = bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, -1);
	int b = bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, -1);
	int c = bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, -7);
	int d = bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, -1);
	int e = bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, 100);
	int f = bodyhash_want(bh, CANON_RELAXED, HASH_SHA1, -1);

	ok(a >= 0, "first want gets an id");
	is_int(b, a, "the same triple gets the same id");
	is_int(c, a, "every negative limit means the whole body");
	ok(d != a && e != a && f != a && d != e && e != f && d != f,
	   "other canon, limit or algorithm: other ids");
	is_int(bodyhash_passes(bh), 2, "relaxed and simple: two passes");
	bodyhash_free(bh);

	bh = bodyhash_new();
	is_int(bodyhash_passes(bh), 0, "no wants: no pass");
	is_int(bodyhash_complete(bh), 1, "no wants: nothing wanted");
	for (int i = 0; i < 10; i++)
		bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, i * 10);
	is_int(bodyhash_passes(bh), 1, "ten simple wants: one pass");
	bodyhash_free(bh);

	bh = bodyhash_new();
	bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, -1);
	bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, -1);
	bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, 50);
	is_int(bodyhash_passes(bh), 2, "three wants, two canons: two passes");
	bodyhash_free(bh);
}

static void
test_max_want(void)
{
	struct bodyhash *bh = bodyhash_new();
	int last = -1, bad = 0;

	for (int i = 0; i < BODYHASH_MAX_WANT; i++)
		if ((last = bodyhash_want(bh, i % 2, HASH_SHA256, i)) != i)
			bad++;
	is_int(bad, 0, "%d distinct wants get ids 0..%d", BODYHASH_MAX_WANT,
	       BODYHASH_MAX_WANT - 1);
	is_int(bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, 100000), -1,
	       "one more is refused");
	is_int(bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, 0), 0,
	       "a known one still gets its id");
	feed(bh, a2_body, sizeof(a2_body) - 1, 0);
	is_int(bodyhash_final(bh), 0, "final with %d digests",
	       BODYHASH_MAX_WANT);
	bodyhash_free(bh);
}

static void
test_result_errors(void)
{
	struct bodyhash *bh = bodyhash_new();
	unsigned char md[HASH_MAX_SIZE];
	size_t len;
	uint64_t clen;
	int id = bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, -1);

	is_int(bodyhash_result(bh, id, md, &len, &clen), -1,
	       "no result before final");
	is_int(bodyhash_final(bh), 0, "final of an empty body");
	is_int(bodyhash_result(bh, id, md, &len, &clen), 0, "result");
	is_int(bodyhash_result(bh, id + 1, md, &len, &clen), -1, "bad id");
	is_int(bodyhash_result(bh, -1, md, &len, &clen), -1, "negative id");
	bodyhash_free(bh);
	bodyhash_free(NULL);
}

/* Every chunking gives the same digests, for both canons at once. */
static void
test_chunkings(void)
{
	static const char body[] = "a \t b\r\n\r\n  \r\nc\rd\ne  \r\n\r\n\r\n";
	char first[2][2 * HASH_MAX_SIZE + 1], h[2 * HASH_MAX_SIZE + 1];
	int same = 1;

	for (size_t k = 0; k < sizeof(body); k++) {
		struct bodyhash *bh = bodyhash_new();
		int ids[2];
		uint64_t clen;

		ids[0] = bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, -1);
		ids[1] = bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, 13);
		feed(bh, body, sizeof(body) - 1, k);
		bodyhash_final(bh);
		for (int j = 0; j < 2; j++) {
			result_hex(bh, ids[j], h, &clen);
			if (k == 0)
				strcpy(first[j], h);
			same = same && strcmp(first[j], h) == 0;
		}
		bodyhash_free(bh);
	}
	ok(same, "chunks of every size give the same two digests");
}

static void
collect(void *arg, const unsigned char *p, size_t n)
{
	buf_append(arg, p, n);
}

/* Short runs (gathered) and long ones (passed on) keep their order: the
 * digests equal those of the canonical body made by canon alone. */
static void
test_mixed_runs(void)
{
	struct buf body, canon;
	char h[2 * HASH_MAX_SIZE + 1], w[2 * HASH_MAX_SIZE + 1];
	uint32_t seed = 7;

	buf_init(&body, 0);
	for (int i = 0; i < 400; i++) {
		seed = seed * 1103515245u + 12345u;
		if (seed >> 28 < 3)
			for (int j = 0; j < 60; j++)
				buf_puts(&body,
				         "clean text line, one space\r\n");
		else
			buf_puts(&body, "two  spaces\there \r\n\r\n");
	}
	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		struct bodyhash *bh = bodyhash_new();
		struct canon_body *cb;
		int id, lim;
		uint64_t clen;

		buf_init(&canon, 0);
		cb = canon_body_new(c, collect, &canon);
		canon_body_update(cb, (const unsigned char *)body.data,
		                  body.len);
		canon_body_final(cb);
		canon_body_free(cb);
		id = bodyhash_want(bh, c, HASH_SHA256, -1);
		lim = bodyhash_want(bh, c, HASH_SHA256, (int64_t)canon.len / 3);
		feed(bh, body.data, body.len, 65536);
		bodyhash_final(bh);
		is_str(result_hex(bh, id, h, &clen),
		       digest_hex(HASH_SHA256, canon.data, canon.len, w),
		       "%s: short and long runs in order", canon_name(c));
		is_str(result_hex(bh, lim, h, &clen),
		       digest_hex(HASH_SHA256, canon.data, canon.len / 3, w),
		       "%s: l= a third of a mixed body", canon_name(c));
		bodyhash_free(bh);
		buf_free(&canon);
	}
	buf_free(&body);
}

static void
test_throughput(void)
{
	struct buf text;
	struct bodyhash *bh;
	int64_t t0, ms;
	const size_t chunk = 65536;

	buf_init(&text, 0);
	while (text.len < (8u << 20))
		buf_puts(&text, "The quick brown fox jumps over the lazy dog, "
		                "and  then\tsome more text.\r\n");
	bh = bodyhash_new();
	bodyhash_want(bh, CANON_SIMPLE, HASH_SHA256, -1);
	bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, -1);
	t0 = clock_ms();
	for (size_t off = 0; off < text.len; off += chunk)
		bodyhash_update(bh, (const unsigned char *)text.data + off,
		                text.len - off < chunk ? text.len - off
		                                       : chunk);
	is_int(bodyhash_final(bh), 0, "throughput run: final");
	ms = clock_ms() - t0;
	diag("body hashes simple+relaxed sha256: %.0f MB/s of body",
	     (double)text.len / 1e3 / (ms + 1));
	bodyhash_free(bh);
	buf_free(&text);
}

int
main(void)
{
	test_digest();
	test_known();
	test_limits();
	test_complete_early();
	test_dedup();
	test_max_want();
	test_result_errors();
	test_chunkings();
	test_mixed_runs();
	test_throughput();
	return done_testing();
}
