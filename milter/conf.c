/*
 * conf: refcounted immutable configuration snapshots (see conf.h).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>

#include "conf.h"
#include "dmarc_psl.h"
#include "dns.h"
#include "keycache.h"
#include "log.h"
#include "pkey.h"
#include "policy.h"
#include "work.h"

/* Threads for evaluations that wait on DNS step by step (SPF); each
 * holds one message's evaluation at a time, so this bounds how many run
 * at once, not how many messages are in flight. */
#define CONF_WORK_THREADS 16

/* What the snapshots with equal DNS settings share: the resolver, the
 * DKIM key cache in front of it and the pool that runs evaluations
 * blocking on it (SPF). */
struct dnsref {
	atomic_uint refs;
	struct dns *dns;
	struct keycache *keys;
	struct work *work;
};

struct conf {
	atomic_uint refs;
	uint64_t generation;
	struct policy *policy;
	struct dnsref *dns;
	struct pkey **signkeys; /* one per policy->sign.keys[] */
	struct pkey *arckey;    /* arc_seal.key_file, or NULL */
	struct dmarc_psl *psl;  /* DMARC in rfc7489 mode, else NULL */
};

/* Debian's publicsuffix package; verify.dmarc.psl_file overrides it. */
#define CONF_PSL_DEFAULT "/usr/share/publicsuffix/public_suffix_list.dat"

static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conf *conf_current;
static uint64_t conf_next_generation = 1;

static void
dnsref_unref(struct dnsref *r)
{
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
		/* The pool first: its jobs may still wait on DNS answers. */
		work_free(r->work);
		keycache_free(r->keys);
		dns_free(r->dns);
		free(r);
	}
}

/* Whether two policies ask for the same resolver. */
static bool
same_dns(const struct policy *a, const struct policy *b)
{
	if (a->dns.timeout_ms != b->dns.timeout_ms ||
	    a->dns.nservers != b->dns.nservers)
		return false;
	if ((a->dns.unbound_config == NULL) != (b->dns.unbound_config == NULL))
		return false;
	if (a->dns.unbound_config != NULL &&
	    strcmp(a->dns.unbound_config, b->dns.unbound_config) != 0)
		return false;
	for (size_t i = 0; i < a->dns.nservers; i++)
		if (strcmp(a->dns.servers[i], b->dns.servers[i]) != 0)
			return false;
	return true;
}

/* A new resolver for policy p. */
static struct dnsref *
dnsref_new(const struct policy *p, struct errbuf *eb)
{
	struct dns_settings s = {
	    .servers = (const char *const *)p->dns.servers,
	    .nservers = p->dns.nservers,
	    .timeout_ms = p->dns.timeout_ms,
	    .unbound_config = p->dns.unbound_config,
	};
	struct dnsref *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		errbuf_set(eb, "out of memory");
		return NULL;
	}
	atomic_init(&r->refs, 1);
	if ((r->dns = dns_new(&s, eb)) == NULL) {
		errbuf_prefix(eb, "%s: dns", p->file);
		free(r);
		return NULL;
	}
	r->keys = keycache_new(KEYCACHE_MAX);
	r->work = work_new(CONF_WORK_THREADS);
	if (r->keys == NULL || r->work == NULL) {
		errbuf_set(eb,
		           "%s: cannot start the key cache or the work "
		           "pool (out of memory or threads)",
		           p->file);
		dnsref_unref(r);
		return NULL;
	}
	return r;
}

/* The running resolver if its settings match p (a new reference), or NULL. */
static struct dnsref *
shared_dns(const struct policy *p)
{
	struct dnsref *r = NULL;

	pthread_mutex_lock(&conf_lock);
	if (conf_current != NULL && conf_current->dns != NULL &&
	    same_dns(conf_current->policy, p)) {
		r = conf_current->dns;
		atomic_fetch_add(&r->refs, 1);
	}
	pthread_mutex_unlock(&conf_lock);
	return r;
}

/* Load one private key and check it fits its use: the type its algorithm
 * names, RSA of at least 1024 bits (RFC 8301 section 3.2).  A key file
 * others may read is accepted with a warning. */
static struct pkey *
load_key(const struct policy *p, const char *what, const char *file,
         enum pkey_type want, struct errbuf *eb)
{
	struct stat st;
	struct pkey *k = pkey_load_private(file, eb);

	if (k == NULL) {
		errbuf_prefix(eb, "%s: %s", p->file, what);
		return NULL;
	}
	if (pkey_type(k) != want) {
		errbuf_set(eb,
		           "%s: %s: %s is an %s key, the algorithm needs %s",
		           p->file, what, file, pkey_type_name(pkey_type(k)),
		           pkey_type_name(want));
	} else if (want == PKEY_RSA && pkey_bits(k) < 1024) {
		errbuf_set(eb,
		           "%s: %s: %s is an RSA key of %u bits; signing "
		           "needs at least 1024 (RFC 8301)",
		           p->file, what, file, pkey_bits(k));
	} else {
		if (stat(file, &st) == 0 && (st.st_mode & S_IROTH))
			log_msg(LOG_WARNING,
			        "%s: %s: %s can be read by any "
			        "user; chmod o-r it",
			        p->file, what, file);
		return k;
	}
	pkey_unref(k);
	return NULL;
}

