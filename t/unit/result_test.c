/* Unit tests for result: records, properties, names. */
#include "config.h"

#include <string.h>

#include "result.h"
#include "../lib/tap.h"

int
main(void)
{
	struct resultset *rs = resultset_new();
	struct result *r;
	const struct result *g;
	size_t pos = 0;

	ok(rs != NULL, "new set");
	is_int((long long)resultset_count(rs), 0, "empty set");
	r = resultset_add(rs, AR_M_SPF, AR_R_FAIL);
	is_int(r->key, RESULT_NO_KEY, "a new record names no policy key");
	is_int(result_prop(r, "smtp", "mailfrom", "a@example.com"), 0, "prop");
	is_int(result_reason(r, "%s %d", "x", 1), 0, "reason");
	is_int(result_reason(r, "second"), 0, "reason replaced");
	is_str(r->reason, "second", "reason keeps the last text");
	is_str(result_get_prop(r, "smtp", "mailfrom"), "a@example.com",
	       "prop read back");
	is_str(result_get_prop(r, "smtp", "helo"), NULL, "absent prop is NULL");
	for (int i = 1; i < RESULT_MAXPROPS; i++)
		result_prop(r, "header", "d", "example.com");
	is_int(result_prop(r, "header", "s", "x"), -1, "props are capped");
	is_int(result_prop(resultset_add(rs, AR_M_DKIM, AR_R_PASS),
	                   "averyveryverylongptype", "d", "x"),
	       -1, "long ptype refused");
	resultset_add(rs, AR_M_DKIM, AR_R_NEUTRAL);
	is_int((long long)resultset_count(rs), 3, "three records");
	g = resultset_next(rs, AR_M_DKIM, &pos);
	is_int(g ? (long long)g->result : -1, AR_R_PASS, "first dkim record");
	g = resultset_next(rs, AR_M_DKIM, &pos);
	is_int(g ? (long long)g->result : -1, AR_R_NEUTRAL,
	       "second dkim record");
	ok(resultset_next(rs, AR_M_DKIM, &pos) == NULL, "no third dkim record");
	is_str(ar_method_name(AR_M_DMARC), "dmarc", "method name");
	is_str(ar_result_name(AR_R_TEMPERROR), "temperror", "result name");
	is_str(ar_result_name((enum ar_result)99), "unknown",
	       "bad result name");
	resultset_free(rs);
	resultset_free(NULL);
	return done_testing();
}
