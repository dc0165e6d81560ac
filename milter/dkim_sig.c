/*
 * dkim_sig: signature field parsing and header hashing for DKIM and ARC
 * (see dkim_sig.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "canon.h"
#include "dkim_sig.h"
#include "hash.h"
#include "hdr.h"
#include "tagval.h"

#define HEADER_DATA_MAX (4 * 1024 * 1024) /* canonical header bytes hashed */

/* Required tags per kind (RFC 6376 section 3.5, RFC 8617 section 4.1),
 * with the reason given when one is missing. */
struct required_tag {
	const char *tag, *why;
};
static const struct required_tag required[][8] = {
    [DKIM_SIG_DKIM] = {{"v", "missing v= tag"},
                       {"a", "missing a= tag"},
                       {"b", "missing b= tag"},
                       {"bh", "missing bh= tag"},
                       {"d", "missing d= tag"},
                       {"h", "missing h= tag"},
                       {"s", "missing s= tag"},
                       {NULL, NULL}},
    [DKIM_SIG_AMS] = {{"i", "missing i= tag"},
                      {"a", "missing a= tag"},
                      {"b", "missing b= tag"},
                      {"bh", "missing bh= tag"},
                      {"d", "missing d= tag"},
                      {"h", "missing h= tag"},
                      {"s", "missing s= tag"},
                      {NULL, NULL}},
    [DKIM_SIG_AS] = {{"i", "missing i= tag"},
                     {"a", "missing a= tag"},
                     {"b", "missing b= tag"},
                     {"cv", "missing cv= tag"},
                     {"d", "missing d= tag"},
                     {"s", "missing s= tag"},
                     {NULL, NULL}},
};

int
dkim_sig_algorithm(const char *s, size_t len, enum pkey_type *kt,
                   enum hash_alg *ha)
{
	static const struct {
		const char *name;
		enum pkey_type kt;
		enum hash_alg ha;
	} algs[] = {
	    {"rsa-sha256", PKEY_RSA, HASH_SHA256},
	    {"ed25519-sha256", PKEY_ED25519, HASH_SHA256},
	    {"rsa-sha1", PKEY_RSA, HASH_SHA1},
	};

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strlen(algs[i].name) == len &&
		    strncasecmp(algs[i].name, s, len) == 0) {
			*kt = algs[i].kt;
			*ha = algs[i].ha;
			return 0;
		}
	return -1;
}

/* A decimal of at most maxdigits digits; -1 if malformed. */
static int64_t
parse_num(const struct tagval *t, size_t maxdigits)
{
	int64_t v = 0;

	if (t->len == 0 || t->len > maxdigits)
		return -1;
	for (size_t i = 0; i < t->len; i++) {
		if (t->value[i] < '0' || t->value[i] > '9')
			return -1;
		v = v * 10 + (t->value[i] - '0');
	}
	return v;
}

/* Whether s is a sequence of DNS labels (letters, digits, '-', '_'). */
static bool
valid_labels(const char *s)
{
	size_t n = 0;

	if (*s == '\0' || strlen(s) > 253)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (n == 0)
				return false;
			n = 0;
			continue;
		}
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
		if (++n > 63)
			return false;
	}
	return n > 0;
}

/* Copy a tag value lower-cased into out; -1 if it does not fit. */
static int
copy_lower(const struct tagval *t, char *out, size_t outsz)
{
	if (tagval_copy(t, out, outsz) != 0)
		return -1;
	for (char *p = out; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return 0;
}

/* c=header/body; body defaults to simple (section 3.5). */
static int
parse_canon(const struct tagval *t, struct dkim_sig *s)
{
	const char *slash = memchr(t->value, '/', t->len);
	size_t hlen = slash ? (size_t)(slash - t->value) : t->len;
	int hc = canon_parse(t->value, hlen), bc = CANON_SIMPLE;

	if (slash != NULL)
		bc = canon_parse(slash + 1, t->len - hlen - 1);
	if (hc < 0 || bc < 0)
		return -1;
	s->hcanon = (enum canon)hc;
	s->bcanon = (enum canon)bc;
	return 0;
}

/* One h= name: an RFC 5322 field-name (printable ASCII except ':'). */
static bool
valid_field_name(const char *p, size_t n)
{
	if (n == 0 || n > 200)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 33 || p[i] > 126 || p[i] == ':')
			return false;
	return true;
}

