/*
 * fuzz_b64: libFuzzer target for b64_decode() and b64_encode().
 * Properties checked:
 *   - a decode never returns more than b64_decoded_max() bytes;
 *   - what decodes re-encodes to exactly the input without its
 *     whitespace (strict decoding admits one spelling per byte string),
 *     and that encoding decodes to the same bytes;
 *   - any bytes encode and decode back unchanged.
 * The input is decoded whole and, when it is a tag=value list, value by
 * value (b=, bh= and p= are base64).
 * Seeds: the "input" files under t/vectors/tagval/.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "buf.h"
#include "tagval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s[0..n) without SP, HTAB, CR and LF, in b. */
static void
strip(const char *s, size_t n, struct buf *b)
{
	for (size_t i = 0; i < n; i++)
		if (strchr(" \t\r\n", s[i]) == NULL || s[i] == '\0')
			if (buf_putc(b, s[i]) != BUF_OK)
				abort();
}

/* Encode p[0..n) and decode it back: the same bytes. */
static void
roundtrip(const unsigned char *p, size_t n, struct buf *enc)
{
	unsigned char *back;
	ssize_t m;

	if (b64_encode(p, n, enc) != BUF_OK)
		abort();
	back = malloc(b64_decoded_max(enc->len) + 1);
	if (back == NULL)
		abort();
	m = b64_decode(enc->data, enc->len, back, b64_decoded_max(enc->len));
	if (m != (ssize_t)n || (n > 0 && memcmp(back, p, n) != 0))
		abort();
	free(back);
}

static void
check_decode(const char *s, size_t n)
{
	size_t max = b64_decoded_max(n);
	unsigned char *out = malloc(max + 1);
	struct buf enc, bare;
	ssize_t m;

	if (out == NULL)
		abort();
	m = b64_decode(s, n, out, max);
	if (m >= 0) {
		if ((size_t)m > max)
			abort();
		buf_init(&enc, 0);
		buf_init(&bare, 0);
		roundtrip(out, (size_t)m, &enc);
		strip(s, n, &bare);
		if (enc.len != bare.len ||
		    (enc.len > 0 && memcmp(enc.data, bare.data, enc.len) != 0))
			abort();
		buf_free(&enc);
		buf_free(&bare);
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct tagval_list l;
	struct buf enc;

	check_decode(s, size);
	if (tagval_parse(s, size, &l, NULL) == TAGVAL_OK)
		for (size_t i = 0; i < l.n; i++)
			check_decode(l.t[i].value, l.t[i].len);
	buf_init(&enc, 0);
	roundtrip(data, size, &enc);
	buf_free(&enc);
	return 0;
}
