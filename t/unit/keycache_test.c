/*
 * keycache_test: DKIM key records (RFC 6376 section 3.6.1).
 *
 * Offline: every case of t/vectors/keyrec (input -> expected outcome),
 * generated records (sizes, tag counts), and selector/domain checks that
 * never reach DNS.  Live, only when KEYCACHE_DNS ("IP@PORT" of a test
 * unbound) and KEYCACHE_UBCONF (its libunbound config) are set, as
 * t/dns/keycache.t does: lookups, caching, sharing and eviction against
 * the records that script serves.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "dns.h"
#include "keycache.h"
#include "../lib/tap.h"

/* "pass k=rsa bits=2048 h=sha256 t=y:s" or "permerror <why>". */
static void
describe(enum ar_result r, const struct dkim_key *k, const char *why, char *out,
         size_t outsz)
{
	const char *t;

	if (r != AR_R_PASS || k == NULL || k->pkey == NULL) {
		snprintf(out, outsz, "%s %s", ar_result_name(r),
		         why ? why : "(null)");
		return;
	}
	t = k->testing && k->strict ? "y:s"
	    : k->testing            ? "y"
	    : k->strict             ? "s"
	                            : "none";
	snprintf(out, outsz, "pass k=%s bits=%u h=%s%s%s t=%s",
	         pkey_type_name(k->type), pkey_bits(k->pkey),
	         k->hashes & DKIM_KEY_SHA256 ? "sha256" : "",
	         k->hashes == (DKIM_KEY_SHA256 | DKIM_KEY_SHA1) ? ":" : "",
	         k->hashes & DKIM_KEY_SHA1 ? "sha1" : "", t);
}

/* Parse a record and describe the outcome. */
static void
parse_describe(const char *txt, size_t len, char *out, size_t outsz)
{
	struct dkim_key k;
	const char *why = NULL;
	enum ar_result r = keycache_parse_record(txt, len, &k, &why);

	describe(r, &k, why, out, outsz);
	if (r == AR_R_PASS && pkey_type(k.pkey) != k.type)
		snprintf(out, outsz, "key type %d but k= %d",
		         (int)pkey_type(k.pkey), (int)k.type);
	if (r != AR_R_PASS && k.pkey != NULL)
		snprintf(out, outsz, "a key with an error");
	pkey_unref(k.pkey);
}

/* The whole file into buf (NUL-terminated); its length or -1. */
static ssize_t
slurp(const char *path, char *buf, size_t bufsz)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, bufsz - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (ssize_t)n;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
run_vector(const char *dir, const char *name)
{
	size_t insz = 1 << 17;
	char path[4096], want[512], got[512], *input = malloc(insz);
	ssize_t n = -1, wn = -1;

	if (snprintf(path, sizeof(path), "%s/%s/input", dir, name) <
	    (int)sizeof(path))
		n = slurp(path, input, insz);
	if (snprintf(path, sizeof(path), "%s/%s/expected", dir, name) <
	    (int)sizeof(path))
		wn = slurp(path, want, sizeof(want));
	if (ok(n >= 0 && wn > 0, "vector %s: readable", name)) {
		want[strcspn(want, "\n")] = '\0';
		parse_describe(input, (size_t)n, got, sizeof(got));
		is_str(got, want, "vector %s", name);
	}
	free(input);
}

static void
test_vectors(const char *srcdir)
{
	char dir[4096], *names[512];
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/t/vectors/keyrec", srcdir);
	if (!ok((d = opendir(dir)) != NULL, "open %s", dir))
		return;
	while ((de = readdir(d)) != NULL && n < 512)
		if (de->d_name[0] != '.' && strcmp(de->d_name, "README") != 0)
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	ok(n >= 30, "%zu vector cases", n);
	for (size_t i = 0; i < n; i++) {
		run_vector(dir, names[i]);
		free(names[i]);
	}
}

/* "v=DKIM1; p=" followed by n copies of c. */
static char *
record_with_p(size_t n, char c, size_t *len)
{
	static const char head[] = "v=DKIM1; p=";
	char *s = malloc(sizeof(head) + n);

	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, c, n);
	*len = sizeof(head) - 1 + n;
	s[*len] = '\0';
	return s;
}

