/*
 * mtc: milter test client.
 *
 * Plays the MTA side of the Sendmail milter protocol, version 6, against a
 * milter daemon the way Postfix's milter8 client does, and prints on
 * stdout what the milter answered at each step and which changes it asked
 * for at end of message, one event per line.  The options and the output
 * format are described in t/lib/README.mtc; test scripts parse the output.
 * It links nothing but libc: libmilter implements the other side, and only
 * its mfdef.h (command, reply and flag codes) is used here.
 *
 * Wire format: every packet is a 32-bit big-endian length, one command
 * byte, then length - 1 bytes of data; strings are NUL-terminated.  The
 * milter answers SMFIC_OPTNEG with its own OPTNEG packet, optionally
 * followed by macro lists, and every other command it did not mark
 * "no reply" with a decision, which at end of message may be preceded by
 * modification requests and, at any time, by SMFIR_PROGRESS.
 *
 * It follows Postfix; README.mtc lists where it does not, and why.
 *
 * Failure: every read and write waits with poll() for at most what is left
 * of the -t budget; a reply may carry at most MTC_MAX_REPLY bytes and every
 * length field is checked before it is used.  Errors travel up as -1 with
 * the cause in the session (struct session.err); main() turns them into the
 * exit status: 0 the session completed, 2 usage, connect or protocol error,
 * 3 timeout.  Running out of memory ends the program with status 2.
 *
 * Ownership: the session owns the socket, the reply buffer and the macro
 * lists the milter asked for; struct message owns its header and body
 * copies; answers own their reply text.  Single-threaded.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#define MTC_PROT_VERSION 6                  /* the protocol version we speak */
#define MTC_MAX_REPLY    (1024 * 1024)      /* largest reply data we accept */
#define MTC_MAX_INPUT    (64 * 1024 * 1024) /* largest message file */
#define MTC_MAX_EXTRA    64                 /* -m options */
#define MTC_MAX_MACROS   (MTC_MAX_EXTRA + 16) /* macros in one SMFIC_MACRO */
#define MTC_MAX_RCPTS    256                  /* -r options */
#define MTC_DRAIN_MS     2000 /* how long to wait for the milter to hang up */

/* Protocol steps in session order; the names appear in the output. */
enum step {
	STEP_NEGOTIATE,
	STEP_CONNECT,
	STEP_HELO,
	STEP_ENVFROM,
	STEP_ENVRCPT,
	STEP_DATA,
	STEP_HEADER,
	STEP_EOH,
	STEP_BODY,
	STEP_EOM,
	STEP_ABORT,
	STEP_QUIT,
	STEP_COUNT
};

static const char *const step_names[STEP_COUNT] = {
    "negotiate", "connect", "helo", "envfrom", "envrcpt", "data",
    "header",    "eoh",     "body", "eom",     "abort",   "quit",
};

/*
 * Macro stages, indexed by libmilter's SMFIM_* numbers (mfapi.h), with the
 * command whose SMFIC_MACRO packet carries them.  rank orders them in time
 * (eoh comes before eom although its number is higher).
 */
enum { MS_CONNECT, MS_HELO, MS_ENVFROM, MS_ENVRCPT, MS_DATA, MS_EOM, MS_EOH };
#define MSTAGES 7

static const struct {
	const char *name;
	char cmd;
	int rank;
} mstages[MSTAGES] = {
    {"connect", SMFIC_CONNECT, 0}, {"helo", SMFIC_HELO, 1},
    {"envfrom", SMFIC_MAIL, 2},    {"envrcpt", SMFIC_RCPT, 3},
    {"data", SMFIC_DATA, 4},       {"eom", SMFIC_BODYEOB, 6},
    {"eoh", SMFIC_EOH, 5},
};

/* One -m option: a macro sent at a stage (borrowed from argv). */
struct macro {
	int stage;
	const char *name;
	const char *value;
};

struct opts {
	const char *sock;        /* -p */
	const char *addr;        /* -a */
	char *wire_name;         /* host name in SMFIC_CONNECT (owned) */
	const char *client_name; /* {client_name} */
	unsigned port;           /* -P */
	bool unknown;            /* -u */
	const char *helo;        /* -H */
	const char *from;        /* -f */
	const char *rcpt[MTC_MAX_RCPTS];
	size_t nrcpt;
	const char *auth; /* -A */
	struct macro extra[MTC_MAX_EXTRA];
	size_t nextra;
	const char *qid;     /* -q */
	size_t chunk;        /* -c */
	unsigned long count; /* -N */
	bool count_set;
	int abort_at;  /* -x: a step, or -1 */
	int vanish_at; /* -X: a step, or -1 */
	unsigned long timeout;
	bool verbose;
	const char *file;
};

/* A header as read from the file: value is everything after the colon. */
struct header {
	char *name;
	char *value;
};

struct message {
	struct header *hdr;
	size_t nhdr;
	unsigned char *body; /* CRLF line ends */
	size_t bodylen;
};

/* A growable byte string; see bytes_add(). */
struct bytes {
	unsigned char *p;
	size_t len;
	size_t cap;
};

enum err_kind { ERR_NONE, ERR_CLOSED, ERR_TIMEOUT, ERR_OTHER };

struct session {
	const struct opts *o;
	const struct message *msg;
	int fd;
	int64_t deadline; /* CLOCK_MONOTONIC, ms */
	uint32_t version; /* the milter's answer to SMFIC_OPTNEG */
	uint32_t actions;
	uint32_t pflags;
	char *symlist[MSTAGES]; /* macro lists the milter asked for */
	enum step step;         /* where we are, for error reports */
	const char *rcpt;       /* recipient being sent, for {rcpt_addr} */
	int skip_cmd;           /* after SMFIR_SKIP: command not to send */
	bool replbody;          /* SMFIR_REPLBODY seen, not yet printed */
	size_t replbody_len;    /* its bytes so far */
	unsigned char *buf;     /* reply data, MTC_MAX_REPLY + 1 bytes */
	enum err_kind err;
	char errmsg[256];
};

/* The milter's decision on one command. */
enum verdict {
	V_NONE, /* no reply expected */
	V_CONTINUE,
	V_ACCEPT,
	V_REJECT,
	V_TEMPFAIL,
	V_DISCARD,
	V_SKIP,
	V_REPLY
};

static const char *const verdict_names[] = {
    "none",     "continue", "accept", "reject",
    "tempfail", "discard",  "skip",   "reply",
};

struct answer {
	enum verdict v;
	char *text; /* SMFIR_REPLYCODE text (owned), else NULL */
};

/* How a message (or the session, at connect and helo) ended. */
enum { STOP_NONE, STOP_ABORT, STOP_VANISH };

struct outcome {
	enum verdict v;
	char *text; /* owned */
	bool abort; /* send SMFIC_ABORT afterwards, as Postfix's mail_reset */
	int stop;   /* -x or -X took effect */
};

