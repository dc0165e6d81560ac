/*
 * Unit tests for canon: header and body canonicalization (RFC 6376
 * section 3.4).  Tables of named cases; every body case is fed in one
 * chunk, one and two bytes at a time and in pseudo-random splits, and
 * every chunking must give the same bytes.  The data-driven part walks
 * t/vectors/canon/ under $T_SRCDIR (see its README).  A reference
 * canonicalizer written the obvious way (whole body, line by line)
 * checks the streaming one on random bodies.  The throughput of both
 * algorithms is printed as a diagnostic, not asserted.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "canon.h"
#include "clock.h"
#include "../lib/tap.h"

#ifndef CANON_TEST_SRCDIR
#define CANON_TEST_SRCDIR "."
#endif
#define VECTOR_MAX 256
#define NCHUNKINGS 7   /* ways run_body() cuts a body: chunk_size() */
#define RANDOM_MAX 512 /* longest random body */

/* What a sink collected. */
struct got {
	struct buf out;
	unsigned calls;
};

static void
collect(void *arg, const unsigned char *p, size_t n)
{
	struct got *g = arg;

	g->calls++;
	if (n == 0 || buf_append(&g->out, p, n) != BUF_OK)
		g->out.len = SIZE_MAX; /* poison: an empty run or no memory */
}

/* A small xorshift generator: the same splits on every run. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Size of the next chunk for chunking mode m (0: all at once). */
static size_t
chunk_size(int m, uint32_t *seed, size_t left)
{
	size_t k;

	switch (m) {
	case 0:
		k = left;
		break;
	case 1:
	case 2:
	case 3:
		k = (size_t)m;
		break;
	default:
		k = rnd(seed) % (m == 6 ? 300 : 9);
		break;
	}
	return k < left ? k : left;
}

/* Canonicalize a body fed in chunks of mode m; returns the output as a
 * malloc'd copy, its length in *len (SIZE_MAX on a sink misuse). */
static char *
run_body(enum canon c, const void *in, size_t n, int m, size_t *len)
{
	struct got g = {{0}, 0};
	struct canon_body *cb = canon_body_new(c, collect, &g);
	const unsigned char *p = in;
	uint32_t seed = 2463534242u + (uint32_t)m;

	if (cb == NULL)
		return NULL;
	while (n > 0) {
		size_t k = chunk_size(m, &seed, n);

		canon_body_update(cb, p, k); /* k == 0 tests empty updates */
		p += k;
		n -= k;
	}
	canon_body_final(cb);
	canon_body_free(cb);
	*len = g.out.len;
	if (g.out.len == SIZE_MAX)
		g.out.len = 0;
	return buf_steal(&g.out);
}

/* Bytes as a C-escaped string for "got X, want Y" (malloc'd). */
static char *
show(const char *p, size_t n)
{
	struct buf b;

	buf_init(&b, 0);
	if (n == SIZE_MAX)
		buf_puts(&b, "(sink got an empty run)");
	for (size_t i = 0; n != SIZE_MAX && i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '\r')
			buf_puts(&b, "\\r");
		else if (ch == '\n')
			buf_puts(&b, "\\n");
		else if (ch == '\t')
			buf_puts(&b, "\\t");
		else if (ch < 0x20 || ch >= 0x7f || ch == '\\')
			buf_printf(&b, "\\x%02x", ch);
		else
			buf_putc(&b, ch);
	}
	return buf_steal(&b);
}

/* Check one body in every chunking against want. */
static void
check_body(const char *name, enum canon c, const void *in, size_t n,
           const void *want, size_t wantlen)
{
	char *w = show(want, wantlen);

	for (int m = 0; m < NCHUNKINGS; m++) {
		size_t len = 0;
		char *out = run_body(c, in, n, m, &len);
		char *g = out != NULL ? show(out, len) : NULL;

		is_str(g, w, "%s: %s body, chunking %d", name, canon_name(c),
		       m);
		free(g);
		free(out);
	}
	free(w);
}

struct body_case {
	const char *name;
	const char *in;
	const char *simple;
	const char *relaxed;
};

