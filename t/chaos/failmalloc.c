/*
 * failmalloc: make the Nth allocation of a window fail (LD_PRELOAD).
 *
 * t/chaos/alloc.t builds this file with the system cc into a shared object
 * and preloads it into the daemon; nothing in the daemon knows about it.
 * It interposes the allocation entry points (malloc, calloc, realloc,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc)
 * and forwards them to the next definition (libc's, or the sanitizer's
 * in an ASan build).  strdup, strndup, asprintf and the like need no
 * wrapper: glibc makes them call malloc through the interposable symbol,
 * so they are counted (and fail) like any other allocation.
 *
 * The window is opened and closed by the test with signals, so that it
 * covers exactly the processing of one message, whatever thread does it:
 *
 *   SIGUSR1  read N from the control file (FAILMALLOC_CTL), reset the
 *            counter, open the window; write "armed N" to the report file
 *   SIGUSR2  close the window; write "disarmed COUNT FAILED" (allocations
 *            seen in the window, and 1 if the Nth was failed)
 *
 * N = 0 only counts.  Inside the window the Nth allocation returns NULL
 * with errno ENOMEM, once; every other one works.  The failed call's stack
 * (return addresses, as backtrace_symbols_fd prints them) goes to the
 * report file after a "fail N" line, so that a crash can be traced to the
 * allocation that provoked it.  The report file (FAILMALLOC_LOG) is opened
 * once, O_APPEND, and written with write(2) only; the signal handlers use
 * only async-signal-safe calls (open, read, close, write).
 *
 * Threads: the counter and the window flag are atomics; the handlers may
 * run on any thread.  An allocation made while the hook itself is busy on
 * that thread (backtrace() may allocate the first time) is not counted.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FM_FRAMES 32
#define FM_BOOT   (64 * 1024) /* for allocations before dlsym answers */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);

static atomic_int armed;
static atomic_long counter;
static atomic_long fail_at;
static atomic_int failed;
static int report_fd = -1;
static char ctl_path[512];
static __thread int busy;

static _Alignas(max_align_t) char boot[FM_BOOT];
static atomic_size_t boot_used;

/* Memory for calls made while dlsym itself is still resolving. */
static void *
boot_alloc(size_t n)
{
	size_t off, size = (n + 15) & ~(size_t)15;

	off = atomic_fetch_add(&boot_used, size);
	if (off + size > FM_BOOT)
		return NULL;
	return boot + off;
}

static int
from_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + FM_BOOT;
}

static void
say(const char *s)
{
	if (report_fd >= 0)
		(void)!write(report_fd, s, strlen(s));
}

/* Decimal of v into buf (async-signal-safe); returns buf. */
static char *
num(long v, char *buf, size_t size)
{
	char *p = buf + size - 1;
	int neg = v < 0;
	unsigned long u = neg ? -(unsigned long)v : (unsigned long)v;

	*p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0 && p > buf + 1);
	if (neg)
		*--p = '-';
	return p;
}

