/*
 * fuzz_arcset: libFuzzer target for ARC chain handling (arc_set.c): the
 * input is a header section (LF or CRLF lines, folds, up to an empty
 * line), kept in a struct hdr under the daemon's caps; every field goes
 * to arc_set_add(), the chain is checked, and for a structurally valid
 * chain every ARC-Seal hash input, every AAR payload and every AMS header
 * hash is computed, as verification would.  Invariants: a VALID chain
 * has 1..50 instances each with exactly one parsed AS and one field of
 * each kind; INVALID always says why.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arc_set.h"
#include "authres.h"
#include "buf.h"
#include "dkim_sig.h"
#include "hash.h"
#include "hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keep one "Name:value" field (the buffer is modified). */
static void
keep(struct hdr *h, struct buf *f)
{
	char *c = f->len ? memchr(f->data, ':', f->len) : NULL;

	if (c == NULL || memchr(f->data, '\0', f->len) != NULL)
		return;
	*c = '\0';
	(void)hdr_add(h, f->data, c + 1);
}

static void
load(struct hdr *h, const char *p, const char *end)
{
	struct buf f;

	buf_init(&f, 0);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;

		if (e > p && e[-1] == '\r')
			e--;
		if (e == p)
			break;
		if (*p == ' ' || *p == '\t') {
			(void)buf_putc(&f, '\n');
		} else {
			keep(h, &f);
			buf_reset(&f);
		}
		(void)buf_append(&f, p, (size_t)(e - p));
		p = nl ? nl + 1 : end;
	}
	keep(h, &f);
	buf_free(&f);
}

/* What verification would compute for instance i of a VALID chain. */
static void
instance(const struct arc_set *s, const struct hdr *h, unsigned i)
{
	unsigned char md[HASH_MAX_SIZE];
	size_t mdlen = 0;
	struct authres_parsed ap;
	const struct dkim_sig *ams = arc_set_sig(s, i, ARC_AMS, NULL);

	for (int k = 0; k < ARC_NFIELDS; k++)
		if (hdr_get(h, arc_set_index(s, i, k)) == NULL)
			abort();
	if (arc_set_sig(s, i, ARC_AS, NULL) == NULL)
		abort(); /* VALID means every AS parsed */
	(void)arc_set_as_hash(s, h, i, md, &mdlen);
	(void)arc_set_aar(s, h, i, &ap);
	authres_parsed_free(&ap);
	if (ams != NULL)
		(void)dkim_sig_header_hash(ams, h, arc_set_index(s, i, ARC_AMS),
		                           md, &mdlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hdr *h = hdr_new(HDR_MAX_FIELDS, HDR_MAX_BYTES);
	struct arc_set *s = arc_set_new();
	struct arc_set_check c;

	if (h == NULL || s == NULL)
		goto out;
	load(h, (const char *)data, (const char *)data + size);
	for (size_t i = 0; i < hdr_count(h); i++)
		if (arc_set_add(s, h, i) < 0)
			goto out;
	arc_set_check(s, &c);
	if (c.state == ARC_SET_INVALID && c.why[0] == '\0')
		abort();
	if (c.state == ARC_SET_VALID) {
		if (c.n < 1 || c.n > ARC_MAX_INSTANCE)
			abort();
		for (unsigned i = 1; i <= c.n; i++)
			instance(s, h, i);
	}
out:
	arc_set_free(s);
	hdr_free(h);
	return 0;
}
