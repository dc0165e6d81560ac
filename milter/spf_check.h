/*
 * spf_check: SPF (RFC 7208) for the HELO and MAIL FROM identities.
 *
 * spf_check_start() is called when the identity is known (HELO at the
 * HELO command, MAIL FROM at the MAIL command) and returns at once: the
 * evaluation runs on the work pool, every DNS lookup going through dns.c
 * (one cache, one deadline, one test server); spf_check_finish() at end
 * of message waits for it (bounded) and adds one record to the results:
 *   spf=<result> [reason="..."] smtp.mailfrom=<domain or address>
 *   spf=<result> [reason="..."] smtp.helo=<name>
 * Results: none, neutral, pass, fail, softfail, temperror, permerror
 * (RFC 7208 section 2.6).  The RFC limits hold whatever any library does:
 * 10 DNS-querying terms, 2 void lookups, 10 MX/PTR names, and a deadline
 * for the whole evaluation (sections 4.6.4, 11.1).  A fail carries the
 * expanded exp= text, used as the reply when the policy rejects.
 *
 * The null sender is checked as postmaster@<HELO> (section 2.4).  The
 * implementation notes (what libspf2 does and does not do, thread rules,
 * CVE review) are in spf_check.c.
 *
 * Ownership: spf_check_start() returns an owned handle (NULL only when
 * out of memory: the caller then reports temperror); the struct dns and
 * struct work passed in must outlive it.  Thread rules: a handle belongs
 * to one message; the library state is shared and read-only.
 */
#ifndef AUTHMILTER_SPF_CHECK_H
#define AUTHMILTER_SPF_CHECK_H

#include "cidr.h"
#include "result.h"

enum spf_identity { SPF_ID_HELO, SPF_ID_MAILFROM };

struct dns;
struct work;
struct spf_check;

/* Start checking identity id for client ip: for SPF_ID_HELO, helo is the
 * domain; for SPF_ID_MAILFROM, mailfrom is the envelope sender without
 * brackets ("" for the null sender, then postmaster@helo is used).
 * timeout_ms bounds the whole evaluation. */
struct spf_check *spf_check_start(struct dns *d, struct work *w,
                                  enum spf_identity id, const struct ipaddr *ip,
                                  const char *helo, const char *mailfrom,
                                  unsigned timeout_ms);

/* Wait for the result and add the spf record to rs; 0, or -1 when out of
 * memory. */
int spf_check_finish(struct spf_check *c, struct resultset *rs);

/* The value of a Received-SPF field (RFC 7208 section 9.1) for the
 * result (waiting for it like spf_check_finish), receiver being our
 * host name; appended to out with a leading space and "\n\t" folding;
 * 0 or a BUF_* error. */
struct buf;
int spf_check_received(struct spf_check *c, const char *receiver,
                       struct buf *out);

/* Free (NULL is allowed); an evaluation still running is left to end on
 * its own and frees itself. */
void spf_check_free(struct spf_check *c);

/* "libspf2 x.y.z" (or what the evaluator is), for authmilter -V. */
const char *spf_library_version(void);

#endif
