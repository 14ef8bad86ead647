/*
 * cidr — CIDR address blocks (RFC 4632 §3.1 for IPv4, RFC 4291 §2.3 for
 * IPv6) and matching peer addresses against them.
 *
 * Addresses are compared as byte strings in network order: the first
 * prefix / 8 bytes whole, then the high prefix % 8 bits of the next one.
 * IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2) are turned into the
 * form of the entry before comparing, so that the family of the
 * listener that accepted a peer does not change what it matches.
 *
 * Pure: no I/O, no allocation, no locale.  inet_pton() only converts
 * text.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cidr.h"

/* RFC 4291 §2.5.5.2: ::ffff:0:0/96 holds the IPv4-mapped addresses. */
static const uint8_t cidr_v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * The prefix length after "/": digits without a leading zero ("0" is
 * fine) up to max.  Returns 0, or -1 with the reason.
 */
static int
cidr_parse_prefix(const char *s, unsigned max, unsigned *out,
    const char **errstr)
{
	unsigned	v = 0;

	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0')) {
		*errstr = "not an address";
		return -1;
	}
	for (; *s >= '0' && *s <= '9'; s++)
		if ((v = v * 10 + (unsigned)(*s - '0')) > max)
			break;
	if (*s == '\0' && v <= max) {
		*out = v;
		return 0;
	}
	/* Skip the rest of the digits: "/999x" is not an address either. */
	while (*s >= '0' && *s <= '9')
		s++;
	*errstr = *s == '\0' ? "prefix out of range" : "not an address";
	return -1;
}

/* True when the first prefix bits of a and b are equal. */
static bool
cidr_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned	whole = prefix / 8, bits = prefix % 8;
	uint8_t		mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (bits == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - bits));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

/* True when a bit after the first prefix of the len bytes at a is set. */
static bool
cidr_host_bits(const uint8_t *a, size_t len, unsigned prefix)
{
	size_t	i = prefix / 8;
	unsigned bits = prefix % 8;

	if (bits != 0) {
		if ((a[i] & (uint8_t)(0xff >> bits)) != 0)
			return true;
		i++;
	}
	for (; i < len; i++)
		if (a[i] != 0)
			return true;
	return false;
}

int
cidr_parse(const char *s, struct cidr *c, const char **errstr)
{
	char		 host[INET6_ADDRSTRLEN];
	const char	*slash;
	uint8_t		 addr[16];
	size_t		 hlen, alen;
	unsigned	 max, prefix;
	int		 family;

	slash = strchr(s, '/');
	hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (hlen == 0 || hlen >= sizeof(host)) {
		*errstr = "not an address";
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, host, addr) == 1) {
		family = AF_INET;
		alen = 4;
	} else if (inet_pton(AF_INET6, host, addr) == 1) {
		family = AF_INET6;
		alen = 16;
	} else {
		*errstr = "not an address";
		return -1;
	}
	max = (unsigned)alen * 8;
	prefix = max;
	if (slash != NULL &&
	    cidr_parse_prefix(slash + 1, max, &prefix, errstr) == -1)
		return -1;
	if (cidr_host_bits(addr, alen, prefix)) {
		*errstr = "host bits set";
		return -1;
	}
	memset(c, 0, sizeof(*c));
	c->family = family;
	memcpy(c->addr, addr, sizeof(c->addr));
	c->prefix = prefix;
	return 0;
}

bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	uint8_t				 a[16];

	if (sa == NULL)
		return false;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		if (c->family == AF_INET) {
			memcpy(a, &sin->sin_addr, 4);
		} else {
			memcpy(a, cidr_v4mapped, sizeof(cidr_v4mapped));
			memcpy(a + 12, &sin->sin_addr, 4);
		}
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(a, &sin6->sin6_addr, 16);
		if (c->family == AF_INET) {
			if (memcmp(a, cidr_v4mapped,
			    sizeof(cidr_v4mapped)) != 0)
				return false;
			memmove(a, a + 12, 4);
		}
		break;
	default:
		return false;
	}
	if (c->family != AF_INET && c->family != AF_INET6)
		return false;
	return cidr_prefix_equal(a, c->addr, c->prefix);
}

bool
cidr_list_match(const struct cidr *list, size_t n, const struct sockaddr *sa)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (cidr_match(&list[i], sa))
			return true;
	return false;
}
