/*
 * dkim_verify: DKIM verification of one message (see dkim_verify.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim_sig.h"
#include "dkim_verify.h"
#include "hash.h"
#include "hdr.h"
#include "keycache.h"
#include "result.h"

#define BPREFIX_MIN 8 /* RFC 6008: enough of b= to tell signatures apart */
/* Results written one by one; the rest are one summary record.  Above
 * verify.dkim.max_signatures (at most 50), so every signature that is
 * evaluated gets its own record. */
#define DKIM_REPORT_MAX 60

/* One DKIM-Signature field and what was started for it. */
struct vsig {
	struct dkim_sig sig;
	size_t index;      /* field index in the hdr */
	const char *error; /* a parse problem (static text), or NULL */
	bool skipped;      /* beyond max_signatures */
	int bh_id;         /* body hash id, or -1 */
	struct key_query *kq;
	size_t bprefix_len; /* characters of b= to report */
};

struct dkim_verify {
	struct dkim_verify_settings s;
	struct keycache *kc;
	struct dns *dns;
	struct bodyhash *bh;
	size_t n, cap;
	struct vsig **v;
};

/* The outcome of one signature. */
struct verdict {
	enum ar_result result;
	char reason[128];
	const char *comment;
};

struct dkim_verify *
dkim_verify_new(const struct dkim_verify_settings *s, struct keycache *kc,
                struct dns *d, struct bodyhash *bh)
{
	struct dkim_verify *dv = calloc(1, sizeof(*dv));

	if (dv == NULL)
		return NULL;
	dv->s = *s;
	dv->kc = kc;
	dv->dns = d;
	dv->bh = bh;
	return dv;
}

static int
append(struct dkim_verify *dv, struct vsig *vs)
{
	if (dv->n == dv->cap) {
		size_t ncap = dv->cap ? dv->cap * 2 : 4;
		struct vsig **p = realloc(dv->v, ncap * sizeof(*p));

		if (p == NULL)
			return -1;
		dv->v = p;
		dv->cap = ncap;
	}
	dv->v[dv->n++] = vs;
	return 0;
}

/* Parse the field and start what can start now: body hash and key. */
static int
start(struct dkim_verify *dv, struct vsig *vs, const struct hdr *h)
{
	size_t len;
	const char *value = hdr_value(hdr_get(h, vs->index), &len);

	if (dkim_sig_parse(DKIM_SIG_DKIM, value, len, &vs->sig, &vs->error) !=
	    0)
		return 0;
	/* Past the limit a signature is parsed (to report d= and s=) but
	 * costs no lookup and no hashing. */
	if (dv->n > dv->s.max_signatures) {
		vs->skipped = true;
		return 0;
	}
	if (vs->sig.hash == HASH_SHA1) {
		vs->error = "rsa-sha1 is not allowed (RFC 8301)";
		return 0;
	}
	vs->bh_id =
	    bodyhash_want(dv->bh, vs->sig.bcanon, vs->sig.hash, vs->sig.l);
	if (vs->bh_id < 0) {
		vs->error = "too many different body hashes";
		return 0;
	}
	vs->kq =
	    keycache_start(dv->kc, dv->dns, vs->sig.selector, vs->sig.domain);
	return vs->kq != NULL ? 0 : -1;
}

int
dkim_verify_field(struct dkim_verify *dv, const struct hdr *h, size_t index)
{
	struct vsig *vs = calloc(1, sizeof(*vs));

	if (vs == NULL)
		return -1;
	vs->index = index;
	vs->bh_id = -1;
	if (append(dv, vs) != 0) {
		free(vs);
		return -1;
	}
	return start(dv, vs, h);
}

size_t
dkim_verify_count(const struct dkim_verify *dv)
{
	return dv->n;
}

/* The shortest b= prefix (>= BPREFIX_MIN) unique among the signatures. */
static void
set_prefix_lengths(struct dkim_verify *dv)
{
	for (size_t i = 0; i < dv->n; i++) {
		const char *a = dv->v[i]->sig.bprefix;
		size_t len = strlen(a) < BPREFIX_MIN ? strlen(a) : BPREFIX_MIN;

		for (size_t k = 0; k < dv->n; k++) {
			const char *b = dv->v[k]->sig.bprefix;

			while (k != i && len < strlen(a) &&
			       strncmp(a, b, len) == 0)
				len++;
		}
		dv->v[i]->bprefix_len = len;
	}
}

