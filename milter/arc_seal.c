/*
 * arc_seal: make this hop's ARC set (see arc_seal.h).
 *
 * Each signature field is built as a head ending in "b=" and a tail (the
 * tags after b=, empty in the default order), CRLF-folded as it will
 * travel.  The signed form is head + tail (b= empty, RFC 6376 section
 * 3.7); the value is head + the folded signature + tail.  The AS signs
 * the AMS as it will be inserted, folds and all: relaxed
 * canonicalization turns every fold into one space on both sides.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc_seal.h"
#include "arc_set.h"
#include "b64.h"
#include "canon.h"
#include "dkim_sig.h"
#include "hash.h"
#include "hdr.h"
#include "pkey.h"

#define VALUE_MAX  (64 * 1024) /* bytes of one value we make */
#define B_FIRST    70          /* base64 characters after "b=" */
#define B_LINE     72          /* base64 characters per further line */
#define H_LINE     64          /* h= names per line, in characters */
#define H_PER_NAME 8           /* copies of one field signed, at most */

/* One signature field under construction. */
struct part {
	struct buf head, tail;
};

int
arc_seal_want(struct bodyhash *bh)
{
	return bodyhash_want(bh, CANON_RELAXED, HASH_SHA256, -1);
}

void
arc_seal_out_free(struct arc_seal_out *out)
{
	buf_free(&out->aar);
	buf_free(&out->ams);
	buf_free(&out->as);
}

/* Names the AMS must never sign (RFC 8617 section 4.1.2). */
static bool
excluded(const char *name)
{
	return strcasecmp(name, "Authentication-Results") == 0 ||
	       strncasecmp(name, "ARC-", 4) == 0;
}

/* How often name occurs, counting at most H_PER_NAME: a message with
 * thousands of copies of a field must not make an AMS too long to write
 * or to verify (DKIM_SIG_MAX_H).  The copies signed are the bottom ones
 * (RFC 6376 section 5.4.2). */
static size_t
occurrences(const struct hdr *h, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < hdr_count(h) && n < H_PER_NAME; i++)
		n += hdr_is(hdr_get(h, i), name);
	return n;
}

static bool
listed(char *const *list, size_t n, const char *name, size_t upto)
{
	for (size_t i = 0; i < n && i < upto; i++)
		if (strcasecmp(list[i], name) == 0)
			return true;
	return false;
}

/* The names h= lists, borrowed from the params or static. */
struct hlist {
	char **v;
	size_t n, cap;
};

/* Add name k times (never past DKIM_SIG_MAX_H names in all). */
static int
hl_add(struct hlist *l, char *name, size_t k)
{
	for (size_t i = 0; i < k && l->n < DKIM_SIG_MAX_H; i++) {
		if (l->n == l->cap) {
			size_t ncap = l->cap ? l->cap * 2 : 32;
			char **v = realloc(l->v, ncap * sizeof(*v));

			if (v == NULL)
				return -1;
			l->v = v;
			l->cap = ncap;
		}
		l->v[l->n++] = name;
	}
	return 0;
}

/* The h= list (section 4.1.2, see arc_seal.h). */
static int
build_hlist(const struct hdr *h, const struct arc_seal_params *p,
            struct hlist *l)
{
	static char from[] = "From", dkim[] = "DKIM-Signature";
	int rc = 0;

	for (size_t i = 0; i < p->nheaders && rc == 0; i++) {
		char *name = p->headers[i];

		if (!excluded(name) &&
		    !listed(p->headers, p->nheaders, name, i))
			rc = hl_add(l, name,
			            occurrences(h, name) +
			                listed(p->oversign, p->noversign, name,
			                       SIZE_MAX));
	}
	for (size_t i = 0; i < p->noversign && rc == 0; i++) {
		char *name = p->oversign[i];

		if (!excluded(name) &&
		    !listed(p->headers, p->nheaders, name, SIZE_MAX) &&
		    !listed(p->oversign, p->noversign, name, i))
			rc = hl_add(l, name, occurrences(h, name) + 1);
	}
	if (rc == 0 && !listed(l->v, l->n, dkim, SIZE_MAX))
		rc = hl_add(l, dkim, occurrences(h, dkim));
	if (rc == 0 && !listed(l->v, l->n, from, SIZE_MAX))
		rc = hl_add(l, from,
		            occurrences(h, from) ? occurrences(h, from) : 1);
	return rc;
}

/* Write the h= value, wrapped like the DKIM-Signature's. */
static int
put_hlist(struct buf *v, const struct hlist *l)
{
	size_t line = v->len;
	int rc = 0;

	for (size_t i = 0; i < l->n && rc == 0; i++) {
		if (i > 0 && v->len - line + strlen(l->v[i]) > H_LINE) {
			rc = buf_puts(v, ":\r\n\t  ");
			line = v->len;
		} else if (i > 0) {
			rc = buf_putc(v, ':');
		}
		rc = rc ? rc : buf_puts(v, l->v[i]);
	}
	return rc;
}