/* ---- memory and output helpers ---- */

/* realloc that ends the program when memory runs out. */
static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL) {
		fputs("mtc: out of memory\n", stderr);
		exit(2);
	}
	return q;
}

static char *
xstrndup(const char *s, size_t n)
{
	char *d = xrealloc(NULL, n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Append n bytes to b. */
static void
bytes_add(struct bytes *b, const void *p, size_t n)
{
	size_t need;

	if (n > SIZE_MAX / 2 || b->len > SIZE_MAX / 2 - n) {
		fputs("mtc: out of memory\n", stderr);
		exit(2);
	}
	need = b->len + n;
	if (need > b->cap) {
		b->cap = need < 256 ? 256 : need * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len = need;
}

/* Append a string with its NUL, the protocol's string encoding. */
static void
bytes_str(struct bytes *b, const char *s)
{
	bytes_add(b, s, strlen(s) + 1);
}

static void
bytes_u32(struct bytes *b, uint32_t v)
{
	unsigned char c[4] = {v >> 24, v >> 16, v >> 8, v};

	bytes_add(b, c, 4);
}

static void
bytes_free(struct bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/*
 * Write n bytes so that each event stays on one line: backslash, LF, CR
 * and TAB as \\ \n \r \t, other control bytes as \xhh.
 */
static void
put_esc(FILE *f, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c[i] == '\\')
			fputs("\\\\", f);
		else if (c[i] == '\n')
			fputs("\\n", f);
		else if (c[i] == '\r')
			fputs("\\r", f);
		else if (c[i] == '\t')
			fputs("\\t", f);
		else if (c[i] < 0x20 || c[i] == 0x7f)
			fprintf(f, "\\x%02x", c[i]);
		else
			fputc(c[i], f);
	}
}

static void
put_str(const char *s)
{
	put_esc(stdout, s, strlen(s));
}

/* -v: show one packet on stderr (dir is ">" sent or "<" received). */
static void
log_pkt(const struct session *s, const char *dir, int cmd, const void *data,
        size_t len)
{
	if (!s->o->verbose)
		return;
	fprintf(stderr, "mtc: %s ", dir);
	put_esc(stderr, &(unsigned char){(unsigned char)cmd}, 1);
	fprintf(stderr, " %zu", len);
	if (len > 0) {
		fputc(' ', stderr);
		put_esc(stderr, data, len > 256 ? 256 : len);
		if (len > 256)
			fputs("...", stderr);
	}
	fputc('\n', stderr);
}

/* Record an error in the session; always returns -1. */
static int fail(struct session *s, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct session *s, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	s->err = kind;
	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return -1;
}

/* A reply code for an error message: the letter, or '?' if unprintable. */
static int
printable(int cmd)
{
	return cmd > ' ' && cmd < 0x7f ? cmd : '?';
}

static int
closed(struct session *s)
{
	return fail(s, ERR_CLOSED, "connection closed");
}

static void
answer_free(struct answer *a)
{
	free(a->text);
	a->text = NULL;
	a->v = V_NONE;
}

/* ---- socket I/O, bounded by the session deadline ---- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until the socket is ready for events, or fail at the deadline. */
static int
wait_io(struct session *s, short events)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	for (;;) {
		left = s->deadline - now_ms();
		if (left <= 0)
			return fail(s, ERR_TIMEOUT, "timeout");
		pfd.fd = s->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail(s, ERR_OTHER, "poll: %s", strerror(errno));
	}
}

static int
write_all(struct session *s, const void *p, size_t n)
{
	const unsigned char *c = p;
	ssize_t w;

	while (n > 0) {
		if (wait_io(s, POLLOUT) < 0)
			return -1;
		w = send(s->fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			if (errno == EPIPE || errno == ECONNRESET)
				return closed(s);
			return fail(s, ERR_OTHER, "write: %s", strerror(errno));
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_full(struct session *s, void *p, size_t n)
{
	unsigned char *c = p;
	ssize_t r;

	while (n > 0) {
		if (wait_io(s, POLLIN) < 0)
			return -1;
		r = recv(s->fd, c, n, 0);
		if (r == 0)
			return closed(s);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			if (errno == ECONNRESET)
				return closed(s);
			return fail(s, ERR_OTHER, "read: %s", strerror(errno));
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Send one command with len bytes of data. */
static int
send_cmd(struct session *s, int cmd, const void *data, size_t len)
{
	unsigned char hdr[5];

	if (len > UINT32_MAX - 1)
		return fail(s, ERR_OTHER, "command too long");
	hdr[0] = (uint32_t)(len + 1) >> 24;
	hdr[1] = (uint32_t)(len + 1) >> 16;
	hdr[2] = (uint32_t)(len + 1) >> 8;
	hdr[3] = (uint32_t)(len + 1);
	hdr[4] = (unsigned char)cmd;
	log_pkt(s, ">", cmd, data, len);
	if (write_all(s, hdr, sizeof(hdr)) < 0)
		return -1;
	return len > 0 ? write_all(s, data, len) : 0;
}

/* Read one reply packet; its data lands NUL-terminated in s->buf. */
static int
read_packet(struct session *s, int *cmd, size_t *len)
{
	unsigned char hdr[4], c;
	uint32_t n;

	if (read_full(s, hdr, sizeof(hdr)) < 0)
		return -1;
	n = get_u32(hdr);
	if (n < 1 || n - 1 > MTC_MAX_REPLY)
		return fail(s, ERR_OTHER, "bad reply length %lu",
		            (unsigned long)n);
	if (read_full(s, &c, 1) < 0)
		return -1;
	if (s->buf == NULL)
		s->buf = xrealloc(NULL, MTC_MAX_REPLY + 1);
	if (read_full(s, s->buf, n - 1) < 0)
		return -1;
	s->buf[n - 1] = '\0';
	*cmd = c;
	*len = n - 1;
	log_pkt(s, "<", c, s->buf, *len);
	return 0;
}

/* ---- reading reply data ---- */

struct cursor {
	const unsigned char *p;
	size_t left;
};

static bool
cur_u32(struct cursor *c, uint32_t *v)
{
	if (c->left < 4)
		return false;
	*v = get_u32(c->p);
	c->p += 4;
	c->left -= 4;
	return true;
}

/* Take a NUL-terminated string; false when the NUL is missing. */
static bool
cur_str(struct cursor *c, const char **s, size_t *n)
{
	const unsigned char *nul = memchr(c->p, '\0', c->left);

	if (nul == NULL)
		return false;
	*s = (const char *)c->p;
	*n = (size_t)(nul - c->p);
	c->left -= *n + 1;
	c->p = nul + 1;
	return true;
}

/* ---- connecting ---- */

/* Split "inet:PORT@HOST" or "inet6:PORT@HOST" (HOST may be in brackets). */
static int
split_inet(struct session *s, const char *spec, char *port, size_t portsz,
           char *host, size_t hostsz, bool v6)
{
	const char *at = strchr(spec, '@');
	size_t plen = at ? (size_t)(at - spec) : strlen(spec);
	const char *h = at ? at + 1 : (v6 ? "::1" : "127.0.0.1");
	size_t hlen = strlen(h);

	if (plen == 0 || plen >= portsz)
		return fail(s, ERR_OTHER, "bad port in %s", s->o->sock);
	memcpy(port, spec, plen);
	port[plen] = '\0';
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= hostsz)
		return fail(s, ERR_OTHER, "bad host in %s", s->o->sock);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return 0;
}

/* Start a non-blocking connect and wait for it within the deadline. */
static int
dial(struct session *s, const struct sockaddr *sa, socklen_t salen)
{
	int e = 0;
	socklen_t elen = sizeof(e);

	s->fd = socket(sa->sa_family,
	               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return fail(s, ERR_OTHER, "socket: %s", strerror(errno));
	/* Commands the milter does not answer (no-reply steps) would wait
	 * for delayed ACKs under Nagle; an MTA writes them without delay. */
	if (sa->sa_family != AF_UNIX)
		(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1},
		                 sizeof(int));
	if (connect(s->fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return fail(s, ERR_OTHER, "connect to %s: %s", s->o->sock,
		            strerror(errno));
	if (wait_io(s, POLLOUT) < 0)
		return -1;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
		e = errno;
	if (e != 0)
		return fail(s, ERR_OTHER, "connect to %s: %s", s->o->sock,
		            strerror(e));
	return 0;
}

static int
dial_unix(struct session *s, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path))
		return fail(s, ERR_OTHER, "bad socket path in %s", s->o->sock);
	strcpy(sun.sun_path, path);
	return dial(s, (struct sockaddr *)&sun, sizeof(sun));
}

static int
dial_inet(struct session *s, const char *spec, bool v6)
{
	struct addrinfo hints, *ai;
	char port[16], host[256];
	int r;

	if (split_inet(s, spec, port, sizeof(port), host, sizeof(host), v6) < 0)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = v6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r != 0)
		return fail(s, ERR_OTHER, "%s: %s", s->o->sock,
		            gai_strerror(r));
	r = dial(s, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return r;
}

/* Connect to the milter: libmilter's socket syntax. */
static int
open_socket(struct session *s)
{
	const char *p = s->o->sock;

	if (strncmp(p, "unix:", 5) == 0)
		return dial_unix(s, p + 5);
	if (strncmp(p, "local:", 6) == 0)
		return dial_unix(s, p + 6);
	if (strncmp(p, "inet:", 5) == 0)
		return dial_inet(s, p + 5, false);
	if (strncmp(p, "inet6:", 6) == 0)
		return dial_inet(s, p + 6, true);
	if (*p == '/')
		return dial_unix(s, p);
	return fail(s, ERR_OTHER, "unknown socket type: %s", p);
}

/* ---- negotiation ---- */

/* Read the macro lists that may follow the three negotiated words. */
static int
read_symlists(struct session *s, struct cursor *c)
{
	uint32_t st;
	const char *list;
	size_t n;

	while (c->left > 0) {
		if (!cur_u32(c, &st) || !cur_str(c, &list, &n))
			return fail(s, ERR_OTHER,
			            "malformed macro list in negotiation");
		if (st >= MSTAGES) {
			fprintf(stderr,
			        "mtc: ignoring macro list for stage %lu\n",
			        (unsigned long)st);
			continue;
		}
		free(s->symlist[st]);
		s->symlist[st] = xstrndup(list, n);
		printf("symlist %s ", mstages[st].name);
		put_esc(stdout, list, n);
		putchar('\n');
	}
	return 0;
}

/* SMFIC_OPTNEG: offer everything Postfix 3.7 offers, keep the answer. */
static int
negotiate(struct session *s)
{
	struct bytes b = {0};
	struct cursor c;
	size_t len;
	int cmd, r;

	s->step = STEP_NEGOTIATE;
	bytes_u32(&b, MTC_PROT_VERSION);
	bytes_u32(&b, SMFI_CURR_ACTS);
	bytes_u32(&b, SMFI_CURR_PROT);
	r = send_cmd(s, SMFIC_OPTNEG, b.p, b.len);
	bytes_free(&b);
	if (r < 0 || read_packet(s, &cmd, &len) < 0)
		return -1;
	c.p = s->buf;
	c.left = len;
	if (cmd != SMFIC_OPTNEG || !cur_u32(&c, &s->version) ||
	    !cur_u32(&c, &s->actions) || !cur_u32(&c, &s->pflags))
		return fail(s, ERR_OTHER, "bad answer to negotiation");
	if (s->version < 2 || s->version > MTC_PROT_VERSION)
		return fail(s, ERR_OTHER, "milter protocol version %lu",
		            (unsigned long)s->version);
	if ((s->actions & ~(uint32_t)SMFI_CURR_ACTS) != 0)
		return fail(s, ERR_OTHER, "milter wants actions 0x%lx",
		            (unsigned long)s->actions);
	printf("negotiate version=%lu actions=0x%lx protocol=0x%lx\n",
	       (unsigned long)s->version, (unsigned long)s->actions,
	       (unsigned long)s->pflags);
	return read_symlists(s, &c);
}

/* ---- macros ---- */

/* Macros to send: names need not be NUL-terminated (see nlen). */
struct mlist {
	const char *name[MTC_MAX_MACROS];
	size_t nlen[MTC_MAX_MACROS];
	const char *value[MTC_MAX_MACROS];
	size_t n;
};

/* Do two macro names match, ignoring braces ("{i}" is "i")? */
static bool
same_macro(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen >= 2 && a[0] == '{' && a[alen - 1] == '}') {
		a++;
		alen -= 2;
	}
	if (blen >= 2 && b[0] == '{' && b[blen - 1] == '}') {
		b++;
		blen -= 2;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Set a macro, replacing one of the same name. */
static void
mlist_set(struct mlist *l, const char *name, size_t nlen, const char *value)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (same_macro(name, nlen, l->name[i], l->nlen[i])) {
			l->value[i] = value;
			return;
		}
	if (l->n < MTC_MAX_MACROS) {
		l->name[l->n] = name;
		l->nlen[l->n] = nlen;
		l->value[l->n++] = value;
	}
}

static void
mlist_put(struct mlist *l, const char *name, const char *value)
{
	mlist_set(l, name, strlen(name), value);
}

/* The macros Postfix sends at a stage by default, then the -m ones. */
static void
stage_macros(const struct session *s, int ms, struct mlist *l)
{
	const struct opts *o = s->o;
	size_t i;

	if (ms == MS_CONNECT) {
		mlist_put(l, "j", "mx.test.example");
		mlist_put(l, "{daemon_name}", "smtpd");
		if (!o->unknown)
			mlist_put(l, "{client_addr}", o->addr);
		mlist_put(l, "{client_name}", o->client_name);
	} else if (ms == MS_ENVFROM) {
		mlist_put(l, "i", o->qid);
		if (o->auth != NULL) {
			mlist_put(l, "{auth_type}", "PLAIN");
			mlist_put(l, "{auth_authen}", o->auth);
		}
		mlist_put(l, "{mail_addr}", o->from);
	} else if (ms == MS_ENVRCPT) {
		mlist_put(l, "{rcpt_addr}", s->rcpt ? s->rcpt : "");
	} else if (ms == MS_EOM) {
		mlist_put(l, "i", o->qid);
	}
	for (i = 0; i < o->nextra; i++)
		if (o->extra[i].stage == ms)
			mlist_put(l, o->extra[i].name, o->extra[i].value);
}

/*
 * The milter named the macros it wants at this stage: like Postfix, send
 * those of them we know by now (from this stage or an earlier one), in the
 * order and spelling it asked for.
 */
static void
wanted_macros(const struct session *s, int ms, struct mlist *out)
{
	struct mlist known = {.n = 0};
	const char *p = s->symlist[ms];
	size_t i, n;
	int rank, t;

	for (rank = 0; rank <= mstages[ms].rank; rank++)
		for (t = 0; t < MSTAGES; t++)
			if (mstages[t].rank == rank)
				stage_macros(s, t, &known);
	while (*p != '\0') {
		n = strcspn(p, " ,\t");
		for (i = 0; n > 0 && i < known.n; i++)
			if (same_macro(p, n, known.name[i], known.nlen[i])) {
				mlist_set(out, p, n, known.value[i]);
				break;
			}
		p += n;
		p += strspn(p, " ,\t");
	}
}

/* Send SMFIC_MACRO for a stage, if there is anything to send. */
static int
send_macros(struct session *s, int ms)
{
	struct mlist l = {.n = 0};
	struct bytes b = {0};
	size_t i;
	int r;

	if (s->symlist[ms] == NULL)
		stage_macros(s, ms, &l);
	else
		wanted_macros(s, ms, &l);
	if (l.n == 0 && s->symlist[ms] == NULL)
		return 0;
	bytes_add(&b, &mstages[ms].cmd, 1);
	for (i = 0; i < l.n; i++) {
		bytes_add(&b, l.name[i], l.nlen[i]);
		bytes_add(&b, "", 1);
		bytes_str(&b, l.value[i]);
	}
	r = send_cmd(s, SMFIC_MACRO, b.p, b.len);
	bytes_free(&b);
	return r;
}

/* ---- answers ---- */

/*
 * Postfix's reading of SMFIR_REPLYCODE: libmilter users double '%'
 * because Sendmail uses the text as a format; "%%" becomes "%" and a
 * single '%' is dropped.
 */
static void
unescape_percent(char *t)
{
	char *w = t;

	for (; *t != '\0'; t++) {
		if (*t == '%') {
			if (t[1] != '%')
				continue;
			t++;
		}
		*w++ = *t;
	}
	*w = '\0';
}

/* SMFIR_REPLYCODE: "4xx" or "5xx", then ' ' or '-', like Postfix checks. */
static int
reply_code(struct session *s, size_t len, struct answer *a)
{
	const char *t = (const char *)s->buf;
	size_t n = strnlen(t, len);

	if (n < 4 || (t[0] != '4' && t[0] != '5') || t[1] < '0' || t[1] > '9' ||
	    t[2] < '0' || t[2] > '9' || (t[3] != ' ' && t[3] != '-') ||
	    (n > 4 && t[4] >= '0' && t[4] <= '9' && t[4] != t[0]))
		return fail(s, ERR_OTHER, "malformed reply at %s",
		            step_names[s->step]);
	a->v = V_REPLY;
	a->text = xstrndup(t, n);
	unescape_percent(a->text);
	return 0;
}

/* 1 if cmd is a decision (filled into a), 0 if not, -1 on error. */
static int
decision(struct session *s, int cmd, size_t len, struct answer *a)
{
	static const struct {
		int cmd;
		enum verdict v;
	} simple[] = {
	    {SMFIR_CONTINUE, V_CONTINUE}, {SMFIR_ACCEPT, V_ACCEPT},
	    {SMFIR_REJECT, V_REJECT},     {SMFIR_TEMPFAIL, V_TEMPFAIL},
	    {SMFIR_DISCARD, V_DISCARD},   {SMFIR_SKIP, V_SKIP},
	};
	size_t i;

	if (cmd == SMFIR_REPLYCODE)
		return reply_code(s, len, a) < 0 ? -1 : 1;
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (simple[i].cmd != cmd)
			continue;
		if (len != 0)
			return fail(s, ERR_OTHER, "reply '%c' with data at %s",
			            printable(cmd), step_names[s->step]);
		a->v = simple[i].v;
		return 1;
	}
	return 0;
}

/*
 * A header value as it will follow "NAME:" less the customary space: a
 * milter that negotiated SMFIP_HDR_LEADSPC supplies that space itself.
 */
static void
put_hvalue(const struct session *s, const char *v, size_t n)
{
	if ((s->pflags & SMFIP_HDR_LEADSPC) && n > 0 && v[0] == ' ') {
		v++;
		n--;
	}
	put_esc(stdout, v, n);
}

/* SMFIR_ADDHEADER, SMFIR_INSHEADER, SMFIR_CHGHEADER. */
static int
mod_header(struct session *s, int cmd, struct cursor *c)
{
	const char *name, *value;
	size_t nlen, vlen;
	uint32_t idx = 0;

	if ((cmd != SMFIR_ADDHEADER && !cur_u32(c, &idx)) ||
	    !cur_str(c, &name, &nlen) || !cur_str(c, &value, &vlen) ||
	    c->left != 0 || nlen == 0)
		return -1;
	if (cmd == SMFIR_CHGHEADER) {
		fputs("chgheader ", stdout);
		put_esc(stdout, name, nlen);
		printf(" %lu ", (unsigned long)idx);
		if (vlen == 0)
			fputs("(delete)", stdout);
		else
			put_hvalue(s, value, vlen);
	} else {
		if (cmd == SMFIR_INSHEADER)
			printf("insheader %lu ", (unsigned long)idx);
		else
			fputs("addheader ", stdout);
		put_esc(stdout, name, nlen);
		fputs(": ", stdout);
		put_hvalue(s, value, vlen);
	}
	putchar('\n');
	return 0;
}

/* Requests with an address and optional ESMTP arguments, or a reason. */
static int
mod_envelope(int cmd, struct cursor *c)
{
	const char *word = "quarantine", *str, *args = "";
	size_t len, alen = 0;

	if (!cur_str(c, &str, &len))
		return -1;
	if ((cmd == SMFIR_CHGFROM || cmd == SMFIR_ADDRCPT_PAR) && c->left > 0 &&
	    !cur_str(c, &args, &alen))
		return -1;
	if (c->left != 0)
		return -1;
	if (cmd == SMFIR_CHGFROM)
		word = "chgfrom";
	else if (cmd == SMFIR_ADDRCPT || cmd == SMFIR_ADDRCPT_PAR)
		word = "addrcpt";
	else if (cmd == SMFIR_DELRCPT)
		word = "delrcpt";
	printf("%s ", word);
	put_esc(stdout, str, len);
	if (alen > 0) {
		putchar(' ');
		put_esc(stdout, args, alen);
	}
	putchar('\n');
	return 0;
}

/* Print the body replacement gathered from consecutive SMFIR_REPLBODY. */
static void
flush_replbody(struct session *s)
{
	if (s->replbody) {
		printf("replbody %zu bytes\n", s->replbody_len);
		s->replbody = false;
		s->replbody_len = 0;
	}
}

/* A modification request at end of message: print it. */
static int
modification(struct session *s, int cmd, size_t len)
{
	struct cursor c = {s->buf, len};
	int r;

	switch (cmd) {
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		r = mod_header(s, cmd, &c);
		break;
	case SMFIR_CHGFROM:
	case SMFIR_ADDRCPT:
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_DELRCPT:
	case SMFIR_QUARANTINE:
		r = mod_envelope(cmd, &c);
		break;
	default:
		return fail(s, ERR_OTHER, "unexpected reply '%c' at %s",
		            printable(cmd), step_names[s->step]);
	}
	if (r < 0)
		return fail(s, ERR_OTHER, "malformed reply '%c' at %s",
		            printable(cmd), step_names[s->step]);
	return 0;
}

/*
 * Wait for the milter's decision on the command just sent; at end of
 * message print the modification requests that come before it.
 */
static int
read_answer(struct session *s, struct answer *a)
{
	size_t len;
	int cmd, r;

	for (;;) {
		if (read_packet(s, &cmd, &len) < 0)
			return -1;
		if (cmd == SMFIR_REPLBODY && s->step == STEP_EOM) {
			s->replbody = true;
			s->replbody_len += len;
			continue;
		}
		flush_replbody(s);
		if ((r = decision(s, cmd, len, a)) != 0)
			return r < 0 ? -1 : 0;
		if (cmd == SMFIR_PROGRESS && len == 0) {
			if (s->o->verbose)
				puts("progress");
			continue;
		}
		if (s->step != STEP_EOM)
			return fail(s, ERR_OTHER, "unexpected reply '%c' at %s",
			            printable(cmd), step_names[s->step]);
		if (modification(s, cmd, len) < 0)
			return -1;
	}
}

/*
 * Send one command and wait for the answer unless the milter negotiated
 * no reply for it (no_reply is its SMFIP_NR_* bit); then a->v is V_NONE.
 */
static int
event(struct session *s, int cmd, const void *data, size_t len,
      uint32_t no_reply, struct answer *a)
{
	a->v = V_NONE;
	a->text = NULL;
	if (send_cmd(s, cmd, data, len) < 0)
		return -1;
	if (s->pflags & no_reply)
		return 0;
	return read_answer(s, a);
}

static void
put_verdict(enum verdict v, const char *text)
{
	fputs(verdict_names[v], stdout);
	if (v == V_REPLY) {
		putchar(' ');
		put_str(text);
	}
}

/* "STEP RESULT" for a step that replied. */
static void
print_answer(enum step st, const struct answer *a)
{
	if (a->v == V_NONE)
		return;
	printf("%s ", step_names[st]);
	put_verdict(a->v, a->text);
	putchar('\n');
}

static void
print_result(const struct outcome *out)
{
	fputs("result ", stdout);
	if (out->stop == STOP_ABORT)
		fputs("abort", stdout);
	else if (out->stop == STOP_VANISH)
		fputs("vanish", stdout);
	else if (out->v == V_CONTINUE || out->v == V_SKIP || out->v == V_NONE)
		fputs("accept", stdout);
	else
		put_verdict(out->v, out->text);
	putchar('\n');
}

static bool
is_rejection(enum verdict v)
{
	return v == V_REJECT || v == V_TEMPFAIL || v == V_REPLY;
}

/*
 * Print a step's answer and decide whether the message goes on (0) or
 * ended (1).  A refused MAIL FROM leaves no transaction to abort.
 */
static int
settle(enum step st, struct answer *a, struct outcome *out)
{
	print_answer(st, a);
	if (a->v == V_NONE || a->v == V_CONTINUE || a->v == V_SKIP) {
		answer_free(a);
		return 0;
	}
	out->v = a->v;
	out->text = a->text;
	a->text = NULL;
	out->abort = !(st == STEP_ENVFROM && is_rejection(a->v));
	return 1;
}

/* ---- the -x and -X hooks ---- */

/* Abort or vanish here if asked to: 0 no, 1 yes (out->stop set), -1. */
static int
trigger(struct session *s, enum step st, struct outcome *out)
{
	s->step = st;
	if (s->o->vanish_at == (int)st) {
		close(s->fd);
		s->fd = -1;
		out->stop = STOP_VANISH;
		return 1;
	}
	if (s->o->abort_at == (int)st) {
		if (send_cmd(s, SMFIC_ABORT, NULL, 0) < 0)
			return -1;
		out->stop = STOP_ABORT;
		return 1;
	}
	return 0;
}

/* ---- connection steps ---- */

/*
 * SMFIC_CONNECT data: host name, family, and for an Internet client the
 * port (network order) and the address.
 */
static void
connect_data(const struct opts *o, struct bytes *b)
{
	unsigned char port[2] = {o->port >> 8, o->port & 0xff};
	char family = SMFIA_UNKNOWN;

	if (!o->unknown)
		family = strchr(o->addr, ':') ? SMFIA_INET6 : SMFIA_INET;
	bytes_str(b, o->wire_name);
	bytes_add(b, &family, 1);
	if (!o->unknown) {
		bytes_add(b, port, 2);
		bytes_str(b, o->addr);
	}
}

static int
do_connect(struct session *s, struct outcome *out)
{
	struct bytes b = {0};
	struct answer a;
	int r;

	if ((r = trigger(s, STEP_CONNECT, out)) != 0)
		return r;
	if (send_macros(s, MS_CONNECT) < 0)
		return -1;
	if (s->pflags & SMFIP_NOCONNECT)
		return 0;
	connect_data(s->o, &b);
	r = event(s, SMFIC_CONNECT, b.p, b.len, SMFIP_NR_CONN, &a);
	bytes_free(&b);
	return r < 0 ? -1 : settle(STEP_CONNECT, &a, out);
}

static int
do_helo(struct session *s, struct outcome *out)
{
	struct answer a;
	int r;

	if ((r = trigger(s, STEP_HELO, out)) != 0)
		return r;
	if (send_macros(s, MS_HELO) < 0)
		return -1;
	if (s->pflags & SMFIP_NOHELO)
		return 0;
	if (event(s, SMFIC_HELO, s->o->helo, strlen(s->o->helo) + 1,
	          SMFIP_NR_HELO, &a) < 0)
		return -1;
	return settle(STEP_HELO, &a, out);
}

/* ---- message steps: each returns 0 to go on, 1 when done, -1 ---- */

/* An envelope address as SMTP sends it: in angle brackets. */
static void
bytes_addr(struct bytes *b, const char *addr)
{
	bytes_add(b, "<", 1);
	bytes_add(b, addr, strlen(addr));
	bytes_add(b, ">", 2);
}

static int
do_envfrom(struct session *s, struct outcome *out)
{
	struct bytes b = {0};
	struct answer a;
	int r;

	if ((r = trigger(s, STEP_ENVFROM, out)) != 0)
		return r;
	if (send_macros(s, MS_ENVFROM) < 0)
		return -1;
	if (s->pflags & SMFIP_NOMAIL)
		return 0;
	bytes_addr(&b, s->o->from);
	r = event(s, SMFIC_MAIL, b.p, b.len, SMFIP_NR_MAIL, &a);
	bytes_free(&b);
	return r < 0 ? -1 : settle(STEP_ENVFROM, &a, out);
}

/* One RCPT TO; a->v is V_NONE when the milter did not answer. */
static int
send_rcpt(struct session *s, const char *rcpt, struct answer *a)
{
	struct bytes b = {0};
	int r;

	a->v = V_NONE;
	a->text = NULL;
	if (s->skip_cmd == SMFIC_RCPT)
		return 0;
	s->rcpt = rcpt;
	if (send_macros(s, MS_ENVRCPT) < 0)
		return -1;
	if (s->pflags & SMFIP_NORCPT)
		return 0;
	bytes_addr(&b, rcpt);
	r = event(s, SMFIC_RCPT, b.p, b.len, SMFIP_NR_RCPT, a);
	bytes_free(&b);
	if (r < 0)
		return -1;
	print_answer(STEP_ENVRCPT, a);
	if (a->v == V_SKIP)
		s->skip_cmd = SMFIC_RCPT;
	return 0;
}

/*
 * A refused recipient is just not added; the message ends when the
 * milter accepts or discards it, or when it refused every recipient.
 */
static int
do_rcpts(struct session *s, struct outcome *out)
{
	struct answer a, last = {V_NONE, NULL};
	size_t i, ok = 0;
	int r;

	if ((r = trigger(s, STEP_ENVRCPT, out)) != 0)
		return r;
	for (i = 0; i < s->o->nrcpt; i++) {
		if (send_rcpt(s, s->o->rcpt[i], &a) < 0) {
			answer_free(&last);
			return -1;
		}
		if (a.v == V_ACCEPT || a.v == V_DISCARD) {
			answer_free(&last);
			out->v = a.v;
			return 1;
		}
		if (is_rejection(a.v)) {
			answer_free(&last);
			last = a;
		} else {
			ok++;
		}
	}
	if (ok > 0) {
		answer_free(&last);
		return 0;
	}
	out->v = last.v;
	out->text = last.text;
	return 1;
}

static int
do_data(struct session *s, struct outcome *out)
{
	struct answer a;
	int r;

	if ((r = trigger(s, STEP_DATA, out)) != 0)
		return r;
	if (send_macros(s, MS_DATA) < 0)
		return -1;
	if (s->pflags & SMFIP_NODATA)
		return 0;
	if (event(s, SMFIC_DATA, NULL, 0, SMFIP_NR_DATA, &a) < 0)
		return -1;
	return settle(STEP_DATA, &a, out);
}

/*
 * Without SMFIP_HDR_LEADSPC an MTA drops the one space after the colon
 * (Postfix and Sendmail both do; a tab or a second space stays).
 */
static int
send_header(struct session *s, const struct header *h, struct answer *a)
{
	struct bytes b = {0};
	const char *v = h->value;
	int r;

	if (!(s->pflags & SMFIP_HDR_LEADSPC) && *v == ' ')
		v++;
	bytes_str(&b, h->name);
	bytes_str(&b, v);
	r = event(s, SMFIC_HEADER, b.p, b.len, SMFIP_NR_HDR, a);
	bytes_free(&b);
	return r;
}

/* All headers; the answer printed is the last one (or the first refusal). */
static int
do_headers(struct session *s, struct outcome *out)
{
	struct answer a, last = {V_NONE, NULL};
	size_t i;
	int r;

	if ((r = trigger(s, STEP_HEADER, out)) != 0)
		return r;
	if (s->pflags & SMFIP_NOHDRS)
		return 0;
	for (i = 0; i < s->msg->nhdr; i++) {
		if (send_header(s, &s->msg->hdr[i], &a) < 0) {
			answer_free(&last);
			return -1;
		}
		if (a.v == V_NONE)
			continue;
		answer_free(&last);
		last = a;
		if (a.v != V_CONTINUE)
			break; /* a decision, or SMFIR_SKIP: no more headers */
	}
	return settle(STEP_HEADER, &last, out);
}

static int
do_eoh(struct session *s, struct outcome *out)
{
	struct answer a;
	int r;

	if ((r = trigger(s, STEP_EOH, out)) != 0)
		return r;
	if (s->pflags & SMFIP_NOEOH)
		return 0;
	if (send_macros(s, MS_EOH) < 0 ||
	    event(s, SMFIC_EOH, NULL, 0, SMFIP_NR_EOH, &a) < 0)
		return -1;
	return settle(STEP_EOH, &a, out);
}

/* The body in -c sized chunks, until the milter decides or skips. */
static int
do_body(struct session *s, struct outcome *out)
{
	struct answer a, last = {V_NONE, NULL};
	size_t off, n;
	int r;

	if ((r = trigger(s, STEP_BODY, out)) != 0)
		return r;
	if (s->pflags & SMFIP_NOBODY)
		return 0;
	for (off = 0; off < s->msg->bodylen; off += n) {
		n = s->msg->bodylen - off;
		if (n > s->o->chunk)
			n = s->o->chunk;
		if (event(s, SMFIC_BODY, s->msg->body + off, n, SMFIP_NR_BODY,
		          &a) < 0) {
			answer_free(&last);
			return -1;
		}
		if (a.v == V_NONE)
			continue;
		answer_free(&last);
		last = a;
		if (a.v != V_CONTINUE)
			break;
	}
	return settle(STEP_BODY, &last, out);
}

/* End of message: the changes, then the final decision. */
static int
do_eom(struct session *s, struct outcome *out)
{
	struct answer a;
	int r;

	if ((r = trigger(s, STEP_EOM, out)) != 0)
		return r;
	if (send_macros(s, MS_EOM) < 0 ||
	    event(s, SMFIC_BODYEOB, NULL, 0, 0, &a) < 0)
		return -1;
	settle(STEP_EOM, &a, out);
	return 1;
}

/* One transaction, MAIL FROM to end of message. */
static int
run_message(struct session *s, struct outcome *out)
{
	static int (*const steps[])(struct session *, struct outcome *) = {
	    do_envfrom, do_rcpts, do_data, do_headers, do_eoh, do_body, do_eom,
	};
	size_t i;
	int r = 0;

	out->v = V_ACCEPT;
	out->text = NULL;
	out->abort = true;
	out->stop = STOP_NONE;
	s->skip_cmd = 0;
	s->rcpt = NULL;
	for (i = 0; r == 0 && i < sizeof(steps) / sizeof(steps[0]); i++)
		r = steps[i](s, out);
	return r < 0 ? -1 : 0;
}

/*
 * The messages of the session.  After each transaction Postfix's
 * mail_reset() sends SMFIC_ABORT, except when the milter refused MAIL
 * FROM; the next message starts again with MAIL FROM.
 */
static int
run_messages(struct session *s, struct outcome *out)
{
	unsigned long i;

	for (i = 1; i <= s->o->count; i++) {
		if (s->o->count_set)
			printf("message %lu\n", i);
		if (run_message(s, out) < 0)
			return -1;
		print_result(out);
		free(out->text);
		out->text = NULL;
		if (out->stop != STOP_NONE)
			return 0;
		s->step = STEP_ABORT;
		if (out->abort && send_cmd(s, SMFIC_ABORT, NULL, 0) < 0)
			return -1;
	}
	return 0;
}

/* After QUIT, give the milter a moment to hang up; errors do not matter. */
static void
drain(struct session *s)
{
	unsigned char junk[512];
	struct pollfd pfd = {s->fd, POLLIN, 0};
	int64_t end = now_ms() + MTC_DRAIN_MS, left;

	if (end > s->deadline)
		end = s->deadline;
	shutdown(s->fd, SHUT_WR);
	while ((left = end - now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		if (recv(s->fd, junk, sizeof(junk), 0) <= 0)
			break;
	}
}

/*
 * End the session like Postfix: smtpd's helo_reset() sends one more
 * SMFIC_ABORT when the connection is still open to events, then QUIT.
 */
static int
finish(struct session *s, bool abort_first)
{
	s->step = STEP_QUIT;
	if (abort_first && send_cmd(s, SMFIC_ABORT, NULL, 0) < 0)
		return -1;
	if (send_cmd(s, SMFIC_QUIT, NULL, 0) < 0)
		return -1;
	drain(s);
	return 0;
}

static int
run_session(struct session *s)
{
	struct outcome out = {V_CONTINUE, NULL, false, STOP_NONE};
	int r;

	if (open_socket(s) < 0 || negotiate(s) < 0)
		return -1;
	r = do_connect(s, &out);
	if (r == 0)
		r = do_helo(s, &out);
	if (r < 0)
		return -1;
	if (r == 1)
		print_result(&out); /* a decision for the whole connection */
	else if (run_messages(s, &out) < 0)
		return -1;
	free(out.text);
	if (out.stop == STOP_VANISH)
		return 0;
	return finish(s, r == 0 && out.stop == STOP_NONE);
}

/* ---- the message file ---- */

/* Read a whole file ("-" is stdin), at most MTC_MAX_INPUT bytes. */
static int
read_input(const char *path, struct bytes *b)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	unsigned char chunk[65536];
	size_t n;
	int err;

	if (f == NULL) {
		fprintf(stderr, "mtc: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->len + n > MTC_MAX_INPUT)
			break;
		bytes_add(b, chunk, n);
	}
	err = ferror(f) || n > 0;
	if (f != stdin)
		fclose(f);
	if (err)
		fprintf(stderr, "mtc: %s: cannot read (or larger than %d)\n",
		        path, MTC_MAX_INPUT);
	return err ? -1 : 0;
}

/* Next line of d[*pos..n): its length without LF or CRLF; false at end. */
static bool
next_line(const unsigned char *d, size_t n, size_t *pos, size_t *start,
          size_t *len)
{
	const unsigned char *lf;

	if (*pos >= n)
		return false;
	*start = *pos;
	lf = memchr(d + *pos, '\n', n - *pos);
	*len = lf ? (size_t)(lf - (d + *pos)) : n - *pos;
	*pos += *len + (lf != NULL);
	if (lf != NULL && *len > 0 && d[*start + *len - 1] == '\r')
		(*len)--;
	return true;
}

/* Length of the header name if the line starts a header, else 0. */
static size_t
header_name(const unsigned char *l, size_t len, size_t *colon)
{
	size_t i = 0, name;

	while (i < len && l[i] > ' ' && l[i] < 0x7f && l[i] != ':')
		i++;
	name = i;
	while (i < len && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (name == 0 || i >= len || l[i] != ':')
		return 0;
	*colon = i;
	return name;
}

static void
add_header(struct message *m, const unsigned char *l, size_t len, size_t name,
           size_t colon)
{
	struct header *h;

	m->hdr = xrealloc(m->hdr, (m->nhdr + 1) * sizeof(*m->hdr));
	h = &m->hdr[m->nhdr++];
	h->name = xstrndup((const char *)l, name);
	h->value = xstrndup((const char *)l + colon + 1, len - colon - 1);
}

/* A folded line joins its header with LF, as Postfix sends it. */
static void
fold_header(struct header *h, const unsigned char *l, size_t len)
{
	size_t old = strlen(h->value);

	h->value = xrealloc(h->value, old + len + 2);
	h->value[old] = '\n';
	memcpy(h->value + old + 1, l, len);
	h->value[old + len + 1] = '\0';
}

/* Headers up to the empty line (or the first line that is no header). */
static size_t
parse_headers(const unsigned char *d, size_t n, struct message *m)
{
	size_t pos = 0, start, len, name, colon;

	while (next_line(d, n, &pos, &start, &len)) {
		if (len == 0)
			return pos;
		if ((d[start] == ' ' || d[start] == '\t') && m->nhdr > 0)
			fold_header(&m->hdr[m->nhdr - 1], d + start, len);
		else if ((name = header_name(d + start, len, &colon)) > 0)
			add_header(m, d + start, len, name, colon);
		else
			return start;
	}
	return pos;
}

/* The body from offset pos, every line ended with CRLF. */
static void
parse_body(const unsigned char *d, size_t n, size_t pos, struct message *m)
{
	struct bytes b = {0};
	size_t start, len;

	while (next_line(d, n, &pos, &start, &len)) {
		bytes_add(&b, d + start, len);
		bytes_add(&b, "\r\n", 2);
	}
	m->body = b.p;
	m->bodylen = b.len;
}

static int
load_message(const char *path, struct message *m)
{
	struct bytes b = {0};
	size_t body;

	memset(m, 0, sizeof(*m));
	if (read_input(path, &b) < 0) {
		bytes_free(&b);
		return -1;
	}
	body = parse_headers(b.p, b.len, m);
	parse_body(b.p, b.len, body, m);
	bytes_free(&b);
	return 0;
}

static void
message_free(struct message *m)
{
	size_t i;

	for (i = 0; i < m->nhdr; i++) {
		free(m->hdr[i].name);
		free(m->hdr[i].value);
	}
	free(m->hdr);
	free(m->body);
}

/* ---- command line ---- */

static void
usage(void)
{
	fputs("usage: mtc -p SOCKET [-uv] [-a IP] [-n NAME] [-P PORT] "
	      "[-H HELO] [-f FROM]\n"
	      "           [-r RCPT]... [-A USER] [-m STAGE:NAME=VALUE]... "
	      "[-q QID] [-c SIZE]\n"
	      "           [-N COUNT] [-x STAGE] [-X STAGE] [-t SECONDS] "
	      "MESSAGE_FILE\n",
	      stderr);
}

static bool
parse_num(const char *s, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	return *s >= '0' && *s <= '9' && *end == '\0' && errno == 0 &&
	       *v >= min && *v <= max;
}

/* A step name for -x and -X (connect to eom). */
static int
parse_step(const char *name)
{
	int i;

	for (i = STEP_CONNECT; i <= STEP_EOM; i++)
		if (strcmp(name, step_names[i]) == 0)
			return i;
	return -1;
}

/* -m STAGE:NAME=VALUE; the argument is split in place. */
static bool
parse_macro(char *arg, struct opts *o)
{
	char *colon = strchr(arg, ':'), *eq;
	int i;

	if (colon == NULL || o->nextra >= MTC_MAX_EXTRA)
		return false;
	*colon = '\0';
	eq = strchr(colon + 1, '=');
	if (eq == NULL || eq == colon + 1)
		return false;
	*eq = '\0';
	for (i = 0; i < MSTAGES; i++)
		if (strcmp(arg, mstages[i].name) == 0)
			break;
	if (i == MSTAGES)
		return false;
	o->extra[o->nextra].stage = i;
	o->extra[o->nextra].name = colon + 1;
	o->extra[o->nextra++].value = eq + 1;
	return true;
}

/* The options with numeric arguments. */
static bool
parse_numeric(int c, const char *arg, struct opts *o)
{
	unsigned long v;

	switch (c) {
	case 'P':
		if (!parse_num(arg, 0, 65535, &v))
			return false;
		o->port = (unsigned)v;
		return true;
	case 'c':
		if (!parse_num(arg, 1, 65535, &v))
			return false;
		o->chunk = v;
		return true;
	case 'N':
		o->count_set = true;
		return parse_num(arg, 1, 1000000, &o->count);
	default:
		return parse_num(arg, 1, 86400, &o->timeout);
	}
}

static bool
parse_opt(int c, char *arg, struct opts *o)
{
	switch (c) {
	case 'p':
		o->sock = arg;
		return true;
	case 'a':
		o->addr = arg;
		return true;
	case 'n':
		o->client_name = arg;
		return true;
	case 'u':
		o->unknown = true;
		return true;
	case 'H':
		o->helo = arg;
		return true;
	case 'f':
		o->from = arg;
		return true;
	case 'A':
		o->auth = arg;
		return true;
	case 'q':
		o->qid = arg;
		return true;
	case 'v':
		o->verbose = true;
		return true;
	case 'm':
		return parse_macro(arg, o);
	case 'x':
		return (o->abort_at = parse_step(arg)) >= 0;
	case 'X':
		return (o->vanish_at = parse_step(arg)) >= 0;
	case 'r':
		if (o->nrcpt >= MTC_MAX_RCPTS)
			return false;
		o->rcpt[o->nrcpt++] = arg;
		return true;
	case 'P':
	case 'c':
	case 'N':
	case 't':
		return parse_numeric(c, arg, o);
	default:
		return false;
	}
}

/*
 * The client's names: SMFIC_CONNECT carries "[IP]" when the client has no
 * name, as Postfix sends it, and {client_name} is then "unknown".
 */
static void
client_names(struct opts *o)
{
	size_t n = strlen(o->addr);

	if (o->client_name != NULL) {
		o->wire_name = xstrndup(o->client_name, strlen(o->client_name));
	} else if (o->unknown) {
		o->client_name = "localhost";
		o->wire_name = xstrndup("localhost", 9);
	} else {
		o->client_name = "unknown";
		o->wire_name = xrealloc(NULL, n + 3);
		snprintf(o->wire_name, n + 3, "[%s]", o->addr);
	}
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct opts defaults = {
	    .addr = "127.0.0.1",
	    .port = 40000,
	    .helo = "client.example",
	    .from = "sender@example.com",
	    .qid = "TESTQID",
	    .chunk = 65535,
	    .count = 1,
	    .abort_at = -1,
	    .vanish_at = -1,
	    .timeout = 30,
	};
	int c;

	*o = defaults;
	while ((c = getopt(argc, argv, "p:a:n:P:uH:f:r:A:m:q:c:N:x:X:t:v")) !=
	       -1)
		if (!parse_opt(c, optarg, o))
			return -1;
	if (o->sock == NULL || optind != argc - 1)
		return -1;
	o->file = argv[optind];
	if (o->nrcpt == 0)
		o->rcpt[o->nrcpt++] = "rcpt@example.net";
	client_names(o);
	return 0;
}

/* Print the error that ended the session; the exit status. */
static int
report(const struct session *s)
{
	switch (s->err) {
	case ERR_NONE:
		return 0;
	case ERR_CLOSED:
		printf("error connection closed at %s\n", step_names[s->step]);
		return 2;
	case ERR_TIMEOUT:
		puts("timeout");
		return 3;
	default:
		fprintf(stderr, "mtc: %s\n", s->errmsg);
		return 2;
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct message m;
	struct session s;
	int status, i;

	if (parse_args(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	if (load_message(o.file, &m) < 0) {
		free(o.wire_name);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&s, 0, sizeof(s));
	s.o = &o;
	s.msg = &m;
	s.fd = -1;
	s.deadline = now_ms() + (int64_t)o.timeout * 1000;
	run_session(&s);
	status = report(&s);
	if (s.fd >= 0)
		close(s.fd);
	for (i = 0; i < MSTAGES; i++)
		free(s.symlist[i]);
	free(s.buf);
	message_free(&m);
	free(o.wire_name);
	return status;
}