/* Section 3.4.5 and the cases other implementations got wrong. */
static const struct body_case body_cases[] = {
    {"rfc 3.4.5 example", " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n",
     " C\r\nD E\r\n"},
    {"empty body", "", "\r\n", ""},
    {"only CRLF", "\r\n", "\r\n", ""},
    {"only CRLF CRLF", "\r\n\r\n", "\r\n", ""},
    {"no final CRLF", "abc", "abc\r\n", "abc\r\n"},
    {"trailing WSP before CRLF", "a \t\r\n", "a \t\r\n", "a\r\n"},
    {"WSP-only lines are trailing empty lines", "a\r\n \r\n\t \r\n",
     "a\r\n \r\n\t \r\n", "a\r\n"},
    {"WSP-only lines in the middle", "a\r\n \r\nb\r\n", "a\r\n \r\nb\r\n",
     "a\r\n\r\nb\r\n"},
    {"WSP-only body", " \t ", " \t \r\n", ""},
    {"WSP on a last line without CRLF", "a  ", "a  \r\n", "a\r\n"},
    {"WSP runs", "a  b\t\tc", "a  b\t\tc\r\n", "a b c\r\n"},
    {"leading WSP kept as one SP", "\t\ta", "\t\ta\r\n", " a\r\n"},
    {"bare LF", "a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n"},
    {"bare LF after WSP", "a \n", "a \r\n", "a\r\n"},
    {"lone CR is data", "a\rb\r\n", "a\rb\r\n", "a\rb\r\n"},
    {"CR CR LF", "a\r\r\n", "a\r\r\n", "a\r\r\n"},
    {"lone CR at the end is data", "a\r", "a\r\r\n", "a\r\r\n"},
    {"lone CR alone", "\r", "\r\r\n", "\r\r\n"},
    {"WSP around a lone CR", "a \r b\r\n", "a \r b\r\n", "a \r b\r\n"},
    {"WSP then CR at the end", "a \r", "a \r\r\n", "a \r\r\n"},
    {"empty lines then data", "\r\n\r\na\r\n\r\n", "\r\n\r\na\r\n",
     "\r\n\r\na\r\n"},
    {"WSP line then data", "a \r\n \r\n b\r\n", "a \r\n \r\n b\r\n",
     "a\r\n\r\n b\r\n"},
};

static void
test_body_table(void)
{
	for (size_t i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]);
	     i++) {
		const struct body_case *t = &body_cases[i];

		check_body(t->name, CANON_SIMPLE, t->in, strlen(t->in),
		           t->simple, strlen(t->simple));
		check_body(t->name, CANON_RELAXED, t->in, strlen(t->in),
		           t->relaxed, strlen(t->relaxed));
	}
}

/* Many held empty lines across chunks: counted, released in bulk. */
static void
test_body_many_empty_lines(void)
{
	size_t n = 100000, len = 0;
	struct buf in, want;
	char *out;

	buf_init(&in, 0);
	buf_init(&want, 0);
	buf_puts(&in, "x\r\n");
	for (size_t i = 0; i < n; i++)
		buf_puts(&in, i % 2 ? "\r\n" : " \n");
	buf_puts(&in, "y");
	buf_puts(&want, "x\r\n");
	for (size_t i = 0; i < n; i++)
		buf_puts(&want, "\r\n");
	buf_puts(&want, "y\r\n");
	out = run_body(CANON_RELAXED, in.data, in.len, 3, &len);
	ok(out != NULL && len == want.len && memcmp(out, want.data, len) == 0,
	   "100000 WSP-only and empty lines held across 3-byte chunks");
	free(out);
	buf_free(&in);
	buf_free(&want);
}

/* Ordinary CRLF text reaches the sink in one run per chunk. */
static void
test_body_runs(void)
{
	static const char line[] = "Hello world, this is a line of text.\r\n";
	struct buf in;

	buf_init(&in, 0);
	for (int i = 0; i < 1000; i++)
		buf_puts(&in, line);
	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		struct got g = {{0}, 0};
		struct canon_body *cb = canon_body_new(c, collect, &g);

		canon_body_update(cb, (const unsigned char *)in.data, in.len);
		is_int(g.calls, 1, "%s: one sink call for a chunk of text",
		       canon_name(c));
		canon_body_final(cb);
		is_int((long long)g.out.len, (long long)in.len,
		       "%s: text comes out unchanged", canon_name(c));
		canon_body_free(cb);
		buf_free(&g.out);
	}
	buf_free(&in);
}

