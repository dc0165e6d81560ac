/*
 * listen: what the daemon does to the process and the listening socket
 * before it serves.
 *
 * TCP_NODELAY: at end of message the milter answers with several small
 * packets (add a header, then accept).  Over TCP, Nagle's algorithm holds
 * the second until the first is acknowledged, and the MTA delays that
 * acknowledgement (up to 40 ms on Linux): every message would wait for
 * it.  libmilter gives no hook on the sockets it accepts, but Linux
 * copies TCP_NODELAY from a listening socket to the sockets accept()
 * returns, so we set it on the listening socket that smfi_opensocket()
 * made.  That socket is found by its SO_ACCEPTCONN flag.
 *
 * Descriptors: each MTA connection holds one descriptor, and the DNS
 * library aborts the process when it cannot get one, so the soft limit
 * is raised to the hard limit at start (systemd's LimitNOFILE sets it).
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errbuf.h"
#include "listen.h"

int
listen_raise_nofile(struct errbuf *eb)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		errbuf_set(eb, "getrlimit: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur == rl.rlim_max)
		return 0;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		errbuf_set(eb, "setrlimit: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether fd is a listening TCP socket. */
static bool
is_tcp_listener(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int on = 0;
	socklen_t olen = sizeof(on);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) != 0 || !on)
		return false;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	return ss.ss_family == AF_INET || ss.ss_family == AF_INET6;
}

int
listen_set_nodelay(struct errbuf *eb)
{
	long max = sysconf(_SC_OPEN_MAX);
	int found = 0;
	int on = 1;

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 0; fd < max; fd++) {
		if (!is_tcp_listener(fd))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) !=
		    0) {
			errbuf_set(eb, "TCP_NODELAY: %s", strerror(errno));
			return -1;
		}
		found++;
	}
	if (found == 0) {
		errbuf_set(eb, "no listening TCP socket found");
		return -1;
	}
	return 0;
}
