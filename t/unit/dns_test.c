/*
 * dns_test: the rdata and name helpers of dns.c, and the answers dns.c
 * gives without a server: bad names, a deadline on a silent loopback
 * socket, joining a query in flight.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "buf.h"
#include "clock.h"
#include "dns.h"
#include "errbuf.h"

/* Wire bytes in a string literal; len counts them (NULs included). */
#define W(s) (const unsigned char *)(s), sizeof(s) - 1

struct bytes_case {
	const char *name;
	const unsigned char *data;
	size_t len;
	int rc;
	const char *want;
};

static const struct bytes_case txt_cases[] = {
    {"one string", W("\005hello"), 0, "hello"},
    {"several strings", W("\007v=spf1 \004-all\000\001!"), 0, "v=spf1 -all!"},
    {"empty string", W("\000"), 0, ""},
    {"no string at all", W(""), -1, NULL},
    {"length byte past the end", W("\005hel"), -1, NULL},
    {"second length past the end", W("\003abc\005de"), -1, NULL},
};

static void
test_txt(void)
{
	struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < sizeof(txt_cases) / sizeof(txt_cases[0]); i++) {
		const struct bytes_case *c = &txt_cases[i];
		struct dns_rr rr = {c->data, c->len};
		int rc = dns_rr_txt(&rr, &b);

		is_int(rc, c->rc, "dns_rr_txt %s: return", c->name);
		if (c->want != NULL)
			is_str(buf_cstr(&b), c->want, "dns_rr_txt %s: text",
			       c->name);
	}
	buf_free(&b);
}

static const struct bytes_case name_cases[] = {
    {"normal name", W("\004mail\007example\004test\000"), 0,
     "mail.example.test"},
    {"root", W("\000"), 0, ""},
    {"upper case kept", W("\002Mx\001B\000"), 0, "Mx.B"},
    {"dot inside a label", W("\003a.b\004test\000"), 0, "a\\046b.test"},
    {"space inside a label", W("\003a b\000"), 0, "a\\032b"},
    {"backslash and control byte", W("\002\\\001\000"), 0, "\\092\\001"},
    {"truncated label", W("\004mail\007exa"), -1, NULL},
    {"no root label", W("\004mail"), -1, NULL},
    {"label ending in a zero byte, no root", W("\001\000"), -1, NULL},
    {"empty rdata", W(""), -1, NULL},
    {"compression pointer", W("\300\014"), -1, NULL},
    {"bytes after the root label", W("\001a\000\001"), -1, NULL},
};

static void
test_name_table(void)
{
	char out[DNS_NAME_MAX];

	for (size_t i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]);
	     i++) {
		const struct bytes_case *c = &name_cases[i];
		int rc = dns_rr_name(c->data, c->len, out, sizeof(out));

		is_int(rc, c->rc, "dns_rr_name %s: return", c->name);
		if (c->want != NULL)
			is_str(out, c->want, "dns_rr_name %s: text", c->name);
	}
}

/* A wire name of labels of the given sizes (all 'x'); returns its length. */
static size_t
make_name(unsigned char *p, const int *labels, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		p[len++] = (unsigned char)labels[i];
		memset(p + len, 'x', (size_t)labels[i]);
		len += (size_t)labels[i];
	}
	p[len++] = 0;
	return len;
}

static void
test_name_limits(void)
{
	static const int fits[] = {63, 63, 63, 61}; /* 255 bytes */
	static const int over[] = {63, 63, 63, 62}; /* 256 bytes */
	static const int label64[] = {64};
	unsigned char wire[512];
	char out[DNS_NAME_MAX];
	size_t len;

	len = make_name(wire, fits, 4);
	is_int((long long)len, 255, "a 255-byte name is built");
	is_int(dns_rr_name(wire, len, out, sizeof(out)), 0,
	       "dns_rr_name accepts a 255-byte name");
	is_int((long long)strlen(out), 253, "its text has 253 characters");
	len = make_name(wire, over, 4);
	is_int(dns_rr_name(wire, len, out, sizeof(out)), -1,
	       "dns_rr_name refuses a 256-byte name");
	len = make_name(wire, label64, 1);
	is_int(dns_rr_name(wire, len, out, sizeof(out)), -1,
	       "dns_rr_name refuses a 64-byte label");
	len = make_name(wire, fits, 1);
	is_int(dns_rr_name(wire, len, out, 63), -1,
	       "dns_rr_name refuses an output buffer one byte short");
	is_int(dns_rr_name(wire, len, out, 64), 0,
	       "dns_rr_name fills an output buffer exactly");
}