/* The reference: one line at a time over the whole body. */
static void
ref_line(enum canon c, struct buf *line)
{
	size_t j = 0;

	if (c == CANON_SIMPLE)
		return;
	for (size_t i = 0; i < line->len; i++) {
		char ch = line->data[i];
		int wsp = ch == ' ' || ch == '\t';

		if (wsp && j > 0 && line->data[j - 1] == ' ')
			continue;
		line->data[j++] = wsp ? ' ' : ch;
	}
	if (j > 0 && line->data[j - 1] == ' ')
		j--;
	buf_truncate(line, j);
}

static void
ref_body(enum canon c, const char *p, size_t n, struct buf *out)
{
	struct buf line;
	size_t i = 0, empty = 0;
	int any = 0;

	buf_init(&line, 0);
	while (i < n) {
		buf_reset(&line);
		while (i < n && p[i] != '\n' &&
		       !(p[i] == '\r' && i + 1 < n && p[i + 1] == '\n'))
			buf_putc(&line, p[i++]);
		i += i < n ? (p[i] == '\r' ? 2 : 1) : 0;
		ref_line(c, &line);
		if (line.len == 0) {
			empty++;
			continue;
		}
		for (; empty > 0; empty--)
			buf_puts(out, "\r\n");
		buf_append(out, line.data, line.len);
		buf_puts(out, "\r\n");
		any = 1;
	}
	if (!any && c == CANON_SIMPLE)
		buf_puts(out, "\r\n");
	buf_free(&line);
}

/* One random body of up to max bytes from alphabet, checked against
 * the reference in every chunking; returns how many chunkings failed. */
static int
random_body(const char *alphabet, size_t max, uint32_t *seed)
{
	char in[RANDOM_MAX];
	size_t n = rnd(seed) % (max + 1), na = strlen(alphabet);
	int bad = 0;

	for (size_t i = 0; i < n; i++)
		in[i] = alphabet[rnd(seed) % na];
	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		struct buf want;

		buf_init(&want, 0);
		ref_body(c, in, n, &want);
		for (int m = 0; m < NCHUNKINGS; m++) {
			size_t len = 0;
			char *out = run_body(c, in, n, m, &len);

			if (out == NULL || len != want.len ||
			    (len > 0 && memcmp(out, want.data, len) != 0)) {
				char *a = show(in, n);

				diag("%s, chunking %d, input \"%s\"",
				     canon_name(c), m, a);
				free(a);
				bad++;
			}
			free(out);
		}
		buf_free(&want);
	}
	return bad;
}

/* Random bodies: dense in line ends and WSP, and long runs of text
 * with a few (the word-at-a-time scanner's path). */
static void
test_body_random(void)
{
	uint32_t seed = 88172645u;
	int bad = 0, cases = 3000;

	for (int k = 0; k < cases && bad < 5; k++)
		bad += random_body("ab \t\r\n\r\n \t", 64, &seed);
	is_int(bad, 0, "%d short random bodies agree with the reference",
	       cases);
	bad = 0;
	for (int k = 0; k < cases && bad < 5; k++)
		bad += random_body("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLM"
		                   "NOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz "
		                   "\r\n\t \x80\xff",
		                   RANDOM_MAX, &seed);
	is_int(bad, 0, "%d long random bodies agree with the reference", cases);
}

struct header_case {
	const char *name;
	enum canon c;
	const char *in;
	bool crlf;
	const char *want;
};

