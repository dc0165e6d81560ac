/*
 * dkim_sign: DKIM signatures for outbound mail (see dkim_sign.h).
 *
 * The field is built twice in one buffer: first with "b=" empty, folded
 * with CRLF as it will travel, and hashed (RFC 6376 section 3.7); then
 * the signature is appended after "b=" in folded lines and the CRLF
 * folds become "\n" for libmilter (the MTA writes CRLF on the wire).
 * Folding inside b= is harmless: verifiers remove the b= value with the
 * whitespace around it before hashing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "dkim_sig.h"
#include "dkim_sign.h"
#include "hash.h"
#include "hdr.h"
#include "pkey.h"
#include "policy.h"

#define SIG_MAX (64 * 1024) /* bytes of one DKIM-Signature value */
#define B_LINE  72          /* base64 characters per folded line */

/* One signature to make. */
struct job {
	size_t key; /* index in policy->sign.keys */
	int bh_id;  /* body hash id in the shared set */
	struct buf value;
};

struct dkim_sign {
	const struct policy *p;
	struct pkey *const *keys;
	struct bodyhash *bh;
	enum canon hcanon, bcanon;
	size_t n;
	struct job *jobs;
};

static const enum canon canon_head[] = {
    [CANON_SIMPLE_SIMPLE] = CANON_SIMPLE,
    [CANON_SIMPLE_RELAXED] = CANON_SIMPLE,
    [CANON_RELAXED_SIMPLE] = CANON_RELAXED,
    [CANON_RELAXED_RELAXED] = CANON_RELAXED,
};
static const enum canon canon_body[] = {
    [CANON_SIMPLE_SIMPLE] = CANON_SIMPLE,
    [CANON_SIMPLE_RELAXED] = CANON_RELAXED,
    [CANON_RELAXED_SIMPLE] = CANON_SIMPLE,
    [CANON_RELAXED_RELAXED] = CANON_RELAXED,
};

struct dkim_sign *
dkim_sign_new(const struct policy *p, struct pkey *const *keys,
              struct bodyhash *bh)
{
	struct dkim_sign *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->p = p;
	s->keys = keys;
	s->bh = bh;
	s->hcanon = canon_head[p->sign.canonicalization];
	s->bcanon = canon_body[p->sign.canonicalization];
	return s;
}

/* Whether the author domain is the key's domain or below it. */
static bool
covers(const char *keydomain, const char *author)
{
	size_t kl = strlen(keydomain), al = strlen(author);

	if (al < kl || strcasecmp(author + al - kl, keydomain) != 0)
		return false;
	return al == kl || author[al - kl - 1] == '.';
}

int
dkim_sign_prepare(struct dkim_sign *s, const struct hdr *h, const char **why)
{
	struct hdr_from from;
	const struct policy *p = s->p;

	*why = NULL;
	hdr_from(h, &from);
	if (from.status != HDR_FROM_OK) {
		*why = from.why;
		return 0;
	}
	if ((s->jobs = calloc(p->sign.nkeys, sizeof(*s->jobs))) == NULL)
		return -1;
	for (size_t i = 0; i < p->sign.nkeys; i++) {
		struct job *j = &s->jobs[s->n];

		if (!covers(p->sign.keys[i].domain, from.domain))
			continue;
		j->key = i;
		j->bh_id = bodyhash_want(s->bh, s->bcanon, HASH_SHA256, -1);
		if (j->bh_id < 0)
			return -1;
		buf_init(&j->value, SIG_MAX);
		s->n++;
	}
	if (s->n == 0)
		*why = "no signing key for the From domain";
	return (int)s->n;
}

/* How often name occurs in h. */
static size_t
occurrences(const struct hdr *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < hdr_count(h); i++)
		n += hdr_is(hdr_get(h, i), name);
	return n;
}

static bool
listed(char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(list[i], name) == 0)
			return true;
	return false;
}

/* Add name to the h= list k times. */
static int
add_names(char ***names, size_t *n, size_t *cap, char *name, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 32;
			char **p = realloc(*names, ncap * sizeof(*p));

			if (p == NULL)
				return -1;
			*names = p;
			*cap = ncap;
		}
		(*names)[(*n)++] = name;
	}
	return 0;
}

/* The h= list: each configured field as often as it occurs, the
 * oversigned ones once more (RFC 6376 sections 5.4.2 and 8.15).  The
 * strings are borrowed from the policy. */
static int
header_list(const struct policy *p, const struct hdr *h, char ***names,
            size_t *n)
{
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	for (size_t i = 0; i < p->sign.nheaders; i++) {
		char *name = p->sign.headers[i];
		size_t k = occurrences(h, name) +
		           listed(p->sign.oversign, p->sign.noversign, name);

		if (add_names(names, n, &cap, name, k) != 0)
			return -1;
	}
	for (size_t i = 0; i < p->sign.noversign; i++) {
		char *name = p->sign.oversign[i];

		if (!listed(p->sign.headers, p->sign.nheaders, name) &&
		    add_names(names, n, &cap, name, occurrences(h, name) + 1))
			return -1;
	}
	return 0;
}

