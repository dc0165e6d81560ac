/*
 * metrics: Prometheus counters and their HTTP endpoint (see metrics.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "callbacks.h"
#include "conf.h"
#include "dns.h"
#include "log.h"
#include "metrics.h"
#include "result.h"

#define IO_TIMEOUT_MS 2000

/* Upper bounds of the latency buckets, in milliseconds. */
static const int64_t buckets[] = {1,   2,   5,    10,   25,   50,    100,
                                  250, 500, 1000, 2500, 5000, 10000, 30000};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static atomic_uint_fast64_t messages[2]; /* inbound, outbound */
static atomic_uint_fast64_t results[AR_M_COUNT][AR_R_COUNT];
static atomic_uint_fast64_t actions[ACTION_COUNT];
static atomic_int_fast64_t in_flight;
static atomic_uint_fast64_t hist[NBUCKETS + 1];
static atomic_uint_fast64_t hist_sum_ms;

static int listen_fd = -1;
static int stop_pipe[2] = {-1, -1};
static pthread_t server;
static bool running;

void
metrics_message_begin(void)
{
	atomic_fetch_add(&in_flight, 1);
}

void
metrics_message_end(void)
{
	atomic_fetch_sub(&in_flight, 1);
}

void
metrics_message(bool outbound, const struct resultset *rs, enum action a,
                int64_t ms)
{
	size_t b = 0;

	atomic_fetch_add(&messages[outbound], 1);
	for (size_t i = 0; i < resultset_count(rs); i++) {
		const struct result *r = resultset_get(rs, i);

		atomic_fetch_add(&results[r->method][r->result], 1);
	}
	if ((unsigned)a < ACTION_COUNT)
		atomic_fetch_add(&actions[a], 1);
	while (b < NBUCKETS && ms > buckets[b])
		b++;
	atomic_fetch_add(&hist[b], 1);
	atomic_fetch_add(&hist_sum_ms, ms < 0 ? 0 : (uint64_t)ms);
}

static int
format_counters(struct buf *out)
{
	int rc = buf_puts(
	    out, "# HELP authmilter_messages_total Messages "
	         "decided.\n# TYPE authmilter_messages_total counter\n");

	for (int d = 0; d < 2 && rc == 0; d++)
		rc = buf_printf(
		    out, "authmilter_messages_total{direction=\"%s\"} %llu\n",
		    d ? "outbound" : "inbound",
		    (unsigned long long)atomic_load(&messages[d]));
	rc = rc ? rc
	        : buf_puts(out, "# HELP authmilter_results_total "
	                        "Results written, per method and result.\n"
	                        "# TYPE authmilter_results_total counter\n");
	for (int m = 0; m < AR_M_COUNT && rc == 0; m++)
		for (int r = 0; r < AR_R_COUNT && rc == 0; r++)
			rc = buf_printf(
			    out,
			    "authmilter_results_total{method="
			    "\"%s\",result=\"%s\"} %llu\n",
			    ar_method_name(m), ar_result_name(r),
			    (unsigned long long)atomic_load(&results[m][r]));
	rc = rc ? rc
	        : buf_puts(out, "# HELP authmilter_actions_total "
	                        "Actions applied.\n# TYPE "
	                        "authmilter_actions_total counter\n");
	for (int a = 0; a < ACTION_COUNT && rc == 0; a++)
		rc = buf_printf(
		    out, "authmilter_actions_total{action=\"%s\"} %llu\n",
		    action_name(a),
		    (unsigned long long)atomic_load(&actions[a]));
	return rc;
}

static int
format_histogram(struct buf *out)
{
	uint64_t total = 0;
	int rc = buf_puts(out, "# HELP authmilter_message_seconds Time from "
	                       "MAIL FROM to the decision.\n"
	                       "# TYPE authmilter_message_seconds histogram\n");

	for (size_t b = 0; b <= NBUCKETS && rc == 0; b++) {
		total += atomic_load(&hist[b]);
		if (b < NBUCKETS)
			rc = buf_printf(out,
			                "authmilter_message_seconds_bucket"
			                "{le=\"%g\"} %llu\n",
			                (double)buckets[b] / 1000,
			                (unsigned long long)total);
		else
			rc = buf_printf(out,
			                "authmilter_message_seconds_bucket"
			                "{le=\"+Inf\"} %llu\n",
			                (unsigned long long)total);
	}
	return rc ? rc
	          : buf_printf(out,
	                       "authmilter_message_seconds_sum %.3f\n"
	                       "authmilter_message_seconds_count %llu\n",
	                       (double)atomic_load(&hist_sum_ms) / 1000,
	                       (unsigned long long)total);
}

