/*
 * fuzz_spfrecord: the SPF record parser, macro expansion and check_host()
 * on arbitrary input.
 *
 * The input is (1) parsed as a record, and every domain-spec of a record
 * that parses is expanded with fixed values; (2) taken as a macro-string
 * in each context, where expansion must fail exactly when the syntax
 * check does and a domain never comes out longer than 253 characters;
 * (3) published as the SPF record of every name of a fake DNS, and
 * evaluated, so includes and redirects recurse into it until the limits
 * stop them.  Seeds: t/vectors/spf/records/ (every record of the suites).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "dns.h"
#include "spf_eval.h"
#include "spf_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct spf_macro_env env = {
    .s = "a-b+c.d_e=f/g,h@mail.example.com",
    .l = "a-b+c.d_e=f/g,h",
    .o = "mail.example.com",
    .d = "sub.mail.example.com",
    .i = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2",
    .p = "ptr.example.org",
    .h = "helo with spaces%",
    .c = "2001:db8::1",
    .r = NULL,
    .t = "1400000000",
    .v = "ip6",
};

static void
expand_specs(const struct spf_record *r)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < r->nterms; i++)
		if (r->terms[i].spec != NULL &&
		    spf_record_expand(r->terms[i].spec, &env, SPF_MACRO_DOMAIN,
		                      &b) == SPF_RECORD_OK &&
		    b.len > SPF_RECORD_DOMAIN_MAX)
			abort();
	buf_free(&b);
}

static void
macro_string(const char *s)
{
	static const enum spf_macro_ctx ctx[] = {
	    SPF_MACRO_DOMAIN, SPF_MACRO_MODIFIER, SPF_MACRO_EXPLAIN};
	struct errbuf eb;
	struct buf b;

	buf_init(&b, 4096);
	for (size_t i = 0; i < sizeof(ctx) / sizeof(ctx[0]); i++) {
		int chk = spf_record_check_macro(s, strlen(s), ctx[i], &eb);
		int rc = spf_record_expand(s, &env, ctx[i], &b);

		if ((chk == SPF_RECORD_ESYNTAX) != (rc == SPF_RECORD_ESYNTAX))
			abort();
		if (rc == SPF_RECORD_OK && ctx[i] == SPF_MACRO_DOMAIN &&
		    b.len > SPF_RECORD_DOMAIN_MAX)
			abort();
	}
	(void)spf_record_macro_letters(s);
	buf_free(&b);
}

/* ---- a DNS where every name publishes the input ------------------- */

struct fz {
	const uint8_t *rec;
	size_t len;
};

struct fzq {
	struct dns_answer a;
	struct dns_rr rr;
	unsigned char *wire;
};

/* The record as TXT rdata, in character-strings of up to 255 bytes. */
static size_t
txt_rdata(const struct fz *z, unsigned char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < z->len; i += 255) {
		size_t l = z->len - i < 255 ? z->len - i : 255;

		out[n++] = (unsigned char)l;
		memcpy(out + n, z->rec + i, l);
		n += l;
	}
	return n;
}

static void *
fz_start(void *ctx, const char *name, uint16_t type)
{
	static const unsigned char a[4] = {192, 0, 2, 1};
	static const unsigned char host[] = "\0\012\002mx\007example\0";
	const struct fz *z = ctx;
	struct fzq *q = calloc(1, sizeof(*q));

	if (q == NULL || (q->wire = malloc(z->len + z->len / 255 + 32)) == NULL)
		abort();
	q->a.status = DNS_OK;
	q->a.why = "";
	q->a.nrr = 1;
	q->a.rr = &q->rr;
	q->rr.data = q->wire;
	if (type == DNS_T_TXT)
		q->rr.len = txt_rdata(z, q->wire);
	else if (type == DNS_T_A)
		memcpy(q->wire, a, q->rr.len = 4);
	else if (type == DNS_T_MX)
		memcpy(q->wire, host, q->rr.len = sizeof(host) - 1);
	else if (type == DNS_T_PTR)
		memcpy(q->wire, host + 2, q->rr.len = sizeof(host) - 3);
	else
		q->a.status = strlen(name) % 2 ? DNS_NODATA : DNS_TEMPERROR;
	if (q->a.status != DNS_OK)
		q->a.nrr = 0;
	return q;
}

static const struct dns_answer *
fz_wait(void *ctx, void *q, int64_t deadline_ms)
{
	(void)ctx;
	(void)deadline_ms;
	return &((struct fzq *)q)->a;
}

static void
fz_release(void *ctx, void *q)
{
	(void)ctx;
	free(((struct fzq *)q)->wire);
	free(q);
}

static void
evaluate(const uint8_t *data, size_t size)
{
	struct fz z = {data, size};
	struct spf_lookup lk = {&z, fz_start, fz_wait, fz_release};
	struct spf_eval_request rq = {
	    .sender = "a-b+c.d_e=f/g,h@mail.example.com",
	    .helo = "helo.example.com",
	    .deadline_ms = clock_ms() + 10000,
	    .now = 1400000000,
	};
	struct spf_eval_outcome out;

	ipaddr_parse("2001:db8::1", &rq.ip);
	spf_eval_check_host(&lk, &rq, &out);
	if (out.dns_terms > SPF_EVAL_MAX_TERMS + 1 ||
	    out.void_lookups > SPF_EVAL_MAX_VOID + 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spf_record *r;
	struct errbuf eb;
	char *s;

	if (size > 8192)
		return 0;
	if (spf_record_parse((const char *)data, size, &r, &eb) ==
	    SPF_RECORD_OK) {
		expand_specs(r);
		spf_record_free(r);
	}
	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	macro_string(s);
	free(s);
	evaluate(data, size);
	return 0;
}
