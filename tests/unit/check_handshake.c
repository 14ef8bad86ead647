/*
 * check_handshake — unit tests of the server side of the RFC 6455 §4.2
 * opening handshake: the accept key (§4.2.2 item 5.4), the key check
 * (§4.1 item 7), every row of the DESIGN.md "Handshake responses" table
 * that the handshake module answers, and the response text.
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
	ck_assert_uint_eq(hs_test_cfg->nroutes, 4);
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
	handshake_check(&req, hs_test_cfg, &hr);
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
START_TEST(test_handshake_format_101)
{
	static const char	 want[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "\r\n";
	struct handshake_result	 hr;
	char			 buf[512];

	memset(&hr, 0, sizeof(hr));
	hr.status = 101;
	hr.reason = R_OK;
	memcpy(hr.accept, HS_RFC_ACCEPT, sizeof(HS_RFC_ACCEPT));
	ck_assert_uint_eq(handshake_format(&hr, buf, sizeof(buf)),
	    sizeof(want) - 1);
	ck_assert_str_eq(buf, want);
}
END_TEST

START_TEST(test_handshake_format_101_protocol)
{
	static const char	 want[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "Sec-WebSocket-Protocol: chat\r\n"
	    "\r\n";
	struct handshake_result	 hr;
	char			 buf[512];

	memset(&hr, 0, sizeof(hr));
	hr.status = 101;
	hr.reason = R_OK;
	hr.protocol = "chat";
	memcpy(hr.accept, HS_RFC_ACCEPT, sizeof(HS_RFC_ACCEPT));
	ck_assert_uint_eq(handshake_format(&hr, buf, sizeof(buf)),
	    sizeof(want) - 1);
	ck_assert_str_eq(buf, want);
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

#define HS_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
handshake_suite(void)
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

	tc = tcase_create("format");
	tcase_add_test(tc, test_handshake_format_101);
	tcase_add_test(tc, test_handshake_format_101_protocol);
	tcase_add_test(tc, test_handshake_format_error);
	tcase_add_test(tc, test_handshake_format_error_without_extra);
	tcase_add_test(tc, test_handshake_format_truncated);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(handshake_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
