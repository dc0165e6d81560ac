/*
 * spf_eval: the check_host() function of RFC 7208 section 4, evaluated
 * synchronously over an abstract lookup interface (production: dns.c,
 * through spf_check.c; tests: a table).
 *
 * What it implements:
 *   - initial processing (4.3): a <domain> that is not a multi-label name
 *     with labels of 1..63 characters (253 in all) and a valid top label
 *     gives "none"; a missing local-part becomes "postmaster"; the null
 *     sender is postmaster@<HELO> (2.4);
 *   - record lookup and selection (4.4, 4.5): TXT only; DNS errors give
 *     temperror, NXDOMAIN or no "v=spf1" record none, more than one
 *     permerror; the record is checked whole before evaluation
 *     (spf_record.h);
 *   - the mechanisms of section 5 and the modifiers of section 6:
 *     include maps pass to a match, fail/softfail/neutral to no match,
 *     temperror/permerror through, none to permerror; redirect only when
 *     nothing matched and the record has no "all", a target without a
 *     record being permerror; an IPv4-mapped IPv6 client is evaluated as
 *     IPv4 (section 5, "IPv4-mapped"); no implicit MX (5.4);
 *   - the limits of 4.6.4, held over the whole evaluation, nested
 *     includes and redirects included: the 11th DNS-querying term
 *     (include, a, mx, ptr, exists, redirect) is permerror; the 3rd void
 *     lookup (NXDOMAIN or an empty answer to a term's lookup) is
 *     permerror; more than SPF_EVAL_MAX_MX MX names is permerror; only the
 *     first SPF_EVAL_MAX_PTR PTR names are used; past the deadline the
 *     result is temperror;
 *   - macros (section 7) with %{p} validated once per evaluation;
 *   - exp= (6.2): looked up only for a final fail, from the record that
 *     produced it (not from an included record; a redirect target's own),
 *     outside the limits; any failure there is ignored.
 * A target name that cannot be queried after expansion (an empty label,
 * one over 63 characters, a control or non-ASCII byte, or '\') does not
 * match, the reading of 4.8 the RFC 7208 test suite accepts.
 *
 * Lookups: the interface starts a query and waits for it separately, so
 * independent lookups of one step (the addresses of all MX names, of all
 * PTR names) are started together before the first wait.  Answers use
 * dns.h's types and rdata decoders; DNS_PERMERROR counts as a DNS error
 * (RCODE other than 0 or 3: temperror).
 *
 * Ownership: the request and the lookup interface are borrowed for the
 * call; the outcome is caller storage (fixed buffers, nothing to free).
 * Thread rules: no shared state; one call runs on one thread.
 */
#ifndef AUTHMILTER_SPF_EVAL_H
#define AUTHMILTER_SPF_EVAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cidr.h"
#include "dns.h"

#define SPF_EVAL_MAX_TERMS  10  /* DNS-querying terms (4.6.4) */
#define SPF_EVAL_MAX_VOID   2   /* void lookups (4.6.4) */
#define SPF_EVAL_MAX_MX     10  /* MX names (4.6.4) */
#define SPF_EVAL_MAX_PTR    10  /* PTR names used (4.6.4) */
#define SPF_EVAL_SENDER_MAX 512 /* longer senders are not checked: none */
#define SPF_EVAL_EXP_MAX    512 /* explanation text kept, in bytes */

enum spf_eval_result {
	SPF_EVAL_NONE,
	SPF_EVAL_NEUTRAL,
	SPF_EVAL_PASS,
	SPF_EVAL_FAIL,
	SPF_EVAL_SOFTFAIL,
	SPF_EVAL_TEMPERROR,
	SPF_EVAL_PERMERROR
};

/* How the evaluator asks for DNS data.  start() returns a handle, NULL
 * only when out of memory; wait() returns the answer (borrowed until
 * release()) once it is in or at deadline_ms (clock_ms() time) at the
 * latest, then as DNS_TEMPERROR. */
struct spf_lookup {
	void *ctx;
	void *(*start)(void *ctx, const char *name, uint16_t rrtype);
	const struct dns_answer *(*wait)(void *ctx, void *q,
	                                 int64_t deadline_ms);
	void (*release)(void *ctx, void *q);
};

struct spf_eval_request {
	struct ipaddr ip;     /* the client */
	const char *sender;   /* MAIL FROM without <>, "" for the null sender
	                         and for a HELO check */
	const char *helo;     /* HELO/EHLO name ("" when none) */
	const char *receiver; /* %{r}; NULL for "unknown" */
	int64_t deadline_ms;  /* clock_ms() time the evaluation must end by */
	time_t now;           /* %{t} */
};

struct spf_eval_outcome {
	enum spf_eval_result result;
	char domain[256]; /* the identity's domain (%{o}) */
	char sender[SPF_EVAL_SENDER_MAX + 258]; /* <sender> as evaluated */
	char reason[160];   /* for temperror/permerror: what went wrong */
	char mechanism[80]; /* the term that decided, "" for a default */
	char explanation[SPF_EVAL_EXP_MAX + 1]; /* fail with exp=, else "" */
	bool local_part_used; /* a %{s} or %{l} was expanded */
	unsigned dns_terms;   /* DNS-querying terms evaluated */
	unsigned void_lookups;
};

/* Evaluate check_host() for the request into *out.  0, or -1 when out of
 * memory (out->result is then temperror). */
int spf_eval_check_host(const struct spf_lookup *lk,
                        const struct spf_eval_request *rq,
                        struct spf_eval_outcome *out);

/* "pass", "fail", ... (RFC 7208 section 2.6). */
const char *spf_eval_result_name(enum spf_eval_result r);

#endif
