/*
 * dnsq: look names up through dns.c, for script tests.
 *
 *   dnsq [-s IP@PORT]... [-t TIMEOUT_MS] [-c UNBOUND_CONF] [-R] NAME TYPE...
 *
 * Every query of the batch is started first, then each is waited for in
 * order and printed as one line:
 *
 *   NAME TYPE STATUS ttl=N ms=N [why=TEXT] [secure] [RDATA | RDATA ...]
 *
 * ms counts from the start of the batch.  -R runs the batch a second time
 * and then prints "stats queries=N cache_hits=N joined=N sent=N
 * timeouts=N".  Exit 0, or 2 with a message on stderr when setup fails.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "dns.h"
#include "errbuf.h"

#define MAX_SERVERS 16

static const struct {
	const char *name;
	uint16_t type;
} types[] = {
    {"A", DNS_T_A},     {"AAAA", DNS_T_AAAA}, {"TXT", DNS_T_TXT},
    {"PTR", DNS_T_PTR}, {"MX", DNS_T_MX},     {"CNAME", DNS_T_CNAME},
    {"NS", DNS_T_NS},
};

struct opts {
	const char *servers[MAX_SERVERS];
	struct dns_settings s;
	bool repeat;
};

static int
usage(void)
{
	fprintf(stderr, "usage: dnsq [-s IP@PORT]... [-t TIMEOUT_MS] "
	                "[-c UNBOUND_CONF] [-R] NAME TYPE [NAME TYPE ...]\n");
	return 2;
}

static int
type_parse(const char *name, uint16_t *out)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(name, types[i].name) == 0) {
			*out = types[i].type;
			return 0;
		}
	return -1;
}

/* TXT text in double quotes, with ", \ and non-printables escaped. */
static void
print_txt(const struct dns_rr *rr)
{
	struct buf b;

	buf_init(&b, 0);
	if (dns_rr_txt(rr, &b) == -1) {
		printf("(bad TXT)");
		buf_free(&b);
		return;
	}
	putchar('"');
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < ' ' || c >= 0x7f)
			printf("\\%03u", c);
		else
			putchar(c);
	}
	putchar('"');
	buf_free(&b);
}

static void
print_name(const unsigned char *p, size_t len)
{
	char name[DNS_NAME_MAX];

	if (dns_rr_name(p, len, name, sizeof(name)) == -1)
		printf("(bad name)");
	else
		printf("%s", name);
}

static void
print_rr(const struct dns_rr *rr, uint16_t type)
{
	char addr[64];

	switch (type) {
	case DNS_T_TXT:
		print_txt(rr);
		break;
	case DNS_T_A:
	case DNS_T_AAAA:
		printf("%s", dns_rr_addr(rr, type, addr, sizeof(addr)) == 0
		                 ? addr
		                 : "(bad address)");
		break;
	case DNS_T_MX:
		if (rr->len < 2) {
			printf("(bad MX)");
			break;
		}
		printf("%u ", (unsigned)(rr->data[0] << 8 | rr->data[1]));
		print_name(rr->data + 2, rr->len - 2);
		break;
	default:
		print_name(rr->data, rr->len);
		break;
	}
}

static void
print_answer(const char *name, const char *type, const struct dns_answer *a,
             int64_t ms)
{
	printf("%s %s %s ttl=%u ms=%lld", name, type,
	       dns_status_name(a->status), (unsigned)a->ttl, (long long)ms);
	if (a->why != NULL && a->why[0] != '\0')
		printf(" why=%s", a->why);
	if (a->secure)
		printf(" secure");
	for (size_t i = 0; i < a->nrr; i++) {
		printf(i == 0 ? " " : " | ");
		print_rr(&a->rr[i], a->rrtype);
	}
	printf("\n");
}

/* Start every query, then wait for each in order and print it. */
static int
batch(struct dns *d, char **argv, int n)
{
	struct dns_query **q = calloc((size_t)n, sizeof(*q));
	int64_t start = clock_ms();
	int rc = 0;

	if (q == NULL)
		return -1;
	for (int i = 0; i < n && rc == 0; i++) {
		uint16_t type = 0;

		(void)type_parse(argv[2 * i + 1], &type); /* checked earlier */
		if ((q[i] = dns_start(d, argv[2 * i], type)) == NULL)
			rc = -1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		dns_wait(q[i]);
		print_answer(argv[2 * i], argv[2 * i + 1], dns_answer(q[i]),
		             clock_ms() - start);
	}
	for (int i = 0; i < n; i++)
		dns_query_free(q[i]);
	free(q);
	fflush(stdout);
	return rc;
}

static void
print_stats(struct dns *d)
{
	struct dns_stats st;

	dns_get_stats(d, &st);
	printf("stats queries=%llu cache_hits=%llu joined=%llu sent=%llu "
	       "timeouts=%llu\n",
	       (unsigned long long)st.queries,
	       (unsigned long long)st.cache_hits, (unsigned long long)st.joined,
	       (unsigned long long)st.sent, (unsigned long long)st.timeouts);
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->s.servers = o->servers;
	o->s.timeout_ms = 5000;
	while ((c = getopt(argc, argv, "s:t:c:R")) != -1) {
		switch (c) {
		case 's':
			if (o->s.nservers == MAX_SERVERS)
				return -1;
			o->servers[o->s.nservers++] = optarg;
			break;
		case 't':
			o->s.timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			if (o->s.timeout_ms == 0)
				return -1;
			break;
		case 'c':
			o->s.unbound_config = optarg;
			break;
		case 'R':
			o->repeat = true;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* Whether the arguments are NAME TYPE pairs with known types. */
static bool
args_ok(char **argv, int argc)
{
	uint16_t type;

	if (argc == 0 || argc % 2 != 0)
		return false;
	for (int i = 1; i < argc; i += 2)
		if (type_parse(argv[i], &type) == -1) {
			fprintf(stderr, "dnsq: unknown type %s\n", argv[i]);
			return false;
		}
	return true;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct errbuf eb;
	struct dns *d;
	int rc;

	if (parse_opts(argc, argv, &o) == -1 ||
	    !args_ok(argv + optind, argc - optind))
		return usage();
	errbuf_clear(&eb);
	if ((d = dns_new(&o.s, &eb)) == NULL) {
		fprintf(stderr, "dnsq: %s\n", eb.msg);
		return 2;
	}
	rc = batch(d, argv + optind, (argc - optind) / 2);
	if (rc == 0 && o.repeat) {
		rc = batch(d, argv + optind, (argc - optind) / 2);
		print_stats(d);
	}
	dns_free(d);
	if (rc != 0) {
		fprintf(stderr, "dnsq: out of memory\n");
		return 2;
	}
	return 0;
}
