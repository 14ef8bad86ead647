/*
 * proxyproto — PROXY protocol v1 and v2 header parser and writers
 * (HAProxy proxy-protocol.txt, sections 2.1 and 2.2).
 *
 * Like the http parser, this one keeps nothing between calls: the caller
 * hands it its whole buffer again when more bytes arrive.  A header is
 * bounded (107 bytes for v1, PROXYPROTO_V2_MAX_LEN for v2), so the
 * re-parse is cheap and there is no state to get out of step with the
 * buffer.  Bytes past the bound are never looked at, so once a prefix of
 * the stream has a verdict every longer prefix has the same one.
 *
 * Pure: no I/O, no allocation, no locale.  inet_pton() and inet_ntop()
 * only convert text.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto.h"

/* Spec 2.2: "\r\n\r\n\0\r\nQUIT\n", which no v1 line or HTTP starts with. */
static const uint8_t proxyproto_v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define PROXYPROTO_V2_HEAD	16	/* signature, ver/cmd, fam, len */
#define PROXYPROTO_V2_LOCAL	0x0
#define PROXYPROTO_V2_PROXY	0x1
#define PROXYPROTO_V2_UNSPEC	0x00
#define PROXYPROTO_V2_TCP4	0x11
#define PROXYPROTO_V2_TCP6	0x21
#define PROXYPROTO_V2_ADDR4	12	/* two IPv4 addresses, two ports */
#define PROXYPROTO_V2_ADDR6	36	/* two IPv6 addresses, two ports */
#define PROXYPROTO_V2_TLV_HEAD	3	/* type, 16-bit length */

/* A v1 line being read: where we are and why we stopped. */
struct proxyproto_v1 {
	const uint8_t	*buf;
	size_t		 len;
	size_t		 off;
	const char	*errstr;
};

static enum proxyproto_result
proxyproto_v1_fail(struct proxyproto_v1 *p, const char *errstr)
{
	p->errstr = errstr;
	return PROXYPROTO_ERROR;
}

/*
 * Takes the next byte of the line.  A line that needs a byte past the
 * 107th is too long whatever that byte is, so that is decided without it.
 */
static enum proxyproto_result
proxyproto_v1_next(struct proxyproto_v1 *p, uint8_t *c)
{
	if (p->off >= PROXYPROTO_V1_MAX_LEN)
		return proxyproto_v1_fail(p, "v1 header too long");
	if (p->off >= p->len)
		return PROXYPROTO_NEED_MORE;
	*c = p->buf[p->off++];
	return PROXYPROTO_OK;
}

/* Matches the bytes of s, failing with errstr at the first difference. */
static enum proxyproto_result
proxyproto_v1_literal(struct proxyproto_v1 *p, const char *s,
    const char *errstr)
{
	enum proxyproto_result	 r;
	uint8_t			 c;

	for (; *s != '\0'; s++) {
		if ((r = proxyproto_v1_next(p, &c)) != PROXYPROTO_OK)
			return r;
		if (c != (uint8_t)*s)
			return proxyproto_v1_fail(p, errstr);
	}
	return PROXYPROTO_OK;
}

/* Whether c may appear in an address literal of family af. */
static bool
proxyproto_v1_addr_char(int af, uint8_t c)
{
	if ((c >= '0' && c <= '9') || c == '.')
		return true;
	if (af == AF_INET)
		return false;
	/* IPv6: hex groups, and a dotted IPv4 tail (RFC 4291 §2.2). */
	return c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Reads an address of family af up to the SP that ends it into *ss,
 * without its port.  Bytes that cannot be part of a literal, or one too
 * many, fail at once; the literal itself is checked by inet_pton() at the
 * SP, so TCP4 with an IPv6 address (or the reverse) is an error.
 */
static enum proxyproto_result
proxyproto_v1_addr(struct proxyproto_v1 *p, int af,
    struct sockaddr_storage *ss, socklen_t *sslen, const char *errstr)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	char			 text[INET6_ADDRSTRLEN];
	size_t			 n, max;
	enum proxyproto_result	 r;
	uint8_t			 c;

	max = (af == AF_INET ? INET_ADDRSTRLEN : INET6_ADDRSTRLEN) - 1;
	for (n = 0;; n++) {
		if ((r = proxyproto_v1_next(p, &c)) != PROXYPROTO_OK)
			return r;
		if (c == ' ' && n > 0)
			break;
		if (n == max || !proxyproto_v1_addr_char(af, c))
			return proxyproto_v1_fail(p, errstr);
		text[n] = (char)c;
	}
	text[n] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		if (inet_pton(AF_INET, text, &sin.sin_addr) != 1)
			return proxyproto_v1_fail(p, errstr);
		memcpy(ss, &sin, sizeof(sin));
		*sslen = sizeof(sin);
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, text, &sin6.sin6_addr) != 1)
			return proxyproto_v1_fail(p, errstr);
		memcpy(ss, &sin6, sizeof(sin6));
		*sslen = sizeof(sin6);
	}
	return PROXYPROTO_OK;
}

