/*
 * message: per-message state and end-of-message evaluation (see message.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authres.h"
#include "clock.h"
#include "conf.h"
#include "dkim_sign.h"
#include "dkim_verify.h"
#include "dmarc_check.h"
#include "hash.h"
#include "hdr.h"
#include "iprev.h"
#include "log.h"
#include "message.h"
#include "pkey.h"
#include "policy.h"
#include "result.h"
#include "session.h"
#include "spf_check.h"

/* Strip one pair of angle brackets from an envelope address. */
static char *
envelope_addr(const char *a)
{
	size_t n;

	if (a == NULL)
		return strdup("");
	n = strlen(a);
	if (n >= 2 && a[0] == '<' && a[n - 1] == '>')
		return strndup(a + 1, n - 2);
	return strdup(a);
}

/* Start what the envelope alone allows: DKIM verification state and the
 * MAIL FROM SPF check for inbound mail. */
static int
start_inbound(struct message *m)
{
	struct session *s = m->s;
	const struct policy *p = s->policy;
	struct dkim_verify_settings dvs = {
	    .min_rsa_bits = p->verify.dkim_min_rsa_bits,
	    .max_signatures = p->verify.dkim_max_signatures,
	    .body_length = p->verify.dkim_body_length,
	};

	if (p->verify.dkim &&
	    (m->dkim = dkim_verify_new(&dvs, conf_keycache(s->conf),
	                               conf_dns(s->conf), m->bodyhash)) == NULL)
		return -1;
	if (p->verify.arc &&
	    (m->arc = arc_verify_new(conf_keycache(s->conf), conf_dns(s->conf),
	                             m->bodyhash)) == NULL)
		return -1;
	/* The seal's body hash must be asked for before the body starts. */
	if (p->arc_seal.enabled && (m->arc_bh = arc_seal_want(m->bodyhash)) < 0)
		return -1;
	if (p->verify.spf && s->ip.family != 0 &&
	    (m->spf = spf_check_start(conf_dns(s->conf), conf_work(s->conf),
	                              SPF_ID_MAILFROM, &s->ip,
	                              s->helo ? s->helo : "", m->mail_from,
	                              policy_spf_timeout_ms(p))) == NULL)
		return -1;
	return 0;
}

struct message *
message_new(struct session *s, const char *mail_from, const char *auth_user)
{
	struct message *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->s = s;
	m->start_ms = clock_ms();
	snprintf(m->qid, sizeof(m->qid), "NOQUEUE");
	m->mail_from = envelope_addr(mail_from);
	if (auth_user != NULL && auth_user[0] != '\0')
		m->auth_user = strdup(auth_user);
	m->results = resultset_new();
	m->hdr = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	m->bodyhash = bodyhash_new();
	m->outbound = s->internal || m->auth_user != NULL;
	m->arc_bh = -1;
	if (m->outbound && s->policy->sign.nkeys > 0 && m->bodyhash != NULL)
		m->sign = dkim_sign_new(s->policy, conf_signkeys(s->conf),
		                        m->bodyhash);
	if (m->mail_from == NULL || m->results == NULL || m->hdr == NULL ||
	    m->bodyhash == NULL ||
	    (m->outbound && s->policy->sign.nkeys > 0 && m->sign == NULL) ||
	    (auth_user != NULL && auth_user[0] != '\0' &&
	     m->auth_user == NULL) ||
	    (!m->outbound && start_inbound(m) != 0)) {
		message_free(m);
		return NULL;
	}
	return m;
}

void
message_fail(struct message *m, const char *why)
{
	if (!m->failed) {
		m->failed = true;
		snprintf(m->failwhy, sizeof(m->failwhy), "%s", why);
	}
}

static int
idxlist_add(struct idxlist *l, unsigned idx)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4;
		unsigned *p = realloc(l->v, ncap * sizeof(*p));

		if (p == NULL)
			return -1;
		l->v = p;
		l->cap = ncap;
	}
	l->v[l->n++] = idx;
	return 0;
}

/* Note the fields the milter itself must act on: forged A-R (RFC 8601
 * section 5) and tag headers only we may set. */
static int
note_field(struct message *m, const char *name, const char *value)
{
	const struct policy *p = m->s->policy;

	if (strcasecmp(name, "Authentication-Results") == 0) {
		m->nauthres++;
		if (authres_is_ours(value, strlen(value), p->authserv_id))
			return idxlist_add(&m->forged, m->nauthres);
	} else if (strcasecmp(name, p->tag_header) == 0) {
		m->ntag++;
		return idxlist_add(&m->tags, m->ntag);
	}
	return 0;
}

