/*
 * main: command line, start-up, privileges, signals and reload.
 *
 *   authmilter [-c POLICY] [-p SOCKET] [-f] [-n] [-v] [-V]
 *
 * Exit codes: 0 ok, 1 bad policy or usage, 2 runtime failure.
 *
 * Signals: libmilter's own signal thread waits for SIGHUP, SIGTERM and
 * SIGINT and stops the milter on any of them, so SIGHUP would end the
 * daemon.  To keep SIGHUP for reload, libmilter runs in its own thread
 * (which blocks those signals, as do all threads it starts) while the
 * main thread keeps them unblocked with handlers that only write to a
 * self-pipe.  Linux delivers a process-directed signal to the main thread
 * whenever that thread does not block it, so the handlers always win; the
 * main thread reads the pipe and reloads (SIGHUP) or stops (SIGTERM,
 * SIGINT) in normal context.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libmilter/mfapi.h>
#include <openssl/crypto.h>

#include "buf.h"
#include "callbacks.h"
#include "clock.h"
#include "conf.h"
#include "dns.h"
#include "listen.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "spf_check.h"

#define DEFAULT_POLICY  SYSCONFDIR "/authmilter/policy.json"
#define DRAIN_SECONDS   30            /* wait for open connections at stop */
#define MILTER_DATA_MAX (1024 * 1024) /* largest milter command accepted */

enum { EXIT_OK = 0, EXIT_CONFIG = 1, EXIT_RUNTIME = 2 };

struct options {
	const char *policy;
	const char *socket;
	bool foreground;
	bool check;
	bool version;
	int verbose;
};

static int sig_pipe[2] = {-1, -1};

