/*
 * dns: asynchronous lookups on libunbound with deadlines and a TTL cache
 * (see dns.h; DESIGN.md sections 3 and 6).
 *
 * A query is an "entry": a heap object keyed by (lower-cased name, type)
 * that holds the answer once libunbound's callback has filled it.  Entries
 * are shared: the cache table, libunbound (while the query is in flight)
 * and every handle (struct dns_query) that started or joined it each keep
 * it alive; whoever drops the last reference frees it.  This is why a
 * query nobody waits for any more is simply left to finish: the callback
 * always finds its entry.  Queries are never cancelled (ub_cancel races
 * with the callback); the ones still in flight at dns_free() are freed
 * after ub_ctx_delete(), when no callback can run any more.
 *
 * One mutex guards the table, the in-flight list and the reference counts;
 * one condition variable (on the monotonic clock) wakes waiters when any
 * entry completes.  libunbound is never called with the mutex held.  An
 * entry's answer is written before "done" is set and never changes after,
 * so handles read it without the lock.
 *
 * Failures: dns_new() reports libunbound and system errors in the errbuf
 * and returns NULL; dns_start() returns NULL only when out of memory.
 * Every other failure is an answer: a bad name is DNS_PERMERROR, a failed
 * libunbound call, an allocation failure in the callback or an expired
 * deadline is DNS_TEMPERROR, so nothing ever turns into a pass.
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unbound.h>

#include "clock.h"
#include "dns.h"
#include "log.h"

#define BUCKETS     32768 /* power of two, above DNS_CACHE_MAX */
#define WHY_SIZE    64
#define SWEEP_MS    1000 /* a full table is swept at most this often */
#define RR_CLASS_IN 1

struct entry {
	struct entry *hnext;         /* hash chain */
	struct entry *fprev, *fnext; /* in-flight list */
	struct dns *d;
	unsigned refs; /* handles */
	bool in_table;
	bool in_flight;
	atomic_bool done;
	int64_t expires; /* clock_ms() time */
	uint32_t hash;
	uint16_t type;
	struct dns_answer ans;
	char why[WHY_SIZE];
	char name[]; /* lower-cased, no trailing dot */
};

struct dns_query {
	struct dns *d;
	struct entry *e;                /* NULL for a bad name */
	int64_t deadline;               /* clock_ms() time */
	const struct dns_answer *final; /* once the answer is fixed */
	struct dns_answer own;          /* timeout or bad name */
};

struct dns_counters {
	atomic_uint_fast64_t queries, cache_hits, joined, sent, timeouts,
	    temperrors, inflight;
};

struct dns {
	struct ub_ctx *ub;
	unsigned timeout_ms;
	pthread_t thread;
	bool thread_running;
	int stop[2]; /* self-pipe: a byte stops the thread */
	atomic_bool ub_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct entry **bucket;
	size_t nentries;
	int64_t next_sweep;
	struct entry *flight; /* entries libunbound holds */
	struct dns_counters c;
};

/* The answer of a handle whose wait ended before its own deadline. */
static const struct dns_answer pending_answer = {
    .status = DNS_TEMPERROR,
    .why = "timeout",
};

#define COUNT(d, field)                                                        \
	atomic_fetch_add_explicit(&(d)->c.field, 1, memory_order_relaxed)

/* ---- names -------------------------------------------------------- */

/*
 * Copy name lower-cased without its trailing dot; -1 unless it is a
 * well-formed host-style name (RFC 1035 section 2.3.4: at most 253
 * characters of text, labels of 1..63).  Backslashes and control or
 * non-ASCII bytes are refused too: libunbound would read them as escapes,
 * and names in mail are A-labels.  A space is allowed: SPF macros can
 * put one in a name (RFC 7208 section 7.3, "%_"), and DNS labels may hold
 * any octet.
 */
static int
name_normalize(const char *in, char *out)
{
	size_t n = strnlen(in, 256), label = 0;

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c < ' ' || c >= 0x7f || c == '\\')
			return -1;
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (++label > 63)
			return -1;
		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
	}
	out[n] = '\0';
	return label == 0 ? -1 : 0;
}

/* FNV-1a over the name and the type. */
static uint32_t
key_hash(const char *name, uint16_t type)
{
	uint32_t h = 2166136261u;

	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ (type & 0xff)) * 16777619u;
	return (h ^ (type >> 8)) * 16777619u;
}

