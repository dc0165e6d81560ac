/*
 * message: per-message state and end-of-message evaluation (see message.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authres.h"
#include "clock.h"
#include "iprev.h"
#include "log.h"
#include "message.h"
#include "policy.h"
#include "result.h"
#include "session.h"

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
	m->outbound = s->internal || m->auth_user != NULL;
	if (m->mail_from == NULL || m->results == NULL ||
	    (auth_user != NULL && auth_user[0] != '\0' &&
	     m->auth_user == NULL)) {
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

int
message_header(struct message *m, const char *name, const char *value)
{
	const struct policy *p = m->s->policy;
	int rc = 0;

	if (strcasecmp(name, "Authentication-Results") == 0) {
		m->nauthres++;
		if (authres_is_ours(value, strlen(value), p->authserv_id))
			rc = idxlist_add(&m->forged, m->nauthres);
	} else if (strcasecmp(name, p->tag_header) == 0) {
		m->ntag++;
		rc = idxlist_add(&m->tags, m->ntag);
	}
	if (rc != 0)
		message_fail(m, "out of memory");
	return rc;
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

	if (s->iprev != NULL && iprev_finish(s->iprev, m->results) != 0)
		goto oom;
	if (m->auth_user != NULL && add_auth(m) != 0)
		goto oom;
	return 0;
oom:
	message_fail(m, "out of memory");
	return -1;
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
	free(m);
}