/* The DMARC settings of the message's snapshot. */
static void
dmarc_settings(const struct message *m, struct dmarc_settings *ds)
{
	const struct policy *p = m->s->policy;

	ds->mode = p->verify.dmarc_mode;
	ds->enforce = p->verify.dmarc_enforce;
	ds->psl = conf_psl(m->s->conf);
	ds->never_reject_domains = p->verify.dmarc_never_reject_domains;
	ds->nnever_reject_domains = p->verify.ndmarc_never_reject_domains;
	ds->never_reject_networks = p->verify.dmarc_never_reject_networks;
	ds->nnever_reject_networks = p->verify.ndmarc_never_reject_networks;
}

/* Start the DMARC lookups for domain; 0, or -1 when out of memory. */
static int
dmarc_start(struct message *m, const char *domain)
{
	struct dmarc_settings ds;

	dmarc_settings(m, &ds);
	m->dmarc = dmarc_check_start(conf_dns(m->s->conf), &ds, domain);
	return m->dmarc != NULL ? 0 : -1;
}

/* The first From field of inbound mail: start the DMARC lookups at once
 * (DESIGN.md section 1); the whole header section is judged at the end. */
static int
dmarc_from_field(struct message *m)
{
	const struct hdr_field *f = hdr_get(m->hdr, hdr_count(m->hdr) - 1);
	struct hdr_from from;
	const char *v;
	size_t len;

	if (m->outbound || !m->s->policy->verify.dmarc || m->dmarc_from_seen ||
	    !hdr_is(f, "From"))
		return 0;
	m->dmarc_from_seen = true;
	v = hdr_value(f, &len);
	hdr_from_value(v, len, &from);
	return from.status == HDR_FROM_OK ? dmarc_start(m, from.domain) : 0;
}

int
message_header(struct message *m, const char *name, const char *value)
{
	int rc = note_field(m, name, value);

	if (rc == 0) {
		/* Past the caps the field is not kept; hdr_overflowed() makes
		 * every method that needs the whole section not pass. */
		if ((rc = hdr_add(m->hdr, name, value)) == HDR_EFULL)
			return 0;
		if (rc == 0)
			rc = dmarc_from_field(m);
		if (rc == 0 && m->dkim != NULL &&
		    strcasecmp(name, "DKIM-Signature") == 0)
			rc = dkim_verify_field(m->dkim, m->hdr,
			                       hdr_count(m->hdr) - 1);
		if (rc == 0 && m->arc != NULL)
			rc = arc_verify_field(m->arc, m->hdr,
			                      hdr_count(m->hdr) - 1);
	}
	if (rc != 0)
		message_fail(m, "out of memory");
	return rc;
}

int
message_eoh(struct message *m)
{
	const char *why = NULL;
	int n;

	if (m->sign == NULL)
		return 0;
	if ((n = dkim_sign_prepare(m->sign, m->hdr, &why)) < 0) {
		message_fail(m, "out of memory");
		return -1;
	}
	if (n == 0)
		m->unsigned_why = why;
	return 0;
}

int
message_body(struct message *m, const unsigned char *p, size_t n)
{
	if (bodyhash_update(m->bodyhash, p, n) != 0) {
		message_fail(m, "body hashing failed");
		return -1;
	}
	return 0;
}

bool
message_wants_body(const struct message *m)
{
	return !bodyhash_complete(m->bodyhash);
}

/* auth=pass smtp.auth=<identity> for an authenticated client (RFC 8601
 * section 2.7.4). */
static int
add_auth(struct message *m)
{
	struct result *r = resultset_add(m->results, AR_M_AUTH, AR_R_PASS);

	if (r == NULL)
		return -1;
	return result_prop(r, "smtp", "auth", m->auth_user);
}

/* Whether instance i's AAR records an spf, dkim or dmarc pass. */
static bool
aar_has_pass(const struct message *m, unsigned i)
{
	struct authres_parsed ap;
	bool pass = false;

	memset(&ap, 0, sizeof(ap));
	if (arc_verify_aar(m->arc, m->hdr, i, &ap) == 0)
		for (size_t k = 0; k < ap.nresinfo && !pass; k++) {
			const struct authres_resinfo *ri = &ap.resinfo[k];

			pass = strcmp(ri->result, "pass") == 0 &&
			       (strcmp(ri->method, "dmarc") == 0 ||
			        strcmp(ri->method, "dkim") == 0 ||
			        strcmp(ri->method, "spf") == 0);
		}
	authres_parsed_free(&ap);
	return pass;
}

/* Whether a trusted ARC sealer vouches for the message (RFC 8617
 * section 7.2.1): the chain passes, and an instance sealed by a domain of
 * verify.arc.trusted_sealers recorded a DMARC, DKIM or SPF pass. */
