/*
 * iprev: forward-confirmed reverse DNS of the client (see iprev.h).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "iprev.h"
#include "policy.h"

struct iprev {
	struct dns *dns;
	struct ipaddr ip;
	char ipstr[64];
	struct dns_query *ptr;
	bool forward_started;
	size_t nnames;
	char *names[IPREV_MAX_NAMES];
	struct dns_query *fwd[IPREV_MAX_NAMES];
	bool decided;
	enum ar_result result;
	char reason[160];
	char host[DNS_NAME_MAX];
};

struct iprev *
iprev_start(struct dns *d, const struct ipaddr *ip)
{
	struct iprev *iv = calloc(1, sizeof(*iv));
	char rname[DNS_NAME_MAX];

	if (iv == NULL)
		return NULL;
	iv->dns = d;
	iv->ip = *ip;
	ipaddr_format(ip, iv->ipstr, sizeof(iv->ipstr));
	if (dns_reverse_name(iv->ipstr, rname, sizeof(rname)) != 0) {
		iv->decided = true;
		iv->result = AR_R_PERMERROR;
		snprintf(iv->reason, sizeof(iv->reason), "no reverse name");
		return iv;
	}
	if ((iv->ptr = dns_start(d, rname, DNS_T_PTR)) == NULL) {
		free(iv);
		return NULL;
	}
	return iv;
}

/* Start A/AAAA lookups for the PTR names (the PTR answer must be in). */
static void
start_forward(struct iprev *iv)
{
	const struct dns_answer *a = dns_answer(iv->ptr);
	uint16_t type = iv->ip.family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	char name[DNS_NAME_MAX];

	iv->forward_started = true;
	if (a->status != DNS_OK)
		return;
	for (size_t i = 0; i < a->nrr && iv->nnames < IPREV_MAX_NAMES; i++) {
		size_t k = iv->nnames;

		if (dns_rr_name(a->rr[i].data, a->rr[i].len, name,
		                sizeof(name)) != 0 ||
		    name[0] == '\0')
			continue;
		if ((iv->names[k] = strdup(name)) == NULL)
			return;
		iv->fwd[k] = dns_start(iv->dns, name, type);
		iv->nnames++;
	}
}

void
iprev_poll(struct iprev *iv)
{
	if (iv != NULL && !iv->decided && !iv->forward_started &&
	    dns_ready(iv->ptr))
		start_forward(iv);
}

/* Whether any record of a forward answer is the client address. */
static bool
answer_matches(const struct dns_answer *a, const struct ipaddr *ip)
{
	size_t alen = ip->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < a->nrr; i++)
		if (a->rr[i].len == alen &&
		    memcmp(a->rr[i].data, ip->addr, alen) == 0)
			return true;
	return false;
}

/* Decide from the PTR answer alone when it ends the evaluation. */
static bool
decide_ptr(struct iprev *iv, enum dns_status st, const char *why)
{
	switch (st) {
	case DNS_OK:
		if (iv->nnames > 0)
			return false;
		iv->result = AR_R_PERMERROR;
		snprintf(iv->reason, sizeof(iv->reason), "unusable PTR data");
		return true;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		iv->result = AR_R_PERMERROR;
		snprintf(iv->reason, sizeof(iv->reason), "no PTR record");
		return true;
	case DNS_TEMPERROR:
		iv->result = AR_R_TEMPERROR;
		snprintf(iv->reason, sizeof(iv->reason), "PTR lookup: %s", why);
		return true;
	default:
		iv->result = AR_R_PERMERROR;
		snprintf(iv->reason, sizeof(iv->reason), "PTR lookup: %s", why);
		return true;
	}
}

/* Wait for every forward answer and decide. */
static void
decide_forward(struct iprev *iv)
{
	bool temp = false;
	const char *why = "";

	for (size_t i = 0; i < iv->nnames; i++) {
		const struct dns_answer *a;

		if (iv->fwd[i] == NULL) {
			temp = true;
			why = "out of memory";
			continue;
		}
		if (dns_wait(iv->fwd[i]) == DNS_TEMPERROR) {
			temp = true;
			why = dns_answer(iv->fwd[i])->why;
			continue;
		}
		a = dns_answer(iv->fwd[i]);
		if (a->status == DNS_OK && answer_matches(a, &iv->ip)) {
			iv->result = AR_R_PASS;
			snprintf(iv->host, sizeof(iv->host), "%s",
			         iv->names[i]);
			return;
		}
	}
	snprintf(iv->host, sizeof(iv->host), "%s", iv->names[0]);
	iv->result = temp ? AR_R_TEMPERROR : AR_R_FAIL;
	if (temp)
		snprintf(iv->reason, sizeof(iv->reason), "forward lookup: %s",
		         why);
	else
		snprintf(iv->reason, sizeof(iv->reason),
		         "no PTR name resolves back to %s", iv->ipstr);
}

/* Compute the result once. */
static void
decide(struct iprev *iv)
{
	enum dns_status st = dns_wait(iv->ptr);

	if (!iv->forward_started)
		start_forward(iv);
	if (!decide_ptr(iv, st, dns_answer(iv->ptr)->why))
		decide_forward(iv);
	iv->decided = true;
}

static int
key_for(enum ar_result r)
{
	switch (r) {
	case AR_R_FAIL:
		return POLICY_K_IPREV_FAIL;
	case AR_R_TEMPERROR:
		return POLICY_K_IPREV_TEMPERROR;
	case AR_R_PERMERROR:
		return POLICY_K_IPREV_PERMERROR;
	default:
		return RESULT_NO_KEY;
	}
}

int
iprev_finish(struct iprev *iv, struct resultset *rs)
{
	struct result *r;

	if (!iv->decided)
		decide(iv);
	if ((r = resultset_add(rs, AR_M_IPREV, iv->result)) == NULL)
		return -1;
	r->key = key_for(iv->result);
	if (iv->host[0] != '\0' && result_comment(r, "%s", iv->host) != 0)
		return -1;
	if (iv->reason[0] != '\0' && iv->result != AR_R_PASS &&
	    result_reason(r, "%s", iv->reason) != 0)
		return -1;
	if (iv->result != AR_R_PASS &&
	    result_reply(r, "reverse DNS of %s does not validate: %s",
	                 iv->ipstr, iv->reason) != 0)
		return -1;
	return result_prop(r, "policy", "iprev", iv->ipstr);
}

void
iprev_free(struct iprev *iv)
{
	if (iv == NULL)
		return;
	dns_query_free(iv->ptr);
	for (size_t i = 0; i < iv->nnames; i++) {
		dns_query_free(iv->fwd[i]);
		free(iv->names[i]);
	}
	free(iv);
}
