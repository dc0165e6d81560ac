/*
 * session: per-connection state (see session.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "iprev.h"
#include "log.h"
#include "message.h"
#include "policy.h"
#include "session.h"
#include "spf_check.h"

struct session *
session_new(struct conf *conf)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		conf_release(conf);
		return NULL;
	}
	s->conf = conf;
	s->policy = conf_policy(conf);
	strcpy(s->ipstr, "unknown");
	return s;
}

int
session_connect(struct session *s, const struct sockaddr *sa)
{
	if (sa == NULL || ipaddr_from_sockaddr(sa, &s->ip) != 0) {
		/* No address: a local submission (sendmail -bs, Postfix
		 * non_smtpd_milters); it comes from this host. */
		s->internal = true;
		return 0;
	}
	ipaddr_format(&s->ip, s->ipstr, sizeof(s->ipstr));
	s->internal =
	    cidr_match_any(s->policy->internal, s->policy->ninternal, &s->ip);
	if (!s->internal && s->policy->verify.iprev) {
		s->iprev = iprev_start(conf_dns(s->conf), &s->ip);
		if (s->iprev == NULL)
			return -1;
	}
	return 0;
}

int
session_helo(struct session *s, const char *helo)
{
	const struct policy *p = s->policy;
	char *h = strdup(helo != NULL ? helo : "");

	if (h == NULL)
		return -1;
	free(s->helo);
	s->helo = h;
	spf_check_free(s->spf_helo);
	s->spf_helo = NULL;
	if (!s->internal && p->verify.spf && s->ip.family != 0 &&
	    h[0] != '\0') {
		s->spf_helo = spf_check_start(
		    conf_dns(s->conf), conf_work(s->conf), SPF_ID_HELO, &s->ip,
		    h, "", policy_spf_timeout_ms(p));
		if (s->spf_helo == NULL)
			return -1;
	}
	session_poll(s);
	return 0;
}

void
session_poll(struct session *s)
{
	iprev_poll(s->iprev);
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	message_free(s->msg);
	iprev_free(s->iprev);
	spf_check_free(s->spf_helo);
	free(s->helo);
	conf_release(s->conf);
	free(s);
}
