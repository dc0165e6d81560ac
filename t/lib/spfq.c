/*
 * spfq: one SPF check through spf_check.c and dns.c, for script tests.
 *
 *   spfq [-s IP@PORT]... [-t DNS_TIMEOUT_MS] [-T EVAL_TIMEOUT_MS]
 *        [-c UNBOUND_CONF] [-H] [-S] IP HELO MAILFROM
 *
 * Checks the MAIL FROM identity (MAILFROM "" is the null sender, checked
 * as postmaster@HELO), or with -H the HELO identity, for client IP, on
 * the work pool (-S: synchronously, as when the pool refuses the job),
 * and prints:
 *
 *   result: RESULT
 *   reason: TEXT            (only when the record has one)
 *   reply: TEXT             (only when the record has one)
 *   ar: spf=RESULT ...      (the Authentication-Results resinfo)
 *
 * Exit 0, or 2 with a message on stderr when setup fails.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"
#include "buf.h"
#include "cidr.h"
#include "dns.h"
#include "errbuf.h"
#include "result.h"
#include "spf_check.h"
#include "work.h"

#define MAX_SERVERS 16

struct opts {
	const char *servers[MAX_SERVERS];
	struct dns_settings s;
	unsigned eval_ms;
	enum spf_identity id;
	bool sync;
};

static int
usage(void)
{
	fprintf(stderr, "usage: spfq [-s IP@PORT]... [-t DNS_TIMEOUT_MS] "
	                "[-T EVAL_TIMEOUT_MS] [-c UNBOUND_CONF] [-H] [-S] "
	                "IP HELO MAILFROM\n");
	return 2;
}

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int ch;

	o->s.servers = o->servers;
	o->s.timeout_ms = 3000;
	o->eval_ms = 10000;
	o->id = SPF_ID_MAILFROM;
	while ((ch = getopt(argc, argv, "s:t:T:c:HS")) != -1) {
		switch (ch) {
		case 's':
			if (o->s.nservers == MAX_SERVERS)
				return -1;
			o->servers[o->s.nservers++] = optarg;
			break;
		case 't':
			o->s.timeout_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'T':
			o->eval_ms = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			o->s.unbound_config = optarg;
			break;
		case 'H':
			o->id = SPF_ID_HELO;
			break;
		case 'S':
			o->sync = true;
			break;
		default:
			return -1;
		}
	}
	return argc - optind == 3 && o->s.timeout_ms > 0 ? 0 : -1;
}

/* Print the one record of rs. */
static int
print_result(const struct resultset *rs)
{
	const struct result *r = resultset_get(rs, 0);
	struct buf b;
	const char *ar;

	printf("result: %s\n", ar_result_name(r->result));
	if (r->reason != NULL)
		printf("reason: %s\n", r->reason);
	if (r->reply != NULL)
		printf("reply: %s\n", r->reply);
	buf_init(&b, 0);
	if (authres_format("spfq", rs, "\n\t", &b) != 0) {
		buf_free(&b);
		return -1;
	}
	ar = strstr(buf_cstr(&b), "\n\t");
	printf("ar: %s\n", ar != NULL ? ar + 2 : buf_cstr(&b));
	buf_free(&b);
	return 0;
}

static int
check(struct dns *d, struct work *w, const struct opts *o, char **args)
{
	struct ipaddr ip;
	struct resultset *rs;
	struct spf_check *c;
	int rc = -1;

	if (ipaddr_parse(args[0], &ip) != 0) {
		fprintf(stderr, "spfq: bad IP address %s\n", args[0]);
		return -1;
	}
	if ((rs = resultset_new()) == NULL)
		return -1;
	c = spf_check_start(d, w, o->id, &ip, args[1], args[2], o->eval_ms);
	if (c != NULL && spf_check_finish(c, rs) == 0)
		rc = print_result(rs);
	spf_check_free(c);
	resultset_free(rs);
	return rc;
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	struct errbuf eb;
	struct dns *d;
	struct work *w = NULL;
	int rc;

	if (parse_opts(argc, argv, &o) != 0)
		return usage();
	if ((d = dns_new(&o.s, &eb)) == NULL) {
		fprintf(stderr, "spfq: %s\n", eb.msg);
		return 2;
	}
	if (!o.sync && (w = work_new(1)) == NULL) {
		fprintf(stderr, "spfq: cannot start the work pool\n");
		dns_free(d);
		return 2;
	}
	rc = check(d, w, &o, argv + optind);
	work_free(w);
	dns_free(d);
	if (rc != 0)
		fprintf(stderr, "spfq: the check failed (out of memory?)\n");
	return rc == 0 ? 0 : 2;
}
