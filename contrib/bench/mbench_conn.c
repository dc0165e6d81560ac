/*
 * mbench_conn: one MTA session over a chain of milters (see mbench.h).
 *
 * Each message goes through the milters of the chain one after another,
 * MAIL FROM to end of message, and milter i+1 sees the headers milter i
 * inserted, added, changed or deleted, as Postfix's cleanup presents a
 * message to its milters in turn.  After each message every milter gets
 * SMFIC_ABORT (Postfix's mail_reset), at the end SMFIC_QUIT.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libmilter/mfdef.h>

#include "mbench.h"

static void next_message(struct conn *c);

/* Set a macro in the list, replacing one of the same name. */
static void
put(const char **name, size_t *nlen, const char **value, size_t *n,
    const char *nm, const char *v)
{
	size_t i, l = strlen(nm);

	for (i = 0; i < *n; i++)
		if (milwire_same_macro(nm, l, name[i], nlen[i])) {
			value[i] = v;
			return;
		}
	if (*n < MB_MAX_MACROS) {
		name[*n] = nm;
		nlen[*n] = l;
		value[(*n)++] = v;
	}
}

void
conn_macros(const struct conn *c, int stage, const char **name, size_t *nlen,
            const char **value, size_t *n)
{
	const struct mb_opts *o = &c->b->o;
	size_t i;

	if (stage == MILWIRE_MS_CONNECT) {
		put(name, nlen, value, n, "j", "mx.bench.example");
		put(name, nlen, value, n, "{daemon_name}", "smtpd");
		put(name, nlen, value, n, "{client_addr}", o->addr);
		put(name, nlen, value, n, "{client_name}",
		    o->client_name ? o->client_name : "unknown");
	} else if (stage == MILWIRE_MS_ENVFROM) {
		put(name, nlen, value, n, "i", c->qid);
		if (o->auth != NULL) {
			put(name, nlen, value, n, "{auth_type}", "PLAIN");
			put(name, nlen, value, n, "{auth_authen}", o->auth);
		}
		put(name, nlen, value, n, "{mail_addr}", o->from);
	} else if (stage == MILWIRE_MS_ENVRCPT) {
		put(name, nlen, value, n, "{rcpt_addr}", o->rcpt);
	} else if (stage == MILWIRE_MS_EOM) {
		put(name, nlen, value, n, "i", c->qid);
	}
	for (i = 0; i < o->nextra; i++)
		if (o->extra[i].stage == stage)
			put(name, nlen, value, n, o->extra[i].name,
			    o->extra[i].value);
}

static void
free_headers(struct conn *c)
{
	size_t i;

	for (i = 0; i < c->nhdr; i++)
		free(c->hdr[i].own);
	c->nhdr = 0;
}

static void
close_all(struct conn *c)
{
	struct bench *b = c->b;
	size_t i;

	for (i = 0; i < b->o.nsock; i++)
		sess_close(&c->sess[i]);
	free_headers(c);
	free(c->reply);
	c->reply = NULL;
	if (c->msgs == 0)
		b->pending--;
	if (c->held) {
		c->held = false;
		b->nheld--;
	}
	c->open = false;
	b->open--;
	b->idle[b->nidle++] = c->slot;
}

void
conn_start(struct bench *b, unsigned slot)
{
	struct conn *c = &b->conns[slot];
	size_t i;

	c->b = b;
	c->slot = slot;
	c->open = true;
	c->held = false;
	c->msgs = 0;
	c->t0 = mb_now();
	b->pending++;
	if (++b->open > b->max_open)
		b->max_open = b->open;
	for (i = 0; i < b->o.nsock; i++) {
		c->sess[i].c = c;
		c->sess[i].idx = (int)i;
		c->sess[i].fd = -1;
	}
	for (i = 0; i < b->o.nsock; i++)
		if (sess_open(&c->sess[i], (struct sockaddr *)&b->sa[i],
		              b->salen[i]) < 0) {
			conn_fail(c, "cannot connect");
			return;
		}
}