/* ---- entries ------------------------------------------------------ */

/* A new entry for (name, type), referenced by nobody yet. */
static struct entry *
entry_new(struct dns *d, const char *name, uint16_t type)
{
	size_t n = strlen(name) + 1;
	struct entry *e = calloc(1, sizeof(*e) + n);

	if (e == NULL)
		return NULL;
	memcpy(e->name, name, n);
	e->d = d;
	e->type = type;
	e->hash = key_hash(name, type);
	e->ans.rrtype = type;
	e->ans.why = e->why;
	atomic_init(&e->done, false);
	return e;
}

/* Release an entry and its rdata (NULL is allowed). */
static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	free((void *)e->ans.rr);
	free(e);
}

/* Whether nothing refers to e any more (call with the lock held). */
static bool
entry_unused(const struct entry *e)
{
	return e->refs == 0 && !e->in_table && !e->in_flight;
}

/* Free a chain of dead entries linked through hnext (without the lock). */
static void
free_dead(struct entry *dead)
{
	while (dead != NULL) {
		struct entry *next = dead->hnext;

		entry_free(dead);
		dead = next;
	}
}

/* ---- the cache table (all with the lock held) ---------------------- */

/* Unlink *pp from its chain; queue it on *dead if nothing else holds it. */
static void
table_unlink(struct dns *d, struct entry **pp, struct entry **dead)
{
	struct entry *e = *pp;

	*pp = e->hnext;
	e->hnext = NULL;
	e->in_table = false;
	d->nentries--;
	if (entry_unused(e)) {
		e->hnext = *dead;
		*dead = e;
	}
}

/* In flight, or answered and not yet expired. */
static bool
entry_live(const struct entry *e, int64_t now)
{
	return !atomic_load(&e->done) || e->expires > now;
}

/* An entry for (name, type) that is in flight or fresh; drops a stale one. */
static struct entry *
table_find(struct dns *d, const char *name, uint16_t type, uint32_t hash,
           int64_t now, struct entry **dead)
{
	struct entry **pp = &d->bucket[hash & (BUCKETS - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		struct entry *e = *pp;

		if (e->hash != hash || e->type != type ||
		    strcmp(e->name, name) != 0)
			continue;
		if (entry_live(e, now))
			return e;
		table_unlink(d, pp, dead);
		return NULL;
	}
	return NULL;
}

/* Drop every expired entry, at most once per SWEEP_MS. */
static void
table_sweep(struct dns *d, int64_t now, struct entry **dead)
{
	if (now < d->next_sweep)
		return;
	d->next_sweep = now + SWEEP_MS;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct entry **pp = &d->bucket[i];

		while (*pp != NULL) {
			if (entry_live(*pp, now))
				pp = &(*pp)->hnext;
			else
				table_unlink(d, pp, dead);
		}
	}
}

/* Add e unless the table stays full after a sweep. */
static void
table_insert(struct dns *d, struct entry *e, int64_t now, struct entry **dead)
{
	struct entry **head;

	if (d->nentries >= DNS_CACHE_MAX)
		table_sweep(d, now, dead);
	if (d->nentries >= DNS_CACHE_MAX)
		return;
	head = &d->bucket[e->hash & (BUCKETS - 1)];
	e->hnext = *head;
	*head = e;
	e->in_table = true;
	d->nentries++;
}

/* Remove e from the table, if it is there. */
static void
table_remove(struct dns *d, struct entry *e, struct entry **dead)
{
	struct entry **pp = &d->bucket[e->hash & (BUCKETS - 1)];

	for (; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == e) {
			table_unlink(d, pp, dead);
			return;
		}
	}
}

/* ---- the in-flight list (lock held) -------------------------------- */

/* Put e on the list of queries libunbound holds. */
static void
flight_add(struct dns *d, struct entry *e)
{
	e->in_flight = true;
	e->fprev = NULL;
	e->fnext = d->flight;
	if (d->flight != NULL)
		d->flight->fprev = e;
	d->flight = e;
}

/* Take e off that list: its callback ran, or libunbound is gone. */
static void
flight_remove(struct dns *d, struct entry *e)
{
	if (e->fprev != NULL)
		e->fprev->fnext = e->fnext;
	else
		d->flight = e->fnext;
	if (e->fnext != NULL)
		e->fnext->fprev = e->fprev;
	e->fprev = e->fnext = NULL;
	e->in_flight = false;
}