/* t= and x= against the clock, with DKIM_CLOCK_SKEW of tolerance. */
static bool
check_time(const struct dkim_sig *s, time_t now, struct verdict *v)
{
	if (s->x >= 0 && (int64_t)now > s->x + DKIM_CLOCK_SKEW) {
		snprintf(v->reason, sizeof(v->reason), "signature expired");
		return false;
	}
	if (s->t >= 0 && s->t > (int64_t)now + DKIM_CLOCK_SKEW) {
		snprintf(v->reason, sizeof(v->reason),
		         "signature timestamp in the future");
		return false;
	}
	return true;
}

/* Whether the key may verify this signature (RFC 6376 3.6.1, RFC 8301). */
static bool
check_key(const struct dkim_verify *dv, const struct dkim_sig *s,
          const struct dkim_key *k, struct verdict *v)
{
	const char *at = strrchr(s->auid, '@');

	if (k->type != s->keytype)
		snprintf(v->reason, sizeof(v->reason),
		         "key type does not match a=");
	else if (!(k->hashes & DKIM_KEY_SHA256))
		snprintf(v->reason, sizeof(v->reason),
		         "key does not allow sha256");
	else if (k->strict && (at == NULL || strcasecmp(at + 1, s->domain)))
		snprintf(v->reason, sizeof(v->reason),
		         "key requires i= to equal d= (t=s)");
	else if (k->type == PKEY_RSA && pkey_bits(k->pkey) < dv->s.min_rsa_bits)
		snprintf(v->reason, sizeof(v->reason),
		         "RSA key too small (%u bits, minimum %u)",
		         pkey_bits(k->pkey), dv->s.min_rsa_bits);
	else
		return true;
	return false;
}

/* Compare the body hash and apply the l= rules. */
static void
check_body(const struct dkim_verify *dv, const struct vsig *vs,
           struct verdict *v)
{
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;
	uint64_t clen = 0;
	int64_t l = vs->sig.l;

	v->result = AR_R_FAIL;
	if (bodyhash_result(dv->bh, vs->bh_id, md, &mdlen, &clen) != 0 ||
	    mdlen != vs->sig.bhlen || memcmp(md, vs->sig.bh, mdlen) != 0) {
		snprintf(v->reason, sizeof(v->reason),
		         "body hash did not verify");
		return;
	}
	if (l >= 0 && clen < (uint64_t)l) {
		snprintf(v->reason, sizeof(v->reason), "body shorter than l=");
		return;
	}
	v->result = AR_R_PASS;
	if (l < 0 || clen == (uint64_t)l)
		return;
	if (dv->s.body_length == BODY_LENGTH_NO_PASS) {
		v->result = AR_R_POLICY;
		snprintf(v->reason, sizeof(v->reason),
		         "l= signs only %lld of %llu body bytes", (long long)l,
		         (unsigned long long)clen);
	} else {
		v->comment = "l= signs only part of the body";
	}
}

/* Verify one parsed signature; -1 only for internal failures. */
static int
verify_one(struct dkim_verify *dv, struct vsig *vs, const struct hdr *h,
           time_t now, struct verdict *v)
{
	const struct dkim_key *key = NULL;
	const char *why = NULL;
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;
	int ok;

	v->result = AR_R_PERMERROR;
	if (!check_time(&vs->sig, now, v))
		return 0;
	if (vs->kq == NULL) {
		snprintf(v->reason, sizeof(v->reason), "no key lookup");
		v->result = AR_R_TEMPERROR;
		return 0;
	}
	v->result = keycache_wait(vs->kq, &key, &why);
	if (v->result != AR_R_PASS) {
		snprintf(v->reason, sizeof(v->reason), "%s",
		         why ? why : "no key");
		return 0;
	}
	v->result = AR_R_PERMERROR;
	if (!check_key(dv, &vs->sig, key, v))
		return 0;
	if (key->testing)
		v->comment = "testing key";
	if (dkim_sig_header_hash(&vs->sig, h, vs->index, md, &mdlen) != 0)
		return -1;
	if ((ok = pkey_verify(key->pkey, md, mdlen, vs->sig.b, vs->sig.blen)) <
	    0)
		return -1;
	if (ok == 0) {
		v->result = AR_R_FAIL;
		snprintf(v->reason, sizeof(v->reason),
		         "signature did not verify");
		return 0;
	}
	check_body(dv, vs, v);
	return 0;
}