void
conn_fail(struct conn *c, const char *why)
{
	struct bench *b = c->b;

	if (!c->open)
		return;
	mb_error(b, "connection %u, message %lu: %s", c->slot, c->seq, why);
	if (b->o.hold && !b->released)
		b->hold_failed++;
	close_all(c);
	if (b->o.hold && !b->released && b->nheld + b->hold_failed >= b->o.conc)
		mb_release(b);
}

/* The normal end: QUIT to every milter, then close. */
static void
finish(struct conn *c)
{
	size_t i;

	for (i = 0; i < c->b->o.nsock; i++)
		if (c->sess[i].fd >= 0)
			(void)sess_quit(&c->sess[i]);
	if (c->open)
		close_all(c);
}

void
conn_sess_ready(struct conn *c)
{
	struct bench *b = c->b;
	size_t i;

	for (i = 0; i < b->o.nsock; i++)
		if (c->sess[i].step != ST_READY || c->sess[i].asked != ST_FREE)
			return;
	if (b->o.hold && !b->released) {
		if (!c->held) {
			c->held = true;
			if (++b->nheld > b->max_held)
				b->max_held = b->nheld;
			if (b->nheld + b->hold_failed >= b->o.conc)
				mb_release(b);
		}
		return;
	}
	next_message(c);
}

void
mb_release(struct bench *b)
{
	unsigned i;

	b->released = true;
	for (i = 0; i < b->o.conc; i++)
		if (b->conns[i].open && b->conns[i].held) {
			b->conns[i].held = false;
			b->nheld--;
			/* Latency counts from the release, not the wait. */
			b->conns[i].t0 = mb_now();
			next_message(&b->conns[i]);
		}
}

/* The headers of the corpus message, as the first milter sees them. */
static void
load_headers(struct conn *c)
{
	const struct milwire_msg *m = &c->b->corpus[c->cur].m;
	size_t i;

	free_headers(c);
	if (m->nhdr + 16 > c->hdrcap) {
		c->hdrcap = m->nhdr + 16;
		c->hdr = realloc(c->hdr, c->hdrcap * sizeof(*c->hdr));
		if (c->hdr == NULL)
			mb_oom();
	}
	for (i = 0; i < m->nhdr; i++) {
		c->hdr[i].name = m->hdr[i].name;
		c->hdr[i].value = m->hdr[i].value;
		c->hdr[i].own = NULL;
	}
	c->nhdr = m->nhdr;
}

static void
next_message(struct conn *c)
{
	struct bench *b = c->b;

	if (c->msgs >= b->o.per_conn || !mb_budget(b)) {
		finish(c);
		return;
	}
	if (c->msgs++ == 0)
		b->pending--;
	else
		c->t0 = mb_now();
	c->seq = b->begun++;
	c->cur = c->seq % b->ncorpus;
	snprintf(c->qid, sizeof(c->qid), "4B%09lX", c->seq);
	load_headers(c);
	c->mods.len = 0;
	free(c->reply);
	c->reply = NULL;
	(void)sess_begin_message(&c->sess[0]);
}

/* Escaped modification lines, each NUL-terminated. */
static void
mod_line(struct conn *c, const char *a, const char *b, size_t blen,
         const char *cc, const char *d, size_t dlen)
{
	if (milwire_buf_add(&c->mods, a, strlen(a)) < 0 ||
	    milwire_escape(&c->mods, b, blen) < 0 ||
	    milwire_buf_add(&c->mods, cc, strlen(cc)) < 0 ||
	    milwire_escape(&c->mods, d, dlen) < 0 ||
	    milwire_buf_add(&c->mods, "", 1) < 0)
		mb_oom();
}

/* A header the milter added, stored as the file would hold it. */
static void
new_header(struct mb_hdr *h, const char *name, size_t nlen, const char *v,
           size_t vlen)
{
	char *p = malloc(nlen + vlen + 3);

	if (p == NULL)
		mb_oom();
	memcpy(p, name, nlen);
	p[nlen] = '\0';
	p[nlen + 1] = ' ';
	memcpy(p + nlen + 2, v, vlen);
	p[nlen + 2 + vlen] = '\0';
	h->own = p;
	h->name = p;
	h->value = p + nlen + 1;
}

