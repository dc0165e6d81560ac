/*
 * keycache: DKIM public keys fetched from DNS (RFC 6376 section 3.6.2),
 * parsed once and shared.
 *
 * keycache_start() is called the moment a signature names its key
 * (d= and s=), so the TXT lookup of <selector>._domainkey.<domain> runs
 * while the rest of the message arrives; keycache_wait() at the end
 * returns the parsed key.  Parsed keys are kept for the DNS TTL (capped
 * at DNS_MAX_TTL), refcounted, in a table with its own lock and a size
 * cap; failures that are final (no record, a bad record) are kept for
 * DNS_NEG_TTL, temporary ones never.
 *
 * Key record rules (section 3.6.1): v= must be "DKIM1" and first if
 * present; k= rsa (default) or ed25519; h= lists acceptable hashes
 * (sha256 must be among them when present); s= must include "email" or
 * "*" when present; t= flags y (testing) and s (strict i=); p= required,
 * base64; empty p= means revoked; unknown tags are ignored; the TXT
 * record's strings are concatenated; with several TXT records the first
 * one that is a valid key record is used.
 *
 * Outcomes of keycache_wait():
 *   AR_R_PASS       a usable key
 *   AR_R_PERMERROR  no key (NXDOMAIN, no TXT, no key record), a bad
 *                   record, a revoked key, an unusable key type or size
 *   AR_R_TEMPERROR  the lookup failed temporarily or timed out
 * with a short reason ("no key", "key revoked", ...): static, except the
 * text of a DNS error ("key lookup: SERVFAIL"), which the query keeps
 * until key_query_free().
 *
 * Ownership: the cache owns its entries; a key returned by
 * keycache_wait() is borrowed from the query and valid until
 * key_query_free().  The struct dns passed to keycache_start() must
 * outlive the query.  Thread rules: all functions are thread-safe.
 */
#ifndef AUTHMILTER_KEYCACHE_H
#define AUTHMILTER_KEYCACHE_H

#include <stdbool.h>

#include "pkey.h"
#include "result.h"

#define KEYCACHE_MAX 10000

#define DKIM_KEY_SHA256 0x1u /* h= allows sha256 */
#define DKIM_KEY_SHA1   0x2u /* h= allows sha1 */

struct dkim_key {
	struct pkey *pkey;   /* public key; never NULL in a usable key */
	enum pkey_type type; /* k= */
	unsigned hashes;     /* DKIM_KEY_* allowed by h= (all when absent) */
	bool testing;        /* t=y */
	bool strict;         /* t=s: i= domain must equal d= */
};

struct dns;
struct keycache;
struct key_query;

/* A new cache of at most max entries; NULL when out of memory. */
struct keycache *keycache_new(unsigned max);

/* Free (NULL is allowed); every query must be freed first. */
void keycache_free(struct keycache *kc);

/* Whether s is DNS labels of letters, digits, '-' and '_', at most 253
 * bytes (RFC 6376 section 3.5: selector and domain are sub-domains; '_'
 * is tolerated, as it is in DNS): the names keycache_start() accepts. */
bool keycache_valid_name(const char *s);

/* Start (or find) the key for selector/domain; NULL only when out of memory. */
struct key_query *keycache_start(struct keycache *kc, struct dns *d,
                                 const char *selector, const char *domain);

/* Wait (bounded by the DNS deadline) and return the outcome. */
enum ar_result keycache_wait(struct key_query *q, const struct dkim_key **key,
                             const char **why);

/* Release a query (NULL is allowed). */
void key_query_free(struct key_query *q);

/* Parse a key record (for tests and fuzzing): AR_R_PASS with *key filled
 * (caller unrefs key->pkey), AR_R_PERMERROR with a reason, or
 * AR_R_TEMPERROR (reason PKEY_OOM) when out of memory. */
enum ar_result keycache_parse_record(const char *txt, size_t len,
                                     struct dkim_key *key, const char **why);

#endif
