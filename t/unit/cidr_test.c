/* Unit tests for cidr: parsing prefixes and matching addresses. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "cidr.h"
#include "../lib/tap.h"

static const struct {
	const char *text;
	int ok;
	const char *err; /* substring of the message */
} parse_cases[] = {
    {"192.0.2.0/24", 1, NULL},
    {"192.0.2.1", 1, NULL},
    {"0.0.0.0/0", 1, NULL},
    {"::1/128", 1, NULL},
    {"2001:db8::/32", 1, NULL},
    {"::/0", 1, NULL},
    {"192.0.2.1/24", 0, "host bits"},
    {"192.0.2.0/33", 0, "0..32"},
    {"2001:db8::/129", 0, "0..128"},
    {"192.0.2.0/", 0, "prefix length"},
    {"192.0.2.0/-1", 0, "prefix length"},
    {"192.0.2.0/08", 0, "prefix length"},
    {"192.0.2.0/8x", 0, "prefix length"},
    {"example.com/24", 0, "not an IP address"},
    {"", 0, "not an IP network"},
    {"/24", 0, "not an IP network"},
    {"::ffff:192.0.2.0/120", 0, "IPv4 form"},
    {"256.0.0.0/8", 0, "not an IP address"},
};

static void
test_parse(void)
{
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		struct cidr c;
		struct errbuf eb = {""};
		int rc = cidr_parse(parse_cases[i].text, &c, &eb);

		is_int(rc == 0, parse_cases[i].ok, "parse \"%s\"",
		       parse_cases[i].text);
		if (!parse_cases[i].ok)
			ok(strstr(eb.msg, parse_cases[i].err) != NULL,
			   "message for \"%s\" says \"%s\" (got \"%s\")",
			   parse_cases[i].text, parse_cases[i].err, eb.msg);
	}
}

static const struct {
	const char *net, *ip;
	bool match;
} match_cases[] = {
    {"192.0.2.0/24", "192.0.2.77", true},
    {"192.0.2.0/24", "192.0.3.1", false},
    {"192.0.2.0/25", "192.0.2.127", true},
    {"192.0.2.0/25", "192.0.2.128", false},
    {"10.0.0.0/8", "10.255.255.255", true},
    {"0.0.0.0/0", "203.0.113.9", true},
    {"0.0.0.0/0", "2001:db8::1", false},
    {"127.0.0.0/8", "::ffff:127.0.0.5", true},
    {"2001:db8::/32", "2001:db8:ffff::1", true},
    {"2001:db8::/33", "2001:db8:8000::1", false},
    {"::1/128", "::1", true},
    {"::1/128", "127.0.0.1", false},
    {"192.0.2.1", "192.0.2.1", true},
    {"192.0.2.1", "192.0.2.2", false},
};

static void
test_match(void)
{
	for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]);
	     i++) {
		struct cidr c;
		struct ipaddr ip;

		if (cidr_parse(match_cases[i].net, &c, NULL) != 0 ||
		    ipaddr_parse(match_cases[i].ip, &ip) != 0) {
			ok(0, "setup %s / %s", match_cases[i].net,
			   match_cases[i].ip);
			continue;
		}
		is_int(cidr_match(&c, &ip), match_cases[i].match, "%s in %s",
		       match_cases[i].ip, match_cases[i].net);
	}
}

static void
test_format(void)
{
	struct ipaddr ip;
	char out[64];

	ipaddr_parse("::ffff:192.0.2.9", &ip);
	is_str(ipaddr_format(&ip, out, sizeof(out)), "192.0.2.9",
	       "mapped IPv6 prints as IPv4");
	ipaddr_parse("2001:DB8::1", &ip);
	is_str(ipaddr_format(&ip, out, sizeof(out)), "2001:db8::1",
	       "IPv6 prints in canonical form");
	memset(&ip, 0, sizeof(ip));
	is_str(ipaddr_format(&ip, out, sizeof(out)), "unknown",
	       "no address prints as unknown");
	is_int(ipaddr_parse("192.0.2", &ip), -1, "short IPv4 refused");
}

int
main(void)
{
	test_parse();
	test_match();
	test_format();
	return done_testing();
}
