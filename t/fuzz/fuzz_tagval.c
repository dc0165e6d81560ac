/*
 * fuzz_tagval: libFuzzer target for tagval_parse().  Properties checked
 * on every input that parses:
 *   - every value lies inside the input, with no ";" and no WSP, CR or
 *     LF at either end; every name is ALPHA *ALNUMPUNC and unique;
 *   - the list written back as "name=value;" parses to the same names
 *     and values.
 * On an error, the reason is a non-empty static text.
 * Seeds: the "input" files under t/vectors/tagval/.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tagval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void
check_name(const char *n)
{
	if (!is_alpha((unsigned char)n[0]))
		abort();
	for (const char *p = n; *p != '\0'; p++)
		if (!is_alpha((unsigned char)*p) && *p != '_' &&
		    !(*p >= '0' && *p <= '9'))
			abort();
}

static void
check_list(const struct tagval_list *l, const char *s, size_t size)
{
	if (l->n == 0 || l->n > TAGVAL_MAX)
		abort();
	for (size_t i = 0; i < l->n; i++) {
		const struct tagval *t = &l->t[i];

		check_name(t->name);
		if (t->value < s || t->len > size ||
		    t->value > s + size - t->len)
			abort();
		if (t->len > 0 &&
		    (is_space((unsigned char)t->value[0]) ||
		     is_space((unsigned char)t->value[t->len - 1])))
			abort();
		if (memchr(t->value, ';', t->len) != NULL)
			abort();
		if (tagval_get(l, t->name) != t)
			abort();
	}
}

/* Write l back and parse it again: same tags, same values. */
static void
check_roundtrip(const struct tagval_list *l)
{
	struct tagval_list m;
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < l->n; i++)
		if (buf_printf(&b, "%s=", l->t[i].name) != BUF_OK ||
		    buf_append(&b, l->t[i].value, l->t[i].len) != BUF_OK ||
		    buf_putc(&b, ';') != BUF_OK)
			abort();
	if (tagval_parse(b.data, b.len, &m, NULL) != TAGVAL_OK || m.n != l->n)
		abort();
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(m.t[i].name, l->t[i].name) != 0 ||
		    m.t[i].len != l->t[i].len ||
		    memcmp(m.t[i].value, l->t[i].value, m.t[i].len) != 0)
			abort();
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct tagval_list l;
	const char *why = NULL;

	if (tagval_parse(s, size, &l, &why) == TAGVAL_OK) {
		check_list(&l, s, size);
		check_roundtrip(&l);
	} else if (why == NULL || why[0] == '\0') {
		abort();
	}
	return 0;
}
