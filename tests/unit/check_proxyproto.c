/*
 * check_proxyproto — unit tests of the PROXY protocol v1/v2 parser and
 * writers.
 *
 * Each parser vector is a stream split in two: "pre" ends with the byte
 * that decides the verdict (the end of the header, or the offending byte)
 * and "post" is whatever follows and must not matter.  The parser keeps no
 * state, so feeding it in pieces is feeding it every prefix:
 * proxyproto_run() parses every prefix of pre + post, each from a buffer
 * of exactly those bytes so ASan sees any read past the end, and asserts
 * that every prefix shorter than pre needs more bytes and every other one
 * gets the verdict.  So errors are reported at the offending byte, and the
 * bytes after a header are never looked at nor counted in its length.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"
#include "check_main.h"

#define PROXYPROTO_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A byte string that may hold NUL: B("a\0b"). */
struct proxyproto_bytes {
	const char	*p;
	size_t		 len;
};
#define B(s)	{ (s), sizeof(s) - 1 }

/* The v2 signature, spec 2.2. */
#define SIG	"\r\n\r\n\0\r\nQUIT\n"
#define SIGLEN	12
/* 192.168.0.1:56324 -> 10.0.0.2:443 as a v2 TCP4 address block. */
#define ADDR4	"\xc0\xa8\x00\x01" "\x0a\x00\x00\x02" "\xdc\x04" "\x01\xbb"
#define X10	"xxxxxxxxxx"
/* The rest of an ERROR vector. */
#define NA	false, NULL, NULL, 0, 0

struct proxyproto_vector {
	const char		*name;
	struct proxyproto_bytes	 pre;
	struct proxyproto_bytes	 post;
	enum proxyproto_version	 accept;
	enum proxyproto_result	 result;
	const char		*errstr;	/* ERROR: expected reason */
	bool			 local;		/* OK: expected */
	const char		*src;		/* OK, !local: addresses */
	const char		*dst;
	unsigned int		 sport, dport;
};

