/*
 * arc_verify: ARC chain validation of one message (see arc_verify.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc_set.h"
#include "arc_verify.h"
#include "authres.h"
#include "dkim_sig.h"
#include "dkim_verify.h"
#include "hash.h"
#include "hdr.h"
#include "keycache.h"
#include "policy.h"
#include "result.h"

/* What was started for the AMS and AS of one instance. */
struct started {
	struct key_query *kq[2]; /* AMS, AS */
	int bh_id;               /* AMS body hash id, or -1 */
	const char *bh_why;      /* why there is none (static), or NULL */
};

struct arc_verify {
	struct keycache *kc;
	struct dns *dns;
	struct bodyhash *bh;
	struct arc_set *set;
	struct started st[ARC_MAX_INSTANCE + 1];
	unsigned n;
	bool passed;
};

/* The outcome of one signature. */
struct verdict {
	bool ok;
	bool temporary;             /* the key lookup failed temporarily */
	char why[ARC_WHY_MAX - 40]; /* room for the field and instance */
};

struct arc_verify *
arc_verify_new(struct keycache *kc, struct dns *d, struct bodyhash *bh)
{
	struct arc_verify *av = calloc(1, sizeof(*av));

	if (av == NULL)
		return NULL;
	if ((av->set = arc_set_new()) == NULL) {
		free(av);
		return NULL;
	}
	av->kc = kc;
	av->dns = d;
	av->bh = bh;
	for (unsigned i = 0; i <= ARC_MAX_INSTANCE; i++)
		av->st[i].bh_id = -1;
	return av;
}

/* Register the body hash an AMS needs (before the body starts). */
static void
want_body(struct arc_verify *av, struct started *st, const struct dkim_sig *s)
{
	if (s->hash == HASH_SHA1)
		return;
	st->bh_id = bodyhash_want(av->bh, s->bcanon, s->hash, s->l);
	if (st->bh_id < 0)
		st->bh_why = "too many different body hashes";
}

int
arc_verify_field(struct arc_verify *av, const struct hdr *h, size_t index)
{
	int i = arc_set_add(av->set, h, index), k;
	const struct dkim_sig *s;
	struct started *st;

	if (i <= 0)
		return i;
	k = arc_field_kind(hdr_get(h, index));
	if (k == ARC_AAR ||
	    (s = arc_set_sig(av->set, (unsigned)i, k, NULL)) == NULL)
		return 0;
	st = &av->st[i];
	if (k == ARC_AMS)
		want_body(av, st, s);
	if (s->hash == HASH_SHA1)
		return 0; /* never verifies: no lookup */
	st->kq[k - 1] = keycache_start(av->kc, av->dns, s->selector, s->domain);
	return st->kq[k - 1] != NULL ? 0 : -1;
}

__attribute__((format(printf, 2, 3))) static bool
fail(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
	v->ok = false;
	return false;
}

/* t= and x= against the clock (as dkim_verify does). */
static bool
check_time(const struct dkim_sig *s, time_t now, struct verdict *v)
{
	if (s->x >= 0 && (int64_t)now > s->x + DKIM_CLOCK_SKEW)
		return fail(v, "signature expired");
	if (s->t >= 0 && s->t > (int64_t)now + DKIM_CLOCK_SKEW)
		return fail(v, "signature timestamp in the future");
	return true;
}

/* The key: fetched, usable for this signature (RFC 6376 3.6.1, RFC 8301). */
static const struct dkim_key *
get_key(struct key_query *kq, const struct dkim_sig *s, struct verdict *v)
{
	const struct dkim_key *k = NULL;
	const char *why = NULL;
	enum ar_result r;

	if (kq == NULL) {
		fail(v, "no key lookup");
		return NULL;
	}
	if ((r = keycache_wait(kq, &k, &why)) != AR_R_PASS) {
		v->temporary = r == AR_R_TEMPERROR;
		fail(v, "%s", why != NULL ? why : "no key");
		return NULL;
	}
	if (k->type != s->keytype)
		fail(v, "key type does not match a=");
	else if (!(k->hashes & DKIM_KEY_SHA256))
		fail(v, "key does not allow sha256");
	else if (k->type == PKEY_RSA && pkey_bits(k->pkey) < ARC_MIN_RSA_BITS)
		fail(v, "RSA key too small (%u bits, minimum %u)",
		     pkey_bits(k->pkey), ARC_MIN_RSA_BITS);
	else
		return k;
	return NULL;
}

/* What every signature needs before its hash: parsed, allowed, in time,
 * a key.  NULL with v filled when it cannot verify. */
