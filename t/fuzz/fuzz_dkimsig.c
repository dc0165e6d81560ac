/*
 * fuzz_dkimsig: libFuzzer target for the signature engine's parser: the
 * input is parsed as a DKIM-Signature, an ARC-Message-Signature and an
 * ARC-Seal value, and its b= is stripped as for hashing.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dkim_sig_kind kinds[] = {DKIM_SIG_DKIM, DKIM_SIG_AMS,
	                                           DKIM_SIG_AS};
	char *raw = malloc(size + 16);
	struct buf out;

	if (raw == NULL)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		struct dkim_sig s;
		const char *why = NULL;

		if (dkim_sig_parse(kinds[i], (const char *)data, size, &s,
		                   &why) != 0 &&
		    why == NULL)
			abort(); /* a failure always says why */
		if (s.blen > sizeof(s.b) || s.nh > DKIM_SIG_MAX_H)
			abort();
		dkim_sig_clear(&s);
	}
	memcpy(raw, "DKIM-Signature:", 15);
	memcpy(raw + 15, data, size);
	buf_init(&out, 0);
	if (dkim_sig_strip_b(raw, size + 15, &out) == 0 && out.len > size + 15)
		abort(); /* stripping never adds */
	buf_free(&out);
	free(raw);
	return 0;
}