/* The base64 of sig, folded (B_FIRST characters, then lines of B_LINE)
 * or on one line. */
static int
put_b(struct buf *v, const struct buf *sig, bool fold)
{
	struct buf enc;
	size_t i = 0, n;
	int rc;

	buf_init(&enc, 0);
	rc = b64_encode((const unsigned char *)sig->data, sig->len, &enc);
	while (rc == 0 && i < enc.len) {
		n = !fold ? enc.len : i == 0 ? B_FIRST : B_LINE;
		if (n > enc.len - i)
			n = enc.len - i;
		if (i > 0)
			rc = buf_puts(v, "\r\n\t ");
		rc = rc ? rc : buf_append(v, enc.data + i, n);
		i += n;
	}
	buf_free(&enc);
	return rc;
}

/* "Name:" + head + tail: the field as it is signed, b= empty. */
static int
signed_form(const char *name, const struct part *pt, struct buf *raw)
{
	int rc = buf_printf(raw, "%s:", name);

	rc = rc ? rc : buf_append(raw, pt->head.data, pt->head.len);
	return rc ? rc : buf_append(raw, pt->tail.data, pt->tail.len);
}

/* Sign md and write the field value: head + folded b= + tail. */
static int
finish_part(const struct part *pt, const struct pkey *key,
            const unsigned char *md, size_t mdlen, bool fold, struct buf *out)
{
	struct buf sig;
	int rc;

	buf_init(&sig, 0);
	rc = pkey_sign(key, md, mdlen, &sig) == 0 ? 0 : -1;
	rc = rc ? rc : buf_append(out, pt->head.data, pt->head.len);
	rc = rc ? rc : put_b(out, &sig, fold);
	rc = rc ? rc : buf_append(out, pt->tail.data, pt->tail.len);
	buf_free(&sig);
	return rc;
}

static void
part_init(struct part *pt)
{
	buf_init(&pt->head, VALUE_MAX);
	buf_init(&pt->tail, VALUE_MAX);
}

static void
part_free(struct part *pt)
{
	buf_free(&pt->head);
	buf_free(&pt->tail);
}

/* The AMS tags around b= (see arc_seal.h for the two layouts). */
static int
ams_tags(const struct arc_seal_params *p, unsigned inst, const char *bh,
         const struct hlist *l, struct part *pt)
{
	struct buf *hd = &pt->head, *tl = &pt->tail;
	int rc;

	if (p->suite_layout) {
		rc = buf_puts(hd, " a=rsa-sha256;\r\n\tb=");
		rc = rc ? rc
		        : buf_printf(tl,
		                     ";\r\n\tbh=%s; c=relaxed/relaxed;"
		                     "\r\n\td=%s; h=",
		                     bh, p->domain);
		rc = rc ? rc : put_hlist(tl, l);
		return rc ? rc
		          : buf_printf(tl, ";\r\n\ti=%u; s=%s; t=%lld", inst,
		                       p->selector, (long long)p->now);
	}
	rc = buf_printf(hd,
	                " i=%u; a=rsa-sha256; c=relaxed/relaxed;\r\n\t"
	                "d=%s; s=%s; t=%lld;\r\n\th=",
	                inst, p->domain, p->selector, (long long)p->now);
	rc = rc ? rc : put_hlist(hd, l);
	return rc ? rc : buf_printf(hd, ";\r\n\tbh=%s;\r\n\tb=", bh);
}

/* The AS tags around b=. */
static int
as_tags(const struct arc_seal_params *p, unsigned inst, const char *cv,
        struct part *pt)
{
	if (p->suite_layout)
		return buf_puts(&pt->head, " a=rsa-sha256;\r\n\tb=") ||
		       buf_printf(&pt->tail,
		                  "; cv=%s; d=%s; i=%u; s=%s;\r\n\t"
		                  "t=%lld",
		                  cv, p->domain, inst, p->selector,
		                  (long long)p->now);
	return buf_printf(&pt->head,
	                  " i=%u; a=rsa-sha256; cv=%s; d=%s; "
	                  "s=%s; t=%lld;\r\n\tb=",
	                  inst, cv, p->domain, p->selector, (long long)p->now);
}

/* The AAR value: " i=N; " + the A-R value, trimmed, every line break
 * made CRLF and followed by WSP (a fold). */
static int
make_aar(unsigned inst, const char *ar, struct buf *out)
{
	const char *p = ar, *end = ar + strlen(ar);
	int rc = buf_printf(out, " i=%u; ", inst);

	while (p < end && strchr(" \t\r\n", *p))
		p++;
	while (end > p && strchr(" \t\r\n", end[-1]))
		end--;
	for (; p < end && rc == 0; p++) {
		if (*p == '\r' && p + 1 < end && p[1] == '\n')
			continue;
		if (*p != '\r' && *p != '\n')
			rc = buf_putc(out, *p);
		else if ((rc = buf_puts(out, "\r\n")) == 0 &&
		         !strchr(" \t", p[1]))
			rc = buf_putc(out, '\t');
	}
	return rc;
}

