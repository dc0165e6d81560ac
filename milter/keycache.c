/*
 * keycache: DKIM key records fetched, parsed once and shared (see
 * keycache.h).
 *
 * The table maps the lower-cased lookup name to a refcounted entry
 * holding the outcome of one lookup (a key or a final error).  The table
 * holds one reference and every query that uses the entry another, so an
 * entry evicted or replaced while a query still reads it stays valid.
 * Identical lookups in flight are joined by dns.c itself; this table keeps
 * only parsed results.  One mutex guards the table and every refcount.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "clock.h"
#include "dns.h"
#include "keycache.h"
#include "tagval.h"

#define TXT_MAX 65536 /* a TXT rdata is at most 65535 bytes */
#define WHY_MAX 64
/* p= is decoded into a buffer this large: enough for an RSA key over
 * PKEY_RSA_MAX_BITS (pkey.c refuses DER over 1068 bytes with "key too
 * large"), so a longer p= is refused unread, without any allocation. */
#define KEY_DER_MAX 2048
#define KEY_B64_MAX (KEY_DER_MAX / 3 * 4) /* decodes to at most 2046 */

struct kc_entry {
	struct kc_entry *hnext;       /* hash chain */
	struct kc_entry *prev, *next; /* insertion order, oldest first */
	unsigned refs;                /* under the cache lock */
	bool cached;                  /* in the table */
	int64_t expires;              /* clock_ms() */
	enum ar_result result;        /* AR_R_PASS or AR_R_PERMERROR */
	const char *why;              /* static */
	struct dkim_key key;          /* key.pkey owned, NULL unless PASS */
	char name[];                  /* lower-cased lookup name */
};

struct keycache {
	pthread_mutex_t lock;
	struct kc_entry **bucket;
	size_t nbucket; /* a power of two */
	unsigned n, max;
	struct kc_entry *oldest, *newest;
};

struct key_query {
	struct keycache *kc;
	struct dns_query *dq;  /* until the answer is in */
	struct kc_entry *e;    /* the outcome, one reference */
	enum ar_result result; /* the outcome when e is NULL */
	const char *why;
	bool done;
	char whybuf[WHY_MAX]; /* a DNS error text */
	char name[DNS_NAME_MAX];
};

static uint64_t
hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

struct keycache *
keycache_new(unsigned max)
{
	struct keycache *kc = calloc(1, sizeof(*kc));

	if (kc == NULL)
		return NULL;
	kc->max = max;
	kc->nbucket = 16;
	while (kc->nbucket < max && kc->nbucket < (1u << 20))
		kc->nbucket <<= 1;
	kc->bucket = calloc(kc->nbucket, sizeof(*kc->bucket));
	if (kc->bucket == NULL || pthread_mutex_init(&kc->lock, NULL) != 0) {
		free(kc->bucket);
		free(kc);
		return NULL;
	}
	return kc;
}

static void
entry_free(struct kc_entry *e)
{
	pkey_unref(e->key.pkey);
	free(e);
}

/* Drop a reference (lock held); the entry if it is now unused. */
static struct kc_entry *
entry_put(struct kc_entry *e)
{
	return --e->refs == 0 ? e : NULL;
}

void
keycache_free(struct keycache *kc)
{
	struct kc_entry *e, *next;

	if (kc == NULL)
		return;
	for (e = kc->oldest; e != NULL; e = next) {
		next = e->next;
		entry_free(
		    e); /* every query is gone: the table's is the last */
	}
	pthread_mutex_destroy(&kc->lock);
	free(kc->bucket);
	free(kc);
}

