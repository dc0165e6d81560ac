/* result: per-message method results (see result.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"

struct resultset {
	struct result **items;
	size_t n, cap;
};

static const char *const method_names[AR_M_COUNT] = {
    [AR_M_IPREV] = "iprev", [AR_M_AUTH] = "auth",   [AR_M_SPF] = "spf",
    [AR_M_DKIM] = "dkim",   [AR_M_DMARC] = "dmarc", [AR_M_ARC] = "arc",
};

static const char *const result_names[AR_R_COUNT] = {
    [AR_R_NONE] = "none",           [AR_R_PASS] = "pass",
    [AR_R_FAIL] = "fail",           [AR_R_SOFTFAIL] = "softfail",
    [AR_R_NEUTRAL] = "neutral",     [AR_R_TEMPERROR] = "temperror",
    [AR_R_PERMERROR] = "permerror", [AR_R_POLICY] = "policy",
};

const char *
ar_method_name(enum ar_method m)
{
	return (unsigned)m < AR_M_COUNT ? method_names[m] : "unknown";
}

const char *
ar_result_name(enum ar_result r)
{
	return (unsigned)r < AR_R_COUNT ? result_names[r] : "unknown";
}

struct resultset *
resultset_new(void)
{
	return calloc(1, sizeof(struct resultset));
}

static void
result_free(struct result *r)
{
	for (size_t i = 0; i < r->nprops; i++)
		free(r->props[i].value);
	free(r->reason);
	free(r->comment);
	free(r->reply);
	free(r);
}

void
resultset_free(struct resultset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		result_free(rs->items[i]);
	free(rs->items);
	free(rs);
}

struct result *
resultset_add(struct resultset *rs, enum ar_method m, enum ar_result r)
{
	struct result *res;

	if (rs->n == rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 8;
		struct result **p = realloc(rs->items, ncap * sizeof(*p));

		if (p == NULL)
			return NULL;
		rs->items = p;
		rs->cap = ncap;
	}
	if ((res = calloc(1, sizeof(*res))) == NULL)
		return NULL;
	res->method = m;
	res->result = r;
	res->key = RESULT_NO_KEY;
	rs->items[rs->n++] = res;
	return res;
}

size_t
resultset_count(const struct resultset *rs)
{
	return rs->n;
}

const struct result *
resultset_get(const struct resultset *rs, size_t i)
{
	return i < rs->n ? rs->items[i] : NULL;
}

const struct result *
resultset_next(const struct resultset *rs, enum ar_method m, size_t *pos)
{
	while (*pos < rs->n) {
		const struct result *r = rs->items[(*pos)++];

		if (r->method == m)
			return r;
	}
	return NULL;
}

int
result_prop(struct result *r, const char *ptype, const char *property,
            const char *value)
{
	struct result_prop *p;

	if (r->nprops == RESULT_MAXPROPS || strlen(ptype) >= sizeof(p->ptype) ||
	    strlen(property) >= sizeof(p->property))
		return -1;
	p = &r->props[r->nprops];
	if ((p->value = strdup(value)) == NULL)
		return -1;
	snprintf(p->ptype, sizeof(p->ptype), "%s", ptype);
	snprintf(p->property, sizeof(p->property), "%s", property);
	r->nprops++;
	return 0;
}

/* Replace *slot with a newly formatted string. */
__attribute__((format(printf, 2, 0))) static int
set_text(char **slot, const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		return -1;
	free(*slot);
	*slot = s;
	return 0;
}

int
result_reason(struct result *r, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = set_text(&r->reason, fmt, ap);
	va_end(ap);
	return rc;
}

int
result_comment(struct result *r, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = set_text(&r->comment, fmt, ap);
	va_end(ap);
	return rc;
}

int
result_reply(struct result *r, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = set_text(&r->reply, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
result_get_prop(const struct result *r, const char *ptype, const char *property)
{
	for (size_t i = 0; i < r->nprops; i++)
		if (strcmp(r->props[i].ptype, ptype) == 0 &&
		    strcmp(r->props[i].property, property) == 0)
			return r->props[i].value;
	return NULL;
}
