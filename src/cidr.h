/*
 * cidr — IPv4 and IPv6 address blocks in CIDR notation (RFC 4632 §3.1,
 * RFC 4291 §2.3), and the test of a peer address against a list of
 * them, as trusted_proxies needs.
 *
 * Pure: no I/O, no allocation.  An IPv4 address and its IPv4-mapped IPv6
 * form (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) are one address here, so a
 * peer matches the same entries whether it reached an IPv4 listener or
 * a dual-stack IPv6 one.
 */
#ifndef WSGATE_CIDR_H
#define WSGATE_CIDR_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* network address, host bits zero */
	unsigned	prefix;		/* 0-32 or 0-128 */
};

/*
 * Parses "10.0.0.0/8", "192.0.2.7" (a host: /32), "2001:db8::/32" or
 * "::1" (/128): a numeric address as inet_pton() reads it, then
 * optionally "/" and a prefix length in decimal without sign or leading
 * zero.  Returns 0 with *c filled in, or -1 with a static reason in
 * *errstr: "not an address", "prefix out of range" or "host bits set"
 * (10.0.0.1/8 is refused: a typo more often than not).  *c is written
 * only on success.
 */
int	cidr_parse(const char *s, struct cidr *c, const char **errstr);

/*
 * True when sa, an AF_INET or AF_INET6 address, is in c.  An IPv4 address
 * and its IPv4-mapped IPv6 form match the same entries: 10.0.0.0/8 and
 * ::ffff:10.0.0.0/104 both hold 10.1.2.3 and ::ffff:10.1.2.3, and ::/0
 * holds every IPv4 address too.  Other families (AF_UNIX, ...) and NULL
 * never match.
 */
bool	cidr_match(const struct cidr *c, const struct sockaddr *sa);

/* True when sa matches one of the n entries of list. */
bool	cidr_list_match(const struct cidr *list, size_t n,
	    const struct sockaddr *sa);

#endif
