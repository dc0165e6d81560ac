/*
 * fuzz_keyrec: DKIM key records (keycache_parse_record, and through it
 * tagval, b64 and pkey_public) on arbitrary bytes.  A key it returns is
 * checked for consistency and released.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "keycache.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct dkim_key key;
	const char *why = NULL;
	enum ar_result r =
	    keycache_parse_record((const char *)d, n, &key, &why);

	if (why == NULL)
		abort();
	if (r == AR_R_PASS) {
		if (key.pkey == NULL || pkey_type(key.pkey) != key.type ||
		    !(key.hashes & DKIM_KEY_SHA256))
			abort();
		if (key.type == PKEY_RSA &&
		    pkey_bits(key.pkey) > PKEY_RSA_MAX_BITS)
			abort();
		pkey_unref(key.pkey);
	} else if (r != AR_R_PERMERROR || key.pkey != NULL) {
		abort();
	}
	return 0;
}