static bool
dmarc_arc_override(const struct message *m)
{
	const struct policy *p = m->s->policy;

	if (m->arc == NULL || m->chain.cv != ARC_CV_PASS)
		return false;
	for (unsigned i = m->chain.n; i >= 1; i--) {
		const char *sealer = arc_verify_sealer(m->arc, i);

		for (size_t k = 0;
		     sealer != NULL && k < p->verify.narc_trusted_sealers; k++)
			if (strcmp(sealer, p->verify.arc_trusted_sealers[k]) ==
			        0 &&
			    aar_has_pass(m, i))
				return true;
	}
	return false;
}

/* What SPF and DKIM found, for DMARC: the MAIL FROM result (for the
 * null sender made on postmaster@HELO, so its smtp.mailfrom is the HELO
 * name) and every DKIM result with its d=.  *dk is owned by the caller. */
static int
dmarc_auth(const struct message *m, struct dmarc_auth *a,
           struct dmarc_dkim **dk)
{
	const struct result *r;
	size_t pos = 0, n = 0;

	memset(a, 0, sizeof(*a));
	a->spf = AR_R_NONE;
	while (resultset_next(m->results, AR_M_DKIM, &pos) != NULL)
		n++;
	if ((*dk = calloc(n + 1, sizeof(**dk))) == NULL)
		return -1;
	for (pos = 0; (r = resultset_next(m->results, AR_M_DKIM, &pos));)
		(*dk)[a->ndkim++] = (struct dmarc_dkim){
		    r->result, result_get_prop(r, "header", "d")};
	a->dkim = *dk;
	for (pos = 0; (r = resultset_next(m->results, AR_M_SPF, &pos));)
		if ((a->spf_domain = result_get_prop(r, "smtp", "mailfrom"))) {
			a->spf = r->result;
			break;
		}
	a->client = m->s->ip.family != 0 ? &m->s->ip : NULL;
	a->arc_override = dmarc_arc_override(m);
	return 0;
}

/* DMARC of inbound mail, after SPF and DKIM: only a header section with
 * exactly one author domain can pass (RFC 9989 sections 4.4, 11.5). */
static int
evaluate_dmarc(struct message *m)
{
	struct hdr_from f;
	struct dmarc_auth a;
	struct dmarc_dkim *dk = NULL;
	int rc;

	hdr_from(m->hdr, &f);
	m->dmarc_done = true;
	if (f.status != HDR_FROM_OK) {
		m->dmarc_rec.result = AR_R_PERMERROR;
		snprintf(m->dmarc_rec.reason, sizeof(m->dmarc_rec.reason), "%s",
		         f.why);
		return dmarc_check_bad_from(&f, m->results);
	}
	if (m->dmarc == NULL && dmarc_start(m, f.domain) != 0)
		return -1;
	if ((rc = dmarc_auth(m, &a, &dk)) == 0)
		rc =
		    dmarc_check_finish(m->dmarc, &a, m->results, &m->dmarc_rec);
	free(dk);
	return rc;
}

/* Whether a method ran out of memory: it says so in its reason (SPF,
 * iprev, a key parse, a signature parse).  Such a result is about the
 * daemon, not the message, and nothing may be decided on it. */
static bool
results_oom(const struct resultset *rs)
{
	for (size_t i = 0; i < resultset_count(rs); i++) {
		const struct result *r = resultset_get(rs, i);

		if (r->reason != NULL && strstr(r->reason, PKEY_OOM) != NULL)
			return true;
	}
	return false;
}

int
message_evaluate(struct message *m)
{
	struct session *s = m->s;

	/* After a failure the per-method state may be incomplete. */
	if (m->failed)
		return -1;
	if (bodyhash_final(m->bodyhash) != 0) {
		message_fail(m, "body hashing failed");
		return -1;
	}
	if (m->sign != NULL && dkim_sign_finish(m->sign, m->hdr, time(NULL))) {
		message_fail(m, "DKIM signing failed");
		return -1;
	}
	if ((s->iprev != NULL && iprev_finish(s->iprev, m->results) != 0) ||
	    (m->auth_user != NULL && add_auth(m) != 0) ||
	    (m->spf != NULL && spf_check_finish(m->spf, m->results) != 0) ||
	    (!m->outbound && s->spf_helo != NULL &&
	     spf_check_finish(s->spf_helo, m->results) != 0) ||
	    (m->dkim != NULL && dkim_verify_finish(m->dkim, m->hdr, time(NULL),
	                                           m->results) != 0) ||
	    (m->spf != NULL && s->policy->verify.spf_received_spf &&
	     spf_check_received(m->spf, s->policy->authserv_id,
	                        &m->received_spf) != 0)) {
		message_fail(m, "out of memory");
		return -1;
	}
	m->chain.cv = ARC_CV_NONE;
	if (m->arc != NULL &&
	    arc_verify_finish(m->arc, m->hdr, s->ip.family ? s->ipstr : NULL,
	                      time(NULL), m->results, &m->chain) != 0) {
		message_fail(m, "out of memory");
		return -1;
	}
	if ((!m->outbound && s->policy->verify.dmarc &&
	     evaluate_dmarc(m) != 0) ||
	    results_oom(m->results)) {
		message_fail(m, "out of memory");
		return -1;
	}
	return 0;
}