/* Take e out of the table (lock held); the entry if that freed it. */
static struct kc_entry *
table_unlink(struct keycache *kc, struct kc_entry *e)
{
	struct kc_entry **pp =
	    &kc->bucket[hash_name(e->name) & (kc->nbucket - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	*(e->prev != NULL ? &e->prev->next : &kc->oldest) = e->next;
	*(e->next != NULL ? &e->next->prev : &kc->newest) = e->prev;
	e->cached = false;
	kc->n--;
	return entry_put(e);
}

/* The live entry for name (lock held), or NULL; an expired one is dropped
 * into *dead for the caller to free after unlocking. */
static struct kc_entry *
table_find(struct keycache *kc, const char *name, struct kc_entry **dead)
{
	struct kc_entry *e = kc->bucket[hash_name(name) & (kc->nbucket - 1)];

	while (e != NULL && strcmp(e->name, name) != 0)
		e = e->hnext;
	if (e != NULL && e->expires <= clock_ms()) {
		*dead = table_unlink(kc, e);
		e = NULL;
	}
	return e;
}

/* Add e (lock held), replacing an older entry for the same name and
 * evicting the oldest when full; entries freed go to dead[0..2]. */
static void
table_insert(struct keycache *kc, struct kc_entry *e, struct kc_entry **dead)
{
	struct kc_entry **head;

	if ((dead[0] = table_find(kc, e->name, &dead[1])) != NULL)
		dead[0] = table_unlink(kc, dead[0]);
	if (kc->n >= kc->max && kc->oldest != NULL)
		dead[2] = table_unlink(kc, kc->oldest);
	if (kc->n >= kc->max)
		return;
	head = &kc->bucket[hash_name(e->name) & (kc->nbucket - 1)];
	e->hnext = *head;
	*head = e;
	e->prev = kc->newest;
	e->next = NULL;
	*(kc->newest != NULL ? &kc->newest->next : &kc->oldest) = e;
	kc->newest = e;
	e->cached = true;
	e->refs++;
	kc->n++;
}

bool
keycache_valid_name(const char *s)
{
	size_t label = 0, total = 0;

	for (; *s != '\0'; s++, total++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((*s >= 'a' && *s <= 'z') ||
		           (*s >= 'A' && *s <= 'Z') ||
		           (*s >= '0' && *s <= '9') || *s == '-' || *s == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0 && total <= 253;
}

/* The lower-cased "<selector>._domainkey.<domain>"; NULL with a reason. */
static const char *
key_name(const char *selector, const char *domain, char *out, size_t outsz)
{
	int n;

	if (!keycache_valid_name(selector))
		return "bad selector";
	if (!keycache_valid_name(domain))
		return "bad domain";
	n = snprintf(out, outsz, "%s._domainkey.%s", selector, domain);
	if (n < 0 || (size_t)n >= outsz || n > 253)
		return "key name too long";
	for (char *p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return NULL;
}

struct key_query *
keycache_start(struct keycache *kc, struct dns *d, const char *selector,
               const char *domain)
{
	struct key_query *q = calloc(1, sizeof(*q));
	struct kc_entry *dead = NULL;

	if (q == NULL)
		return NULL;
	q->kc = kc;
	q->result = AR_R_PERMERROR;
	if ((q->why = key_name(selector, domain, q->name, sizeof(q->name)))) {
		q->done = true;
		return q;
	}
	pthread_mutex_lock(&kc->lock);
	if ((q->e = table_find(kc, q->name, &dead)) != NULL) {
		q->e->refs++;
		q->done = true;
	}
	pthread_mutex_unlock(&kc->lock);
	if (dead != NULL)
		entry_free(dead);
	if (!q->done && (q->dq = dns_start(d, q->name, DNS_T_TXT)) == NULL) {
		free(q);
		return NULL;
	}
	return q;
}

/* Whitespace that may surround list items and sit inside base64 (FWS). */
static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next item of a ':'-separated list (RFC 6376 section 3.6.1: h=, s=,
 * t=) with the FWS around it trimmed; *pp is the position (NULL at the
 * end).  An empty value is one empty item. */
static bool
next_item(const char **pp, const char *end, const char **item, size_t *len)
{
	const char *p = *pp, *q;

	if (p == NULL)
		return false;
	q = memchr(p, ':', (size_t)(end - p));
	*pp = q != NULL ? q + 1 : NULL;
	if (q == NULL)
		q = end;
	while (p < q && is_space((unsigned char)*p))
		p++;
	while (q > p && is_space((unsigned char)q[-1]))
		q--;
	*item = p;
	*len = (size_t)(q - p);
	return true;
}

/* Whether the item equals word, ignoring ASCII case. */
static bool
item_is(const char *item, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(item, word, len) == 0;
}

/* Whether the list value of t holds word. */
static bool
has_item(const struct tagval *t, const char *word)
{
	const char *pos = t->value, *item;
	size_t len;

	while (next_item(&pos, t->value + t->len, &item, &len))
		if (item_is(item, len, word))
			return true;
	return false;
}

/* v= must be "DKIM1" and the first tag when present. */
static const char *
check_version(const struct tagval_list *l)
{
	const struct tagval *v = tagval_get(l, "v");

	if (v == NULL)
		return NULL;
	if (v != &l->t[0])
		return "v= is not the first tag";
	return tagval_eq(v, "DKIM1") ? NULL : "bad key record version";
}

/* k= (default rsa). */
static const char *
check_type(const struct tagval_list *l, enum pkey_type *type)
{
	const struct tagval *k = tagval_get(l, "k");

	*type = PKEY_RSA;
	if (k == NULL || tagval_eqi(k, "rsa"))
		return NULL;
	if (!tagval_eqi(k, "ed25519"))
		return "unknown key type";
	*type = PKEY_ED25519;
	return NULL;
}

/* h= (default: every hash); unknown names are ignored. */
static const char *
check_hashes(const struct tagval_list *l, unsigned *hashes)
{
	const struct tagval *h = tagval_get(l, "h");

	*hashes = DKIM_KEY_SHA256 | DKIM_KEY_SHA1;
	if (h == NULL)
		return NULL;
	*hashes = 0;
	if (has_item(h, "sha256"))
		*hashes |= DKIM_KEY_SHA256;
	if (has_item(h, "sha1"))
		*hashes |= DKIM_KEY_SHA1;
	return *hashes & DKIM_KEY_SHA256 ? NULL : "key does not allow sha256";
}

/* s= (default *) must allow email. */
static const char *
check_services(const struct tagval_list *l)
{
	const struct tagval *s = tagval_get(l, "s");

	if (s == NULL || has_item(s, "email") || has_item(s, "*"))
		return NULL;
	return "key not for email";
}

/* t= flags y and s; unknown flags are ignored. */
static void
read_flags(const struct tagval_list *l, struct dkim_key *key)
{
	const struct tagval *t = tagval_get(l, "t");

	if (t != NULL) {
		key->testing = has_item(t, "y");
		key->strict = has_item(t, "s");
	}
}

/* p=: base64 of the key; empty means revoked. */
static const char *
decode_key(const struct tagval_list *l, struct dkim_key *key)
{
	const struct tagval *p = tagval_get(l, "p");
	unsigned char der[KEY_DER_MAX];
	size_t chars = 0;
	ssize_t n;
	const char *why = "bad key data";

	if (p == NULL)
		return "no p= tag";
	for (size_t i = 0; i < p->len; i++)
		chars += !is_space((unsigned char)p->value[i]);
	if (chars == 0)
		return "key revoked";
	if (chars > KEY_B64_MAX)
		return "key too large";
	if ((n = b64_decode(p->value, p->len, der, sizeof(der))) < 0)
		return "bad key data";
	key->pkey = pkey_public(key->type, der, (size_t)n, &why);
	return key->pkey != NULL ? NULL : why;
}

/* The checks of RFC 6376 section 3.6.1, in order; NULL if usable. */
static const char *
check_record(const struct tagval_list *l, struct dkim_key *key)
{
	const char *why;

	if ((why = check_version(l)) != NULL ||
	    (why = check_type(l, &key->type)) != NULL ||
	    (why = check_hashes(l, &key->hashes)) != NULL ||
	    (why = check_services(l)) != NULL)
		return why;
	read_flags(l, key);
	return decode_key(l, key);
}

enum ar_result
keycache_parse_record(const char *txt, size_t len, struct dkim_key *key,
                      const char **why)
{
	struct tagval_list l;
	const char *w;
	int rc;

	memset(key, 0, sizeof(*key));
	rc = tagval_parse(txt, len, &l, NULL);
	if (rc == TAGVAL_EDUP)
		w = "duplicate tag";
	else if (rc == TAGVAL_ETOOMANY)
		w = "too many tags";
	else if (rc != TAGVAL_OK)
		w = "bad key record syntax";
	else
		w = check_record(&l, key);
	if (w != NULL)
		memset(key, 0, sizeof(*key));
	if (why != NULL)
		*why = w != NULL ? w : "";
	if (w != NULL && strcmp(w, PKEY_OOM) == 0)
		return AR_R_TEMPERROR; /* about us, not the record */
	return w == NULL ? AR_R_PASS : AR_R_PERMERROR;
}

/* A new entry for name with one reference (the query's); NULL when out of
 * memory. */
static struct kc_entry *
entry_new(const char *name, enum ar_result r, const char *why)
{
	size_t len = strlen(name) + 1;
	struct kc_entry *e = calloc(1, sizeof(*e) + len);

	if (e == NULL)
		return NULL;
	memcpy(e->name, name, len);
	e->refs = 1;
	e->result = r;
	e->why = why;
	return e;
}

/* The first TXT record that is a valid key record, else the first
 * record's error (RFC 6376 section 3.6.2.2). */
static enum ar_result
parse_answer(const struct dns_answer *a, struct dkim_key *key, const char **why)
{
	struct buf txt;
	enum ar_result r = AR_R_PERMERROR;
	const char *w = "no key";
	int rc;

	buf_init(&txt, TXT_MAX);
	for (size_t i = 0; i < a->nrr && r != AR_R_PASS && r != AR_R_TEMPERROR;
	     i++) {
		if ((rc = dns_rr_txt(&a->rr[i], &txt)) == -2) {
			r = AR_R_TEMPERROR;
			w = PKEY_OOM;
		} else if (rc != 0)
			w = "bad TXT record";
		else
			r = keycache_parse_record(buf_cstr(&txt), txt.len, key,
			                          &w);
		if (i == 0)
			*why = w;
	}
	buf_free(&txt);
	if (r == AR_R_PASS)
		*why = "";
	else if (r == AR_R_TEMPERROR)
		*why = w;
	return r;
}

/* Turn a DNS answer into the query's outcome; the seconds it may be kept
 * (0: not at all). */
static uint32_t
outcome(struct key_query *q, const struct dns_answer *a)
{
	struct dkim_key key;
	const char *why = "no key";
	enum ar_result r = AR_R_PERMERROR;

	if (a->status == DNS_TEMPERROR || a->status == DNS_PERMERROR) {
		q->result = a->status == DNS_TEMPERROR ? AR_R_TEMPERROR
		                                       : AR_R_PERMERROR;
		snprintf(q->whybuf, sizeof(q->whybuf), "key lookup: %s",
		         a->why != NULL && *a->why != '\0' ? a->why : "failed");
		q->why = q->whybuf;
		return 0;
	}
	if (a->status == DNS_OK)
		r = parse_answer(a, &key, &why);
	if (r == AR_R_TEMPERROR) { /* out of memory: nothing to keep */
		q->result = r;
		q->why = why;
		return 0;
	}
	if ((q->e = entry_new(q->name, r, why)) == NULL) {
		if (r == AR_R_PASS)
			pkey_unref(key.pkey);
		q->result = AR_R_TEMPERROR;
		q->why = "out of memory";
		return 0;
	}
	if (r == AR_R_PASS)
		q->e->key = key;
	/* A final error lives no longer than DNS_NEG_TTL, and neither
	 * outlives the DNS data it came from (a fixed record takes effect
	 * when its old TTL ends). */
	if (r != AR_R_PASS && a->ttl > DNS_NEG_TTL)
		return DNS_NEG_TTL;
	return a->ttl < DNS_MAX_TTL ? a->ttl : DNS_MAX_TTL;
}

/* Wait for the answer, parse it and cache the outcome if final. */
static void
finish(struct key_query *q)
{
	struct keycache *kc = q->kc;
	struct kc_entry *dead[3] = {NULL, NULL, NULL};
	uint32_t ttl;

	dns_wait(q->dq);
	ttl = outcome(q, dns_answer(q->dq));
	dns_query_free(q->dq);
	q->dq = NULL;
	q->done = true;
	if (q->e == NULL || ttl == 0)
		return;
	q->e->expires = clock_ms() + (int64_t)ttl * 1000;
	pthread_mutex_lock(&kc->lock);
	table_insert(kc, q->e, dead);
	pthread_mutex_unlock(&kc->lock);
	for (int i = 0; i < 3; i++)
		if (dead[i] != NULL)
			entry_free(dead[i]);
}

enum ar_result
keycache_wait(struct key_query *q, const struct dkim_key **key,
              const char **why)
{
	const struct kc_entry *e;

	if (!q->done)
		finish(q);
	e = q->e;
	if (key != NULL)
		*key = e != NULL && e->result == AR_R_PASS ? &e->key : NULL;
	if (why != NULL)
		*why = e != NULL ? e->why : q->why;
	return e != NULL ? e->result : q->result;
}

void
key_query_free(struct key_query *q)
{
	struct kc_entry *dead = NULL;

	if (q == NULL)
		return;
	dns_query_free(q->dq);
	if (q->e != NULL) {
		pthread_mutex_lock(&q->kc->lock);
		dead = entry_put(q->e);
		pthread_mutex_unlock(&q->kc->lock);
	}
	if (dead != NULL)
		entry_free(dead);
	free(q);
}
