/*
 * buf: a growable byte buffer with a hard size cap.
 *
 * Every append checks for size_t overflow and against the cap given at
 * buf_init(); past the cap an append fails with BUF_E2BIG and leaves the
 * buffer as it was, so a hostile input can never make a buffer grow
 * without bound.  The data is always kept NUL-terminated (the NUL is not
 * counted in len), so buf_cstr() is free.
 *
 * Ownership: the buffer owns data; buf_free() releases it, buf_steal()
 * hands it to the caller.  A zero-initialised struct buf is a valid empty
 * buffer with no cap.
 *
 * Thread rules: none; a buffer belongs to one thread at a time.
 */
#ifndef AUTHMILTER_BUF_H
#define AUTHMILTER_BUF_H

#include <stdarg.h>
#include <stddef.h>

enum {
	BUF_OK = 0,
	BUF_ENOMEM = -1, /* allocation failed */
	BUF_E2BIG = -2,  /* the cap would be exceeded */
};

struct buf {
	char *data; /* NUL-terminated when not NULL */
	size_t len; /* bytes used, without the NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* cap on len; 0 means SIZE_MAX */
};

/* Start an empty buffer that will never hold more than max bytes (0: no cap).
 */
void buf_init(struct buf *b, size_t max);

/* Release the storage; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);

/* Forget the contents but keep the storage. */
void buf_reset(struct buf *b);

/* Make room for n more bytes; BUF_OK, BUF_ENOMEM or BUF_E2BIG. */
int buf_reserve(struct buf *b, size_t n);

/* Append n bytes. */
int buf_append(struct buf *b, const void *p, size_t n);

/* Append a NUL-terminated string. */
int buf_puts(struct buf *b, const char *s);

/* Append one byte. */
int buf_putc(struct buf *b, int c);

/* Append formatted text. */
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The contents as a C string ("" for an empty buffer); borrowed. */
const char *buf_cstr(const struct buf *b);

/* Take the storage (caller frees it); the buffer is left empty. */
char *buf_steal(struct buf *b);

/* Shorten to len bytes (no-op if already shorter). */
void buf_truncate(struct buf *b, size_t len);

/* Turn every CRLF into LF, in place (header values as libmilter passes
 * them on). */
void buf_crlf_to_lf(struct buf *b);

#endif
