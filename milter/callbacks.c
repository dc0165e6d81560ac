/*
 * callbacks: libmilter entry points (see callbacks.h).
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "action.h"
#include "authres.h"
#include "buf.h"
#include "clock.h"
#include "callbacks.h"
#include "conf.h"
#include "log.h"
#include "message.h"
#include "metrics.h"
#include "policy.h"
#include "result.h"
#include "session.h"

#define WANT_ACTIONS                                                           \
	(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST)
#define WANT_STEPS                                                             \
	(SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_CONN |       \
	 SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_EOH |         \
	 SMFIP_HDR_LEADSPC)
/* An A-R field never needs more; past it the builder fails safe. */
#define AUTHRES_MAX 65536

static atomic_uint active;
static atomic_uint in_progress; /* messages between MAIL FROM and the end */
static atomic_uint in_eom;      /* end-of-message callbacks running */

unsigned
callbacks_active(void)
{
	return atomic_load(&active);
}

unsigned
callbacks_messages(void)
{
	return atomic_load(&in_progress);
}

unsigned
callbacks_deciding(void)
{
	return atomic_load(&in_eom);
}

static struct session *
priv(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* The answer for a step: no reply when the MTA agreed to that. */
static sfsistat
go_on(const struct session *s, unsigned long nr_flag)
{
	return s != NULL && (s->protocol & nr_flag) ? SMFIS_NOREPLY
	                                            : SMFIS_CONTINUE;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
             unsigned long f3, unsigned long *pf0, unsigned long *pf1,
             unsigned long *pf2, unsigned long *pf3)
{
	struct conf *c = conf_acquire();
	struct session *s = c != NULL ? session_new(c) : NULL;

	*pf0 = WANT_ACTIONS & f0;
	*pf1 = s != NULL ? WANT_STEPS & f1 : 0;
	/* The body only when a method reads it, and then with SKIP so the
	 * MTA stops sending it once every body hash has what it needs. */
	if (s != NULL)
		*pf1 |= policy_needs_body(s->policy) ? (SMFIP_SKIP & f1)
		                                     : (SMFIP_NOBODY & f1);
	*pf2 = 0;
	*pf3 = 0;
	if (s == NULL)
		return SMFIS_CONTINUE; /* connect tempfails */
	s->protocol = *pf1;
	smfi_setpriv(ctx, s);
	atomic_fetch_add(&active, 1);
	if (f0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct session *s = priv(ctx);

	if (s == NULL) {
		log_msg(LOG_ERR, "no session for a new connection; tempfail");
		return SMFIS_TEMPFAIL;
	}
	if (session_connect(s, hostaddr) != 0)
		s->error = "out of memory";
	log_debug(1, "connect from %s [%s]%s", hostname, s->ipstr,
	          s->internal ? " (internal)" : "");
	return go_on(s, SMFIP_NR_CONN);
}

static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct session *s = priv(ctx);

	if (s != NULL && session_helo(s, helo) != 0)
		s->error = "out of memory";
	return go_on(s, SMFIP_NR_HELO);
}

/* Forget the message in progress (end of message, abort, close). */
static void
end_message(struct session *s)
{
	if (s->msg != NULL) {
		message_free(s->msg);
		s->msg = NULL;
		metrics_message_end();
		atomic_fetch_sub(&in_progress, 1);
	}
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct session *s = priv(ctx);

	if (s == NULL)
		return SMFIS_TEMPFAIL;
	end_message(s);
	s->msg = message_new(s, argv[0], smfi_getsymval(ctx, "{auth_authen}"));
	if (s->msg == NULL)
		s->error = "out of memory";
	else {
		metrics_message_begin();
		atomic_fetch_add(&in_progress, 1);
	}
	s->nmessages++;
	session_poll(s);
	return go_on(s, SMFIP_NR_MAIL);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct session *s = priv(ctx);

	if (s != NULL && s->msg != NULL)
		(void)message_header(s->msg, name, value);
	return go_on(s, SMFIP_NR_HDR);
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct session *s = priv(ctx);

	if (s == NULL || s->msg == NULL)
		return SMFIS_CONTINUE;
	(void)message_body(s->msg, chunk, len);
	if ((s->protocol & SMFIP_SKIP) && !message_wants_body(s->msg))
		return SMFIS_SKIP;
	return SMFIS_CONTINUE;
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct session *s = priv(ctx);

	if (s != NULL) {
		session_poll(s);
		if (s->msg != NULL)
			(void)message_eoh(s->msg);
	}
	return go_on(s, SMFIP_NR_EOH);
}

/* Answer a message we cannot evaluate at all with on_error. */
static sfsistat
eom_error(SMFICTX *ctx, struct session *s, const char *why)
{
	struct decision d;

	policy_decide_error(s != NULL ? s->policy : NULL, why, &d);
	log_msg(LOG_ERR, "message not evaluated (%s): %s", why,
	        action_name(d.action));
	if (d.action == ACTION_ACCEPT)
		return SMFIS_ACCEPT;
	smfi_setreply(ctx, d.code, d.xcode, d.text);
	return d.action == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* Evaluate, decide, stamp and act: the end-of-message steps. */
static sfsistat
eom_steps(SMFICTX *ctx)
{
	struct session *s = priv(ctx);
	struct message *m = s != NULL ? s->msg : NULL;
	const char *qid = smfi_getsymval(ctx, "i");
	struct decision d;
	struct buf ar;
	sfsistat rc;

	if (m == NULL || s->error != NULL)
		return eom_error(ctx, s,
		                 s && s->error ? s->error : "no session");
	if (qid != NULL)
		snprintf(m->qid, sizeof(m->qid), "%s", qid);
	(void)message_evaluate(m);
	/* The header is built before deciding: mail must not leave without
	 * it, so failing to build it is "cannot decide" (on_error). */
	buf_init(&ar, AUTHRES_MAX);
	if (!m->failed && authres_format(s->policy->authserv_id, m->results,
	                                 "\n\t", &ar) != 0)
		message_fail(m, "Authentication-Results too large");
	if (m->failed)
		policy_decide_error(s->policy, m->failwhy, &d);
	else
		policy_decide(s->policy, m->results, &d);
	if (m->unsigned_why != NULL)
		policy_decide_unsigned(s->policy, m->unsigned_why, &d);
	if (d.action != ACTION_REJECT && d.action != ACTION_TEMPFAIL &&
	    d.action != ACTION_DISCARD && !m->failed &&
	    message_seal(m, ar.len ? buf_cstr(&ar) : NULL) != 0)
		policy_decide_error(s->policy, m->failwhy, &d);
	rc = action_apply(ctx, m, &d, ar.len ? buf_cstr(&ar) : NULL);
	message_log(m, &d);
	metrics_message(m->outbound, m->results, d.action,
	                clock_ms() - m->start_ms);
	buf_free(&ar);
	end_message(s);
	return rc;
}

/* End of message, counted so a stop waits for the decisions under way. */
static sfsistat
cb_eom(SMFICTX *ctx)
{
	sfsistat rc;

	atomic_fetch_add(&in_eom, 1);
	rc = eom_steps(ctx);
	atomic_fetch_sub(&in_eom, 1);
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct session *s = priv(ctx);

	if (s != NULL)
		end_message(s);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct session *s = priv(ctx);

	if (s != NULL) {
		end_message(s);
		session_free(s);
		smfi_setpriv(ctx, NULL);
		atomic_fetch_sub(&active, 1);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
    .xxfi_name = "authmilter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = WANT_ACTIONS,
    .xxfi_connect = cb_connect,
    .xxfi_helo = cb_helo,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_negotiate = cb_negotiate,
};

struct smfiDesc *
callbacks_desc(void)
{
	return &desc;
}
