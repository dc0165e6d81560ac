/*
 * dmarc_test: DMARC records, domains, the tree walk arithmetic, the
 * public suffix list and the parts of dmarc_check that need no DNS.
 *
 * The record vectors are t/vectors/dmarc/records/<case>/ under $T_SRCDIR
 * (see t/vectors/dmarc/README): "input", and "expected" (the rendering of
 * dmarc_record_parse) or "notdmarc".  Each record is also read by
 * libopendmarc, as a cross-check: it must agree with our parse, or the
 * case holds a "libopendmarc" file with what it reads instead (the
 * documented differences: its leniency).  The DNS side of dmarc_check
 * runs through the daemon in t/milter/dmarc.t.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <opendmarc/dmarc.h>

#include "../lib/tap.h"
#include "../lib/vectors.h"
#include "dmarc_check.h"
#include "dmarc_psl.h"
#include "dmarc_record.h"
#include "hdr.h"
#include "result.h"

static const char *const case_files[] = {"input", NULL};

#define VECTOR_MAX 512
#define FILE_MAX   (1024 * 1024)

/* ---- libopendmarc as a reference ---- */

static const char *
lib_p(int p)
{
	return p == DMARC_RECORD_P_NONE         ? "none"
	       : p == DMARC_RECORD_P_QUARANTINE ? "quarantine"
	       : p == DMARC_RECORD_P_REJECT     ? "reject"
	                                        : "-";
}

static int
printable(int c)
{
	return c >= 0x21 && c < 0x7f ? c : '?';
}

/* libopendmarc's reading of a record: "status=N p=.. sp=.. pct=N
 * adkim=c aspf=c rua=N". */
static void
lib_render(const char *rec, char *out, size_t outsz)
{
	DMARC_POLICY_T *p =
	    opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0);
	int st, pp = 0, sp = 0, pct = 0, adkim = 0, aspf = 0, nrua = 0;
	u_char **rua;

	st = opendmarc_policy_store_dmarc(p, (u_char *)rec,
	                                  (u_char *)"example.com", NULL);
	if (st == DMARC_PARSE_OKAY) {
		opendmarc_policy_fetch_p(p, &pp);
		opendmarc_policy_fetch_sp(p, &sp);
		opendmarc_policy_fetch_pct(p, &pct);
		opendmarc_policy_fetch_adkim(p, &adkim);
		opendmarc_policy_fetch_aspf(p, &aspf);
		rua = opendmarc_policy_fetch_rua(p, NULL, 0, 1);
		while (rua != NULL && rua[nrua] != NULL)
			nrua++;
	}
	opendmarc_policy_connect_shutdown(p);
	if (st != DMARC_PARSE_OKAY)
		snprintf(out, outsz, "status=%d\n", st);
	else
		snprintf(out, outsz,
		         "status=0 p=%s sp=%s pct=%d adkim=%c "
		         "aspf=%c rua=%d\n",
		         lib_p(pp), lib_p(sp), pct, printable(adkim),
		         printable(aspf), nrua);
}

/* What libopendmarc should read if it agreed with our parse. */
static void
ours_as_lib(const struct dmarc_record_tags *t, char *out, size_t outsz)
{
	snprintf(out, outsz,
	         "status=0 p=%s sp=%s pct=%d adkim=%c aspf=%c "
	         "rua=%u\n",
	         dmarc_req_name(t->p), dmarc_req_name(t->sp), t->pct, t->adkim,
	         t->aspf, t->nrua);
}

/* ---- record vectors ---- */

static void
run_record(const char *dir, const char *name)
{
	char *cdir = tv_join(dir, name), *in, *want, *libwant;
	char got[512], lib[256], agree[256];
	struct dmarc_record_tags t;
	size_t len;
	int st;

	in = tv_slurp(cdir, "input", &len);
	want = tv_slurp(cdir, "expected", NULL);
	st = dmarc_record_parse(in, len, &t);
	if (want == NULL) {
		is_str(st == DMARC_RECORD_NOT_DMARC ? "notdmarc" : "a record",
		       "notdmarc", "record %s: not a DMARC record", name);
	} else {
		dmarc_record_render(&t, got, sizeof(got));
		strcat(got, "\n");
		is_str(st == DMARC_RECORD_OK ? got : "notdmarc", want,
		       "record %s", name);
	}
	if (st == DMARC_RECORD_OK && strlen(in) == len) {
		lib_render(in, lib, sizeof(lib));
		ours_as_lib(&t, agree, sizeof(agree));
		libwant = tv_slurp(cdir, "libopendmarc", NULL);
		is_str(lib, libwant != NULL ? libwant : agree,
		       "record %s: libopendmarc %s", name,
		       libwant != NULL ? "differs as documented" : "agrees");
		free(libwant);
	}
	free(in);
	free(want);
	free(cdir);
}