static void
trim_fws(const char **p, size_t *n)
{
	while (*n > 0 && strchr(" \t\r\n", (*p)[0]) != NULL)
		(*p)++, (*n)--;
	while (*n > 0 && strchr(" \t\r\n", (*p)[*n - 1]) != NULL)
		(*n)--;
}

/* h= is a colon-separated list of field names with FWS around each. */
static const char *
parse_h(const struct tagval *t, struct dkim_sig *s)
{
	const char *p = t->value, *end = t->value + t->len;
	bool from = false;

	s->h = calloc(DKIM_SIG_MAX_H, sizeof(*s->h));
	if (s->h == NULL)
		return "out of memory";
	for (;;) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		const char *q = p;
		size_t n = (size_t)((c ? c : end) - p);

		trim_fws(&q, &n);
		if (!valid_field_name(q, n))
			return "bad h= tag";
		if (s->nh == DKIM_SIG_MAX_H)
			return "too many names in h=";
		if ((s->h[s->nh++] = strndup(q, n)) == NULL)
			return "out of memory";
		if (n == 4 && strncasecmp(q, "from", 4) == 0)
			from = true;
		if (c == NULL)
			break;
		p = c + 1;
	}
	return from ? NULL : "h= does not include From";
}

/* b=: decoded signature plus its first characters for header.b. */
static const char *
parse_b(const struct tagval *t, struct dkim_sig *s)
{
	ssize_t n = b64_decode(t->value, t->len, s->b, sizeof(s->b));
	size_t k = 0;

	if (n <= 0)
		return n == 0 ? "empty signature" : "bad b= tag";
	s->blen = (size_t)n;
	for (size_t i = 0; i < t->len && k + 1 < sizeof(s->bprefix); i++)
		if (strchr(" \t\r\n", t->value[i]) == NULL)
			s->bprefix[k++] = t->value[i];
	s->bprefix[k] = '\0';
	return NULL;
}

static const char *
parse_bh(const struct tagval *t, struct dkim_sig *s)
{
	ssize_t n = b64_decode(t->value, t->len, s->bh, sizeof(s->bh));

	if (n < 0 || (size_t)n != hash_size(s->hash))
		return "bad bh= tag";
	s->bhlen = (size_t)n;
	return NULL;
}

/* i= of DKIM: [local-part] "@" domain, the domain d= or below it. */
static const char *
parse_auid(const struct tagval *t, struct dkim_sig *s)
{
	const char *at;
	size_t dl = strlen(s->domain), il;

	if (tagval_copy(t, s->auid, sizeof(s->auid)) != 0 ||
	    (at = strrchr(s->auid, '@')) == NULL)
		return "bad i= tag";
	il = strlen(at + 1);
	if (il < dl || strcasecmp(at + 1 + il - dl, s->domain) != 0 ||
	    (il > dl && at[il - dl] != '.'))
		return "i= is not within d=";
	return NULL;
}

/* i= of ARC: the instance, 1..50 (RFC 8617 section 4.2.1). */
static const char *
parse_instance(const struct tagval *t, struct dkim_sig *s)
{
	int64_t v = parse_num(t, 2);

	if (v < 1 || v > 50)
		return "bad instance i=";
	s->instance = (unsigned)v;
	return NULL;
}

static const char *
parse_cv(const struct tagval *t, struct dkim_sig *s)
{
	if (tagval_eqi(t, "none"))
		s->cv = ARC_CV_NONE;
	else if (tagval_eqi(t, "pass"))
		s->cv = ARC_CV_PASS;
	else if (tagval_eqi(t, "fail"))
		s->cv = ARC_CV_FAIL;
	else
		return "bad cv= tag";
	return NULL;
}

