/*
 * dns: asynchronous DNS on libunbound, with deadlines and a TTL cache
 * (DESIGN.md sections 3 and 6).
 *
 * One struct dns per configuration: one libunbound context, driven by one
 * resolver thread (poll on ub_fd + ub_process).  Any thread starts a query
 * with dns_start(), which returns at once; the answer is collected later
 * with dns_wait() (blocking up to a deadline) or dns_ready() (never
 * blocks).  Lookups therefore start the moment their inputs are known and
 * end-of-message mostly finds them answered.
 *
 * Results keep retry apart from final (like Postfix's DNS_RETRY/DNS_FAIL):
 *   DNS_OK         answer with at least one record of the asked type
 *   DNS_NXDOMAIN   the name does not exist (final)
 *   DNS_NODATA     the name exists, no record of that type (final)
 *   DNS_TEMPERROR  SERVFAIL, timeout (our deadline), DNSSEC bogus, REFUSED
 *   DNS_PERMERROR  malformed name or answer, FORMERR, NOTIMP
 * A CNAME chain is followed by libunbound; records come from the final name.
 *
 * Cache: answers OK / NXDOMAIN / NODATA are kept for their TTL (capped at
 * DNS_MAX_TTL; negative answers at DNS_NEG_TTL) in a bounded in-process
 * table keyed by (lower-cased name, type).  A query for a (name, type) that
 * is already in flight joins it instead of asking again.  Temporary errors
 * are never cached.
 *
 * Deadlines: every query gets start + timeout_ms; dns_wait() gives up then
 * with DNS_TEMPERROR ("timeout").  libunbound has no per-query timeout, so
 * a query nobody waits for any more is left to finish (never cancelled:
 * ub_cancel races with the callback); its memory is released when the
 * callback runs or when the context is freed.
 *
 * Ownership: dns_new() returns an owned context freed by dns_free() (which
 * stops the thread; every query handle must be freed first).  dns_start()
 * returns an owned handle; dns_answer() is borrowed from the handle and
 * stays valid until dns_query_free().
 * Thread rules: every function is thread-safe except dns_new/dns_free.
 */
#ifndef AUTHMILTER_DNS_H
#define AUTHMILTER_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errbuf.h"

#define DNS_T_A     1
#define DNS_T_NS    2
#define DNS_T_CNAME 5
#define DNS_T_SOA   6
#define DNS_T_PTR   12
#define DNS_T_MX    15
#define DNS_T_TXT   16
#define DNS_T_AAAA  28

#define DNS_MAX_TTL   3600  /* keep nothing longer than an hour */
#define DNS_NEG_TTL   300   /* negative answers without a TTL */
#define DNS_CACHE_MAX 20000 /* entries; past it, answers are not cached */
#define DNS_NAME_MAX  1025  /* text form of a domain name, with NUL */

enum dns_status {
	DNS_OK = 0,
	DNS_NXDOMAIN,
	DNS_NODATA,
	DNS_TEMPERROR,
	DNS_PERMERROR
};

struct dns_settings {
	const char *const *servers; /* "IP" or "IP@PORT"; NULL/0: resolv.conf */
	size_t nservers;
	unsigned timeout_ms;        /* per query, > 0 */
	const char *unbound_config; /* file for ub_ctx_config, or NULL */
};

/* One record's rdata, exactly as on the wire. */
struct dns_rr {
	const unsigned char *data;
	size_t len;
};

struct dns_answer {
	enum dns_status status;
	uint16_t rrtype;
	bool secure; /* DNSSEC-validated */
	uint32_t ttl;
	const char *why; /* short text for temperror/permerror ("timeout",
	                    "SERVFAIL", ...), else "" */
	size_t nrr;
	const struct dns_rr *rr;
};

struct dns;
struct dns_query;

/* Create a resolver with its own thread; NULL with a message in eb. */
struct dns *dns_new(const struct dns_settings *s, struct errbuf *eb);

/* Stop the thread and free everything (NULL is allowed). */
void dns_free(struct dns *d);

/* The per-query timeout this resolver was made with. */
unsigned dns_timeout_ms(const struct dns *d);

/* Start a lookup of name/rrtype; NULL only when out of memory. */
struct dns_query *dns_start(struct dns *d, const char *name, uint16_t rrtype);

/* Wait until answered or until the query's own deadline; return the status. */
enum dns_status dns_wait(struct dns_query *q);

/* Wait at most until deadline_ms (clock_ms() time, never past the query's own).
 */
enum dns_status dns_wait_until(struct dns_query *q, int64_t deadline_ms);

/* Whether the answer is in (never blocks). */
bool dns_ready(const struct dns_query *q);

/* The answer (after dns_wait/dns_ready); borrowed from q. */
const struct dns_answer *dns_answer(const struct dns_query *q);

/* Release a handle (NULL is allowed); a query still running is left to finish.
 */
void dns_query_free(struct dns_query *q);

/* Counters since dns_new(), for logs and metrics. */
struct dns_stats {
	uint64_t queries;    /* dns_start() calls */
	uint64_t cache_hits; /* answered from the cache */
	uint64_t joined;     /* joined a query already in flight */
	uint64_t sent;       /* handed to libunbound */
	uint64_t timeouts;   /* dns_wait() deadlines that expired */
	uint64_t temperrors; /* answers that were temporary errors */
	uint64_t inflight;   /* queries libunbound is working on now */
};

/* Copy the counters. */
void dns_get_stats(struct dns *d, struct dns_stats *out);

/* TXT rdata: the character-strings concatenated into out (reset first); 0,
 * -1 if malformed (or over out's cap), -2 when out of memory. */
int dns_rr_txt(const struct dns_rr *rr, struct buf *out);

/* PTR/CNAME/NS rdata, or MX rdata after its 2-byte preference: wire name to
 * text without the trailing dot; 0 or -1 if malformed. */
int dns_rr_name(const unsigned char *p, size_t len, char *out, size_t outsz);

/* A/AAAA rdata to text; 0 or -1. */
int dns_rr_addr(const struct dns_rr *rr, uint16_t rrtype, char *out,
                size_t outsz);

/* The reverse-lookup name of an address in text form
 * ("192.0.2.1" -> "1.2.0.192.in-addr.arpa"); 0 or -1. */
int dns_reverse_name(const char *ip, char *out, size_t outsz);

/* "libunbound X.Y.Z", for authmilter -V. */
const char *dns_library_version(void);

/* "ok", "nxdomain", "nodata", "temperror", "permerror". */
const char *dns_status_name(enum dns_status st);

#endif