static int
format_gauges(struct buf *out)
{
	struct conf *c = conf_acquire();
	struct dns_stats st = {0};
	int rc;

	if (c != NULL && conf_dns(c) != NULL)
		dns_get_stats(conf_dns(c), &st);
	conf_release(c);
	rc = buf_printf(
	    out,
	    "# TYPE authmilter_messages_in_flight gauge\n"
	    "authmilter_messages_in_flight %lld\n"
	    "# TYPE authmilter_connections gauge\nauthmilter_connections %u\n",
	    (long long)atomic_load(&in_flight), callbacks_active());
	return rc ? rc
	          : buf_printf(
	                out,
	                "# TYPE authmilter_dns_queries_total counter\n"
	                "authmilter_dns_queries_total %llu\n"
	                "# TYPE authmilter_dns_cache_hits_total counter\n"
	                "authmilter_dns_cache_hits_total %llu\n"
	                "# TYPE authmilter_dns_joined_total counter\n"
	                "authmilter_dns_joined_total %llu\n"
	                "# TYPE authmilter_dns_sent_total counter\n"
	                "authmilter_dns_sent_total %llu\n"
	                "# TYPE authmilter_dns_timeouts_total counter\n"
	                "authmilter_dns_timeouts_total %llu\n"
	                "# TYPE authmilter_dns_temperrors_total counter\n"
	                "authmilter_dns_temperrors_total %llu\n"
	                "# TYPE authmilter_dns_inflight "
	                "gauge\nauthmilter_dns_inflight %llu\n",
	                (unsigned long long)st.queries,
	                (unsigned long long)st.cache_hits,
	                (unsigned long long)st.joined,
	                (unsigned long long)st.sent,
	                (unsigned long long)st.timeouts,
	                (unsigned long long)st.temperrors,
	                (unsigned long long)st.inflight);
}

int
metrics_format(struct buf *out)
{
	int rc = format_counters(out);

	rc = rc ? rc : format_histogram(out);
	return rc ? rc : format_gauges(out);
}

/* Read the request head (bounded in size and time); its length or -1. */
static ssize_t
read_request(int fd, char *req, size_t size)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r;

		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			return -1;
		if ((r = read(fd, req + n, size - 1 - n)) <= 0)
			return -1;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			return (ssize_t)n;
	}
	return -1;
}

static void
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
serve_one(int fd)
{
	char req[METRICS_REQUEST_MAX];
	struct buf body, resp;
	bool ok;

	if (read_request(fd, req, sizeof(req)) < 0)
		return;
	ok = strncmp(req, "GET /metrics ", 13) == 0 ||
	     strncmp(req, "GET /metrics?", 13) == 0;
	buf_init(&body, 0);
	buf_init(&resp, 0);
	if (!ok || metrics_format(&body) != 0) {
		buf_reset(&body);
		buf_puts(&body, "not found\n");
	}
	buf_printf(
	    &resp,
	    "HTTP/1.0 %s\r\nContent-Type: text/plain; "
	    "version=0.0.4\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
	    ok ? "200 OK" : "404 Not Found", body.len);
	buf_append(&resp, body.data, body.len);
	write_all(fd, resp.data, resp.len);
	buf_free(&body);
	buf_free(&resp);
}

static void *
serve(void *arg)
{
	struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
	                      {.fd = stop_pipe[0], .events = POLLIN}};

	(void)arg;
	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[1].revents)
			return NULL;
		if (!(p[0].revents & POLLIN))
			continue;
		if ((fd = accept(listen_fd, NULL, NULL)) < 0)
			continue;
		serve_one(fd);
		close(fd);
	}
}

/* "IP:PORT" or "[IPv6]:PORT" into a bound, listening socket. */
static int
open_listener(const char *listen_on, struct errbuf *eb)
{
	char host[64];
	const char *colon = strrchr(listen_on, ':');
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd;

	memset(&ss, 0, sizeof(ss));
	if (colon == NULL || (size_t)(colon - listen_on) >= sizeof(host)) {
		errbuf_set(eb, "metrics.listen: bad address %s", listen_on);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen_on),
	         listen_on);
	if (host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		host[strlen(host) - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(colon + 1));
		inet_pton(AF_INET6, host + 1, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(colon + 1));
		inet_pton(AF_INET, host, &s4->sin_addr);
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 16) != 0) {
		errbuf_set(eb, "metrics.listen %s: %s", listen_on,
		           strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
metrics_start(const char *listen_on, struct errbuf *eb)
{
	sigset_t all, old;
	int rc;

	if ((listen_fd = open_listener(listen_on, eb)) < 0)
		return -1;
	if (pipe2(stop_pipe, O_CLOEXEC) != 0) {
		errbuf_set(eb, "metrics: %s", strerror(errno));
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&server, NULL, serve, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errbuf_set(eb, "metrics: cannot start a thread");
		return -1;
	}
	running = true;
	return 0;
}

void
metrics_stop(void)
{
	if (!running)
		return;
	(void)!write(stop_pipe[1], "x", 1);
	pthread_join(server, NULL);
	close(listen_fd);
	close(stop_pipe[0]);
	close(stop_pipe[1]);
	running = false;
}