/*
 * Reads a port ended by the byte end: 1-5 decimal digits, no leading
 * zero, at most 65535.  Each rule fails at the byte that breaks it.
 */
static enum proxyproto_result
proxyproto_v1_port(struct proxyproto_v1 *p, uint8_t end, uint16_t *port,
    const char *errstr)
{
	enum proxyproto_result	 r;
	uint32_t		 v;
	size_t			 n;
	uint8_t			 c;

	for (v = 0, n = 0;; n++) {
		if ((r = proxyproto_v1_next(p, &c)) != PROXYPROTO_OK)
			return r;
		if (c == end && n > 0)
			break;
		if (c < '0' || c > '9' || (n == 1 && v == 0))
			return proxyproto_v1_fail(p, errstr);
		v = v * 10 + (uint32_t)(c - '0');
		if (v > UINT16_MAX)
			return proxyproto_v1_fail(p, errstr);
	}
	*port = (uint16_t)v;
	return PROXYPROTO_OK;
}

/* Stores port (host order) into the address *ss already holds. */
static void
proxyproto_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	if (ss->ss_family == AF_INET) {
		memcpy(&sin, ss, sizeof(sin));
		sin.sin_port = htons(port);
		memcpy(ss, &sin, sizeof(sin));
	} else {
		memcpy(&sin6, ss, sizeof(sin6));
		sin6.sin6_port = htons(port);
		memcpy(ss, &sin6, sizeof(sin6));
	}
}

/*
 * After "UNKNOWN": CRLF, or SP then anything but CR and LF then CRLF
 * (spec 2.1: the receiver ignores what follows UNKNOWN).
 */
static enum proxyproto_result
proxyproto_v1_unknown(struct proxyproto_v1 *p)
{
	enum proxyproto_result	 r;
	uint8_t			 c;

	if ((r = proxyproto_v1_next(p, &c)) != PROXYPROTO_OK)
		return r;
	if (c == ' ') {
		do {
			if ((r = proxyproto_v1_next(p, &c)) != PROXYPROTO_OK)
				return r;
			if (c == '\n')
				return proxyproto_v1_fail(p,
				    "v1 line not ended by CRLF");
		} while (c != '\r');
	} else if (c != '\r')
		return proxyproto_v1_fail(p, "bad v1 protocol");
	return proxyproto_v1_literal(p, "\n", "v1 line not ended by CRLF");
}

/* "TCP4 a b p q\r\n" or "TCP6 ...", after the "TCP". */
static enum proxyproto_result
proxyproto_v1_tcp(struct proxyproto_v1 *p, struct proxyproto_header *h)
{
	enum proxyproto_result	 r;
	uint16_t		 sport, dport;
	uint8_t			 c;
	int			 af;

	if ((r = proxyproto_v1_next(p, &c)) != PROXYPROTO_OK)
		return r;
	if (c == '4')
		af = AF_INET;
	else if (c == '6')
		af = AF_INET6;
	else
		return proxyproto_v1_fail(p, "bad v1 protocol");
	if ((r = proxyproto_v1_literal(p, " ", "bad v1 protocol")) !=
	    PROXYPROTO_OK ||
	    (r = proxyproto_v1_addr(p, af, &h->src, &h->srclen,
	    "bad v1 source address")) != PROXYPROTO_OK ||
	    (r = proxyproto_v1_addr(p, af, &h->dst, &h->dstlen,
	    "bad v1 destination address")) != PROXYPROTO_OK ||
	    (r = proxyproto_v1_port(p, ' ', &sport,
	    "bad v1 source port")) != PROXYPROTO_OK ||
	    (r = proxyproto_v1_port(p, '\r', &dport,
	    "bad v1 destination port")) != PROXYPROTO_OK ||
	    (r = proxyproto_v1_literal(p, "\n",
	    "v1 line not ended by CRLF")) != PROXYPROTO_OK)
		return r;
	proxyproto_set_port(&h->src, sport);
	proxyproto_set_port(&h->dst, dport);
	return PROXYPROTO_OK;
}