/* The AMS value into out: h= list, body hash, signature. */
static int
make_ams(const struct hdr *h, const struct bodyhash *bh, int bh_id,
         const struct arc_seal_params *p, unsigned inst, struct buf *out)
{
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;
	uint64_t clen;
	struct hlist l = {0};
	struct buf bhb, raw;
	struct part pt;
	int rc;

	buf_init(&bhb, 0);
	buf_init(&raw, VALUE_MAX);
	part_init(&pt);
	rc = bodyhash_result(bh, bh_id, md, &mdlen, &clen);
	rc = rc ? rc : b64_encode(md, mdlen, &bhb);
	rc = rc ? rc : build_hlist(h, p, &l);
	rc = rc ? rc : ams_tags(p, inst, buf_cstr(&bhb), &l, &pt);
	rc = rc ? rc : signed_form("ARC-Message-Signature", &pt, &raw);
	if (rc == 0)
		rc = dkim_sig_hash_fields(CANON_RELAXED, HASH_SHA256, l.v, l.n,
		                          h, (size_t)-1, raw.data, raw.len, md,
		                          &mdlen);
	rc = rc ? rc
	        : finish_part(&pt, p->key, md, mdlen, !p->suite_layout, out);
	free(l.v);
	buf_free(&bhb);
	buf_free(&raw);
	part_free(&pt);
	return rc ? -1 : 0;
}

/* The AS value into out, over the prior sets and the new AAR and AMS. */
static int
make_as(const struct hdr *h, const struct arc_set *set,
        const struct arc_chain *c, const struct arc_seal_params *p,
        const struct buf *aar, const struct buf *ams, struct buf *out)
{
	static const char *const cvs[] = {[ARC_CV_NONE] = "none",
	                                  [ARC_CV_PASS] = "pass",
	                                  [ARC_CV_FAIL] = "fail"};
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;
	struct buf raw[3];
	const char *last[3];
	size_t lastlen[3];
	struct part pt;
	int rc;

	for (int k = 0; k < 3; k++)
		buf_init(&raw[k], VALUE_MAX);
	part_init(&pt);
	rc = buf_printf(&raw[0], "ARC-Authentication-Results:%s", aar->data);
	rc = rc ? rc
	        : buf_printf(&raw[1], "ARC-Message-Signature:%s", ams->data);
	rc = rc ? rc : as_tags(p, c->seal_instance, cvs[c->cv], &pt);
	rc = rc ? rc : signed_form("ARC-Seal", &pt, &raw[2]);
	for (int k = 0; k < 3; k++) {
		last[k] = raw[k].data;
		lastlen[k] = raw[k].len;
	}
	/* Section 5.1.2: on a failed chain the AS covers only our set. */
	if (rc == 0)
		rc = arc_set_seal_hash(set, h, c->cv == ARC_CV_PASS ? c->n : 0,
		                       last, lastlen, md, &mdlen);
	rc = rc ? rc : finish_part(&pt, p->key, md, mdlen, true, out);
	for (int k = 0; k < 3; k++)
		buf_free(&raw[k]);
	part_free(&pt);
	return rc ? -1 : 0;
}

int
arc_seal_make(const struct hdr *h, const struct arc_set *set,
              const struct arc_chain *chain, const struct bodyhash *bh,
              int bh_id, const char *authres, const struct arc_seal_params *p,
              struct arc_seal_out *out, struct errbuf *eb)
{
	unsigned inst = chain->seal_instance;

	buf_init(&out->aar, VALUE_MAX);
	buf_init(&out->ams, VALUE_MAX);
	buf_init(&out->as, VALUE_MAX);
	if (!chain->can_seal || inst < 1 || inst > ARC_MAX_INSTANCE)
		return 0;
	if (pkey_type(p->key) != PKEY_RSA || !pkey_is_private(p->key)) {
		errbuf_set(eb, "ARC sealing needs an RSA private key");
		return -1;
	}
	if (make_aar(inst, authres, &out->aar) != 0 ||
	    make_ams(h, bh, bh_id, p, inst, &out->ams) != 0 ||
	    make_as(h, set, chain, p, &out->aar, &out->ams, &out->as) != 0) {
		errbuf_set(eb, "ARC sealing failed (out of memory or a "
		               "signing error)");
		arc_seal_out_free(out);
		return -1;
	}
	buf_crlf_to_lf(&out->aar);
	buf_crlf_to_lf(&out->ams);
	buf_crlf_to_lf(&out->as);
	return 1;
}
