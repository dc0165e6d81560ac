/*
 * tagval_test: RFC 6376 tag=value lists.
 *
 * Tables pin the accessors (tagval_get, tagval_eq, tagval_eqi,
 * tagval_copy) and that values point into the input.  The data-driven
 * part walks t/vectors/tagval/ (under $T_SRCDIR, or the current
 * directory); see its README: each case holds "input" and "expected",
 * one "name=value" line per tag in order, or "error: CODE why".
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tagval.h"

#include "../lib/tap.h"

#define VECTOR_MAX 256

static const char *
code_name(int rc)
{
	switch (rc) {
	case TAGVAL_OK:
		return "OK";
	case TAGVAL_ESYNTAX:
		return "ESYNTAX";
	case TAGVAL_EDUP:
		return "EDUP";
	case TAGVAL_ETOOMANY:
		return "ETOOMANY";
	default:
		return "?";
	}
}

/* The README rendering of parsing s[0..len); malloc'd. */
static char *
parse_render(const char *s, size_t len)
{
	struct tagval_list l;
	const char *why = "unset";
	int rc = tagval_parse(s, len, &l, &why);
	struct buf b;

	buf_init(&b, 0);
	if (rc != TAGVAL_OK) {
		buf_printf(&b, "error: %s %s\n", code_name(rc),
		           why ? why : "(null)");
		return buf_steal(&b);
	}
	for (size_t i = 0; i < l.n; i++) {
		buf_printf(&b, "%s=", l.t[i].name);
		for (size_t k = 0; k < l.t[i].len; k++) {
			unsigned char c = (unsigned char)l.t[i].value[k];

			if (c == '\\')
				buf_puts(&b, "\\\\");
			else if (c < 0x20 || c >= 0x7f)
				buf_printf(&b, "\\x%02X", c);
			else
				buf_putc(&b, c);
		}
		buf_putc(&b, '\n');
	}
	return buf_steal(&b);
}

/* ---- accessors ---- */

static void
test_accessors(void)
{
	static const char in[] = " v=1; d=Example.COM ; s= sel ;e=;";
	struct tagval_list l;
	const char *why = "unset";
	char out[16];

	is_int(tagval_parse(in, sizeof(in) - 1, &l, &why), TAGVAL_OK, "parse");
	is_str(why, NULL, "why is NULL on success");
	is_int((long long)l.n, 4, "four tags");
	ok(tagval_get(&l, "d") == &l.t[1], "get d");
	ok(tagval_get(&l, "D") == NULL, "get is case-sensitive");
	ok(tagval_get(&l, "x") == NULL, "get absent");
	is_int(tagval_eq(tagval_get(&l, "d"), "Example.COM"), 1, "eq exact");
	is_int(tagval_eq(tagval_get(&l, "d"), "example.com"), 0,
	       "eq is case-sensitive");
	is_int(tagval_eqi(tagval_get(&l, "d"), "example.com"), 1, "eqi");
	is_int(tagval_eqi(tagval_get(&l, "d"), "example.co"), 0,
	       "eqi: shorter");
	is_int(tagval_eq(tagval_get(&l, "e"), ""), 1, "eq empty value");
	is_int(tagval_eq(NULL, "x"), 0, "eq NULL tag");
	is_int(tagval_eqi(NULL, "x"), 0, "eqi NULL tag");
	is_int(tagval_copy(tagval_get(&l, "s"), out, sizeof(out)), 0, "copy");
	is_str(out, "sel", "copy: trimmed value");
	is_int(tagval_copy(tagval_get(&l, "d"), out, 11), -1,
	       "copy: too small");
	is_int(tagval_copy(tagval_get(&l, "d"), out, 12), 0, "copy: fits");
	is_int(tagval_copy(NULL, out, sizeof(out)), -1, "copy: NULL tag");
	ok(l.t[1].value == in + 8 && l.t[1].len == 11,
	   "value borrowed from the input");
	is_int(tagval_parse("a=", 2, &l, NULL), TAGVAL_OK, "why may be NULL");
	is_int(tagval_parse("=", 1, &l, NULL), TAGVAL_ESYNTAX,
	       "why may be NULL on error");
}

static void
test_length_bound(void)
{
	/* The length bounds the input: what follows it is never read. */
	static const char in[] = "a=1; b=2";
	struct tagval_list l;

	is_int(tagval_parse(in, 3, &l, NULL), TAGVAL_OK, "prefix parses");
	is_int((long long)l.n, 1, "prefix: one tag");
	is_int(tagval_eq(&l.t[0], "1"), 1, "prefix: value");
}

/* ---- vectors ---- */

/* "a/b", malloc'd. */
static char *
join(const char *a, const char *b)
{
	struct buf p;

	buf_init(&p, 0);
	if (buf_printf(&p, "%s/%s", a, b) != BUF_OK)
		abort();
	return buf_steal(&p);
}

/* The whole file dir/name, malloc'd and NUL-terminated; NULL if absent. */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char *path = join(dir, name);
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	free(path);
	if (f == NULL)
		return NULL;
	buf_init(&b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(&b, chunk, n) != BUF_OK)
			break;
	fclose(f);
	if (b.data == NULL)
		buf_puts(&b, "");
	if (len != NULL)
		*len = b.len;
	return buf_steal(&b);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The case directories under dir, sorted; their count, or -1. */
static int
list_cases(const char *dir, char **names, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && n < max) {
		char *cdir = join(dir, e->d_name);
		char *in =
		    e->d_name[0] != '.' ? slurp(cdir, "input", NULL) : NULL;

		if (in != NULL)
			names[n++] = strdup(e->d_name);
		free(in);
		free(cdir);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_names);
	return n;
}

static void
run_vector(const char *dir, const char *name)
{
	char *cdir = join(dir, name);
	size_t len;
	char *in = slurp(cdir, "input", &len);
	char *want = slurp(cdir, "expected", NULL);
	char *got = parse_render(in, len);

	is_str(got, want, "vector %s", name);
	free(in);
	free(want);
	free(got);
	free(cdir);
}

static void
test_vectors(void)
{
	const char *src = getenv("T_SRCDIR");
	char *dir =
	    join(src != NULL && *src != '\0' ? src : ".", "t/vectors/tagval");
	char *names[VECTOR_MAX];
	int n = list_cases(dir, names, VECTOR_MAX);

	if (ok(n >= 25, "vector cases found in %s (%d)", dir, n)) {
		for (int i = 0; i < n; i++)
			run_vector(dir, names[i]);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(dir);
}

int
main(void)
{
	test_accessors();
	test_length_bound();
	test_vectors();
	return done_testing();
}
