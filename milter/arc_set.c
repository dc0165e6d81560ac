/*
 * arc_set: collect and check the ARC sets of a message (see arc_set.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc_set.h"
#include "authres.h"
#include "buf.h"
#include "canon.h"
#include "hash.h"
#include "hdr.h"
#include "tagval.h"

/* Canonical bytes hashed for one ARC-Seal: every field is capped, and so
 * is the header section they come from. */
#define SEAL_DATA_MAX (4 * 1024 * 1024)

static const char *const names[ARC_NFIELDS] = {
    [ARC_AAR] = "ARC-Authentication-Results",
    [ARC_AMS] = "ARC-Message-Signature",
    [ARC_AS] = "ARC-Seal",
};

/* One instance: its fields (first of each kind) and how many claimed it. */
struct inst {
	size_t idx[ARC_NFIELDS];
	unsigned cnt[ARC_NFIELDS];
	struct dkim_sig sig[2]; /* AMS, AS */
	const char *err[2];     /* parse error, or NULL when parsed */
};

struct arc_set {
	struct inst *inst[ARC_MAX_INSTANCE + 1];
	unsigned nfields;
	unsigned maxinst;         /* highest instance number read */
	char defect[ARC_WHY_MAX]; /* the first defect seen, or "" */
};

int
arc_field_kind(const struct hdr_field *f)
{
	for (int k = 0; k < ARC_NFIELDS; k++)
		if (hdr_is(f, names[k]))
			return k;
	return -1;
}

const char *
arc_field_name(enum arc_field k)
{
	return names[k];
}

struct arc_set *
arc_set_new(void)
{
	return calloc(1, sizeof(struct arc_set));
}

void
arc_set_free(struct arc_set *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i <= ARC_MAX_INSTANCE; i++) {
		if (s->inst[i] == NULL)
			continue;
		dkim_sig_clear(&s->inst[i]->sig[0]);
		dkim_sig_clear(&s->inst[i]->sig[1]);
		free(s->inst[i]);
	}
	free(s);
}