/* Spec 2.1: "PROXY" SP ("TCP4" | "TCP6" | "UNKNOWN") ... CRLF. */
static enum proxyproto_result
proxyproto_v1_parse(const uint8_t *buf, size_t len,
    struct proxyproto_header *h, const char **errstr)
{
	struct proxyproto_v1	 p = { buf, len, 0, NULL };
	enum proxyproto_result	 r;
	uint8_t			 c;

	if ((r = proxyproto_v1_literal(&p, "PROXY ",
	    "not a PROXY v1 header")) != PROXYPROTO_OK)
		goto done;
	if ((r = proxyproto_v1_next(&p, &c)) != PROXYPROTO_OK)
		goto done;
	if (c == 'T') {
		if ((r = proxyproto_v1_literal(&p, "CP",
		    "bad v1 protocol")) == PROXYPROTO_OK)
			r = proxyproto_v1_tcp(&p, h);
	} else if (c == 'U') {
		h->local = true;
		if ((r = proxyproto_v1_literal(&p, "NKNOWN",
		    "bad v1 protocol")) == PROXYPROTO_OK)
			r = proxyproto_v1_unknown(&p);
	} else
		r = proxyproto_v1_fail(&p, "bad v1 protocol");
 done:
	h->len = p.off;
	*errstr = p.errstr;
	return r;
}

static enum proxyproto_result
proxyproto_fail(const char **errstr, const char *reason)
{
	*errstr = reason;
	return PROXYPROTO_ERROR;
}

static uint16_t
proxyproto_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Checks the TLVs between off and end (spec 2.2.7): each needs its 3-byte
 * head and its value inside the block.  Only the bytes received so far are
 * walked, so an overrun is seen as soon as its TLV head is.
 */
static enum proxyproto_result
proxyproto_v2_tlvs(const uint8_t *buf, size_t len, size_t off, size_t end,
    const char **errstr)
{
	size_t	 vlen;

	while (off < end) {
		if (end - off < PROXYPROTO_V2_TLV_HEAD)
			return proxyproto_fail(errstr, "truncated v2 TLV");
		if (len < off + PROXYPROTO_V2_TLV_HEAD)
			return PROXYPROTO_NEED_MORE;
		vlen = proxyproto_be16(buf + off + 1);
		if (vlen > end - off - PROXYPROTO_V2_TLV_HEAD)
			return proxyproto_fail(errstr,
			    "v2 TLV overruns the header");
		off += PROXYPROTO_V2_TLV_HEAD + vlen;
	}
	return PROXYPROTO_OK;
}

/* Fills the addresses of a complete TCP4 or TCP6 block at a. */
static void
proxyproto_v2_addrs(const uint8_t *a, uint8_t fam,
    struct proxyproto_header *h)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	if (fam == PROXYPROTO_V2_TCP4) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, a, 4);
		memcpy(&sin.sin_port, a + 8, 2);
		memcpy(&h->src, &sin, sizeof(sin));
		memcpy(&sin.sin_addr, a + 4, 4);
		memcpy(&sin.sin_port, a + 10, 2);
		memcpy(&h->dst, &sin, sizeof(sin));
		h->srclen = h->dstlen = sizeof(sin);
	} else {
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, a, 16);
		memcpy(&sin6.sin6_port, a + 32, 2);
		memcpy(&h->src, &sin6, sizeof(sin6));
		memcpy(&sin6.sin6_addr, a + 16, 16);
		memcpy(&sin6.sin6_port, a + 34, 2);
		memcpy(&h->dst, &sin6, sizeof(sin6));
		h->srclen = h->dstlen = sizeof(sin6);
	}
}

