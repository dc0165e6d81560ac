/*
 * conf: the configuration snapshot every connection works on.
 *
 * A snapshot bundles what one policy file implies: the validated policy,
 * the DNS resolver built from its "dns" settings with the DKIM key cache
 * and the work pool that go with it (later also loaded signing keys).
 * It is immutable and refcounted.  A connection takes the current snapshot
 * with conf_acquire() when it starts and gives it back with conf_release()
 * when it ends, so mail in flight finishes on the snapshot it started with.
 *
 * conf_load() builds a complete snapshot from a file without installing
 * it; conf_install() swaps it in atomically (the old one is freed when its
 * last user releases it).  A reload whose DNS settings are unchanged
 * shares the running resolver (and its cache) with the new snapshot.
 *
 * The current-snapshot pointer is the daemon's only mutable global
 * (DESIGN.md section 3); a mutex guards the pointer swap and the refcount
 * increment, held for a few instructions.
 */
#ifndef AUTHMILTER_CONF_H
#define AUTHMILTER_CONF_H

#include <stdbool.h>
#include <stdint.h>

#include "errbuf.h"

struct conf;
struct policy;
struct dns;
struct keycache;
struct work;

/* Load and validate path into a new snapshot (not installed); NULL with
 * "file:line:column: message" (or a DNS setup error) in eb.  When
 * with_dns, a resolver with identical settings in the current snapshot
 * is reused; with_dns false builds none (for -n). */
struct conf *conf_load(const char *path, bool with_dns, struct errbuf *eb);

/* Give a snapshot loaded without DNS its resolver (shared with the
 * current snapshot when the settings match); 0, or -1 with eb set. */
int conf_attach_dns(struct conf *c, struct errbuf *eb);

/* Make c the current snapshot (steals the caller's reference). */
void conf_install(struct conf *c);

/* Drop the current snapshot (at shutdown). */
void conf_uninstall(void);

/* Take a reference to the current snapshot, or NULL when none is installed. */
struct conf *conf_acquire(void);

/* Give a reference back (NULL is allowed); the last one frees it. */
void conf_release(struct conf *c);

/* The snapshot's policy, resolver, DKIM key cache and work pool
 * (borrowed, valid while c is held; NULL before conf_attach_dns). */
const struct policy *conf_policy(const struct conf *c);
struct dns *conf_dns(const struct conf *c);
struct keycache *conf_keycache(const struct conf *c);
struct work *conf_work(const struct conf *c);

/* A number that grows with every installed snapshot (for logs). */
/* Private key i of policy->sign.keys, and the ARC sealing key (NULL when
 * not sealing); borrowed, loaded and checked with the policy. */
struct pkey;
struct pkey *conf_signkey(const struct conf *c, size_t i);
struct pkey *const *conf_signkeys(const struct conf *c);
struct pkey *conf_arckey(const struct conf *c);

uint64_t conf_generation(const struct conf *c);

/* The public suffix list for DMARC in rfc7489 mode (loaded with the
 * policy from verify.dmarc.psl_file), or NULL in rfc9989 mode;
 * borrowed. */
struct dmarc_psl;
const struct dmarc_psl *conf_psl(const struct conf *c);

#endif
