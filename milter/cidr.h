/*
 * cidr: IPv4 and IPv6 network prefixes ("192.0.2.0/24", "2001:db8::/32",
 * or a bare address meaning /32 or /128) and address matching.
 *
 * An IPv4-mapped IPv6 address (::ffff:192.0.2.1) is matched as the IPv4
 * address it carries, because that is how dual-stack MTAs report IPv4
 * clients.  A prefix with host bits set ("192.0.2.1/24") is refused: it is
 * almost always a typo, and silently masking it would widen the network.
 *
 * Plain value types; no allocation; thread-safe.
 */
#ifndef AUTHMILTER_CIDR_H
#define AUTHMILTER_CIDR_H

#include <stdbool.h>
#include <sys/socket.h>

#include "errbuf.h"

struct cidr {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network address, 4 or 16 bytes used */
	unsigned bits;          /* prefix length */
};

/* An IP address in binary form, as the client address is kept. */
struct ipaddr {
	int family; /* AF_INET or AF_INET6; 0 when unknown */
	unsigned char addr[16];
};

/* Parse a prefix; 0 on success, -1 with a message in eb. */
int cidr_parse(const char *text, struct cidr *out, struct errbuf *eb);

/* Parse an address ("192.0.2.1", "2001:db8::1"); 0 or -1. */
int ipaddr_parse(const char *text, struct ipaddr *out);

/* Take the address from a socket address; 0, or -1 for other families. */
int ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *out);

/* Write the address as text (IPv4-mapped IPv6 as dotted IPv4). */
const char *ipaddr_format(const struct ipaddr *ip, char *out, size_t outsz);

/* Whether ip lies inside the prefix. */
bool cidr_match(const struct cidr *c, const struct ipaddr *ip);

/* Whether ip lies inside any of n prefixes. */
bool cidr_match_any(const struct cidr *c, size_t n, const struct ipaddr *ip);

#endif
