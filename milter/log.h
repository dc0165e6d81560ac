/*
 * log: the daemon's log, to syslog (default) or to stderr (-f, -n, tests).
 *
 * log_open() is called once by main() before any thread starts; afterwards
 * only the verbosity and the syslog facility may change (on reload), and
 * they are atomics, so logging is safe from every thread.  Messages are
 * single lines; callers never pass untrusted text as a format.
 */
#ifndef AUTHMILTER_LOG_H
#define AUTHMILTER_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Start logging as ident; to stderr when to_stderr, else to syslog. */
void log_open(const char *ident, bool to_stderr, int verbosity);

/* Until the daemon detaches, errors also go to stderr (syslog mode). */
void log_detached(void);

/* Change the syslog facility (LOG_MAIL, LOG_LOCAL0, ...). */
void log_set_facility(int facility);

/* Map "mail", "daemon", "local0".."local7", "user" to a facility; -1 if
 * unknown. */
int log_facility_parse(const char *name);

/* Current verbosity (number of -v). */
int log_verbosity(void);

/* Log one line at a syslog priority (LOG_ERR, LOG_WARNING, LOG_INFO, ...). */
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Log at LOG_DEBUG when the verbosity is at least level. */
#define log_debug(level, ...)                                                  \
	do {                                                                   \
		if (log_verbosity() >= (level))                                \
			log_msg(LOG_DEBUG, __VA_ARGS__);                       \
	} while (0)

#endif
