/*
 * dmarc_psl: the public suffix list, for DMARC in RFC 7489 mode
 * (RFC 7489 section 3.2: the Organizational Domain is the public suffix
 * plus one label).
 *
 * The file format is publicsuffix.org's (Debian's publicsuffix package):
 * one rule per line, read up to the first whitespace; "//" starts a
 * comment line; a rule is a domain ("co.uk"), a wildcard ("*.ck": any
 * one label below ck) or an exception ("!www.ck": not a public suffix
 * although a wildcard covers it).  Rules are lower-cased and turned into
 * A-labels at load, so lookups compare A-labels.  The ICANN and PRIVATE
 * sections both count (as in libopendmarc).
 *
 * Lookup (the publicsuffix.org algorithm): of the rules that match, an
 * exception wins and means its parent is the public suffix; otherwise the
 * rule with the most labels; with none, the top-level label ("*").  The
 * Organizational Domain is the public suffix and one more label; a domain
 * that is itself a public suffix is its own Organizational Domain.
 *
 * Why our own and not libopendmarc's opendmarc_tld_read_file(): that one
 * keeps the list in one process-wide table, so a reload (SIGHUP) would
 * replace it under lookups still running on the old snapshot; this one
 * is an immutable object in the configuration snapshot, freed with it.
 *
 * Ownership: dmarc_psl_load()/dmarc_psl_parse() return an owned list
 * freed by dmarc_psl_free(); lookups return offsets into the caller's
 * string.  Thread rules: immutable after loading; lookups are
 * thread-safe.
 */
#ifndef AUTHMILTER_DMARC_PSL_H
#define AUTHMILTER_DMARC_PSL_H

#include <stddef.h>

#include "errbuf.h"

#define DMARC_PSL_MAX_BYTES (16u * 1024 * 1024) /* today's list: 230 kB */

struct dmarc_psl;

/* Read a list file; NULL with "path: ..." in eb (unreadable, too large,
 * no rule, a rule that is not a domain: "path:LINE: ..."). */
struct dmarc_psl *dmarc_psl_load(const char *path, struct errbuf *eb);

/* Parse list text[0..len) (name is used in messages); NULL with eb set. */
struct dmarc_psl *dmarc_psl_parse(const char *name, const char *text,
                                  size_t len, struct errbuf *eb);

/* Free (NULL is allowed). */
void dmarc_psl_free(struct dmarc_psl *psl);

/* Number of rules loaded. */
size_t dmarc_psl_count(const struct dmarc_psl *psl);

/* The public suffix of domain (normalised, A-labels): an offset into it. */
size_t dmarc_psl_suffix(const struct dmarc_psl *psl, const char *domain);

/* The Organizational Domain of domain: an offset into it. */
size_t dmarc_psl_org(const struct dmarc_psl *psl, const char *domain);

#endif
