/* errbuf: caller-owned fixed-size error messages (see errbuf.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"

void
errbuf_set(struct errbuf *eb, const char *fmt, ...)
{
	va_list ap;

	if (eb == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
}

void
errbuf_prefix(struct errbuf *eb, const char *fmt, ...)
{
	char old[ERRBUF_SIZE];
	size_t n;
	va_list ap;

	if (eb == NULL)
		return;
	memcpy(old, eb->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	n = strlen(eb->msg);
	snprintf(eb->msg + n, sizeof(eb->msg) - n, ": %s", old);
}

void
errbuf_clear(struct errbuf *eb)
{
	if (eb != NULL)
		eb->msg[0] = '\0';
}
