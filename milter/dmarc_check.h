/*
 * dmarc_check: DMARC for one inbound message -- RFC 9989 (the default:
 * policy discovery and organizational domain by DNS tree walk, psd=, np=,
 * sp=, t=, no pct=) and RFC 7489 (public suffix list, pct=) as
 * "mode": "rfc7489".
 *
 * dmarc_check_start() is called as soon as the author domain is known
 * (the From field arrives): every DNS lookup the tree walk may need is
 * started at once.  dmarc_check_finish() at end of message takes what
 * SPF and DKIM found, decides alignment and the result, and adds one
 * record:
 *   dmarc=<pass|fail|none|temperror|permerror> header.from=<domain>
 *         [policy.dmarc=<none|quarantine|reject>] [reason="..."]
 * with the policy key the outcome triggers (POLICY_K_DMARC_REJECT,
 * _QUARANTINE, _TEMPERROR, _PERMERROR; none for p=none, enforce false,
 * or a never_reject domain or network; POLICY_K_ARC_OVERRIDE when a
 * trusted ARC chain sets the policy aside) and a reply text naming the
 * domain and the policy ("DMARC policy of example.com: reject").  t=y
 * (and RFC 7489's pct= sampling) lowers the policy one level, as RFC
 * 9989 section 4.7 says: reject to quarantine, quarantine to none.
 * A message without exactly one author domain never passes:
 * dmarc_check_bad_from() records permerror with POLICY_K_DMARC_BAD_FROM.
 *
 * libopendmarc, where used, is wrapped here and nowhere else; the
 * implementation notes (its globals, thread rules and what had to be
 * worked around) are in dmarc_check.c.
 *
 * Ownership: dmarc_check_start() returns an owned handle; the struct dns
 * and the PSL must outlive it; strings in dmarc_auth are borrowed for the
 * call.  Thread rules: a handle belongs to one message.
 */
#ifndef AUTHMILTER_DMARC_CHECK_H
#define AUTHMILTER_DMARC_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"
#include "errbuf.h"
#include "policy.h"
#include "result.h"

struct dns;
struct hdr_from;
struct dmarc_psl;
struct dmarc_check;

enum dmarc_disposition {
	DMARC_DISP_NONE,
	DMARC_DISP_QUARANTINE,
	DMARC_DISP_REJECT
};

struct dmarc_settings {
	enum dmarc_mode mode;
	bool enforce;
	const struct dmarc_psl *psl; /* RFC 7489 mode only; else NULL */
	char *const *never_reject_domains;
	size_t nnever_reject_domains;
	const struct cidr *never_reject_networks;
	size_t nnever_reject_networks;
};

/* One DKIM result as DMARC needs it. */
struct dmarc_dkim {
	enum ar_result result;
	const char *domain; /* d= */
};

/* What the other methods found. */
struct dmarc_auth {
	enum ar_result spf;     /* the MAIL FROM check (or HELO for <>) */
	const char *spf_domain; /* its domain, or NULL */
	size_t ndkim;
	const struct dmarc_dkim *dkim;
	const struct ipaddr *client;
	bool arc_override; /* a trusted ARC sealer vouches (ARC issue) */
};

/* The per-message record aggregate reports need; also logged. */
struct dmarc_record {
	char from_domain[256];
	char policy_domain[256]; /* where the record was found, or "" */
	char org_domain[256];
	enum ar_result result;
	enum dmarc_disposition policy;      /* p=, sp= or np= that applied */
	enum dmarc_disposition disposition; /* what we did */
	bool testing;                       /* t=y (or pct= sampling out) */
	bool dkim_aligned, spf_aligned;
	char reason[96]; /* override or failure reason */
};

/* Load the public suffix list for RFC 7489 mode; NULL with eb set. */
struct dmarc_psl *dmarc_psl_load(const char *path, struct errbuf *eb);
void dmarc_psl_free(struct dmarc_psl *psl);

/* Start the lookups for the author domain; NULL when out of memory. */
struct dmarc_check *dmarc_check_start(struct dns *d,
                                      const struct dmarc_settings *s,
                                      const char *from_domain);

/* Decide and add the dmarc record to rs (and fill rec when not NULL);
 * 0, or -1 when out of memory. */
int dmarc_check_finish(struct dmarc_check *c, const struct dmarc_auth *a,
                       struct resultset *rs, struct dmarc_record *rec);

/* The record for a message without exactly one author domain. */
int dmarc_check_bad_from(const struct hdr_from *f, struct resultset *rs);

/* Free (NULL is allowed). */
void dmarc_check_free(struct dmarc_check *c);

#endif
