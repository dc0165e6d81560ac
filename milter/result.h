/*
 * result: the result records every method yields (DESIGN.md section 4).
 *
 * A resultset holds one message's (or one connection's) results in the
 * order they were added; authres.c turns it into an Authentication-Results
 * header and policy.c into a decision.  Results values are the RFC 8601
 * registry names; temporary and permanent errors stay apart.
 *
 * A method that wants the policy to act on its result sets "key" to the
 * policy action key it triggers (policy.h, e.g. POLICY_K_DMARC_REJECT);
 * policy_decide() maps keys to actions.  "reply" is an optional SMTP reply
 * text for a reject or tempfail caused by this result (SPF exp= text, the
 * DMARC domain and policy); when NULL a generic text is built.
 *
 * Ownership: the set owns every record and every string in it (values are
 * copied in); records stay valid until resultset_free().
 * Thread rules: a set belongs to one message; no locking.
 */
#ifndef AUTHMILTER_RESULT_H
#define AUTHMILTER_RESULT_H

#include <stdbool.h>
#include <stddef.h>

enum ar_method {
	AR_M_IPREV,
	AR_M_AUTH,
	AR_M_SPF,
	AR_M_DKIM,
	AR_M_DMARC,
	AR_M_ARC,
	AR_M_COUNT
};

enum ar_result {
	AR_R_NONE,
	AR_R_PASS,
	AR_R_FAIL,
	AR_R_SOFTFAIL,
	AR_R_NEUTRAL,
	AR_R_TEMPERROR,
	AR_R_PERMERROR,
	AR_R_POLICY,
	AR_R_COUNT
};

#define RESULT_MAXPROPS 8
#define RESULT_NO_KEY   (-1)

struct result_prop {
	char ptype[8];     /* "smtp", "header", "body", "policy" */
	char property[24]; /* "mailfrom", "d", "remote-ip", ... */
	char *value;       /* owned by the set */
};

struct result {
	enum ar_method method;
	enum ar_result result;
	char *reason;  /* NULL or owned: reason="..." */
	char *comment; /* NULL or owned: a (comment) after the result */
	char
	    *reply; /* NULL or owned: SMTP reply text if this causes a reject */
	int key; /* policy action key this result triggers, or RESULT_NO_KEY */
	size_t nprops;
	struct result_prop props[RESULT_MAXPROPS];
};

struct resultset;

/* A new empty set; NULL when out of memory. */
struct resultset *resultset_new(void);

/* Free the set and every record in it (NULL is allowed). */
void resultset_free(struct resultset *rs);

/* Append a record; the set owns it.  NULL when out of memory. */
struct result *resultset_add(struct resultset *rs, enum ar_method m,
                             enum ar_result r);

/* Number of records. */
size_t resultset_count(const struct resultset *rs);

/* Record i (0-based, in insertion order); borrowed. */
const struct result *resultset_get(const struct resultset *rs, size_t i);

/* First record of method m at or after index *pos (advanced past it); NULL at
 * the end. */
const struct result *resultset_next(const struct resultset *rs,
                                    enum ar_method m, size_t *pos);

/* Add ptype.property=value (value copied); 0, or -1 when full or out of memory.
 */
int result_prop(struct result *r, const char *ptype, const char *property,
                const char *value);

/* Set reason / comment / reply from a format (replacing any earlier one); 0 or
 * -1. */
int result_reason(struct result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int result_comment(struct result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int result_reply(struct result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Value of ptype.property, or NULL. */
const char *result_get_prop(const struct result *r, const char *ptype,
                            const char *property);

/* RFC 8601 names. */
const char *ar_method_name(enum ar_method m);
const char *ar_result_name(enum ar_result r);

#endif
