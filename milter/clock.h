/*
 * clock: monotonic milliseconds for deadlines and durations.
 * Wall-clock time (for DKIM t=/x=) is time(NULL) and is never used for
 * deadlines, so a clock step cannot stretch or cut a timeout.
 */
#ifndef AUTHMILTER_CLOCK_H
#define AUTHMILTER_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on the monotonic clock. */
static inline int64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