static const struct header_case header_cases[] = {
    {"rfc 3.4.5 A relaxed", CANON_RELAXED, "A: X", true, "a:X\r\n"},
    {"rfc 3.4.5 B relaxed", CANON_RELAXED, "B : Y\t\r\n\tZ  ", true,
     "b:Y Z\r\n"},
    {"rfc 3.4.5 A simple", CANON_SIMPLE, "A: X", true, "A: X\r\n"},
    {"rfc 3.4.5 B simple", CANON_SIMPLE, "B : Y\t\r\n\tZ  ", true,
     "B : Y\t\r\n\tZ  \r\n"},
    {"rfc 3.4.2 SUBJect", CANON_RELAXED, "SUBJect: AbC", true,
     "subject:AbC\r\n"},
    {"signature field without CRLF, relaxed", CANON_RELAXED,
     "DKIM-Signature: a=rsa-sha256;\r\n\tbh=x=; b=", false,
     "dkim-signature:a=rsa-sha256; bh=x=; b="},
    {"signature field without CRLF, simple", CANON_SIMPLE,
     "DKIM-Signature: a=rsa-sha256;\r\n\tb=", false,
     "DKIM-Signature: a=rsa-sha256;\r\n\tb="},
    {"fold right after the colon", CANON_RELAXED, "Name:\r\n\tValue", true,
     "name:Value\r\n"},
    {"WSP-only value", CANON_RELAXED, "X: \t\r\n ", true, "x:\r\n"},
    {"empty value", CANON_RELAXED, "X:", true, "x:\r\n"},
    {"colons in the value", CANON_RELAXED, "To: a:b  : c", true,
     "to:a:b : c\r\n"},
    {"bare LF folding", CANON_RELAXED, "X: a\n\tb", true, "x:a b\r\n"},
    {"lone CR is data", CANON_RELAXED, "X: a\rb ", true, "x:a\rb\r\n"},
    {"only ASCII is lower-cased", CANON_RELAXED, "\xc3\x89X: \xc3\x89", true,
     "\xc3\x89x:\xc3\x89\r\n"},
    {"no colon (hdr.c never gives one)", CANON_RELAXED, "Foo  Bar ", true,
     "foo bar\r\n"},
    {"empty field", CANON_RELAXED, "", false, ""},
    {"empty field, simple", CANON_SIMPLE, "", true, "\r\n"},
};

static void
test_header_table(void)
{
	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]);
	     i++) {
		const struct header_case *t = &header_cases[i];
		struct buf b;
		char *g, *w;
		int rc;

		buf_init(&b, 0);
		buf_puts(&b, "<");
		rc = canon_header(t->c, t->in, strlen(t->in), t->crlf, &b);
		is_int(rc, BUF_OK, "%s: returns 0", t->name);
		g = show(b.data + 1, b.len - 1);
		w = show(t->want, strlen(t->want));
		is_str(g, w, "%s: appended after what the buffer held",
		       t->name);
		free(g);
		free(w);
		buf_free(&b);
	}
}

/* A field that does not fit under the cap leaves the buffer as it was;
 * one that fits only once relaxed still fits. */
static void
test_header_cap(void)
{
	struct buf b;

	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		buf_init(&b, 5);
		buf_puts(&b, "ab");
		is_int(canon_header(c, "A: X", 4, true, &b), BUF_E2BIG,
		       "%s: over the cap", canon_name(c));
		is_str(buf_cstr(&b), "ab", "%s: refused field changes nothing",
		       canon_name(c));
		buf_free(&b);
	}
	buf_init(&b, 6);
	is_int(canon_header(CANON_RELAXED, "A:     X   ", 11, true, &b), BUF_OK,
	       "relaxed output under the cap, input over it");
	is_str(buf_cstr(&b), "a:X\r\n", "relaxed output under the cap");
	buf_free(&b);
}

static void
test_parse_name(void)
{
	is_int(canon_parse("simple", 6), CANON_SIMPLE, "parse simple");
	is_int(canon_parse("relaxed", 7), CANON_RELAXED, "parse relaxed");
	is_int(canon_parse("Relaxed", 7), CANON_RELAXED, "parse is caseless");
	is_int(canon_parse("relaxedx", 7), CANON_RELAXED, "parse takes len");
	is_int(canon_parse("relax", 5), -1, "parse a prefix");
	is_int(canon_parse("nofws", 5), -1, "parse an unknown name");
	is_int(canon_parse("", 0), -1, "parse empty");
	is_str(canon_name(CANON_SIMPLE), "simple", "name simple");
	is_str(canon_name(CANON_RELAXED), "relaxed", "name relaxed");
}

/* The whole of file dir/name/file, or NULL; its length in *len. */
static char *
slurp(const char *dir, const char *name, const char *file, size_t *len)
{
	char path[4096];
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file);
	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	if (b.data == NULL)
		buf_reserve(&b, 1);
	return buf_steal(&b);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Case directory names under dir, sorted; returns how many. */
static int
list_cases(const char *dir, char **names, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max)
		if (e->d_name[0] != '.' && strcmp(e->d_name, "README") != 0)
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmpstr);
	return n;
}

