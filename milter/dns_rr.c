/*
 * dns_rr: rdata helpers of dns.h that need no resolver: TXT strings,
 * wire-format names, addresses, reverse names, status names.  Pure
 * functions, no allocation beyond the caller's buf; thread-safe.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dns.h"

static const char *const status_names[] = {
    [DNS_OK] = "ok",
    [DNS_NXDOMAIN] = "nxdomain",
    [DNS_NODATA] = "nodata",
    [DNS_TEMPERROR] = "temperror",
    [DNS_PERMERROR] = "permerror",
};

int
dns_rr_txt(const struct dns_rr *rr, struct buf *out)
{
	size_t i = 0;
	int rc;

	buf_reset(out);
	if (rr->len == 0)
		return -1; /* RFC 1035 3.3.14: one or more strings */
	while (i < rr->len) {
		size_t n = rr->data[i++];

		if (n > rr->len - i)
			return -1;
		if ((rc = buf_append(out, rr->data + i, n)) != BUF_OK)
			return rc == BUF_ENOMEM ? -2 : -1;
		i += n;
	}
	return 0;
}

/* Append one character if it fits with the NUL after it. */
static int
put_char(char c, char *out, size_t outsz, size_t *pos)
{
	if (*pos + 1 >= outsz)
		return -1;
	out[(*pos)++] = c;
	return 0;
}

/* Append one label byte in presentation form (RFC 1035 section 5.1). */
static int
put_label_byte(unsigned char c, char *out, size_t outsz, size_t *pos)
{
	if (c > ' ' && c < 0x7f && c != '.' && c != '\\' && c != '"')
		return put_char((char)c, out, outsz, pos);
	if (*pos + 4 >= outsz)
		return -1;
	snprintf(out + *pos, 5, "\\%03u", c);
	*pos += 4;
	return 0;
}

/*
 * A wire name is labels of 1..63 bytes ending in the root label, 255
 * bytes at most (RFC 1035 section 3.1); compression pointers cannot occur
 * in the rdata libunbound hands out, so they count as malformed.
 */
int
dns_rr_name(const unsigned char *p, size_t len, char *out, size_t outsz)
{
	size_t i = 0, pos = 0, n;

	if (outsz == 0)
		return -1;
	out[0] = '\0';
	for (;;) {
		if (i >= len || i >= 255)
			return -1; /* no root label, or too long */
		if ((n = p[i++]) == 0)
			break;
		if (n > 63 || n > len - i || i + n >= 255)
			return -1;
		if (pos > 0 && put_char('.', out, outsz, &pos) == -1)
			return -1;
		for (size_t k = 0; k < n; k++)
			if (put_label_byte(p[i + k], out, outsz, &pos) == -1)
				return -1;
		i += n;
	}
	out[pos] = '\0';
	return i == len ? 0 : -1;
}

int
dns_rr_addr(const struct dns_rr *rr, uint16_t rrtype, char *out, size_t outsz)
{
	int af;

	if (rrtype == DNS_T_A && rr->len == 4)
		af = AF_INET;
	else if (rrtype == DNS_T_AAAA && rr->len == 16)
		af = AF_INET6;
	else
		return -1;
	if (outsz > (size_t)(socklen_t)-1 ||
	    inet_ntop(af, rr->data, out, (socklen_t)outsz) == NULL)
		return -1;
	return 0;
}

/* RFC 1035 section 3.5: octets in reverse order under in-addr.arpa. */
static int
reverse_v4(const unsigned char *a, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
	                 a[1], a[0]);

	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* RFC 3596 section 2.5: nibbles, least significant first. */
static int
reverse_v6(const unsigned char *a, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t pos = 0;

	if (outsz < 64 + sizeof("ip6.arpa"))
		return -1;
	for (int i = 15; i >= 0; i--) {
		out[pos++] = hex[a[i] & 0xf];
		out[pos++] = '.';
		out[pos++] = hex[a[i] >> 4];
		out[pos++] = '.';
	}
	memcpy(out + pos, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

int
dns_reverse_name(const char *ip, char *out, size_t outsz)
{
	struct in6_addr a6;
	unsigned char a4[4];

	if (inet_pton(AF_INET, ip, a4) == 1)
		return reverse_v4(a4, out, outsz);
	if (inet_pton(AF_INET6, ip, &a6) != 1)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) /* an IPv4 client on an IPv6 socket */
		return reverse_v4(a6.s6_addr + 12, out, outsz);
	return reverse_v6(a6.s6_addr, out, outsz);
}

const char *
dns_status_name(enum dns_status st)
{
	if ((size_t)st >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[st];
}
