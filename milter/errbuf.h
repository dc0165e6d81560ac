/*
 * errbuf: a caller-owned error report with a fixed message buffer.
 *
 * Functions that can fail take an optional "struct errbuf *" and write one
 * human-readable line into it; reporting a failure never allocates, so it
 * also works when memory has run out.  A NULL errbuf is accepted and means
 * "the caller does not want the text".
 *
 * Thread rules: none; each errbuf belongs to one caller.
 */
#ifndef AUTHMILTER_ERRBUF_H
#define AUTHMILTER_ERRBUF_H

#include <stddef.h>

#define ERRBUF_SIZE 512

struct errbuf {
	char msg[ERRBUF_SIZE];
};

/* Replace the message in eb (NULL is allowed) with a formatted one. */
void errbuf_set(struct errbuf *eb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Put "prefix: " in front of the message already in eb. */
void errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Empty the message. */
void errbuf_clear(struct errbuf *eb);

#endif