/* ---- answers ------------------------------------------------------ */

/* Record the short reason of an error answer. */
static void
set_why(struct entry *e, const char *why)
{
	snprintf(e->why, sizeof(e->why), "%s", why);
}

/* Map libunbound's outcome to a status, with a reason for the errors. */
static enum dns_status
result_status(struct entry *e, int err, const struct ub_result *r)
{
	if (err != 0) {
		set_why(e, ub_strerror(err));
		return DNS_TEMPERROR;
	}
	if (r->bogus) {
		set_why(e, "bogus");
		return DNS_TEMPERROR;
	}
	if (r->nxdomain || r->rcode == 3)
		return DNS_NXDOMAIN;
	switch (r->rcode) {
	case 0:
		return r->havedata ? DNS_OK : DNS_NODATA;
	case 1:
		set_why(e, "FORMERR");
		return DNS_PERMERROR;
	case 2:
		set_why(e, "SERVFAIL");
		return DNS_TEMPERROR;
	case 4:
		set_why(e, "NOTIMP");
		return DNS_PERMERROR;
	case 5:
		set_why(e, "REFUSED");
		return DNS_TEMPERROR;
	default:
		snprintf(e->why, sizeof(e->why), "rcode %d", r->rcode);
		return DNS_TEMPERROR;
	}
}

/* Copy the rdata items into one block owned by the entry; -1 if no memory. */
static int
copy_rdata(struct entry *e, const struct ub_result *r)
{
	size_t n = 0, total = 0;
	struct dns_rr *rr;
	unsigned char *p;

	while (r->data[n] != NULL)
		total += (size_t)r->len[n++];
	if (n == 0)
		return 0;
	if ((rr = malloc(n * sizeof(*rr) + total)) == NULL)
		return -1;
	p = (unsigned char *)(rr + n);
	for (size_t i = 0; i < n; i++) {
		memcpy(p, r->data[i], (size_t)r->len[i]);
		rr[i].data = p;
		rr[i].len = (size_t)r->len[i];
		p += rr[i].len;
	}
	e->ans.rr = rr;
	e->ans.nrr = n;
	return 0;
}

/* The TTL the answer is cached for. */
static uint32_t
cache_ttl(enum dns_status st, int ttl)
{
	/* Negative answers: the SOA's TTL when there was one, and never more
	 * than DNS_NEG_TTL (an absent record may appear any time). */
	if (st != DNS_OK && (ttl <= 0 || ttl > DNS_NEG_TTL))
		ttl = DNS_NEG_TTL;
	if (ttl < 0)
		ttl = 0;
	return ttl > DNS_MAX_TTL ? DNS_MAX_TTL : (uint32_t)ttl;
}

/* Fill e's answer from a libunbound result (r may be NULL when err). */
static void
fill_answer(struct entry *e, int err, const struct ub_result *r)
{
	enum dns_status st = result_status(e, err, r);

	if (st == DNS_OK && copy_rdata(e, r) == -1) {
		set_why(e, "out of memory");
		st = DNS_TEMPERROR;
	}
	if (st == DNS_OK && e->ans.nrr == 0)
		st = DNS_NODATA;
	e->ans.status = st;
	if (st == DNS_OK || st == DNS_NXDOMAIN || st == DNS_NODATA) {
		e->ans.ttl = cache_ttl(st, r->ttl);
		e->ans.secure = r->secure != 0;
	}
}

/* Final answers are cached; temporary and permanent errors are not. */
static bool
cacheable(enum dns_status st)
{
	return st == DNS_OK || st == DNS_NXDOMAIN || st == DNS_NODATA;
}

/* Publish e's answer, wake the waiters, drop libunbound's reference. */
static void
entry_finish(struct entry *e)
{
	struct dns *d = e->d;
	struct entry *dead = NULL;

	if (e->ans.status == DNS_TEMPERROR)
		COUNT(d, temperrors);
	atomic_fetch_sub_explicit(&d->c.inflight, 1, memory_order_relaxed);
	pthread_mutex_lock(&d->lock);
	e->expires = clock_ms() + (int64_t)e->ans.ttl * 1000;
	atomic_store_explicit(&e->done, true, memory_order_release);
	if (!cacheable(e->ans.status))
		table_remove(d, e, &dead);
	flight_remove(d, e);
	if (entry_unused(e)) {
		e->hnext = dead;
		dead = e;
	}
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	free_dead(dead);
}