static void
insert_header(struct conn *c, size_t at, const char *name, size_t nlen,
              const char *v, size_t vlen)
{
	if (c->nhdr == c->hdrcap) {
		c->hdrcap = c->hdrcap * 2 + 16;
		c->hdr = realloc(c->hdr, c->hdrcap * sizeof(*c->hdr));
		if (c->hdr == NULL)
			mb_oom();
	}
	if (at > c->nhdr)
		at = c->nhdr;
	memmove(c->hdr + at + 1, c->hdr + at, (c->nhdr - at) * sizeof(*c->hdr));
	c->nhdr++;
	new_header(&c->hdr[at], name, nlen, v, vlen);
}

/* SMFIR_CHGHEADER: the idx-th field of that name (from 1). */
static void
change_header(struct conn *c, uint32_t idx, const char *name, const char *v,
              size_t vlen)
{
	size_t i;
	uint32_t k = 0;

	for (i = 0; i < c->nhdr; i++) {
		if (strcasecmp(c->hdr[i].name, name) != 0 || ++k != idx)
			continue;
		free(c->hdr[i].own);
		if (vlen == 0) {
			memmove(c->hdr + i, c->hdr + i + 1,
			        (c->nhdr - i - 1) * sizeof(*c->hdr));
			c->nhdr--;
		} else {
			new_header(&c->hdr[i], name, strlen(name), v, vlen);
		}
		return;
	}
}

static int
mod_header(struct conn *c, const struct sess *s, int cmd,
           struct milwire_cursor *cur)
{
	const char *name, *v;
	size_t nlen, vlen;
	uint32_t idx = 0;
	char num[32];

	if ((cmd != SMFIR_ADDHEADER && !milwire_u32(cur, &idx)) ||
	    !milwire_str(cur, &name, &nlen) || !milwire_str(cur, &v, &vlen) ||
	    cur->left != 0 || nlen == 0)
		return -1;
	/* With SMFIP_HDR_LEADSPC the milter sends the space itself. */
	if ((s->pflags & SMFIP_HDR_LEADSPC) && vlen > 0 && v[0] == ' ') {
		v++;
		vlen--;
	}
	snprintf(num, sizeof(num), " %lu ", (unsigned long)idx);
	if (cmd == SMFIR_CHGHEADER) {
		mod_line(c, "chgheader ", name, nlen, num,
		         vlen ? v : "(delete)", vlen ? vlen : 8);
		change_header(c, idx, name, v, vlen);
	} else if (cmd == SMFIR_INSHEADER) {
		snprintf(num, sizeof(num), "insheader %lu ",
		         (unsigned long)idx);
		mod_line(c, num, name, nlen, ": ", v, vlen);
		insert_header(c, idx, name, nlen, v, vlen);
	} else {
		mod_line(c, "addheader ", name, nlen, ": ", v, vlen);
		insert_header(c, c->nhdr, name, nlen, v, vlen);
	}
	return 0;
}

int
conn_mod(struct conn *c, struct sess *s, int cmd, const unsigned char *d,
         size_t len)
{
	struct milwire_cursor cur = {d, len};
	const char *str;
	size_t n;

	if (cmd == SMFIR_ADDHEADER || cmd == SMFIR_INSHEADER ||
	    cmd == SMFIR_CHGHEADER)
		return mod_header(c, s, cmd, &cur);
	if (cmd == SMFIR_REPLBODY) {
		mod_line(c, "replbody", "", 0, "", "", 0);
		return 0;
	}
	if (!milwire_str(&cur, &str, &n))
		return -1;
	mod_line(c, cmd == SMFIR_QUARANTINE ? "quarantine " : "envelope ", str,
	         n, "", "", 0);
	return 0;
}

