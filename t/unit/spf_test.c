/*
 * Unit tests for SPF: the record parser (spf_record.c), macro expansion,
 * check_host() over a fake lookup table (spf_eval.c), and spf_check.c's
 * handling of jobs, deadlines and result records (against a DNS server
 * that never answers).
 *
 * The data-driven part walks t/vectors/spf/records/ (under $T_SRCDIR):
 * each case directory holds "input" (a record, bytes as published) and
 * "expected" (the rendering below, one term per line) or "error" (the
 * parse must fail; the file says why).  Rendering of a term:
 *
 *     QNAME[:SPEC][/CIDR4][//CIDR6]    mechanisms (a/mx: non-default CIDR)
 *     Qip4:NET/LEN  Qip6:NET/LEN       networks, always with the length
 *     redirect=SPEC  exp=SPEC          modifiers
 *     modifier TEXT                    an unknown modifier as written
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "dns.h"
#include "policy.h"
#include "result.h"
#include "spf_check.h"
#include "spf_eval.h"
#include "spf_record.h"
#include "work.h"

#include "../lib/tap.h"

#define VECTOR_MAX 512

static const char *const kind_names[] = {
    [SPF_REC_ALL] = "all",
    [SPF_REC_INCLUDE] = "include",
    [SPF_REC_A] = "a",
    [SPF_REC_MX] = "mx",
    [SPF_REC_PTR] = "ptr",
    [SPF_REC_IP4] = "ip4",
    [SPF_REC_IP6] = "ip6",
    [SPF_REC_EXISTS] = "exists",
    [SPF_REC_REDIRECT] = "redirect",
    [SPF_REC_EXP] = "exp",
    [SPF_REC_MODIFIER] = "modifier",
};

/* ---- rendering ---------------------------------------------------- */

static void
render_term(struct buf *b, const struct spf_term *t)
{
	char net[64];

	switch (t->kind) {
	case SPF_REC_REDIRECT:
	case SPF_REC_EXP:
		buf_printf(b, "%s=%s", kind_names[t->kind], t->spec);
		return;
	case SPF_REC_MODIFIER:
		buf_printf(b, "modifier %s", t->text);
		return;
	case SPF_REC_IP4:
	case SPF_REC_IP6:
		inet_ntop(t->kind == SPF_REC_IP4 ? AF_INET : AF_INET6, t->net,
		          net, sizeof(net));
		buf_printf(b, "%c%s:%s/%u", t->qualifier, kind_names[t->kind],
		           net, t->kind == SPF_REC_IP4 ? t->cidr4 : t->cidr6);
		return;
	default:
		break;
	}
	buf_printf(b, "%c%s", t->qualifier, kind_names[t->kind]);
	if (t->spec != NULL)
		buf_printf(b, ":%s", t->spec);
	if (t->cidr4 != 32)
		buf_printf(b, "/%u", t->cidr4);
	if (t->cidr6 != 128)
		buf_printf(b, "//%u", t->cidr6);
}

/* The rendering of a parse with sep after each term, or "error: MSG". */
static char *
render(const char *txt, size_t len, const char *sep)
{
	struct spf_record *r;
	struct errbuf eb = {""};
	struct buf b;
	int rc = spf_record_parse(txt, len, &r, &eb);

	buf_init(&b, 0);
	if (rc != SPF_RECORD_OK) {
		buf_printf(&b, "error: %s", eb.msg);
		return buf_steal(&b);
	}
	for (size_t i = 0; i < r->nterms; i++) {
		render_term(&b, &r->terms[i]);
		buf_puts(&b, sep);
	}
	spf_record_free(r);
	return buf_steal(&b);
}

/* ---- the parser --------------------------------------------------- */

