/*
 * proxyproto — parser and writer of the PROXY protocol header, version 1
 * (text) and version 2 (binary), as specified by HAProxy's
 * proxy-protocol.txt (sections 2.1 and 2.2).
 *
 * Bytes in, verdict out: the parser keeps no state between calls (hand it
 * the whole buffer again when more bytes arrive), never consumes and
 * never copies.  It is strict, because the header decides which address
 * wsgate logs, limits and forwards:
 *
 *   v1: "PROXY TCP4 a b p q\r\n" or "PROXY TCP6 ..." with single spaces,
 *	 addresses accepted by inet_pton() for the family named, ports in
 *	 decimal 0-65535 without sign or leading zero ("0" itself is
 *	 fine), CRLF only; "PROXY UNKNOWN\r\n", or "PROXY UNKNOWN " then
 *	 any bytes but CR and LF then CRLF, means "local".  At most 107
 *	 bytes: no CRLF by then is an error.
 *   v2: the 12-byte signature, version 2, command LOCAL or PROXY.
 *	 LOCAL, and PROXY with family AF_UNSPEC, mean "local" and their
 *	 address block is skipped unread.  PROXY over TCP/IPv4 (0x11) and
 *	 TCP/IPv6 (0x21) give addresses; every other family (UDP, unix
 *	 sockets, undefined values) is an error: wsgate relays TCP
 *	 streams, so a sender claiming anything else is misconfigured.
 *	 TLVs after the addresses are skipped, but their lengths must tile
 *	 the rest of the block exactly.  The whole header is capped at
 *	 PROXYPROTO_V2_MAX_LEN bytes.
 *
 * Errors are reported at the first byte that cannot continue a valid
 * header, so a client that does not speak the protocol is refused at once
 * instead of being waited for.
 */
#ifndef WSGATE_PROXYPROTO_H
#define WSGATE_PROXYPROTO_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Spec 2.1: the longest v1 line, CRLF included. */
#define PROXYPROTO_V1_MAX_LEN	107

/*
 * Our cap on a whole v2 header.  The spec allows 16 + 65535 bytes; 16 +
 * 216 covers the largest address block, and the rest leaves room for the
 * TLVs real senders add (TLS details, cloud endpoint ids) while keeping
 * what a listener must buffer for an untrusted peer small.
 */
#define PROXYPROTO_V2_MAX_LEN	4096

/* Enough for what either formatter writes (v1 with its NUL, v2). */
#define PROXYPROTO_FORMAT_MAX	(PROXYPROTO_V1_MAX_LEN + 1)

enum proxyproto_version {
	PROXYPROTO_V1 = 1,
	PROXYPROTO_V2 = 2,
	PROXYPROTO_AUTO = 3	/* either, told apart by the first byte */
};

enum proxyproto_result {
	PROXYPROTO_NEED_MORE,
	PROXYPROTO_OK,
	PROXYPROTO_ERROR
};

struct proxyproto_header {
	size_t		 len;		/* bytes the header took: drop them
					   from the stream, the rest is the
					   client's */
	bool		 local;		/* v1 UNKNOWN, v2 LOCAL or AF_UNSPEC:
					   keep the real peer address */
	struct sockaddr_storage src, dst; /* !local: AF_INET or AF_INET6,
					   ports set */
	socklen_t	 srclen, dstlen; /* 0 when local */
};

/*
 * Parses the header at the start of buf (len bytes so far), of the
 * versions accept allows.  Returns PROXYPROTO_NEED_MORE while every byte
 * so far may start a valid header, PROXYPROTO_OK with *h filled in, or
 * PROXYPROTO_ERROR with *errstr (static text); *h is written only on OK.
 */
enum proxyproto_result proxyproto_parse(const uint8_t *buf, size_t len,
	    enum proxyproto_version accept, struct proxyproto_header *h,
	    const char **errstr);

/*
 * Writes a v1 line for a connection from src to dst, NUL-ended, into out
 * (size bytes).  Two addresses of one family, AF_INET or AF_INET6, give
 * TCP4 or TCP6; anything else (NULL included) gives "PROXY UNKNOWN".
 * Returns the line's length without the NUL, or 0 when it does not fit.
 */
size_t	proxyproto_format_v1(char *out, size_t size,
	    const struct sockaddr *src, const struct sockaddr *dst);

/*
 * Writes a v2 PROXY header for src and dst into out (size bytes): TCP
 * over IPv4 or IPv6 for two addresses of that family, else AF_UNSPEC
 * with no addresses.  Returns its length, or 0 when it does not fit.
 */
size_t	proxyproto_format_v2(uint8_t *out, size_t size,
	    const struct sockaddr *src, const struct sockaddr *dst);

#endif