static void
usage(void)
{
	fprintf(stderr, "usage: authmilter [-c POLICY] [-p SOCKET] [-f] [-n] "
	                "[-v] [-V]\n");
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->policy = DEFAULT_POLICY;
	while ((ch = getopt(argc, argv, "c:p:fnvV")) != -1) {
		switch (ch) {
		case 'c':
			o->policy = optarg;
			break;
		case 'p':
			o->socket = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'n':
			o->check = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'V':
			o->version = true;
			break;
		default:
			return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

static int
print_version(void)
{
	unsigned int maj, min, pl;

	smfi_version(&maj, &min, &pl);
	printf("authmilter %s\n", PACKAGE_VERSION);
	printf("libmilter %u.%u.%u\n", maj, min, pl);
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("jansson %s\n", jansson_version_str());
	printf("%s\n", dns_library_version());
	printf("%s\n", spf_library_version());
	return EXIT_OK;
}

/* -n: load the policy (and everything it names), report, exit. */
static int
check_policy(const struct options *o)
{
	struct errbuf eb;
	struct conf *c = conf_load(o->policy, false, &eb);
	struct buf b;

	if (c == NULL) {
		printf("%s\n", eb.msg);
		return EXIT_CONFIG;
	}
	if (o->verbose > 0) {
		buf_init(&b, 0);
		if (policy_dump(conf_policy(c), &b) == 0)
			printf("%s\n", buf_cstr(&b));
		buf_free(&b);
	}
	printf("policy OK\n");
	conf_release(c);
	return EXIT_OK;
}

/* The path of a unix socket spec, or NULL for inet sockets. */
static const char *
unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

/* Open the listening socket before dropping privileges. */
static int
open_socket(const char *spec, const struct policy *p, const struct passwd *pw)
{
	const char *path = unix_path(spec);
	struct errbuf eb;

	if (smfi_setconn((char *)spec) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		log_msg(LOG_ERR, "cannot listen on %s", spec);
		return -1;
	}
	if (path == NULL) {
		/* Without it every reply waits for a delayed ACK. */
		if (listen_set_nodelay(&eb) != 0)
			log_msg(LOG_WARNING, "%s: %s", spec, eb.msg);
		return 0;
	}
	if (chmod(path, p->socket_mode) != 0 ||
	    (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) != 0)) {
		log_msg(LOG_ERR, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Become pw for good; refuse to go on as root if that fails. */
static int
drop_privileges(const struct passwd *pw)
{
	if (pw == NULL)
		return 0;
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		log_msg(LOG_ERR, "cannot become user %s: %s", pw->pw_name,
		        strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		log_msg(LOG_ERR,
		        "privileges could be regained; refusing to run");
		return -1;
	}
	return 0;
}

static int
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(EXIT_OK);
	if (setsid() < 0 || chdir("/") != 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static int
install_signals(void)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGHUP, &sa, NULL) != 0 ||
	    sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* The libmilter thread; it tells the main thread when smfi_main ends. */
static void *
milter_thread(void *arg)
{
	int *status = arg;
	unsigned char c = 0;

	*status = smfi_main() == MI_SUCCESS ? 0 : -1;
	(void)!write(sig_pipe[1], &c, 1);
	return NULL;
}

/* SIGHUP: load the file again; keep the running snapshot on any error. */
static void
reload(const char *path)
{
	struct errbuf eb;
	struct conf *c = conf_load(path, true, &eb);

	if (c == NULL) {
		log_msg(LOG_ERR,
		        "reload failed, keeping the running policy: %s",
		        eb.msg);
		return;
	}
	log_set_facility(conf_policy(c)->log_facility);
	conf_install(c);
	log_msg(LOG_INFO, "policy reloaded from %s", path);
	log_msg(LOG_DEBUG, "a changed metrics.listen takes effect at restart");
}

static void *
stop_thread(void *arg)
{
	(void)arg;
	smfi_stop();
	return NULL;
}

/* smfi_stop() waits for a lock libmilter's listener holds for up to its
 * poll timeout (seconds), so it runs in a thread of its own: the stop
 * itself then waits only for the open connections (drain()). */
static void
stop_milter(void)
{
	pthread_t tid;

	if (pthread_create(&tid, NULL, stop_thread, NULL) == 0)
		pthread_detach(tid);
	else
		smfi_stop();
}

/* Serve signals until a stop signal (true) or until libmilter ends on
 * its own (false). */
static bool
signal_loop(const char *path)
{
	struct pollfd pfd = {.fd = sig_pipe[0], .events = POLLIN};
	unsigned char c;

	for (;;) {
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
			return false;
		while (read(sig_pipe[0], &c, 1) == 1) {
			if (c == 0)
				return false;
			if (c == SIGHUP) {
				reload(path);
				continue;
			}
			log_msg(LOG_INFO, "stopping on signal %d", c);
			stop_milter();
			return true;
		}
	}
}

/* Let the decisions under way finish and be answered.  Nothing else
 * can be waited for: after the stop libmilter reads no more commands, so
 * a message between commands, or an idle connection an MTA keeps open,
 * ends with the MTA's milter_default_action (tempfail, as the docs ask). */
static void
drain(void)
{
	int64_t end = clock_ms() + DRAIN_SECONDS * 1000;

	while (callbacks_deciding() > 0 && clock_ms() < end)
		usleep(20 * 1000);
	usleep(50 * 1000); /* the replies of those callbacks go out */
}

/* Look up the policy's user while still root. */
static int
lookup_user(const struct policy *p, struct passwd **pw)
{
	*pw = NULL;
	if (p->user == NULL)
		return 0;
	if ((*pw = getpwnam(p->user)) == NULL) {
		log_msg(LOG_ERR, "unknown user %s", p->user);
		return -1;
	}
	return 0;
}

/* Socket, privileges, daemon, resolver: everything before serving. */
static int
setup(const struct options *o, struct conf *c)
{
	const struct policy *p = conf_policy(c);
	struct passwd *pw;
	struct errbuf eb;

	/* libmilter drops the connection on a command over 64 KiB (a long
	 * header field); take up to 1 MiB so such mail gets a verdict
	 * instead of the MTA's default action. */
	(void)smfi_setmaxdatasize(MILTER_DATA_MAX);
	if (listen_raise_nofile(&eb) != 0)
		log_msg(LOG_WARNING, "%s", eb.msg);
	if (smfi_register(*callbacks_desc()) != MI_SUCCESS) {
		log_msg(LOG_ERR, "smfi_register failed");
		return -1;
	}
	if (lookup_user(p, &pw) != 0 ||
	    open_socket(o->socket ? o->socket : p->listen, p, pw) != 0 ||
	    drop_privileges(pw) != 0)
		return -1;
	if (!o->foreground) {
		if (daemonize() != 0)
			return -1;
		log_detached();
	}
	/* Threads start only now: fork() keeps none of them. */
	if (conf_attach_dns(c, &eb) != 0 ||
	    (p->metrics.listen != NULL &&
	     metrics_start(p->metrics.listen, &eb) != 0)) {
		log_msg(LOG_ERR, "%s", eb.msg);
		return -1;
	}
	return install_signals();
}

static int
serve(const struct options *o, struct conf *c)
{
	pthread_t tid;
	int status = 0;

	if (setup(o, c) != 0) {
		conf_release(c);
		return EXIT_RUNTIME;
	}
	log_set_facility(conf_policy(c)->log_facility);
	conf_install(c);
	log_msg(LOG_INFO, "authmilter %s starting, policy %s", PACKAGE_VERSION,
	        o->policy);
	if (pthread_create(&tid, NULL, milter_thread, &status) != 0) {
		log_msg(LOG_ERR, "cannot start the milter thread");
		return EXIT_RUNTIME;
	}
	/* After a stop signal libmilter's listener notices only at its next
	 * poll timeout (seconds): wait for the open connections instead. */
	if (signal_loop(o->policy))
		pthread_detach(tid);
	else
		pthread_join(tid, NULL);
	drain();
	metrics_stop();
	conf_uninstall();
	log_msg(LOG_INFO, "authmilter stopped");
	return status == 0 ? EXIT_OK : EXIT_RUNTIME;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct errbuf eb;
	struct conf *c;

	if (parse_args(argc, argv, &o) != 0) {
		usage();
		return EXIT_CONFIG;
	}
	if (o.version)
		return print_version();
	if (o.check) {
		log_open("authmilter", true, o.verbose); /* key warnings */
		return check_policy(&o);
	}
	log_open("authmilter", o.foreground, o.verbose);
	if ((c = conf_load(o.policy, false, &eb)) == NULL) {
		fprintf(stderr, "%s\n", eb.msg);
		log_msg(LOG_ERR, "%s", eb.msg);
		return EXIT_CONFIG;
	}
	return serve(&o, c);
}
