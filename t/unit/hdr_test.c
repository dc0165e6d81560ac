/*
 * hdr_test: header field storage and the From parser.
 *
 * Tables pin what hdr_add() stores (CRLF normalisation, caps, names) and
 * that stored fields never move.  The data-driven part walks
 * t/vectors/from/ (under $T_SRCDIR, or the current directory); see its
 * README for the case format and the rendering of a struct hdr_from:
 *
 *     status=S domain=D naddrs=N address=A[ nfields=N][ why=W]
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hdr.h"

#include "../lib/tap.h"
#include "../lib/vectors.h"

static const char *const case_files[] = {"input", "fields", NULL};

#define VECTOR_MAX 512

/* ---- storage ---- */

static void
test_add_normalise(void)
{
	static const struct {
		const char *name, *value, *raw;
	} cases[] = {
	    {"Subject", " hi", "Subject: hi"},
	    {"Subject", "", "Subject:"},
	    {"Subject", " a\n b", "Subject: a\r\n b"},
	    {"Subject", " a\r\n b", "Subject: a\r\n b"},
	    {"Subject", " a\n b\r\n\tc", "Subject: a\r\n b\r\n\tc"},
	    {"Subject", " a\rb", "Subject: a\rb"},
	    {"Subject", "\n b", "Subject:\r\n b"},
	    {"Subject", " a\n\n", "Subject: a\r\n\r\n"},
	    {"Subject", " a\r\r\n b", "Subject: a\r\r\n b"},
	    {"From ", " x@example.com", "From : x@example.com"},
	    {"X", "no-space", "X:no-space"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hdr *h = hdr_new(10, 1000);
		const struct hdr_field *f;
		const char *v;
		size_t vlen;

		is_int(hdr_add(h, cases[i].name, cases[i].value), HDR_OK,
		       "add case %zu", i);
		f = hdr_get(h, 0);
		is_str(f->raw, cases[i].raw, "raw case %zu", i);
		is_int((long long)f->rawlen, (long long)strlen(cases[i].raw),
		       "rawlen case %zu", i);
		is_int((long long)f->namelen, (long long)strlen(cases[i].name),
		       "namelen case %zu", i);
		v = hdr_value(f, &vlen);
		is_int(v == f->raw + f->namelen + 1 &&
		           vlen == f->rawlen - f->namelen - 1,
		       1, "value span case %zu", i);
		hdr_free(h);
	}
}

static void
test_is(void)
{
	static const struct {
		const char *field, *name;
		int want;
	} cases[] = {
	    {"From", "From", 1},      {"FROM", "from", 1},
	    {"from", "FrOm", 1},      {"From ", "From", 1},
	    {"From\t \t", "from", 1}, {"From-X", "From", 0},
	    {"Fro", "From", 0},       {"From", "Fro", 0},
	    {" From", "From", 0},     {"From", "From ", 0},
	    {"X-From", "From", 0},    {"DKIM-Signature", "dkim-signature", 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hdr *h = hdr_new(10, 1000);

		hdr_add(h, cases[i].field, " v");
		is_int(hdr_is(hdr_get(h, 0), cases[i].name), cases[i].want,
		       "hdr_is(\"%s\", \"%s\")", cases[i].field, cases[i].name);
		hdr_free(h);
	}
}

static void
test_caps(void)
{
	struct hdr *h = hdr_new(2, 1000);

	is_int(hdr_add(h, "A", " 1"), HDR_OK, "fields cap: first");
	is_int(hdr_add(h, "B", " 2"), HDR_OK, "fields cap: second");
	is_int(hdr_overflowed(h), 0, "fields cap: not yet overflowed");
	is_int(hdr_add(h, "C", " 3"), HDR_EFULL, "fields cap: third refused");
	is_int((long long)hdr_count(h), 2, "fields cap: count");
	is_int(hdr_overflowed(h), 1, "fields cap: overflowed");
	hdr_free(h);

	h = hdr_new(10, 10);
	is_int(hdr_add(h, "A", "12345678"), HDR_OK, "bytes cap: exact fit");
	is_int(hdr_add(h, "B", ""), HDR_EFULL, "bytes cap: one more");
	is_int(hdr_overflowed(h), 1, "bytes cap: overflowed");
	hdr_free(h);

	/* The cap counts bytes after LF -> CRLF. */
	h = hdr_new(10, 6);
	is_int(hdr_add(h, "A", " a\n b"), HDR_EFULL, "bytes cap: normalised");
	hdr_free(h);

	h = hdr_new(0, 0);
	is_int(hdr_add(h, "A", ""), HDR_EFULL, "zero caps refuse");
	is_int((long long)hdr_count(h), 0, "zero caps: nothing kept");
	is_int(hdr_get(h, 0) == NULL, 1, "hdr_get past the end is NULL");
	hdr_free(h);
	hdr_free(NULL);
	ok(1, "hdr_free(NULL)");
}

/* Field i of the stability test: a size that crosses chunk boundaries. */
static void
make_value(struct buf *b, size_t i)
{
	size_t n = i % 97 == 0 ? 20000 + i : i % 50;

	buf_reset(b);
	buf_printf(b, " v%zu ", i);
	for (size_t k = 0; k < n; k++)
		buf_putc(b, 'a' + (int)(k % 26));
	if (i % 7 == 0)
		buf_puts(b, "\n folded");
}

static void
test_stable(void)
{
	enum { N = 3000 };
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	const struct hdr_field *first = NULL;
	const char *first_raw = NULL;
	struct buf b;
	int bad = 0;

	buf_init(&b, 0);
	for (size_t i = 0; i < N; i++) {
		make_value(&b, i);
		if (hdr_add(h, "X-Test", buf_cstr(&b)) != HDR_OK)
			bad++;
		if (i == 0) {
			first = hdr_get(h, 0);
			first_raw = first->raw;
		}
	}
	is_int(bad, 0, "stable: every field added");
	is_int((long long)hdr_count(h), N, "stable: count");
	ok(hdr_get(h, 0) == first && first->raw == first_raw,
	   "stable: field 0 did not move");
	for (size_t i = 0; i < N; i++) {
		const struct hdr_field *f = hdr_get(h, i);
		struct buf want;

		make_value(&b, i);
		buf_init(&want, 0);
		buf_puts(&want, "X-Test:");
		for (const char *p = buf_cstr(&b); *p != '\0'; p++)
			if (*p == '\n')
				buf_puts(&want, "\r\n");
			else
				buf_putc(&want, *p);
		if (f == NULL || f->rawlen != want.len ||
		    memcmp(f->raw, want.data, want.len) != 0 ||
		    f->raw[f->rawlen] != '\0')
			bad++;
		buf_free(&want);
	}
	is_int(bad, 0, "stable: every field intact");
	is_int(hdr_overflowed(h), 0, "stable: no overflow");
	buf_free(&b);
	hdr_free(h);
}

/* ---- From: rendering and direct cases ---- */

static const char *
status_name(enum hdr_from_status s)
{
	switch (s) {
	case HDR_FROM_OK:
		return "OK";
	case HDR_FROM_NONE:
		return "NONE";
	case HDR_FROM_MULTIPLE_FIELDS:
		return "MULTIPLE_FIELDS";
	case HDR_FROM_MULTIPLE_DOMAINS:
		return "MULTIPLE_DOMAINS";
	case HDR_FROM_NO_DOMAIN:
		return "NO_DOMAIN";
	case HDR_FROM_SYNTAX:
		return "SYNTAX";
	}
	return "?";
}

/* s with '\' doubled and bytes below 0x20 and 0x7f as \xHH. */
static void
render_esc(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			buf_puts(b, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02X", c);
		else
			buf_putc(b, c);
	}
}

/* The rendering of README; malloc'd. */
static char *
render(const struct hdr_from *r)
{
	struct buf b;

	buf_init(&b, 0);
	buf_printf(&b, "status=%s domain=", status_name(r->status));
	render_esc(&b, r->domain);
	buf_printf(&b, " naddrs=%u address=", r->naddrs);
	render_esc(&b, r->address);
	if (r->nfields != 1)
		buf_printf(&b, " nfields=%u", r->nfields);
	if (r->status != HDR_FROM_OK)
		buf_printf(&b, " why=%s", r->why);
	buf_putc(&b, '\n');
	return buf_steal(&b);
}

static void
test_from_refused(void)
{
	struct hdr *h = hdr_new(2, 1000);
	struct hdr_from r;

	hdr_add(h, "From", " a@bank.example");
	hdr_add(h, "Subject", " x");
	is_int(hdr_add(h, "From ", " b@evil.example"), HDR_EFULL,
	       "refused From: refused");
	hdr_from(h, &r);
	is_int(r.status, HDR_FROM_MULTIPLE_FIELDS,
	       "refused second From: MULTIPLE_FIELDS");
	is_int(r.nfields, 2, "refused second From: nfields");
	hdr_free(h);

	h = hdr_new(10, 20);
	hdr_add(h, "Subject", " 0123456789");
	is_int(hdr_add(h, "FROM", " a@bank.example"), HDR_EFULL,
	       "refused only From: refused");
	hdr_add(h, "X", "");
	hdr_from(h, &r);
	is_int(r.status, HDR_FROM_SYNTAX, "refused only From: SYNTAX");
	is_str(r.why, "From field was not kept", "refused only From: why");
	is_str(r.domain, "", "refused only From: no domain");
	hdr_free(h);

	h = hdr_new(1, 1000);
	hdr_add(h, "Subject", " x");
	hdr_add(h, "To", " a@bank.example");
	hdr_from(h, &r);
	is_int(r.status, HDR_FROM_NONE, "refused other field: still NONE");
	hdr_free(h);
}

static void
test_from_direct(void)
{
	struct hdr *h = hdr_new(10, 1000);
	struct hdr_from r;

	hdr_from(h, &r);
	is_int(r.status, HDR_FROM_NONE, "empty header: NONE");
	is_int(r.nfields, 0, "empty header: nfields");
	is_str(r.why, "no From field", "empty header: why");
	hdr_add(h, "From", " Alice <alice@Example.COM>");
	hdr_from(h, &r);
	is_int(r.status, HDR_FROM_OK, "one From: OK");
	is_str(r.domain, "example.com", "one From: domain lower-cased");
	is_str(r.address, "alice@Example.COM", "one From: address as written");
	is_str(r.why, "", "one From: why is empty");
	hdr_from_value(" a@b.example", 12, &r);
	is_int(r.nfields, 1, "hdr_from_value: nfields 1");
	/* The length bounds the value: no read past it. */
	hdr_from_value(" a@b.example, c@d.example", 12, &r);
	is_str(r.domain, "b.example", "hdr_from_value honours len");
	hdr_free(h);
}

/* ---- vectors ---- */

/* Add the fields of a header section (README: "fields") to h. */
static void
add_fields(struct hdr *h, const char *s, size_t len)
{
	size_t pos = 0;

	while (pos < len && s[pos] != '\n' && s[pos] != '\r') {
		size_t e = pos, next, colon;
		char *name, *value;

		/* A field ends at a line break not followed by WSP. */
		while (e < len && !(s[e] == '\n' &&
		                    (e + 1 >= len ||
		                     (s[e + 1] != ' ' && s[e + 1] != '\t'))))
			e++;
		next = e < len ? e + 1 : e;
		if (e > pos && s[e - 1] == '\r' && e < len)
			e--;
		for (colon = pos; colon < e && s[colon] != ':'; colon++)
			;
		if (colon < e) {
			name = strndup(s + pos, colon - pos);
			value = strndup(s + colon + 1, e - colon - 1);
			if (hdr_add(h, name, value) != HDR_OK)
				abort();
			free(name);
			free(value);
		}
		pos = next;
	}
}

static void
run_vector(const char *dir, const char *name)
{
	char *cdir = tv_join(dir, name), *in, *fields, *want, *got = NULL;
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	struct hdr_from r;
	size_t len;

	in = tv_slurp(cdir, "input", &len);
	fields = in == NULL ? tv_slurp(cdir, "fields", &len) : NULL;
	want = tv_slurp(cdir, "expected", NULL);
	if (in != NULL) {
		hdr_from_value(in, len, &r);
		got = render(&r);
		/* The same value through hdr_add() and hdr_from(). */
		if (strlen(in) == len && hdr_add(h, "From", in) == HDR_OK) {
			char *again;

			hdr_from(h, &r);
			again = render(&r);
			is_str(again, got, "vector %s: hdr_from agrees", name);
			free(again);
		}
	} else {
		add_fields(h, fields, len);
		hdr_from(h, &r);
		got = render(&r);
	}
	is_str(got, want, "vector %s", name);
	free(in);
	free(fields);
	free(want);
	free(got);
	free(cdir);
	hdr_free(h);
}

static void
test_vectors(void)
{
	const char *src = getenv("T_SRCDIR");
	char *dir =
	    tv_join(src != NULL && *src != '\0' ? src : ".", "t/vectors/from");
	char *names[VECTOR_MAX];
	int n = tv_list_cases(dir, case_files, names, VECTOR_MAX);

	if (ok(n >= 40, "vector cases found in %s (%d)", dir, n)) {
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
	test_add_normalise();
	test_is();
	test_caps();
	test_stable();
	test_from_direct();
	test_from_refused();
	test_vectors();
	return done_testing();
}
