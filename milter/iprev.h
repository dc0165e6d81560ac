/*
 * iprev: reverse-DNS validation of the SMTP client (RFC 8601 section 3,
 * results of section 2.7.3).
 *
 * The client address I is looked up (PTR) when the connection starts;
 * the forward lookups (A for IPv4, AAAA for IPv6) of the names found start
 * as soon as the PTR answer is in (iprev_poll, called from every milter
 * step) and the result is final at iprev_finish.  Results:
 *   pass       some name maps back to I
 *   fail       names found, none maps back to I (forward NXDOMAIN/NODATA
 *              or other addresses)
 *   permerror  no PTR data for I (NXDOMAIN or NODATA), or malformed data
 *   temperror  a lookup failed temporarily (SERVFAIL, timeout) and no
 *              other name matched
 * At most IPREV_MAX_NAMES names are checked, the limit RFC 8601 section 3
 * suggests by reference to RFC 7208 section 4.6.4.
 *
 * The result is per connection: computed once, then copied into the
 * results of every message on that connection.  Reported as
 * "iprev=<result> (<host name>) policy.iprev=<address>".
 *
 * Ownership: iprev_start() returns an owned object; iprev_free() releases
 * it and its DNS handles.  The struct dns must outlive it.
 * Thread rules: one connection's callbacks run one at a time, possibly on
 * different threads; no locking is needed inside.
 */
#ifndef AUTHMILTER_IPREV_H
#define AUTHMILTER_IPREV_H

#include "cidr.h"
#include "result.h"

#define IPREV_MAX_NAMES 10

struct iprev;
struct dns;

/* Start the PTR lookup for ip; NULL when out of memory. */
struct iprev *iprev_start(struct dns *d, const struct ipaddr *ip);

/* Advance without blocking: start forward lookups once the PTR is in. */
void iprev_poll(struct iprev *iv);

/* Wait for the answers (each bounded by the DNS deadline) and add the
 * iprev record to rs; 0, or -1 when out of memory. */
int iprev_finish(struct iprev *iv, struct resultset *rs);

/* Free (NULL is allowed). */
void iprev_free(struct iprev *iv);

#endif