/* Records too big to keep as files, and the size limits. */
static void
test_generated(void)
{
	static const struct {
		const char *name;
		size_t n;
		char c;
		const char *want;
	} cases[] = {
	    {"64 KiB p=", 65536, 'A', "permerror key too large"},
	    {"64 KiB p= of garbage", 65536, '!', "permerror key too large"},
	    {"p= just past the decode buffer", 2732, 'A',
	     "permerror key too large"},
	    {"p= that fills the decode buffer", 2728, 'A',
	     "permerror key too large"},
	    {"p= of 1071 zero bytes", 1428, 'A', "permerror key too large"},
	    {"p= of 1068 zero bytes", 1424, 'A', "permerror bad RSA key"},
	    {"p= of 4 characters", 4, 'A', "permerror bad RSA key"},
	    {"p= of 3 characters", 3, 'A', "permerror bad key data"},
	    {"p= of spaces", 100, ' ', "permerror key revoked"},
	};
	char got[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *s = record_with_p(cases[i].n, cases[i].c, &len);
		int64_t t0 = clock_ms();

		parse_describe(s, len, got, sizeof(got));
		is_str(got, cases[i].want, "generated: %s", cases[i].name);
		ok(clock_ms() - t0 < 1000, "generated: %s is quick",
		   cases[i].name);
		free(s);
	}
}

/* More tags than tagval keeps; a NULL why is allowed. */
static void
test_many_tags(void)
{
	char rec[2048], got[512];
	size_t len = 0;
	struct dkim_key k;

	for (int i = 0; i < 70; i++)
		len += (size_t)snprintf(rec + len, sizeof(rec) - len, "x%d=1; ",
		                        i);
	len += (size_t)snprintf(rec + len, sizeof(rec) - len, "p=");
	parse_describe(rec, len, got, sizeof(got));
	is_str(got, "permerror too many tags", "70 unknown tags");
	is_int(keycache_parse_record("p=", 2, &k, NULL), AR_R_PERMERROR,
	       "a NULL why is allowed");
}

/* Selectors and domains that are refused before any lookup (d is NULL:
 * touching DNS would crash). */
static void
test_names(void)
{
	static const struct {
		const char *sel, *dom, *want;
	} cases[] = {
	    {"", "example.com", "permerror bad selector"},
	    {"a..b", "example.com", "permerror bad selector"},
	    {".s", "example.com", "permerror bad selector"},
	    {"s.", "example.com", "permerror bad selector"},
	    {"s 1", "example.com", "permerror bad selector"},
	    {"s;1", "example.com", "permerror bad selector"},
	    {"s\xc3\xa9", "example.com", "permerror bad selector"},
	    {"sel", "", "permerror bad domain"},
	    {"sel", "example.com.", "permerror bad domain"},
	    {"sel", "exa mple.com", "permerror bad domain"},
	    {"sel", "example..com", "permerror bad domain"},
	    {"sel", "ex/ample.com", "permerror bad domain"},
	    {"sel",
	     "a123456789012345678901234567890123456789012345678901234567890123"
	     ".com",
	     "permerror bad domain"},
	};
	struct keycache *kc = keycache_new(10);
	char got[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct key_query *q =
		    keycache_start(kc, NULL, cases[i].sel, cases[i].dom);
		const struct dkim_key *k = NULL;
		const char *why = NULL;
		enum ar_result r = keycache_wait(q, &k, &why);

		describe(r, k, why, got, sizeof(got));
		is_str(got, cases[i].want, "name \"%s\" / \"%s\"", cases[i].sel,
		       cases[i].dom);
		key_query_free(q);
	}
	keycache_free(kc);
}

/* A 250-character name: selector and domain valid, together too long. */
static void
test_long_name(void)
{
	char dom[300];
	struct keycache *kc = keycache_new(10);
	struct key_query *q;
	const char *why = NULL;

	memset(dom, 'a', 250);
	for (int i = 60; i < 250; i += 61)
		dom[i] = '.';
	dom[250] = '\0';
	q = keycache_start(kc, NULL, "selector", dom);
	is_int(keycache_wait(q, NULL, &why), AR_R_PERMERROR,
	       "a name over 253 characters");
	is_str(why, "key name too long", "a name over 253 characters: why");
	key_query_free(q);
	keycache_free(kc);
	keycache_free(NULL);
	key_query_free(NULL);
}

/*
 * Live lookups against the records t/dns/keycache.t serves in keys.test.
 */
#define LIVE_DOMAIN "keys.test"