struct addr_case {
	const char *name;
	uint16_t type;
	const unsigned char *data;
	size_t len;
	int rc;
	const char *want;
};

static const struct addr_case addr_cases[] = {
    {"A", DNS_T_A, W("\300\000\002\001"), 0, "192.0.2.1"},
    {"AAAA", DNS_T_AAAA, W("\040\001\015\270\0\0\0\0\0\0\0\0\0\0\0\001"), 0,
     "2001:db8::1"},
    {"A of 5 bytes", DNS_T_A, W("\300\000\002\001\001"), -1, NULL},
    {"AAAA of 4 bytes", DNS_T_AAAA, W("\300\000\002\001"), -1, NULL},
    {"TXT type", DNS_T_TXT, W("\300\000\002\001"), -1, NULL},
};

static void
test_addr(void)
{
	char out[64];
	struct dns_rr rr = {addr_cases[0].data, addr_cases[0].len};

	for (size_t i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]);
	     i++) {
		const struct addr_case *c = &addr_cases[i];
		struct dns_rr r = {c->data, c->len};
		int rc = dns_rr_addr(&r, c->type, out, sizeof(out));

		is_int(rc, c->rc, "dns_rr_addr %s: return", c->name);
		if (c->want != NULL)
			is_str(out, c->want, "dns_rr_addr %s: text", c->name);
	}
	is_int(dns_rr_addr(&rr, DNS_T_A, out, 9), -1,
	       "dns_rr_addr refuses a buffer too small");
}

struct rev_case {
	const char *ip;
	int rc;
	const char *want;
};

static const struct rev_case rev_cases[] = {
    {"192.0.2.1", 0, "1.2.0.192.in-addr.arpa"},
    {"127.0.0.5", 0, "5.0.0.127.in-addr.arpa"},
    {"2001:db8::1", 0,
     "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
     "8.b.d.0.1.0.0.2.ip6.arpa"},
    {"2001:DB8:0:0:0:0:ABCD:0012", 0,
     "2.1.0.0.d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
     "8.b.d.0.1.0.0.2.ip6.arpa"},
    {"::ffff:192.0.2.1", 0, "1.2.0.192.in-addr.arpa"},
    {"garbage", -1, NULL},
    {"", -1, NULL},
    {"192.0.2", -1, NULL},
    {"192.0.2.1/24", -1, NULL},
    {"[2001:db8::1]", -1, NULL},
};

static void
test_reverse(void)
{
	char out[DNS_NAME_MAX];

	for (size_t i = 0; i < sizeof(rev_cases) / sizeof(rev_cases[0]); i++) {
		const struct rev_case *c = &rev_cases[i];
		int rc = dns_reverse_name(c->ip, out, sizeof(out));

		is_int(rc, c->rc, "dns_reverse_name \"%s\": return", c->ip);
		if (c->want != NULL)
			is_str(out, c->want, "dns_reverse_name \"%s\": name",
			       c->ip);
	}
	is_int(dns_reverse_name("192.0.2.1", out, 22), -1,
	       "dns_reverse_name refuses a buffer one byte short (v4)");
	is_int(dns_reverse_name("2001:db8::1", out, 72), -1,
	       "dns_reverse_name refuses a buffer one byte short (v6)");
}

