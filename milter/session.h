/*
 * session: per-connection state (one SMTP session of the MTA).
 *
 * Created when the MTA opens the milter connection (negotiation), it holds
 * the configuration snapshot for the whole connection, the client address
 * and HELO name, whether the client is internal, the connection-level
 * iprev evaluation, and the message in progress.  It lives only behind
 * smfi_setpriv/smfi_getpriv (callbacks.c): libmilter may run one
 * connection's callbacks on different threads, one at a time, so no
 * locking is needed and nothing is kept in thread-locals.
 *
 * Ownership: session_new() steals the conf reference; session_free()
 * releases it, the message in progress and the iprev state.
 */
#ifndef AUTHMILTER_SESSION_H
#define AUTHMILTER_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cidr.h"

struct conf;
struct policy;
struct iprev;
struct message;
struct spf_check;

struct session {
	struct conf *conf;           /* owned reference */
	const struct policy *policy; /* borrowed from conf */
	unsigned long protocol;      /* SMFIP_* steps agreed with the MTA */
	struct ipaddr ip;            /* family 0 when the MTA gave none */
	char ipstr[64];
	char *helo;
	bool internal;              /* client in internal_networks or local */
	struct iprev *iprev;        /* NULL when not evaluated */
	struct spf_check *spf_helo; /* SPF of the HELO name, or NULL */
	struct message *msg;        /* message in progress, or NULL */
	unsigned nmessages;
	const char *error; /* set when setup failed: every message
	                      gets on_error; a static string */
};

/* A new session on snapshot conf (reference stolen); NULL when out of memory.
 */
struct session *session_new(struct conf *conf);

/* Record the client (sa NULL for a local, non-SMTP submission) and start
 * the lookups that need only the address; 0, or -1 when out of memory. */
int session_connect(struct session *s, const struct sockaddr *sa);

/* Record the HELO/EHLO name and start its SPF check; 0 or -1. */
int session_helo(struct session *s, const char *helo);

/* Let pending lookups advance (never blocks). */
void session_poll(struct session *s);

/* Free everything (NULL is allowed). */
void session_free(struct session *s);

#endif
