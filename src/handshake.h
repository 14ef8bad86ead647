/*
 * handshake — the server side of the RFC 6455 §4.2 opening handshake:
 * checks a parsed request against the configuration, picks the route and
 * subprotocol, computes Sec-WebSocket-Accept, and formats the response
 * (101 or an HTTP error with its reason).  Pure.
 */
#ifndef WSGATE_HANDSHAKE_H
#define WSGATE_HANDSHAKE_H

#include <stddef.h>

#include "config.h"
#include "http.h"

#define HANDSHAKE_ACCEPT_LEN	28	/* base64 of a SHA-1 digest */

struct handshake_result {
	int			 status;	/* 101: go ahead */
	const char		*reason;	/* why, for log and body */
	const char		*extra_header;	/* e.g. "Allow: GET" */
	const struct route	*rt;		/* borrowed from the config */
	const char		*protocol;	/* selected, or NULL */
	char			 accept[HANDSHAKE_ACCEPT_LEN + 1];
};

/* Checks req against cfg; fills in *hr (status 101 when accepted). */
void	handshake_check(const struct http_request *req,
	    const struct config *cfg, struct handshake_result *hr);

/* Fills in *hr for an error found before the check (e.g. by the parser). */
void	handshake_fail(struct handshake_result *hr, int status,
	    const char *reason);

/* base64(SHA-1(key + GUID)) into out (HANDSHAKE_ACCEPT_LEN + 1 bytes). */
void	handshake_accept_key(const char *key, size_t key_len, char *out);

/* True when key is base64 of exactly 16 bytes (RFC 6455 §4.1 item 7). */
bool	handshake_key_valid(const char *key, size_t key_len);

/*
 * Formats the response for *hr into buf; returns its length (truncated
 * to size - 1 if buf is too small; 512 bytes always suffice).
 */
size_t	handshake_format(const struct handshake_result *hr, char *buf,
	    size_t size);

#endif
