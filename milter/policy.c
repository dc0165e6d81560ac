/*
 * policy: action keys, their defaults, and the decision for one message.
 *
 * Each result may name an action key; the policy maps the key to an
 * action and the most severe action wins.  Replies carry the enhanced
 * status codes of RFC 7372 (X.7.20-X.7.25) where one fits, and X.7.1
 * for DMARC (as DESIGN.md section 5 shows).  Nothing here defaults to
 * pass: a message with no key-bearing result is simply accepted, because
 * no method asked for anything else.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "result.h"

#define INHERIT_ON_ERROR (-1)

static const char *const action_names[ACTION_COUNT] = {
    [ACTION_ACCEPT] = "accept",         [ACTION_TAG] = "tag",
    [ACTION_QUARANTINE] = "quarantine", [ACTION_TEMPFAIL] = "tempfail",
    [ACTION_DISCARD] = "discard",       [ACTION_REJECT] = "reject",
};

/* Per key: name, default action, enhanced status code (X.7.n suffix). */
static const struct {
	const char *name;
	int def;
	const char *xcode; /* without the class digit */
} keys[POLICY_K_COUNT] = {
    [POLICY_K_IPREV_FAIL] = {"iprev_fail", ACTION_ACCEPT, "7.25"},
    [POLICY_K_IPREV_TEMPERROR] = {"iprev_temperror", ACTION_ACCEPT, "7.25"},
    [POLICY_K_IPREV_PERMERROR] = {"iprev_permerror", ACTION_ACCEPT, "7.25"},
    [POLICY_K_SPF_FAIL] = {"spf_fail", ACTION_TAG, "7.23"},
    [POLICY_K_SPF_SOFTFAIL] = {"spf_softfail", ACTION_ACCEPT, "7.23"},
    [POLICY_K_SPF_NEUTRAL] = {"spf_neutral", ACTION_ACCEPT, "7.23"},
    [POLICY_K_SPF_NONE] = {"spf_none", ACTION_ACCEPT, "7.23"},
    [POLICY_K_SPF_TEMPERROR] = {"spf_temperror", ACTION_ACCEPT, "7.24"},
    [POLICY_K_SPF_PERMERROR] = {"spf_permerror", ACTION_ACCEPT, "7.24"},
    [POLICY_K_DKIM_FAIL] = {"dkim_fail", ACTION_ACCEPT, "7.20"},
    [POLICY_K_DKIM_TEMPERROR] = {"dkim_temperror", ACTION_ACCEPT, "7.20"},
    [POLICY_K_DKIM_PERMERROR] = {"dkim_permerror", ACTION_ACCEPT, "7.20"},
    [POLICY_K_DMARC_REJECT] = {"dmarc_reject", ACTION_REJECT, "7.1"},
    [POLICY_K_DMARC_QUARANTINE] = {"dmarc_quarantine", ACTION_QUARANTINE,
                                   "7.1"},
    [POLICY_K_DMARC_BAD_FROM] = {"dmarc_bad_from", ACTION_REJECT, "7.1"},
    [POLICY_K_DMARC_TEMPERROR] = {"dmarc_temperror", INHERIT_ON_ERROR, "7.1"},
    [POLICY_K_DMARC_PERMERROR] = {"dmarc_permerror", ACTION_ACCEPT, "7.1"},
    [POLICY_K_ARC_FAIL] = {"arc_fail", ACTION_ACCEPT, "7.29"},
    [POLICY_K_ARC_OVERRIDE] = {"arc_override", ACTION_ACCEPT, "7.1"},
};

const char *
action_name(enum action a)
{
	return (unsigned)a < ACTION_COUNT ? action_names[a] : "unknown";
}

int
action_parse(const char *name)
{
	for (int i = 0; i < ACTION_COUNT; i++)
		if (strcmp(action_names[i], name) == 0)
			return i;
	return -1;
}

const char *
policy_key_name(enum policy_key k)
{
	return (unsigned)k < POLICY_K_COUNT ? keys[k].name : "unknown";
}

