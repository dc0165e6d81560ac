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
#include "dkim_verify.h"
#include "hash.h"
#include "hdr.h"
#include "iprev.h"
#include "log.h"
#include "message.h"
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
	if (m->mail_from == NULL || m->results == NULL || m->hdr == NULL ||
	    m->bodyhash == NULL ||
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

int
message_header(struct message *m, const char *name, const char *value)
{
	int rc = note_field(m, name, value);

	if (rc == 0) {
		/* Past the caps the field is not kept; hdr_overflowed() makes
		 * every method that needs the whole section not pass. */
		if ((rc = hdr_add(m->hdr, name, value)) == HDR_EFULL)
			return 0;
		if (rc == 0 && m->dkim != NULL &&
		    strcasecmp(name, "DKIM-Signature") == 0)
			rc = dkim_verify_field(m->dkim, m->hdr,
			                       hdr_count(m->hdr) - 1);
	}
	if (rc != 0)
		message_fail(m, "out of memory");
	return rc;
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

int
message_evaluate(struct message *m)
{
	struct session *s = m->s;

	if (bodyhash_final(m->bodyhash) != 0) {
		message_fail(m, "body hashing failed");
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
	return 0;
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
	dkim_verify_free(m->dkim);
	spf_check_free(m->spf);
	bodyhash_free(m->bodyhash);
	hdr_free(m->hdr);
	free(m);
}
