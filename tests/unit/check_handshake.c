/*
 * check_handshake — unit tests of the server side of the RFC 6455 §4.2
 * opening handshake: the accept key (§4.2.2 item 5.4), the key check
 * (§4.1 item 7), every row of the DESIGN.md "Handshake responses" table
 * that the handshake module answers, and the response text; then of the
 * client side towards websocket backends (§4.1): wsgate's request, the
 * check of the backend's 101, and what of its answer reaches the client.
 *
 * Requests are parsed with http_parse_request() and checked against a
 * configuration built by config_parse(), as in the daemon.  Every verdict
 * is also formatted, so each vector checks the bytes the client gets.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "handshake.h"
#include "http.h"
#include "check_main.h"

#define HS_TEST_MAX_HEAD	8192
#define HS_NONE			(-1)

/* RFC 6455 §1.3 and §4.2.2: the example key and its accept value. */
#define HS_RFC_KEY		"dGhlIHNhbXBsZSBub25jZQ=="
#define HS_RFC_ACCEPT		"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static const char hs_test_yaml[] =
	"listen:\n"
	"  - address: 127.0.0.1:8080\n"
	"routes:\n"
	"  - match: { path: /echo }\n"				/* 0 */
	"    backend: echo\n"
	"  - match: { host: chat.example, path_exact: /x }\n"	/* 1 */
	"    origins: [\"https://chat.example\"]\n"
	"    backend: echo\n"
	"  - match: { path: /sub }\n"					/* 2 */
	"    subprotocols: [v12.stomp, v11.stomp, v10.stomp]\n"
	"    backend: echo\n"
	"  - match: { subprotocol: mqtt, path: /m }\n"		/* 3 */
	"    backend: echo\n"
	"  - match: { path: /same }\n"				/* 4 */
	"    origins: same\n"
	"    backend: echo\n";

static struct config	*hs_test_cfg;

static void
hs_setup(void)
{
	char	*errors = NULL;

	hs_test_cfg = config_parse("handshake.yaml", hs_test_yaml,
	    sizeof(hs_test_yaml) - 1, &errors);
	ck_assert_msg(hs_test_cfg != NULL, "config: %s",
	    errors != NULL ? errors : "(no errors)");
	ck_assert_uint_eq(hs_test_cfg->nroutes, 5);
}

static void
hs_teardown(void)
{
	config_unref(hs_test_cfg);
	hs_test_cfg = NULL;
}

/*
 * handshake_accept_key().
 */
struct hs_accept_vector {
	const char	*key;
	const char	*accept;
};

static const struct hs_accept_vector hs_accept_vectors[] = {
	{ HS_RFC_KEY, HS_RFC_ACCEPT },
	{ "x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk=" },
	{ "AAAAAAAAAAAAAAAAAAAAAA==", "ICX+Yqv66kxgM0FcWaLWlFLwTAI=" },
};

START_TEST(test_handshake_accept_key)
{
	const struct hs_accept_vector	*v = &hs_accept_vectors[_i];
	char				 out[HANDSHAKE_ACCEPT_LEN + 1];

	memset(out, 'X', sizeof(out));
	handshake_accept_key(v->key, strlen(v->key), out);
	ck_assert_str_eq(out, v->accept);
	ck_assert_uint_eq(strlen(out), HANDSHAKE_ACCEPT_LEN);
}
END_TEST

START_TEST(test_handshake_accept_key_bounded)
{
	static const char	 key[] = HS_RFC_KEY "trailing bytes";
	char			 out[HANDSHAKE_ACCEPT_LEN + 1];

	/* Only key_len bytes are the key. */
	handshake_accept_key(key, 24, out);
	ck_assert_str_eq(out, HS_RFC_ACCEPT);
}
END_TEST

/*
 * handshake_key_valid().
 */
struct hs_key_vector {
	const char	*name;
	const char	*key;
	size_t		 len;		/* 0: strlen(key) */
	bool		 valid;
};

static const struct hs_key_vector hs_key_vectors[] = {
	{ "rfc 6455 example", HS_RFC_KEY, 0, true },
	{ "all zero bytes", "AAAAAAAAAAAAAAAAAAAAAA==", 0, true },
	{ "plus and slash", "+/+/+/+/+/+/+/+/+/+/+w==", 0, true },
	{ "digits", "0123456789abcdefABCDEQ==", 0, true },
	{ "length bounds the key", HS_RFC_KEY "xyz", 24, true },
	{ "23 characters", "dGhlIHNhbXBsZSBub25jZQ=", 0, false },
	{ "25 characters", "dGhlIHNhbXBsZSBub25jZQ===", 0, false },
	{ "22 characters without padding", "dGhlIHNhbXBsZSBub25jZQ", 0,
	    false },
	{ "24 characters without padding", "dGhlIHNhbXBsZSBub25jZQAA", 0,
	    false },
	{ "one padding character", "dGhlIHNhbXBsZSBub25jZQA=", 0, false },
	{ "padding inside", "dGhlIHNhbXBsZSBub25j=Q==", 0, false },
	{ "url-safe minus", "dGhlIHNhbXBsZSBub25jZ-==", 0, false },
	{ "url-safe underscore", "_GhlIHNhbXBsZSBub25jZQ==", 0, false },
	{ "space", "dGhlIHNhbXBs ZSBub25jZQ==", 0, false },
	{ "non-ascii byte", "dGhlIHNhbXBsZSBub25jZ\xc3==", 0, false },
	{ "nul byte", "dGhlIHNhbXBsZSBub25jZ\0==", 24, false },
	{ "base64 of 15 bytes", "AAAAAAAAAAAAAAAAAAAA", 0, false },
	{ "base64 of 17 bytes", "AAAAAAAAAAAAAAAAAAAAAAA=", 0, false },
	{ "base64 of 18 bytes", "AAAAAAAAAAAAAAAAAAAAAAAA", 0, false },
	{ "empty", "", 0, false },
	{ "only padding", "========================", 0, false },
};

START_TEST(test_handshake_key_valid)
{
	const struct hs_key_vector	*v = &hs_key_vectors[_i];
	size_t				 len;

	len = v->len != 0 ? v->len : strlen(v->key);
	ck_assert_msg(handshake_key_valid(v->key, len) == v->valid,
	    "%s: want %s", v->name, v->valid ? "valid" : "invalid");
}
END_TEST

/*
 * handshake_check() and the formatted response: one vector per row of
 * the DESIGN.md table, then the variants each row must tolerate.
 */
struct hs_vector {
	const char	*name;
	const char	*head;		/* a complete request head */
	int		 status;
	const char	*reason;
	const char	*extra_header;	/* or NULL */
	int		 route;		/* index of hr.rt, or HS_NONE */
	const char	*protocol;	/* 101: selected, or NULL */
	const char	*accept;	/* 101: Sec-WebSocket-Accept */
};

#define HS_GET(target)	"GET " target " HTTP/1.1\r\n"
#define HS_HOST		"Host: gw.example\r\n"
#define HS_CHAT		"Host: chat.example\r\n" \
			"Origin: https://chat.example\r\n"
#define HS_UPGRADE	"Upgrade: websocket\r\n"
#define HS_CONNECTION	"Connection: Upgrade\r\n"
#define HS_KEY		"Sec-WebSocket-Key: " HS_RFC_KEY "\r\n"
#define HS_VERSION	"Sec-WebSocket-Version: 13\r\n"
#define HS_WS		HS_UPGRADE HS_CONNECTION HS_KEY HS_VERSION
#define HS_PROTO(s)	"Sec-WebSocket-Protocol: " s "\r\n"
#define HS_END		"\r\n"

#define R_HTTP10	"HTTP/1.1 or later is required"
#define R_DUP		"duplicate header field"
#define R_HOST		"missing Host header"
#define R_404		"no route for this host and path"
#define R_405		"only GET can open a WebSocket"
#define R_426		"this is a WebSocket endpoint"
#define R_UPGRADE	"only websocket can be upgraded to"
#define R_CONNECTION	"Connection header lacks upgrade"
#define R_VERSION	"Sec-WebSocket-Version must be 13"
#define R_KEY		"missing or invalid Sec-WebSocket-Key"
#define R_ORIGIN	"origin not allowed"
#define R_OK		"switching protocols"

#define H_ALLOW		"Allow: GET"
#define H_UPGRADE	"Upgrade: websocket"
#define H_VERSION	"Sec-WebSocket-Version: 13"

