/*
 * canon: DKIM canonicalization (RFC 6376 section 3.4), shared by DKIM
 * verification and signing and by ARC.
 *
 * Headers: canon_header() canonicalizes one field given as "Name:value"
 * (CRLF-folded, without its final CRLF, as hdr.c keeps it):
 *   simple   the field unchanged (section 3.4.1)
 *   relaxed  name lower-cased, unfolded, WSP runs reduced to one SP,
 *            WSP at the end of the value and around the colon removed
 *            (section 3.4.2)
 * and appends it to out followed by CRLF when crlf is true (the
 * signature field itself is hashed without its CRLF, section 3.7).
 *
 * Body: a canon_body streams the raw body through one canonicalization
 * and hands canonical bytes to a sink as they become final:
 *   simple   ignore all empty lines at the end; an empty body becomes one
 *            CRLF (section 3.4.3)
 *   relaxed  WSP at line ends removed, WSP runs reduced to one SP, empty
 *            lines at the end ignored; an empty body stays empty
 *            (section 3.4.4, with the erratum 1384 reading)
 * Input may arrive in chunks cut anywhere (inside a CRLF, inside a WSP
 * run); bare LF is treated as CRLF, as the message would be on the wire.
 * Trailing empty lines and WSP are held back (as counts, not bytes) until
 * the next non-empty content shows whether they are trailing, so memory
 * never grows with the body.
 *
 * Ownership: canon_body_new() returns an owned object.  Thread rules: one
 * message, one thread at a time.
 */
#ifndef AUTHMILTER_CANON_H
#define AUTHMILTER_CANON_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

enum canon { CANON_SIMPLE, CANON_RELAXED };

/* Append the canonical form of one header field to out; 0 or a BUF_* error. */
int canon_header(enum canon c, const char *raw, size_t len, bool crlf,
                 struct buf *out);

/* Parse "simple"/"relaxed"; -1 if neither. */
int canon_parse(const char *s, size_t len);

/* "simple" or "relaxed". */
const char *canon_name(enum canon c);

typedef void canon_sink_fn(void *arg, const unsigned char *p, size_t n);

struct canon_body;

/* A body canonicalizer feeding sink(arg, ...); NULL when out of memory. */
struct canon_body *canon_body_new(enum canon c, canon_sink_fn *sink, void *arg);

/* Feed raw body bytes. */
void canon_body_update(struct canon_body *cb, const unsigned char *p, size_t n);

/* End of body: emit what the rules say is left (simple: a lone CRLF for
 * an empty body). */
void canon_body_final(struct canon_body *cb);

/* Free (NULL is allowed). */
void canon_body_free(struct canon_body *cb);

#endif