/* libunbound's callback, run by ub_process() on the resolver thread. */
static void
on_result(void *arg, int err, struct ub_result *r)
{
	struct entry *e = arg;

	fill_answer(e, err, r);
	ub_resolve_free(r);
	entry_finish(e);
}

/* ---- the resolver thread ------------------------------------------ */

/* Block every signal in the calling thread, keeping the old mask. */
static void
block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
}

/* Put back the mask block_signals() saved. */
static void
restore_signals(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Poll libunbound's pipe and the stop pipe; deliver answers. */
static void *
resolver_main(void *arg)
{
	struct dns *d = arg;
	struct pollfd pfd[2] = {
	    {.fd = ub_fd(d->ub), .events = POLLIN},
	    {.fd = d->stop[0], .events = POLLIN},
	};
	int rc;

	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_msg(LOG_ERR, "dns: poll: %s; resolver stops",
			        strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents != 0 && (rc = ub_process(d->ub)) != 0) {
			log_msg(LOG_ERR, "dns: ub_process: %s; resolver stops",
			        ub_strerror(rc));
			break;
		}
	}
	return NULL;
}

/* Start the thread with every signal blocked, so none is delivered there. */
static int
start_thread(struct dns *d, struct errbuf *eb)
{
	sigset_t old;
	int rc;

	block_signals(&old);
	rc = pthread_create(&d->thread, NULL, resolver_main, d);
	restore_signals(&old);
	if (rc != 0) {
		errbuf_set(eb, "dns: cannot start resolver thread: %s",
		           strerror(rc));
		return -1;
	}
	d->thread_running = true;
	return 0;
}

/* Wake the resolver thread through the self-pipe and join it. */
static void
stop_thread(struct dns *d)
{
	ssize_t n;

	if (!d->thread_running)
		return;
	do
		n = write(d->stop[1], "x", 1);
	while (n == -1 && errno == EINTR);
	pthread_join(d->thread, NULL);
	d->thread_running = false;
}

/* ---- setup -------------------------------------------------------- */

/* Whether a forwarder ("IP" or "IP@PORT") is a loopback address. */
static bool
is_loopback(const char *server)
{
	char ip[INET6_ADDRSTRLEN];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strcspn(server, "@");

	if (n >= sizeof(ip))
		return false;
	memcpy(ip, server, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, &a4) == 1)
		return ntohl(a4.s_addr) >> 24 == 127;
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return false;
	return IN6_IS_ADDR_LOOPBACK(&a6) ||
	       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
}

/* 0 when libunbound said so; else -1 with "dns: what arg: reason". */
static int
ub_check(int rc, struct errbuf *eb, const char *what, const char *arg)
{
	if (rc == 0)
		return 0;
	errbuf_set(eb, "dns: %s %s: %s", what, arg, ub_strerror(rc));
	return -1;
}

/*
 * Forwarders, or resolv.conf.  A forwarder on loopback needs
 * do-not-query-localhost off; resolv.conf often names one (a local
 * unbound, systemd-resolved) and libunbound falls back to 127.0.0.1 when
 * it names none, so that mode turns it off too: in forward-only mode the
 * forwarders are the only servers ever asked.
 */
static int
set_servers(struct dns *d, const struct dns_settings *s, struct errbuf *eb)
{
	bool local = s->nservers == 0;

	for (size_t i = 0; i < s->nservers; i++) {
		if (ub_check(ub_ctx_set_fwd(d->ub, s->servers[i]), eb, "server",
		             s->servers[i]) == -1)
			return -1;
		local = local || is_loopback(s->servers[i]);
	}
	if (s->nservers == 0 && ub_check(ub_ctx_resolvconf(d->ub, NULL), eb,
	                                 "reading", "/etc/resolv.conf") == -1)
		return -1;
	if (local &&
	    ub_check(ub_ctx_set_option(d->ub, "do-not-query-localhost:", "no"),
	             eb, "option", "do-not-query-localhost") == -1)
		return -1;
	return 0;
}

