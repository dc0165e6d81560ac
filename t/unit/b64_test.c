/*
 * b64_test: strict base64 decoding and encoding.
 *
 * Tables of named cases: the RFC 4648 section 10 test vectors both ways,
 * whitespace anywhere, and every way an input can be invalid (padding,
 * trailing bits, alphabet, length, output room).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"

#include "../lib/tap.h"

/* Decode s; the decoded text as a C string, or "INVALID". */
static void
decode_str(const char *s, size_t len, char *out, size_t outsz)
{
	ssize_t n = b64_decode(s, len, (unsigned char *)out, outsz - 1);

	if (n < 0)
		strcpy(out, "INVALID");
	else
		out[n] = '\0';
}

static void
test_rfc4648(void)
{
	static const struct {
		const char *plain, *enc;
	} cases[] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		char got[64];

		buf_init(&b, 0);
		is_int(b64_encode((const unsigned char *)cases[i].plain,
		                  strlen(cases[i].plain), &b),
		       BUF_OK, "encode \"%s\" rc", cases[i].plain);
		is_str(buf_cstr(&b), cases[i].enc, "encode \"%s\"",
		       cases[i].plain);
		buf_free(&b);
		decode_str(cases[i].enc, strlen(cases[i].enc), got,
		           sizeof(got));
		is_str(got, cases[i].plain, "decode \"%s\"", cases[i].enc);
	}
}

static void
test_decode_table(void)
{
	static const struct {
		const char *name, *in, *want;
	} cases[] = {
	    {"empty", "", ""},
	    {"only whitespace", " \t\r\n", ""},
	    {"fold inside", "Zm9v\r\n YmFy", "foobar"},
	    {"spaces between all", " Z m 9 v ", "foo"},
	    {"tab before pad", "Zm8\t=", "fo"},
	    {"fold between pads", "Zg=\r\n =", "f"},
	    {"trailing whitespace", "Zg==  \r\n", "f"},
	    {"leading whitespace", "\r\n\tZm9v", "foo"},
	    {"all values", "+/+/", "\xfb\xff\xbf"},
	    {"pad count short", "QQ=", "INVALID"},
	    {"three pads", "Q===", "INVALID"},
	    {"four pads", "====", "INVALID"},
	    {"one pad alone", "=", "INVALID"},
	    {"data after pad group", "QQ==QQ==", "INVALID"},
	    {"pad after full group", "Zm9v=", "INVALID"},
	    {"five pads", "QQ===", "INVALID"},
	    {"extra pad group", "Zm9v====", "INVALID"},
	    {"pad in the middle", "Zm=9", "INVALID"},
	    {"pad then space then data", "QQ== Zg==", "INVALID"},
	    {"non-zero trailing bits 2 pads", "QR==", "INVALID"},
	    {"non-zero trailing bits 1 pad", "QUJ=", "INVALID"},
	    {"zero trailing bits 1 pad", "QUI=", "AB"},
	    {"missing padding", "QQ", "INVALID"},
	    {"single char", "Q", "INVALID"},
	    {"incomplete group", "Zm9vYmF", "INVALID"},
	    {"base64url minus", "Zm9-", "INVALID"},
	    {"base64url underscore", "Zm9_", "INVALID"},
	    {"dot", "Zm9v.A==", "INVALID"},
	    {"8-bit byte", "Zm9v\xc3\xa9", "INVALID"},
	    {"vertical tab is not whitespace", "Zm9v\v", "INVALID"},
	    {"form feed is not whitespace", "Zm9v\f", "INVALID"},
	    {"semicolon", "Zm9v;", "INVALID"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char got[64];

		decode_str(cases[i].in, strlen(cases[i].in), got, sizeof(got));
		is_str(got, cases[i].want, "decode %s", cases[i].name);
	}
}

static void
test_decode_nul(void)
{
	static const char in[] = "Zm9v\0YmFy";
	unsigned char out[16];

	is_int(b64_decode(in, sizeof(in) - 1, out, sizeof(out)), -1,
	       "decode: NUL inside is invalid");
	is_int(b64_decode(in, 4, out, sizeof(out)), 3,
	       "decode: length bounds the input");
}

static void
test_decode_room(void)
{
	static const struct {
		const char *in;
		size_t outsz;
		long long want;
	} cases[] = {
	    {"Zm9vYmFy", 5, -1}, {"Zm9vYmFy", 6, 6}, {"Zg==", 0, -1},
	    {"Zg==", 1, 1},      {"", 0, 0},         {"Zm9vYg==", 3, -1},
	    {"Zm9vYg==", 4, 4},  {"Zm8=", 1, -1},    {"Zm8=", 2, 2},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char out[16];

		memset(out, 0xee, sizeof(out));
		is_int(b64_decode(cases[i].in, strlen(cases[i].in), out,
		                  cases[i].outsz),
		       cases[i].want, "decode \"%s\" into %zu bytes",
		       cases[i].in, cases[i].outsz);
		is_int(out[cases[i].outsz], 0xee,
		       "decode \"%s\" into %zu bytes: nothing written past",
		       cases[i].in, cases[i].outsz);
	}
}

static void
test_decoded_max(void)
{
	static const struct {
		size_t in, want;
	} cases[] = {
	    {0, 0}, {3, 0}, {4, 3}, {7, 3}, {8, 6}, {100, 75},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int((long long)b64_decoded_max(cases[i].in),
		       (long long)cases[i].want, "decoded_max(%zu)",
		       cases[i].in);
}

static void
test_encode_binary(void)
{
	unsigned char all[256], back[256];
	struct buf b;
	ssize_t n;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (size_t len = 0; len <= 256; len += 37) {
		buf_init(&b, 0);
		buf_puts(&b, "p=");
		is_int(b64_encode(all, len, &b), BUF_OK, "encode %zu bytes",
		       len);
		is_int((long long)b.len, (long long)(2 + (len + 2) / 3 * 4),
		       "encode %zu bytes: length", len);
		n = b64_decode(b.data + 2, b.len - 2, back, sizeof(back));
		ok(n == (ssize_t)len && memcmp(all, back, len) == 0,
		   "encode %zu bytes: decodes back, after the old contents",
		   len);
		buf_free(&b);
	}
}

static void
test_encode_cap(void)
{
	struct buf b;

	buf_init(&b, 6);
	buf_puts(&b, "abc");
	is_int(b64_encode((const unsigned char *)"foo", 3, &b), BUF_E2BIG,
	       "encode past the cap: E2BIG");
	is_str(buf_cstr(&b), "abc", "encode past the cap: buffer unchanged");
	is_int(b64_encode((const unsigned char *)"fo", 2, &b), BUF_E2BIG,
	       "encode past the cap: partial group counts whole");
	buf_free(&b);
	buf_init(&b, 8);
	is_int(b64_encode((const unsigned char *)"foobar", 6, &b), BUF_OK,
	       "encode up to the cap");
	is_str(buf_cstr(&b), "Zm9vYmFy", "encode up to the cap: text");
	buf_free(&b);
}

int
main(void)
{
	test_rfc4648();
	test_decode_table();
	test_decode_nul();
	test_decode_room();
	test_decoded_max();
	test_encode_binary();
	test_encode_cap();
	return done_testing();
}