static const struct {
	const char *name, *record;
	const char *want; /* rendering joined by " ", or "error: SUBSTRING" */
} parse_cases[] = {
    /* version and separators (4.5, 4.6.1) */
    {"empty record", "v=spf1", ""},
    {"version case", "V=SpF1 ~all", "~all "},
    {"trailing space", "v=spf1 -all ", "-all "},
    {"two spaces", "v=spf1 a  -all", "+a -all "},
    {"leading spaces", "v=spf1   mx", "+mx "},
    {"tab separator", "v=spf1\t-all", "error: not an SPF record"},
    {"tab inside", "v=spf1 a\t-all", "error: byte 0x09"},
    {"CR inside", "v=spf1 a:ctrl.example.com\rptr -all", "error: byte 0x0d"},
    {"LF inside", "v=spf1 ip4:192.0.2.5\n include:x.example", "error: 0x0a"},
    {"UTF-8 BOM", "v=spf1 a:\xef\xbb\xbfgarbage.example.net -all",
     "error: byte 0xef"},
    {"high byte",
     "v=spf1 \x80"
     "a:example.net -all",
     "error: byte 0x80"},
    {"spf10", "v=spf10", "error: not an SPF record"},
    /* qualifiers and all (5.1) */
    {"qualifiers", "v=spf1 +all -all ~all ?all", "+all -all ~all ?all "},
    {"all with dot", "v=spf1 -all.", "error: unknown mechanism"},
    {"all with arg", "v=spf1 -all:foobar", "error: bad argument"},
    {"all with cidr", "v=spf1 -all/8", "error: bad argument"},
    {"unknown mechanism", "v=spf1 ip4:1.2.3.4 -all moo",
     "error: unknown mechanism \"moo\""},
    {"mechanism case", "v=spf1 MX Include:_spf.example.com A:x.example.com",
     "+mx +include:_spf.example.com +a:x.example.com "},
    {"double qualifier", "v=spf1 +-all", "error: unknown mechanism"},
    /* a and mx with CIDR lengths (5.3, 5.4, 5.6) */
    {"a/0", "v=spf1 a/0 -all", "+a/0 -all "},
    {"a//0", "v=spf1 a//0", "+a//0 "},
    {"a dual", "v=spf1 a/24//64", "+a/24//64 "},
    {"a spec dual", "v=spf1 a:foo.example.com/24//64",
     "+a:foo.example.com/24//64 "},
    {"mx spec six", "v=spf1 mx:foo.example.com//64",
     "+mx:foo.example.com//64 "},
    {"a/33", "v=spf1 a/33", "error: bad CIDR"},
    {"a//129", "v=spf1 a//129", "error: bad CIDR"},
    {"a//33 ok", "v=spf1 a//33 -all", "+a//33 -all "},
    {"a/24/64", "v=spf1 a/24/64 -all", "error: bad CIDR"},
    {"a/032", "v=spf1 a/032", "error: bad CIDR"},
    {"a/ empty", "v=spf1 a/", "error: bad CIDR"},
    {"a:colon domain", "v=spf1 a:foo:bar/baz.example.com",
     "+a:foo:bar/baz.example.com "},
    {"a:port", "v=spf1 a:example.com:8080", "error: top label"},
    {"a:numeric", "v=spf1 a:111.222.33.44", "error: top label"},
    {"a:abc.123", "v=spf1 a:abc.123", "error: top label"},
    {"a:museum", "v=spf1 a:museum", "error: top label"},
    {"a:museum.", "v=spf1 a:museum.", "error: top label"},
    {"a:dash top", "v=spf1 a:example.-com", "error: top label"},
    {"a:xn-- top", "v=spf1 a:foo.example.xn--zckzah -all",
     "+a:foo.example.xn--zckzah -all "},
    {"a:1-2 top", "v=spf1 a:foo.1-2", "+a:foo.1-2 "},
    {"a:empty", "v=spf1 a:", "error: empty domain-spec"},
    {"a:NUL", "v=spf1 a:foo.example.com\0", "error: byte 0x00"},
    {"a:empty label", "v=spf1 a:mail.example...com -all",
     "+a:mail.example...com -all "},
    {"a:trailing dot", "v=spf1 a:example.com.", "+a:example.com. "},
    {"mx:empty", "v=spf1 mx: -all", "error: empty domain-spec"},
    /* ptr, include, exists (5.2, 5.5, 5.7) */
    {"ptr", "v=spf1 ptr ptr:example.Com", "+ptr +ptr:example.Com "},
    {"ptr/0", "v=spf1 ptr/0 -all", "error: bad argument"},
    {"ptr:", "v=spf1 ptr:", "error: empty domain-spec"},
    {"include bare", "v=spf1 include +all", "error: bad argument"},
    {"include:", "v=spf1 include: -all", "error: empty domain-spec"},
    {"include cidr", "v=spf1 include:ip5.example.com/24 -all",
     "error: top label"},
    {"exists bare", "v=spf1 exists", "error: bad argument"},
    {"exists:", "v=spf1 exists:", "error: empty domain-spec"},
    {"exists cidr", "v=spf1 exists:mail.example.com/24", "error: top label"},
    {"exists macros", "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}",
     "+exists:%{ir}.%{l1r+-}._spf.%{d} "},
    /* ip4 / ip6 (5.6) */
    {"ip4", "v=spf1 ip4:192.0.2.0/24 ip4:1.2.3.4",
     "+ip4:192.0.2.0/24 +ip4:1.2.3.4/32 "},
    {"ip4/0", "v=spf1 ip4:1.1.1.1/0 -all", "+ip4:1.1.1.1/0 -all "},
    {"ip4/33", "v=spf1 ip4:1.2.3.4/33", "error: bad network"},
    {"ip4/032", "v=spf1 ip4:1.2.3.4/032", "error: bad network"},
    {"ip4 bare", "v=spf1 ip4", "error: needs a network"},
    {"ip4 short", "v=spf1 ip4:1.2.3", "error: bad network"},
    {"ip4 port", "v=spf1 ip4:1.2.3.4:8080", "error: bad network"},
    {"ip4 dual", "v=spf1 ip4:1.2.3.4//32", "error: bad network"},
    {"ip4 leading zero", "v=spf1 ip4:01.2.3.4", "error: bad network"},
    {"ip4 256", "v=spf1 ip4:256.2.3.4", "error: bad network"},
    {"ip6", "v=spf1 ip6:Cafe:Babe:8000::/33", "+ip6:cafe:babe:8000::/33 "},
    {"ip6 v4 tail", "v=spf1 ip6:::1.1.1.1/0", "+ip6:::1.1.1.1/0 "},
    {"ip6/129", "v=spf1 ip6:::1.1.1.1/129", "error: bad network"},
    {"ip6 dual", "v=spf1 ip6:::1.1.1.1//33", "error: bad network"},
    {"ip6 bad", "v=spf1 ip6::CAFE::BABE", "error: bad network"},
    {"ip6 bare", "v=spf1 -all ip6", "error: needs a network"},
    /* modifiers (6) */
    {"redirect", "v=spf1 redirect=_spf.example.com",
     "redirect=_spf.example.com "},
    {"exp and redirect", "v=spf1 exp=e.%{d} Redirect=r.example.com",
     "exp=e.%{d} redirect=r.example.com "},
    {"redirect twice", "v=spf1 redirect=a.example.com redirect=b.example.com",
     "error: redirect= given twice"},
    {"exp twice", "v=spf1 exp=a.example.com -all exp=b.example.com",
     "error: exp= given twice"},
    {"redirect as mechanism", "v=spf1 ip4:1.2.3.4 redirect:t2.example.com",
     "error: unknown mechanism"},
    {"redirect empty", "v=spf1 ?all redirect=", "error: empty domain-spec"},
    {"redirect bad", "v=spf1 redirect=-all ?all", "error: top label"},
    {"exp empty", "v=spf1 exp= -all", "error: empty domain-spec"},
    {"exp bad", "v=spf1 exp=-all", "error: top label"},
    {"exp %{r}", "v=spf1 -all exp=%{r}.example.com",
     "error: %{r} outside explanation"},
    {"modifier names", "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4",
     "modifier moo.cow-far_out=man:dog/cat +ip4:1.2.3.4/32 "},
    {"modifier slash name", "v=spf1 moo.cow/far_out=man:dog/cat",
     "error: unknown mechanism"},
    {"modifier colon name", "v=spf1 moo.cow:far_out=man:dog/cat",
     "error: unknown mechanism"},
    {"modifier digit name", "v=spf1 1up=foo", "error: unknown mechanism"},
    {"modifier no name", "v=spf1 =all", "error: unknown mechanism"},
    {"modifier bad macro", "v=spf1 -all foo=%abc", "error: \"%\" not"},
    {"modifier empty value", "v=spf1 foo= -all", "modifier foo= -all "},
    {"modifier default", "v=spf1 default=+", "modifier default=+ "},
    {"modifier crt ok", "v=spf1 note=%{c}%{r}%{t}",
     "modifier note=%{c}%{r}%{t} "},
    {"qualified modifier", "v=spf1 -redirect=x.example.com",
     "error: unknown mechanism"},
    /* macros in domain-specs (7.1) */
    {"macro paren", "v=spf1 -exists:%(ir).sbl.example.com ?all",
     "error: \"%\" not"},
    {"macro embedded paren", "v=spf1 exists:foo%(ir).sbl.example.com",
     "error: \"%\" not"},
    {"macro trailing %", "v=spf1 exists:foo%.sbl.example.com",
     "error: \"%\" not"},
    {"macro unknown letter", "v=spf1 a:%{a}.example.com",
     "error: unknown macro"},
    {"macro zero", "v=spf1 a:%{d0}.example.com", "error: zero"},
    {"macro unterminated", "v=spf1 a:%{d2r", "error: malformed macro"},
    {"macro bad delimiter", "v=spf1 a:%{l*}.example.com",
     "error: malformed macro"},
    {"macro specials",
     "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
     "+a:macro%%percent%_%_space%-url-space.example.com "},
    {"macro ends spec", "v=spf1 a:%{H} include:%{d}", "+a:%{H} +include:%{d} "},
    {"macro then literal", "v=spf1 a:%{d}com", "error: top label"},
    {"macro then dot", "v=spf1 a:%{d}.", "error: top label"},
    {"macro dot in delims", "v=spf1 a:x%{d.}com", "error: top label"},
    {"macro upper r", "v=spf1 exists:%{D2R-}.example.com",
     "+exists:%{D2R-}.example.com "},
    {"macro c in spec", "v=spf1 exists:%{c}.example.com", "error: %{c}"},
};

