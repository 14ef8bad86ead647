/*
 * handshake — RFC 6455 §4.2.1 (reading the client's opening handshake)
 * and §4.2.2 (sending the server's opening handshake).
 *
 * The checks run in the order of the DESIGN.md table, so that the most
 * specific answer wins: version and Host first, then the route (404),
 * the method (405), the Upgrade/Connection tokens (426/400), the
 * WebSocket version (426) and key (400), and the route's Origin policy
 * (403).  Sec-WebSocket-Extensions offers are ignored, which declines
 * them (§9.1): no extension is implemented.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "handshake.h"
#include "route.h"

#define HANDSHAKE_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void
handshake_fail(struct handshake_result *hr, int status, const char *reason)
{
	memset(hr, 0, sizeof(*hr));
	hr->status = status;
	hr->reason = reason;
}

void
handshake_accept_key(const char *key, size_t key_len, char *out)
{
	unsigned char	 buf[128], digest[SHA_DIGEST_LENGTH];
	size_t		 glen = sizeof(HANDSHAKE_GUID) - 1;

	/* Callers pass validated 24-byte keys; cut anything longer. */
	if (key_len > sizeof(buf) - glen)
		key_len = sizeof(buf) - glen;
	memcpy(buf, key, key_len);
	memcpy(buf + key_len, HANDSHAKE_GUID, glen);
	SHA1(buf, key_len + glen, digest);
	EVP_EncodeBlock((unsigned char *)out, digest, sizeof(digest));
}

static bool
handshake_is_base64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool
handshake_key_valid(const char *key, size_t key_len)
{
	size_t	i;

	/* 16 bytes encode to 22 characters and "==" padding. */
	if (key_len != 24 || key[22] != '=' || key[23] != '=')
		return false;
	for (i = 0; i < 22; i++)
		if (!handshake_is_base64(key[i]))
			return false;
	return true;
}

/* Host without its port: "example.com:8080" -> "example.com". */
static size_t
handshake_host_len(const char *host, size_t len)
{
	const char	*p;

	if (len > 0 && host[0] == '[') {
		p = memchr(host, ']', len);
		return p == NULL ? len : (size_t)(p - host) + 1;
	}
	p = memchr(host, ':', len);
	return p == NULL ? len : (size_t)(p - host);
}

/* Rejects repeated fields whose meaning would be ambiguous. */
static const char *
handshake_duplicate(const struct http_request *req)
{
	static const char *const single[] = {
		"Host", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
		"Origin", "Upgrade"
	};
	size_t	i, count;

	for (i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		http_find_header(req, single[i], &count);
		if (count > 1)
			return single[i];
	}
	return NULL;
}

/* Host, route and method: the checks that any HTTP request gets. */
static int
handshake_check_request(const struct http_request *req,
    const struct config *cfg, struct handshake_result *hr)
{
	const struct http_header	*host;
	const char			*q;
	size_t				 path_len;

	if (req->version_minor < 1) {
		handshake_fail(hr, 400, "HTTP/1.1 or later is required");
		return -1;
	}
	if (handshake_duplicate(req) != NULL) {
		handshake_fail(hr, 400, "duplicate header field");
		return -1;
	}
	host = http_find_header(req, "Host", NULL);
	if (host == NULL || host->value_len == 0) {
		handshake_fail(hr, 400, "missing Host header");
		return -1;
	}
	q = memchr(req->target, '?', req->target_len);
	path_len = q == NULL ? req->target_len : (size_t)(q - req->target);
	hr->rt = route_match(cfg, host->value,
	    handshake_host_len(host->value, host->value_len), req->target,
	    path_len, req);
	if (hr->rt == NULL) {
		handshake_fail(hr, 404, "no route for this host and path");
		return -1;
	}
	if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0) {
		handshake_fail(hr, 405, "only GET can open a WebSocket");
		hr->extra_header = "Allow: GET";
		hr->rt = route_match(cfg, host->value,
		    handshake_host_len(host->value, host->value_len),
		    req->target, path_len, req);
		return -1;
	}
	return 0;
}

/* The RFC 6455 §4.2.1 fields. */
static int
handshake_check_upgrade(const struct http_request *req,
    struct handshake_result *hr)
{
	const struct http_header	*h;

	if ((h = http_find_header(req, "Upgrade", NULL)) == NULL) {
		handshake_fail(hr, 426, "this is a WebSocket endpoint");
		hr->extra_header = "Upgrade: websocket";
		return -1;
	}
	if (!http_list_has_token(h->value, h->value_len, "websocket")) {
		handshake_fail(hr, 400, "only websocket can be upgraded to");
		return -1;
	}
	if (!http_header_has_token(req, "Connection", "upgrade")) {
		handshake_fail(hr, 400, "Connection header lacks upgrade");
		return -1;
	}
	h = http_find_header(req, "Sec-WebSocket-Version", NULL);
	if (h == NULL || h->value_len != 2 || memcmp(h->value, "13", 2)) {
		handshake_fail(hr, 426, "Sec-WebSocket-Version must be 13");
		hr->extra_header = "Sec-WebSocket-Version: 13";
		return -1;
	}
	h = http_find_header(req, "Sec-WebSocket-Key", NULL);
	if (h == NULL || !handshake_key_valid(h->value, h->value_len)) {
		handshake_fail(hr, 400, "missing or invalid "
		    "Sec-WebSocket-Key");
		return -1;
	}
	handshake_accept_key(h->value, h->value_len, hr->accept);
	return 0;
}

void
handshake_check(const struct http_request *req, const struct config *cfg,
    struct handshake_result *hr)
{
	const struct http_header	*origin;
	const struct route		*rt;

	memset(hr, 0, sizeof(*hr));
	if (handshake_check_request(req, cfg, hr) == -1)
		return;
	rt = hr->rt;
	if (handshake_check_upgrade(req, hr) == -1) {
		hr->rt = rt;
		return;
	}
	origin = http_find_header(req, "Origin", NULL);
	if (!route_origin_allowed(rt, origin ? origin->value : NULL,
	    origin ? origin->value_len : 0)) {
		handshake_fail(hr, 403, "origin not allowed");
		hr->rt = rt;
		return;
	}
	hr->protocol = route_select_subprotocol(rt, req);
	hr->status = 101;
	hr->reason = "switching protocols";
}

size_t
handshake_format(const struct handshake_result *hr, char *buf, size_t size)
{
	int	n;

	if (hr->status == 101) {
		n = snprintf(buf, size, "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n"
		    "%s%s%s"
		    "\r\n", hr->accept,
		    hr->protocol ? "Sec-WebSocket-Protocol: " : "",
		    hr->protocol ? hr->protocol : "",
		    hr->protocol ? "\r\n" : "");
	} else {
		n = snprintf(buf, size, "HTTP/1.1 %d %s\r\n"
		    "Connection: close\r\n"
		    "Content-Type: text/plain\r\n"
		    "Content-Length: %zu\r\n"
		    "%s%s"
		    "\r\n"
		    "%s\n", hr->status, http_status_text(hr->status),
		    strlen(hr->reason) + 1,
		    hr->extra_header ? hr->extra_header : "",
		    hr->extra_header ? "\r\n" : "", hr->reason);
	}
	if (n < 0)
		return 0;
	return (size_t)n >= size ? size - 1 : (size_t)n;
}