/* q= is a colon-separated list that must offer dns/txt. */
static bool
q_has_dns_txt(const struct tagval *t)
{
	const char *p = t->value, *end = t->value + t->len;

	while (p < end) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		const char *q = p;
		size_t n = (size_t)((c ? c : end) - p);

		trim_fws(&q, &n);
		if (n == 7 && strncasecmp(q, "dns/txt", 7) == 0)
			return true;
		p = c ? c + 1 : end;
	}
	return false;
}

static const char *
check_required(const struct tagval_list *tl, enum dkim_sig_kind kind)
{
	for (const struct required_tag *r = required[kind]; r->tag != NULL; r++)
		if (tagval_get(tl, r->tag) == NULL)
			return r->why;
	if (kind == DKIM_SIG_AS && tagval_get(tl, "h") != NULL)
		return "ARC-Seal must not have h=";
	return NULL;
}

/* The tags every kind has: a=, d=, s=, b=, t=. */
static const char *
parse_common(const struct tagval_list *tl, struct dkim_sig *s)
{
	const struct tagval *a = tagval_get(tl, "a"), *t;

	if (dkim_sig_algorithm(a->value, a->len, &s->keytype, &s->hash) != 0)
		return "unknown algorithm";
	if (copy_lower(a, s->algorithm, sizeof(s->algorithm)) != 0)
		return "unknown algorithm";
	if (copy_lower(tagval_get(tl, "d"), s->domain, sizeof(s->domain)) !=
	        0 ||
	    !valid_labels(s->domain))
		return "bad d= tag";
	if (tagval_copy(tagval_get(tl, "s"), s->selector,
	                sizeof(s->selector)) != 0 ||
	    !valid_labels(s->selector))
		return "bad s= tag";
	if ((t = tagval_get(tl, "t")) != NULL && (s->t = parse_num(t, 12)) < 0)
		return "bad t= tag";
	return parse_b(tagval_get(tl, "b"), s);
}

/* The message-signature tags of DKIM and AMS. */
static const char *
parse_message_tags(const struct tagval_list *tl, struct dkim_sig *s)
{
	const struct tagval *t;
	const char *why;

	if ((t = tagval_get(tl, "c")) != NULL && parse_canon(t, s) != 0)
		return "bad c= tag";
	if ((why = parse_bh(tagval_get(tl, "bh"), s)) != NULL ||
	    (why = parse_h(tagval_get(tl, "h"), s)) != NULL)
		return why;
	if ((t = tagval_get(tl, "l")) != NULL && (s->l = parse_num(t, 18)) < 0)
		return "bad l= tag";
	if ((t = tagval_get(tl, "x")) != NULL) {
		if ((s->x = parse_num(t, 12)) < 0)
			return "bad x= tag";
		if (s->t >= 0 && s->x < s->t)
			return "x= is before t=";
	}
	if ((t = tagval_get(tl, "q")) != NULL && !q_has_dns_txt(t))
		return "unsupported q= tag";
	return NULL;
}

static const char *
parse_kind(const struct tagval_list *tl, struct dkim_sig *s)
{
	const char *why;

	if ((why = check_required(tl, s->kind)) != NULL ||
	    (why = parse_common(tl, s)) != NULL)
		return why;
	switch (s->kind) {
	case DKIM_SIG_DKIM:
		if (!tagval_eq(tagval_get(tl, "v"), "1"))
			return "unsupported version v=";
		if ((why = parse_message_tags(tl, s)) != NULL)
			return why;
		if (tagval_get(tl, "i") == NULL) {
			snprintf(s->auid, sizeof(s->auid), "@%s", s->domain);
			return NULL;
		}
		return parse_auid(tagval_get(tl, "i"), s);
	case DKIM_SIG_AMS:
		if ((why = parse_message_tags(tl, s)) != NULL)
			return why;
		return parse_instance(tagval_get(tl, "i"), s);
	case DKIM_SIG_AS:
		if ((why = parse_cv(tagval_get(tl, "cv"), s)) != NULL)
			return why;
		s->hcanon = CANON_RELAXED;
		return parse_instance(tagval_get(tl, "i"), s);
	}
	return "unknown signature kind";
}