int
message_seal(struct message *m, const char *authres)
{
	const struct policy *p = m->s->policy;
	struct arc_seal_params sp = {
	    .key = conf_arckey(m->s->conf),
	    .domain = p->arc_seal.domain,
	    .selector = p->arc_seal.selector,
	    .headers = p->sign.headers,
	    .nheaders = p->sign.nheaders,
	    .oversign = p->sign.oversign,
	    .noversign = p->sign.noversign,
	    .now = time(NULL),
	};
	struct errbuf eb;

	if (m->arc == NULL || !p->arc_seal.enabled || authres == NULL)
		return 0;
	if (arc_seal_make(m->hdr, arc_verify_set(m->arc), &m->chain,
	                  m->bodyhash, m->arc_bh, authres, &sp, &m->seal,
	                  &eb) < 0) {
		message_fail(m, "ARC sealing failed");
		log_msg(LOG_WARNING, "%s: not ARC-sealed: %s", m->qid, eb.msg);
		return -1;
	}
	return 0;
}

/* " signed=d/s,..." or " unsigned=<why>" for outbound mail. */
static void
log_signing(const struct message *m, struct buf *b)
{
	size_t n = m->sign != NULL ? dkim_sign_count(m->sign) : 0;

	if (m->unsigned_why != NULL)
		(void)buf_printf(b, " unsigned=\"%s\"", m->unsigned_why);
	for (size_t i = 0; i < n; i++)
		(void)buf_printf(b, "%s%s/%s", i ? "," : " signed=",
		                 dkim_sign_domain(m->sign, i),
		                 dkim_sign_selector(m->sign, i));
}

static const char *
disposition_name(enum dmarc_disposition d)
{
	return d == DMARC_DISP_REJECT       ? "reject"
	       : d == DMARC_DISP_QUARANTINE ? "quarantine"
	                                    : "none";
}

/* The DMARC data aggregate reports need (the client is logged already). */
static void
log_dmarc(const struct message *m, struct buf *b)
{
	const struct dmarc_record *r = &m->dmarc_rec;

	if (!m->dmarc_done)
		return;
	(void)buf_printf(b, " dmarc.from=%s",
	                 r->from_domain[0] ? r->from_domain : "-");
	if (r->policy_domain[0] != '\0')
		(void)buf_printf(b, " dmarc.policy=%s dmarc.policy_domain=%s",
		                 disposition_name(r->policy), r->policy_domain);
	if (r->org_domain[0] != '\0')
		(void)buf_printf(b, " dmarc.org=%s", r->org_domain);
	(void)buf_printf(b, " dmarc.aligned=%s dmarc.disposition=%s%s",
	                 r->spf_aligned && r->dkim_aligned ? "spf,dkim"
	                 : r->spf_aligned                  ? "spf"
	                 : r->dkim_aligned                 ? "dkim"
	                                                   : "none",
	                 disposition_name(r->disposition),
	                 r->testing ? " dmarc.testing=y" : "");
	if (r->reason[0] != '\0')
		(void)buf_printf(b, " dmarc.reason=\"%s\"", r->reason);
}

void
message_log(const struct message *m, const struct decision *d)
{
	struct buf b;

	buf_init(&b, 1500);
	for (size_t i = 0; i < resultset_count(m->results); i++) {
		const struct result *r = resultset_get(m->results, i);

		if (buf_printf(&b, " %s=%s", ar_method_name(r->method),
		               ar_result_name(r->result)) != BUF_OK)
			break;
	}
	log_signing(m, &b);
	log_dmarc(m, &b);
	log_msg(LOG_INFO, "%s: %s client=%s%s%s action=%s%s%s ms=%lld", m->qid,
	        m->outbound ? "outbound" : "inbound", m->s->ipstr,
	        b.len ? "" : " no-results", buf_cstr(&b),
	        action_name(d->action), m->failed ? " error=" : "",
	        m->failed ? m->failwhy : "",
	        (long long)(clock_ms() - m->start_ms));
	buf_free(&b);
}

void
message_free(struct message *m)
{
	if (m == NULL)
		return;
	free(m->mail_from);
	free(m->auth_user);
	resultset_free(m->results);
	free(m->forged.v);
	free(m->tags.v);
	buf_free(&m->received_spf);
	dkim_sign_free(m->sign);
	arc_verify_free(m->arc);
	arc_seal_out_free(&m->seal);
	dkim_verify_free(m->dkim);
	spf_check_free(m->spf);
	dmarc_check_free(m->dmarc);
	bodyhash_free(m->bodyhash);
	hdr_free(m->hdr);
	free(m);
}
