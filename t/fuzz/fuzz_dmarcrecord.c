/*
 * fuzz_dmarcrecord: the DMARC parsers.  The input is a DMARC record
 * (dmarc_record_parse and its rendering; then, as dmarc_check.c does in
 * RFC 7489 mode, libopendmarc's reading of records under 4 KiB without a
 * NUL), a domain (dmarc_record_domain, the tree walk names and the
 * organizational domain, which must stay inside the name), and a public
 * suffix list (dmarc_psl_parse and lookups).  Seeds: t/vectors/dmarc.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <opendmarc/dmarc.h>

#include "dmarc_psl.h"
#include "dmarc_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The libopendmarc calls of dmarc_check.c's lib_read(). */
static void
lib_read(const char *rec)
{
	DMARC_POLICY_T *p =
	    opendmarc_policy_connect_init((u_char *)"0.0.0.0", 0);
	int v;

	if (p == NULL)
		return;
	if (opendmarc_policy_store_dmarc(
	        p, (u_char *)rec, (u_char *)"a.example.com",
	        (u_char *)"example.com") == DMARC_PARSE_OKAY) {
		(void)opendmarc_policy_fetch_p(p, &v);
		(void)opendmarc_policy_fetch_sp(p, &v);
		(void)opendmarc_policy_fetch_pct(p, &v);
		(void)opendmarc_policy_fetch_adkim(p, &v);
		(void)opendmarc_policy_fetch_aspf(p, &v);
		(void)opendmarc_policy_fetch_rua(p, NULL, 0, 1);
	}
	(void)opendmarc_policy_connect_shutdown(p);
}

static void
record(const char *s, size_t n)
{
	struct dmarc_record_tags t;
	char out[512];

	if (dmarc_record_parse(s, n, &t) != DMARC_RECORD_OK)
		return;
	dmarc_record_render(&t, out, sizeof(out));
	if (t.pct < 0 || t.pct > 100 || strchr("rs", t.adkim) == NULL ||
	    strchr("ynu", t.psd) == NULL)
		abort();
	if (n < 4096 && strlen(s) == n)
		lib_read(s);
}

static void
domain(const char *s)
{
	char d[DMARC_DOMAIN_MAX], again[DMARC_DOMAIN_MAX];
	size_t off[DMARC_WALK_MAX], n, len;
	struct dmarc_walk_found f[DMARC_WALK_MAX];

	if (dmarc_record_domain(s, d) != 0)
		return;
	len = strlen(d);
	if (len > 253 || dmarc_record_domain(d, again) != 0 ||
	    strcmp(d, again) != 0)
		abort();
	n = dmarc_record_walk(d, off);
	if (n < 1 || n > DMARC_WALK_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (off[i] > len || !dmarc_record_under(d, d + off[i]))
			abort();
		f[i].off = off[i];
		f[i].psd = "ynu"[(unsigned char)d[i % len] % 3];
	}
	for (size_t k = 0; k <= n; k++)
		if (dmarc_record_org(d, f + (n - k), k) > len)
			abort();
}

static void
psl(const char *s, size_t n)
{
	static const char *const names[] = {"a.b.example.com", "www.ck",
	                                    "x.y.kawasaki.jp", "example",
	                                    "a.xn--55qx5d.cn"};
	struct dmarc_psl *l = dmarc_psl_parse("fuzz", s, n, NULL);

	for (size_t i = 0; l != NULL && i < sizeof(names) / sizeof(*names); i++)
		if (dmarc_psl_org(l, names[i]) > strlen(names[i]) ||
		    dmarc_psl_suffix(l, names[i]) > strlen(names[i]))
			abort();
	dmarc_psl_free(l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	record(s, size);
	if (size < 1024)
		domain(s);
	if (size < 65536)
		psl(s, size);
	free(s);
	return 0;
}