int
dkim_sig_parse(enum dkim_sig_kind kind, const char *value, size_t len,
               struct dkim_sig *out, const char **why)
{
	struct tagval_list *tl = malloc(sizeof(*tl));
	const char *w = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->l = out->t = out->x = -1;
	out->hcanon = out->bcanon = CANON_SIMPLE;
	if (tl == NULL) {
		*why = "out of memory";
		return -1;
	}
	rc = tagval_parse(value, len, tl, &w);
	if (rc != TAGVAL_OK)
		w = rc == TAGVAL_EDUP ? "duplicate tag"
		    : w               ? w
		                      : "bad tag list";
	else
		w = parse_kind(tl, out);
	free(tl);
	*why = w;
	return w == NULL ? 0 : -1;
}

void
dkim_sig_clear(struct dkim_sig *s)
{
	for (size_t i = 0; i < s->nh; i++)
		free(s->h[i]);
	free(s->h);
	s->h = NULL;
	s->nh = 0;
}

int
dkim_sig_strip_b(const char *raw, size_t len, struct buf *out)
{
	const char *colon = memchr(raw, ':', len);
	struct tagval_list *tl;
	const struct tagval *b;
	const char *start, *stop, *end = raw + len, *w;
	int rc = -1;

	if (colon == NULL || (tl = malloc(sizeof(*tl))) == NULL)
		return -1;
	if (tagval_parse(colon + 1, (size_t)(end - colon - 1), tl, &w) ==
	        TAGVAL_OK &&
	    (b = tagval_get(tl, "b")) != NULL) {
		/* Everything between "b=" and the next ";" (or the end):
		 * the value and the FWS around it. */
		start = b->value;
		while (start > colon && start[-1] != '=')
			start--;
		stop = b->value + b->len;
		while (stop < end && *stop != ';')
			stop++;
		rc = buf_append(out, raw, (size_t)(start - raw)) == 0 &&
		             buf_append(out, stop, (size_t)(end - stop)) == 0
		         ? 0
		         : -1;
	}
	free(tl);
	return rc;
}

/* Append the canonical fields names select: for each name, the lowest
 * unused instance counting from the bottom (RFC 6376 section 5.4.2). */
static int
add_selected(enum canon c, char *const *names, size_t nn, const struct hdr *h,
             size_t skip, struct buf *in)
{
	size_t n = hdr_count(h);
	bool *used = calloc(n ? n : 1, sizeof(*used));
	int rc = 0;

	if (used == NULL)
		return -1;
	for (size_t k = 0; k < nn && rc == 0; k++) {
		for (size_t i = n; i > 0; i--) {
			const struct hdr_field *f = hdr_get(h, i - 1);

			if (used[i - 1] || i - 1 == skip ||
			    !hdr_is(f, names[k]))
				continue;
			used[i - 1] = true;
			rc = canon_header(c, f->raw, f->rawlen, true, in);
			break;
		}
	}
	free(used);
	return rc;
}

int
dkim_sig_hash_fields(enum canon c, enum hash_alg a, char *const *names,
                     size_t n, const struct hdr *h, size_t skip,
                     const char *sigraw, size_t siglen, unsigned char *md,
                     size_t *mdlen)
{
	struct buf in;
	int rc = -1;

	buf_init(&in, HEADER_DATA_MAX);
	if (add_selected(c, names, n, h, skip, &in) == 0 &&
	    canon_header(c, sigraw, siglen, false, &in) == 0)
		rc = hash_digest(a, in.data, in.len, md, mdlen);
	buf_free(&in);
	return rc;
}

int
dkim_sig_header_hash(const struct dkim_sig *s, const struct hdr *h,
                     size_t sig_index, unsigned char *md, size_t *mdlen)
{
	const struct hdr_field *sf = hdr_get(h, sig_index);
	struct buf stripped;
	int rc = -1;

	buf_init(&stripped, HEADER_DATA_MAX);
	if (sf != NULL && dkim_sig_strip_b(sf->raw, sf->rawlen, &stripped) == 0)
		rc = dkim_sig_hash_fields(s->hcanon, s->hash, s->h, s->nh, h,
		                          sig_index, stripped.data,
		                          stripped.len, md, mdlen);
	buf_free(&stripped);
	return rc;
}
