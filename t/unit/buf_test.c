/* Unit tests for buf: growth, caps, formatting, ownership. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "../lib/tap.h"

static void
test_append(void)
{
	struct buf b;

	buf_init(&b, 0);
	is_str(buf_cstr(&b), "", "an empty buffer reads as \"\"");
	is_int(buf_puts(&b, "hello"), BUF_OK, "puts");
	is_int(buf_putc(&b, ' '), BUF_OK, "putc");
	is_int(buf_printf(&b, "%s-%d", "x", 42), BUF_OK, "printf");
	is_str(buf_cstr(&b), "hello x-42", "contents after appends");
	is_int((long long)b.len, 10, "length counts no NUL");
	for (int i = 0; i < 1000; i++)
		buf_putc(&b, 'a' + i % 26);
	is_int((long long)b.len, 1010, "grows past its first allocation");
	is_int(b.data[b.len], 0, "always NUL-terminated");
	buf_truncate(&b, 5);
	is_str(buf_cstr(&b), "hello", "truncate");
	buf_reset(&b);
	is_str(buf_cstr(&b), "", "reset");
	buf_free(&b);
}

static void
test_cap(void)
{
	struct buf b;

	buf_init(&b, 8);
	is_int(buf_puts(&b, "12345678"), BUF_OK, "exactly the cap fits");
	is_int(buf_putc(&b, 'x'), BUF_E2BIG, "one byte more is refused");
	is_str(buf_cstr(&b), "12345678", "a refused append changes nothing");
	is_int(buf_printf(&b, "%d", 1), BUF_E2BIG, "printf respects the cap");
	is_int(buf_reserve(&b, SIZE_MAX), BUF_E2BIG, "no size_t overflow");
	buf_free(&b);
	buf_init(&b, 0);
	is_int(buf_reserve(&b, SIZE_MAX), BUF_E2BIG,
	       "uncapped buffer still refuses SIZE_MAX");
	buf_free(&b);
}

static void
test_steal(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	buf_append(&b, "a\0b", 3);
	is_int((long long)b.len, 3, "binary data keeps its length");
	s = buf_steal(&b);
	ok(s != NULL && memcmp(s, "a\0b", 4) == 0,
	   "steal hands over the bytes");
	ok(b.data == NULL && b.len == 0, "steal empties the buffer");
	free(s);
	s = buf_steal(&b);
	is_str(s, "", "steal of an empty buffer gives \"\"");
	free(s);
}

int
main(void)
{
	test_append();
	test_cap();
	test_steal();
	return done_testing();
}
