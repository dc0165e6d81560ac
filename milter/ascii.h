/*
 * ascii: character classes of the protocol grammars (RFC 5234 ALPHA,
 * DIGIT, WSP), independent of the C locale.
 */
#ifndef AUTHMILTER_ASCII_H
#define AUTHMILTER_ASCII_H

#include <stdbool.h>

static inline bool
ascii_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
ascii_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool
ascii_is_alnum(int c)
{
	return ascii_is_alpha(c) || ascii_is_digit(c);
}

/* WSP: space or horizontal tab. */
static inline bool
ascii_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static inline int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

#endif