static void
test_parse(void)
{
	size_t n = sizeof(parse_cases) / sizeof(parse_cases[0]);

	ok(n >= 60, "parser table has %zu cases", n);
	for (size_t i = 0; i < n; i++) {
		const char *rec = parse_cases[i].record;
		size_t len = strlen(rec);
		char *got;

		if (strcmp(parse_cases[i].name, "a:NUL") == 0)
			len++; /* the NUL is part of the record */
		got = render(rec, len, " ");
		if (strncmp(parse_cases[i].want, "error: ", 7) == 0)
			ok(strncmp(got, "error: ", 7) == 0 &&
			       strstr(got, parse_cases[i].want + 7) != NULL,
			   "parse %s: got \"%s\", want %s", parse_cases[i].name,
			   got, parse_cases[i].want);
		else
			is_str(got, parse_cases[i].want, "parse %s",
			       parse_cases[i].name);
		free(got);
	}
}

static void
test_is_spf(void)
{
	static const struct {
		const char *txt;
		bool want;
	} cases[] = {
	    {"v=spf1", true},   {"v=spf1 -all", true},   {"V=SPF1 -all", true},
	    {"v=spf10", false}, {"v=spf1-all", false},   {"v=spf", false},
	    {" v=spf1", false}, {"v=spf2.0/pra", false}, {"spf1", false},
	    {"", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(spf_record_is_spf(cases[i].txt, strlen(cases[i].txt)),
		       cases[i].want, "is_spf \"%s\"", cases[i].txt);
}

/* ---- macros (7.3, 7.4) -------------------------------------------- */

/* The values of the RFC 7208 section 7.4 examples. */
static const struct spf_macro_env rfc_env = {
    .s = "strong-bad@email.example.com",
    .l = "strong-bad",
    .o = "email.example.com",
    .d = "email.example.com",
    .i = "192.0.2.3",
    .p = "mx.example.org",
    .h = "mx.example.org",
    .c = "192.0.2.3",
    .r = NULL,
    .t = "1400000000",
    .v = "in-addr",
};

static const struct {
	const char *in, *want;
} rfc74_cases[] = {
    {"%{s}", "strong-bad@email.example.com"},
    {"%{o}", "email.example.com"},
    {"%{d}", "email.example.com"},
    {"%{d4}", "email.example.com"},
    {"%{d3}", "email.example.com"},
    {"%{d2}", "example.com"},
    {"%{d1}", "com"},
    {"%{dr}", "com.example.email"},
    {"%{d2r}", "example.email"},
    {"%{l}", "strong-bad"},
    {"%{l-}", "strong.bad"},
    {"%{lr}", "strong-bad"},
    {"%{lr-}", "bad.strong"},
    {"%{l1r-}", "strong"},
    {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
    {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
     "3.2.0.192.in-addr.strong.lp._spf.example.com"},
    {"%{d2}.trusted-domains.example.net",
     "example.com.trusted-domains.example.net"},
};

static const struct {
	const char *in;
	enum spf_macro_ctx ctx;
	const char *want; /* NULL: a syntax error */
} macro_cases[] = {
    {"%%.%_.%-", SPF_MACRO_EXPLAIN, "%. .%20"},
    {"%{S}", SPF_MACRO_EXPLAIN, "strong-bad%40email.example.com"},
    {"%{L}", SPF_MACRO_DOMAIN, "strong-bad"},
    {"%{p}.example.com", SPF_MACRO_DOMAIN, "mx.example.org.example.com"},
    {"%{c} %{r} %{t}", SPF_MACRO_EXPLAIN, "192.0.2.3 unknown 1400000000"},
    {"%{d127}", SPF_MACRO_DOMAIN, "email.example.com"},
    {"%{d99999999999}", SPF_MACRO_DOMAIN, "email.example.com"},
    {"%{l2r+-}", SPF_MACRO_EXPLAIN, "bad.strong"},
    {"%{s1r@}", SPF_MACRO_EXPLAIN, NULL},
    {"%{d0}", SPF_MACRO_EXPLAIN, NULL},
    {"%{x}", SPF_MACRO_EXPLAIN, NULL},
    {"%{c}.example.com", SPF_MACRO_DOMAIN, NULL},
    {"a b", SPF_MACRO_DOMAIN, NULL},
    {"a b", SPF_MACRO_EXPLAIN, "a b"},
    {"%", SPF_MACRO_EXPLAIN, NULL},
    {"%{", SPF_MACRO_EXPLAIN, NULL},
    {"trailing.dot.example.com.", SPF_MACRO_DOMAIN, "trailing.dot.example.com"},
};

static void
expand_case(const char *in, enum spf_macro_ctx ctx,
            const struct spf_macro_env *env, const char *want, const char *what)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = spf_record_expand(in, env, ctx, &b);
	if (want == NULL)
		is_int(rc, SPF_RECORD_ESYNTAX, "%s \"%s\" is a syntax error",
		       what, in);
	else
		is_str(rc == SPF_RECORD_OK ? buf_cstr(&b) : "(error)", want,
		       "%s \"%s\"", what, in);
	buf_free(&b);
}

static void
test_macros(void)
{
	struct spf_macro_env url = rfc_env;

	for (size_t i = 0; i < sizeof(rfc74_cases) / sizeof(rfc74_cases[0]);
	     i++)
		expand_case(rfc74_cases[i].in, SPF_MACRO_DOMAIN, &rfc_env,
		            rfc74_cases[i].want, "RFC 7208 7.4");
	for (size_t i = 0; i < sizeof(macro_cases) / sizeof(macro_cases[0]);
	     i++)
		expand_case(macro_cases[i].in, macro_cases[i].ctx, &rfc_env,
		            macro_cases[i].want, "expand");
	/* The suite's upper-macro case: RFC 3986 unreserved kept. */
	url.l = "~jack&jill=up-a_b3.c";
	expand_case("http://example.com/why.html?l=%{L}", SPF_MACRO_EXPLAIN,
	            &url,
	            "http://example.com/why.html?l=~jack%26jill%3Dup-a_b3.c",
	            "URL escaping");
	/* Empty parts stay parts (7.3: no special treatment). */
	url.d = "a..b.c";
	expand_case("%{d2r}", SPF_MACRO_EXPLAIN, &url, ".a", "empty parts");
	expand_case("%{d3}", SPF_MACRO_EXPLAIN, &url, ".b.c", "empty parts");
	expand_case("%{d9r}", SPF_MACRO_EXPLAIN, &url, "c.b..a", "empty parts");
	url.l = "-x-";
	expand_case("%{l-}", SPF_MACRO_EXPLAIN, &url, ".x.", "edge delimiters");
	expand_case("%{lr-}", SPF_MACRO_EXPLAIN, &url, ".x.",
	            "edge delimiters");
	expand_case("%{l1r-}", SPF_MACRO_EXPLAIN, &url, "", "edge delimiters");
	is_int(spf_record_macro_letters("%{ir}.%{V}%%%{p}"),
	       SPF_MACRO_BIT('i') | SPF_MACRO_BIT('v') | SPF_MACRO_BIT('p'),
	       "macro letters used");
}

/* A domain over 253 characters loses labels on the left (7.3). */
static void
test_truncation(void)
{
	struct spf_macro_env env = rfc_env;
	struct buf b;
	char spec[400];
	int rc;

	env.o = "somewhat.long.exp.example.com";
	snprintf(spec, sizeof(spec), "foobar.%s.example.com.",
	         "%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}.%{o}");
	buf_init(&b, 0);
	rc = spf_record_expand(spec, &env, SPF_MACRO_DOMAIN, &b);
	is_int(rc, SPF_RECORD_OK, "truncation: expands");
	is_int((long long)b.len, 251, "truncation: 251 characters left");
	ok(strncmp(buf_cstr(&b), "somewhat.long.", 14) == 0,
	   "truncation: the first label went (got %.20s...)", buf_cstr(&b));
	buf_free(&b);
}

/* ---- a fake DNS for the evaluator --------------------------------- */

/* One record; data "TIMEOUT" or "SERVFAIL" makes the name/type fail,
 * "FORMERR" a permanent DNS error.  TXT strings are split at '|'; len
 * gives the TXT data length when it holds a NUL (0: strlen). */
struct zrr {
	const char *name;
	uint16_t type;
	const char *data;
	size_t len;
};

struct fake {
	const struct zrr *zone;
	size_t outstanding, max_outstanding, queries;
};

struct fq {
	struct dns_answer a;
	struct dns_rr rr[32];
	unsigned char wire[4096];
	size_t used;
};

/* Append a name in wire form; the rdata length. */
static size_t
wire_name(unsigned char *p, const char *name)
{
	size_t n = 0;

	while (*name != '\0') {
		size_t l = strcspn(name, ".");

		p[n++] = (unsigned char)l;
		memcpy(p + n, name, l);
		n += l;
		name += l + (name[l] == '.');
	}
	p[n++] = 0;
	return n;
}

static size_t
wire_txt(unsigned char *p, const struct zrr *z)
{
	size_t len = z->len ? z->len : strlen(z->data), n = 0, i = 0;

	while (i < len) {
		const char *bar = memchr(z->data + i, '|', len - i);
		size_t l = bar != NULL ? (size_t)(bar - z->data) - i : len - i;

		p[n++] = (unsigned char)l;
		memcpy(p + n, z->data + i, l);
		n += l;
		i += l + (bar != NULL);
	}
	return n; /* "" gives an RR with no strings at all */
}

static size_t
wire_rdata(unsigned char *p, const struct zrr *z)
{
	switch (z->type) {
	case DNS_T_A:
		inet_pton(AF_INET, z->data, p);
		return 4;
	case DNS_T_AAAA:
		inet_pton(AF_INET6, z->data, p);
		return 16;
	case DNS_T_MX: {
		char *end;
		unsigned long pref = strtoul(z->data, &end, 10);

		p[0] = (unsigned char)(pref >> 8);
		p[1] = (unsigned char)pref;
		return 2 + wire_name(p + 2, end + 1);
	}
	case DNS_T_TXT:
		return wire_txt(p, z);
	default:
		return wire_name(p, z->data);
	}
}

static bool
name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Fill the answer for name/type from the zone. */
static void
fake_answer(const struct fake *f, struct fq *q, const char *name, uint16_t type)
{
	bool exists = false;

	q->a.status = DNS_NXDOMAIN;
	q->a.rrtype = type;
	q->a.why = "";
	q->a.rr = q->rr;
	for (const struct zrr *z = f->zone; z->name != NULL; z++) {
		if (!name_eq(name, z->name))
			continue;
		exists = true;
		if (z->type != type)
			continue;
		if (strcmp(z->data, "TIMEOUT") == 0 ||
		    strcmp(z->data, "SERVFAIL") == 0 ||
		    strcmp(z->data, "FORMERR") == 0) {
			q->a.status =
			    z->data[0] == 'F' ? DNS_PERMERROR : DNS_TEMPERROR;
			q->a.why = z->data[0] == 'T' ? "timeout" : z->data;
			q->a.nrr = 0;
			return;
		}
		q->rr[q->a.nrr].data = q->wire + q->used;
		q->rr[q->a.nrr].len = wire_rdata(q->wire + q->used, z);
		q->used += q->rr[q->a.nrr++].len;
	}
	if (exists)
		q->a.status = q->a.nrr > 0 ? DNS_OK : DNS_NODATA;
}

static void *
fake_start(void *ctx, const char *name, uint16_t type)
{
	struct fake *f = ctx;
	struct fq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		abort();
	fake_answer(f, q, name, type);
	f->queries++;
	if (++f->outstanding > f->max_outstanding)
		f->max_outstanding = f->outstanding;
	return q;
}

static const struct dns_answer *
fake_wait(void *ctx, void *q, int64_t deadline_ms)
{
	struct fq *fq = q;

	(void)ctx;
	if (clock_ms() >= deadline_ms) {
		static const struct dns_answer late = {.status = DNS_TEMPERROR,
		                                       .why = "timeout"};
		return &late;
	}
	return &fq->a;
}

static void
fake_release(void *ctx, void *q)
{
	struct fake *f = ctx;

	f->outstanding--;
	free(q);
}

/* ---- evaluator cases ---------------------------------------------- */

struct eval_case {
	const char *name;
	const char *ip, *sender, *helo;
	const struct zrr *zone;
	const char *want;   /* result name */
	const char *reason; /* substring of the reason, or NULL */
	const char *exp;    /* explanation, or NULL for "" */
};

/* Run check_host() over a zone; the outcome in *out. */
static void
eval_zone(const struct zrr *zone, const char *ip, const char *sender,
          const char *helo, int64_t deadline, struct spf_eval_outcome *out,
          struct fake *f)
{
	struct spf_lookup lk = {f, fake_start, fake_wait, fake_release};
	struct spf_eval_request rq = {
	    .sender = sender,
	    .helo = helo,
	    .receiver = "mx.receiver.example",
	    .deadline_ms = deadline,
	    .now = 1400000000,
	};

	memset(f, 0, sizeof(*f));
	f->zone = zone;
	if (ipaddr_parse(ip, &rq.ip) != 0)
		abort();
	spf_eval_check_host(&lk, &rq, out);
}

#define Z_END                                                                  \
	{                                                                      \
		NULL, 0, NULL, 0                                               \
	}

static const struct zrr z_basic[] = {
    {"example.com", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24 -all exp=why.%{d}", 0},
    {"why.example.com", DNS_T_TXT, "%{l} at %{o} may not use %{i}", 0},
    {"other.example.com", DNS_T_TXT, "not spf", 0},
    {"other.example.com", DNS_T_TXT, "v=spf1 ?all", 0},
    Z_END,
};

static const struct zrr z_include[] = {
    {"inc.example", DNS_T_TXT,
     "v=spf1 include:pass.example include:fail.example -all exp=e.example", 0},
    {"pass.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.1 -all", 0},
    {"fail.example", DNS_T_TXT, "v=spf1 -all exp=bad.example", 0},
    {"e.example", DNS_T_TXT, "parent explanation", 0},
    {"bad.example", DNS_T_TXT, "child explanation", 0},
    {"none.example", DNS_T_TXT, "v=spf1 include:nothing.example -all", 0},
    {"nothing.example", DNS_T_A, "192.0.2.9", 0},
    {"temp.example", DNS_T_TXT, "v=spf1 include:slow.example -all", 0},
    {"slow.example", DNS_T_TXT, "TIMEOUT", 0},
    {"perm.example", DNS_T_TXT, "v=spf1 include:broken.example +all", 0},
    {"broken.example", DNS_T_TXT, "v=spf1 a:museum", 0},
    {"loop.example", DNS_T_TXT, "v=spf1 include:loop.example", 0},
    Z_END,
};

static const struct zrr z_redirect[] = {
    {"r.example", DNS_T_TXT,
     "v=spf1 ip4:10.0.0.1 exp=no.example redirect=t.example", 0},
    {"t.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.2 -all exp=yes.example", 0},
    {"no.example", DNS_T_TXT, "from the redirecting record", 0},
    {"yes.example", DNS_T_TXT, "from the target", 0},
    {"rall.example", DNS_T_TXT, "v=spf1 redirect=t.example ?all", 0},
    {"rnone.example", DNS_T_TXT, "v=spf1 redirect=nothing.example", 0},
    {"rloop.example", DNS_T_TXT, "v=spf1 redirect=rloop.example", 0},
    {"rbad.example", DNS_T_TXT, "v=spf1 redirect=%{h}", 0},
    Z_END,
};

/* 10 DNS-querying terms across nested includes, and 11. */
static const struct zrr z_limits[] = {
    {"ten.example", DNS_T_TXT,
     "v=spf1 a include:inner.example mx ip4:192.0.2.1 -all", 0},
    {"eleven.example", DNS_T_TXT,
     "v=spf1 a include:inner.example mx exists:x.example ip4:192.0.2.1", 0},
    {"inner.example", DNS_T_TXT, "v=spf1 a a a a a a a", 0},
    {"inner.example", DNS_T_A, "198.51.100.1", 0},
    {"ten.example", DNS_T_A, "198.51.100.1", 0},
    {"eleven.example", DNS_T_A, "198.51.100.1", 0},
    {"void2.example", DNS_T_TXT, "v=spf1 a:n1.example a:n2.example ?all", 0},
    {"void3.example", DNS_T_TXT,
     "v=spf1 a:n1.example mx:n2.example exists:n3.example ?all", 0},
    {"exvoid.example", DNS_T_TXT,
     "v=spf1 a:n1.example a:n2.example -all exp=n3.example", 0},
    {"mx10.example", DNS_T_TXT, "v=spf1 mx -all", 0},
    {"mx11.example", DNS_T_TXT, "v=spf1 mx -all", 0},
    {"mx10.example", DNS_T_MX, "0 h1.example", 0},
    {"mx10.example", DNS_T_MX, "1 h2.example", 0},
    {"mx10.example", DNS_T_MX, "2 h3.example", 0},
    {"mx10.example", DNS_T_MX, "3 h4.example", 0},
    {"mx10.example", DNS_T_MX, "4 h5.example", 0},
    {"mx10.example", DNS_T_MX, "5 h6.example", 0},
    {"mx10.example", DNS_T_MX, "6 h7.example", 0},
    {"mx10.example", DNS_T_MX, "7 h8.example", 0},
    {"mx10.example", DNS_T_MX, "8 h9.example", 0},
    {"mx10.example", DNS_T_MX, "9 h10.example", 0},
    {"mx11.example", DNS_T_MX, "0 h1.example", 0},
    {"mx11.example", DNS_T_MX, "1 h2.example", 0},
    {"mx11.example", DNS_T_MX, "2 h3.example", 0},
    {"mx11.example", DNS_T_MX, "3 h4.example", 0},
    {"mx11.example", DNS_T_MX, "4 h5.example", 0},
    {"mx11.example", DNS_T_MX, "5 h6.example", 0},
    {"mx11.example", DNS_T_MX, "6 h7.example", 0},
    {"mx11.example", DNS_T_MX, "7 h8.example", 0},
    {"mx11.example", DNS_T_MX, "8 h9.example", 0},
    {"mx11.example", DNS_T_MX, "9 h10.example", 0},
    {"mx11.example", DNS_T_MX, "10 h11.example", 0},
    {"h10.example", DNS_T_A, "192.0.2.10", 0},
    {"h11.example", DNS_T_A, "192.0.2.11", 0},
    {"nullmx.example", DNS_T_TXT, "v=spf1 mx", 0},
    {"nullmx.example", DNS_T_MX, "0 ", 0},
    Z_END,
};

/* The client 192.0.2.7 has 11 PTR names; the 11th is the only one in
 * ptr.example, so with the first 10 only it does not match. */
static const struct zrr z_ptr[] = {
    {"ptr.example", DNS_T_TXT, "v=spf1 ptr ?all", 0},
    {"first.example", DNS_T_TXT, "v=spf1 ptr -all exp=p.example", 0},
    {"p.example", DNS_T_TXT, "connect from %{p}", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n1.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n2.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n3.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n4.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n5.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n6.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n7.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n8.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n9.other", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "n10.first.example", 0},
    {"7.2.0.192.in-addr.arpa", DNS_T_PTR, "mail.ptr.example", 0},
    {"n10.first.example", DNS_T_A, "192.0.2.7", 0},
    {"mail.ptr.example", DNS_T_A, "192.0.2.7", 0},
    Z_END,
};

static const struct zrr z_misc[] = {
    {"two.example", DNS_T_TXT, "v=spf1 -all", 0},
    {"two.example", DNS_T_TXT, "v=spf1 +all", 0},
    {"null.example", DNS_T_TXT, "v=spf1 ip4:|192.0.2.5 -all", 0},
    {"null.example", DNS_T_TXT, "", 0},
    {"nul.example", DNS_T_TXT, "v=spf1 a:foo.example.com\0", 25},
    {"formerr.example", DNS_T_TXT, "FORMERR", 0},
    {"helo.example", DNS_T_TXT, "v=spf1 a -all", 0},
    {"helo.example", DNS_T_A, "192.0.2.20", 0},
    {"cidr.example", DNS_T_TXT, "v=spf1 a:h.cidr.example/24//64 -all", 0},
    {"h.cidr.example", DNS_T_A, "192.0.2.200", 0},
    {"h.cidr.example", DNS_T_AAAA, "2001:db8:1:2::1", 0},
    {"ex.example", DNS_T_TXT, "v=spf1 exists:%{ir}.%{l}.in.example -all", 0},
    {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bob.in."
     "example",
     DNS_T_A, "127.0.0.2", 0},
    {"mapped.example", DNS_T_TXT, "v=spf1 ip6:::ffff:0:0/96 ip4:192.0.2.9 -all",
     0},
    {"exp2.example", DNS_T_TXT, "v=spf1 -all exp=twotxt.example", 0},
    {"twotxt.example", DNS_T_TXT, "one", 0},
    {"twotxt.example", DNS_T_TXT, "two", 0},
    {"exp3.example", DNS_T_TXT, "v=spf1 -all exp=badmacro.example", 0},
    {"badmacro.example", DNS_T_TXT, "The %{x}-files", 0},
    {"exp4.example", DNS_T_TXT, "v=spf1 -all exp=slowexp.example", 0},
    {"slowexp.example", DNS_T_TXT, "TIMEOUT", 0},
    Z_END,
};

/* RFC 7208 section 7.4 through the evaluator: the explanation of a fail
 * holds the macro-strings of the examples, expanded from the client and
 * sender as check_host() sees them. */
static const struct zrr z_rfc74[] = {
    {"email.example.com", DNS_T_TXT, "v=spf1 -all exp=explain.%{v}.%{d}", 0},
    {"explain.in-addr.email.example.com", DNS_T_TXT,
     "%{ir}.%{v}._spf.%{d2} %{lr-}.lp._spf.%{d2} "
     "%{lr-}.lp.%{ir}.%{v}._spf.%{d2} %{ir}.%{v}.%{l1r-}.lp._spf.%{d2} "
     "%{d2}.trusted-domains.example.net",
     0},
    {"explain.ip6.email.example.com", DNS_T_TXT, "%{ir}.%{v}._spf.%{d2}", 0},
    Z_END,
};

static const struct eval_case eval_cases[] = {
    {"ip4 pass", "192.0.2.77", "user@example.com", "h.example", z_basic, "pass",
     NULL, NULL},
    {"fail with exp", "198.51.100.1", "user@example.com", "h.example", z_basic,
     "fail", NULL, "user at example.com may not use 198.51.100.1"},
    {"no local-part", "198.51.100.1", "@example.com", "h.example", z_basic,
     "fail", NULL, "postmaster at example.com may not use 198.51.100.1"},
    {"null sender uses HELO", "198.51.100.1", "", "example.com", z_basic,
     "fail", NULL, "postmaster at example.com may not use 198.51.100.1"},
    {"non-SPF TXT ignored", "192.0.2.1", "u@other.example.com", "h", z_basic,
     "neutral", NULL, NULL},
    {"no record", "192.0.2.1", "u@none.example.com", "h", z_basic, "none", NULL,
     NULL},
    {"single label", "192.0.2.1", "u@localhost", "h", z_basic, "none", NULL,
     NULL},
    {"domain literal", "192.0.2.1", "u@[192.0.2.1]", "h", z_basic, "none", NULL,
     NULL},
    {"numeric top label", "192.0.2.1", "u@example.123", "h", z_basic, "none",
     NULL, NULL},
    {"empty label", "192.0.2.1", "u@a..example.com", "h", z_basic, "none", NULL,
     NULL},
    {"include pass", "192.0.2.1", "u@inc.example", "h", z_include, "pass", NULL,
     NULL},
    {"include fail uses parent exp", "192.0.2.99", "u@inc.example", "h",
     z_include, "fail", NULL, "parent explanation"},
    {"include none", "192.0.2.1", "u@none.example", "h", z_include, "permerror",
     "include:nothing.example has no SPF record", NULL},
    {"include temperror", "192.0.2.1", "u@temp.example", "h", z_include,
     "temperror", "timeout", NULL},
    {"include permerror", "192.0.2.1", "u@perm.example", "h", z_include,
     "permerror", "top label", NULL},
    {"include loop", "192.0.2.1", "u@loop.example", "h", z_include, "permerror",
     "more than 10 DNS-querying terms", NULL},
    {"redirect target exp", "192.0.2.99", "u@r.example", "h", z_redirect,
     "fail", NULL, "from the target"},
    {"redirect pass", "192.0.2.2", "u@r.example", "h", z_redirect, "pass", NULL,
     NULL},
    {"redirect ignored with all", "192.0.2.2", "u@rall.example", "h",
     z_redirect, "neutral", NULL, NULL},
    {"redirect none", "192.0.2.2", "u@rnone.example", "h", z_redirect,
     "permerror", "no SPF record", NULL},
    {"redirect loop", "192.0.2.2", "u@rloop.example", "h", z_redirect,
     "permerror", "more than 10", NULL},
    {"redirect bad domain", "192.0.2.2", "u@rbad.example", "OEMCOMPUTER",
     z_redirect, "permerror", "bad domain", NULL},
    {"10 terms", "192.0.2.1", "u@ten.example", "h", z_limits, "pass", NULL,
     NULL},
    {"11 terms", "192.0.2.1", "u@eleven.example", "h", z_limits, "permerror",
     "more than 10 DNS-querying terms", NULL},
    {"2 void lookups", "192.0.2.1", "u@void2.example", "h", z_limits, "neutral",
     NULL, NULL},
    {"3 void lookups", "192.0.2.1", "u@void3.example", "h", z_limits,
     "permerror", "more than 2 void lookups", NULL},
    {"exp lookup is not void", "192.0.2.1", "u@exvoid.example", "h", z_limits,
     "fail", NULL, NULL},
    {"10 MX names", "192.0.2.10", "u@mx10.example", "h", z_limits, "pass", NULL,
     NULL},
    {"11 MX names", "192.0.2.10", "u@mx11.example", "h", z_limits, "permerror",
     "more than 10 MX records", NULL},
    {"null MX", "192.0.2.10", "u@nullmx.example", "h", z_limits, "neutral",
     NULL, NULL},
    {"ptr uses 10 names", "192.0.2.7", "u@ptr.example", "h", z_ptr, "neutral",
     NULL, NULL},
    {"ptr match", "192.0.2.7", "u@first.example", "h", z_ptr, "pass", NULL,
     NULL},
    {"p macro", "192.0.2.8", "u@first.example", "h", z_ptr, "fail", NULL,
     "connect from unknown"},
    {"two records", "192.0.2.1", "u@two.example", "h", z_misc, "permerror",
     "more than one SPF record", NULL},
    {"null text", "192.0.2.5", "u@null.example", "h", z_misc, "pass", NULL,
     NULL},
    {"NUL in record", "192.0.2.5", "u@nul.example", "h", z_misc, "permerror",
     "byte 0x00", NULL},
    {"FORMERR is temperror", "192.0.2.5", "u@formerr.example", "h", z_misc,
     "temperror", "FORMERR", NULL},
    {"helo identity", "192.0.2.20", "", "helo.example", z_misc, "pass", NULL,
     NULL},
    {"cidr4", "192.0.2.1", "u@cidr.example", "h", z_misc, "pass", NULL, NULL},
    {"cidr4 miss", "192.0.3.1", "u@cidr.example", "h", z_misc, "fail", NULL,
     NULL},
    {"cidr6", "2001:db8:1:2:ffff::1", "u@cidr.example", "h", z_misc, "pass",
     NULL, NULL},
    {"cidr6 miss", "2001:db8:1:3::1", "u@cidr.example", "h", z_misc, "fail",
     NULL, NULL},
    {"exists ip6 nibbles", "2001:db8::1", "bob@ex.example", "h", z_misc, "pass",
     NULL, NULL},
    {"mapped client is ipv4", "::ffff:192.0.2.9", "u@mapped.example", "h",
     z_misc, "pass", NULL, NULL},
    {"mapped client no ip6", "::ffff:192.0.2.8", "u@mapped.example", "h",
     z_misc, "fail", NULL, NULL},
    {"two exp records", "192.0.2.1", "u@exp2.example", "h", z_misc, "fail",
     NULL, NULL},
    {"exp syntax error", "192.0.2.1", "u@exp3.example", "h", z_misc, "fail",
     NULL, NULL},
    {"exp timeout", "192.0.2.1", "u@exp4.example", "h", z_misc, "fail", NULL,
     NULL},
    {"RFC 7.4 ipv4 via exp", "192.0.2.3", "strong-bad@email.example.com", "h",
     z_rfc74, "fail", NULL,
     "3.2.0.192.in-addr._spf.example.com bad.strong.lp._spf.example.com "
     "bad.strong.lp.3.2.0.192.in-addr._spf.example.com "
     "3.2.0.192.in-addr.strong.lp._spf.example.com "
     "example.com.trusted-domains.example.net"},
    {"RFC 7.4 ipv6 via exp", "2001:db8::cb01", "strong-bad@email.example.com",
     "h", z_rfc74, "fail", NULL,
     "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6."
     "_spf.example.com"},
};

static void
test_eval(void)
{
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]);
	     i++) {
		const struct eval_case *c = &eval_cases[i];
		struct spf_eval_outcome out;
		struct fake f;

		eval_zone(c->zone, c->ip, c->sender, c->helo,
		          clock_ms() + 60000, &out, &f);
		is_str(spf_eval_result_name(out.result), c->want, "eval %s",
		       c->name);
		if (c->reason != NULL)
			ok(strstr(out.reason, c->reason) != NULL,
			   "eval %s: reason \"%s\" says \"%s\"", c->name,
			   out.reason, c->reason);
		if (out.result == SPF_EVAL_FAIL)
			is_str(out.explanation, c->exp ? c->exp : "",
			       "eval %s: explanation", c->name);
		is_int((long long)f.outstanding, 0,
		       "eval %s: every lookup released", c->name);
	}
}

/* Counters, flags and the order of lookups. */
static void
test_eval_details(void)
{
	struct spf_eval_outcome out;
	struct fake f;

	eval_zone(z_limits, "192.0.2.10", "u@mx10.example", "h",
	          clock_ms() + 60000, &out, &f);
	ok(f.max_outstanding >= 11,
	   "the 10 MX address lookups start together (%zu at once)",
	   f.max_outstanding);
	is_int(out.dns_terms, 1, "mx counts as one term");
	eval_zone(z_limits, "192.0.2.1", "u@ten.example", "h",
	          clock_ms() + 60000, &out, &f);
	is_int(out.dns_terms, 10, "ten.example: terms across the include");
	eval_zone(z_limits, "192.0.2.1", "u@void2.example", "h",
	          clock_ms() + 60000, &out, &f);
	is_int(out.void_lookups, 2, "void2.example: two void lookups");
	eval_zone(z_misc, "2001:db8::1", "bob@ex.example", "h",
	          clock_ms() + 60000, &out, &f);
	ok(out.local_part_used, "%%{l} in exists marks the local-part used");
	is_str(out.sender, "bob@ex.example", "sender as evaluated");
	is_str(out.mechanism, "exists:%{ir}.%{l}.in.example",
	       "the deciding mechanism");
	eval_zone(z_basic, "198.51.100.1", "user@example.com", "h",
	          clock_ms() + 60000, &out, &f);
	ok(!out.local_part_used, "%%{l} in exp text does not count");
	eval_zone(z_basic, "192.0.2.1", "user@example.com", "h", clock_ms() - 1,
	          &out, &f);
	is_str(spf_eval_result_name(out.result), "temperror",
	       "a passed deadline is temperror");
	ok(strstr(out.reason, "deadline") != NULL, "deadline reason: %s",
	   out.reason);
}

/* ---- spf_check against a server that never answers ---------------- */

/* A loopback UDP socket nobody reads: every query to it times out. */
static int
dead_server(char *addr, size_t n)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(0x7f000001);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
		return -1;
	snprintf(addr, n, "127.0.0.1@%u", ntohs(sa.sin_port));
	return fd;
}

