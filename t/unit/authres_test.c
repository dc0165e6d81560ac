/*
 * authres_test: Authentication-Results formatting and parsing.
 *
 * Tables pin the exact bytes authres_format() writes and what
 * authres_read_id() / authres_is_ours() make of odd headers.  The
 * data-driven part walks t/vectors/authres/ (under $T_SRCDIR, or the
 * current directory): each case directory holds "input" and either
 * "expected" (the rendering below) or "error" (parse must fail), and
 * optionally "ours" ("yes" or "no": authres_is_ours() against
 * VECTOR_OUR_ID).  The rendering of a parse, one line each:
 *
 *     id=Q version=N[ none]
 *     METHOD=RESULT reason=(Q|-) props:[ PTYPE.PROPERTY=Q]...
 *
 * where Q is the string in double quotes with '\' and '"' escaped by a
 * backslash and bytes below 0x20 and 0x7f written as \xHH.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "buf.h"
#include "result.h"

#include "../lib/tap.h"
#include "../lib/vectors.h"

#ifndef AUTHRES_TEST_SRCDIR
#define AUTHRES_TEST_SRCDIR "."
#endif

#define OUR_ID        "mx.example.net"
#define VECTOR_OUR_ID OUR_ID
static const char *const case_files[] = {"input", NULL};

#define VECTOR_MAX    256

/* ---- helpers ---- */