/*
 * Spec 2.2: signature, version and command byte, family byte, length of
 * what follows (big-endian), then the address block and TLVs.  Each field
 * is checked as soon as it has arrived.
 */
static enum proxyproto_result
proxyproto_v2_parse(const uint8_t *buf, size_t len,
    struct proxyproto_header *h, const char **errstr)
{
	enum proxyproto_result	 r;
	size_t			 i, n, alen, total;
	uint8_t			 cmd, fam;

	n = len < sizeof(proxyproto_v2_sig) ? len : sizeof(proxyproto_v2_sig);
	for (i = 0; i < n; i++)
		if (buf[i] != proxyproto_v2_sig[i])
			return proxyproto_fail(errstr, "not a PROXY v2 header");
	if (len < 13)
		return PROXYPROTO_NEED_MORE;
	if (buf[12] >> 4 != 2)
		return proxyproto_fail(errstr, "bad v2 version");
	cmd = buf[12] & 0x0f;
	if (cmd != PROXYPROTO_V2_LOCAL && cmd != PROXYPROTO_V2_PROXY)
		return proxyproto_fail(errstr, "bad v2 command");
	if (len < 14)
		return PROXYPROTO_NEED_MORE;

	/*
	 * Spec 2.2: LOCAL discards the protocol block, family included;
	 * PROXY with AF_UNSPEC lets the receiver use the real endpoints.
	 */
	fam = buf[13];
	if (cmd == PROXYPROTO_V2_LOCAL || fam == PROXYPROTO_V2_UNSPEC) {
		h->local = true;
		alen = 0;
	} else if (fam == PROXYPROTO_V2_TCP4)
		alen = PROXYPROTO_V2_ADDR4;
	else if (fam == PROXYPROTO_V2_TCP6)
		alen = PROXYPROTO_V2_ADDR6;
	else
		return proxyproto_fail(errstr,
		    "unsupported v2 address family");
	if (len < PROXYPROTO_V2_HEAD)
		return PROXYPROTO_NEED_MORE;

	total = PROXYPROTO_V2_HEAD + proxyproto_be16(buf + 14);
	if (total > PROXYPROTO_V2_MAX_LEN)
		return proxyproto_fail(errstr, "v2 header too long");
	if (total < PROXYPROTO_V2_HEAD + alen)
		return proxyproto_fail(errstr, "v2 length too short for the "
		    "addresses");
	if (!h->local && (r = proxyproto_v2_tlvs(buf, len,
	    PROXYPROTO_V2_HEAD + alen, total, errstr)) != PROXYPROTO_OK)
		return r;
	if (len < total)
		return PROXYPROTO_NEED_MORE;
	if (!h->local)
		proxyproto_v2_addrs(buf + PROXYPROTO_V2_HEAD, fam, h);
	h->len = total;
	return PROXYPROTO_OK;
}

enum proxyproto_result
proxyproto_parse(const uint8_t *buf, size_t len,
    enum proxyproto_version accept, struct proxyproto_header *h,
    const char **errstr)
{
	struct proxyproto_header tmp;
	enum proxyproto_result	 r;

	if (len == 0)
		return PROXYPROTO_NEED_MORE;
	memset(&tmp, 0, sizeof(tmp));
	*errstr = NULL;
	/* The two start with different bytes: 'P' and CR. */
	if (accept == PROXYPROTO_AUTO) {
		if (buf[0] == 'P')
			accept = PROXYPROTO_V1;
		else if (buf[0] == proxyproto_v2_sig[0])
			accept = PROXYPROTO_V2;
		else
			return proxyproto_fail(errstr,
			    "not a PROXY protocol header");
	}
	if (accept == PROXYPROTO_V1)
		r = proxyproto_v1_parse(buf, len, &tmp, errstr);
	else if (accept == PROXYPROTO_V2)
		r = proxyproto_v2_parse(buf, len, &tmp, errstr);
	else
		return proxyproto_fail(errstr, "bad PROXY protocol version");
	if (r == PROXYPROTO_OK)
		*h = tmp;
	return r;
}

/*
 * The family both addresses share, AF_INET or AF_INET6, with their
 * sockaddr copied out; AF_UNSPEC for anything else.
 */
