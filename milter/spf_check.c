/*
 * spf_check: SPF for the HELO and MAIL FROM identities (see spf_check.h).
 *
 * The evaluator is ours (spf_eval.c, spf_record.c), not libspf2.
 * libspf2 could be made to resolve through dns.c (a custom
 * SPF_dns_server_t works, DEPENDENCIES.md), but what it then computes is
 * not RFC 7208: Debian 12's libspf2 1.2.10 passes 97 of the 203 cases of
 * the RFC 7208 test suite as it comes, 129 with its errors mapped and at
 * best 145 with explanations ignored.  It counts the 10-term limit per
 * include level and has no void-lookup limit; it rejects /0 CIDR
 * lengths; it evaluates domain-specs with bad or numeric top labels and
 * records truncated at a NUL; it accepts duplicate redirect=/exp=, bad
 * macros ("%(ir)"), "/032", and follows redirect= next to "all"; it does
 * not evaluate IPv4-mapped clients as IPv4; it returns explanations
 * unexpanded; and SPF_error()/SPF_ASSERT_* end in abort().  Wrapping all
 * that would have meant re-checking every record, counting every lookup
 * and rebuilding every explanation ourselves, i.e. writing the evaluator
 * anyway, with a library that can abort the daemon underneath.  So no
 * code path here (or anywhere in the daemon) calls libspf2; this file
 * sees no SPF_* type, and libspf2's thread rules do not arise.  Through
 * this file, dns.c and libunbound, our evaluator passes 201 of the 203
 * RFC 7208 cases (t/conformance/spf.t); the other two are data our DNS
 * stack does not deliver as the suite means it (a TXT record with no
 * strings, which libunbound answers SERVFAIL; a name with a space, which
 * dns.c refuses), and spf_eval passes both given the data directly
 * (t/conformance/README, t/unit/spf_test.c).
 *
 * CVE review of Debian 12's libspf2 (1.2.10-7.2+b1), from its changelog:
 * 1.2.10-7.1 carries "Correct size of ds_avail" (CVE-2021-20314, a stack
 * overflow compiling macros) and "Sanity check for sprintf" and "Fixed
 * 'reverse' macro modifier" (the upstream fixes for CVE-2021-33912 and
 * CVE-2021-33913, heap overflows in SPF_record_expand_data).  The 2023
 * integer underflow in macro expansion (CVE-2023-42118, ZDI-23-1472,
 * upstream pull request 44) is not in it: the changelog ends in 2022.
 * CVE-2023-42119 is Exim's dnsdb lookup, not libspf2.  None of these is
 * reachable, since libspf2 is never called; the same input classes are
 * guarded in our code instead: a record is checked against the ABNF
 * (macros included) before anything is expanded, expansion re-checks the
 * syntax, expansion writes only through a capped struct buf and other
 * text only through snprintf (no length arithmetic that can underflow),
 * and t/fuzz/fuzz_spfrecord.c fuzzes parsing, expansion and check_host().
 *
 * Threads: spf_check_start() queues the evaluation on the work pool; it
 * runs there with its own deadline (timeout_ms from the moment it starts
 * running), every lookup through dns.c.  spf_check_finish() waits for it
 * (or runs it, when the pool refused the job).  spf_check_free() on a
 * running evaluation sets a cancel flag, which the lookup wait checks at
 * least every CANCEL_SLICE_MS, and then waits for the job: work.h has no
 * way to leave a job handle to be freed by the pool, so the free is a
 * short wait rather than a detach.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "dns.h"
#include "policy.h"
#include "spf_check.h"
#include "spf_eval.h"
#include "work.h"

#define CANCEL_SLICE_MS 50  /* longest wait before a cancel is noticed */
#define REPLY_EXP_MAX   200 /* explanation text kept in a reply */

struct spf_check {
	struct dns *dns;
	struct job *job; /* NULL: not queued, or collected */
	enum spf_identity id;
	struct spf_eval_request rq;
	char *helo;     /* owned */
	char *mailfrom; /* owned */
	unsigned timeout_ms;
	atomic_bool cancel;
	bool done; /* out is final */
	struct spf_eval_outcome out;
};

static const struct dns_answer cancelled_answer = {
    .status = DNS_TEMPERROR,
    .why = "cancelled",
};

/* ---- lookups through dns.c ---------------------------------------- */

static void *
lookup_start(void *ctx, const char *name, uint16_t rrtype)
{
	struct spf_check *c = ctx;

	return dns_start(c->dns, name, rrtype);
}

/* Wait in slices so that a cancel is seen within CANCEL_SLICE_MS. */
static const struct dns_answer *
lookup_wait(void *ctx, void *q, int64_t deadline_ms)
{
	struct spf_check *c = ctx;

	while (!dns_ready(q)) {
		int64_t now = clock_ms(), end = now + CANCEL_SLICE_MS;

		if (atomic_load(&c->cancel))
			return &cancelled_answer;
		if (now >= deadline_ms)
			break;
		dns_wait_until(q, end < deadline_ms ? end : deadline_ms);
	}
	return dns_answer(q);
}