static const struct proxyproto_vector proxyproto_vectors[] = {
	/* v1, valid */
	{ "v1 tcp4", B("PROXY TCP4 192.168.0.1 10.0.0.2 56324 443\r\n"),
	    B("GET / HTTP/1.1\r\n"), PROXYPROTO_V1, PROXYPROTO_OK, NULL,
	    false, "192.168.0.1", "10.0.0.2", 56324, 443 },
	{ "v1 tcp6", B("PROXY TCP6 2001:db8::1 ::1 0 65535\r\n"), B("x"),
	    PROXYPROTO_V1, PROXYPROTO_OK, NULL,
	    false, "2001:db8::1", "::1", 0, 65535 },
	{ "v1 tcp6 mapped, upper case",
	    B("PROXY TCP6 ::ffff:1.2.3.4 FE80::A:b 1 2\r\n"), B(""),
	    PROXYPROTO_V1, PROXYPROTO_OK, NULL,
	    false, "::ffff:1.2.3.4", "fe80::a:b", 1, 2 },
	{ "v1 tcp4 longest addresses",
	    B("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"),
	    B("\r\n"), PROXYPROTO_V1, PROXYPROTO_OK, NULL,
	    false, "255.255.255.255", "255.255.255.255", 65535, 65535 },
	{ "v1 unknown", B("PROXY UNKNOWN\r\n"), B("PROXY UNKNOWN\r\n"),
	    PROXYPROTO_V1, PROXYPROTO_OK, NULL, true, NULL, NULL, 0, 0 },
	{ "v1 unknown with addresses",
	    B("PROXY UNKNOWN ffff:f::1 ffff:f::2 65535 65535\r\n"), B("y"),
	    PROXYPROTO_V1, PROXYPROTO_OK, NULL, true, NULL, NULL, 0, 0 },
	{ "v1 unknown of 107 bytes",
	    B("PROXY UNKNOWN " X10 X10 X10 X10 X10 X10 X10 X10 X10 "x\r\n"),
	    B("z"), PROXYPROTO_V1, PROXYPROTO_OK, NULL,
	    true, NULL, NULL, 0, 0 },
	{ "v1 auto", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), B("\0"),
	    PROXYPROTO_AUTO, PROXYPROTO_OK, NULL,
	    false, "1.2.3.4", "5.6.7.8", 1, 2 },

	/* v1, invalid: pre ends at the offending byte */
	{ "v1 lower case", B("p"), B("roxy TCP4"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "not a PROXY v1 header", NA },
	{ "v1 http", B("G"), B("ET / HTTP/1.1\r\n"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "not a PROXY v1 header", NA },
	{ "v1 no space", B("PROXY\t"), B("TCP4"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "not a PROXY v1 header", NA },
	{ "v1 double space", B("PROXY  "), B("TCP4"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "bad v1 protocol", NA },
	{ "v1 tcp5", B("PROXY TCP5"), B(" 1.2.3.4"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "bad v1 protocol", NA },
	{ "v1 udp4", B("PROXY UD"), B("P4 1.2.3.4"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "bad v1 protocol", NA },
	{ "v1 tcp4 no space", B("PROXY TCP4\r"), B("\n"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "bad v1 protocol", NA },
	{ "v1 unknownx", B("PROXY UNKNOWNX"), B("\r\n"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "bad v1 protocol", NA },
	{ "v1 unknown lf", B("PROXY UNKNOWN x\n"), B(""), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "v1 line not ended by CRLF", NA },
	{ "v1 unknown bare cr", B("PROXY UNKNOWN\rx"), B("\n"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "v1 line not ended by CRLF", NA },
	{ "v1 double space before source", B("PROXY TCP4  "), B("1.2.3.4"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 double space before destination",
	    B("PROXY TCP4 1.2.3.4  "), B("5.6.7.8 1 2\r\n"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 destination address", NA },
	{ "v1 double space before source port",
	    B("PROXY TCP4 1.2.3.4 5.6.7.8  "), B("1 2\r\n"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source port", NA },
	{ "v1 ipv4 octet 256", B("PROXY TCP4 1.2.3.256 "), B("5.6.7.8"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 ipv4 five parts", B("PROXY TCP4 1.2.3.4.5 "), B("5.6.7.8"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 ipv4 letter", B("PROXY TCP4 1.2.3.x"), B(" 5.6.7.8"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 ipv4 too long", B("PROXY TCP4 1.2.3.4000000000"), B(" "),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 ipv6 bad", B("PROXY TCP6 1:2:3:4:5:6:7:8:9 "), B("::1"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 ipv6 letter", B("PROXY TCP6 ::g"), B(" ::1"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 tcp4 with ipv6", B("PROXY TCP4 :"), B(":1 ::1 1 2\r\n"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 tcp6 with ipv4", B("PROXY TCP6 1.2.3.4 "), B("5.6.7.8 1 2\r\n"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source address", NA },
	{ "v1 tcp4 with ipv6 destination", B("PROXY TCP4 1.2.3.4 :"),
	    B(":1 1 2\r\n"), PROXYPROTO_V1, PROXYPROTO_ERROR,
	    "bad v1 destination address", NA },
	{ "v1 port 65536", B("PROXY TCP4 1.2.3.4 5.6.7.8 65536"),
	    B(" 2\r\n"), PROXYPROTO_V1, PROXYPROTO_ERROR,
	    "bad v1 source port", NA },
	{ "v1 port 655350", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 655350"),
	    B("\r\n"), PROXYPROTO_V1, PROXYPROTO_ERROR,
	    "bad v1 destination port", NA },
	{ "v1 port plus", B("PROXY TCP4 1.2.3.4 5.6.7.8 +"), B("1 2\r\n"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 source port", NA },
	{ "v1 port minus", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 -"), B("2\r\n"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 destination port", NA },
	{ "v1 port leading zero", B("PROXY TCP4 1.2.3.4 5.6.7.8 01"),
	    B(" 2\r\n"), PROXYPROTO_V1, PROXYPROTO_ERROR,
	    "bad v1 source port", NA },
	{ "v1 port 00", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 00"), B("\r\n"),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 destination port", NA },
	{ "v1 empty destination port", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r"),
	    B("\n"), PROXYPROTO_V1, PROXYPROTO_ERROR,
	    "bad v1 destination port", NA },
	{ "v1 trailing space", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 "),
	    B("\r\n"), PROXYPROTO_V1, PROXYPROTO_ERROR,
	    "bad v1 destination port", NA },
	{ "v1 lf only", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), B(""),
	    PROXYPROTO_V1, PROXYPROTO_ERROR, "bad v1 destination port", NA },
	{ "v1 cr without lf", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r"),
	    B("\n"), PROXYPROTO_V1, PROXYPROTO_ERROR,
	    "v1 line not ended by CRLF", NA },
	{ "v1 no crlf in 107 bytes",
	    B("PROXY UNKNOWN " X10 X10 X10 X10 X10 X10 X10 X10 X10 "xxx"),
	    B("\r\n"), PROXYPROTO_V1, PROXYPROTO_ERROR, "v1 header too long",
	    NA },
	{ "v1 lf at byte 108",
	    B("PROXY UNKNOWN " X10 X10 X10 X10 X10 X10 X10 X10 X10 "xx\r"),
	    B("\n"), PROXYPROTO_V1, PROXYPROTO_ERROR, "v1 header too long",
	    NA },

	/* v2, valid */
	{ "v2 tcp4", B(SIG "\x21\x11\x00\x0c" ADDR4), B("GET / HTTP/1.1"),
	    PROXYPROTO_V2, PROXYPROTO_OK, NULL,
	    false, "192.168.0.1", "10.0.0.2", 56324, 443 },
	{ "v2 tcp6", B(SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\x00\x50" "\xff\xff"),
	    B("\0\0"), PROXYPROTO_V2, PROXYPROTO_OK, NULL,
	    false, "2001:db8::1", "::1", 80, 65535 },
	{ "v2 tlvs", B(SIG "\x21\x11\x00\x16" ADDR4
	    "\x02\x00\x04" "host" "\x05\x00\x00"), B("\x02\x00\x04"),
	    PROXYPROTO_V2, PROXYPROTO_OK, NULL,
	    false, "192.168.0.1", "10.0.0.2", 56324, 443 },
	{ "v2 local", B(SIG "\x20\x00\x00\x00"), B("\x16\x03\x01"),
	    PROXYPROTO_V2, PROXYPROTO_OK, NULL, true, NULL, NULL, 0, 0 },
	{ "v2 local with addresses", B(SIG "\x20\x11\x00\x0c" ADDR4), B(""),
	    PROXYPROTO_V2, PROXYPROTO_OK, NULL, true, NULL, NULL, 0, 0 },
	{ "v2 local of any family", B(SIG "\x20\xff\x00\x02" "\xff\xff"),
	    B("x"), PROXYPROTO_V2, PROXYPROTO_OK, NULL,
	    true, NULL, NULL, 0, 0 },
	{ "v2 unspec", B(SIG "\x21\x00\x00\x00"), B("x"),
	    PROXYPROTO_V2, PROXYPROTO_OK, NULL, true, NULL, NULL, 0, 0 },
	{ "v2 unspec with bytes", B(SIG "\x21\x00\x00\x04" "\x00\x00\x09\x99"),
	    B("x"), PROXYPROTO_V2, PROXYPROTO_OK, NULL,
	    true, NULL, NULL, 0, 0 },
	{ "v2 auto", B(SIG "\x21\x11\x00\x0c" ADDR4), B("PROXY "),
	    PROXYPROTO_AUTO, PROXYPROTO_OK, NULL,
	    false, "192.168.0.1", "10.0.0.2", 56324, 443 },

	/* v2, invalid */
	{ "v2 version 1", B(SIG "\x11"), B("\x11\x00\x0c" ADDR4),
	    PROXYPROTO_V2, PROXYPROTO_ERROR, "bad v2 version", NA },
	{ "v2 version 3", B(SIG "\x31"), B("\x11\x00\x0c" ADDR4),
	    PROXYPROTO_V2, PROXYPROTO_ERROR, "bad v2 version", NA },
	{ "v2 command 2", B(SIG "\x22"), B("\x11\x00\x0c" ADDR4),
	    PROXYPROTO_V2, PROXYPROTO_ERROR, "bad v2 command", NA },
	{ "v2 command 15", B(SIG "\x2f"), B("\x11\x00\x0c" ADDR4),
	    PROXYPROTO_AUTO, PROXYPROTO_ERROR, "bad v2 command", NA },
	{ "v2 udp4", B(SIG "\x21\x12"), B("\x00\x0c" ADDR4),
	    PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "unsupported v2 address family", NA },
	{ "v2 udp6", B(SIG "\x21\x22"), B("\x00\x24"),
	    PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "unsupported v2 address family", NA },
	{ "v2 unix", B(SIG "\x21\x31"), B("\x00\xd8"),
	    PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "unsupported v2 address family", NA },
	{ "v2 undefined family", B(SIG "\x21\x41"), B("\x00\x00"),
	    PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "unsupported v2 address family", NA },
	{ "v2 tcp4 length 11", B(SIG "\x21\x11\x00\x0b"), B(ADDR4),
	    PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "v2 length too short for the addresses", NA },
	{ "v2 tcp6 length 12", B(SIG "\x21\x21\x00\x0c"), B(ADDR4),
	    PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "v2 length too short for the addresses", NA },
	{ "v2 too long", B(SIG "\x21\x11\x0f\xf1"), B(ADDR4),
	    PROXYPROTO_V2, PROXYPROTO_ERROR, "v2 header too long", NA },
	{ "v2 longest length", B(SIG "\x21\x11\xff\xff"), B(ADDR4),
	    PROXYPROTO_V2, PROXYPROTO_ERROR, "v2 header too long", NA },
	{ "v2 tlv overrun", B(SIG "\x21\x11\x00\x10" ADDR4 "\x04\x00\x02"),
	    B("x"), PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "v2 TLV overruns the header", NA },
	{ "v2 second tlv overrun",
	    B(SIG "\x21\x11\x00\x14" ADDR4 "\x04\x00\x01" "x" "\x04\x00\x02"),
	    B("x"), PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "v2 TLV overruns the header", NA },
	{ "v2 truncated tlv", B(SIG "\x21\x11\x00\x0e"), B(ADDR4 "\x04\x00"),
	    PROXYPROTO_V2, PROXYPROTO_ERROR, "truncated v2 TLV", NA },
	{ "v2 truncated second tlv", B(SIG "\x21\x11\x00\x11" ADDR4
	    "\x04\x00\x00"), B("\x04\x00"), PROXYPROTO_V2, PROXYPROTO_ERROR,
	    "truncated v2 TLV", NA },
	{ "v2 header in v1 mode", B("\r"), B("\n\r\n"), PROXYPROTO_V1,
	    PROXYPROTO_ERROR, "not a PROXY v1 header", NA },
	{ "v1 header in v2 mode", B("P"), B("ROXY "), PROXYPROTO_V2,
	    PROXYPROTO_ERROR, "not a PROXY v2 header", NA },

	/* auto */
	{ "auto http", B("G"), B("ET / HTTP/1.1\r\n"), PROXYPROTO_AUTO,
	    PROXYPROTO_ERROR, "not a PROXY protocol header", NA },
	{ "auto tls", B("\x16"), B("\x03\x01\x02\x00"), PROXYPROTO_AUTO,
	    PROXYPROTO_ERROR, "not a PROXY protocol header", NA },
	{ "auto nul", B("\0"), B(""), PROXYPROTO_AUTO,
	    PROXYPROTO_ERROR, "not a PROXY protocol header", NA },
	{ "auto bad v1", B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), B(""),
	    PROXYPROTO_AUTO, PROXYPROTO_ERROR, "bad v1 destination port", NA },
	{ "auto bad v2", B(SIG "\x21\x12"), B("\x00\x00"), PROXYPROTO_AUTO,
	    PROXYPROTO_ERROR, "unsupported v2 address family", NA },
};

static char *
proxyproto_test_copy(const void *p, size_t len)
{
	char	*copy;

	/* malloc(0) may return NULL; one spare byte is never read. */
	copy = malloc(len + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, len);
	return copy;
}

/* Asserts that ss holds address text and port (host order). */
static void
proxyproto_check_addr(const char *name, const char *which,
    const struct sockaddr_storage *ss, socklen_t sslen, const char *text,
    unsigned int port)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	char			 got[INET6_ADDRSTRLEN];
	unsigned int		 gotport;

	if (ss->ss_family == AF_INET) {
		ck_assert_uint_eq(sslen, sizeof(sin));
		memcpy(&sin, ss, sizeof(sin));
		inet_ntop(AF_INET, &sin.sin_addr, got, sizeof(got));
		gotport = ntohs(sin.sin_port);
	} else {
		ck_assert_msg(ss->ss_family == AF_INET6, "%s: %s family %d",
		    name, which, ss->ss_family);
		ck_assert_uint_eq(sslen, sizeof(sin6));
		memcpy(&sin6, ss, sizeof(sin6));
		inet_ntop(AF_INET6, &sin6.sin6_addr, got, sizeof(got));
		gotport = ntohs(sin6.sin6_port);
	}
	ck_assert_msg(strcmp(got, text) == 0, "%s: %s \"%s\", want \"%s\"",
	    name, which, got, text);
	ck_assert_msg(gotport == port, "%s: %s port %u, want %u", name,
	    which, gotport, port);
}

/* Parses the first n bytes of v's stream with accept; checks the verdict. */
static void
proxyproto_run_prefix(const struct proxyproto_vector *v, const char *all,
    size_t n, enum proxyproto_version accept)
{
	struct proxyproto_header h, untouched;
	enum proxyproto_result	 r, want;
	const char		*errstr = NULL;
	char			*buf;

	buf = proxyproto_test_copy(all, n);
	memset(&untouched, 0xa5, sizeof(untouched));
	h = untouched;
	r = proxyproto_parse((const uint8_t *)buf, n, accept, &h, &errstr);
	free(buf);

	want = n < v->pre.len ? PROXYPROTO_NEED_MORE : v->result;
	ck_assert_msg(r == want, "%s: %zu bytes, mode %d: result %d, want %d"
	    " (%s)", v->name, n, accept, r, want, errstr ? errstr : "");
	if (r != PROXYPROTO_OK) {
		/* *h is written only on OK. */
		ck_assert(memcmp(&h, &untouched, sizeof(h)) == 0);
	}
	if (r == PROXYPROTO_ERROR)
		ck_assert_msg(errstr != NULL && strcmp(errstr, v->errstr) == 0,
		    "%s: %zu bytes: errstr \"%s\", want \"%s\"", v->name, n,
		    errstr ? errstr : "(null)", v->errstr);
	if (r != PROXYPROTO_OK)
		return;
	ck_assert_msg(h.len == v->pre.len, "%s: %zu bytes: len %zu, want %zu",
	    v->name, n, h.len, v->pre.len);
	ck_assert_msg(h.local == v->local, "%s: local %d", v->name, h.local);
	if (v->local) {
		ck_assert_uint_eq(h.srclen, 0);
		ck_assert_uint_eq(h.dstlen, 0);
		return;
	}
	proxyproto_check_addr(v->name, "source", &h.src, h.srclen, v->src,
	    v->sport);
	proxyproto_check_addr(v->name, "destination", &h.dst, h.dstlen,
	    v->dst, v->dport);
}

START_TEST(test_proxyproto_vector)
{
	const struct proxyproto_vector *v = &proxyproto_vectors[_i];
	char			*all;
	size_t			 n, total;

	total = v->pre.len + v->post.len;
	all = malloc(total + 1);
	ck_assert_ptr_nonnull(all);
	memcpy(all, v->pre.p, v->pre.len);
	memcpy(all + v->pre.len, v->post.p, v->post.len);
	for (n = 0; n <= total; n++) {
		proxyproto_run_prefix(v, all, n, v->accept);
		/* What a version-specific mode accepts, AUTO does too. */
		if (v->result == PROXYPROTO_OK)
			proxyproto_run_prefix(v, all, n, PROXYPROTO_AUTO);
	}
	free(all);
}
END_TEST

/* The other version's mode refuses a valid header at its first byte. */
START_TEST(test_proxyproto_other_version)
{
	const struct proxyproto_vector *v = &proxyproto_vectors[_i];
	struct proxyproto_header h;
	enum proxyproto_version	 other;
	const char		*errstr = NULL;

	if (v->result != PROXYPROTO_OK)
		return;
	other = v->pre.p[0] == 'P' ? PROXYPROTO_V2 : PROXYPROTO_V1;
	ck_assert_int_eq(proxyproto_parse((const uint8_t *)v->pre.p, 1, other,
	    &h, &errstr), PROXYPROTO_ERROR);
	ck_assert_ptr_nonnull(errstr);
}
END_TEST

/*
 * A wrong byte anywhere in the v2 signature, or in "PROXY ", is an error
 * as soon as it arrives, in its version's mode and in AUTO.
 */
static void
proxyproto_check_signature(const char *good, size_t goodlen, size_t pos,
    enum proxyproto_version accept)
{
	struct proxyproto_header h;
	enum proxyproto_result	 r;
	const char		*errstr;
	char			*buf;
	size_t			 n;

	for (n = 0; n <= goodlen; n++) {
		buf = proxyproto_test_copy(good, n);
		if (pos < n)
			buf[pos] ^= 0x20;
		errstr = NULL;
		r = proxyproto_parse((const uint8_t *)buf, n, accept, &h,
		    &errstr);
		free(buf);
		ck_assert_msg(r == (n <= pos ? PROXYPROTO_NEED_MORE :
		    PROXYPROTO_ERROR), "byte %zu, %zu bytes, mode %d: %d", pos,
		    n, accept, r);
		ck_assert(r != PROXYPROTO_ERROR || errstr != NULL);
	}
}

START_TEST(test_proxyproto_v2_signature)
{
	static const char good[] = SIG "\x21\x00\x00\x00";

	proxyproto_check_signature(good, sizeof(good) - 1, (size_t)_i,
	    PROXYPROTO_V2);
	proxyproto_check_signature(good, sizeof(good) - 1, (size_t)_i,
	    PROXYPROTO_AUTO);
}
END_TEST

START_TEST(test_proxyproto_v1_signature)
{
	static const char good[] = "PROXY UNKNOWN\r\n";

	proxyproto_check_signature(good, sizeof(good) - 1, (size_t)_i,
	    PROXYPROTO_V1);
	proxyproto_check_signature(good, sizeof(good) - 1, (size_t)_i,
	    PROXYPROTO_AUTO);
}
END_TEST

/* A v2 header of exactly PROXYPROTO_V2_MAX_LEN bytes, one big TLV. */
START_TEST(test_proxyproto_v2_max_len)
{
	struct proxyproto_header h;
	const char		*errstr = NULL;
	uint8_t			*buf;
	size_t			 blen = PROXYPROTO_V2_MAX_LEN - 16;
	size_t			 vlen = blen - 12 - 3;

	buf = calloc(1, PROXYPROTO_V2_MAX_LEN);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, SIG "\x21\x11", 14);
	buf[14] = (uint8_t)(blen >> 8);
	buf[15] = (uint8_t)blen;
	memcpy(buf + 16, ADDR4, 12);
	buf[28] = 0xe0;
	buf[29] = (uint8_t)(vlen >> 8);
	buf[30] = (uint8_t)vlen;
	ck_assert_int_eq(proxyproto_parse(buf, PROXYPROTO_V2_MAX_LEN - 1,
	    PROXYPROTO_V2, &h, &errstr), PROXYPROTO_NEED_MORE);
	ck_assert_int_eq(proxyproto_parse(buf, PROXYPROTO_V2_MAX_LEN,
	    PROXYPROTO_AUTO, &h, &errstr), PROXYPROTO_OK);
	ck_assert_uint_eq(h.len, PROXYPROTO_V2_MAX_LEN);
	proxyproto_check_addr("max", "source", &h.src, h.srclen,
	    "192.168.0.1", 56324);
	free(buf);
}
END_TEST

START_TEST(test_proxyproto_bad_mode)
{
	struct proxyproto_header h;
	const char		*errstr = NULL;

	ck_assert_int_eq(proxyproto_parse((const uint8_t *)"PROXY ", 6,
	    (enum proxyproto_version)0, &h, &errstr), PROXYPROTO_ERROR);
	ck_assert_ptr_nonnull(errstr);
	ck_assert_int_eq(proxyproto_parse((const uint8_t *)"", 0,
	    PROXYPROTO_AUTO, &h, &errstr), PROXYPROTO_NEED_MORE);
}
END_TEST

/* Round trips through the writers and the parser. */
struct proxyproto_pair {
	const char	*src;
	unsigned int	 sport;
	const char	*dst;
	unsigned int	 dport;
	const char	*v1;		/* expected line */
};

static const struct proxyproto_pair proxyproto_pairs[] = {
	{ "192.168.0.1", 56324, "10.0.0.2", 443,
	    "PROXY TCP4 192.168.0.1 10.0.0.2 56324 443\r\n" },
	{ "0.0.0.0", 0, "255.255.255.255", 65535,
	    "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n" },
	{ "2001:db8::1", 1, "::1", 8080,
	    "PROXY TCP6 2001:db8::1 ::1 1 8080\r\n" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535,
	    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n" },
	{ "::ffff:1.2.3.4", 5, "::ffff:5.6.7.8", 6,
	    "PROXY TCP6 ::ffff:1.2.3.4 ::ffff:5.6.7.8 5 6\r\n" },
};

static void
proxyproto_make_addr(const char *text, unsigned int port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	memset(ss, 0, sizeof(*ss));
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, text, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		memcpy(ss, &sin, sizeof(sin));
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6.sin6_addr), 1);
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons((uint16_t)port);
	memcpy(ss, &sin6, sizeof(sin6));
}

static void
proxyproto_check_round_trip(const struct proxyproto_pair *pp,
    const uint8_t *buf, size_t len)
{
	struct proxyproto_header h;
	const char		*errstr = NULL;
	size_t			 n;

	for (n = 0; n < len; n++)
		ck_assert_int_eq(proxyproto_parse(buf, n, PROXYPROTO_AUTO, &h,
		    &errstr), PROXYPROTO_NEED_MORE);
	ck_assert_msg(proxyproto_parse(buf, len, PROXYPROTO_AUTO, &h,
	    &errstr) == PROXYPROTO_OK, "%s: %s", pp->src, errstr);
	ck_assert_uint_eq(h.len, len);
	ck_assert(!h.local);
	proxyproto_check_addr(pp->src, "source", &h.src, h.srclen, pp->src,
	    pp->sport);
	proxyproto_check_addr(pp->src, "destination", &h.dst, h.dstlen,
	    pp->dst, pp->dport);
}

START_TEST(test_proxyproto_format)
{
	const struct proxyproto_pair *pp = &proxyproto_pairs[_i];
	struct sockaddr_storage	 src, dst;
	char			 line[PROXYPROTO_FORMAT_MAX];
	uint8_t			 bin[PROXYPROTO_FORMAT_MAX];
	size_t			 n;

	proxyproto_make_addr(pp->src, pp->sport, &src);
	proxyproto_make_addr(pp->dst, pp->dport, &dst);

	n = proxyproto_format_v1(line, sizeof(line),
	    (struct sockaddr *)&src, (struct sockaddr *)&dst);
	ck_assert_str_eq(line, pp->v1);
	ck_assert_uint_eq(n, strlen(pp->v1));
	proxyproto_check_round_trip(pp, (const uint8_t *)line, n);
	/* One byte short of room for the NUL: nothing. */
	ck_assert_uint_eq(proxyproto_format_v1(line, n,
	    (struct sockaddr *)&src, (struct sockaddr *)&dst), 0);

	n = proxyproto_format_v2(bin, sizeof(bin),
	    (struct sockaddr *)&src, (struct sockaddr *)&dst);
	ck_assert_uint_eq(n, src.ss_family == AF_INET ? 28 : 52);
	proxyproto_check_round_trip(pp, bin, n);
	ck_assert_uint_eq(proxyproto_format_v2(bin, n - 1,
	    (struct sockaddr *)&src, (struct sockaddr *)&dst), 0);
}
END_TEST

/* Mixed families, unix sockets or no address: UNKNOWN and AF_UNSPEC. */
START_TEST(test_proxyproto_format_unknown)
{
	struct sockaddr_storage	 v4, v6, un;
	struct proxyproto_header h;
	const char		*errstr = NULL;
	char			 line[PROXYPROTO_FORMAT_MAX];
	uint8_t			 bin[PROXYPROTO_FORMAT_MAX];
	size_t			 n;

	proxyproto_make_addr("1.2.3.4", 1, &v4);
	proxyproto_make_addr("::1", 2, &v6);
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;

	n = proxyproto_format_v1(line, sizeof(line),
	    (struct sockaddr *)&v4, (struct sockaddr *)&v6);
	ck_assert_str_eq(line, "PROXY UNKNOWN\r\n");
	ck_assert_uint_eq(n, 15);
	ck_assert_uint_eq(proxyproto_format_v1(line, sizeof(line),
	    (struct sockaddr *)&un, (struct sockaddr *)&un), 15);
	ck_assert_uint_eq(proxyproto_format_v1(line, sizeof(line), NULL,
	    (struct sockaddr *)&v4), 15);
	ck_assert_int_eq(proxyproto_parse((const uint8_t *)line, n,
	    PROXYPROTO_V1, &h, &errstr), PROXYPROTO_OK);
	ck_assert(h.local);

	n = proxyproto_format_v2(bin, sizeof(bin), (struct sockaddr *)&v6,
	    (struct sockaddr *)&v4);
	ck_assert_uint_eq(n, 16);
	ck_assert_int_eq(memcmp(bin, SIG "\x21\x00\x00\x00", 16), 0);
	ck_assert_int_eq(proxyproto_parse(bin, n, PROXYPROTO_V2, &h,
	    &errstr), PROXYPROTO_OK);
	ck_assert(h.local);
	ck_assert_uint_eq(h.len, 16);
	ck_assert_uint_eq(proxyproto_format_v2(bin, 15, NULL, NULL), 0);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proxyproto");

	tc = tcase_create("vectors");
	tcase_add_loop_test(tc, test_proxyproto_vector, 0,
	    PROXYPROTO_NELEM(proxyproto_vectors));
	tcase_add_loop_test(tc, test_proxyproto_other_version, 0,
	    PROXYPROTO_NELEM(proxyproto_vectors));
	tcase_add_test(tc, test_proxyproto_v2_max_len);
	tcase_add_test(tc, test_proxyproto_bad_mode);
	suite_add_tcase(s, tc);

	tc = tcase_create("signatures");
	tcase_add_loop_test(tc, test_proxyproto_v2_signature, 0, SIGLEN);
	tcase_add_loop_test(tc, test_proxyproto_v1_signature, 0, 6);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_proxyproto_format, 0,
	    PROXYPROTO_NELEM(proxyproto_pairs));
	tcase_add_test(tc, test_proxyproto_format_unknown);
	suite_add_tcase(s, tc);

	return s;
}