static int
proxyproto_pair(const struct sockaddr *src, const struct sockaddr *dst,
    struct sockaddr_in sin[2], struct sockaddr_in6 sin6[2])
{
	if (src == NULL || dst == NULL || src->sa_family != dst->sa_family)
		return AF_UNSPEC;
	if (src->sa_family == AF_INET) {
		memcpy(&sin[0], src, sizeof(sin[0]));
		memcpy(&sin[1], dst, sizeof(sin[1]));
		return AF_INET;
	}
	if (src->sa_family == AF_INET6) {
		memcpy(&sin6[0], src, sizeof(sin6[0]));
		memcpy(&sin6[1], dst, sizeof(sin6[1]));
		return AF_INET6;
	}
	return AF_UNSPEC;
}

/*
 * The length of a line snprintf() wrote (n) into size bytes, or 0 when it
 * did not fit.  Never a line our own parser, and spec 2.1, would refuse.
 */
static size_t
proxyproto_v1_fit(int n, size_t size)
{
	if (n < 0 || (size_t)n >= size || n > PROXYPROTO_V1_MAX_LEN)
		return 0;
	return (size_t)n;
}

size_t
proxyproto_format_v1(char *out, size_t size, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	struct sockaddr_in	 sin[2];
	struct sockaddr_in6	 sin6[2];
	char			 s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int			 af;

	af = proxyproto_pair(src, dst, sin, sin6);
	if (af == AF_UNSPEC)
		return proxyproto_v1_fit(snprintf(out, size,
		    "PROXY UNKNOWN\r\n"), size);
	if (af == AF_INET) {
		inet_ntop(AF_INET, &sin[0].sin_addr, s, sizeof(s));
		inet_ntop(AF_INET, &sin[1].sin_addr, d, sizeof(d));
		return proxyproto_v1_fit(snprintf(out, size,
		    "PROXY TCP4 %s %s %u %u\r\n", s, d,
		    (unsigned int)ntohs(sin[0].sin_port),
		    (unsigned int)ntohs(sin[1].sin_port)), size);
	}
	inet_ntop(AF_INET6, &sin6[0].sin6_addr, s, sizeof(s));
	inet_ntop(AF_INET6, &sin6[1].sin6_addr, d, sizeof(d));
	return proxyproto_v1_fit(snprintf(out, size,
	    "PROXY TCP6 %s %s %u %u\r\n", s, d,
	    (unsigned int)ntohs(sin6[0].sin6_port),
	    (unsigned int)ntohs(sin6[1].sin6_port)), size);
}

size_t
proxyproto_format_v2(uint8_t *out, size_t size, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	struct sockaddr_in	 sin[2];
	struct sockaddr_in6	 sin6[2];
	uint8_t			*a;
	size_t			 alen;
	int			 af;

	af = proxyproto_pair(src, dst, sin, sin6);
	if (af == AF_INET)
		alen = PROXYPROTO_V2_ADDR4;
	else if (af == AF_INET6)
		alen = PROXYPROTO_V2_ADDR6;
	else
		alen = 0;
	if (size < PROXYPROTO_V2_HEAD + alen)
		return 0;

	a = out + PROXYPROTO_V2_HEAD;
	memcpy(out, proxyproto_v2_sig, sizeof(proxyproto_v2_sig));
	out[12] = 0x20 | PROXYPROTO_V2_PROXY;
	out[14] = 0;
	out[15] = (uint8_t)alen;
	if (af == AF_INET) {
		out[13] = PROXYPROTO_V2_TCP4;
		memcpy(a, &sin[0].sin_addr, 4);
		memcpy(a + 4, &sin[1].sin_addr, 4);
		memcpy(a + 8, &sin[0].sin_port, 2);
		memcpy(a + 10, &sin[1].sin_port, 2);
	} else if (af == AF_INET6) {
		out[13] = PROXYPROTO_V2_TCP6;
		memcpy(a, &sin6[0].sin6_addr, 16);
		memcpy(a + 16, &sin6[1].sin6_addr, 16);
		memcpy(a + 32, &sin6[0].sin6_port, 2);
		memcpy(a + 34, &sin6[1].sin6_port, 2);
	} else
		out[13] = PROXYPROTO_V2_UNSPEC;
	return PROXYPROTO_V2_HEAD + alen;
}