int
policy_key_parse(const char *name)
{
	for (int i = 0; i < POLICY_K_COUNT; i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

enum action
policy_key_default(enum policy_key k)
{
	/* dmarc_temperror follows on_error unless set; the loader resolves
	 * that, this answer is for a policy with the default on_error. */
	return keys[k].def == INHERIT_ON_ERROR ? ACTION_TEMPFAIL
	                                       : (enum action)keys[k].def;
}

bool
policy_key_inherits_on_error(enum policy_key k)
{
	return keys[k].def == INHERIT_ON_ERROR;
}

unsigned
policy_spf_timeout_ms(const struct policy *p)
{
	unsigned t = p->dns.timeout_ms * 4;

	return t > 20000 ? 20000 : t;
}

bool
policy_needs_body(const struct policy *p)
{
	return p->verify.dkim || p->verify.arc || p->sign.nkeys > 0 ||
	       p->arc_seal.enabled;
}

static void
free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	free(p->file);
	free(p->authserv_id);
	free(p->listen);
	free(p->user);
	free(p->tag_header);
	free_strv(p->dns.servers, p->dns.nservers);
	free(p->dns.unbound_config);
	free(p->internal);
	free_strv(p->verify.arc_trusted_sealers,
	          p->verify.narc_trusted_sealers);
	for (size_t i = 0; i < p->sign.nkeys; i++) {
		free(p->sign.keys[i].domain);
		free(p->sign.keys[i].selector);
		free(p->sign.keys[i].algorithm);
		free(p->sign.keys[i].key_file);
	}
	free(p->sign.keys);
	free_strv(p->sign.headers, p->sign.nheaders);
	free_strv(p->sign.oversign, p->sign.noversign);
	free(p->verify.dmarc_psl_file);
	free_strv(p->verify.dmarc_never_reject_domains,
	          p->verify.ndmarc_never_reject_domains);
	free(p->verify.dmarc_never_reject_networks);
	free(p->arc_seal.domain);
	free(p->arc_seal.selector);
	free(p->arc_seal.key_file);
	free(p->metrics.listen);
	free(p);
}

/* Fill code/xcode/text for the action decided by key k (the text is
 * also the quarantine reason). */
static void
set_reply(struct decision *d, int k, const struct result *r)
{
	bool temp = d->action == ACTION_TEMPFAIL;
	const char *x = k >= 0 ? keys[k].xcode : "7.1";

	snprintf(d->code, sizeof(d->code), "%s", temp ? "451" : "550");
	snprintf(d->xcode, sizeof(d->xcode), "%c.%s", temp ? '4' : '5', x);
	if (r != NULL && r->reply != NULL)
		snprintf(d->text, sizeof(d->text), "%s", r->reply);
	else if (r != NULL)
		snprintf(d->text, sizeof(d->text), "%s=%s%s%s",
		         ar_method_name(r->method), ar_result_name(r->result),
		         r->reason ? ": " : "", r->reason ? r->reason : "");
	else
		snprintf(d->text, sizeof(d->text), "rejected by policy");
}

void
policy_decide(const struct policy *p, const struct resultset *rs,
              struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->action = ACTION_ACCEPT;
	d->key = -1;
	for (size_t i = 0; i < resultset_count(rs); i++) {
		const struct result *r = resultset_get(rs, i);
		enum action a;

		if (r->key < 0 || r->key >= POLICY_K_COUNT)
			continue;
		a = p->actions[r->key];
		if (d->key < 0 || a > d->action) {
			d->action = a;
			d->key = r->key;
			d->why = r;
		}
	}
	if (d->action != ACTION_ACCEPT)
		set_reply(d, d->key, d->why);
}

void
policy_decide_unsigned(const struct policy *p, const char *why,
                       struct decision *d)
{
	if (p->sign.missing_key != ACTION_TEMPFAIL ||
	    d->action >= ACTION_TEMPFAIL)
		return;
	d->action = ACTION_TEMPFAIL;
	d->key = -1;
	d->why = NULL;
	snprintf(d->code, sizeof(d->code), "451");
	snprintf(d->xcode, sizeof(d->xcode), "4.7.0");
	snprintf(d->text, sizeof(d->text),
	         "cannot DKIM-sign this message (%s), try again later", why);
}

void
policy_decide_error(const struct policy *p, const char *why, struct decision *d)
{
	memset(d, 0, sizeof(*d));
	d->key = -1;
	d->action = p != NULL ? p->on_error : ACTION_TEMPFAIL;
	if (d->action == ACTION_TEMPFAIL) {
		snprintf(d->code, sizeof(d->code), "451");
		snprintf(d->xcode, sizeof(d->xcode), "4.3.0");
		snprintf(
		    d->text, sizeof(d->text),
		    "temporary authentication failure (%s), try again later",
		    why);
	} else if (d->action == ACTION_REJECT) {
		snprintf(d->code, sizeof(d->code), "550");
		snprintf(d->xcode, sizeof(d->xcode), "5.3.0");
		snprintf(d->text, sizeof(d->text),
		         "message could not be authenticated (%s)", why);
	}
}
