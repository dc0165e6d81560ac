/*
 * sigwait: keep SIGHUP for reload, away from libmilter's signal thread.
 *
 * libmilter starts a thread that sigwait()s for SIGHUP, SIGTERM and
 * SIGINT and stops the milter on any of them.  main.c lets the main
 * thread catch those signals with handlers, which wins as long as the
 * main thread can take the signal; but when a SIGHUP is already pending
 * for it (two reloads in quick succession), Linux leaves the next one in
 * the process's queue, where that sigwait() finds it and the daemon
 * stops instead of reloading.
 *
 * This definition, linked into the daemon only, takes the place of the C
 * library's for libmilter (a shared library resolves the symbol to the
 * executable's first).  It waits for the same signals except SIGHUP,
 * which then always reaches the main thread's handler.
 */
#include <errno.h>
#include <signal.h>

int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t s = *set;
	siginfo_t info;
	int r;

	(void)sigdelset(&s, SIGHUP);
	do
		r = sigwaitinfo(&s, &info);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno;
	*sig = r;
	return 0;
}