/* The private keys the policy names. */
static int
load_keys(struct conf *c, struct errbuf *eb)
{
	const struct policy *p = c->policy;
	char what[64];

	if (p->sign.nkeys > 0 &&
	    (c->signkeys = calloc(p->sign.nkeys, sizeof(*c->signkeys))) ==
	        NULL) {
		errbuf_set(eb, "%s: out of memory", p->file);
		return -1;
	}
	for (size_t i = 0; i < p->sign.nkeys; i++) {
		const struct policy_signkey *sk = &p->sign.keys[i];

		snprintf(what, sizeof(what), "sign.keys[%zu]", i);
		c->signkeys[i] = load_key(
		    p, what, sk->key_file,
		    strcmp(sk->algorithm, "ed25519-sha256") == 0 ? PKEY_ED25519
		                                                 : PKEY_RSA,
		    eb);
		if (c->signkeys[i] == NULL)
			return -1;
	}
	if (p->arc_seal.enabled &&
	    (c->arckey = load_key(p, "arc_seal", p->arc_seal.key_file, PKEY_RSA,
	                          eb)) == NULL)
		return -1;
	return 0;
}

/* The public suffix list, read only for DMARC in rfc7489 mode. */
static int
load_psl(struct conf *c, struct errbuf *eb)
{
	const struct policy *p = c->policy;

	if (!p->verify.dmarc || p->verify.dmarc_mode != DMARC_MODE_RFC7489)
		return 0;
	c->psl = dmarc_psl_load(p->verify.dmarc_psl_file != NULL
	                            ? p->verify.dmarc_psl_file
	                            : CONF_PSL_DEFAULT,
	                        eb);
	if (c->psl == NULL) {
		errbuf_prefix(eb, "%s: verify.dmarc.psl_file", p->file);
		return -1;
	}
	return 0;
}

struct conf *
conf_load(const char *path, bool with_dns, struct errbuf *eb)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		errbuf_set(eb, "%s: out of memory", path);
		return NULL;
	}
	atomic_init(&c->refs, 1);
	if ((c->policy = policy_load(path, eb)) == NULL) {
		free(c);
		return NULL;
	}
	if (load_keys(c, eb) != 0 || load_psl(c, eb) != 0) {
		conf_release(c);
		return NULL;
	}
	if (with_dns && conf_attach_dns(c, eb) != 0) {
		conf_release(c);
		return NULL;
	}
	return c;
}

int
conf_attach_dns(struct conf *c, struct errbuf *eb)
{
	if (c->dns != NULL)
		return 0;
	c->dns = shared_dns(c->policy);
	if (c->dns == NULL && (c->dns = dnsref_new(c->policy, eb)) == NULL)
		return -1;
	return 0;
}

void
conf_install(struct conf *c)
{
	struct conf *old;

	pthread_mutex_lock(&conf_lock);
	c->generation = conf_next_generation++;
	old = conf_current;
	conf_current = c;
	pthread_mutex_unlock(&conf_lock);
	conf_release(old);
}

void
conf_uninstall(void)
{
	struct conf *old;

	pthread_mutex_lock(&conf_lock);
	old = conf_current;
	conf_current = NULL;
	pthread_mutex_unlock(&conf_lock);
	conf_release(old);
}

struct conf *
conf_acquire(void)
{
	struct conf *c;

	pthread_mutex_lock(&conf_lock);
	c = conf_current;
	if (c != NULL)
		atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&conf_lock);
	return c;
}

void
conf_release(struct conf *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	dnsref_unref(c->dns);
	for (size_t i = 0; c->signkeys != NULL && i < c->policy->sign.nkeys;
	     i++)
		pkey_unref(c->signkeys[i]);
	free(c->signkeys);
	pkey_unref(c->arckey);
	dmarc_psl_free(c->psl);
	policy_free(c->policy);
	free(c);
}

const struct policy *
conf_policy(const struct conf *c)
{
	return c->policy;
}

struct dns *
conf_dns(const struct conf *c)
{
	return c->dns != NULL ? c->dns->dns : NULL;
}

struct pkey *
conf_signkey(const struct conf *c, size_t i)
{
	return c->signkeys[i];
}

struct pkey *const *
conf_signkeys(const struct conf *c)
{
	return c->signkeys;
}

struct pkey *
conf_arckey(const struct conf *c)
{
	return c->arckey;
}

const struct dmarc_psl *
conf_psl(const struct conf *c)
{
	return c->psl;
}

struct keycache *
conf_keycache(const struct conf *c)
{
	return c->dns != NULL ? c->dns->keys : NULL;
}

struct work *
conf_work(const struct conf *c)
{
	return c->dns != NULL ? c->dns->work : NULL;
}

uint64_t
conf_generation(const struct conf *c)
{
	return c->generation;
}