/* One header vector: both algorithms. */
static void
run_header_vector(const char *dir, const char *name, const char *in, size_t n)
{
	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		size_t wl = 0;
		char *want = slurp(dir, name, canon_name(c), &wl);
		struct buf b;
		char *g, *w;

		buf_init(&b, 0);
		if (!ok(want != NULL && canon_header(c, in, n, true, &b) == 0,
		        "vector %s: %s file and canon_header", name,
		        canon_name(c))) {
			free(want);
			continue;
		}
		g = show(b.data, b.len);
		w = show(want, wl);
		is_str(g, w, "vector %s: %s header", name, canon_name(c));
		free(g);
		free(w);
		free(want);
		buf_free(&b);
	}
}

static void
run_vector(const char *dir, const char *name)
{
	size_t n = 0, wl = 0;
	char *in = slurp(dir, name, "body", &n);

	if (in == NULL) {
		if ((in = slurp(dir, name, "header", &n)) == NULL)
			ok(0, "vector %s: has a body or header file", name);
		else
			run_header_vector(dir, name, in, n);
		free(in);
		return;
	}
	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		char *want = slurp(dir, name, canon_name(c), &wl);

		if (ok(want != NULL, "vector %s: has a %s file", name,
		       canon_name(c)))
			check_body(name, c, in, n, want, wl);
		free(want);
	}
	free(in);
}

static void
test_vectors(void)
{
	const char *src = getenv("T_SRCDIR");
	char dir[4096];
	char *names[VECTOR_MAX];
	int n;

	snprintf(dir, sizeof(dir), "%s/t/vectors/canon",
	         src != NULL && *src != '\0' ? src : CANON_TEST_SRCDIR);
	n = list_cases(dir, names, VECTOR_MAX);
	ok(n >= 25, "vector cases found in %s (%d)", dir, n);
	for (int i = 0; i < n; i++) {
		run_vector(dir, names[i]);
		free(names[i]);
	}
}

static void
count_sink(void *arg, const unsigned char *p, size_t n)
{
	(void)p;
	*(uint64_t *)arg += n;
}

/* Typical text: lines of words, a few double spaces and tabs. */
static void
make_text(struct buf *b, size_t size)
{
	static const char *words[] = {
	    "the",      "message", "body",      "of",         "an",
	    "ordinary", "mail",    "with",      "words",      "and",
	    "numbers",  "1234",    "signature", "example.com"};
	uint32_t seed = 1;
	size_t col = 0;

	while (b->len < size) {
		const char *w = words[rnd(&seed) % 14];

		buf_puts(b, w);
		col += strlen(w) + 1;
		if (col > 66) {
			buf_puts(b, "\r\n");
			col = 0;
		} else {
			buf_puts(b, rnd(&seed) % 50 == 0 ? "  " : " ");
		}
	}
}

static void
test_throughput(void)
{
	struct buf text;
	const size_t chunk = 65536;

	buf_init(&text, 0);
	make_text(&text, 16 << 20);
	for (int c = CANON_SIMPLE; c <= CANON_RELAXED; c++) {
		uint64_t total = 0;
		int64_t t0 = clock_ms(), ms;
		int rounds = 0;

		do {
			struct canon_body *cb =
			    canon_body_new(c, count_sink, &total);

			for (size_t off = 0; off < text.len; off += chunk)
				canon_body_update(
				    cb, (const unsigned char *)text.data + off,
				    text.len - off < chunk ? text.len - off
				                           : chunk);
			canon_body_final(cb);
			canon_body_free(cb);
			rounds++;
			ms = clock_ms() - t0;
		} while (ms < 300);
		diag("%s body canonicalization: %.0f MB/s (%d x %zu bytes, "
		     "64 KiB chunks)",
		     canon_name(c), (double)text.len * rounds / 1e3 / (ms + 1),
		     rounds, text.len);
		ok(total >= text.len * rounds * 9 / 10,
		   "%s: throughput run emitted its bytes", canon_name(c));
	}
	buf_free(&text);
}

int
main(void)
{
	test_parse_name();
	test_header_table();
	test_header_cap();
	test_body_table();
	test_body_many_empty_lines();
	test_body_runs();
	test_body_random();
	test_vectors();
	test_throughput();
	return done_testing();
}
