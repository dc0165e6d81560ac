/* cidr: network prefixes and address matching (see cidr.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                           0, 0, 0, 0, 0xff, 0xff};

/* Fold an IPv4-mapped IPv6 address into plain IPv4. */
static void
unmap(struct ipaddr *ip)
{
	if (ip->family == AF_INET6 && memcmp(ip->addr, v4mapped, 12) == 0) {
		memmove(ip->addr, ip->addr + 12, 4);
		memset(ip->addr + 4, 0, 12);
		ip->family = AF_INET;
	}
}

int
ipaddr_parse(const char *text, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = AF_INET6;
		unmap(out);
		return 0;
	}
	return -1;
}

int
ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		out->family = AF_INET;
		memcpy(out->addr, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		out->family = AF_INET6;
		memcpy(out->addr, &in6->sin6_addr, 16);
		unmap(out);
		return 0;
	}
	return -1;
}

const char *
ipaddr_format(const struct ipaddr *ip, char *out, size_t outsz)
{
	if (ip->family == 0 ||
	    inet_ntop(ip->family, ip->addr, out, (socklen_t)outsz) == NULL)
		snprintf(out, outsz, "unknown");
	return out;
}

/* Whether the bits after the prefix are all zero. */
static int
host_bits_clear(const unsigned char *a, unsigned bits, unsigned total)
{
	for (unsigned i = bits; i < total; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return 0;
	return 1;
}

int
cidr_parse(const char *text, struct cidr *out, struct errbuf *eb)
{
	char addr[64];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	struct ipaddr ip;
	unsigned total;

	memset(out, 0, sizeof(*out));
	if (alen == 0 || alen >= sizeof(addr)) {
		errbuf_set(eb, "\"%s\" is not an IP network", text);
		return -1;
	}
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (ipaddr_parse(addr, &ip) != 0) {
		errbuf_set(eb, "\"%s\" is not an IP address", addr);
		return -1;
	}
	/* A mapped address was folded to IPv4 by ipaddr_parse; its prefix
	 * length still counts IPv6 bits, so refuse that ambiguous form. */
	if (ip.family == AF_INET && strchr(addr, ':') != NULL) {
		errbuf_set(eb, "\"%s\": write IPv4 networks in IPv4 form",
		           text);
		return -1;
	}
	total = ip.family == AF_INET ? 32 : 128;
	out->family = ip.family;
	memcpy(out->addr, ip.addr, sizeof(out->addr));
	out->bits = total;
	if (slash != NULL) {
		char *end;
		long n;

		errno = 0;
		n = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    errno != 0 || n < 0 || n > (long)total ||
		    (slash[1] == '0' && slash[2] != '\0')) {
			errbuf_set(eb, "\"%s\": prefix length must be 0..%u",
			           text, total);
			return -1;
		}
		out->bits = (unsigned)n;
	}
	if (!host_bits_clear(out->addr, out->bits, total)) {
		errbuf_set(eb, "\"%s\" has host bits set after /%u", text,
		           out->bits);
		return -1;
	}
	return 0;
}

bool
cidr_match(const struct cidr *c, const struct ipaddr *ip)
{
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (c->family != ip->family)
		return false;
	if (memcmp(c->addr, ip->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ ip->addr[full]) & (0xff00 >> rest)) == 0;
}

bool
cidr_match_any(const struct cidr *c, size_t n, const struct ipaddr *ip)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_match(&c[i], ip))
			return true;
	return false;
}
