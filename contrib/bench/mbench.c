/*
 * mbench: replay a corpus of messages to a milter (or a chain of milters)
 * over C concurrent connections, bounded by count and time, and report
 * throughput, latency, errors, and the CPU time and peak RSS of the
 * processes named with -P.  See contrib/bench/README for the options and
 * the output; mbench.h for the structure.
 *
 * Latency of a message: from its first command (for the first message of
 * a connection: from connect(), negotiation included, as an MTA opens the
 * milter connection with the SMTP session) to the final answer at end of
 * message (of the last milter of the chain).
 *
 * CPU: utime + stime of each -P process from /proc/PID/stat before the
 * first connection and after the last one closed (every thread, those
 * that ended included).  Peak RSS: VmHWM after resetting it with
 * /proc/PID/clear_refs ("5"), and the largest VmRSS sampled every 50 ms.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "mbench.h"

#define TICK_MS 50

void
mb_oom(void)
{
	fputs("mbench: out of memory\n", stderr);
	exit(2);
}

int64_t
mb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
mb_error(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	b->errors++;
	if (b->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(b->first_error, sizeof(b->first_error), fmt, ap);
	va_end(ap);
}

/* Room for another message: count, time, and not failing in a loop
 * (a daemon that is gone refuses every connection at once). */
bool
mb_budget(const struct bench *b)
{
	return b->begun < b->o.count && mb_now() < b->stop_at &&
	       b->errors < MB_MAX_ERRORS;
}

static struct bench *the_bench; /* for mb_watch: the epoll set */

int
mb_watch(struct sess *s, bool out)
{
	struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
	                         .data.ptr = s};

	if (epoll_ctl(the_bench->ep, EPOLL_CTL_MOD, s->fd, &ev) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	return epoll_ctl(the_bench->ep, EPOLL_CTL_ADD, s->fd, &ev);
}

