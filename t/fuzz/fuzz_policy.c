/*
 * fuzz_policy: libFuzzer target for the policy loader and the position
 * scanner.
 *
 * Each input is written to a temporary file and loaded with policy_load()
 * (then dumped and freed), and the scanner is run directly on the raw
 * bytes, which need not be valid JSON.  Seed it with the policy cases:
 *
 *   fuzz_policy -max_total_time=60 corpus/ t/policy/good/... t/policy/bad/...
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "policy.h"
#include "policy_pos.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[4096];

/* The scanner on arbitrary text: it must never read outside it. */
static void
scan(const char *text, size_t len)
{
	static const struct pos_step paths[][3] = {
	    {{"sign", 0}, {"keys", 0}, {NULL, 1}},
	    {{NULL, 0}, {"a", 0}, {NULL, 2}},
	    {{"verify", 0}, {"dkim", 0}, {"enabled", 0}},
	};
	char p[32], k[16];
	struct pos at;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		for (size_t d = 0; d <= 3; d++) {
			policy_pos_find(text, len, paths[i], d, false, &at);
			policy_pos_find(text, len, paths[i], d, true, &at);
		}
	/* Wherever a key could end, but a bounded number of times. */
	for (size_t end = 1, n = 0; end <= len && n < 64; end++)
		if (text[end - 1] == '"' && ++n > 0)
			policy_pos_member(text, len, end, p, sizeof(p), k,
			                  sizeof(k));
	policy_pos_offset(text, len, len / 2, &at);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errbuf eb;
	struct policy *p;
	FILE *f;
	char *copy;

	if (path[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(path, sizeof(path), "%s/fuzz_policy.%ld.json",
		         tmp != NULL && *tmp != '\0' ? tmp : "/tmp",
		         (long)getpid());
	}
	if ((copy = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(copy, data, size); /* exactly size bytes: ASan sees overreads */
	scan(copy, size);
	free(copy);
	if ((f = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if ((p = policy_load(path, &eb)) != NULL) {
		struct buf b;

		buf_init(&b, 0);
		policy_dump(p, &b);
		buf_free(&b);
	} else if (strchr(eb.msg, '\n') != NULL ||
	           strncmp(eb.msg, path, strlen(path)) != 0)
		abort(); /* every error is one line starting with the file */
	policy_free(p);
	unlink(path);
	return 0;
}