/* Does every -x pattern match one of the modification lines? */
static const char *
unmatched(const struct conn *c)
{
	const struct mb_opts *o = &c->b->o;
	const char *line, *end = (const char *)c->mods.p + c->mods.len;
	size_t i;

	for (i = 0; i < o->npat; i++) {
		for (line = (const char *)c->mods.p; line < end;
		     line += strlen(line) + 1)
			if (fnmatch(o->pat[i], line, 0) == 0)
				break;
		if (line >= end)
			return o->pat[i];
	}
	return NULL;
}

static const char *
outcome(enum milwire_verdict v)
{
	return v == MILWIRE_CONTINUE || v == MILWIRE_SKIP
	           ? "accept"
	           : milwire_verdict_name(v);
}

static void
check(struct conn *c, enum milwire_verdict v)
{
	struct bench *b = c->b;
	const char *miss = NULL, *got = outcome(v);

	if (strcmp(got, b->o.want) == 0 && (miss = unmatched(c)) == NULL)
		return;
	if (b->verdict_errors++ == 0)
		snprintf(b->first_verdict_error, sizeof(b->first_verdict_error),
		         "%s: outcome %s%s%s%s%s", b->corpus[c->cur].path, got,
		         c->reply ? " " : "", c->reply ? c->reply : "",
		         miss ? ", no modification matches " : "",
		         miss ? miss : "");
}

/* -o: one line per message: seq, file, outcome, latency, changes. */
static void
log_message(struct conn *c, enum milwire_verdict v, int64_t lat)
{
	FILE *f = c->b->log;
	size_t i;

	fprintf(f, "%lu\t%s\t%s\t%lld\t", c->seq, c->b->corpus[c->cur].path,
	        outcome(v), (long long)(lat / 1000));
	for (i = 0; i < c->mods.len; i++)
		fputc(c->mods.p[i] ? c->mods.p[i] : '\t', f);
	fputc('\n', f);
}

/* -s: the message as the next hop would get it (CRLF). */
static void
save_message(struct conn *c)
{
	struct bench *b = c->b;
	const struct milwire_msg *m = &b->corpus[c->cur].m;
	char path[4096];
	const char *p;
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%06lu.eml", b->o.savedir, c->seq);
	if ((f = fopen(path, "wb")) == NULL) {
		mb_error(b, "%s: cannot write", path);
		return;
	}
	for (i = 0; i < c->nhdr; i++) {
		fprintf(f, "%s:", c->hdr[i].name);
		for (p = c->hdr[i].value; *p; p++)
			if (*p == '\n')
				fputs("\r\n", f);
			else
				fputc(*p, f);
		fputs("\r\n", f);
	}
	fputs("\r\n", f);
	fwrite(m->body, 1, m->bodylen, f);
	fclose(f);
	b->saved++;
}

static void
end_message(struct conn *c, enum milwire_verdict v)
{
	struct bench *b = c->b;
	int64_t now = mb_now();
	size_t i;

	if (b->nlat == b->latcap) {
		b->latcap = b->latcap * 2 + 1024;
		b->lat = realloc(b->lat, b->latcap * sizeof(*b->lat));
		if (b->lat == NULL)
			mb_oom();
	}
	b->lat[b->nlat++] = now - c->t0;
	b->done++;
	b->last_done = now;
	check(c, v);
	if (b->log)
		log_message(c, v, now - c->t0);
	if (b->o.savedir && b->saved < b->o.nsave)
		save_message(c);
	for (i = 0; i < b->o.nsock; i++)
		if (sess_abort(&c->sess[i]) < 0)
			return;
	next_message(c);
}

void
conn_sess_done(struct conn *c, int idx, enum milwire_verdict v,
               const char *text)
{
	if (text[0] != '\0') {
		free(c->reply);
		c->reply = strdup(text);
	}
	if ((v == MILWIRE_CONTINUE || v == MILWIRE_ACCEPT ||
	     v == MILWIRE_SKIP) &&
	    (size_t)idx + 1 < c->b->o.nsock) {
		(void)sess_begin_message(&c->sess[idx + 1]);
		return;
	}
	end_message(c, v);
}