/* libmilter's socket syntax: unix:/path, inet:PORT@HOST, inet6:... */
int
mb_resolve(const char *spec, struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)sa;
	struct addrinfo hints = {0}, *ai;
	char port[16], host[256];
	const char *p = spec, *at;
	bool v6 = strncmp(p, "inet6:", 6) == 0;

	memset(sa, 0, sizeof(*sa));
	if (strncmp(p, "unix:", 5) == 0 || strncmp(p, "local:", 6) == 0 ||
	    *p == '/') {
		p = *p == '/' ? p : strchr(p, ':') + 1;
		if (strlen(p) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, p);
		*salen = sizeof(*sun);
		return 0;
	}
	if (strncmp(p, "inet:", 5) != 0 && !v6)
		return -1;
	p = strchr(p, ':') + 1;
	at = strchr(p, '@');
	snprintf(port, sizeof(port), "%.*s",
	         at ? (int)(at - p) : (int)strlen(p), p);
	snprintf(host, sizeof(host), "%s",
	         at ? at + 1 : (v6 ? "::1" : "127.0.0.1"));
	if (host[0] == '[' && strlen(host) > 2) {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hints.ai_family = v6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	memcpy(sa, ai->ai_addr, ai->ai_addrlen);
	*salen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/* ---- /proc measurements ---- */

/* utime + stime in clock ticks, or -1. */
static long long
proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields count from the ')'. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2,
	           "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	           &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/* A "Name: N kB" line of /proc/PID/status, or -1. */
static long
proc_status_kb(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t n = strlen(name);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Reset the peak RSS (VmHWM); false when the kernel refuses. */
static bool
proc_reset_hwm(pid_t pid)
{
	char path[64];
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	if ((f = fopen(path, "w")) == NULL)
		return false;
	ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

struct meas {
	long long cpu0[MB_MAX_PIDS], cpu1[MB_MAX_PIDS];
	long rss_max[MB_MAX_PIDS], rss_start[MB_MAX_PIDS];
	bool hwm_ok[MB_MAX_PIDS];
	struct rusage self0, self1;
};

static void
measure_start(const struct mb_opts *o, struct meas *m)
{
	size_t i;

	for (i = 0; i < o->npid; i++) {
		m->hwm_ok[i] = proc_reset_hwm(o->pid[i]);
		m->rss_start[i] = m->rss_max[i] =
		    proc_status_kb(o->pid[i], "VmRSS");
		m->cpu0[i] = proc_cpu(o->pid[i]);
	}
	getrusage(RUSAGE_SELF, &m->self0);
}

static void
measure_sample(const struct mb_opts *o, struct meas *m)
{
	long v;
	size_t i;

	for (i = 0; i < o->npid; i++)
		if ((v = proc_status_kb(o->pid[i], "VmRSS")) > m->rss_max[i])
			m->rss_max[i] = v;
}

/* ---- the event loop ---- */

static void
tick(struct bench *b)
{
	int64_t now = mb_now(), limit = (int64_t)b->o.timeout * 1000000000;
	unsigned i;
	size_t k;

	for (i = 0; i < b->o.conc; i++) {
		struct conn *c = &b->conns[i];

		for (k = 0; c->open && k < b->o.nsock; k++) {
			const struct sess *s = &c->sess[k];

			if (s->fd >= 0 &&
			    (s->asked != ST_FREE || s->step == ST_DIAL ||
			     s->out.len > 0) &&
			    now - s->last_io > limit)
				conn_fail(c, "timeout");
		}
	}
	/* Hold mode: do not wait for ever for connections that never come. */
	if (b->o.hold && !b->released && now - b->start > limit)
		mb_release(b);
}

/*
 * Start connections on free slots.  With -R they start at that rate (an
 * open loop: SMTP sessions arriving, at most -c at once); a slot that
 * was missed is not made up in a burst later.
 */
static void
start_idle(struct bench *b)
{
	int64_t now, gap = b->o.rate > 0 ? (int64_t)(1e9 / b->o.rate) : 0;

	while (b->nidle > 0 && mb_budget(b) &&
	       b->begun + b->pending < b->o.count) {
		if (gap > 0) {
			now = mb_now();
			if (now < b->next_slot)
				return;
			b->next_slot =
			    (b->next_slot + gap < now ? now : b->next_slot) +
			    gap;
		}
		conn_start(b, b->idle[--b->nidle]);
	}
}

/* How long epoll may sleep: until the next tick or the next -R slot. */
static int
wait_ms(const struct bench *b)
{
	int64_t left;

	if (b->o.rate <= 0 || b->nidle == 0)
		return TICK_MS;
	left = (b->next_slot - mb_now()) / 1000000;
	return left < 0 ? 0 : left > TICK_MS ? TICK_MS : (int)left;
}

static void
run(struct bench *b, struct meas *m)
{
	struct epoll_event ev[256];
	int64_t next_tick = mb_now();
	int n, i;

	start_idle(b);
	while (b->open > 0 ||
	       (b->o.rate > 0 && mb_budget(b) && b->begun < b->o.count)) {
		n = epoll_wait(b->ep, ev, 256, wait_ms(b));
		for (i = 0; i < n; i++) {
			struct sess *s = ev[i].data.ptr;

			if (s->fd >= 0 && s->c->open)
				(void)sess_io(s, ev[i].events);
		}
		if (mb_now() >= next_tick) {
			next_tick = mb_now() + TICK_MS * 1000000LL;
			tick(b);
			measure_sample(&b->o, m);
		}
		start_idle(b);
	}
}

/* ---- the report ---- */

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile of the sorted latencies, in ms (nearest rank). */
static double
quantile(const struct bench *b, double q)
{
	size_t k;

	if (b->nlat == 0)
		return 0;
	k = (size_t)(q * (double)b->nlat + 0.999999);
	if (k < 1)
		k = 1;
	if (k > b->nlat)
		k = b->nlat;
	return (double)b->lat[k - 1] / 1e6;
}

static double
tv_ms(const struct timeval *a, const struct timeval *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_usec - a->tv_usec) / 1e3;
}

/* One line of key=value pairs (what contrib/bench/run reads). */
static void
report(struct bench *b, struct meas *m)
{
	double secs = (double)(b->last_done - b->start) / 1e9;
	double tick_ms = 1000.0 / (double)sysconf(_SC_CLK_TCK);
	double cpu = 0, per;
	long hwm = 0, rmax = 0, r0 = 0, v;
	bool hwm_ok = b->o.npid > 0;
	size_t i;

	if (b->nlat > 0)
		qsort(b->lat, b->nlat, sizeof(*b->lat), cmp_i64);
	if (secs <= 0)
		secs = 1e-9;
	printf("msgs=%lu errors=%lu verdict_errors=%lu seconds=%.3f "
	       "msgs_per_s=%.1f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f "
	       "max_ms=%.3f conns_max=%u held=%u",
	       b->done, b->errors, b->verdict_errors, secs,
	       (double)b->done / secs, quantile(b, .50), quantile(b, .95),
	       quantile(b, .99), quantile(b, 1), b->max_open,
	       b->o.hold ? b->max_held : 0);
	for (i = 0; i < b->o.npid; i++) {
		m->cpu1[i] = proc_cpu(b->o.pid[i]);
		per = m->cpu0[i] < 0 || m->cpu1[i] < 0
		          ? -1
		          : (double)(m->cpu1[i] - m->cpu0[i]) * tick_ms;
		cpu += per;
		printf(" cpu_ms_pid%zu=%.0f", i, per);
		v = proc_status_kb(b->o.pid[i], "VmHWM");
		hwm_ok = hwm_ok && m->hwm_ok[i] && v > 0;
		hwm += v;
		rmax += m->rss_max[i];
		r0 += m->rss_start[i];
	}
	if (b->o.npid > 0)
		printf(" cpu_ms=%.0f cpu_ms_per_msg=%.4f rss_start_kb=%ld "
		       "rss_peak_kb=%ld rss_sampled_max_kb=%ld",
		       cpu, b->done ? cpu / (double)b->done : 0.0, r0,
		       hwm_ok ? hwm : rmax, rmax);
	getrusage(RUSAGE_SELF, &m->self1);
	printf(" driver_cpu_ms=%.0f\n",
	       tv_ms(&m->self0.ru_utime, &m->self1.ru_utime) +
	           tv_ms(&m->self0.ru_stime, &m->self1.ru_stime));
	if (b->first_error[0])
		fprintf(stderr, "mbench: %lu errors; first: %s\n", b->errors,
		        b->first_error);
	if (b->first_verdict_error[0])
		fprintf(stderr, "mbench: %lu wrong verdicts; first: %s\n",
		        b->verdict_errors, b->first_verdict_error);
}

/* ---- options and corpus ---- */

static void
usage(void)
{
	fputs(
	    "usage: mbench -p SOCKET [-p SOCKET]... [-c CONC] [-k PER_CONN]"
	    " [-n COUNT] [-T SECONDS]\n"
	    "              [-t TIMEOUT] [-a IP] [-N NAME] [-e HELO] [-f FROM]"
	    " [-r RCPT] [-A USER]\n"
	    "              [-m STAGE:NAME=VALUE]... [-P PID]... [-x PATTERN]..."
	    " [-w OUTCOME]\n"
	    "              [-o LOG] [-s DIR -S N] [-H] [-R RATE] FILE|DIR...\n",
	    stderr);
	exit(2);
}

static unsigned long
num(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max)
		usage();
	return v;
}

static void
macro_opt(struct mb_opts *o, char *arg)
{
	char *colon = strchr(arg, ':'), *eq;
	int i;

	if (colon == NULL || o->nextra >= MB_MAX_EXTRA ||
	    (eq = strchr(colon + 1, '=')) == NULL)
		usage();
	*colon = *eq = '\0';
	for (i = 0; i < MB_MSTAGES && strcmp(arg, milwire_stages[i].name) != 0;
	     i++)
		;
	if (i == MB_MSTAGES)
		usage();
	o->extra[o->nextra].stage = i;
	o->extra[o->nextra].name = colon + 1;
	o->extra[o->nextra++].value = eq + 1;
}

static void
parse_opt(struct mb_opts *o, int c, char *arg)
{
	switch (c) {
	case 'p':
		if (o->nsock >= MB_MAX_CHAIN)
			usage();
		o->sock[o->nsock++] = arg;
		break;
	case 'c':
		o->conc = (unsigned)num(arg, 1, 100000);
		break;
	case 'k':
		o->per_conn = (unsigned)num(arg, 1, 1000000);
		break;
	case 'n':
		o->count = num(arg, 1, 100000000);
		break;
	case 'T':
		o->seconds = strtod(arg, NULL);
		break;
	case 't':
		o->timeout = (unsigned)num(arg, 1, 3600);
		break;
	case 'a':
		o->addr = arg;
		break;
	case 'N':
		o->client_name = arg;
		break;
	case 'e':
		o->helo = arg;
		break;
	case 'f':
		o->from = arg;
		break;
	case 'r':
		o->rcpt = arg;
		break;
	case 'A':
		o->auth = arg;
		break;
	case 'm':
		macro_opt(o, arg);
		break;
	case 'P':
		if (o->npid >= MB_MAX_PIDS)
			usage();
		o->pid[o->npid++] = (pid_t)num(arg, 1, 1 << 30);
		break;
	case 'x':
		if (o->npat >= MB_MAX_PAT)
			usage();
		o->pat[o->npat++] = arg;
		break;
	case 'w':
		o->want = arg;
		break;
	case 'o':
		o->logpath = arg;
		break;
	case 's':
		o->savedir = arg;
		break;
	case 'S':
		o->nsave = (unsigned)num(arg, 0, 1000000);
		break;
	case 'H':
		o->hold = true;
		break;
	case 'R':
		o->rate = strtod(arg, NULL);
		break;
	case 'q':
		o->quiet = true;
		break;
	default:
		usage();
	}
}

static void
add_file(struct bench *b, const char *path)
{
	char err[512];
	struct corpus *c;

	b->corpus = realloc(b->corpus, (b->ncorpus + 1) * sizeof(*b->corpus));
	if (b->corpus == NULL)
		mb_oom();
	c = &b->corpus[b->ncorpus];
	if (milwire_msg_load(path, MB_MAX_MSGSIZE, &c->m, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "mbench: %s\n", err);
		exit(2);
	}
	if ((c->path = strdup(path)) == NULL)
		mb_oom();
	b->ncorpus++;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory stands for its *.eml files, in name order. */
static void
add_path(struct bench *b, const char *path)
{
	char **names = NULL, full[4096];
	size_t n = 0, i, l;
	struct dirent *e;
	DIR *d = opendir(path);

	if (d == NULL) {
		add_file(b, path);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (names == NULL || (names[n++] = strdup(e->d_name)) == NULL)
			mb_oom();
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		add_file(b, full);
		free(names[i]);
	}
	free(names);
}

static void
setup(struct bench *b, int argc, char **argv)
{
	struct mb_opts *o = &b->o;
	struct rlimit rl;
	unsigned i;
	int c;

	o->conc = 1;
	o->per_conn = 1;
	o->count = 1000;
	o->seconds = 60;
	o->timeout = 30;
	o->addr = "127.0.0.5";
	o->helo = "mx.sender.example";
	o->from = "bounce@sender.example";
	o->rcpt = "user@bench.example";
	o->want = "accept";
	while ((c = getopt(argc, argv,
	                   "p:c:k:n:T:t:a:N:e:f:r:A:m:P:x:w:o:s:S:HR:q")) != -1)
		parse_opt(o, c, optarg);
	if (o->nsock == 0 || optind >= argc)
		usage();
	for (; optind < argc; optind++)
		add_path(b, argv[optind]);
	if (b->ncorpus == 0) {
		fputs("mbench: no messages\n", stderr);
		exit(2);
	}
	for (i = 0; i < o->nsock; i++)
		if (mb_resolve(o->sock[i], &b->sa[i], &b->salen[i]) < 0) {
			fprintf(stderr, "mbench: bad socket %s\n", o->sock[i]);
			exit(2);
		}
	if (o->client_name)
		snprintf(o->wire_name, sizeof(o->wire_name), "%s",
		         o->client_name);
	else
		snprintf(o->wire_name, sizeof(o->wire_name), "[%s]", o->addr);
	/* Each connection holds one socket per milter, plus slack. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (o->logpath && (b->log = fopen(o->logpath, "w")) == NULL) {
		fprintf(stderr, "mbench: cannot write %s\n", o->logpath);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	static struct bench b;
	struct meas m;
	unsigned i;

	setup(&b, argc, argv);
	the_bench = &b;
	if ((b.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 2;
	b.conns = calloc(b.o.conc, sizeof(*b.conns));
	b.idle = calloc(b.o.conc, sizeof(*b.idle));
	if (b.conns == NULL || b.idle == NULL)
		mb_oom();
	for (i = 0; i < b.o.conc; i++)
		b.idle[b.nidle++] = b.o.conc - 1 - i;
	memset(&m, 0, sizeof(m));
	measure_start(&b.o, &m);
	b.start = b.last_done = mb_now();
	b.stop_at = b.start + (int64_t)(b.o.seconds * 1e9);
	run(&b, &m);
	report(&b, &m);
	if (b.log)
		fclose(b.log);
	return b.errors || b.verdict_errors ? 1 : 0;
}