static const struct {
	const char *sel, *want;
} live_cases[] = {
    {"rsa", "pass k=rsa bits=2048 h=sha256 t=none"},
    {"ed", "pass k=ed25519 bits=256 h=sha256:sha1 t=none"},
    {"split", "pass k=ed25519 bits=256 h=sha256:sha1 t=none"},
    {"two", "pass k=ed25519 bits=256 h=sha256:sha1 t=y"},
    {"revoked", "permerror key revoked"},
    {"bad", "permerror bad key data"},
    {"empty", "permerror bad key record syntax"},
    {"nodata", "permerror no key"},
    {"missing", "permerror no key"},
};

static uint64_t
stat_queries(struct dns *d)
{
	struct dns_stats st;

	dns_get_stats(d, &st);
	return st.queries;
}

static uint64_t
stat_sent(struct dns *d)
{
	struct dns_stats st;

	dns_get_stats(d, &st);
	return st.sent;
}

/* One lookup from start to free, described; the key pointer in *kp. */
static void
lookup(struct keycache *kc, struct dns *d, const char *sel, const char *dom,
       char *out, size_t outsz)
{
	struct key_query *q = keycache_start(kc, d, sel, dom);
	const struct dkim_key *k = NULL;
	const char *why = NULL;
	enum ar_result r;

	if (q == NULL) {
		snprintf(out, outsz, "out of memory");
		return;
	}
	r = keycache_wait(q, &k, &why);
	describe(r, k, why, out, outsz);
	key_query_free(q);
}

static void
live_table(struct keycache *kc, struct dns *d)
{
	char got[512];

	for (size_t i = 0; i < sizeof(live_cases) / sizeof(live_cases[0]);
	     i++) {
		lookup(kc, d, live_cases[i].sel, LIVE_DOMAIN, got, sizeof(got));
		is_str(got, live_cases[i].want, "live %s._domainkey.%s",
		       live_cases[i].sel, LIVE_DOMAIN);
	}
}

/* Second lookups come from the cache (no dns_start at all), whatever
 * the case of the names; a temporary error is asked again. */
static void
live_cache(struct keycache *kc, struct dns *d)
{
	char got[512];
	uint64_t q0 = stat_queries(d), s0 = stat_sent(d);
	const char *why = NULL;
	struct key_query *q;

	lookup(kc, d, "rsa", LIVE_DOMAIN, got, sizeof(got));
	is_str(got, live_cases[0].want, "cached rsa");
	lookup(kc, d, "RSA", "Keys.TEST", got, sizeof(got));
	is_str(got, live_cases[0].want, "cached RSA._domainkey.Keys.TEST");
	lookup(kc, d, "missing", LIVE_DOMAIN, got, sizeof(got));
	is_str(got, "permerror no key", "cached nxdomain");
	lookup(kc, d, "revoked", LIVE_DOMAIN, got, sizeof(got));
	is_str(got, "permerror key revoked", "cached revoked key");
	is_int((long long)(stat_queries(d) - q0), 0,
	       "cache: no DNS query for known keys");
	is_int((long long)(stat_sent(d) - s0), 0, "cache: nothing sent");
	for (int i = 0; i < 2; i++) {
		q0 = stat_queries(d);
		q = keycache_start(kc, d, "x", "refused.test");
		is_int(keycache_wait(q, NULL, &why), AR_R_TEMPERROR,
		       "refused zone: temperror (%d)", i + 1);
		ok(why != NULL && (strcmp(why, "key lookup: REFUSED") == 0 ||
		                   strcmp(why, "key lookup: SERVFAIL") == 0),
		   "refused zone: why \"%s\"", why ? why : "(null)");
		is_int((long long)(stat_queries(d) - q0), 1,
		       "refused zone: asked again (%d)", i + 1);
		key_query_free(q);
	}
}

/* Two queries for the same new key share one lookup and one entry. */
static void
live_shared(struct keycache *kc, struct dns *d)
{
	uint64_t s0 = stat_sent(d);
	struct key_query *a = keycache_start(kc, d, "split2", LIVE_DOMAIN);
	struct key_query *b = keycache_start(kc, d, "split2", LIVE_DOMAIN);
	const struct dkim_key *ka = NULL, *kb = NULL;

	is_int(keycache_wait(a, &ka, NULL), AR_R_PASS, "shared: first");
	is_int(keycache_wait(b, &kb, NULL), AR_R_PASS, "shared: second");
	is_int((long long)(stat_sent(d) - s0), 1, "shared: one query sent");
	key_query_free(a);
	key_query_free(b);
	a = keycache_start(kc, d, "split2", LIVE_DOMAIN);
	keycache_wait(a, &ka, NULL);
	b = keycache_start(kc, d, "split2", LIVE_DOMAIN);
	keycache_wait(b, &kb, NULL);
	ok(ka != NULL && ka == kb, "shared: one cache entry for both");
	key_query_free(a);
	key_query_free(b);
}