/* Create and configure the libunbound context (options before any query). */
static int
setup_ub(struct dns *d, const struct dns_settings *s, struct errbuf *eb)
{
	if ((d->ub = ub_ctx_create()) == NULL) {
		errbuf_set(eb, "dns: cannot create a libunbound context");
		return -1;
	}
	if (ub_check(ub_ctx_async(d->ub, 1), eb, "setting", "threads") == -1)
		return -1;
	if (s->unbound_config != NULL &&
	    ub_check(ub_ctx_config(d->ub, s->unbound_config), eb,
	             "unbound config", s->unbound_config) == -1)
		return -1;
	return set_servers(d, s, eb);
}

/* Lock, condition variable on the monotonic clock, table, stop pipe. */
static int
setup_sync(struct dns *d, struct errbuf *eb)
{
	pthread_condattr_t ca;
	int rc;

	d->stop[0] = d->stop[1] = -1;
	if ((d->bucket = calloc(BUCKETS, sizeof(*d->bucket))) == NULL) {
		errbuf_set(eb, "dns: out of memory");
		return -1;
	}
	if (pipe2(d->stop, O_CLOEXEC) == -1) {
		errbuf_set(eb, "dns: pipe: %s", strerror(errno));
		return -1;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc != 0) {
		pthread_mutex_destroy(&d->lock);
		errbuf_set(eb, "dns: pthread_cond_init: %s", strerror(rc));
		return -1;
	}
	return 0;
}

struct dns *
dns_new(const struct dns_settings *s, struct errbuf *eb)
{
	struct dns *d;

	assert(s != NULL && s->timeout_ms > 0);
	assert(s->nservers == 0 || s->servers != NULL);
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		errbuf_set(eb, "dns: out of memory");
		return NULL;
	}
	d->timeout_ms = s->timeout_ms;
	if (setup_sync(d, eb) == -1) {
		free(d->bucket);
		if (d->stop[0] != -1) {
			close(d->stop[0]);
			close(d->stop[1]);
		}
		free(d);
		return NULL;
	}
	if (setup_ub(d, s, eb) == -1 || start_thread(d, eb) == -1) {
		dns_free(d);
		return NULL;
	}
	return d;
}

/* Free every entry left once libunbound and the thread are gone. */
static void
free_entries(struct dns *d)
{
	struct entry *dead = NULL;

	while (d->flight != NULL) {
		struct entry *e = d->flight;

		assert(e->refs == 0);
		flight_remove(d, e);
		if (entry_unused(e)) {
			e->hnext = dead;
			dead = e;
		}
	}
	for (size_t i = 0; i < BUCKETS; i++)
		while (d->bucket[i] != NULL) {
			assert(d->bucket[i]->refs == 0);
			table_unlink(d, &d->bucket[i], &dead);
		}
	free_dead(dead);
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	stop_thread(d);
	if (d->ub != NULL)
		ub_ctx_delete(d->ub);
	free_entries(d);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	close(d->stop[0]);
	close(d->stop[1]);
	free(d->bucket);
	free(d);
}

unsigned
dns_timeout_ms(const struct dns *d)
{
	return d->timeout_ms;
}

/* ---- queries ------------------------------------------------------ */

/* Fix q's answer as its own error (a bad name, a timeout). */
static void
query_fail(struct dns_query *q, enum dns_status st, const char *why)
{
	q->own.status = st;
	q->own.why = why;
	q->final = &q->own;
}

/*
 * Hand e to libunbound.  The thread libunbound starts on the first query
 * inherits the caller's signal mask, so that one call is made with every
 * signal blocked.
 */
static void
send_query(struct dns *d, struct entry *e)
{
	bool first = !atomic_load(&d->ub_started);
	sigset_t old;
	int rc;

	COUNT(d, sent);
	COUNT(d, inflight);
	if (first)
		block_signals(&old);
	rc = ub_resolve_async(d->ub, e->name, e->type, RR_CLASS_IN, e,
	                      on_result, NULL);
	if (first) {
		restore_signals(&old);
		atomic_store(&d->ub_started, true);
	}
	if (rc != 0)
		on_result(e, rc, NULL);
}

/*
 * Attach q to the entry for fresh's key: a cached or in-flight one, else
 * fresh itself (then true: it must be sent).  fresh is freed if unused.
 */
