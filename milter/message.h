/*
 * message: per-message state, from MAIL FROM to end-of-message or abort.
 *
 * It holds the envelope (MAIL FROM, SMTP AUTH identity, queue id), the
 * direction (outbound when the client authenticated or is internal,
 * DESIGN.md section 5), what the header pass found (which existing
 * Authentication-Results fields claim our authserv-id, which tag headers
 * must go) and the result records.  message_evaluate() runs the methods
 * at end-of-message; it never calls libmilter: callbacks.c and action.c
 * turn its outcome into MTA actions.
 *
 * Memory per message is bounded by the header caps of hdr.c and a few
 * indexes; the body is never stored: it streams through the shared body
 * hashes (hash.c).
 *
 * Ownership: owned by the session (session.msg); message_free() releases
 * everything; strings given to message_new() are copied.
 */
#ifndef AUTHMILTER_MESSAGE_H
#define AUTHMILTER_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "arc_seal.h"
#include "arc_verify.h"
#include "dmarc_check.h"

struct session;
struct resultset;
struct decision;
struct hdr;
struct bodyhash;
struct dkim_verify;
struct spf_check;
struct dkim_sign;

/* Occurrence numbers (1-based, per header name) of fields to delete. */
struct idxlist {
	unsigned *v;
	size_t n, cap;
};

struct message {
	struct session *s; /* borrowed */
	char *mail_from;   /* without angle brackets; "" for the null sender */
	char *auth_user;   /* SMTP AUTH identity, or NULL */
	char qid[64];      /* MTA queue id, "NOQUEUE" until known */
	bool outbound;
	int64_t start_ms;
	struct resultset *results;
	unsigned nauthres;     /* Authentication-Results fields seen */
	struct idxlist forged; /* of those, the ones claiming our id */
	unsigned ntag;         /* tag headers seen */
	struct idxlist tags;   /* all of them: only we may set it */
	bool failed;           /* an internal error: on_error applies */
	char failwhy[96];
	struct hdr *hdr;               /* the header section, parsed once */
	struct bodyhash *bodyhash;     /* body digests every signature shares */
	struct dkim_verify *dkim;      /* NULL unless DKIM is verified */
	struct spf_check *spf;         /* MAIL FROM identity, or NULL */
	struct buf received_spf;       /* Received-SPF value, or empty */
	struct dkim_sign *sign;        /* outbound signing state, or NULL */
	const char *unsigned_why;      /* outbound mail left unsigned: why */
	struct arc_verify *arc;        /* ARC of inbound mail, or NULL */
	struct arc_chain chain;        /* its outcome, after message_evaluate */
	int arc_bh;                    /* body hash id for our seal, or -1 */
	struct arc_seal_out seal;      /* our ARC set, empty when not sealing */
	struct dmarc_check *dmarc;     /* DMARC of inbound mail, or NULL */
	bool dmarc_from_seen;          /* the first From field was looked at */
	bool dmarc_done;               /* dmarc_rec is filled in */
	struct dmarc_record dmarc_rec; /* for the log and reports */
};

/* Start a message; NULL when out of memory. */
struct message *message_new(struct session *s, const char *mail_from,
                            const char *auth_user);

/* Look at one header field as it arrives; 0, or -1 when out of memory
 * (the message is then marked failed). */
int message_header(struct message *m, const char *name, const char *value);

/* End of headers: choose the signing keys of outbound mail; 0 or -1. */
int message_eoh(struct message *m);

/* Feed a body chunk; 0, or -1 (message marked failed). */
int message_body(struct message *m, const unsigned char *p, size_t n);

/* Whether anything still needs the rest of the body. */
bool message_wants_body(const struct message *m);

/* Seal inbound mail with arc_seal (RFC 8617 section 5.1) given this
 * hop's A-R value.  Fills m->seal.  A failure (out of memory, a signing
 * fault) is logged and marks the message failed (-1): the policy's
 * on_error then decides, as for a DKIM signature that cannot be made,
 * so the MTA can retry instead of passing the message on unsealed. */
int message_seal(struct message *m, const char *authres);

/* Mark the message as undecidable (first reason wins). */
void message_fail(struct message *m, const char *why);

/* Run the methods and fill m->results; 0, or -1 (message marked failed). */
int message_evaluate(struct message *m);

/* The log line: queue id, direction, client, results and the action. */
void message_log(const struct message *m, const struct decision *d);

/* Free (NULL is allowed). */
void message_free(struct message *m);

#endif