static void
lookup_release(void *ctx, void *q)
{
	(void)ctx;
	dns_query_free(q);
}

/* The evaluation itself; a work_fn. */
static void
run(void *arg)
{
	struct spf_check *c = arg;
	const struct spf_lookup lk = {
	    .ctx = c,
	    .start = lookup_start,
	    .wait = lookup_wait,
	    .release = lookup_release,
	};

	c->rq.deadline_ms = clock_ms() + c->timeout_ms;
	c->rq.now = time(NULL);
	if (atomic_load(&c->cancel)) {
		c->out.result = SPF_EVAL_TEMPERROR;
		return;
	}
	(void)spf_eval_check_host(&lk, &c->rq, &c->out); /* -1 is temperror */
}

/* ---- the API ------------------------------------------------------ */

struct spf_check *
spf_check_start(struct dns *d, struct work *w, enum spf_identity id,
                const struct ipaddr *ip, const char *helo, const char *mailfrom,
                unsigned timeout_ms)
{
	struct spf_check *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->helo = strdup(helo != NULL ? helo : "");
	c->mailfrom =
	    strdup(id == SPF_ID_MAILFROM && mailfrom != NULL ? mailfrom : "");
	if (c->helo == NULL || c->mailfrom == NULL) {
		spf_check_free(c);
		return NULL;
	}
	c->dns = d;
	c->id = id;
	c->timeout_ms = timeout_ms;
	atomic_init(&c->cancel, false);
	c->rq.ip = *ip;
	c->rq.sender = c->mailfrom; /* "" for HELO: postmaster@<helo> */
	c->rq.helo = c->helo;
	c->rq.receiver = NULL;
	c->job = work_submit(w, run, c);
	return c;
}

/* Wait for the job, or run the evaluation here. */
static void
collect(struct spf_check *c)
{
	if (c->done)
		return;
	if (c->job != NULL) {
		job_wait(c->job);
		job_free(c->job);
		c->job = NULL;
	} else
		run(c);
	c->done = true;
}

static int
policy_key(enum spf_eval_result r)
{
	switch (r) {
	case SPF_EVAL_FAIL:
		return POLICY_K_SPF_FAIL;
	case SPF_EVAL_SOFTFAIL:
		return POLICY_K_SPF_SOFTFAIL;
	case SPF_EVAL_NEUTRAL:
		return POLICY_K_SPF_NEUTRAL;
	case SPF_EVAL_NONE:
		return POLICY_K_SPF_NONE;
	case SPF_EVAL_TEMPERROR:
		return POLICY_K_SPF_TEMPERROR;
	case SPF_EVAL_PERMERROR:
		return POLICY_K_SPF_PERMERROR;
	default:
		return RESULT_NO_KEY;
	}
}

static enum ar_result
ar_result(enum spf_eval_result r)
{
	switch (r) {
	case SPF_EVAL_PASS:
		return AR_R_PASS;
	case SPF_EVAL_FAIL:
		return AR_R_FAIL;
	case SPF_EVAL_SOFTFAIL:
		return AR_R_SOFTFAIL;
	case SPF_EVAL_NEUTRAL:
		return AR_R_NEUTRAL;
	case SPF_EVAL_NONE:
		return AR_R_NONE;
	case SPF_EVAL_PERMERROR:
		return AR_R_PERMERROR;
	default:
		return AR_R_TEMPERROR;
	}
}

/* Third-party text for a reply: printable ASCII, at most max bytes. */
static void
sanitize(const char *in, char *out, size_t max)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i < max; i++)
		out[i] = in[i] >= ' ' && in[i] <= '~' ? in[i] : '?';
	out[i] = '\0';
}

/* The reply for a fail: the domain's explanation, marked as coming from
 * it (RFC 7208 sections 6.2 and 8.4), or a text of our own. */
static int
fail_reply(const struct spf_check *c, struct result *r)
{
	char exp[REPLY_EXP_MAX + 1], ip[64];

	if (c->out.explanation[0] != '\0') {
		sanitize(c->out.explanation, exp, REPLY_EXP_MAX);
		return result_reply(r, "%s explains: %s", c->out.domain, exp);
	}
	ipaddr_format(&c->rq.ip, ip, sizeof(ip));
	return result_reply(r, "SPF check of %s failed for %s", c->out.domain,
	                    ip);
}

/* smtp.helo=<name>, or smtp.mailfrom=<domain>, the whole address when a
 * local-part macro was used (RFC 8601 section 2.7.2). */