/* TTL 1: gone from the cache after a second. */
static void
live_ttl(struct keycache *kc, struct dns *d)
{
	char got[512];
	uint64_t q0;

	lookup(kc, d, "short", LIVE_DOMAIN, got, sizeof(got));
	is_str(got, live_cases[1].want, "ttl 1: first lookup");
	q0 = stat_queries(d);
	lookup(kc, d, "short", LIVE_DOMAIN, got, sizeof(got));
	is_int((long long)(stat_queries(d) - q0), 0, "ttl 1: cached at once");
	usleep(1300 * 1000);
	q0 = stat_queries(d);
	lookup(kc, d, "short", LIVE_DOMAIN, got, sizeof(got));
	is_str(got, live_cases[1].want, "ttl 1: looked up again");
	is_int((long long)(stat_queries(d) - q0), 1, "ttl 1: expired");
}

/* A cache of one entry: an evicted key stays valid for its holder. */
static void
live_evict(struct dns *d)
{
	struct keycache *kc = keycache_new(1);
	struct key_query *a = keycache_start(kc, d, "rsa", LIVE_DOMAIN), *b;
	const struct dkim_key *ka = NULL, *kb = NULL;
	uint64_t q0;

	keycache_wait(a, &ka, NULL);
	b = keycache_start(kc, d, "ed", LIVE_DOMAIN);
	keycache_wait(b, &kb, NULL);
	ok(ka != NULL && kb != NULL, "evict: two keys");
	is_int(ka ? pkey_bits(ka->pkey) : 0, 2048,
	       "evict: the evicted key is still usable by its query");
	key_query_free(b);
	q0 = stat_queries(d);
	b = keycache_start(kc, d, "rsa", LIVE_DOMAIN);
	is_int(keycache_wait(b, &kb, NULL), AR_R_PASS, "evict: rsa again");
	is_int((long long)(stat_queries(d) - q0), 1,
	       "evict: rsa had left the cache");
	ok(kb != ka, "evict: a new entry");
	key_query_free(b);
	key_query_free(a);
	keycache_free(kc);
}

struct live_worker {
	struct keycache *kc;
	struct dns *d;
	int wrong;
};

static void *
live_loop(void *arg)
{
	struct live_worker *w = arg;
	char got[512];
	size_t n = sizeof(live_cases) / sizeof(live_cases[0]);

	for (size_t i = 0; i < 40 * n; i++) {
		lookup(w->kc, w->d, live_cases[i % n].sel, LIVE_DOMAIN, got,
		       sizeof(got));
		w->wrong += strcmp(got, live_cases[i % n].want) != 0;
	}
	return NULL;
}

/* Four threads on one small cache: evictions and hits interleave. */
static void
live_threads(struct dns *d)
{
	struct keycache *kc = keycache_new(3);
	struct live_worker w[4];
	pthread_t th[4];
	int wrong = 0;

	for (int i = 0; i < 4; i++) {
		w[i] = (struct live_worker){kc, d, 0};
		pthread_create(&th[i], NULL, live_loop, &w[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		wrong += w[i].wrong;
	}
	is_int(wrong, 0, "threads: 4 x 320 lookups on a 3-entry cache");
	keycache_free(kc);
}

static void
test_live(const char *server, const char *ubconf)
{
	const char *servers[1] = {server};
	struct dns_settings s = {servers, 1, 3000, ubconf};
	struct errbuf eb = {{0}};
	struct dns *d = dns_new(&s, &eb);
	struct keycache *kc = keycache_new(100);

	if (!ok(d != NULL && kc != NULL, "live: resolver (%s)", eb.msg)) {
		keycache_free(kc);
		return;
	}
	live_table(kc, d);
	live_cache(kc, d);
	live_shared(kc, d);
	live_ttl(kc, d);
	live_evict(d);
	live_threads(d);
	keycache_free(kc);
	dns_free(d);
}

int
main(void)
{
	const char *srcdir = getenv("T_SRCDIR");

	test_vectors(srcdir != NULL ? srcdir : ".");
	test_generated();
	test_many_tags();
	test_names();
	test_long_name();
	if (getenv("KEYCACHE_DNS") != NULL)
		test_live(getenv("KEYCACHE_DNS"), getenv("KEYCACHE_UBCONF"));
	return done_testing();
}