static const struct dkim_key *
prepare(struct arc_verify *av, unsigned i, enum arc_field k, time_t now,
        const struct dkim_sig **sp, struct verdict *v)
{
	const char *why = NULL;
	const struct dkim_sig *s = arc_set_sig(av->set, i, k, &why);

	*sp = s;
	if (s == NULL) {
		fail(v, "%s", why != NULL ? why : "missing");
		return NULL;
	}
	if (s->hash == HASH_SHA1) {
		fail(v, "rsa-sha1 is not allowed (RFC 8301)");
		return NULL;
	}
	if (!check_time(s, now, v))
		return NULL;
	return get_key(av->st[i].kq[k - 1], s, v);
}

/* The body hash of AMS i, with DKIM's l= rules made strict: an l= that
 * leaves body content unsigned does not pass. */
static bool
check_body(const struct arc_verify *av, unsigned i, const struct dkim_sig *s,
           struct verdict *v)
{
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;
	uint64_t clen = 0;
	const struct started *st = &av->st[i];

	if (st->bh_id < 0)
		return fail(v, "%s", st->bh_why ? st->bh_why : "no body hash");
	if (bodyhash_result(av->bh, st->bh_id, md, &mdlen, &clen) != 0 ||
	    mdlen != s->bhlen || memcmp(md, s->bh, mdlen) != 0)
		return fail(v, "body hash did not verify");
	if (s->l >= 0 && clen != (uint64_t)s->l)
		return fail(v, "l= does not cover the body");
	return true;
}

/* Whether the AMS covers an ARC-Seal.  Section 4.1.2 keeps every ARC
 * field out of h=; an AMS is made before its own AS, so an ARC-Seal it
 * lists can only be an older set's, whose validity the AS chain already
 * decides.  ARC-Authentication-Results (and ARC-Message-Signature) in
 * h= are tolerated: earlier drafts had the AMS sign its AAR, and chains
 * made so are still about. */
static bool
covers_seal(const struct dkim_sig *s)
{
	for (size_t i = 0; i < s->nh; i++)
		if (strcasecmp(s->h[i], "ARC-Seal") == 0)
			return true;
	return false;
}

/* The signature b= over the digest md: 1 valid (v->ok set), 0 invalid
 * (v says so), -1 when it could not be checked (out of memory). */
static int
check_sig(const struct dkim_key *key, const unsigned char *md, size_t mdlen,
          const struct dkim_sig *s, struct verdict *v)
{
	int r = pkey_verify(key->pkey, md, mdlen, s->b, s->blen);

	v->ok = r == 1;
	if (r == 0)
		fail(v, "signature did not verify");
	return r;
}

/* Verify AMS i (section 5.2 steps 4 and 5); -1 on internal failures. */
static int
verify_ams(struct arc_verify *av, const struct hdr *h, unsigned i, time_t now,
           struct verdict *v)
{
	const struct dkim_sig *s;
	const struct dkim_key *key = prepare(av, i, ARC_AMS, now, &s, v);
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;
	int r;

	if (key == NULL)
		return 0;
	v->ok = false;
	if (covers_seal(s)) {
		fail(v, "h= lists ARC-Seal (RFC 8617 section 4.1.2)");
		return 0;
	}
	if (dkim_sig_header_hash(s, h, arc_set_index(av->set, i, ARC_AMS), md,
	                         &mdlen) != 0)
		return -1;
	if ((r = check_sig(key, md, mdlen, s, v)) == 1)
		v->ok = check_body(av, i, s, v);
	return r < 0 ? -1 : 0;
}

/* Verify AS i over sets 1..i (section 5.2 step 6); -1 on internal
 * failures. */
static int
verify_as(struct arc_verify *av, const struct hdr *h, unsigned i, time_t now,
          struct verdict *v)
{
	const struct dkim_sig *s;
	const struct dkim_key *key = prepare(av, i, ARC_AS, now, &s, v);
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;

	if (key == NULL)
		return 0;
	if (arc_set_as_hash(av->set, h, i, md, &mdlen) != 0)
		return -1;
	return check_sig(key, md, mdlen, s, v) < 0 ? -1 : 0;
}

/* Steps 4 and 6: the latest AMS, then every AS from the top.  0 with
 * chain filled (pass or fail), -1 on internal failures. */
static int
validate(struct arc_verify *av, const struct hdr *h, time_t now,
         struct arc_chain *c)
{
	struct verdict v = {0};
	unsigned n = c->n;

	if (verify_ams(av, h, n, now, &v) != 0)
		return -1;
	if (!v.ok) {
		snprintf(c->reason, sizeof(c->reason),
		         "ARC-Message-Signature i=%u: %s", n, v.why);
		c->can_seal = c->can_seal && !v.temporary;
		return 0;
	}
	for (unsigned i = n; i >= 1; i--) {
		memset(&v, 0, sizeof(v));
		if (verify_as(av, h, i, now, &v) != 0)
			return -1;
		if (!v.ok) {
			snprintf(c->reason, sizeof(c->reason),
			         "ARC-Seal i=%u: %s", i, v.why);
			c->can_seal = c->can_seal && !v.temporary;
			return 0;
		}
	}
	c->cv = ARC_CV_PASS;
	return 0;
}

