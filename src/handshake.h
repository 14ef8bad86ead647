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
	const char		*passthrough;	/* 101: a backend's header
						   lines ("N: v\r\n"...) */
	const struct route	*rt;		/* borrowed from the config */
	const char		*protocol;	/* selected, or NULL */
	const char		*host;		/* 421: the Host refused, */
	size_t			 host_len;	/* borrowed from the request */
	char			 accept[HANDSHAKE_ACCEPT_LEN + 1];
};

/*
 * Checks req, received on the listener cl (NULL: no listener policy),
 * against cfg; fills in *hr (status 101 when accepted).
 */
void	handshake_check(const struct http_request *req,
	    const struct config *cfg, const struct config_listen *cl,
	    struct handshake_result *hr);

/* Fills in *hr for an error found before the check (e.g. by the parser). */
void	handshake_fail(struct handshake_result *hr, int status,
	    const char *reason);

/* base64(SHA-1(key + GUID)) into out (HANDSHAKE_ACCEPT_LEN + 1 bytes). */
void	handshake_accept_key(const char *key, size_t key_len, char *out);

/* True when key is base64 of exactly 16 bytes (RFC 6455 §4.1 item 7). */
bool	handshake_key_valid(const char *key, size_t key_len);

/*
 * Formats the response for *hr into buf; returns its length (truncated
 * to size - 1 if buf is too small; 512 bytes plus the length of
 * passthrough always suffice).
 */
size_t	handshake_format(const struct handshake_result *hr, char *buf,
	    size_t size);

/*
 * The client side of the handshake, towards a websocket backend
 * (RFC 6455 §4.1, DESIGN.md "Headers towards WebSocket backends").
 */
struct handshake_upstream {
	const struct http_request *req;		/* the client's request */
	const struct route	*rt;
	const struct backend	*be;
	const char		*client_ip;	/* for X-Forwarded-For */
	bool			 trust_forwarded_for; /* keep the request's
						   X-Forwarded-For, append */
	const char		*scheme;	/* "http" or "https" */
	char			 key[25];	/* wsgate's own key */
};

/* Draws a fresh Sec-WebSocket-Key (24 characters and a NUL) into key. */
void	handshake_client_key(char *key);

/* The same, into up->key. */
void	handshake_upstream_key(struct handshake_upstream *up);

/*
 * Checks a server's answer to a client handshake sent with key (§4.1
 * "the client MUST validate"): status 101, Upgrade: websocket,
 * Connection: upgrade, one right Sec-WebSocket-Accept, no extension
 * (none is offered).  Returns NULL, or what is wrong.
 */
const char *handshake_check_101(const struct http_response *resp,
	    const char *key);

/*
 * wsgate's request to the backend: the client's path (rewritten by
 * strip_prefix and the backend's path) and end-to-end headers, its own
 * key, filtered subprotocol offers and X-Forwarded-* / Forwarded.
 * Returns a string the caller frees, with its length in *len.
 */
char	*handshake_upstream_request(const struct handshake_upstream *up,
	    size_t *len);

/*
 * Checks the backend's 101 (§4.1 "the client MUST validate"): Upgrade,
 * Connection, Sec-WebSocket-Accept for up->key, a subprotocol only from
 * those offered, no extension.  Returns 0 with the selected subprotocol
 * in *proto and *proto_len (NULL, 0: none), or -1 with *errstr.
 */
int	handshake_upstream_check(const struct handshake_upstream *up,
	    const struct http_response *resp, const char **proto,
	    size_t *proto_len, const char **errstr);

/*
 * The backend's header lines that may reach the client ("Name: value\r\n"
 * each): hop-by-hop fields, fields its Connection names, and for a 101
 * the fields wsgate writes itself are left out.  Caller frees.
 */
char	*handshake_upstream_passthrough(const struct http_response *resp,
	    size_t *len);

/*
 * The head of a backend's refusal (any status but 101) as the client gets
 * it: status line, passthrough fields, "Connection: close".  Caller
 * frees.
 */
char	*handshake_upstream_refusal(const struct http_response *resp,
	    size_t *len);

#endif
