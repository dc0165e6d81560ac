/* log: syslog or stderr logging (see log.h). */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static bool log_stderr;
static atomic_bool log_errors_to_stderr;
static atomic_int log_level;
static atomic_int log_fac = LOG_MAIL;

static const struct {
	const char *name;
	int facility;
} facilities[] = {
    {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

void
log_open(const char *ident, bool to_stderr, int verbosity)
{
	log_stderr = to_stderr;
	atomic_store(&log_level, verbosity);
	if (!to_stderr) {
		openlog(ident, LOG_PID | LOG_NDELAY, atomic_load(&log_fac));
		atomic_store(&log_errors_to_stderr, true);
	}
}

void
log_detached(void)
{
	atomic_store(&log_errors_to_stderr, false);
}

void
log_set_facility(int facility)
{
	atomic_store(&log_fac, facility);
}

int
log_facility_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(facilities[i].name, name) == 0)
			return facilities[i].facility;
	return -1;
}

int
log_verbosity(void)
{
	return atomic_load(&log_level);
}

static const char *
prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_NOTICE:
	case LOG_INFO:
		return "info";
	default:
		return "debug";
	}
}

void
log_msg(int prio, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_stderr) {
		/* One write per line, so lines from threads never interleave.
		 */
		char out[2200];
		int n = snprintf(out, sizeof(out), "authmilter[%ld]: %s: %s\n",
		                 (long)getpid(), prio_name(prio), line);

		if (n > 0)
			(void)!write(STDERR_FILENO, out,
			             (size_t)n < sizeof(out) ? (size_t)n
			                                     : sizeof(out) - 1);
		return;
	}
	syslog(atomic_load(&log_fac) | prio, "%s", line);
	if (prio <= LOG_ERR && atomic_load(&log_errors_to_stderr))
		fprintf(stderr, "authmilter: %s\n", line);
}