static void
check_record(struct spf_check *c, const char *what, enum ar_result want,
             const char *ptype_prop, const char *value)
{
	struct resultset *rs = resultset_new();
	const struct result *r;

	if (rs == NULL || spf_check_finish(c, rs) != 0)
		abort();
	r = resultset_get(rs, 0);
	is_str(ar_result_name(r->result), ar_result_name(want), "%s: result",
	       what);
	is_int(r->key,
	       want == AR_R_TEMPERROR ? POLICY_K_SPF_TEMPERROR : RESULT_NO_KEY,
	       "%s: policy key", what);
	is_str(result_get_prop(r, "smtp", ptype_prop), value, "%s: smtp.%s",
	       what, ptype_prop);
	ok(r->reason != NULL && strstr(r->reason, "deadline") != NULL,
	   "%s: reason (%s)", what, r->reason ? r->reason : "none");
	resultset_free(rs);
}

static void
test_check(void)
{
	char addr[64];
	const char *servers[1] = {addr};
	struct dns_settings s = {servers, 1, 5000, NULL};
	struct errbuf eb;
	struct ipaddr ip;
	struct dns *d = NULL;
	struct work *w = NULL;
	struct spf_check *c;
	int fd = dead_server(addr, sizeof(addr));
	int64_t t0;

	ipaddr_parse("192.0.2.1", &ip);
	if (!ok(fd >= 0 && (d = dns_new(&s, &eb)) != NULL &&
	            (w = work_new(2)) != NULL,
	        "resolver and pool for spf_check"))
		return;
	t0 = clock_ms();
	c = spf_check_start(d, w, SPF_ID_MAILFROM, &ip, "helo.example",
	                    "user@example.org", 300);
	check_record(c, "mailfrom deadline", AR_R_TEMPERROR, "mailfrom",
	             "example.org");
	ok(clock_ms() - t0 < 2000, "the 300 ms deadline holds (%lld ms)",
	   (long long)(clock_ms() - t0));
	spf_check_free(c);
	c = spf_check_start(d, NULL, SPF_ID_HELO, &ip, "helo.example", NULL,
	                    200);
	check_record(c, "helo, no pool", AR_R_TEMPERROR, "helo",
	             "helo.example");
	check_record(c, "helo, second message", AR_R_TEMPERROR, "helo",
	             "helo.example");
	spf_check_free(c);
	t0 = clock_ms();
	c = spf_check_start(d, w, SPF_ID_MAILFROM, &ip, "helo.example",
	                    "user@example.net", 20000);
	usleep(100000);
	spf_check_free(c); /* running: cancelled, not waited out */
	ok(clock_ms() - t0 < 1500, "free of a running check returns (%lld ms)",
	   (long long)(clock_ms() - t0));
	ok(strstr(spf_library_version(), "RFC 7208") != NULL, "version: %s",
	   spf_library_version());
	work_free(w);
	dns_free(d);
	close(fd);
}

