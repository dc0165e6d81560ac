/*
 * b64: base64 (RFC 2045 section 6.8 alphabet) as DKIM uses it: decoding
 * skips whitespace (FWS inside b=, bh=, p=, RFC 6376 section 3.5) and is
 * otherwise strict: a character outside the alphabet, padding anywhere
 * but at the end, a wrong amount of padding, or leftover bits that are not
 * zero make the input invalid.  An empty input decodes to nothing.
 *
 * No allocation in decode; thread-safe.
 */
#ifndef AUTHMILTER_B64_H
#define AUTHMILTER_B64_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* Bytes needed to decode inlen characters (an upper bound). */
size_t b64_decoded_max(size_t inlen);

/* Decode into out (outsz bytes); the decoded length, or -1 if invalid or
 * it does not fit. */
ssize_t b64_decode(const char *in, size_t inlen, unsigned char *out,
                   size_t outsz);

/* Append the encoding of in to out (no line breaks); 0 or a BUF_* error. */
int b64_encode(const unsigned char *in, size_t len, struct buf *out);

#endif