static bool
attach(struct dns *d, struct dns_query *q, struct entry *fresh)
{
	struct entry *dead = NULL, *e;
	int64_t now = clock_ms();

	pthread_mutex_lock(&d->lock);
	e = table_find(d, fresh->name, fresh->type, fresh->hash, now, &dead);
	if (e == NULL) {
		e = fresh;
		table_insert(d, e, now, &dead);
		flight_add(d, e);
	} else if (atomic_load(&e->done)) {
		COUNT(d, cache_hits);
		q->final = &e->ans;
	} else
		COUNT(d, joined);
	e->refs++;
	q->e = e;
	pthread_mutex_unlock(&d->lock);
	free_dead(dead);
	if (e != fresh)
		entry_free(fresh);
	return e == fresh;
}

struct dns_query *
dns_start(struct dns *d, const char *name, uint16_t rrtype)
{
	char norm[256];
	struct dns_query *q;
	struct entry *fresh;

	COUNT(d, queries);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->d = d;
	q->deadline = clock_ms() + d->timeout_ms;
	q->own.rrtype = rrtype;
	if (name_normalize(name, norm) == -1) {
		query_fail(q, DNS_PERMERROR, "bad name");
		return q;
	}
	if ((fresh = entry_new(d, norm, rrtype)) == NULL) {
		free(q);
		return NULL;
	}
	if (attach(d, q, fresh))
		send_query(d, fresh);
	return q;
}

/* A clock_ms() time as an absolute CLOCK_MONOTONIC timespec. */
static struct timespec
ms_to_timespec(int64_t ms)
{
	struct timespec ts = {
	    .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000,
	};

	return ts;
}

/* Wait on the condition variable until e is done or until end; done? */
static bool
wait_done(struct dns *d, struct entry *e, int64_t end)
{
	struct timespec ts = ms_to_timespec(end);
	bool done;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	while (!atomic_load(&e->done) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&d->cond, &d->lock, &ts);
	done = atomic_load(&e->done);
	pthread_mutex_unlock(&d->lock);
	return done;
}

/*
 * Only the query's own deadline fixes a timeout as its answer; a wait
 * that ends earlier returns DNS_TEMPERROR and leaves the handle open.
 */
enum dns_status
dns_wait_until(struct dns_query *q, int64_t deadline_ms)
{
	int64_t end = deadline_ms < q->deadline ? deadline_ms : q->deadline;

	if (q->final != NULL)
		return q->final->status;
	if (wait_done(q->d, q->e, end)) {
		q->final = &q->e->ans;
		return q->final->status;
	}
	if (end < q->deadline)
		return pending_answer.status;
	COUNT(q->d, timeouts);
	query_fail(q, DNS_TEMPERROR, "timeout");
	return DNS_TEMPERROR;
}

enum dns_status
dns_wait(struct dns_query *q)
{
	return dns_wait_until(q, q->deadline);
}

bool
dns_ready(const struct dns_query *q)
{
	return q->final != NULL ||
	       atomic_load_explicit(&q->e->done, memory_order_acquire);
}

const struct dns_answer *
dns_answer(const struct dns_query *q)
{
	if (q->final != NULL)
		return q->final;
	if (atomic_load_explicit(&q->e->done, memory_order_acquire))
		return &q->e->ans;
	return &pending_answer;
}

void
dns_query_free(struct dns_query *q)
{
	struct entry *e;
	bool gone;

	if (q == NULL)
		return;
	if ((e = q->e) != NULL) {
		pthread_mutex_lock(&q->d->lock);
		e->refs--;
		gone = entry_unused(e);
		pthread_mutex_unlock(&q->d->lock);
		if (gone)
			entry_free(e);
	}
	free(q);
}

void
dns_get_stats(struct dns *d, struct dns_stats *out)
{
	out->queries = atomic_load(&d->c.queries);
	out->cache_hits = atomic_load(&d->c.cache_hits);
	out->joined = atomic_load(&d->c.joined);
	out->sent = atomic_load(&d->c.sent);
	out->timeouts = atomic_load(&d->c.timeouts);
	out->temperrors = atomic_load(&d->c.temperrors);
	out->inflight = atomic_load(&d->c.inflight);
}

static char ub_version_text[64];

static void
fill_version(void)
{
	snprintf(ub_version_text, sizeof(ub_version_text), "libunbound %s",
	         ub_version());
}

const char *
dns_library_version(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, fill_version);
	return ub_version_text;
}
