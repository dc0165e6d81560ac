/*
 * fuzz_authres: libFuzzer target for authres_parse(), authres_read_id()
 * and authres_is_ours(), with two properties checked on every input
 * that parses:
 *   - authres_read_id() finds the same authserv-id, and
 *     authres_is_ours() claims it;
 *   - the parsed reason and values, written back by authres_format()
 *     (control characters dropped, as it does), parse back unchanged.
 * Seeds: the "input" files under t/vectors/authres/.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authres.h"
#include "buf.h"
#include "result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* s without the control characters authres_format() drops; malloc'd. */
static char *
printable(const char *s)
{
	char *d = malloc(strlen(s) + 1), *q = d;

	if (d == NULL)
		abort();
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x20 && *s != 0x7f)
			*q++ = *s;
	*q = '\0';
	return d;
}

static void
check_same(const char *got, const char *orig)
{
	char *want = printable(orig);

	if (strcmp(got, want) != 0)
		abort();
	free(want);
}

/* The resultset standing for p: method and result are fixed, the text
 * is p's. */
static struct resultset *
to_results(const struct authres_parsed *p)
{
	struct resultset *rs = resultset_new();

	for (size_t i = 0; rs != NULL && i < p->nresinfo; i++) {
		const struct authres_resinfo *ri = &p->resinfo[i];
		struct result *r = resultset_add(rs, AR_M_DKIM, AR_R_PASS);

		if (r == NULL || (ri->reason != NULL &&
		                  result_reason(r, "%s", ri->reason) < 0))
			abort();
		for (size_t j = 0; j < ri->nprops && j < RESULT_MAXPROPS; j++)
			if (result_prop(r, "header", "x", ri->props[j].value) <
			    0)
				abort();
	}
	return rs;
}

/* Format what p holds and parse it back: the text must survive. */
static void
check_roundtrip(const struct authres_parsed *p)
{
	char *id = printable(p->authserv_id);
	struct resultset *rs;
	struct authres_parsed q;
	struct buf b;

	/* An id of control characters only has nothing left to write. */
	if (*id == '\0') {
		free(id);
		return;
	}
	free(id);
	rs = to_results(p);
	buf_init(&b, 0);
	if (rs == NULL || authres_format(p->authserv_id, rs, "\r\n\t", &b) != 0)
		abort();
	if (authres_parse(b.data, b.len, &q) != 0 || q.nresinfo != p->nresinfo)
		abort();
	check_same(q.authserv_id, p->authserv_id);
	for (size_t i = 0; i < p->nresinfo; i++) {
		const struct authres_resinfo *a = &p->resinfo[i],
		                             *z = &q.resinfo[i];

		if ((a->reason == NULL) != (z->reason == NULL))
			abort();
		if (a->reason != NULL)
			check_same(z->reason, a->reason);
		for (size_t j = 0; j < z->nprops; j++)
			check_same(z->props[j].value, a->props[j].value);
	}
	authres_parsed_free(&q);
	buf_free(&b);
	resultset_free(rs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data;
	struct authres_parsed p;
	char id[256];
	int idrc = authres_read_id(v, size, id, sizeof(id));

	(void)authres_is_ours(v, size, "mx.example.net");
	if (authres_parse(v, size, &p) == 0) {
		if (strlen(p.authserv_id) < sizeof(id) &&
		    (idrc != 0 || strcmp(id, p.authserv_id) != 0))
			abort();
		if (!authres_is_ours(v, size, p.authserv_id))
			abort();
		check_roundtrip(&p);
	}
	authres_parsed_free(&p);
	return 0;
}