__attribute__((format(printf, 2, 3))) static void
defect(struct arc_set *s, const char *fmt, ...)
{
	va_list ap;

	if (s->defect[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(s->defect, sizeof(s->defect), fmt, ap);
	va_end(ap);
}

/* Skip CFWS (RFC 5322 section 3.2.2): WSP, line breaks and comments,
 * which nest and may hold quoted-pairs.  NULL on an unterminated
 * comment. */
static const char *
skip_cfws(const char *p, const char *end)
{
	unsigned depth = 0;

	for (; p < end; p++) {
		if (depth > 0 && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '(')
			depth++;
		else if (depth > 0 && *p == ')')
			depth--;
		else if (depth == 0 && *p != ' ' && *p != '\t' && *p != '\r' &&
		         *p != '\n')
			return p;
	}
	return depth == 0 ? p : NULL;
}

/* 1*2DIGIT (section 3.9 "position"); -1 if not. */
static int
position(const char *p, size_t n)
{
	if (n == 0 || n > 2 || p[0] < '0' || p[0] > '9' ||
	    (n == 2 && (p[1] < '0' || p[1] > '9')))
		return -1;
	return n == 1 ? p[0] - '0' : (p[0] - '0') * 10 + (p[1] - '0');
}

/* The AAR's "[CFWS] i [CFWS] = [CFWS] position [CFWS] ;" (section
 * 4.1.1): the instance, and in *payload where the authres-payload
 * starts; -1 if the value does not start so. */
static int
aar_instance(const char *v, size_t len, const char **payload)
{
	const char *end = v + len, *p = skip_cfws(v, end), *d;
	int i;

	if (p == NULL || p == end || *p != 'i')
		return -1;
	if ((p = skip_cfws(p + 1, end)) == NULL || p == end || *p != '=')
		return -1;
	if ((p = skip_cfws(p + 1, end)) == NULL)
		return -1;
	for (d = p; d < end && *d >= '0' && *d <= '9'; d++)
		;
	if ((i = position(p, (size_t)(d - p))) < 0)
		return -1;
	if ((p = skip_cfws(d, end)) == NULL || p == end || *p != ';')
		return -1;
	*payload = p + 1;
	return i;
}

/* The i= of an AMS/AS tag-list; -1 if it cannot be read, -2 when out of
 * memory. */
static int
sig_instance(const char *v, size_t len)
{
	struct tagval_list *tl = malloc(sizeof(*tl));
	const struct tagval *t;
	int i = -1;

	if (tl == NULL)
		return -2;
	if (tagval_parse(v, len, tl, NULL) == TAGVAL_OK &&
	    (t = tagval_get(tl, "i")) != NULL)
		i = position(t->value, t->len);
	free(tl);
	return i;
}

static int
field_instance(enum arc_field k, const char *v, size_t len)
{
	const char *payload;

	return k == ARC_AAR ? aar_instance(v, len, &payload)
	                    : sig_instance(v, len);
}

/* The instance record i, allocated on first use; NULL when out of memory. */
static struct inst *
instance(struct arc_set *s, unsigned i)
{
	if (s->inst[i] == NULL &&
	    (s->inst[i] = calloc(1, sizeof(struct inst)))) {
		for (int k = 0; k < ARC_NFIELDS; k++)
			s->inst[i]->idx[k] = (size_t)-1;
	}
	return s->inst[i];
}

/* Record field k at index for instance i (the first of its kind). */
static int
record(struct arc_set *s, struct inst *in, enum arc_field k, unsigned i,
       size_t index, const char *v, size_t len)
{
	if (in->cnt[k]++ > 0) {
		defect(s, "more than one %s for i=%u", names[k], i);
		return 0;
	}
	in->idx[k] = index;
	if (k != ARC_AAR &&
	    dkim_sig_parse(k == ARC_AMS ? DKIM_SIG_AMS : DKIM_SIG_AS, v, len,
	                   &in->sig[k - 1], &in->err[k - 1]) != 0 &&
	    strcmp(in->err[k - 1], "out of memory") == 0)
		return -1;
	return (int)i;
}

int
arc_set_add(struct arc_set *s, const struct hdr *h, size_t index)
{
	const struct hdr_field *f = hdr_get(h, index);
	int k = f != NULL ? arc_field_kind(f) : -1, i;
	const char *v;
	size_t len;
	struct inst *in;

	if (k < 0)
		return 0;
	if (++s->nfields > ARC_FIELDS_MAX) {
		defect(s, "more than %d ARC fields", ARC_FIELDS_MAX);
		return 0;
	}
	if (f->rawlen > ARC_FIELD_MAX) {
		defect(s, "%s larger than %d bytes", names[k], ARC_FIELD_MAX);
		return 0;
	}
	v = hdr_value(f, &len);
	if ((i = field_instance((enum arc_field)k, v, len)) == -2)
		return -1;
	if (i > (int)s->maxinst)
		s->maxinst = (unsigned)i;
	if (i < 1 || i > ARC_MAX_INSTANCE) {
		defect(s, "%s without a usable instance (i=)", names[k]);
		return 0;
	}
	if ((in = instance(s, (unsigned)i)) == NULL)
		return -1;
	return record(s, in, (enum arc_field)k, (unsigned)i, index, v, len);
}

unsigned
arc_set_fields(const struct arc_set *s)
{
	return s->nfields;
}

/* Step 3 for instance i: one field of each kind, AS parsed, cv= right. */
static bool
check_instance(const struct arc_set *s, unsigned i, struct arc_set_check *out)
{
	const struct inst *in = s->inst[i];
	const struct dkim_sig *as;

	if (in == NULL) {
		snprintf(out->why, sizeof(out->why), "no ARC set for i=%u", i);
		return false;
	}
	for (int k = 0; k < ARC_NFIELDS; k++)
		if (in->cnt[k] == 0) {
			snprintf(out->why, sizeof(out->why), "no %s for i=%u",
			         names[k], i);
			return false;
		}
	if (in->err[1] != NULL) {
		snprintf(out->why, sizeof(out->why), "ARC-Seal i=%u: %s", i,
		         in->err[1]);
		return false;
	}
	as = &in->sig[1];
	if ((i == 1 && as->cv != ARC_CV_NONE) ||
	    (i > 1 && as->cv != ARC_CV_PASS)) {
		snprintf(out->why, sizeof(out->why),
		         "ARC-Seal i=%u has cv=%s, not %s", i,
		         as->cv == ARC_CV_NONE   ? "none"
		         : as->cv == ARC_CV_PASS ? "pass"
		                                 : "fail",
		         i == 1 ? "none" : "pass");
		return false;
	}
	return true;
}

/* Whether an AS of instance n says cv=fail (section 5.2 step 2). */
static bool
latest_fail(const struct arc_set *s, unsigned n)
{
	const struct inst *in = n <= ARC_MAX_INSTANCE ? s->inst[n] : NULL;

	return in != NULL && in->cnt[ARC_AS] > 0 && in->err[1] == NULL &&
	       in->sig[1].cv == ARC_CV_FAIL;
}

void
arc_set_check(const struct arc_set *s, struct arc_set_check *out)
{
	memset(out, 0, sizeof(*out));
	out->n = s->maxinst;
	if (s->nfields == 0) {
		out->state = ARC_SET_EMPTY;
		return;
	}
	out->state = ARC_SET_INVALID;
	out->latest_fail = latest_fail(s, s->maxinst);
	if (s->maxinst > ARC_MAX_INSTANCE)
		snprintf(out->why, sizeof(out->why),
		         "more than %d ARC sets (i=%u)", ARC_MAX_INSTANCE,
		         s->maxinst);
	else if (out->latest_fail)
		snprintf(out->why, sizeof(out->why),
		         "latest ARC-Seal (i=%u) says cv=fail", s->maxinst);
	else if (s->defect[0] != '\0')
		snprintf(out->why, sizeof(out->why), "%s", s->defect);
	else if (s->maxinst == 0)
		snprintf(out->why, sizeof(out->why), "no usable ARC set");
	else {
		for (unsigned i = 1; i <= s->maxinst; i++)
			if (!check_instance(s, i, out))
				return;
		out->state = ARC_SET_VALID;
	}
}

const struct dkim_sig *
arc_set_sig(const struct arc_set *s, unsigned i, enum arc_field k,
            const char **why)
{
	const struct inst *in =
	    i >= 1 && i <= ARC_MAX_INSTANCE ? s->inst[i] : NULL;

	if (why != NULL)
		*why = NULL;
	if (in == NULL || k == ARC_AAR || in->cnt[k] == 0)
		return NULL;
	if (in->err[k - 1] != NULL) {
		if (why != NULL)
			*why = in->err[k - 1];
		return NULL;
	}
	return &in->sig[k - 1];
}

size_t
arc_set_index(const struct arc_set *s, unsigned i, enum arc_field k)
{
	if (i < 1 || i > ARC_MAX_INSTANCE || s->inst[i] == NULL)
		return (size_t)-1;
	return s->inst[i]->idx[k];
}

int
arc_set_aar(const struct arc_set *s, const struct hdr *h, unsigned i,
            struct authres_parsed *out)
{
	const struct hdr_field *f = hdr_get(h, arc_set_index(s, i, ARC_AAR));
	const char *v, *payload;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (f == NULL)
		return -1;
	v = hdr_value(f, &len);
	if (aar_instance(v, len, &payload) < 0)
		return -1;
	return authres_parse(payload, len - (size_t)(payload - v), out);
}

/* Append the three fields of instance i, relaxed, each with its CRLF. */
static int
add_set(const struct arc_set *s, const struct hdr *h, unsigned i,
        struct buf *in)
{
	for (int k = 0; k < ARC_NFIELDS; k++) {
		const struct hdr_field *f = hdr_get(h, arc_set_index(s, i, k));

		if (f == NULL || canon_header(CANON_RELAXED, f->raw, f->rawlen,
		                              true, in) != 0)
			return -1;
	}
	return 0;
}

int
arc_set_seal_hash(const struct arc_set *s, const struct hdr *h, unsigned nprior,
                  const char *const last[3], const size_t lastlen[3],
                  unsigned char *md, size_t *mdlen)
{
	struct buf in;
	int rc = 0;

	buf_init(&in, SEAL_DATA_MAX);
	for (unsigned i = 1; i <= nprior && rc == 0; i++)
		rc = add_set(s, h, i, &in);
	for (int k = 0; k < 3 && rc == 0; k++)
		rc = canon_header(CANON_RELAXED, last[k], lastlen[k], k < 2,
		                  &in);
	if (rc == 0)
		rc = hash_digest(HASH_SHA256, in.data, in.len, md, mdlen);
	buf_free(&in);
	return rc == 0 ? 0 : -1;
}

int
arc_set_as_hash(const struct arc_set *s, const struct hdr *h, unsigned i,
                unsigned char *md, size_t *mdlen)
{
	const struct hdr_field *f[ARC_NFIELDS];
	const char *last[3];
	size_t lastlen[3];
	struct buf stripped;
	int rc = -1;

	for (int k = 0; k < ARC_NFIELDS; k++)
		if ((f[k] = hdr_get(h, arc_set_index(s, i, k))) == NULL)
			return -1;
	buf_init(&stripped, ARC_FIELD_MAX);
	if (dkim_sig_strip_b(f[ARC_AS]->raw, f[ARC_AS]->rawlen, &stripped) ==
	    0) {
		last[0] = f[ARC_AAR]->raw;
		lastlen[0] = f[ARC_AAR]->rawlen;
		last[1] = f[ARC_AMS]->raw;
		lastlen[1] = f[ARC_AMS]->rawlen;
		last[2] = stripped.data;
		lastlen[2] = stripped.len;
		rc = arc_set_seal_hash(s, h, i - 1, last, lastlen, md, mdlen);
	}
	buf_free(&stripped);
	return rc;
}