static void
test_records(void)
{
	char *dir = tv_join(tv_srcdir(), "t/vectors/dmarc/records");
	char *names[VECTOR_MAX];
	int n = tv_list_cases(dir, case_files, names, VECTOR_MAX);

	if (ok(n >= 50, "record vectors in %s (%d)", dir, n))
		for (int i = 0; i < n; i++)
			run_record(dir, names[i]);
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(dir);
}

/* ---- domains (RFC 9989 5.3.1; RFC 3492 section 7.1 samples) ---- */

static void
test_domains(void)
{
	static const struct {
		const char *name, *in, *want; /* want NULL: refused */
	} cases[] = {
	    {"lower-cased, final dot dropped", "Example.COM.", "example.com"},
	    {"U-label",
	     "b\xc3\xbc"
	     "cher.example",
	     "xn--bcher-kva.example"},
	    {"U-label with upper-case ASCII",
	     "B\xc3\xbc"
	     "cher.example",
	     "xn--bcher-kva.example"},
	    {"German", "m\xc3\xbcnchen.de", "xn--mnchen-3ya.de"},
	    {"CJK label", "\xe5\x85\xac\xe5\x8f\xb8.cn", "xn--55qx5d.cn"},
	    {"RFC 3492 7.1 (A) Arabic",
	     "\xd9\x84\xd9\x8a\xd9\x87\xd9\x85\xd8\xa7\xd8\xa8\xd8\xaa\xd9\x83"
	     "\xd9\x84\xd9\x85\xd9\x88\xd8\xb4\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a"
	     "\xd8\x9f.example",
	     "xn--egbpdaj6bu4bxfgehfvwxn.example"},
	    {"RFC 3492 7.1 (B) Chinese",
	     "\xe4\xbb\x96\xe4\xbb\xac\xe4\xb8\xba\xe4\xbb\x80\xe4\xb9\x88\xe4"
	     "\xb8\x8d\xe8\xaf\xb4\xe4\xb8\xad\xe6\x96\x87",
	     "xn--ihqwcrb4cv8a8dqg056pqjye"},
	    {"RFC 3492 7.1 (L) mixed",
	     "3\xe5\xb9\xb4"
	     "B\xe7\xb5\x84\xe9\x87"
	     "\x91\xe5\x85\xab\xe5\x85\x88\xe7\x94\x9f",
	     "xn--3b-ww4c5e180e575a65lsy2b"},
	    {"an A-label stays", "xn--mnchen-3ya.de", "xn--mnchen-3ya.de"},
	    {"one label", "localhost", "localhost"},
	    {"empty", "", NULL},
	    {"a dot alone", ".", NULL},
	    {"empty label", "a..example", NULL},
	    {"leading dot", ".example", NULL},
	    {"space", "exa mple.example", NULL},
	    {"backslash", "a\\b.example", NULL},
	    {"bad UTF-8", "\xff.example", NULL},
	    {"surrogate", "\xed\xa0\x80.example", NULL},
	};
	char out[DMARC_DOMAIN_MAX], long253[300], long254[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = dmarc_record_domain(cases[i].in, out);

		is_str(rc == 0 ? out : NULL, cases[i].want, "domain: %s",
		       cases[i].name);
	}
	/* 63.63.63.61 = 253 octets; one more is too long. */
	memset(long253, 'a', 253);
	long253[63] = long253[127] = long253[191] = '.';
	long253[253] = '\0';
	memcpy(long254, long253, 254);
	long254[253] = 'a';
	long254[254] = '\0';
	is_int(dmarc_record_domain(long253, out), 0, "domain: 253 octets");
	is_int(dmarc_record_domain(long254, out), -1, "domain: 254 octets");
	memset(long254, 'a', 64);
	strcpy(long254 + 64, ".example");
	is_int(dmarc_record_domain(long254, out), -1, "domain: a label of 64");
	is_int(dmarc_record_domain(long254 + 1, out), 0,
	       "domain: a label of 63");
}