/* The window's N from the control file, or 0. */
static long
read_n(void)
{
	char buf[32];
	long n = 0;
	ssize_t len;
	int fd = open(ctl_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (ssize_t i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
		n = n * 10 + (buf[i] - '0');
	return n;
}

static void
on_arm(int sig)
{
	char b[32];
	int saved = errno;

	(void)sig;
	atomic_store(&armed, 0);
	atomic_store(&fail_at, read_n());
	atomic_store(&counter, 0);
	atomic_store(&failed, 0);
	atomic_store(&armed, 1);
	say("armed ");
	say(num(atomic_load(&fail_at), b, sizeof(b)));
	say("\n");
	errno = saved;
}

static void
on_disarm(int sig)
{
	char b[32];
	int saved = errno;

	(void)sig;
	atomic_store(&armed, 0);
	say("disarmed ");
	say(num(atomic_load(&counter), b, sizeof(b)));
	say(atomic_load(&failed) ? " 1\n" : " 0\n");
	errno = saved;
}

/* Whether this allocation is the one to fail. */
static int
should_fail(void)
{
	long n;

	if (!atomic_load_explicit(&armed, memory_order_relaxed) || busy)
		return 0;
	n = atomic_fetch_add(&counter, 1) + 1;
	if (n != atomic_load(&fail_at))
		return 0;
	atomic_store(&failed, 1);
	return 1;
}

/* Report the failed call's stack, then make the caller see ENOMEM. */
static void
report_failure(void)
{
	void *frames[FM_FRAMES];
	char b[32];
	int n;

	busy = 1;
	say("fail ");
	say(num(atomic_load(&fail_at), b, sizeof(b)));
	say("\n");
	n = backtrace(frames, FM_FRAMES);
	if (report_fd >= 0)
		backtrace_symbols_fd(frames, n, report_fd);
	say("end\n");
	busy = 0;
	errno = ENOMEM;
}

#define FAIL_POINT()                                                           \
	do {                                                                   \
		if (should_fail()) {                                           \
			report_failure();                                      \
			return NULL;                                           \
		}                                                              \
	} while (0)

static void
resolve(void)
{
	static atomic_int resolving;

	if (real_malloc != NULL || atomic_exchange(&resolving, 1))
		return;
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_malloc = dlsym(RTLD_NEXT, "malloc");
}

void *
malloc(size_t n)
{
	if (real_malloc == NULL) {
		resolve();
		if (real_malloc == NULL)
			return boot_alloc(n);
	}
	FAIL_POINT();
	return real_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	void *p;

	if (real_calloc == NULL || real_malloc == NULL) {
		resolve();
		if (real_calloc == NULL || real_malloc == NULL) {
			if (size != 0 && n > SIZE_MAX / size)
				return NULL;
			p = boot_alloc(n * size);
			return p; /* static memory is zero */
		}
	}
	FAIL_POINT();
	return real_calloc(n, size);
}

void *
realloc(void *old, size_t n)
{
	void *p;

	if (old != NULL && from_boot(old)) {
		size_t room = (size_t)(boot + FM_BOOT - (char *)old);

		if ((p = malloc(n)) != NULL)
			memcpy(p, old, n < room ? n : room);
		return p;
	}
	if (real_realloc == NULL)
		resolve();
	/* realloc(p, 0) frees: not an allocation that can fail. */
	if (old == NULL || n != 0)
		FAIL_POINT();
	return real_realloc(old, n);
}

void *
reallocarray(void *old, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, n * size);
}

void
free(void *p)
{
	if (p == NULL || from_boot(p))
		return;
	if (real_free == NULL)
		resolve();
	real_free(p);
}

int
posix_memalign(void **out, size_t align, size_t n)
{
	if (real_posix_memalign == NULL)
		resolve();
	if (should_fail()) {
		report_failure();
		return ENOMEM;
	}
	return real_posix_memalign(out, align, n);
}

void *
aligned_alloc(size_t align, size_t n)
{
	if (real_aligned_alloc == NULL)
		resolve();
	FAIL_POINT();
	return real_aligned_alloc(align, n);
}

void *
memalign(size_t align, size_t n)
{
	if (real_memalign == NULL)
		resolve();
	FAIL_POINT();
	return real_memalign(align, n);
}

void *
valloc(size_t n)
{
	return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

void *
pvalloc(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return memalign(page, (n + page - 1) & ~(page - 1));
}

__attribute__((constructor)) static void
failmalloc_init(void)
{
	const char *log = getenv("FAILMALLOC_LOG");
	const char *ctl = getenv("FAILMALLOC_CTL");
	struct sigaction sa;
	void *warm[2];

	resolve();
	if (ctl != NULL && strlen(ctl) < sizeof(ctl_path))
		memcpy(ctl_path, ctl, strlen(ctl) + 1);
	if (log != NULL)
		report_fd =
		    open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	/* backtrace() loads libgcc_s on first use: do it now, not while an
	 * allocation is failing. */
	busy = 1;
	(void)backtrace(warm, 2);
	busy = 0;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_arm;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_disarm;
	sigaction(SIGUSR2, &sa, NULL);
	say("ready\n");
}