static int
evaluate(struct dkim_verify *dv, struct vsig *vs, const struct hdr *h,
         time_t now, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->result = AR_R_NEUTRAL;
	if (vs->skipped) {
		snprintf(v->reason, sizeof(v->reason),
		         "not evaluated: more than %u signatures",
		         dv->s.max_signatures);
		return 0;
	}
	if (vs->error != NULL) {
		v->result = AR_R_PERMERROR;
		snprintf(v->reason, sizeof(v->reason), "%s", vs->error);
		return 0;
	}
	if (hdr_overflowed(h)) {
		snprintf(v->reason, sizeof(v->reason),
		         "not evaluated: header section too large");
		return 0;
	}
	return verify_one(dv, vs, h, now, v);
}

static int
key_for(enum ar_result r)
{
	switch (r) {
	case AR_R_FAIL:
	case AR_R_POLICY:
		return POLICY_K_DKIM_FAIL;
	case AR_R_PERMERROR:
		return POLICY_K_DKIM_PERMERROR;
	case AR_R_TEMPERROR:
		return POLICY_K_DKIM_TEMPERROR;
	default:
		return RESULT_NO_KEY;
	}
}

/* Add a property when its value is known. */
static int
prop(struct result *r, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	return result_prop(r, "header", name, value);
}

static int
add_result(const struct vsig *vs, const struct verdict *v, struct resultset *rs)
{
	struct result *r = resultset_add(rs, AR_M_DKIM, v->result);
	const struct dkim_sig *s = &vs->sig;
	char b[sizeof(s->bprefix)];

	if (r == NULL)
		return -1;
	r->key = key_for(v->result);
	snprintf(b, sizeof(b), "%.*s", (int)vs->bprefix_len, s->bprefix);
	if ((v->reason[0] != '\0' && result_reason(r, "%s", v->reason)) ||
	    (v->comment != NULL && result_comment(r, "%s", v->comment)) ||
	    prop(r, "d", s->domain) || prop(r, "i", s->auid) ||
	    prop(r, "s", s->selector) || prop(r, "a", s->algorithm) ||
	    prop(r, "b", b))
		return -1;
	if (v->result != AR_R_PASS && v->result != AR_R_NEUTRAL &&
	    result_reply(r, "DKIM signature%s%s: %s",
	                 s->domain[0] ? " of " : "", s->domain, v->reason) != 0)
		return -1;
	return 0;
}

int
dkim_verify_finish(struct dkim_verify *dv, const struct hdr *h, time_t now,
                   struct resultset *rs)
{
	struct verdict v;

	size_t rest = dv->n > DKIM_REPORT_MAX ? dv->n - DKIM_REPORT_MAX : 0;
	struct result *r;

	set_prefix_lengths(dv);
	for (size_t i = 0; i < dv->n - rest; i++) {
		if (evaluate(dv, dv->v[i], h, now, &v) != 0 ||
		    add_result(dv->v[i], &v, rs) != 0)
			return -1;
	}
	if (rest == 0)
		return 0;
	/* Past DKIM_REPORT_MAX the signatures are summed up in one record,
	 * so a message cannot make our A-R grow without bound. */
	if ((r = resultset_add(rs, AR_M_DKIM, AR_R_NEUTRAL)) == NULL ||
	    result_reason(r, "not evaluated: %zu more signatures", rest) != 0)
		return -1;
	return 0;
}

void
dkim_verify_free(struct dkim_verify *dv)
{
	if (dv == NULL)
		return;
	for (size_t i = 0; i < dv->n; i++) {
		dkim_sig_clear(&dv->v[i]->sig);
		key_query_free(dv->v[i]->kq);
		free(dv->v[i]);
	}
	free(dv->v);
	free(dv);
}