/* ---- the tree walk (RFC 9989 section 4.10) ---- */

static void
test_walk(void)
{
	static const struct {
		const char *name, *domain, *want; /* names, space-separated */
	} cases[] = {
	    {"one label", "com", "com"},
	    {"two labels", "example.com", "example.com com"},
	    {"RFC 9989 4.10: 13 labels take 8 queries",
	     "a.b.c.d.e.f.g.h.i.j.mail.example.com",
	     "a.b.c.d.e.f.g.h.i.j.mail.example.com g.h.i.j.mail.example.com "
	     "h.i.j.mail.example.com i.j.mail.example.com j.mail.example.com "
	     "mail.example.com example.com com"},
	    {"RFC 9989 B.4.2", "a.b.c.d.e.f.g.h.i.j.k.example.com",
	     "a.b.c.d.e.f.g.h.i.j.k.example.com g.h.i.j.k.example.com "
	     "h.i.j.k.example.com i.j.k.example.com j.k.example.com "
	     "k.example.com example.com com"},
	    {"8 labels: x >= 8 goes to 7", "a.b.c.d.e.f.g.h",
	     "a.b.c.d.e.f.g.h b.c.d.e.f.g.h c.d.e.f.g.h d.e.f.g.h e.f.g.h "
	     "f.g.h g.h h"},
	    {"7 labels", "a.b.c.d.e.f.g",
	     "a.b.c.d.e.f.g b.c.d.e.f.g c.d.e.f.g d.e.f.g e.f.g f.g g"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t off[DMARC_WALK_MAX], n;
		char got[1024] = "";

		n = dmarc_record_walk(cases[i].domain, off);
		for (size_t k = 0; k < n; k++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			         "%s%s", k ? " " : "",
			         cases[i].domain + off[k]);
		is_str(got, cases[i].want, "walk: %s", cases[i].name);
	}
}

/* Organizational domain selection (RFC 9989 section 4.10.2). */
static void
test_org(void)
{
	static const struct {
		const char *name, *start, *found, *want;
	} cases[] = {
	    /* found: "name:psd ..." in walk order (longest first) */
	    {"4.10.2 example 1: fewest labels", "a.mail.example.com",
	     "mail.example.com:u example.com:u", "example.com"},
	    {"4.10.2 example 2: psd=n", "a.mail.example.com",
	     "mail.example.com:n", "mail.example.com"},
	    {"4.10.2 example 3: psd=y one label below", "a.mail.example.com",
	     "com:y", "example.com"},
	    {"B.4.3 author", "giant.bank.example",
	     "giant.bank.example:u bank.example:y", "giant.bank.example"},
	    {"B.4.3 DKIM identifier", "mail.mega.bank.example",
	     "bank.example:y", "mega.bank.example"},
	    {"B.4.1 DKIM identifier", "signing.example.com",
	     "signing.example.com:u example.com:u", "example.com"},
	    {"psd=y where the walk started", "bank.example", "bank.example:y",
	     "bank.example"},
	    {"no record: the start", "a.b.example", "", "a.b.example"},
	    {"psd=n at the start", "a.b.example", "a.b.example:n",
	     "a.b.example"},
	    {"psd=y one label below is the start", "a.bank.example",
	     "bank.example:y", "a.bank.example"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dmarc_walk_found f[DMARC_WALK_MAX];
		const char *d = cases[i].start, *p = cases[i].found;
		size_t n = 0;

		while (*p != '\0' && n < DMARC_WALK_MAX) {
			size_t len = strcspn(p, ":");
			char name[DMARC_DOMAIN_MAX];

			snprintf(name, sizeof(name), "%.*s", (int)len, p);
			f[n].off = strlen(d) - strlen(name);
			f[n++].psd = p[len + 1];
			p += len + 2;
			p += *p == ' ';
		}
		is_str(d + dmarc_record_org(d, f, n), cases[i].want, "org: %s",
		       cases[i].name);
	}
	ok(dmarc_record_under("a.example.com", "example.com") &&
	       dmarc_record_under("example.com", "example.com") &&
	       !dmarc_record_under("badexample.com", "example.com") &&
	       !dmarc_record_under("com", "example.com"),
	   "under: subdomains and the domain itself, not a suffix string");
}

/* ---- the public suffix list (RFC 7489 section 3.2) ---- */

struct psl_case {
	const char *domain, *suffix, *org;
};

static void
psl_table(const struct dmarc_psl *psl, const char *what,
          const struct psl_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		is_str(c[i].domain + dmarc_psl_suffix(psl, c[i].domain),
		       c[i].suffix, "psl %s: public suffix of %s", what,
		       c[i].domain);
		is_str(c[i].domain + dmarc_psl_org(psl, c[i].domain), c[i].org,
		       "psl %s: organizational domain of %s", what,
		       c[i].domain);
	}
}

static void
test_psl_files(void)
{
	static const struct psl_case test[] = {
	    {"a.b.example", "example", "b.example"},
	    {"x.giant.bank.example", "bank.example", "giant.bank.example"},
	    {"bank.example", "bank.example", "bank.example"},
	    {"example", "example", "example"},
	    {"a.b.wild.example", "b.wild.example", "a.b.wild.example"},
	    {"b.wild.example", "b.wild.example", "b.wild.example"},
	    {"a.keep.wild.example", "wild.example", "keep.wild.example"},
	    {"keep.wild.example", "wild.example", "keep.wild.example"},
	    {"x.unlisted", "unlisted", "x.unlisted"},
	};
	static const struct psl_case debian[] = {
	    {"www.example.co.uk", "co.uk", "example.co.uk"},
	    {"a.www.ck", "ck", "www.ck"},
	    {"foo.ck", "foo.ck", "foo.ck"},
	    {"x.y.kawasaki.jp", "y.kawasaki.jp", "x.y.kawasaki.jp"},
	    {"a.city.kawasaki.jp", "kawasaki.jp", "city.kawasaki.jp"},
	    {"mail.xn--mnchen-3ya.de", "de", "xn--mnchen-3ya.de"},
	    {"a.xn--55qx5d.cn", "xn--55qx5d.cn", "a.xn--55qx5d.cn"},
	    {"a.b.example.com", "com", "example.com"},
	};
	const char *deb = "/usr/share/publicsuffix/public_suffix_list.dat";
	char *path = tv_join(tv_srcdir(), "t/vectors/dmarc/psl.dat");
	struct errbuf eb;
	struct dmarc_psl *psl = dmarc_psl_load(path, &eb);
	FILE *f;

	if (ok(psl != NULL, "psl: %s loads", path)) {
		is_int((long long)dmarc_psl_count(psl), 4, "psl: 4 rules");
		psl_table(psl, "test", test, sizeof(test) / sizeof(test[0]));
	}
	dmarc_psl_free(psl);
	free(path);
	if ((f = fopen(deb, "r")) == NULL) {
		ok(1, "# SKIP %s is not installed", deb);
		return;
	}
	fclose(f);
	psl = dmarc_psl_load(deb, &eb);
	if (ok(psl != NULL, "psl: Debian's list loads") &&
	    ok(dmarc_psl_count(psl) > 5000, "psl: Debian's list has %zu rules",
	       dmarc_psl_count(psl)))
		psl_table(psl, "debian", debian,
		          sizeof(debian) / sizeof(debian[0]));
	dmarc_psl_free(psl);
}

static void
test_psl_errors(void)
{
	static const struct {
		const char *name, *text, *want;
	} cases[] = {
	    {"empty", "", "t: no public suffix rules"},
	    {"comments only", "// a\n// b\n", "t: no public suffix rules"},
	    {"two wildcards", "com\n*.*.x\n",
	     "t:2: \"*.*.x\" is not a public "
	     "suffix rule"},
	    {"inner wildcard", "a.*.x\n",
	     "t:1: \"a.*.x\" is not a public "
	     "suffix rule"},
	    {"exception of one label", "!x\n",
	     "t:1: \"!x\" is not a public "
	     "suffix rule"},
	    {"empty label", "a..b\n",
	     "t:1: \"a..b\" is not a public suffix "
	     "rule"},
	    {"bad UTF-8", "\xff.x\n",
	     "t:1: \"\xff.x\" is not a public suffix "
	     "rule"},
	    {"rule ends at whitespace", "com extra words\r\n", NULL},
	    {"indented line ignored", "  nothing\ncom\n", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct errbuf eb;
		struct dmarc_psl *psl = dmarc_psl_parse(
		    "t", cases[i].text, strlen(cases[i].text), &eb);

		is_str(psl == NULL ? eb.msg : NULL, cases[i].want, "psl: %s",
		       cases[i].name);
		dmarc_psl_free(psl);
	}
}

/* ---- dmarc_check without DNS ---- */

static void
test_bad_from(void)
{
	static const struct {
		const char *name, *value, *reason;
	} cases[] = {
	    {"two domains", " a@x.example, b@y.example",
	     "From has addresses in 2 domains"},
	    {"no domain", " alice", "From address has no domain"},
	    {"group", " list: a@x.example;", "From is not a mailbox-list"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resultset *rs = resultset_new();
		struct hdr_from f;
		const struct result *r;
		char reply[160];

		hdr_from_value(cases[i].value, strlen(cases[i].value), &f);
		is_int(dmarc_check_bad_from(&f, rs), 0, "bad from %s: added",
		       cases[i].name);
		r = resultset_get(rs, 0);
		snprintf(reply, sizeof(reply), "%s: DMARC cannot pass",
		         cases[i].reason);
		is_str(ar_result_name(r->result), "permerror",
		       "bad from %s: permerror", cases[i].name);
		is_str(r->reason, cases[i].reason, "bad from %s: reason",
		       cases[i].name);
		is_int(r->key, POLICY_K_DMARC_BAD_FROM, "bad from %s: key",
		       cases[i].name);
		is_str(r->reply, reply, "bad from %s: reply", cases[i].name);
		resultset_free(rs);
	}
}

/* An author domain that is no DNS name needs no lookup: permerror. */
static void
test_bad_domain(void)
{
	struct dmarc_settings s = {.mode = DMARC_MODE_RFC9989, .enforce = true};
	struct dmarc_auth a = {.spf = AR_R_PASS, .spf_domain = "x.example"};
	struct resultset *rs = resultset_new();
	struct dmarc_record rec;
	struct dmarc_check *c = dmarc_check_start(NULL, &s, "a..example");
	const struct result *r;

	if (!ok(c != NULL, "bad domain: started") ||
	    !is_int(dmarc_check_finish(c, &a, rs, &rec), 0,
	            "bad domain: finished")) {
		dmarc_check_free(c);
		resultset_free(rs);
		return;
	}
	r = resultset_get(rs, 0);
	is_str(ar_result_name(r->result), "permerror", "bad domain: permerror");
	is_int(r->key, POLICY_K_DMARC_PERMERROR, "bad domain: key");
	is_str(result_get_prop(r, "header", "from"), "a..example",
	       "bad domain: header.from as given");
	is_int(rec.result, AR_R_PERMERROR, "bad domain: the record says so");
	dmarc_check_free(c);
	resultset_free(rs);
}

/* ---- libopendmarc from several threads (the path dmarc_check.c uses,
 * without opendmarc_policy_library_init) ---- */

static const char *const thread_recs[] = {
    ("v=DMARC1; p=reject; sp=none; pct=20; adkim=s; "
     "rua=mailto:a@b.example,mailto:c@d.example"),
    "v=DMARC1; p=quarantine; aspf=s; fo=1:d; ruf=mailto:x@y.example",
    "v=DMARC1; p=none; ri=3600; rf=afrf",
};

static void *
thread_main(void *arg)
{
	long wrong = 0;
	char want[3][256], got[256];

	for (int k = 0; k < 3; k++)
		lib_render(thread_recs[k], want[k], sizeof(want[k]));
	for (int i = 0; i < 3000; i++) {
		int k = (i + (int)(long)arg) % 3;
		struct dmarc_record_tags t;

		lib_render(thread_recs[k], got, sizeof(got));
		wrong += strcmp(got, want[k]) != 0;
		wrong +=
		    dmarc_record_parse(thread_recs[k], strlen(thread_recs[k]),
		                       &t) != DMARC_RECORD_OK;
	}
	return (void *)wrong;
}

static void
test_threads(void)
{
	pthread_t th[4];
	long wrong = 0;

	for (long i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)i) != 0)
			wrong++;
	for (int i = 0; i < 4; i++) {
		void *w;

		pthread_join(th[i], &w);
		wrong += (long)w;
	}
	is_int(wrong, 0,
	       "4 threads x 3000 libopendmarc and own parses: "
	       "no wrong answer");
}

int
main(void)
{
	test_records();
	test_domains();
	test_walk();
	test_org();
	test_psl_files();
	test_psl_errors();
	test_bad_from();
	test_bad_domain();
	test_threads();
	return done_testing();
}