/* ---- vectors ------------------------------------------------------ */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	buf_init(&b, 0);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	if (len != NULL)
		*len = b.len;
	if (b.data == NULL)
		buf_puts(&b, "");
	return buf_steal(&b);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
run_vector(const char *dir, const char *name)
{
	char path[2400];
	char *in, *want, *got;
	size_t len;
	bool is_error;

	snprintf(path, sizeof(path), "%s/%s/input", dir, name);
	if ((in = slurp(path, &len)) == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s/expected", dir, name);
	want = slurp(path, NULL);
	is_error = want == NULL;
	got = render(in, len, "\n");
	if (is_error)
		ok(strncmp(got, "error: ", 7) == 0, "vector %s: error (%s)",
		   name, got);
	else
		is_str(got, want, "vector %s", name);
	free(in);
	free(want);
	free(got);
}

static void
test_vectors(void)
{
	const char *src = getenv("T_SRCDIR");
	char dir[1024];
	char *names[VECTOR_MAX];
	size_t n = 0;
	struct dirent *de;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/t/vectors/spf/records",
	         src != NULL && *src != '\0' ? src : ".");
	if ((dp = opendir(dir)) != NULL) {
		while ((de = readdir(dp)) != NULL && n < VECTOR_MAX)
			if (de->d_name[0] != '.')
				names[n++] = strdup(de->d_name);
		closedir(dp);
	}
	qsort(names, n, sizeof(names[0]), cmp_names);
	ok(n >= 100, "vector cases found in %s (%zu)", dir, n);
	for (size_t i = 0; i < n; i++) {
		run_vector(dir, names[i]);
		free(names[i]);
	}
}

int
main(void)
{
	test_parse();
	test_is_spf();
	test_macros();
	test_truncation();
	test_eval();
	test_eval_details();
	test_check();
	test_vectors();
	return done_testing();
}