static int
identity_prop(const struct spf_check *c, struct result *r)
{
	const struct spf_eval_outcome *o = &c->out;

	if (c->id == SPF_ID_HELO)
		return result_prop(r, "smtp", "helo", c->helo);
	if (o->domain[0] == '\0')
		return 0;
	return result_prop(r, "smtp", "mailfrom",
	                   o->local_part_used ? o->sender : o->domain);
}

int
spf_check_finish(struct spf_check *c, struct resultset *rs)
{
	struct result *r;

	collect(c);
	if ((r = resultset_add(rs, AR_M_SPF, ar_result(c->out.result))) == NULL)
		return -1;
	r->key = policy_key(c->out.result);
	if ((c->out.result == SPF_EVAL_TEMPERROR ||
	     c->out.result == SPF_EVAL_PERMERROR) &&
	    c->out.reason[0] != '\0' &&
	    result_reason(r, "%s", c->out.reason) != 0)
		return -1;
	if (c->out.result == SPF_EVAL_FAIL && fail_reply(c, r) != 0)
		return -1;
	return identity_prop(c, r);
}

/* The comment of section 9.1's example form, per result. */
static int
received_comment(const struct spf_check *c, const char *receiver,
                 const char *ip, struct buf *out)
{
	const char *who = c->out.sender[0] ? c->out.sender : c->out.domain;

	switch (c->out.result) {
	case SPF_EVAL_PASS:
		return buf_printf(out,
		                  "(%s: domain of %s designates %s as "
		                  "permitted sender)",
		                  receiver, who, ip);
	case SPF_EVAL_FAIL:
		return buf_printf(out,
		                  "(%s: domain of %s does not designate "
		                  "%s as permitted sender)",
		                  receiver, who, ip);
	case SPF_EVAL_SOFTFAIL:
		return buf_printf(out,
		                  "(%s: domain of transitioning %s does "
		                  "not designate %s as permitted sender)",
		                  receiver, who, ip);
	case SPF_EVAL_NEUTRAL:
		return buf_printf(out,
		                  "(%s: %s is neither permitted nor "
		                  "denied by domain of %s)",
		                  receiver, ip, who);
	case SPF_EVAL_NONE:
		return buf_printf(out,
		                  "(%s: domain of %s does not provide an "
		                  "SPF record)",
		                  receiver, who);
	default:
		return buf_printf(out,
		                  "(%s: error in processing during lookup "
		                  "of %s)",
		                  receiver, who);
	}
}

/* key="value" with the quoted-string escapes of RFC 5322. */
static int
kv_quoted(struct buf *out, const char *key, const char *v)
{
	int rc = buf_printf(out, " %s=\"", key);

	for (; rc == 0 && *v != '\0'; v++) {
		unsigned char ch = (unsigned char)*v;

		if (ch < 0x20 || ch == 0x7f)
			continue;
		if (ch == '"' || ch == '\\')
			rc = buf_putc(out, '\\');
		if (rc == 0)
			rc = buf_putc(out, ch);
	}
	return rc ? rc : buf_puts(out, "\";");
}

int
spf_check_received(struct spf_check *c, const char *receiver, struct buf *out)
{
	char ip[64];
	int rc;

	collect(c);
	ipaddr_format(&c->rq.ip, ip, sizeof(ip));
	rc = buf_printf(out, " %s ", spf_eval_result_name(c->out.result));
	if (rc == 0)
		rc = received_comment(c, receiver, ip, out);
	/* An IPv6 address is not a dot-atom: quote it (section 9.1). */
	if (rc == 0 && strchr(ip, ':') != NULL)
		rc = buf_puts(out, "\n\t") ? -1
		                           : kv_quoted(out, "client-ip", ip);
	else if (rc == 0)
		rc = buf_printf(out, "\n\tclient-ip=%s;", ip);
	if (rc == 0)
		rc = kv_quoted(out, "envelope-from", c->out.sender);
	if (rc == 0)
		rc = kv_quoted(out, "helo", c->helo);
	if (rc == 0)
		rc = kv_quoted(out, "receiver", receiver);
	if (rc == 0)
		rc = buf_printf(out, " identity=%s;",
		                c->id == SPF_ID_HELO ? "helo" : "mailfrom");
	if (rc == 0 && c->out.mechanism[0] != '\0')
		rc = kv_quoted(out, "mechanism", c->out.mechanism);
	if (rc == 0 && c->out.reason[0] != '\0' &&
	    (c->out.result == SPF_EVAL_TEMPERROR ||
	     c->out.result == SPF_EVAL_PERMERROR))
		rc = kv_quoted(out, "problem", c->out.reason);
	return rc;
}

void
spf_check_free(struct spf_check *c)
{
	if (c == NULL)
		return;
	if (c->job != NULL) {
		atomic_store(&c->cancel, true);
		job_wait(c->job);
		job_free(c->job);
	}
	free(c->helo);
	free(c->mailfrom);
	free(c);
}

const char *
spf_library_version(void)
{
	return "SPF: built-in RFC 7208 evaluator (libspf2 not used)";
}
