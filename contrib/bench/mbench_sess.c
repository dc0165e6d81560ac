/*
 * mbench_sess: the milter protocol on one connection, as an event-driven
 * state machine (see mbench.h).  It follows Postfix's milter8 client the
 * way t/lib/README.mtc describes: negotiation offers version 6, actions
 * 0x1ff and steps 0x1fffff; skipped steps are not sent and no-reply steps
 * are not waited for; the macros of connect, helo, envfrom, envrcpt and
 * data go out even when the step itself is skipped; a milter's own macro
 * lists (setsymlist) are honoured; body chunks are 65535 bytes.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#include "mbench.h"

#define IN_MIN 65536 /* free space for one recv() */

static int advance(struct sess *s);

static int
fail(struct sess *s, const char *why)
{
	conn_fail(s->c, why);
	return -1;
}

int
sess_open(struct sess *s, const struct sockaddr *sa, socklen_t salen)
{
	s->fd = socket(sa->sa_family,
	               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -1;
	/* No-reply commands would wait for delayed ACKs under Nagle; an
	 * MTA writes them at once. */
	if (sa->sa_family != AF_UNIX)
		(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1},
		                 sizeof(int));
	s->step = ST_DIAL;
	s->asked = ST_FREE;
	s->outoff = 0;
	s->out.len = 0;
	s->in.len = 0;
	s->pollout = true;
	s->last_io = mb_now();
	if (connect(s->fd, sa, salen) < 0 && errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	if (mb_watch(s, true) < 0) {
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	return 0;
}

void
sess_close(struct sess *s)
{
	size_t i;

	if (s->fd >= 0)
		close(s->fd); /* also leaves the epoll set */
	s->fd = -1;
	s->step = ST_FREE;
	s->asked = ST_FREE;
	for (i = 0; i < MB_MSTAGES; i++) {
		free(s->symlist[i]);
		s->symlist[i] = NULL;
	}
}

/* Write what is queued; poll for POLLOUT while some is left. */
static int
flush(struct sess *s)
{
	ssize_t w;

	while (s->outoff < s->out.len) {
		w = send(s->fd, s->out.p + s->outoff, s->out.len - s->outoff,
		         MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0)
			return fail(s, errno == EPIPE || errno == ECONNRESET
			                   ? "connection closed"
			                   : "write error");
		s->outoff += (size_t)w;
		s->last_io = mb_now();
	}
	if (s->outoff == s->out.len)
		s->out.len = s->outoff = 0;
	if ((s->out.len > 0) != s->pollout) {
		s->pollout = s->out.len > 0;
		if (mb_watch(s, s->pollout) < 0)
			return fail(s, "epoll_ctl failed");
	}
	return 0;
}

static void
must(int r)
{
	if (r < 0)
		mb_oom();
}

/* Which macros to send at a stage: the milter's list, or the defaults. */
static void
stage_macros(const struct sess *s, int st, const char **name, size_t *nlen,
             const char **value, size_t *n)
{
	const char *kn[MB_MAX_MACROS], *kv[MB_MAX_MACROS], *p;
	size_t kl[MB_MAX_MACROS], k = 0, i, len;
	int t;

	*n = 0;
	if (s->symlist[st] == NULL) {
		conn_macros(s->c, st, name, nlen, value, n);
		return;
	}
	for (t = 0; t < MB_MSTAGES; t++)
		if (milwire_stages[t].rank <= milwire_stages[st].rank)
			conn_macros(s->c, t, kn, kl, kv, &k);
	for (p = s->symlist[st]; *p != '\0'; p += strspn(p, " ,\t")) {
		len = strcspn(p, " ,\t");
		for (i = 0; i < k && *n < MB_MAX_MACROS; i++)
			if (milwire_same_macro(p, len, kn[i], kl[i])) {
				name[*n] = p;
				nlen[*n] = len;
				value[(*n)++] = kv[i];
				break;
			}
		p += len;
	}
}

static void
send_macros(struct sess *s, int st)
{
	const char *name[MB_MAX_MACROS], *value[MB_MAX_MACROS];
	size_t nlen[MB_MAX_MACROS], n;

	stage_macros(s, st, name, nlen, value, &n);
	if (n > 0 || s->symlist[st] != NULL)
		must(milwire_macros(&s->out, milwire_stages[st].cmd, name, nlen,
		                    value, n));
}

/* Wait for the answer to the command just queued. */
static int
ask(struct sess *s, enum mb_step st)
{
	s->asked = st;
	return flush(s);
}

static int
connection_steps(struct sess *s, const struct mb_opts *o)
{
	if (s->step == ST_CONNECT) {
		send_macros(s, MILWIRE_MS_CONNECT);
		s->step = ST_HELO;
		if (s->pflags & SMFIP_NOCONNECT)
			return 0;
		must(milwire_connect(&s->out, o->wire_name, o->addr, 40000));
		return s->pflags & SMFIP_NR_CONN ? 0 : 1;
	}
	send_macros(s, MILWIRE_MS_HELO);
	s->step = ST_READY;
	if (s->pflags & SMFIP_NOHELO)
		return 0;
	must(milwire_cmd(&s->out, SMFIC_HELO, o->helo, strlen(o->helo) + 1));
	return s->pflags & SMFIP_NR_HELO ? 0 : 1;
}

/* MAIL, RCPT, DATA: queue one; 1 when it needs an answer. */
static int
envelope_step(struct sess *s, const struct mb_opts *o)
{
	static const struct {
		int stage, cmd;
		uint32_t skip, noreply;
		enum mb_step next;
	} t[] = {
	    {MILWIRE_MS_ENVFROM, SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL,
	     ST_RCPT},
	    {MILWIRE_MS_ENVRCPT, SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT,
	     ST_DATA},
	    {MILWIRE_MS_DATA, SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, ST_HDR},
	};
	int i = s->step - ST_MAIL;

	send_macros(s, t[i].stage);
	s->step = t[i].next;
	s->hdr_i = 0;
	if (s->pflags & t[i].skip)
		return 0;
	if (t[i].cmd == SMFIC_DATA)
		must(milwire_cmd(&s->out, SMFIC_DATA, NULL, 0));
	else
		must(milwire_addr(&s->out, t[i].cmd,
		                  t[i].cmd == SMFIC_MAIL ? o->from : o->rcpt));
	return s->pflags & t[i].noreply ? 0 : 1;
}

/* Headers, end of headers, body chunks, end of message. */
static int
content_step(struct sess *s)
{
	const struct conn *c = s->c;
	const struct milwire_msg *m = &c->b->corpus[c->cur].m;
	size_t n;

	switch (s->step) {
	case ST_HDR:
		if ((s->pflags & SMFIP_NOHDRS) || s->hdr_i >= c->nhdr) {
			s->step = ST_EOH;
			return 0;
		}
		must(milwire_header(&s->out, c->hdr[s->hdr_i].name,
		                    c->hdr[s->hdr_i].value, s->pflags));
		s->hdr_i++;
		return s->pflags & SMFIP_NR_HDR ? 0 : 1;
	case ST_EOH:
		s->step = ST_BODY;
		s->body_off = 0;
		if (s->pflags & SMFIP_NOEOH)
			return 0;
		send_macros(s, MILWIRE_MS_EOH);
		must(milwire_cmd(&s->out, SMFIC_EOH, NULL, 0));
		return s->pflags & SMFIP_NR_EOH ? 0 : 1;
	case ST_BODY:
		if ((s->pflags & SMFIP_NOBODY) || s->body_off >= m->bodylen) {
			s->step = ST_EOM;
			return 0;
		}
		n = m->bodylen - s->body_off;
		if (n > MILWIRE_CHUNK)
			n = MILWIRE_CHUNK;
		must(
		    milwire_cmd(&s->out, SMFIC_BODY, m->body + s->body_off, n));
		s->body_off += n;
		return s->pflags & SMFIP_NR_BODY ? 0 : 1;
	default: /* ST_EOM */
		send_macros(s, MILWIRE_MS_EOM);
		must(milwire_cmd(&s->out, SMFIC_BODYEOB, NULL, 0));
		s->step = ST_DONE;
		return 1;
	}
}

/* Queue commands until one needs an answer, then write them. */
static int
advance(struct sess *s)
{
	const struct mb_opts *o = &s->c->b->o;
	enum mb_step st;
	int r;

	for (;;) {
		st = s->step;
		if (st == ST_CONNECT || st == ST_HELO)
			r = connection_steps(s, o);
		else if (st >= ST_MAIL && st <= ST_DATA)
			r = envelope_step(s, o);
		else if (st >= ST_HDR && st <= ST_EOM)
			r = content_step(s);
		else
			break;
		if (r == 1)
			return ask(s, st);
	}
	if (flush(s) < 0)
		return -1;
	if (s->step == ST_READY)
		conn_sess_ready(s->c);
	return 0;
}

int
sess_begin_message(struct sess *s)
{
	s->step = ST_MAIL;
	return advance(s);
}

int
sess_abort(struct sess *s)
{
	s->step = ST_READY;
	s->asked = ST_FREE;
	must(milwire_cmd(&s->out, SMFIC_ABORT, NULL, 0));
	return flush(s);
}

int
sess_quit(struct sess *s)
{
	must(milwire_cmd(&s->out, SMFIC_QUIT, NULL, 0));
	return flush(s);
}

/* The milter's OPTNEG answer and the macro lists after it. */
static int
on_optneg(struct sess *s, int cmd, const unsigned char *d, size_t len)
{
	struct milwire_cursor c = {d, len};
	uint32_t version, st;
	const char *list;
	size_t n;

	if (cmd != SMFIC_OPTNEG || !milwire_u32(&c, &version) ||
	    !milwire_u32(&c, &s->actions) || !milwire_u32(&c, &s->pflags) ||
	    version < 2 || version > MILWIRE_VERSION)
		return fail(s, "bad answer to negotiation");
	while (c.left > 0) {
		if (!milwire_u32(&c, &st) || !milwire_str(&c, &list, &n))
			return fail(s, "malformed macro list");
		if (st >= MB_MSTAGES)
			continue;
		free(s->symlist[st]);
		s->symlist[st] = strndup(list, n);
		if (s->symlist[st] == NULL)
			mb_oom();
	}
	s->step = ST_CONNECT;
	return advance(s);
}

/* A decision on the step asked. */
static int
on_decision(struct sess *s, enum mb_step asked, enum milwire_verdict v,
            const unsigned char *d, size_t len)
{
	char text[1024];

	if (asked == ST_CONNECT || asked == ST_HELO) {
		if (v != MILWIRE_CONTINUE)
			return fail(s, "decision at connect or helo");
		return advance(s);
	}
	if (v == MILWIRE_CONTINUE && asked != ST_EOM)
		return advance(s);
	if (v == MILWIRE_SKIP && (asked == ST_HDR || asked == ST_BODY)) {
		s->step = asked == ST_HDR ? ST_EOH : ST_EOM;
		return advance(s);
	}
	text[0] = '\0';
	if (v == MILWIRE_REPLY)
		snprintf(text, sizeof(text), "%.*s",
		         (int)strnlen((const char *)d, len), (const char *)d);
	s->step = ST_DONE;
	conn_sess_done(s->c, s->idx, v, text);
	return 0;
}

static int
on_packet(struct sess *s, int cmd, const unsigned char *d, size_t len)
{
	enum milwire_verdict v = milwire_verdict(cmd);
	enum mb_step asked = s->asked;

	if (asked == ST_OPTNEG) {
		s->asked = ST_FREE;
		return on_optneg(s, cmd, d, len);
	}
	if (v == MILWIRE_NONE) {
		if (cmd == SMFIR_PROGRESS)
			return 0;
		if (asked == ST_EOM)
			return conn_mod(s->c, s, cmd, d, len) < 0
			           ? fail(s, "malformed modification")
			           : 0;
		return fail(s, "unexpected reply");
	}
	if (asked == ST_FREE)
		return fail(s, "reply to no command");
	s->asked = ST_FREE;
	return on_decision(s, asked, v, d, len);
}

/* The non-blocking connect finished: offer the negotiation. */
static int
dialled(struct sess *s)
{
	int e = 0;
	socklen_t elen = sizeof(e);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0 || e != 0)
		return fail(s, "connect failed");
	s->step = ST_OPTNEG;
	must(milwire_optneg(&s->out, SMFI_CURR_ACTS, SMFI_CURR_PROT));
	return ask(s, ST_OPTNEG);
}

/* Read what arrived and act on every whole packet. */
static int
input(struct sess *s)
{
	const unsigned char *d;
	size_t len, used, off = 0;
	ssize_t r;
	int cmd, k;

	if (s->in.cap - s->in.len < IN_MIN) {
		must(milwire_buf_reserve(&s->in, IN_MIN));
	}
	r = recv(s->fd, s->in.p + s->in.len, s->in.cap - s->in.len, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0)
		return fail(s, "connection closed");
	s->in.len += (size_t)r;
	s->last_io = mb_now();
	while ((k = milwire_packet(s->in.p + off, s->in.len - off, &cmd, &d,
	                           &len, &used)) == 1) {
		off += used;
		if (on_packet(s, cmd, d, len) < 0 || s->fd < 0)
			return -1;
	}
	if (k < 0)
		return fail(s, "bad reply length");
	memmove(s->in.p, s->in.p + off, s->in.len - off);
	s->in.len -= off;
	return 0;
}

int
sess_io(struct sess *s, uint32_t events)
{
	if (s->step == ST_DIAL)
		return dialled(s);
	if ((events & EPOLLOUT) && flush(s) < 0)
		return -1;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		return input(s);
	return 0;
}
