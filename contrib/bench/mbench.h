/*
 * mbench: a milter-protocol load driver (the MTA side, protocol v6).
 *
 * mbench.c holds the options, the event loop, the measurements and the
 * report; mbench_sess.c plays the protocol on one milter connection
 * (struct sess); mbench_conn.c runs an MTA session (struct conn): one
 * sess per milter of the chain, the messages of the session, and the
 * check of every message's outcome and modifications.
 *
 * One thread and one epoll set drive every connection; nothing blocks.
 * Connection slots (struct conn) live for the whole run and are reused,
 * so a callback that ends a connection never frees memory a caller
 * still holds.
 *
 * Failure: an allocation failure ends the program (status 2); a protocol
 * error, a closed connection or a timeout ends that connection and counts
 * as an error, and the slot starts a new connection while the budget
 * lasts.
 */
#ifndef MBENCH_H
#define MBENCH_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "milwire.h"

#define MB_MAX_CHAIN  4  /* milters in one chain (-p repeated) */
#define MB_MAX_PIDS   8  /* processes measured (-P repeated) */
#define MB_MAX_PAT    16 /* -x patterns */
#define MB_MAX_EXTRA  32 /* -m macros */
#define MB_MAX_MACROS (MB_MAX_EXTRA + 16)
#define MB_MSTAGES    7

/* Macro stages, numbered as libmilter's SMFIM_* (mfapi.h). */
enum { MS_CONNECT, MS_HELO, MS_ENVFROM, MS_ENVRCPT, MS_DATA, MS_EOM, MS_EOH };
#define MB_MAX_MSGSIZE (64u * 1024 * 1024)
#define MB_MAX_ERRORS  1000 /* then no new connection starts */

struct mb_macro {
	int stage;
	const char *name;
	const char *value;
};

struct mb_opts {
	const char *sock[MB_MAX_CHAIN];
	size_t nsock;
	unsigned conc;           /* -c connections at once */
	unsigned per_conn;       /* -k messages per connection */
	unsigned long count;     /* -n messages in all */
	double seconds;          /* -T time bound */
	unsigned timeout;        /* -t seconds without progress */
	const char *addr;        /* -a client address */
	const char *client_name; /* -N {client_name}; NULL: "unknown" */
	const char *helo;        /* -e */
	const char *from;        /* -f */
	const char *rcpt;        /* -r */
	const char *auth;        /* -A {auth_authen} */
	struct mb_macro extra[MB_MAX_EXTRA];
	size_t nextra;
	pid_t pid[MB_MAX_PIDS]; /* -P */
	size_t npid;
	const char *pat[MB_MAX_PAT]; /* -x every message must match each */
	size_t npat;
	const char *want;    /* -w wanted outcome (default accept) */
	const char *logpath; /* -o one line per message */
	const char *savedir; /* -s write the first -S messages */
	unsigned nsave;
	bool hold;           /* -H hold every connection open first */
	double rate;         /* -R connections started per second (0: as
	                        fast as they end: a closed loop) */
	bool quiet;          /* -q no human summary */
	char wire_name[300]; /* host name in SMFIC_CONNECT */
};

/* A header of the message as a milter of the chain sees it. */
struct mb_hdr {
	const char *name;
	const char *value; /* leading space included, as in the file */
	char *own;         /* set when name and value were allocated */
};

enum mb_step {
	ST_FREE, /* no connection */
	ST_DIAL,
	ST_OPTNEG,
	ST_CONNECT,
	ST_HELO,
	ST_READY, /* between messages */
	ST_MAIL,
	ST_RCPT,
	ST_DATA,
	ST_HDR,
	ST_EOH,
	ST_BODY,
	ST_EOM,
	ST_DONE, /* this milter has decided the message */
};

struct conn;

/* One milter connection. */
struct sess {
	struct conn *c;
	int idx; /* in the chain */
	int fd;
	enum mb_step step;
	enum mb_step asked; /* the step a reply is awaited for, or ST_FREE */
	uint32_t actions, pflags;
	char *symlist[MB_MSTAGES];
	struct milwire_buf out;
	size_t outoff;
	bool pollout;
	struct milwire_buf in;
	size_t hdr_i, body_off;
	int64_t last_io; /* ns, for the -t timeout */
};

/* One MTA session: a sess per milter, messages one after another. */
struct conn {
	struct bench *b;
	unsigned slot;
	bool open, held;
	struct sess sess[MB_MAX_CHAIN];
	unsigned msgs;     /* messages begun on this connection */
	size_t cur;        /* corpus index of the message */
	unsigned long seq; /* global message number */
	char qid[24];
	int64_t t0;         /* ns: start of the message (or connection) */
	struct mb_hdr *hdr; /* the headers as the next milter sees them */
	size_t nhdr, hdrcap;
	struct milwire_buf mods; /* escaped modification lines, LF-ended */
	enum milwire_verdict verdict;
	char *reply; /* SMFIR_REPLYCODE text (owned) */
};

struct corpus {
	char *path;
	struct milwire_msg m;
};

struct bench {
	struct mb_opts o;
	struct corpus *corpus;
	size_t ncorpus;
	int ep;
	struct conn *conns;
	unsigned *idle; /* stack of free slots */
	unsigned nidle;
	int64_t start, stop_at; /* ns */
	unsigned long begun, done, errors, verdict_errors, saved;
	unsigned open, max_open, nheld, max_held, hold_failed;
	bool released;
	unsigned pending; /* connections whose first message has not begun */
	struct sockaddr_storage sa[MB_MAX_CHAIN];
	socklen_t salen[MB_MAX_CHAIN];
	int64_t last_done;
	int64_t next_slot; /* ns: when -R lets the next connection start */
	int64_t *lat;      /* ns per finished message */
	size_t nlat, latcap;
	FILE *log;
	char first_error[256];
	char first_verdict_error[512];
};

/* mbench.c */
void mb_oom(void) __attribute__((noreturn));
int64_t mb_now(void);
void mb_error(struct bench *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool mb_budget(const struct bench *b);
void mb_release(struct bench *b);
int mb_watch(struct sess *s, bool out);

/* mbench_sess.c */
int sess_open(struct sess *s, const struct sockaddr *sa, socklen_t salen);
void sess_close(struct sess *s);
int sess_io(struct sess *s, uint32_t events);
int sess_begin_message(struct sess *s);
int sess_abort(struct sess *s);
int sess_quit(struct sess *s);

/* mbench_conn.c */
void conn_start(struct bench *b, unsigned slot);
void conn_fail(struct conn *c, const char *why);
void conn_sess_ready(struct conn *c);
void conn_sess_done(struct conn *c, int idx, enum milwire_verdict v,
                    const char *text);
int conn_mod(struct conn *c, struct sess *s, int cmd, const unsigned char *d,
             size_t len);
void conn_macros(const struct conn *c, int stage, const char **name,
                 size_t *nlen, const char **value, size_t *n);
int mb_resolve(const char *spec, struct sockaddr_storage *sa, socklen_t *salen);

#endif