/* The tags up to "b=", folded with CRLF: the text that is hashed. */
static int
write_tags(struct dkim_sign *s, const struct job *j, char *const *names,
           size_t n, time_t now, struct buf *v)
{
	const struct policy_signkey *k = &s->p->sign.keys[j->key];
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0, line;
	uint64_t clen;
	int rc;

	if (bodyhash_result(s->bh, j->bh_id, md, &mdlen, &clen) != 0)
		return -1;
	rc = buf_printf(v, " v=1; a=%s; c=%s/%s; d=%s; s=%s;\r\n\tt=%lld;",
	                k->algorithm, canon_name(s->hcanon),
	                canon_name(s->bcanon), k->domain, k->selector,
	                (long long)now);
	if (rc == 0 && s->p->sign.expire_seconds > 0)
		rc = buf_printf(v, " x=%lld;",
		                (long long)now + s->p->sign.expire_seconds);
	rc = rc ? rc : buf_puts(v, " h=");
	line = v->len;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (i > 0 && v->len - line + strlen(names[i]) > 64) {
			rc = buf_puts(v, ":\r\n\t  ");
			line = v->len;
		} else if (i > 0)
			rc = buf_putc(v, ':');
		rc = rc ? rc : buf_puts(v, names[i]);
	}
	rc = rc ? rc : buf_puts(v, ";\r\n\tbh=");
	rc = rc ? rc : b64_encode(md, mdlen, v);
	return rc ? rc : buf_puts(v, ";\r\n\tb=");
}

/* Append the base64 signature in folded lines. */
static int
append_b(struct buf *v, const struct buf *sig)
{
	struct buf enc;
	int rc;

	buf_init(&enc, 0);
	rc = b64_encode((const unsigned char *)sig->data, sig->len, &enc);
	for (size_t i = 0; rc == 0 && i < enc.len; i += B_LINE) {
		size_t n = enc.len - i < B_LINE ? enc.len - i : B_LINE;

		if (i > 0)
			rc = buf_puts(v, "\r\n\t ");
		rc = rc ? rc : buf_append(v, enc.data + i, n);
	}
	buf_free(&enc);
	return rc;
}

static int
sign_one(struct dkim_sign *s, struct job *j, const struct hdr *h,
         char *const *names, size_t n, time_t now)
{
	struct buf raw, sig;
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;
	int rc;

	buf_init(&raw, SIG_MAX);
	buf_init(&sig, 0);
	rc = write_tags(s, j, names, n, now, &j->value);
	rc = rc ? rc : buf_puts(&raw, "DKIM-Signature:");
	rc = rc ? rc : buf_append(&raw, j->value.data, j->value.len);
	if (rc == 0)
		rc = dkim_sig_hash_fields(s->hcanon, HASH_SHA256, names, n, h,
		                          (size_t)-1, raw.data, raw.len, md,
		                          &mdlen);
	if (rc == 0)
		rc = pkey_sign(s->keys[j->key], md, mdlen, &sig);
	rc = rc ? rc : append_b(&j->value, &sig);
	if (rc == 0)
		buf_crlf_to_lf(&j->value);
	buf_free(&raw);
	buf_free(&sig);
	return rc ? -1 : 0;
}

int
dkim_sign_finish(struct dkim_sign *s, const struct hdr *h, time_t now)
{
	char **names;
	size_t n;
	int rc = 0;

	if (s->n == 0)
		return 0;
	if (header_list(s->p, h, &names, &n) != 0)
		return -1;
	for (size_t i = 0; i < s->n && rc == 0; i++)
		rc = sign_one(s, &s->jobs[i], h, names, n, now);
	free(names);
	if (rc != 0)
		for (size_t i = 0; i < s->n; i++)
			buf_reset(&s->jobs[i].value);
	return rc;
}

size_t
dkim_sign_count(const struct dkim_sign *s)
{
	return s->n;
}

const char *
dkim_sign_value(const struct dkim_sign *s, size_t i)
{
	return buf_cstr(&s->jobs[i].value);
}

const char *
dkim_sign_domain(const struct dkim_sign *s, size_t i)
{
	return s->p->sign.keys[s->jobs[i].key].domain;
}

const char *
dkim_sign_selector(const struct dkim_sign *s, size_t i)
{
	return s->p->sign.keys[s->jobs[i].key].selector;
}

void
dkim_sign_free(struct dkim_sign *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		buf_free(&s->jobs[i].value);
	free(s->jobs);
	free(s);
}