/* Format rs with id and fold; a malloc'd string, or NULL on error. */
static char *
format(const char *id, const struct resultset *rs, const char *fold)
{
	struct buf b;

	buf_init(&b, 0);
	if (authres_format(id, rs, fold, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* A set holding one result of method m with result r. */
static struct resultset *
one_result(enum ar_method m, enum ar_result r, struct result **res)
{
	struct resultset *rs = resultset_new();

	if (rs == NULL || (*res = resultset_add(rs, m, r)) == NULL)
		abort();
	return rs;
}

/* Append s in double quotes, escaped as the rendering says. */
static void
render_q(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\' || c == '"')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\x%02X", c);
		else
			buf_putc(b, c);
	}
	buf_putc(b, '"');
}

/* The canonical rendering of a parse (see the top of this file). */
static void
render(const struct authres_parsed *p, struct buf *b)
{
	buf_puts(b, "id=");
	render_q(b, p->authserv_id);
	buf_printf(b, " version=%u%s\n", p->version, p->none ? " none" : "");
	for (size_t i = 0; i < p->nresinfo; i++) {
		const struct authres_resinfo *ri = &p->resinfo[i];

		buf_printf(b, "%s=%s reason=", ri->method, ri->result);
		if (ri->reason != NULL)
			render_q(b, ri->reason);
		else
			buf_putc(b, '-');
		buf_puts(b, " props:");
		for (size_t j = 0; j < ri->nprops; j++) {
			buf_printf(b, " %s.%s=", ri->props[j].ptype,
			           ri->props[j].property);
			render_q(b, ri->props[j].value);
		}
		buf_putc(b, '\n');
	}
}

/* Parse s and render it; the rendering, or "error". Caller frees. */
static char *
parse_render(const char *s, size_t len)
{
	struct authres_parsed p;
	struct buf b;

	buf_init(&b, 0);
	if (authres_parse(s, len, &p) == 0)
		render(&p, &b);
	else
		buf_puts(&b, "error");
	authres_parsed_free(&p);
	return buf_steal(&b);
}

/* ---- formatting ---- */

static void
test_format_results(void)
{
	static const struct {
		enum ar_result r;
		const char *want;
	} cases[] = {
	    {AR_R_NONE, " mx.example.net;\n\tspf=none"},
	    {AR_R_PASS, " mx.example.net;\n\tspf=pass"},
	    {AR_R_FAIL, " mx.example.net;\n\tspf=fail"},
	    {AR_R_SOFTFAIL, " mx.example.net;\n\tspf=softfail"},
	    {AR_R_NEUTRAL, " mx.example.net;\n\tspf=neutral"},
	    {AR_R_TEMPERROR, " mx.example.net;\n\tspf=temperror"},
	    {AR_R_PERMERROR, " mx.example.net;\n\tspf=permerror"},
	    {AR_R_POLICY, " mx.example.net;\n\tspf=policy"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result *r;
		struct resultset *rs = one_result(AR_M_SPF, cases[i].r, &r);
		char *got = format(OUR_ID, rs, "\n\t");

		is_str(got, cases[i].want, "format result %s",
		       ar_result_name(cases[i].r));
		free(got);
		resultset_free(rs);
	}
}

static void
test_format_methods(void)
{
	static const struct {
		enum ar_method m;
		const char *want;
	} cases[] = {
	    {AR_M_IPREV, " mx.example.net;\n\tiprev=pass"},
	    {AR_M_AUTH, " mx.example.net;\n\tauth=pass"},
	    {AR_M_SPF, " mx.example.net;\n\tspf=pass"},
	    {AR_M_DKIM, " mx.example.net;\n\tdkim=pass"},
	    {AR_M_DMARC, " mx.example.net;\n\tdmarc=pass"},
	    {AR_M_ARC, " mx.example.net;\n\tarc=pass"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result *r;
		struct resultset *rs = one_result(cases[i].m, AR_R_PASS, &r);
		char *got = format(OUR_ID, rs, "\n\t");

		is_str(got, cases[i].want, "format method %s",
		       ar_method_name(cases[i].m));
		free(got);
		resultset_free(rs);
	}
}

static void
test_format_props(void)
{
	static const struct {
		const char *ptype, *property, *value, *want;
	} cases[] = {
	    {"header", "d", "example.com", "header.d=example.com"},
	    {"smtp", "mailfrom", "user@example.org",
	     "smtp.mailfrom=user@example.org"},
	    {"smtp", "mailfrom", "first.last+tag@mail.example.org",
	     "smtp.mailfrom=first.last+tag@mail.example.org"},
	    {"header", "i", "@example.org", "header.i=@example.org"},
	    {"smtp", "auth", "user", "smtp.auth=user"},
	    {"smtp", "remote-ip", "192.0.2.1", "smtp.remote-ip=192.0.2.1"},
	    {"smtp", "remote-ip", "2001:db8::1",
	     "smtp.remote-ip=\"2001:db8::1\""},
	    {"header", "b", "Ab+/9xYz", "header.b=\"Ab+/9xYz\""},
	    {"header", "from", "", "header.from=\"\""},
	    {"header", "from", "two words", "header.from=\"two words\""},
	    {"header", "from", "q\"uo\\te", "header.from=\"q\\\"uo\\\\te\""},
	    {"smtp", "mailfrom", "user@example",
	     "smtp.mailfrom=\"user@example\""},
	    {"smtp", "mailfrom", "a@@example.org",
	     "smtp.mailfrom=\"a@@example.org\""},
	    {"smtp", "mailfrom", ".a@example.org",
	     "smtp.mailfrom=\".a@example.org\""},
	    {"smtp", "mailfrom", "a..b@example.org",
	     "smtp.mailfrom=\"a..b@example.org\""},
	    {"smtp", "mailfrom", "a@example-.org",
	     "smtp.mailfrom=\"a@example-.org\""},
	    {"smtp", "mailfrom", "a@-example.org",
	     "smtp.mailfrom=\"a@-example.org\""},
	    {"smtp", "mailfrom", "a@example.org.",
	     "smtp.mailfrom=\"a@example.org.\""},
	    {"smtp", "mailfrom", "\"john smith\"@example.org",
	     "smtp.mailfrom=\"\\\"john smith\\\"@example.org\""},
	    {"smtp", "mailfrom", "x\r\ny@example.org",
	     "smtp.mailfrom=\"xy@example.org\""},
	    {"policy", "dmarc", "reject", "policy.dmarc=reject"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result *r;
		struct resultset *rs = one_result(AR_M_DKIM, AR_R_PASS, &r);
		char want[256];
		char *got;

		if (result_prop(r, cases[i].ptype, cases[i].property,
		                cases[i].value) < 0)
			abort();
		snprintf(want, sizeof(want),
		         " mx.example.net;\r\n\tdkim=pass %s", cases[i].want);
		got = format(OUR_ID, rs, "\r\n\t");
		is_str(got, want, "format prop %s", cases[i].want);
		free(got);
		resultset_free(rs);
	}
}

static void
test_format_text(void)
{
	static const struct {
		const char *comment, *reason, *want;
	} cases[] = {
	    {"cram-md5", NULL, "auth=pass (cram-md5)"},
	    {"a (b) c\\d", NULL, "auth=pass (a \\(b\\) c\\\\d)"},
	    {"line\r\nbreak\tand\x01 more", NULL,
	     "auth=pass (linebreakand more)"},
	    {"", NULL, "auth=pass"},
	    {NULL, "good signature", "auth=pass reason=\"good signature\""},
	    {NULL, "token", "auth=pass reason=\"token\""},
	    {NULL, "say \"hi\" \\o/",
	     "auth=pass reason=\"say \\\"hi\\\" \\\\o/\""},
	    {NULL, "", "auth=pass reason=\"\""},
	    {NULL, "x\r\n\ty", "auth=pass reason=\"xy\""},
	    {NULL, "caf\xc3\xa9", "auth=pass reason=\"caf\xc3\xa9\""},
	    {"c", "r", "auth=pass (c) reason=\"r\""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct result *r;
		struct resultset *rs = one_result(AR_M_AUTH, AR_R_PASS, &r);
		char want[256];
		char *got;

		if ((cases[i].comment != NULL &&
		     result_comment(r, "%s", cases[i].comment) < 0) ||
		    (cases[i].reason != NULL &&
		     result_reason(r, "%s", cases[i].reason) < 0))
			abort();
		snprintf(want, sizeof(want), " mx.example.net;\n\t%s",
		         cases[i].want);
		got = format(OUR_ID, rs, "\n\t");
		is_str(got, want, "format comment/reason case %zu", i);
		free(got);
		resultset_free(rs);
	}
}

static void
test_format_ids(void)
{
	static const struct {
		const char *id, *want;
	} cases[] = {
	    {"mx.example.net", " mx.example.net; none"},
	    {"example-auth", " example-auth; none"},
	    {"MX.Example.NET", " MX.Example.NET; none"},
	    {"my id", " \"my id\"; none"},
	    {"a/b", " \"a/b\"; none"},
	    {"q\"x", " \"q\\\"x\"; none"},
	    {"", " \"\"; none"},
	};
	struct resultset *rs = resultset_new();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = format(cases[i].id, rs, "\n\t");

		is_str(got, cases[i].want, "format id \"%s\"", cases[i].id);
		free(got);
	}
	resultset_free(rs);
}

/* The full folded form, in set order, no ';' after the last resinfo. */
static void
test_format_folding(void)
{
	struct resultset *rs = resultset_new();
	struct result *r;
	char *got;

	r = resultset_add(rs, AR_M_IPREV, AR_R_PASS);
	result_prop(r, "smtp", "remote-ip", "192.0.2.1");
	r = resultset_add(rs, AR_M_SPF, AR_R_PASS);
	result_prop(r, "smtp", "mailfrom", "user@example.org");
	r = resultset_add(rs, AR_M_DKIM, AR_R_FAIL);
	result_reason(r, "signature verification failed");
	result_prop(r, "header", "d", "example.org");
	result_prop(r, "header", "s", "s2026");
	r = resultset_add(rs, AR_M_DMARC, AR_R_PASS);
	result_comment(r, "p=reject dis=none");
	result_prop(r, "header", "from", "example.org");
	got = format(OUR_ID, rs, "\r\n\t");
	is_str(got,
	       " mx.example.net;\r\n"
	       "\tiprev=pass smtp.remote-ip=192.0.2.1;\r\n"
	       "\tspf=pass smtp.mailfrom=user@example.org;\r\n"
	       "\tdkim=fail reason=\"signature verification failed\""
	       " header.d=example.org header.s=s2026;\r\n"
	       "\tdmarc=pass (p=reject dis=none) header.from=example.org",
	       "format folds one resinfo per line");

	/* What we write, we read back the same. */
	{
		char *rendered = parse_render(got, strlen(got));

		is_str(
		    rendered,
		    "id=\"mx.example.net\" version=1\n"
		    "iprev=pass reason=- props: smtp.remote-ip=\"192.0.2.1\"\n"
		    "spf=pass reason=- props: "
		    "smtp.mailfrom=\"user@example.org\"\n"
		    "dkim=fail reason=\"signature verification failed\" props:"
		    " header.d=\"example.org\" header.s=\"s2026\"\n"
		    "dmarc=pass reason=- props: header.from=\"example.org\"\n",
		    "format output parses back");
		free(rendered);
	}
	free(got);
	resultset_free(rs);
}

/* Awkward values survive a format/parse round trip. */
static void
test_format_roundtrip(void)
{
	static const char *const values[] = {
	    "plain",       "two words",
	    "q\"uo\\te",   "",
	    "2001:db8::1", "a@b.example",
	    "@b.example",  "(paren)",
	    "semi;colon",  "\"john smith\"@example.org",
	};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct result *r;
		struct resultset *rs = one_result(AR_M_SPF, AR_R_FAIL, &r);
		struct authres_parsed p;
		char *got;
		int rc;

		result_prop(r, "smtp", "mailfrom", values[i]);
		result_reason(r, "%s", values[i]);
		got = format("odd id", rs, "\n ");
		rc = authres_parse(got, strlen(got), &p);
		is_int(rc, 0, "round trip \"%s\" parses", values[i]);
		if (rc == 0 && p.nresinfo == 1 && p.resinfo[0].nprops == 1) {
			is_str(p.authserv_id, "odd id", "round trip id");
			is_str(p.resinfo[0].reason, values[i],
			       "round trip reason \"%s\"", values[i]);
			is_str(p.resinfo[0].props[0].value, values[i],
			       "round trip value \"%s\"", values[i]);
		} else
			ok(0, "round trip \"%s\" shape", values[i]);
		authres_parsed_free(&p);
		free(got);
		resultset_free(rs);
	}
}

/* A capped buffer: the error comes back and nothing is left behind. */
static void
test_format_error(void)
{
	struct resultset *rs = resultset_new();
	struct result *r = resultset_add(rs, AR_M_SPF, AR_R_PASS);
	struct buf b;
	int rc;

	result_prop(r, "smtp", "mailfrom", "user@example.org");
	buf_init(&b, 32);
	buf_puts(&b, "keep");
	rc = authres_format(OUR_ID, rs, "\n\t", &b);
	is_int(rc, BUF_E2BIG, "format past the cap fails");
	is_str(buf_cstr(&b), "keep",
	       "format failure leaves the buffer as it was");
	buf_free(&b);
	buf_init(&b, 0);
	buf_puts(&b, "X-Pre:");
	rc = authres_format(OUR_ID, rs, "\n\t", &b);
	is_int(rc, 0, "format appends");
	is_str(
	    buf_cstr(&b),
	    "X-Pre: mx.example.net;\n\tspf=pass smtp.mailfrom=user@example.org",
	    "format appends after existing contents");
	buf_free(&b);
	resultset_free(rs);
}

/* ---- read_id / is_ours ---- */

static void
test_read_id(void)
{
	static const struct {
		const char *name, *input;
		int rc;
		const char *id;
	} cases[] = {
	    {"plain", "mx.example.net; none", 0, "mx.example.net"},
	    {"odd case", "MX.Example.NET; spf=pass", 0, "MX.Example.NET"},
	    {"comment first", "(c) mx.example.net; spf=pass", 0,
	     "mx.example.net"},
	    {"nested comment first", "(a (b) \\) c) mx.example.net;", 0,
	     "mx.example.net"},
	    {"folded CRLF first", "\r\n\tmx.example.net; none", 0,
	     "mx.example.net"},
	    {"folded LF first", "\n mx.example.net; none", 0, "mx.example.net"},
	    {"quoted", "\"mx.example.net\"; none", 0, "mx.example.net"},
	    {"quoted with pair", "\"mx.exam\\ple.net\"; none", 0,
	     "mx.example.net"},
	    {"quoted with space", " \"my id\" ; none", 0, "my id"},
	    {"version", "mx.example.net 1; none", 0, "mx.example.net"},
	    {"directly ;", "mx.example.net;spf=pass", 0, "mx.example.net"},
	    {"id alone", "mx.example.net", 0, "mx.example.net"},
	    {"empty value", "", -1, ""},
	    {"blank", " \t\r\n ", -1, ""},
	    {"comment only", "(mx.example.net)", -1, ""},
	    {"empty quoted", "\"\"; none", -1, ""},
	    {"no id", "; spf=pass", -1, ""},
	    {"garbage", "@@@; spf=pass", -1, ""},
	    {"equals", "=pass", -1, ""},
	    {"unterminated comment", "(mx.example.net; none", -1, ""},
	    {"unterminated quote", "\"mx.example.net; none", -1, ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char id[64];
		int rc = authres_read_id(cases[i].input, strlen(cases[i].input),
		                         id, sizeof(id));

		is_int(rc, cases[i].rc, "read_id %s: rc", cases[i].name);
		is_str(id, cases[i].id, "read_id %s: id", cases[i].name);
	}
}

static void
test_read_id_limits(void)
{
	const char *v = "mx.example.net; none";
	char id[15];

	is_int(authres_read_id(v, strlen(v), id, sizeof(id)), 0,
	       "read_id fits exactly");
	is_int(authres_read_id(v, strlen(v), id, sizeof(id) - 1), -1,
	       "read_id one byte short");
	is_int(authres_read_id(v, strlen(v), id, 0), -1, "read_id no room");
	/* Never read past len: the id ends where len does. */
	is_int(authres_read_id(v, 2, id, sizeof(id)), 0, "read_id short len");
	is_str(id, "mx", "read_id stops at len");
}

static void
test_is_ours(void)
{
	static const struct {
		const char *name, *input;
		int want;
	} cases[] = {
	    {"same", "mx.example.net; spf=pass", 1},
	    {"odd case", "MX.Example.NET; spf=pass", 1},
	    {"comment first", "(c) mx.example.net; spf=pass", 1},
	    {"folded first", "\r\n\tmx.example.net;\r\n\tspf=pass", 1},
	    {"quoted", "\"mx.example.net\"; spf=pass", 1},
	    {"quoted odd case", "\"Mx.Example.Net\"; none", 1},
	    {"version", "mx.example.net 1; none", 1},
	    {"directly ;", "mx.example.net;spf=pass", 1},
	    {"junk after id", "mx.example.net/x; spf=pass", 1},
	    {"comment inside id", "mx.example(x).net; spf=pass", 1},
	    {"space inside id", "mx.example .net; spf=pass", 1},
	    {"only in a comment", "(mx.example.net) evil.example; spf=pass", 0},
	    {"prefix", "mx.example.net.evil; spf=pass", 0},
	    {"suffix", "evil-mx.example.net; spf=pass", 0},
	    {"shorter", "mx.example; spf=pass", 0},
	    {"in a value",
	     "evil.example; spf=pass smtp.mailfrom=mx.example.net", 0},
	    {"after ;", "evil.example; mx.example.net", 0},
	    {"empty", "", 0},
	    {"garbage", "@@@", 0},
	    /* Case folding is ASCII only: a dotless i is not an i. */
	    {"non-ASCII case", "mx.exam\xc4\xb1ple.net; none", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = authres_is_ours(cases[i].input,
		                           strlen(cases[i].input), OUR_ID);

		is_int(got, cases[i].want, "is_ours %s", cases[i].name);
	}
	is_int(authres_is_ours("x; none", 7, ""), 0, "is_ours empty id");
}

/* ---- parser limits ---- */

/* "mx.example.net" then n resinfos of m props each. */
static void
build(struct buf *b, size_t n, size_t m)
{
	buf_reset(b);
	buf_puts(b, "mx.example.net");
	for (size_t i = 0; i < n; i++) {
		buf_printf(b, ";\r\n\tdkim=pass");
		for (size_t j = 0; j < m; j++)
			buf_printf(b, " header.x%zu=v%zu", j, j);
	}
}

static void
test_parse_limits(void)
{
	struct authres_parsed p;
	struct buf b;
	int rc;

	buf_init(&b, 0);
	build(&b, AUTHRES_MAX_RESINFO, 1);
	rc = authres_parse(b.data, b.len, &p);
	is_int(rc, 0, "%d resinfos parse", AUTHRES_MAX_RESINFO);
	is_int((long long)p.nresinfo, AUTHRES_MAX_RESINFO, "all kept");
	authres_parsed_free(&p);
	build(&b, AUTHRES_MAX_RESINFO + 1, 1);
	is_int(authres_parse(b.data, b.len, &p), -1, "%d resinfos fail",
	       AUTHRES_MAX_RESINFO + 1);
	authres_parsed_free(&p);
	build(&b, 1, AUTHRES_MAX_PROPS);
	rc = authres_parse(b.data, b.len, &p);
	is_int(rc, 0, "%d props parse", AUTHRES_MAX_PROPS);
	is_int((long long)p.resinfo[0].nprops, AUTHRES_MAX_PROPS, "all kept");
	authres_parsed_free(&p);
	build(&b, 1, AUTHRES_MAX_PROPS + 1);
	is_int(authres_parse(b.data, b.len, &p), -1, "%d props fail",
	       AUTHRES_MAX_PROPS + 1);
	authres_parsed_free(&p);
	authres_parsed_free(&p);
	ok(p.authserv_id == NULL && p.nresinfo == 0, "free twice is harmless");

	for (int depth = 31; depth <= 33; depth++) {
		buf_reset(&b);
		for (int i = 0; i < depth; i++)
			buf_putc(&b, '(');
		for (int i = 0; i < depth; i++)
			buf_putc(&b, ')');
		buf_puts(&b, " mx.example.net; none");
		is_int(authres_parse(b.data, b.len, &p), depth <= 32 ? 0 : -1,
		       "comments nested %d deep", depth);
		authres_parsed_free(&p);
	}
	/* The length bounds the parse, not a NUL. */
	is_int(authres_parse("mx.example.net; spf=pass (x", 24, &p), 0,
	       "parse stops at len");
	is_str(p.resinfo[0].result, "pass", "parse stops at len: result");
	authres_parsed_free(&p);
	is_int(authres_parse("mx.example.net; spf=pass", 22, &p), 0,
	       "parse cut inside a keyword");
	is_str(p.resinfo[0].result, "pa", "parse cut inside a keyword: result");
	authres_parsed_free(&p);
	buf_free(&b);
}

/* ---- vectors ---- */

/* read_id must agree with the full parse whenever the parse succeeds. */
static void
check_read_id(const char *name, const char *in, size_t len)
{
	struct authres_parsed p;
	char id[256];

	if (authres_parse(in, len, &p) == 0)
		is_str(authres_read_id(in, len, id, sizeof(id)) == 0 ? id
		                                                     : NULL,
		       p.authserv_id, "vector %s: read_id agrees with parse",
		       name);
	authres_parsed_free(&p);
}

static void
run_vector(const char *dir, const char *name)
{
	char *cdir = tv_join(dir, name);
	size_t len;
	char *in, *want, *ours, *got;

	in = tv_slurp(cdir, "input", &len);
	want = tv_slurp(cdir, "expected", NULL);
	if (want == NULL && (want = tv_slurp(cdir, "error", NULL)) != NULL) {
		free(want);
		want = strdup("error");
	}
	got = parse_render(in, len);
	if (want == NULL)
		ok(0, "vector %s: has expected or error", name);
	else
		is_str(got, want, "vector %s", name);
	check_read_id(name, in, len);
	if ((ours = tv_slurp(cdir, "ours", NULL)) != NULL) {
		is_int(authres_is_ours(in, len, VECTOR_OUR_ID),
		       strncmp(ours, "yes", 3) == 0, "vector %s: is_ours",
		       name);
		free(ours);
	}
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
	    tv_join(src != NULL && *src != '\0' ? src : AUTHRES_TEST_SRCDIR,
	         "t/vectors/authres");
	char *names[VECTOR_MAX];
	int n = tv_list_cases(dir, case_files, names, VECTOR_MAX);

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
	test_format_results();
	test_format_methods();
	test_format_props();
	test_format_text();
	test_format_ids();
	test_format_folding();
	test_format_roundtrip();
	test_format_error();
	test_read_id();
	test_read_id_limits();
	test_is_ours();
	test_parse_limits();
	test_vectors();
	return done_testing();
}