/* Step 5: the oldest AMS that still verifies, 0 when all do. */
static int
oldest_pass(struct arc_verify *av, const struct hdr *h, time_t now, int *op)
{
	struct verdict v;

	*op = 0;
	for (unsigned m = av->n - 1; m >= 1; m--) {
		memset(&v, 0, sizeof(v));
		if (verify_ams(av, h, m, now, &v) != 0)
			return -1;
		if (!v.ok) {
			*op = (int)m + 1;
			break;
		}
	}
	return 0;
}

/* Structure first (steps 1-3), then the signatures. */
static int
evaluate(struct arc_verify *av, const struct hdr *h, time_t now,
         struct arc_chain *c)
{
	struct arc_set_check st;

	arc_set_check(av->set, &st);
	c->n = av->n = st.n;
	c->seal_instance = st.n + 1;
	c->can_seal = !st.latest_fail && st.n < ARC_MAX_INSTANCE;
	c->cv = ARC_CV_FAIL;
	if (hdr_overflowed(h)) {
		snprintf(c->reason, sizeof(c->reason),
		         "header section too large to verify");
		c->can_seal = false;
		return 0;
	}
	if (st.state == ARC_SET_EMPTY) {
		c->cv = ARC_CV_NONE;
		return 0;
	}
	if (st.state == ARC_SET_INVALID) {
		snprintf(c->reason, sizeof(c->reason), "%s", st.why);
		return 0;
	}
	if (validate(av, h, now, c) != 0)
		return -1;
	if (c->cv == ARC_CV_PASS && oldest_pass(av, h, now, &c->oldest_pass))
		return -1;
	return 0;
}

static int
add_result(const struct arc_chain *c, const char *client_ip,
           struct resultset *rs)
{
	static const enum ar_result r[] = {
	    [ARC_CV_NONE] = AR_R_NONE,
	    [ARC_CV_PASS] = AR_R_PASS,
	    [ARC_CV_FAIL] = AR_R_FAIL,
	};
	struct result *res = resultset_add(rs, AR_M_ARC, r[c->cv]);
	char op[16];

	if (res == NULL)
		return -1;
	snprintf(op, sizeof(op), "%d", c->oldest_pass);
	if (c->cv == ARC_CV_PASS &&
	    result_prop(res, "header", "oldest-pass", op) != 0)
		return -1;
	if (client_ip != NULL && client_ip[0] != '\0' &&
	    result_prop(res, "smtp", "remote-ip", client_ip) != 0)
		return -1;
	if (c->cv != ARC_CV_FAIL)
		return 0;
	res->key = POLICY_K_ARC_FAIL;
	if (result_reason(res, "%s", c->reason) != 0 ||
	    result_reply(res, "ARC validation failed: %s", c->reason) != 0)
		return -1;
	return 0;
}

int
arc_verify_finish(struct arc_verify *av, const struct hdr *h,
                  const char *client_ip, time_t now, struct resultset *rs,
                  struct arc_chain *chain)
{
	memset(chain, 0, sizeof(*chain));
	chain->oldest_pass = -1;
	if (evaluate(av, h, now, chain) != 0)
		return -1;
	if (chain->cv != ARC_CV_PASS)
		chain->oldest_pass = -1;
	av->passed = chain->cv == ARC_CV_PASS;
	return add_result(chain, client_ip, rs);
}

const struct arc_set *
arc_verify_set(const struct arc_verify *av)
{
	return av->set;
}

const char *
arc_verify_sealer(const struct arc_verify *av, unsigned i)
{
	const struct dkim_sig *s;

	if (!av->passed || i < 1 || i > av->n)
		return NULL;
	s = arc_set_sig(av->set, i, ARC_AS, NULL);
	return s != NULL ? s->domain : NULL;
}

int
arc_verify_aar(const struct arc_verify *av, const struct hdr *h, unsigned i,
               struct authres_parsed *out)
{
	if (!av->passed || i < 1 || i > av->n) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return arc_set_aar(av->set, h, i, out);
}

void
arc_verify_free(struct arc_verify *av)
{
	if (av == NULL)
		return;
	for (unsigned i = 0; i <= ARC_MAX_INSTANCE; i++) {
		key_query_free(av->st[i].kq[0]);
		key_query_free(av->st[i].kq[1]);
	}
	arc_set_free(av->set);
	free(av);
}