static const struct hs_vector hs_table_vectors[] = {
	{ "success",
	  HS_GET("/echo") HS_HOST HS_WS HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "rfc 6455 section 1.2 request",
	  "GET /echo HTTP/1.1\r\n"
	  "Host: server.example.com\r\n"
	  "Upgrade: websocket\r\n"
	  "Connection: Upgrade\r\n"
	  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	  "Origin: http://example.com\r\n"
	  "Sec-WebSocket-Protocol: chat, superchat\r\n"
	  "Sec-WebSocket-Version: 13\r\n"
	  "\r\n",
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "upgrade request with a body",
	  HS_GET("/echo") HS_HOST "Content-Length: 5\r\n" HS_WS HS_END,
	  400, "an upgrade request has no body", NULL, 0, NULL, NULL },
	{ "upgrade request with a chunked body",
	  HS_GET("/echo") HS_HOST "Transfer-Encoding: chunked\r\n" HS_WS
	  HS_END,
	  400, "an upgrade request has no body", NULL, 0, NULL, NULL },
	{ "upgrade request with Content-Length: 0",
	  HS_GET("/echo") HS_HOST "Content-Length: 0\r\n" HS_WS HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "another key",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_VERSION
	  "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" HS_END,
	  101, R_OK, NULL, 0, NULL, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=" },
	/*
	 * The 405 rows drop the matched route (handshake_fail() clears it),
	 * unlike the 426, 400 and 403 rows after the match.
	 */
	{ "method other than GET",
	  "POST /echo HTTP/1.1\r\n" HS_HOST HS_WS HS_END,
	  405, R_405, H_ALLOW, 0, NULL, NULL },
	{ "HEAD is not GET",
	  "HEAD /echo HTTP/1.1\r\n" HS_HOST HS_WS HS_END,
	  405, R_405, H_ALLOW, 0, NULL, NULL },
	{ "methods are case-sensitive",
	  "get /echo HTTP/1.1\r\n" HS_HOST HS_WS HS_END,
	  405, R_405, H_ALLOW, 0, NULL, NULL },
	{ "no route for the path",
	  HS_GET("/nothing") HS_HOST HS_WS HS_END,
	  404, R_404, NULL, HS_NONE, NULL, NULL },
	{ "no route for the host",
	  HS_GET("/x") "Host: other.example\r\n"
	  "Origin: https://chat.example\r\n" HS_WS HS_END,
	  404, R_404, NULL, HS_NONE, NULL, NULL },
	{ "no route beats a wrong method",
	  "POST /nothing HTTP/1.1\r\n" HS_HOST HS_WS HS_END,
	  404, R_404, NULL, HS_NONE, NULL, NULL },
	{ "plain GET",
	  HS_GET("/echo") HS_HOST HS_END,
	  426, R_426, H_UPGRADE, 0, NULL, NULL },
	{ "plain GET with keep-alive",
	  HS_GET("/echo") HS_HOST "Connection: keep-alive\r\n" HS_END,
	  426, R_426, H_UPGRADE, 0, NULL, NULL },
	{ "upgrade to h2c only",
	  HS_GET("/echo") HS_HOST "Upgrade: h2c\r\n"
	  "Connection: Upgrade, HTTP2-Settings\r\n"
	  "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n" HS_END,
	  400, R_UPGRADE, NULL, 0, NULL, NULL },
	{ "upgrade to h2c with websocket fields",
	  HS_GET("/echo") HS_HOST "Upgrade: h2c\r\n" HS_CONNECTION HS_KEY
	  HS_VERSION HS_END,
	  400, R_UPGRADE, NULL, 0, NULL, NULL },
	{ "upgrade token with a version",
	  HS_GET("/echo") HS_HOST "Upgrade: websocket/13\r\n" HS_CONNECTION
	  HS_KEY HS_VERSION HS_END,
	  400, R_UPGRADE, NULL, 0, NULL, NULL },
	{ "connection lacks upgrade",
	  HS_GET("/echo") HS_HOST HS_UPGRADE "Connection: keep-alive\r\n"
	  HS_KEY HS_VERSION HS_END,
	  400, R_CONNECTION, NULL, 0, NULL, NULL },
	{ "no connection field",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_KEY HS_VERSION HS_END,
	  400, R_CONNECTION, NULL, 0, NULL, NULL },
	{ "connection token is not a substring match",
	  HS_GET("/echo") HS_HOST HS_UPGRADE "Connection: upgrade-insecure\r\n"
	  HS_KEY HS_VERSION HS_END,
	  400, R_CONNECTION, NULL, 0, NULL, NULL },
	{ "version missing",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_KEY HS_END,
	  426, R_VERSION, H_VERSION, 0, NULL, NULL },
	{ "version 8",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_KEY
	  "Sec-WebSocket-Version: 8\r\n" HS_END,
	  426, R_VERSION, H_VERSION, 0, NULL, NULL },
	{ "version 13 among others",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_KEY
	  "Sec-WebSocket-Version: 13, 8\r\n" HS_END,
	  426, R_VERSION, H_VERSION, 0, NULL, NULL },
	{ "version 130",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_KEY
	  "Sec-WebSocket-Version: 130\r\n" HS_END,
	  426, R_VERSION, H_VERSION, 0, NULL, NULL },
	{ "key missing",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_VERSION HS_END,
	  400, R_KEY, NULL, 0, NULL, NULL },
	{ "key of 23 characters",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_VERSION
	  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=\r\n" HS_END,
	  400, R_KEY, NULL, 0, NULL, NULL },
	{ "key of 17 bytes",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_VERSION
	  "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n" HS_END,
	  400, R_KEY, NULL, 0, NULL, NULL },
	{ "key with an invalid character",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_VERSION
	  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZ-==\r\n" HS_END,
	  400, R_KEY, NULL, 0, NULL, NULL },
	{ "empty key",
	  HS_GET("/echo") HS_HOST HS_UPGRADE HS_CONNECTION HS_VERSION
	  "Sec-WebSocket-Key:\r\n" HS_END,
	  400, R_KEY, NULL, 0, NULL, NULL },
	{ "http/1.0",
	  "GET /echo HTTP/1.0\r\n" HS_HOST HS_WS HS_END,
	  400, R_HTTP10, NULL, HS_NONE, NULL, NULL },
	{ "host missing",
	  HS_GET("/echo") HS_WS HS_END,
	  400, R_HOST, NULL, HS_NONE, NULL, NULL },
	{ "host empty",
	  HS_GET("/echo") "Host:\r\n" HS_WS HS_END,
	  400, R_HOST, NULL, HS_NONE, NULL, NULL },
	{ "duplicate host",
	  HS_GET("/echo") HS_HOST "Host: other.example\r\n" HS_WS HS_END,
	  400, R_DUP, NULL, HS_NONE, NULL, NULL },
	{ "duplicate host differing in case",
	  HS_GET("/echo") HS_HOST "host: gw.example\r\n" HS_WS HS_END,
	  400, R_DUP, NULL, HS_NONE, NULL, NULL },
	{ "duplicate key",
	  HS_GET("/echo") HS_HOST HS_WS HS_KEY HS_END,
	  400, R_DUP, NULL, HS_NONE, NULL, NULL },
	{ "duplicate version",
	  HS_GET("/echo") HS_HOST HS_WS HS_VERSION HS_END,
	  400, R_DUP, NULL, HS_NONE, NULL, NULL },
	{ "duplicate origin",
	  HS_GET("/x") HS_CHAT "Origin: https://evil.example\r\n" HS_WS
	  HS_END,
	  400, R_DUP, NULL, HS_NONE, NULL, NULL },
	{ "duplicate upgrade",
	  HS_GET("/echo") HS_HOST HS_WS HS_UPGRADE HS_END,
	  400, R_DUP, NULL, HS_NONE, NULL, NULL },
	{ "duplicate content-length of 0",
	  HS_GET("/echo") HS_HOST "Content-Length: 0\r\n"
	  "Content-Length: 0\r\n" HS_WS HS_END,
	  400, R_DUP, NULL, HS_NONE, NULL, NULL },
	{ "content-length 0 then another",
	  HS_GET("/echo") HS_HOST "Content-Length: 0\r\n"
	  "Content-Length: 5\r\n" HS_WS HS_END,
	  400, R_DUP, NULL, HS_NONE, NULL, NULL },
	{ "origin not allowed",
	  HS_GET("/x") "Host: chat.example\r\n"
	  "Origin: https://evil.example\r\n" HS_WS HS_END,
	  403, R_ORIGIN, NULL, 1, NULL, NULL },
	{ "origin missing on a route with origins",
	  HS_GET("/x") "Host: chat.example\r\n" HS_WS HS_END,
	  403, R_ORIGIN, NULL, 1, NULL, NULL },
	{ "origin of another scheme",
	  HS_GET("/x") "Host: chat.example\r\n"
	  "Origin: http://chat.example\r\n" HS_WS HS_END,
	  403, R_ORIGIN, NULL, 1, NULL, NULL },
	{ "origin allowed",
	  HS_GET("/x") HS_CHAT HS_WS HS_END,
	  101, R_OK, NULL, 1, NULL, HS_RFC_ACCEPT },
	{ "origin allowed, other case",
	  HS_GET("/x") "Host: chat.example\r\n"
	  "Origin: HTTPS://Chat.Example\r\n" HS_WS HS_END,
	  101, R_OK, NULL, 1, NULL, HS_RFC_ACCEPT },
	{ "bad key beats a bad origin",
	  HS_GET("/x") "Host: chat.example\r\n"
	  "Origin: https://evil.example\r\n" HS_UPGRADE HS_CONNECTION
	  HS_VERSION "Sec-WebSocket-Key: short\r\n" HS_END,
	  400, R_KEY, NULL, 1, NULL, NULL },
};

static const struct hs_vector hs_variant_vectors[] = {
	{ "connection token list",
	  HS_GET("/echo") HS_HOST HS_UPGRADE
	  "Connection: keep-alive, Upgrade\r\n" HS_KEY HS_VERSION HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "connection token list with empty elements",
	  HS_GET("/echo") HS_HOST HS_UPGRADE
	  "Connection: ,keep-alive ,, upgrade,\r\n" HS_KEY HS_VERSION HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	/*
	 * RFC 9110 §5.3: repeated list fields mean their comma-joined
	 * value, so this Connection does contain "upgrade".
	 */
	{ "connection split over two fields",
	  HS_GET("/echo") HS_HOST HS_UPGRADE "Connection: keep-alive\r\n"
	  "Connection: Upgrade\r\n" HS_KEY HS_VERSION HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "upgrade in mixed case",
	  HS_GET("/echo") HS_HOST "Upgrade: WebSocket\r\n" HS_CONNECTION
	  HS_KEY HS_VERSION HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "upgrade token list with websocket",
	  HS_GET("/echo") HS_HOST "Upgrade: h2c, websocket\r\n" HS_CONNECTION
	  HS_KEY HS_VERSION HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "lower-case field names and values",
	  HS_GET("/echo") "host: gw.example\r\nupgrade: websocket\r\n"
	  "connection: upgrade\r\nsec-websocket-key: " HS_RFC_KEY "\r\n"
	  "sec-websocket-version: 13\r\n" HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "ows around values",
	  HS_GET("/echo") "Host: \tgw.example \r\nUpgrade:websocket\r\n"
	  "Connection:  Upgrade\t\r\nSec-WebSocket-Key:   " HS_RFC_KEY
	  "  \r\nSec-WebSocket-Version:\t13\r\n" HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "http/1.1 minor version above 1",
	  "GET /echo HTTP/1.2\r\n" HS_HOST HS_WS HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "host with port",
	  HS_GET("/x") "Host: chat.example:8443\r\n"
	  "Origin: https://chat.example\r\n" HS_WS HS_END,
	  101, R_OK, NULL, 1, NULL, HS_RFC_ACCEPT },
	{ "host in another case",
	  HS_GET("/x") "Host: CHAT.example\r\n"
	  "Origin: https://chat.example\r\n" HS_WS HS_END,
	  101, R_OK, NULL, 1, NULL, HS_RFC_ACCEPT },
	{ "host as an ipv6 literal with port",
	  HS_GET("/echo") "Host: [::1]:8080\r\n" HS_WS HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "host suffix does not match",
	  HS_GET("/x") "Host: www.chat.example\r\n"
	  "Origin: https://chat.example\r\n" HS_WS HS_END,
	  404, R_404, NULL, HS_NONE, NULL, NULL },
	{ "query is not part of the path",
	  HS_GET("/x?token=abc") HS_CHAT HS_WS HS_END,
	  101, R_OK, NULL, 1, NULL, HS_RFC_ACCEPT },
	{ "path_exact refuses a longer path",
	  HS_GET("/x/y") HS_CHAT HS_WS HS_END,
	  404, R_404, NULL, HS_NONE, NULL, NULL },
	{ "prefix route with a query",
	  HS_GET("/echo/room?x=1") HS_HOST HS_WS HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "subprotocol: single offer",
	  HS_GET("/sub") HS_HOST HS_WS HS_PROTO("v11.stomp") HS_END,
	  101, R_OK, NULL, 2, "v11.stomp", HS_RFC_ACCEPT },
	{ "subprotocol: first offer in the client's order",
	  HS_GET("/sub") HS_HOST HS_WS HS_PROTO("v10.stomp, v12.stomp")
	  HS_END,
	  101, R_OK, NULL, 2, "v10.stomp", HS_RFC_ACCEPT },
	{ "subprotocol: unknown offers skipped",
	  HS_GET("/sub") HS_HOST HS_WS HS_PROTO("chat, v11.stomp, v12.stomp")
	  HS_END,
	  101, R_OK, NULL, 2, "v11.stomp", HS_RFC_ACCEPT },
	{ "subprotocol: offers over two fields",
	  HS_GET("/sub") HS_HOST HS_WS HS_PROTO("chat")
	  HS_PROTO("v12.stomp, v10.stomp") HS_END,
	  101, R_OK, NULL, 2, "v12.stomp", HS_RFC_ACCEPT },
	{ "subprotocol: no match still upgrades",
	  HS_GET("/sub") HS_HOST HS_WS HS_PROTO("chat, superchat") HS_END,
	  101, R_OK, NULL, 2, NULL, HS_RFC_ACCEPT },
	{ "subprotocol: none offered",
	  HS_GET("/sub") HS_HOST HS_WS HS_END,
	  101, R_OK, NULL, 2, NULL, HS_RFC_ACCEPT },
	{ "subprotocol: route without a list",
	  HS_GET("/echo") HS_HOST HS_WS HS_PROTO("v12.stomp") HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	/*
	 * A route picked by its subprotocol condition and without a list
	 * of its own selects that subprotocol.
	 */
	{ "match subprotocol offered",
	  HS_GET("/m") HS_HOST HS_WS HS_PROTO("mqtt") HS_END,
	  101, R_OK, NULL, 3, "mqtt", HS_RFC_ACCEPT },
	{ "match subprotocol offered among others",
	  HS_GET("/m") HS_HOST HS_WS HS_PROTO("mqttv3.1")
	  HS_PROTO("mqtt") HS_END,
	  101, R_OK, NULL, 3, "mqtt", HS_RFC_ACCEPT },
	{ "match subprotocol not offered",
	  HS_GET("/m") HS_HOST HS_WS HS_END,
	  404, R_404, NULL, HS_NONE, NULL, NULL },
	{ "match subprotocol, other offers",
	  HS_GET("/m") HS_HOST HS_WS HS_PROTO("mqttv3.1, wamp") HS_END,
	  404, R_404, NULL, HS_NONE, NULL, NULL },
	/* origins: same: the Origin's host is the Host, ports aside. */
	{ "origins same: same host",
	  HS_GET("/same") HS_HOST "Origin: https://gw.example\r\n" HS_WS
	  HS_END,
	  101, R_OK, NULL, 4, NULL, HS_RFC_ACCEPT },
	{ "origins same: host with a port",
	  HS_GET("/same") "Host: gw.example:8080\r\n"
	  "Origin: http://GW.example\r\n" HS_WS HS_END,
	  101, R_OK, NULL, 4, NULL, HS_RFC_ACCEPT },
	{ "origins same: another host",
	  HS_GET("/same") HS_HOST "Origin: https://evil.example\r\n" HS_WS
	  HS_END,
	  403, R_ORIGIN, NULL, 4, NULL, NULL },
	{ "origins same: no origin",
	  HS_GET("/same") HS_HOST HS_WS HS_END,
	  403, R_ORIGIN, NULL, 4, NULL, NULL },
	{ "origins same: origin without a scheme",
	  HS_GET("/same") HS_HOST "Origin: gw.example\r\n" HS_WS HS_END,
	  403, R_ORIGIN, NULL, 4, NULL, NULL },
	/* RFC 6455 §9.1: an extension not answered is declined. */
	{ "extensions offered",
	  HS_GET("/echo") HS_HOST HS_WS
	  "Sec-WebSocket-Extensions: permessage-deflate; "
	  "client_max_window_bits\r\n" HS_END,
	  101, R_OK, NULL, 0, NULL, HS_RFC_ACCEPT },
	{ "extensions over two fields with a subprotocol",
	  HS_GET("/sub") HS_HOST HS_WS
	  "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	  "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n"
	  HS_PROTO("v12.stomp") HS_END,
	  101, R_OK, NULL, 2, "v12.stomp", HS_RFC_ACCEPT },
};

/* Case-insensitive strstr: the response must not answer an extension. */
static bool
hs_mentions(const char *text, const char *word)
{
	size_t	n = strlen(word);

	for (; *text != '\0'; text++)
		if (strncasecmp(text, word, n) == 0)
			return true;
	return false;
}

/* Checks the bytes handshake_format() makes of an error verdict. */
static void
hs_check_error_text(const struct hs_vector *v, const char *text, size_t len)
{
	char		 line[128], want[64];
	const char	*body, *cl;
	unsigned long	 clen;

	snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", v->status,
	    http_status_text(v->status));
	ck_assert_msg(strncmp(text, line, strlen(line)) == 0,
	    "%s: status line of \"%s\"", v->name, text);
	ck_assert_msg(strcmp(http_status_text(v->status), "Unknown") != 0,
	    "%s: no reason phrase for %d", v->name, v->status);
	body = strstr(text, "\r\n\r\n");
	ck_assert_msg(body != NULL, "%s: no end of head", v->name);
	body += 4;
	ck_assert_msg(strstr(text, "\r\nConnection: close\r\n") != NULL &&
	    strstr(text, "\r\nConnection: close\r\n") < body,
	    "%s: no Connection: close in \"%s\"", v->name, text);
	ck_assert_msg(strstr(text, "\r\nContent-Type: text/plain\r\n") !=
	    NULL, "%s: no text/plain in \"%s\"", v->name, text);
	cl = strstr(text, "\r\nContent-Length: ");
	ck_assert_msg(cl != NULL && cl < body, "%s: no Content-Length",
	    v->name);
	clen = strtoul(cl + 18, NULL, 10);
	ck_assert_msg(clen == (size_t)(text + len - body),
	    "%s: Content-Length %lu, body of %zu bytes", v->name, clen,
	    (size_t)(text + len - body));
	snprintf(want, sizeof(want), "%s\n", v->reason);
	ck_assert_msg(strcmp(body, want) == 0, "%s: body \"%s\"", v->name,
	    body);
	if (v->extra_header != NULL) {
		snprintf(line, sizeof(line), "\r\n%s\r\n", v->extra_header);
		ck_assert_msg(strstr(text, line) != NULL &&
		    strstr(text, line) < body, "%s: no \"%s\" in \"%s\"",
		    v->name, v->extra_header, text);
	}
	ck_assert_msg(!hs_mentions(text, "Sec-WebSocket-Accept"),
	    "%s: error response with an accept key", v->name);
}

/* Checks the bytes handshake_format() makes of a 101. */
static void
hs_check_101_text(const struct hs_vector *v, const char *text)
{
	char	want[512];

	snprintf(want, sizeof(want), "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "%s%s%s"
	    "\r\n", v->accept,
	    v->protocol != NULL ? "Sec-WebSocket-Protocol: " : "",
	    v->protocol != NULL ? v->protocol : "",
	    v->protocol != NULL ? "\r\n" : "");
	ck_assert_msg(strcmp(text, want) == 0, "%s: got\n%s\nwant\n%s",
	    v->name, text, want);
	ck_assert_msg(!hs_mentions(text, "Extensions"),
	    "%s: 101 answers an extension", v->name);
}

static void
hs_run(const struct hs_vector *v)
{
	struct handshake_result	 hr;
	struct http_request	 req;
	const char		*errstr = NULL;
	char			 text[512];
	size_t			 len;
	int			 status = 0, route;

	ck_assert_msg(http_parse_request(v->head, strlen(v->head),
	    HS_TEST_MAX_HEAD, &req, &status, &errstr) == HTTP_PARSE_OK,
	    "%s: parse: %d %s", v->name, status, errstr != NULL ? errstr : "");
	ck_assert_uint_eq(req.head_len, strlen(v->head));

	memset(&hr, 0xa5, sizeof(hr));
	handshake_check(&req, hs_test_cfg, NULL, &hr);
	ck_assert_msg(hr.status == v->status, "%s: status %d (%s), want %d",
	    v->name, hr.status, hr.reason != NULL ? hr.reason : "", v->status);
	ck_assert_msg(hr.reason != NULL && strcmp(hr.reason, v->reason) == 0,
	    "%s: reason \"%s\", want \"%s\"", v->name,
	    hr.reason != NULL ? hr.reason : "(null)", v->reason);
	if (v->extra_header == NULL)
		ck_assert_msg(hr.extra_header == NULL,
		    "%s: extra header \"%s\"", v->name, hr.extra_header);
	else
		ck_assert_msg(hr.extra_header != NULL &&
		    strcmp(hr.extra_header, v->extra_header) == 0,
		    "%s: extra header \"%s\", want \"%s\"", v->name,
		    hr.extra_header != NULL ? hr.extra_header : "(null)",
		    v->extra_header);
	route = hr.rt == NULL ? HS_NONE : (int)(hr.rt - hs_test_cfg->routes);
	ck_assert_msg(route == v->route, "%s: route %d, want %d", v->name,
	    route, v->route);

	len = handshake_format(&hr, text, sizeof(text));
	ck_assert_msg(len > 0 && len < sizeof(text) - 1,
	    "%s: %zu bytes formatted", v->name, len);
	ck_assert_uint_eq(strlen(text), len);

	if (v->status != 101) {
		hs_check_error_text(v, text, len);
		return;
	}
	if (v->protocol == NULL)
		ck_assert_msg(hr.protocol == NULL, "%s: protocol \"%s\"",
		    v->name, hr.protocol);
	else
		ck_assert_msg(hr.protocol != NULL &&
		    strcmp(hr.protocol, v->protocol) == 0,
		    "%s: protocol \"%s\", want \"%s\"", v->name,
		    hr.protocol != NULL ? hr.protocol : "(null)", v->protocol);
	ck_assert_msg(strcmp(hr.accept, v->accept) == 0,
	    "%s: accept \"%s\", want \"%s\"", v->name, hr.accept, v->accept);
	hs_check_101_text(v, text);
}

/*
 * listen[].allowed_hosts: a Host the listener does not serve gets 421
 * (RFC 9110 §15.5.20) before any route is looked for, so before 404 and
 * 405; HTTP/1.0 and a missing or invalid Host stay 400.
 */
struct hs_hosts_vector {
	const char	*head;
	int		 status;
	const char	*host;		/* 421: hr.host, without the port */
};

#define HS_WS_HOST(h)	"Host: " h "\r\n" HS_WS HS_END
#define R_421		"host not served on this listener"

static const struct hs_hosts_vector hs_hosts_vectors[] = {
	{ HS_GET("/echo") HS_WS_HOST("gw.example"), 101, NULL },
	{ HS_GET("/echo") HS_WS_HOST("GW.Example:8443"), 101, NULL },
	{ HS_GET("/echo") HS_WS_HOST("a.apps.example"), 101, NULL },
	{ HS_GET("/echo") HS_WS_HOST("[::1]:8080"), 101, NULL },
	{ HS_GET("/echo") HS_WS_HOST("evil.example"), 421, "evil.example" },
	{ HS_GET("/echo") HS_WS_HOST("evil.example:8080"), 421,
	    "evil.example" },
	{ HS_GET("/echo") HS_WS_HOST("a.b.apps.example"), 421,
	    "a.b.apps.example" },
	{ HS_GET("/echo") HS_WS_HOST("[::2]:80"), 421, "[::2]" },
	{ HS_GET("/nowhere") HS_WS_HOST("evil.example"), 421,
	    "evil.example" },
	{ "POST /echo HTTP/1.1\r\n" HS_WS_HOST("evil.example"), 421,
	    "evil.example" },
	{ "GET /echo HTTP/1.0\r\n" HS_WS_HOST("evil.example"), 400, NULL },
	{ HS_GET("/echo") HS_WS HS_END, 400, NULL },
	{ HS_GET("/echo") HS_WS_HOST("evil\"example"), 400, NULL },
};

START_TEST(test_handshake_allowed_hosts)
{
	const struct hs_hosts_vector	*v = &hs_hosts_vectors[_i];
	char				*allowed[] = {
		"gw.example", "*.apps.example", "[::1]"
	};
	struct config_listen		 cl;
	struct handshake_result		 hr;
	struct http_request		 req;
	const char			*errstr = NULL;
	char				 text[512];
	int				 status = 0;

	memset(&cl, 0, sizeof(cl));
	cl.address = "127.0.0.1:8080";
	cl.allowed_hosts = allowed;
	cl.nallowed_hosts = sizeof(allowed) / sizeof(allowed[0]);
	ck_assert_int_eq(http_parse_request(v->head, strlen(v->head),
	    HS_TEST_MAX_HEAD, &req, &status, &errstr), HTTP_PARSE_OK);
	handshake_check(&req, hs_test_cfg, &cl, &hr);
	ck_assert_msg(hr.status == v->status, "%s: status %d (%s), want %d",
	    v->head, hr.status, hr.reason, v->status);
	if (v->status != 421) {
		ck_assert_ptr_null(hr.host);
		return;
	}
	ck_assert_str_eq(hr.reason, R_421);
	ck_assert_ptr_null(hr.rt);
	ck_assert_msg(hr.host != NULL && hr.host_len == strlen(v->host) &&
	    memcmp(hr.host, v->host, hr.host_len) == 0, "%s: host \"%.*s\"",
	    v->head, (int)hr.host_len, hr.host != NULL ? hr.host : "");
	handshake_format(&hr, text, sizeof(text));
	ck_assert_str_eq(text, "HTTP/1.1 421 Misdirected Request\r\n"
	    "Connection: close\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 33\r\n"
	    "\r\n"
	    R_421 "\n");
}
END_TEST

START_TEST(test_handshake_check_table)
{
	hs_run(&hs_table_vectors[_i]);
}
END_TEST

START_TEST(test_handshake_check_variants)
{
	hs_run(&hs_variant_vectors[_i]);
}
END_TEST

/*
 * handshake_format() and handshake_fail(), on results built by hand.
 */
/* The 101: the protocol and passthrough lines only when there are some. */
struct hs_format_vector {
	const char	*name;
	const char	*protocol;
	const char	*passthrough;
	const char	*want;
};

#define HS_101_HEAD	"HTTP/1.1 101 Switching Protocols\r\n" \
			"Upgrade: websocket\r\n" \
			"Connection: Upgrade\r\n" \
			"Sec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n"

static const struct hs_format_vector hs_format_101_vectors[] = {
	{ "bare", NULL, NULL, HS_101_HEAD "\r\n" },
	{ "protocol", "chat", NULL,
	  HS_101_HEAD "Sec-WebSocket-Protocol: chat\r\n\r\n" },
	{ "protocol and passthrough", "v12.stomp",
	  "Set-Cookie: sid=1\r\nServer: backend/1.0\r\n",
	  HS_101_HEAD "Sec-WebSocket-Protocol: v12.stomp\r\n"
	  "Set-Cookie: sid=1\r\nServer: backend/1.0\r\n\r\n" },
	{ "passthrough without protocol", NULL, "Set-Cookie: sid=1\r\n",
	  HS_101_HEAD "Set-Cookie: sid=1\r\n\r\n" },
	/* An empty passthrough is no passthrough. */
	{ "empty passthrough", NULL, "", HS_101_HEAD "\r\n" },
};

START_TEST(test_handshake_format_101)
{
	const struct hs_format_vector	*v = &hs_format_101_vectors[_i];
	struct handshake_result		 hr;
	char				 buf[512];

	memset(&hr, 0, sizeof(hr));
	hr.status = 101;
	hr.reason = R_OK;
	hr.protocol = v->protocol;
	hr.passthrough = v->passthrough;
	memcpy(hr.accept, HS_RFC_ACCEPT, sizeof(HS_RFC_ACCEPT));
	ck_assert_msg(handshake_format(&hr, buf, sizeof(buf)) ==
	    strlen(v->want), "%s: length", v->name);
	ck_assert_msg(strcmp(buf, v->want) == 0, "%s: got\n%s", v->name, buf);
}
END_TEST

START_TEST(test_handshake_format_error)
{
	static const char	 want[] = "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Connection: close\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 30\r\n"
	    "Allow: GET\r\n"
	    "\r\n"
	    "only GET can open a WebSocket\n";
	struct handshake_result	 hr;
	char			 buf[512];

	handshake_fail(&hr, 405, R_405);
	hr.extra_header = H_ALLOW;
	ck_assert_uint_eq(handshake_format(&hr, buf, sizeof(buf)),
	    sizeof(want) - 1);
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_handshake_format_error_without_extra)
{
	static const char	 want[] = "HTTP/1.1 431 "
	    "Request Header Fields Too Large\r\n"
	    "Connection: close\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 23\r\n"
	    "\r\n"
	    "request head too large\n";
	struct handshake_result	 hr;
	char			 buf[512];

	/* A parser error, answered before any check (DESIGN.md: 431). */
	handshake_fail(&hr, 431, "request head too large");
	ck_assert_int_eq(hr.status, 431);
	ck_assert_ptr_null(hr.extra_header);
	ck_assert_ptr_null(hr.rt);
	ck_assert_ptr_null(hr.protocol);
	ck_assert_uint_eq(handshake_format(&hr, buf, sizeof(buf)),
	    sizeof(want) - 1);
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_handshake_format_truncated)
{
	struct handshake_result	 hr;
	char			 full[512], buf[16];

	handshake_fail(&hr, 404, R_404);
	ck_assert_uint_gt(handshake_format(&hr, full, sizeof(full)),
	    sizeof(buf));
	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(handshake_format(&hr, buf, sizeof(buf)),
	    sizeof(buf) - 1);
	ck_assert_uint_eq(strlen(buf), sizeof(buf) - 1);
	ck_assert(strncmp(buf, full, sizeof(buf) - 1) == 0);
}
END_TEST

/*
 * The client side of the handshake, towards websocket backends (RFC 6455
 * §4.1, DESIGN.md "Headers towards WebSocket backends").  Requests are
 * accepted by handshake_check() first, so each one reaches the route it
 * would reach in the daemon.
 */
static const char hs_up_yaml[] =
	"listen:\n"
	"  - address: 127.0.0.1:8080\n"
	"backends:\n"
	"  plain: { type: websocket, servers: [\"127.0.0.1:9001\"] }\n"
	"  app:\n"
	"    type: websocket\n"
	"    servers: [\"127.0.0.1:9002\"]\n"
	"    host: app.internal\n"
	"    path: /app\n"
	"  appslash:\n"
	"    type: websocket\n"
	"    servers: [\"127.0.0.1:9003\"]\n"
	"    host: app.internal:8081\n"
	"    path: /app/\n"
	"routes:\n"
	"  - match: { path: /stomp }\n"				/* 0 */
	"    strip_prefix: true\n"
	"    subprotocols: [v12.stomp, v11.stomp, v10.stomp]\n"
	"    backend: plain\n"
	"  - match: { path: /slash/ }\n"				/* 1 */
	"    strip_prefix: true\n"
	"    backend: plain\n"
	"  - match: { path: /s2 }\n"					/* 2 */
	"    strip_prefix: true\n"
	"    backend: app\n"
	"  - match: { path: /s3/ }\n"					/* 3 */
	"    strip_prefix: true\n"
	"    backend: appslash\n"
	"  - match: { path: /s4 }\n"					/* 4 */
	"    strip_prefix: true\n"
	"    backend: appslash\n"
	"  - match: { path: /p }\n"					/* 5 */
	"    backend: app\n"
	"  - match: { path: /q }\n"					/* 6 */
	"    backend: appslash\n"
	"  - match: { path_exact: /exact }\n"				/* 7 */
	"    strip_prefix: true\n"
	"    backend: plain\n"
	"  - match: { path: /keep }\n"				/* 8 */
	"    strip_prefix: false\n"
	"    backend: plain\n"
	"  - match: { path: / }\n"					/* 9 */
	"    backend: plain\n";

#define HS_UP_ROUTES		10
#define HS_UP_STOMP		0
#define HS_UP_ANY		9

/* The client's key, and wsgate's own (fixed here, drawn in the daemon). */
#define HS_CLIENT_KEY		"x3JJHMbDL1EzLkh9GBhXDw=="
#define HS_CLIENT_ACCEPT	"HSmrc0sMlYUkAGmm5OPpG2HaGWk="

static struct config	*hs_up_cfg;

static void
hs_up_setup(void)
{
	char	*errors = NULL;

	hs_up_cfg = config_parse("upstream.yaml", hs_up_yaml,
	    sizeof(hs_up_yaml) - 1, &errors);
	ck_assert_msg(hs_up_cfg != NULL, "config: %s",
	    errors != NULL ? errors : "(no errors)");
	ck_assert_uint_eq(hs_up_cfg->nroutes, HS_UP_ROUTES);
}

static void
hs_up_teardown(void)
{
	config_unref(hs_up_cfg);
	hs_up_cfg = NULL;
}

/* A client's request as the daemon holds it: bytes, parse, verdict. */
struct hs_up_client {
	char			 buf[2048];
	struct http_request	 req;
	struct handshake_result	 hr;
};

/*
 * Writes a request for target with the Connection value and extra field
 * lines (each ending in CRLF) into c->buf.
 */
static const char *
hs_up_head(struct hs_up_client *c, const char *target,
    const char *connection, const char *extra)
{
	int	n;

	n = snprintf(c->buf, sizeof(c->buf), "GET %s HTTP/1.1\r\n"
	    "Host: gw.example\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: %s\r\n"
	    "Sec-WebSocket-Key: " HS_CLIENT_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "%s"
	    "\r\n", target, connection, extra);
	ck_assert(n > 0 && (size_t)n < sizeof(c->buf));
	return c->buf;
}

/*
 * Parses head, which handshake_check() must accept on the given route,
 * and fills in *up for it with wsgate's key HS_RFC_KEY.
 */
static void
hs_up_prepare(struct hs_up_client *c, const char *head, int route,
    const char *client_ip, const char *scheme, struct handshake_upstream *up)
{
	const char	*errstr = NULL;
	int		 status = 0;

	if (head != c->buf) {
		ck_assert_uint_lt(strlen(head), sizeof(c->buf));
		memcpy(c->buf, head, strlen(head) + 1);
	}
	ck_assert_msg(http_parse_request(c->buf, strlen(c->buf),
	    HS_TEST_MAX_HEAD, &c->req, &status, &errstr) == HTTP_PARSE_OK,
	    "parse: %d %s", status, errstr != NULL ? errstr : "");
	handshake_check(&c->req, hs_up_cfg, NULL, &c->hr);
	ck_assert_msg(c->hr.status == 101, "%s: %d %s", c->buf,
	    c->hr.status, c->hr.reason);
	ck_assert_msg(c->hr.rt == &hs_up_cfg->routes[route],
	    "%s: route %d, want %d", c->buf,
	    (int)(c->hr.rt - hs_up_cfg->routes), route);
	memset(up, 0, sizeof(*up));
	up->req = &c->req;
	up->rt = c->hr.rt;
	up->be = c->hr.rt->be;
	up->client_ip = client_ip;
	up->scheme = scheme;
	memcpy(up->key, HS_RFC_KEY, sizeof(HS_RFC_KEY));
}

/*
 * handshake_upstream_request() into text: the string is freed before any
 * assertion, so that a failing test leaks nothing under CK_FORK=no.
 */
static void
hs_up_request_text(const struct handshake_upstream *up, char *text,
    size_t size)
{
	char	*out;
	size_t	 len = 0, slen;

	out = handshake_upstream_request(up, &len);
	ck_assert_ptr_nonnull(out);
	slen = strlen(out);
	snprintf(text, size, "%s", out);
	free(out);
	ck_assert_uint_eq(slen, len);
	ck_assert_uint_lt(len, size);
}

/* Compares two heads line by line, naming the first line that differs. */
static void
hs_check_lines(const char *name, const char *got, const char *want)
{
	const char	*g = got, *w = want, *gend, *wend;
	size_t		 line;

	for (line = 1;; line++) {
		gend = strstr(g, "\r\n");
		wend = strstr(w, "\r\n");
		if (gend == NULL || wend == NULL)
			break;
		ck_assert_msg(gend - g == wend - w &&
		    memcmp(g, w, (size_t)(gend - g)) == 0,
		    "%s: line %zu: got \"%.*s\", want \"%.*s\"\n--- got\n%s"
		    "--- want\n%s", name, line, (int)(gend - g), g,
		    (int)(wend - w), w, got, want);
		g = gend + 2;
		w = wend + 2;
	}
	ck_assert_msg(strcmp(g, w) == 0, "%s: line %zu: got \"%s\", want "
	    "\"%s\"\n--- got\n%s--- want\n%s", name, line, g, w, got, want);
}

/* True when text has the field line "line" (without its CRLF). */
static bool
hs_has_line(const char *text, const char *line)
{
	const char	*p;
	size_t		 n = strlen(line);

	for (p = strstr(text, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
		if (strncmp(p + 2, line, n) == 0 &&
		    strncmp(p + 2 + n, "\r\n", 2) == 0)
			return true;
	return false;
}

/* The number of field lines named name (case-insensitive). */
static size_t
hs_count_fields(const char *text, const char *name)
{
	const char	*p;
	size_t		 count = 0, n = strlen(name);

	for (p = strstr(text, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
			count++;
	return count;
}

/* Fields every request to a backend has exactly once. */
static void
hs_check_request_fields(const char *name, const char *text)
{
	static const char *const once[] = {
		"Host", "Upgrade", "Connection", "Sec-WebSocket-Key",
		"Sec-WebSocket-Version", "X-Forwarded-For",
		"X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"
	};
	size_t	i;

	for (i = 0; i < sizeof(once) / sizeof(once[0]); i++)
		ck_assert_msg(hs_count_fields(text, once[i]) == 1,
		    "%s: %zu %s fields in\n%s", name,
		    hs_count_fields(text, once[i]), once[i], text);
	ck_assert_msg(hs_count_fields(text, "Sec-WebSocket-Protocol") <= 1,
	    "%s: several Sec-WebSocket-Protocol fields", name);
	ck_assert_msg(strncmp(text, "GET /", 5) == 0, "%s: request line of "
	    "\"%s\"", name, text);
	ck_assert_msg(strstr(text, "\r\n\r\n") == text + strlen(text) - 4,
	    "%s: the head does not end with the empty line", name);
}

/*
 * handshake_upstream_key().
 */
START_TEST(test_handshake_upstream_key)
{
	struct handshake_upstream	 up;
	char				 keys[64][25];
	size_t				 i, j;

	for (i = 0; i < 64; i++) {
		memset(&up, 'X', sizeof(up));
		handshake_upstream_key(&up);
		ck_assert_uint_eq(strlen(up.key), 24);
		/* RFC 6455 §4.1 item 7: base64 of 16 random bytes. */
		ck_assert_msg(handshake_key_valid(up.key, 24), "key \"%s\"",
		    up.key);
		memcpy(keys[i], up.key, sizeof(up.key));
		for (j = 0; j < i; j++)
			ck_assert_msg(strcmp(keys[i], keys[j]) != 0,
			    "key %zu repeats key %zu: %s", i, j, keys[i]);
	}
}
END_TEST

START_TEST(test_handshake_upstream_key_sent)
{
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 text[2048], line[64];

	hs_up_prepare(&c, hs_up_head(&c, "/any", "Upgrade", ""), HS_UP_ANY,
	    "192.0.2.7", "http", &up);
	handshake_upstream_key(&up);
	ck_assert_str_ne(up.key, HS_CLIENT_KEY);
	hs_up_request_text(&up, text, sizeof(text));
	snprintf(line, sizeof(line), "Sec-WebSocket-Key: %s", up.key);
	ck_assert_msg(hs_has_line(text, line), "no \"%s\" in\n%s", line,
	    text);
	/* The client's key never reaches the backend. */
	ck_assert_ptr_null(strstr(text, HS_CLIENT_KEY));
	hs_check_request_fields("key sent", text);
}
END_TEST

/*
 * handshake_upstream_request(): the whole head, line by line.
 */
START_TEST(test_handshake_upstream_request)
{
	static const char	 head[] =
	    "GET /stomp/room?id=7&t=a%20b HTTP/1.1\r\n"
	    "Host: gw.example:8443\r\n"
	    "User-Agent: test/1.0\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade, X-Secret\r\n"
	    "Sec-WebSocket-Key: " HS_CLIENT_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	    "Sec-WebSocket-Protocol: chat, v11.stomp\r\n"
	    "Origin: https://gw.example\r\n"
	    "Cookie: a=1; b=2\r\n"
	    "Authorization: Bearer abc\r\n"
	    "X-Custom: yes\r\n"
	    "X-Secret: hide\r\n"
	    "Keep-Alive: timeout=5\r\n"
	    "TE: trailers\r\n"
	    "Trailer: X-Checksum\r\n"
	    "Proxy-Authorization: Basic eHl6\r\n"
	    "Proxy-Connection: keep-alive\r\n"
	    "Content-Length: 0\r\n"
	    "X-Forwarded-For: 198.51.100.66\r\n"
	    "X-Forwarded-Proto: https\r\n"
	    "X-Forwarded-Host: evil.example\r\n"
	    "Forwarded: for=198.51.100.66;proto=https\r\n"
	    "Sec-WebSocket-Protocol: v10.stomp\r\n"
	    "Accept-Language: fr\r\n"
	    "\r\n";
	static const char	 want[] =
	    "GET /room?id=7&t=a%20b HTTP/1.1\r\n"
	    "Host: gw.example:8443\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " HS_RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: v11.stomp, v10.stomp\r\n"
	    "User-Agent: test/1.0\r\n"
	    "Origin: https://gw.example\r\n"
	    "Cookie: a=1; b=2\r\n"
	    "Authorization: Bearer abc\r\n"
	    "X-Custom: yes\r\n"
	    "Accept-Language: fr\r\n"
	    "X-Forwarded-For: 192.0.2.7\r\n"
	    "X-Forwarded-Proto: https\r\n"
	    "X-Forwarded-Host: gw.example:8443\r\n"
	    "Forwarded: for=192.0.2.7;host=\"gw.example:8443\";proto=https\r\n"
	    "\r\n";
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 text[2048];

	hs_up_prepare(&c, head, HS_UP_STOMP, "192.0.2.7", "https", &up);
	hs_up_request_text(&up, text, sizeof(text));
	hs_check_lines("full request", text, want);
	hs_check_request_fields("full request", text);
}
END_TEST

/*
 * From a trusted HTTP proxy (trust_forwarded_for) every X-Forwarded-For
 * of the request is kept, in order, and the client (the proxy) appended;
 * from anyone else they are replaced.  The other forwarding fields are
 * always wsgate's own.
 */
START_TEST(test_handshake_upstream_forwarded_for_trust)
{
	static const char	 fields[] =
	    "X-Forwarded-For: 198.51.100.1, 198.51.100.2\r\n"
	    "X-Forwarded-Proto: https\r\n"
	    "X-Forwarded-For: 198.51.100.3\r\n"
	    "X-Forwarded-For: \r\n";
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 text[2048];

	hs_up_prepare(&c, hs_up_head(&c, "/any", "Upgrade", fields),
	    HS_UP_ANY, "192.0.2.7", "http", &up);
	up.trust_forwarded_for = true;
	hs_up_request_text(&up, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "\r\nX-Forwarded-For: 198.51.100.1, "
	    "198.51.100.2, 198.51.100.3, 192.0.2.7\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\nX-Forwarded-Proto: http\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "Forwarded: for=192.0.2.7;"));
	hs_check_request_fields("trusted", text);

	up.trust_forwarded_for = false;
	hs_up_request_text(&up, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text,
	    "\r\nX-Forwarded-For: 192.0.2.7\r\n"));
	ck_assert_ptr_null(strstr(text, "198.51.100"));
}
END_TEST

START_TEST(test_handshake_upstream_request_minimal)
{
	static const char	 want[] =
	    "GET /chat HTTP/1.1\r\n"
	    "Host: gw.example\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " HS_RFC_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "X-Forwarded-For: 192.0.2.7\r\n"
	    "X-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: gw.example\r\n"
	    "Forwarded: for=192.0.2.7;host=\"gw.example\";proto=http\r\n"
	    "\r\n";
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 text[2048];

	hs_up_prepare(&c, hs_up_head(&c, "/chat", "Upgrade", ""), HS_UP_ANY,
	    "192.0.2.7", "http", &up);
	hs_up_request_text(&up, text, sizeof(text));
	hs_check_lines("minimal request", text, want);
}
END_TEST

/*
 * The request target: strip_prefix takes the matched prefix off (a slash
 * it ends with stays as the new root), then the backend's path goes in
 * front; the query is kept and nothing is decoded.
 */
struct hs_up_path_vector {
	const char	*name;
	int		 route;
	const char	*target;	/* the client's */
	const char	*want;		/* the backend's */
};

static const struct hs_up_path_vector hs_up_path_vectors[] = {
	/* strip_prefix of "/stomp", no backend path. */
	{ "prefix and more", 0, "/stomp/x/y", "/x/y" },
	{ "prefix and a query", 0, "/stomp/room?id=7", "/room?id=7" },
	{ "only the prefix", 0, "/stomp", "/" },
	{ "only the prefix and a slash", 0, "/stomp/", "/" },
	{ "only the prefix and a query", 0, "/stomp?a=1&b=2", "/?a=1&b=2" },
	{ "a plain string prefix", 0, "/stompx", "/x" },
	{ "a second slash is kept", 0, "/stomp//x", "//x" },
	{ "nothing is decoded", 0, "/stomp/%2e%2e/a%20b?q=%41",
	    "/%2e%2e/a%20b?q=%41" },
	/* strip_prefix of "/slash/": its slash stays. */
	{ "slash prefix", 1, "/slash/", "/" },
	{ "slash prefix and more", 1, "/slash/x", "/x" },
	{ "slash prefix and a query", 1, "/slash/?q=1", "/?q=1" },
	{ "slash prefix, more and a query", 1, "/slash/x/?q", "/x/?q" },
	/* strip_prefix of "/s2", backend path "/app". */
	{ "stripped, backend path", 2, "/s2/x", "/app/x" },
	{ "stripped, backend path, query", 2, "/s2/x?q=1", "/app/x?q=1" },
	{ "stripped to a slash, backend path", 2, "/s2/", "/app/" },
	/*
	 * Nothing left: the backend's path as written (conf/wsgate.yaml:
	 * "/stomp?x reaches the backend as /ws?x").
	 */
	{ "stripped to nothing, backend path", 2, "/s2", "/app" },
	{ "stripped to a query, backend path", 2, "/s2?q=1", "/app?q=1" },
	/* strip_prefix of "/s3/", backend path "/app/": one slash. */
	{ "slash prefix, slash backend path", 3, "/s3/x", "/app/x" },
	{ "slash prefix only, slash backend path", 3, "/s3/", "/app/" },
	{ "slash prefix and a query, slash backend path", 3, "/s3/?q=1",
	    "/app/?q=1" },
	/* strip_prefix of "/s4", backend path "/app/": never "//". */
	{ "stripped, slash backend path", 4, "/s4/x", "/app/x" },
	{ "stripped to a slash, slash backend path", 4, "/s4/", "/app/" },
	{ "stripped to nothing, slash backend path", 4, "/s4", "/app/" },
	{ "stripped to a query, slash backend path", 4, "/s4?q=1",
	    "/app/?q=1" },
	/* No strip_prefix: the backend's path before the whole path. */
	{ "backend path", 5, "/p", "/app/p" },
	{ "backend path and a query", 5, "/p/x?q=1", "/app/p/x?q=1" },
	{ "slash backend path", 6, "/q", "/app/q" },
	{ "slash backend path and a query", 6, "/q/x?y", "/app/q/x?y" },
	/* path_exact with strip_prefix. */
	{ "exact path stripped", 7, "/exact", "/" },
	{ "exact path stripped, query kept", 7, "/exact?t=1", "/?t=1" },
	/* strip_prefix: false, and no backend path: as received. */
	{ "strip_prefix false", 8, "/keep/x?y=1", "/keep/x?y=1" },
	{ "no strip_prefix", 9, "/", "/" },
	{ "no strip_prefix, a query", 9, "/any/where?x=1&x=2",
	    "/any/where?x=1&x=2" },
};

START_TEST(test_handshake_upstream_path)
{
	const struct hs_up_path_vector	*v = &hs_up_path_vectors[_i];
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 text[2048], line[256];

	hs_up_prepare(&c, hs_up_head(&c, v->target, "Upgrade", ""), v->route,
	    "192.0.2.7", "http", &up);
	hs_up_request_text(&up, text, sizeof(text));
	snprintf(line, sizeof(line), "GET %s HTTP/1.1\r\n", v->want);
	ck_assert_msg(strncmp(text, line, strlen(line)) == 0,
	    "%s: %s: got \"%.*s\", want \"%.*s\"", v->name, v->target,
	    (int)strcspn(text, "\r"), text, (int)strcspn(line, "\r"), line);
	hs_check_request_fields(v->name, text);
}
END_TEST

/*
 * Host: the client's, or the backend's host: key; X-Forwarded-Host and
 * Forwarded always name the client's.
 */
struct hs_up_host_vector {
	const char	*name;
	const char	*target;	/* picks the route, hence the backend */
	int		 route;
	const char	*host;		/* the client's Host */
	const char	*want;		/* Host towards the backend */
};

static const struct hs_up_host_vector hs_up_host_vectors[] = {
	{ "client's host", "/any", 9, "gw.example", "gw.example" },
	{ "client's host with a port", "/any", 9, "gw.example:8443",
	    "gw.example:8443" },
	{ "client's ipv6 host", "/any", 9, "[::1]:8080", "[::1]:8080" },
	{ "backend host", "/p", 5, "gw.example", "app.internal" },
	{ "backend host with a port", "/q", 6, "gw.example:8443",
	    "app.internal:8081" },
};

START_TEST(test_handshake_upstream_host)
{
	const struct hs_up_host_vector	*v = &hs_up_host_vectors[_i];
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 head[512], text[2048], line[256];

	snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " HS_CLIENT_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", v->target, v->host);
	hs_up_prepare(&c, head, v->route, "192.0.2.7", "http", &up);
	hs_up_request_text(&up, text, sizeof(text));
	hs_check_request_fields(v->name, text);
	/* Host comes first, right after the request line. */
	snprintf(line, sizeof(line), "\r\nHost: %s\r\nUpgrade: websocket\r\n",
	    v->want);
	ck_assert_msg(strstr(text, line) == strstr(text, "\r\n"),
	    "%s: no \"Host: %s\" in\n%s", v->name, v->want, text);
	snprintf(line, sizeof(line), "X-Forwarded-Host: %s", v->host);
	ck_assert_msg(hs_has_line(text, line), "%s: no \"%s\" in\n%s",
	    v->name, line, text);
	snprintf(line, sizeof(line), "Forwarded: for=192.0.2.7;host=\"%s\";"
	    "proto=http", v->host);
	ck_assert_msg(hs_has_line(text, line), "%s: no \"%s\" in\n%s",
	    v->name, line, text);
}
END_TEST

/*
 * Splits a Forwarded value (RFC 7239 §4: pairs separated by ";" and ",",
 * values a token or a quoted-string with quoted-pairs) into names and
 * unquoted values.  Returns the number of pairs, or -1 when malformed.
 */
#define HS_FWD_MAX	8

static int
hs_forwarded_parse(const char *p, const char *end,
    char names[HS_FWD_MAX][32], char values[HS_FWD_MAX][256])
{
	size_t	n, i;
	int	npairs = 0;

	while (p < end) {
		if (npairs == HS_FWD_MAX)
			return -1;
		for (i = 0; p < end && *p != '='; p++)
			if (i < 31)
				names[npairs][i++] = *p;
		names[npairs][i] = '\0';
		if (p == end || i == 0)
			return -1;
		p++;
		n = 0;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && ++p == end)
					return -1;
				if (n < 255)
					values[npairs][n++] = *p;
			}
			if (p == end)
				return -1;
			p++;
		} else {
			for (; p < end && *p != ';' && *p != ','; p++) {
				if (*p == '"' || *p == '\\')
					return -1;
				if (n < 255)
					values[npairs][n++] = *p;
			}
		}
		values[npairs][n] = '\0';
		npairs++;
		if (p < end && *p != ';' && *p != ',')
			return -1;
		if (p < end)
			p++;
	}
	return npairs;
}

/*
 * X-Forwarded-For, X-Forwarded-Proto and Forwarded (RFC 7239 §6: an IPv6
 * address is bracketed and quoted).
 */
struct hs_up_forwarded_vector {
	const char	*client_ip;
	const char	*scheme;
	const char	*forwarded;	/* the whole line */
};

static const struct hs_up_forwarded_vector hs_up_forwarded_vectors[] = {
	{ "192.0.2.7", "http",
	  "Forwarded: for=192.0.2.7;host=\"gw.example\";proto=http" },
	{ "192.0.2.7", "https",
	  "Forwarded: for=192.0.2.7;host=\"gw.example\";proto=https" },
	{ "2001:db8::1", "https",
	  "Forwarded: for=\"[2001:db8::1]\";host=\"gw.example\";proto=https" },
	{ "::1", "http",
	  "Forwarded: for=\"[::1]\";host=\"gw.example\";proto=http" },
	{ "::ffff:192.0.2.7", "http",
	  "Forwarded: for=\"[::ffff:192.0.2.7]\";host=\"gw.example\";"
	  "proto=http" },
};

START_TEST(test_handshake_upstream_forwarded)
{
	const struct hs_up_forwarded_vector *v = &hs_up_forwarded_vectors[_i];
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	const char			*line;
	char				 text[2048], want[128];
	char				 names[HS_FWD_MAX][32];
	char				 values[HS_FWD_MAX][256];
	int				 n;

	/* What the client claims is replaced, never passed on. */
	hs_up_prepare(&c, hs_up_head(&c, "/any", "Upgrade",
	    "X-Forwarded-For: 198.51.100.66\r\n"
	    "x-forwarded-proto: gopher\r\n"
	    "X-FORWARDED-HOST: evil.example\r\n"
	    "Forwarded: for=198.51.100.66\r\n"
	    "Forwarded: by=198.51.100.67\r\n"), HS_UP_ANY, v->client_ip,
	    v->scheme, &up);
	hs_up_request_text(&up, text, sizeof(text));
	hs_check_request_fields(v->client_ip, text);
	ck_assert_ptr_null(strstr(text, "198.51.100.6"));
	ck_assert_ptr_null(strstr(text, "gopher"));
	ck_assert_ptr_null(strstr(text, "evil.example"));
	snprintf(want, sizeof(want), "X-Forwarded-For: %s", v->client_ip);
	ck_assert_msg(hs_has_line(text, want), "no \"%s\" in\n%s", want,
	    text);
	snprintf(want, sizeof(want), "X-Forwarded-Proto: %s", v->scheme);
	ck_assert_msg(hs_has_line(text, want), "no \"%s\" in\n%s", want,
	    text);
	ck_assert_msg(hs_has_line(text, "X-Forwarded-Host: gw.example"),
	    "no X-Forwarded-Host in\n%s", text);
	ck_assert_msg(hs_has_line(text, v->forwarded), "no \"%s\" in\n%s",
	    v->forwarded, text);
	/* It parses as one element of for, host and proto. */
	line = v->forwarded + 11;
	n = hs_forwarded_parse(line, line + strlen(line), names, values);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(names[0], "for");
	ck_assert_str_eq(names[1], "host");
	ck_assert_str_eq(values[1], "gw.example");
	ck_assert_str_eq(names[2], "proto");
	ck_assert_str_eq(values[2], v->scheme);
}
END_TEST

/*
 * The client's Host is quoted in Forwarded: whatever it holds, it must
 * not add parameters of its own (a second for= that a backend might
 * believe).  Refusing such a Host in the handshake (400) would do too.
 */
static const char *const hs_up_odd_hosts[] = {
	"x\";for=10.0.0.1;by=\"y",
	"gw.example\\",
	"a\"b",
};

START_TEST(test_handshake_upstream_forwarded_host_quoted)
{
	const char			*host = hs_up_odd_hosts[_i];
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	const char			*errstr = NULL, *line, *eol;
	char				 text[2048];
	char				 names[HS_FWD_MAX][32];
	char				 values[HS_FWD_MAX][256];
	int				 i, n, nfor = 0, status = 0;

	snprintf(c.buf, sizeof(c.buf), "GET /any HTTP/1.1\r\nHost: %s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " HS_CLIENT_KEY "\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", host);
	ck_assert_int_eq(http_parse_request(c.buf, strlen(c.buf),
	    HS_TEST_MAX_HEAD, &c.req, &status, &errstr), HTTP_PARSE_OK);
	handshake_check(&c.req, hs_up_cfg, NULL, &c.hr);
	if (c.hr.status == 400)
		return;
	hs_up_prepare(&c, c.buf, HS_UP_ANY, "192.0.2.7", "http", &up);
	hs_up_request_text(&up, text, sizeof(text));
	line = strstr(text, "\r\nForwarded: ");
	ck_assert_ptr_nonnull(line);
	line += 13;
	eol = strstr(line, "\r\n");
	n = hs_forwarded_parse(line, eol, names, values);
	ck_assert_msg(n > 0, "Host \"%s\": malformed \"%.*s\"", host,
	    (int)(eol - line), line);
	for (i = 0; i < n; i++)
		if (strcasecmp(names[i], "for") == 0)
			nfor++;
	ck_assert_msg(nfor == 1, "Host \"%s\": %d for= in \"%.*s\"", host,
	    nfor, (int)(eol - line), line);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(names[0], "for");
	ck_assert_str_eq(values[0], "192.0.2.7");
	ck_assert_str_eq(names[1], "host");
	ck_assert_str_eq(values[1], host);
}
END_TEST

/* RFC 9110 §7.6.1: every field Connection names goes, long names too. */
START_TEST(test_handshake_upstream_connection_long_name)
{
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 name[201], fields[512], conn[256];
	char				 text[2048];

	memset(name, 'n', sizeof(name) - 1);
	memcpy(name, "X-", 2);
	name[sizeof(name) - 1] = '\0';
	snprintf(conn, sizeof(conn), "Upgrade, %s", name);
	snprintf(fields, sizeof(fields), "%s: secret\r\n", name);
	hs_up_prepare(&c, hs_up_head(&c, "/any", conn, fields), HS_UP_ANY,
	    "192.0.2.7", "http", &up);
	hs_up_request_text(&up, text, sizeof(text));
	ck_assert_msg(strstr(text, "secret") == NULL,
	    "a %zu-byte field named by Connection passed on", strlen(name));
}
END_TEST

/*
 * Which of the client's fields reach the backend: end-to-end ones do;
 * hop-by-hop ones, those its Connection names, the WebSocket fields and
 * the forwarding fields wsgate writes itself do not.
 */
struct hs_up_field_vector {
	const char	*name;
	const char	*connection;	/* the client's Connection value */
	const char	*fields;	/* field lines added to the request */
	const char	*line;		/* looked for towards the backend */
	bool		 kept;
};

static const struct hs_up_field_vector hs_up_field_vectors[] = {
	{ "origin", "Upgrade", "Origin: https://a.example\r\n",
	    "Origin: https://a.example", true },
	{ "cookie", "Upgrade", "Cookie: a=1; b=2\r\n", "Cookie: a=1; b=2",
	    true },
	{ "authorization", "Upgrade", "Authorization: Bearer t0k\r\n",
	    "Authorization: Bearer t0k", true },
	{ "user-agent", "Upgrade", "User-Agent: ua/1.0 (x)\r\n",
	    "User-Agent: ua/1.0 (x)", true },
	{ "custom field", "Upgrade", "X-Custom: 1\r\n", "X-Custom: 1", true },
	{ "name case kept", "Upgrade", "x-CUSTOM: v\r\n", "x-CUSTOM: v",
	    true },
	{ "empty value", "Upgrade", "X-Empty:\r\n", "X-Empty: ", true },
	{ "repeated field", "Upgrade", "X-Twice: 1\r\nX-Twice: 2\r\n",
	    "X-Twice: 1\r\nX-Twice: 2", true },
	{ "keep-alive", "Upgrade", "Keep-Alive: timeout=5\r\n",
	    "Keep-Alive: timeout=5", false },
	{ "keep-alive in lower case", "Upgrade", "keep-alive: timeout=5\r\n",
	    "keep-alive: timeout=5", false },
	{ "te", "Upgrade", "TE: trailers\r\n", "TE: trailers", false },
	{ "trailer", "Upgrade", "Trailer: X-Sum\r\n", "Trailer: X-Sum",
	    false },
	{ "proxy-authorization", "Upgrade",
	    "Proxy-Authorization: Basic eHl6\r\n",
	    "Proxy-Authorization: Basic eHl6", false },
	{ "proxy-connection", "Upgrade", "Proxy-Connection: keep-alive\r\n",
	    "Proxy-Connection: keep-alive", false },
	{ "content-length", "Upgrade", "Content-Length: 0\r\n",
	    "Content-Length: 0", false },
	{ "sec-websocket-extensions", "Upgrade",
	    "Sec-WebSocket-Extensions: permessage-deflate\r\n",
	    "Sec-WebSocket-Extensions: permessage-deflate", false },
	{ "sec-websocket-accept from a client", "Upgrade",
	    "Sec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n",
	    "Sec-WebSocket-Accept: " HS_RFC_ACCEPT, false },
	{ "the client's connection value", "Upgrade, keep-alive", "",
	    "Connection: Upgrade, keep-alive", false },
	{ "named by connection", "Upgrade, X-Secret", "X-Secret: hide\r\n",
	    "X-Secret: hide", false },
	{ "named by connection, other case", "upgrade, x-secret",
	    "X-Secret: hide\r\n", "X-Secret: hide", false },
	{ "named first by connection", "X-Secret, Upgrade",
	    "X-Secret: hide\r\n", "X-Secret: hide", false },
	{ "named by a second connection field", "Upgrade",
	    "Connection: X-Secret\r\nX-Secret: hide\r\n", "X-Secret: hide",
	    false },
	{ "connection names an end-to-end field", "Upgrade, Cookie",
	    "Cookie: a=1\r\n", "Cookie: a=1", false },
	{ "connection names whole tokens", "Upgrade, X-Secret",
	    "X-Secret-2: keep\r\n", "X-Secret-2: keep", true },
	{ "connection names another field", "Upgrade, X-Secret",
	    "X-Other: keep\r\n", "X-Other: keep", true },
};

START_TEST(test_handshake_upstream_fields)
{
	const struct hs_up_field_vector	*v = &hs_up_field_vectors[_i];
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 text[2048];

	hs_up_prepare(&c, hs_up_head(&c, "/any", v->connection, v->fields),
	    HS_UP_ANY, "192.0.2.7", "http", &up);
	hs_up_request_text(&up, text, sizeof(text));
	hs_check_request_fields(v->name, text);
	ck_assert_msg(hs_has_line(text, v->line) == v->kept,
	    "%s: \"%s\" %s in\n%s", v->name, v->line,
	    v->kept ? "missing" : "passed on", text);
	ck_assert_msg(hs_has_line(text, "Connection: Upgrade"),
	    "%s: wsgate's own Connection missing", v->name);
}
END_TEST

/*
 * Sec-WebSocket-Protocol: the client's offers in the client's order, the
 * ones the route lists only (all of them when it lists none), in one
 * field; no field when none passes.
 */
struct hs_up_offer_vector {
	const char	*name;
	int		 route;
	const char	*target;
	const char	*fields;	/* the client's offers */
	const char	*want;		/* the value sent, or NULL */
};

static const struct hs_up_offer_vector hs_up_offer_vectors[] = {
	{ "listed offers, client's order", 0, "/stomp",
	    HS_PROTO("v10.stomp, chat, v12.stomp"), "v10.stomp, v12.stomp" },
	{ "listed offer alone", 0, "/stomp", HS_PROTO("v11.stomp"),
	    "v11.stomp" },
	{ "offers over two fields", 0, "/stomp",
	    HS_PROTO("chat") HS_PROTO("v11.stomp, v12.stomp"),
	    "v11.stomp, v12.stomp" },
	{ "nothing listed offered", 0, "/stomp", HS_PROTO("chat, superchat"),
	    NULL },
	{ "names differing in case", 0, "/stomp", HS_PROTO("V12.STOMP"),
	    NULL },
	{ "no offers, route with a list", 0, "/stomp", "", NULL },
	{ "empty offer field", 0, "/stomp", HS_PROTO(""), NULL },
	{ "route without a list: every offer", 9, "/any",
	    HS_PROTO("chat, superchat"), "chat, superchat" },
	{ "route without a list: two fields", 9, "/any",
	    HS_PROTO("a") HS_PROTO("b, c"), "a, b, c" },
	{ "route without a list: empty elements", 9, "/any",
	    HS_PROTO(",, a ,b,"), "a, b" },
	{ "route without a list: no offers", 9, "/any", "", NULL },
};

START_TEST(test_handshake_upstream_offers)
{
	const struct hs_up_offer_vector	*v = &hs_up_offer_vectors[_i];
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	char				 text[2048], line[256];

	hs_up_prepare(&c, hs_up_head(&c, v->target, "Upgrade", v->fields),
	    v->route, "192.0.2.7", "http", &up);
	hs_up_request_text(&up, text, sizeof(text));
	hs_check_request_fields(v->name, text);
	if (v->want == NULL) {
		ck_assert_msg(hs_count_fields(text, "Sec-WebSocket-Protocol")
		    == 0, "%s: offers sent in\n%s", v->name, text);
		return;
	}
	/* Right after wsgate's own handshake fields. */
	snprintf(line, sizeof(line), "\r\nSec-WebSocket-Version: 13\r\n"
	    "Sec-WebSocket-Protocol: %s\r\n", v->want);
	ck_assert_msg(strstr(text, line) != NULL, "%s: no \"%s\" in\n%s",
	    v->name, v->want, text);
}
END_TEST

/*
 * handshake_upstream_check(): the backend's 101, for a client that
 * offered chat, v11.stomp and v10.stomp (route 0 lists v12, v11 and
 * v10.stomp; route 9 lists none).
 */
struct hs_up_check_vector {
	const char	*name;
	int		 route;
	const char	*response;	/* a complete response head */
	const char	*errstr;	/* NULL: accepted */
	const char	*protocol;	/* accepted: selected, or NULL */
};

#define HS_101		"HTTP/1.1 101 Switching Protocols\r\n"
#define HS_UP_WS	"Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define HS_UP_ACCEPT	"Sec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n"

#define E_101		"backend did not answer 101"
#define E_UPGRADE	"backend 101 lacks Upgrade: websocket or " \
			"Connection: upgrade"
#define E_ACCEPT	"backend sent a wrong Sec-WebSocket-Accept"
#define E_EXTENSION	"backend chose an extension that was not offered"
#define E_PROTOCOL	"backend chose a subprotocol that was not offered"

static const struct hs_up_check_vector hs_up_check_vectors[] = {
	{ "101 without a subprotocol", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT "\r\n", NULL, NULL },
	{ "101 with an offered subprotocol", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("v11.stomp") "\r\n",
	  NULL, "v11.stomp" },
	{ "101 with the client's second choice", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("v10.stomp") "\r\n",
	  NULL, "v10.stomp" },
	{ "101 with other fields", 0,
	  HS_101 "Server: b/1\r\n" HS_UP_WS "Set-Cookie: a=b\r\n"
	  HS_UP_ACCEPT "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n\r\n",
	  NULL, NULL },
	{ "101 with tokens in other cases", 0,
	  HS_101 "upgrade: WebSocket\r\nCONNECTION: keep-alive, UPGRADE\r\n"
	  "sec-websocket-accept: " HS_RFC_ACCEPT "\r\n\r\n", NULL, NULL },
	{ "101 without a reason phrase", 0,
	  "HTTP/1.1 101 \r\n" HS_UP_WS HS_UP_ACCEPT "\r\n", NULL, NULL },
	{ "any offer, route without a list", 9,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("chat") "\r\n", NULL,
	  "chat" },
	{ "200", 0,
	  "HTTP/1.1 200 OK\r\n" HS_UP_WS HS_UP_ACCEPT "\r\n", E_101, NULL },
	{ "403", 0,
	  "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", E_101,
	  NULL },
	{ "another 1xx", 0,
	  "HTTP/1.1 100 Continue\r\n" HS_UP_WS HS_UP_ACCEPT "\r\n", E_101,
	  NULL },
	{ "no upgrade field", 0,
	  HS_101 "Connection: Upgrade\r\n" HS_UP_ACCEPT "\r\n", E_UPGRADE,
	  NULL },
	{ "upgrade to another protocol", 0,
	  HS_101 "Upgrade: h2c\r\nConnection: Upgrade\r\n" HS_UP_ACCEPT
	  "\r\n", E_UPGRADE, NULL },
	{ "no connection field", 0,
	  HS_101 "Upgrade: websocket\r\n" HS_UP_ACCEPT "\r\n", E_UPGRADE,
	  NULL },
	{ "connection without upgrade", 0,
	  HS_101 "Upgrade: websocket\r\nConnection: keep-alive\r\n"
	  HS_UP_ACCEPT "\r\n", E_UPGRADE, NULL },
	{ "no accept", 0, HS_101 HS_UP_WS "\r\n", E_ACCEPT, NULL },
	{ "accept of the client's key", 0,
	  HS_101 HS_UP_WS "Sec-WebSocket-Accept: " HS_CLIENT_ACCEPT "\r\n"
	  "\r\n", E_ACCEPT, NULL },
	{ "accept in another case", 0,
	  HS_101 HS_UP_WS "Sec-WebSocket-Accept: "
	  "S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n\r\n", E_ACCEPT, NULL },
	{ "accept cut short", 0,
	  HS_101 HS_UP_WS "Sec-WebSocket-Accept: "
	  "s3pPLMBiTxaQ9kYGzzhZRbK+xOo\r\n\r\n", E_ACCEPT, NULL },
	{ "accept with more", 0,
	  HS_101 HS_UP_WS "Sec-WebSocket-Accept: " HS_RFC_ACCEPT "x\r\n"
	  "\r\n", E_ACCEPT, NULL },
	{ "two accept fields", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_UP_ACCEPT "\r\n", E_ACCEPT, NULL },
	{ "an extension", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT
	  "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
	  E_EXTENSION, NULL },
	{ "a subprotocol not offered", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("mqtt") "\r\n", E_PROTOCOL,
	  NULL },
	{ "a subprotocol the route filtered out", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("chat") "\r\n", E_PROTOCOL,
	  NULL },
	{ "a listed subprotocol the client did not offer", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("v12.stomp") "\r\n",
	  E_PROTOCOL, NULL },
	{ "a subprotocol in another case", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("V11.STOMP") "\r\n",
	  E_PROTOCOL, NULL },
	{ "two subprotocols in one field", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("v11.stomp, v10.stomp")
	  "\r\n", E_PROTOCOL, NULL },
	{ "two subprotocol fields", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("v11.stomp")
	  HS_PROTO("v11.stomp") "\r\n", E_PROTOCOL, NULL },
	{ "an empty subprotocol", 0,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("") "\r\n", E_PROTOCOL,
	  NULL },
	{ "not offered, route without a list", 9,
	  HS_101 HS_UP_WS HS_UP_ACCEPT HS_PROTO("mqtt") "\r\n", E_PROTOCOL,
	  NULL },
};

START_TEST(test_handshake_upstream_check)
{
	const struct hs_up_check_vector	*v = &hs_up_check_vectors[_i];
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	struct http_response		 resp;
	const char			*errstr = NULL, *proto;
	size_t				 proto_len;
	int				 rc;

	hs_up_prepare(&c, hs_up_head(&c, v->route == 0 ? "/stomp" : "/any",
	    "Upgrade", HS_PROTO("chat, v11.stomp") HS_PROTO("v10.stomp")),
	    v->route, "192.0.2.7", "http", &up);
	ck_assert_msg(http_parse_response(v->response, strlen(v->response),
	    HS_TEST_MAX_HEAD, &resp, &errstr) == HTTP_PARSE_OK,
	    "%s: parse: %s", v->name, errstr != NULL ? errstr : "");
	errstr = NULL;
	proto = "unset";
	proto_len = 99;
	rc = handshake_upstream_check(&up, &resp, &proto, &proto_len,
	    &errstr);
	if (v->errstr != NULL) {
		ck_assert_msg(rc == -1, "%s: accepted", v->name);
		ck_assert_msg(errstr != NULL && strcmp(errstr, v->errstr) == 0,
		    "%s: errstr \"%s\", want \"%s\"", v->name,
		    errstr != NULL ? errstr : "(null)", v->errstr);
		ck_assert_ptr_null(proto);
		ck_assert_uint_eq(proto_len, 0);
		return;
	}
	ck_assert_msg(rc == 0, "%s: refused: %s", v->name,
	    errstr != NULL ? errstr : "(null)");
	if (v->protocol == NULL) {
		ck_assert_ptr_null(proto);
		ck_assert_uint_eq(proto_len, 0);
		return;
	}
	ck_assert_msg(proto != NULL && proto_len == strlen(v->protocol) &&
	    memcmp(proto, v->protocol, proto_len) == 0,
	    "%s: protocol \"%.*s\", want \"%s\"", v->name,
	    proto != NULL ? (int)proto_len : 6,
	    proto != NULL ? proto : "(null)", v->protocol);
	/* Borrowed from the response. */
	ck_assert(proto >= v->response &&
	    proto < v->response + strlen(v->response));
}
END_TEST

START_TEST(test_handshake_upstream_check_drawn_key)
{
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	struct http_response		 resp;
	const char			*errstr = NULL, *proto;
	char				 accept[HANDSHAKE_ACCEPT_LEN + 1];
	char				 head[512];
	size_t				 proto_len;

	/* A key from handshake_upstream_key() and its accept value. */
	hs_up_prepare(&c, hs_up_head(&c, "/any", "Upgrade", ""), HS_UP_ANY,
	    "192.0.2.7", "http", &up);
	handshake_upstream_key(&up);
	handshake_accept_key(up.key, strlen(up.key), accept);
	snprintf(head, sizeof(head), HS_101 HS_UP_WS
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	ck_assert_int_eq(http_parse_response(head, strlen(head),
	    HS_TEST_MAX_HEAD, &resp, &errstr), HTTP_PARSE_OK);
	ck_assert_int_eq(handshake_upstream_check(&up, &resp, &proto,
	    &proto_len, &errstr), 0);
	/* The RFC example's accept is for another key. */
	snprintf(head, sizeof(head), HS_101 HS_UP_WS HS_UP_ACCEPT "\r\n");
	ck_assert_int_eq(http_parse_response(head, strlen(head),
	    HS_TEST_MAX_HEAD, &resp, &errstr), HTTP_PARSE_OK);
	ck_assert_int_eq(handshake_upstream_check(&up, &resp, &proto,
	    &proto_len, &errstr), -1);
	ck_assert_str_eq(errstr, E_ACCEPT);
}
END_TEST

/*
 * handshake_upstream_passthrough() and handshake_upstream_refusal(): what
 * of the backend's answer reaches the client.
 */
struct hs_up_answer_vector {
	const char	*name;
	const char	*response;
	const char	*want;		/* the whole string returned */
};

static const struct hs_up_answer_vector hs_up_passthrough_vectors[] = {
	{ "101 with nothing to pass",
	  HS_101 HS_UP_WS HS_UP_ACCEPT "\r\n",
	  "" },
	{ "101: end-to-end fields kept, the rest dropped",
	  HS_101
	  "Upgrade: websocket\r\n"
	  "Connection: Upgrade, X-Internal\r\n"
	  "Sec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n"
	  "Sec-WebSocket-Protocol: v12.stomp\r\n"
	  "Sec-WebSocket-Version: 13\r\n"
	  "Sec-WebSocket-Extensions: permessage-deflate\r\n"
	  "Set-Cookie: sid=1; HttpOnly\r\n"
	  "X-Internal: secret\r\n"
	  "Server: backend/1.0\r\n"
	  "Content-Length: 0\r\n"
	  "Keep-Alive: timeout=5\r\n"
	  "Transfer-Encoding: chunked\r\n"
	  "Set-Cookie: theme=dark\r\n"
	  "\r\n",
	  "Set-Cookie: sid=1; HttpOnly\r\n"
	  "Server: backend/1.0\r\n"
	  "Set-Cookie: theme=dark\r\n" },
	{ "101: names in other cases",
	  HS_101
	  "UPGRADE: websocket\r\n"
	  "connection: upgrade, x-internal\r\n"
	  "SEC-WEBSOCKET-ACCEPT: " HS_RFC_ACCEPT "\r\n"
	  "X-INTERNAL: secret\r\n"
	  "content-length: 0\r\n"
	  "x-request-id: 42\r\n"
	  "\r\n",
	  "x-request-id: 42\r\n" },
	{ "101: connection over two fields",
	  HS_101 HS_UP_WS HS_UP_ACCEPT
	  "Connection: X-A\r\n"
	  "X-A: 1\r\n"
	  "X-B: 2\r\n"
	  "\r\n",
	  "X-B: 2\r\n" },
};

static const struct hs_up_answer_vector hs_up_refusal_vectors[] = {
	{ "401 with its fields",
	  "HTTP/1.1 401 Unauthorized\r\n"
	  "WWW-Authenticate: Bearer realm=\"app\"\r\n"
	  "Content-Type: text/plain\r\n"
	  "Content-Length: 12\r\n"
	  "Connection: keep-alive\r\n"
	  "Keep-Alive: timeout=5\r\n"
	  "Set-Cookie: a=b\r\n"
	  "\r\n",
	  "HTTP/1.1 401 Unauthorized\r\n"
	  "WWW-Authenticate: Bearer realm=\"app\"\r\n"
	  "Content-Type: text/plain\r\n"
	  "Content-Length: 12\r\n"
	  "Set-Cookie: a=b\r\n"
	  "Connection: close\r\n"
	  "\r\n" },
	/* The body is passed as the backend framed it. */
	{ "chunked 403",
	  "HTTP/1.1 403 Forbidden\r\n"
	  "Content-Type: text/html\r\n"
	  "Transfer-Encoding: chunked\r\n"
	  "Connection: close\r\n"
	  "\r\n",
	  "HTTP/1.1 403 Forbidden\r\n"
	  "Content-Type: text/html\r\n"
	  "Transfer-Encoding: chunked\r\n"
	  "Connection: close\r\n"
	  "\r\n" },
	{ "another reason phrase",
	  "HTTP/1.1 403 Go Away, Please\r\nContent-Length: 0\r\n\r\n",
	  "HTTP/1.1 403 Go Away, Please\r\nContent-Length: 0\r\n"
	  "Connection: close\r\n\r\n" },
	{ "empty reason phrase",
	  "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
	  "HTTP/1.1 404 \r\nContent-Length: 0\r\nConnection: close\r\n\r\n" },
	{ "an http/1.0 backend",
	  "HTTP/1.0 503 Service Unavailable\r\nRetry-After: 5\r\n\r\n",
	  "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n"
	  "Connection: close\r\n\r\n" },
	{ "fields named by connection",
	  "HTTP/1.1 429 Too Many Requests\r\n"
	  "Connection: X-Debug, keep-alive\r\n"
	  "X-Debug: 1\r\n"
	  "Retry-After: 1\r\n"
	  "Content-Length: 0\r\n"
	  "\r\n",
	  "HTTP/1.1 429 Too Many Requests\r\n"
	  "Retry-After: 1\r\n"
	  "Content-Length: 0\r\n"
	  "Connection: close\r\n"
	  "\r\n" },
	{ "a 426 with upgrade",
	  "HTTP/1.1 426 Upgrade Required\r\n"
	  "Upgrade: websocket\r\n"
	  "Connection: Upgrade\r\n"
	  "Content-Length: 0\r\n"
	  "\r\n",
	  "HTTP/1.1 426 Upgrade Required\r\n"
	  "Content-Length: 0\r\n"
	  "Connection: close\r\n"
	  "\r\n" },
	{ "a 407",
	  "HTTP/1.1 407 Proxy Authentication Required\r\n"
	  "Proxy-Authenticate: Basic realm=\"p\"\r\n"
	  "Content-Length: 0\r\n"
	  "\r\n",
	  "HTTP/1.1 407 Proxy Authentication Required\r\n"
	  "Content-Length: 0\r\n"
	  "Connection: close\r\n"
	  "\r\n" },
	/*
	 * RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, and an
	 * intermediary that forwards such a message MUST first remove the
	 * Content-Length.
	 */
	{ "chunked with a content-length",
	  "HTTP/1.1 403 Forbidden\r\n"
	  "Content-Length: 5\r\n"
	  "Transfer-Encoding: chunked\r\n"
	  "\r\n",
	  "HTTP/1.1 403 Forbidden\r\n"
	  "Transfer-Encoding: chunked\r\n"
	  "Connection: close\r\n"
	  "\r\n" },
	{ "a redirect",
	  "HTTP/1.1 302 Found\r\n"
	  "Location: https://login.example/?r=%2Fws\r\n"
	  "Content-Length: 0\r\n"
	  "\r\n",
	  "HTTP/1.1 302 Found\r\n"
	  "Location: https://login.example/?r=%2Fws\r\n"
	  "Content-Length: 0\r\n"
	  "Connection: close\r\n"
	  "\r\n" },
};

/* Runs fn on v->response; the string is freed before any assertion. */
static void
hs_up_answer(const struct hs_up_answer_vector *v,
    char *(*fn)(const struct http_response *, size_t *))
{
	struct http_response	 resp;
	const char		*errstr = NULL;
	char			*out, text[2048];
	size_t			 len = 99, slen;

	ck_assert_msg(http_parse_response(v->response, strlen(v->response),
	    HS_TEST_MAX_HEAD, &resp, &errstr) == HTTP_PARSE_OK,
	    "%s: parse: %s", v->name, errstr != NULL ? errstr : "");
	out = fn(&resp, &len);
	ck_assert_ptr_nonnull(out);
	slen = strlen(out);
	snprintf(text, sizeof(text), "%s", out);
	free(out);
	ck_assert_uint_eq(slen, len);
	ck_assert_uint_lt(len, sizeof(text));
	hs_check_lines(v->name, text, v->want);
}

START_TEST(test_handshake_upstream_passthrough)
{
	hs_up_answer(&hs_up_passthrough_vectors[_i],
	    handshake_upstream_passthrough);
}
END_TEST

START_TEST(test_handshake_upstream_refusal)
{
	hs_up_answer(&hs_up_refusal_vectors[_i], handshake_upstream_refusal);
}
END_TEST

/*
 * handshake_format() of a 101 with the lines a backend's 101 passes on.
 */
START_TEST(test_handshake_format_passthrough_not_in_errors)
{
	static const char	 want[] = "HTTP/1.1 502 Bad Gateway\r\n"
	    "Connection: close\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 12\r\n"
	    "\r\n"
	    "bad backend\n";
	struct handshake_result	 hr;
	char			 buf[512];

	handshake_fail(&hr, 502, "bad backend");
	hr.passthrough = "Set-Cookie: sid=1\r\n";
	ck_assert_uint_eq(handshake_format(&hr, buf, sizeof(buf)),
	    sizeof(want) - 1);
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_handshake_format_passthrough_size)
{
	struct handshake_result	 hr;
	char			*pass, *buf;
	size_t			 i, n = 4000, size, len;

	/* 512 bytes plus the passthrough always suffice. */
	pass = malloc(n + 1);
	ck_assert_ptr_nonnull(pass);
	for (i = 0; i + 20 <= n; i += 20)
		memcpy(pass + i, "X-Fill: 1234567890\r\n", 20);
	pass[i] = '\0';
	size = 512 + strlen(pass);
	buf = malloc(size);
	ck_assert_ptr_nonnull(buf);
	memset(&hr, 0, sizeof(hr));
	hr.status = 101;
	hr.reason = R_OK;
	hr.protocol = "v12.stomp";
	hr.passthrough = pass;
	memcpy(hr.accept, HS_RFC_ACCEPT, sizeof(HS_RFC_ACCEPT));
	len = handshake_format(&hr, buf, size);
	ck_assert_uint_lt(len, size - 1);
	ck_assert_uint_eq(strlen(buf), len);
	/* The passthrough lines, then the empty line. */
	ck_assert(strncmp(buf + len - strlen(pass) - 2, pass,
	    strlen(pass)) == 0);
	ck_assert_str_eq(buf + len - 4, "\r\n\r\n");
	free(buf);
	free(pass);
}
END_TEST

/* The daemon's path: a backend's 101, checked, passed through, formatted. */
START_TEST(test_handshake_upstream_to_client)
{
	static const char	 response[] = HS_101
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " HS_RFC_ACCEPT "\r\n"
	    "Sec-WebSocket-Protocol: v11.stomp\r\n"
	    "Set-Cookie: sid=1\r\n"
	    "Content-Length: 0\r\n"
	    "\r\n";
	static const char	 want[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " HS_CLIENT_ACCEPT "\r\n"
	    "Sec-WebSocket-Protocol: v11.stomp\r\n"
	    "Set-Cookie: sid=1\r\n"
	    "\r\n";
	struct hs_up_client		 c;
	struct handshake_upstream	 up;
	struct http_response		 resp;
	const char			*errstr = NULL, *proto;
	char				*pass, protocol[32], buf[1024];
	size_t				 proto_len, len;

	hs_up_prepare(&c, hs_up_head(&c, "/stomp", "Upgrade",
	    HS_PROTO("v12.stomp, v11.stomp")), HS_UP_STOMP, "192.0.2.7",
	    "http", &up);
	ck_assert_int_eq(http_parse_response(response, sizeof(response) - 1,
	    HS_TEST_MAX_HEAD, &resp, &errstr), HTTP_PARSE_OK);
	ck_assert_int_eq(handshake_upstream_check(&up, &resp, &proto,
	    &proto_len, &errstr), 0);
	ck_assert_uint_lt(proto_len, sizeof(protocol));
	memcpy(protocol, proto, proto_len);
	protocol[proto_len] = '\0';
	/* The backend's choice, not wsgate's own (v12.stomp). */
	ck_assert_str_eq(c.hr.protocol, "v12.stomp");
	c.hr.protocol = protocol;
	pass = handshake_upstream_passthrough(&resp, &len);
	ck_assert_ptr_nonnull(pass);
	c.hr.passthrough = pass;
	len = handshake_format(&c.hr, buf, sizeof(buf));
	free(pass);
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(len, sizeof(want) - 1);
}
END_TEST

#define HS_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("handshake");

	tc = tcase_create("key");
	tcase_add_loop_test(tc, test_handshake_accept_key, 0,
	    HS_NELEM(hs_accept_vectors));
	tcase_add_test(tc, test_handshake_accept_key_bounded);
	tcase_add_loop_test(tc, test_handshake_key_valid, 0,
	    HS_NELEM(hs_key_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, hs_setup, hs_teardown);
	tcase_add_loop_test(tc, test_handshake_check_table, 0,
	    HS_NELEM(hs_table_vectors));
	tcase_add_loop_test(tc, test_handshake_check_variants, 0,
	    HS_NELEM(hs_variant_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("hosts");
	tcase_add_checked_fixture(tc, hs_setup, hs_teardown);
	tcase_add_loop_test(tc, test_handshake_allowed_hosts, 0,
	    (int)(sizeof(hs_hosts_vectors) / sizeof(hs_hosts_vectors[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_handshake_format_101, 0,
	    HS_NELEM(hs_format_101_vectors));
	tcase_add_test(tc, test_handshake_format_error);
	tcase_add_test(tc, test_handshake_format_error_without_extra);
	tcase_add_test(tc, test_handshake_format_truncated);
	tcase_add_test(tc, test_handshake_format_passthrough_not_in_errors);
	tcase_add_test(tc, test_handshake_format_passthrough_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("upstream_key");
	tcase_add_test(tc, test_handshake_upstream_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("upstream_request");
	tcase_add_checked_fixture(tc, hs_up_setup, hs_up_teardown);
	tcase_add_test(tc, test_handshake_upstream_key_sent);
	tcase_add_test(tc, test_handshake_upstream_request);
	tcase_add_test(tc, test_handshake_upstream_request_minimal);
	tcase_add_test(tc, test_handshake_upstream_forwarded_for_trust);
	tcase_add_loop_test(tc, test_handshake_upstream_path, 0,
	    HS_NELEM(hs_up_path_vectors));
	tcase_add_loop_test(tc, test_handshake_upstream_host, 0,
	    HS_NELEM(hs_up_host_vectors));
	tcase_add_loop_test(tc, test_handshake_upstream_forwarded, 0,
	    HS_NELEM(hs_up_forwarded_vectors));
	tcase_add_loop_test(tc, test_handshake_upstream_fields, 0,
	    HS_NELEM(hs_up_field_vectors));
	tcase_add_test(tc, test_handshake_upstream_connection_long_name);
	tcase_add_loop_test(tc, test_handshake_upstream_forwarded_host_quoted,
	    0, HS_NELEM(hs_up_odd_hosts));
	tcase_add_loop_test(tc, test_handshake_upstream_offers, 0,
	    HS_NELEM(hs_up_offer_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("upstream_check");
	tcase_add_checked_fixture(tc, hs_up_setup, hs_up_teardown);
	tcase_add_loop_test(tc, test_handshake_upstream_check, 0,
	    HS_NELEM(hs_up_check_vectors));
	tcase_add_test(tc, test_handshake_upstream_check_drawn_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("upstream_answer");
	tcase_add_checked_fixture(tc, hs_up_setup, hs_up_teardown);
	tcase_add_loop_test(tc, test_handshake_upstream_passthrough, 0,
	    HS_NELEM(hs_up_passthrough_vectors));
	tcase_add_loop_test(tc, test_handshake_upstream_refusal, 0,
	    HS_NELEM(hs_up_refusal_vectors));
	tcase_add_test(tc, test_handshake_upstream_to_client);
	suite_add_tcase(s, tc);

	return s;
}