static void
test_status_names(void)
{
	static const struct {
		enum dns_status st;
		const char *want;
	} cases[] = {
	    {DNS_OK, "ok"},
	    {DNS_NXDOMAIN, "nxdomain"},
	    {DNS_NODATA, "nodata"},
	    {DNS_TEMPERROR, "temperror"},
	    {DNS_PERMERROR, "permerror"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(dns_status_name(cases[i].st), cases[i].want,
		       "dns_status_name %d", (int)cases[i].st);
}

static const char *const bad_names[] = {
    "",
    ".",
    "..",
    "a..test",
    ".a.test",
    "tab\there.test",
    "back\\slash.test",
    /* a 64-character label */
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.test",
};

/* A name of n characters in labels of at most 63. */
static char *
long_name(size_t n)
{
	char *s = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = i % 64 == 63 ? '.' : 'x';
	s[n] = '\0';
	return s;
}

static void
check_bad_name(struct dns *d, const char *name, const char *label)
{
	struct dns_query *q = dns_start(d, name, DNS_T_TXT);
	const struct dns_answer *a;

	if (!ok(q != NULL, "dns_start %s returns a handle", label))
		return;
	ok(dns_ready(q), "bad name %s is answered at once", label);
	a = dns_answer(q);
	is_str(dns_status_name(a->status), "permerror", "bad name %s: status",
	       label);
	is_str(a->why, "bad name", "bad name %s: why", label);
	is_int(dns_wait(q), DNS_PERMERROR, "bad name %s: dns_wait", label);
	dns_query_free(q);
}

static void
test_bad_names(struct dns *d)
{
	struct dns_stats st;
	char *name;

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		check_bad_name(d, bad_names[i], bad_names[i]);
	name = long_name(254);
	check_bad_name(d, name, "of 254 characters");
	free(name);
	dns_get_stats(d, &st);
	is_int((long long)st.sent, 0, "no bad name reached libunbound");
}

/* Timeouts and joins against a UDP socket that never answers. */
static void
test_silent_server(struct dns *d)
{
	struct dns_query *q1, *q2;
	struct dns_stats st;
	int64_t t0 = clock_ms();

	q1 = dns_start(d, "Silent.Example.Net.", DNS_T_A);
	q2 = dns_start(d, "silent.example.net", DNS_T_A);
	dns_get_stats(d, &st);
	is_int((long long)st.sent, 1, "one query sent for two handles");
	is_int((long long)st.joined, 1,
	       "the same name in other case and with a dot joins");
	is_int(dns_wait_until(q1, t0 + 50), DNS_TEMPERROR,
	       "dns_wait_until an earlier time gives up with temperror");
	ok(!dns_ready(q1), "and the handle stays open for its own deadline");
	is_int(dns_wait(q1), DNS_TEMPERROR, "dns_wait ends at the deadline");
	ok(clock_ms() - t0 >= 200, "not before the 200 ms deadline (%lld)",
	   (long long)(clock_ms() - t0));
	is_str(dns_answer(q1)->why, "timeout", "why is timeout");
	ok(dns_ready(q1), "a timed-out handle is ready");
	is_int(dns_wait(q2), DNS_TEMPERROR, "the joined handle times out too");
	dns_get_stats(d, &st);
	is_int((long long)st.timeouts, 2, "two timeouts counted");
	is_int((long long)st.inflight, 1, "the query is left in flight");
	dns_query_free(q1);
	dns_query_free(q2);
}

/* A loopback UDP port with a socket that never answers; -1 on error. */
static int
silent_socket(char *server, size_t sz)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
		return -1;
	snprintf(server, sz, "127.0.0.1@%u", (unsigned)ntohs(sa.sin_port));
	return fd;
}

static void
test_resolver(void)
{
	char server[64];
	const char *servers[1] = {server};
	struct dns_settings s = {servers, 1, 200, NULL};
	struct errbuf eb;
	struct dns *d;
	int fd = silent_socket(server, sizeof(server));

	if (!ok(fd != -1, "a silent loopback socket"))
		return;
	errbuf_clear(&eb);
	d = dns_new(&s, &eb);
	if (!ok(d != NULL, "dns_new with a loopback forwarder (%s)", eb.msg))
		return;
	is_int(dns_timeout_ms(d), 200, "dns_timeout_ms");
	test_bad_names(d);
	test_silent_server(d);
	dns_free(d);
	close(fd);
}

static void
test_setup_errors(void)
{
	const char *servers[1] = {"192.0.2.1@notaport"};
	struct dns_settings s = {servers, 1, 100, NULL};
	struct errbuf eb;

	errbuf_clear(&eb);
	ok(dns_new(&s, &eb) == NULL, "dns_new refuses a bad server");
	ok(strstr(eb.msg, "192.0.2.1@notaport") != NULL,
	   "the error names the server (%s)", eb.msg);
	s.servers = NULL;
	s.nservers = 0;
	s.unbound_config = "/nonexistent/unbound.conf";
	errbuf_clear(&eb);
	ok(dns_new(&s, &eb) == NULL, "dns_new refuses a missing config file");
	ok(strstr(eb.msg, "/nonexistent/unbound.conf") != NULL,
	   "the error names the file (%s)", eb.msg);
	dns_free(NULL);
	dns_query_free(NULL);
	ok(1, "dns_free(NULL) and dns_query_free(NULL) are no-ops");
}

int
main(void)
{
	test_txt();
	test_name_table();
	test_name_limits();
	test_addr();
	test_reverse();
	test_status_names();
	test_resolver();
	test_setup_errors();
	return done_testing();
}
