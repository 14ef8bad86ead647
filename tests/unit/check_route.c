/*
 * check_route — unit tests of route matching (DESIGN.md "Configuration":
 * routes are tried in order, the first match wins), of the Origin policy
 * (RFC 6454 §6.2: scheme and host compare case-insensitively; "origins:
 * same" compares the Origin's host with the Host), of listen[].
 * allowed_hosts (the Host against names, "*." wildcards and IP literals,
 * with tls_name_matches() as for SNI), of the walk over the
 * client's subprotocol offers and of subprotocol selection (RFC 6455
 * §4.2.2 item 5.4: the server picks one of the client's offers).
 *
 * The routes come from config_parse() on the YAML text below; requests
 * come from http_parse_request(), so the Sec-WebSocket-Protocol fields
 * are seen exactly as the daemon sees them.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "route.h"
#include "check_main.h"

#define ROUTE_TEST_MAX_HEAD	8192
#define ROUTE_NONE		(-1)

static const char route_test_yaml[] =
	"listen:\n"
	"  - address: 127.0.0.1:8080\n"
	"  - address: 127.0.0.1:8081\n"
	"    allowed_hosts: [chat.example.com, \"*.apps.example.com\",\n"
	"        127.0.0.1, \"::1\", \"[2001:db8::a:1]\"]\n"
	"routes:\n"
	"  - match: { host: chat.example, path: /ws }\n"		/* 0 */
	"    backend: echo\n"
	"  - match: { host: chat.example, path_exact: /exact }\n"	/* 1 */
	"    origins: [\"https://chat.example\", "
	    "\"http://localhost:3000\"]\n"
	"    backend: echo\n"
	"  - match: { path: /ws/admin }\n"				/* 2 */
	"    backend: echo\n"
	"  - match: { path: /m, subprotocol: mqtt }\n"		/* 3 */
	"    subprotocols: [mqtt]\n"
	"    backend: echo\n"
	"  - match: { path: /m }\n"					/* 4 */
	"    backend: echo\n"
	"  - match: { path_exact: /exact }\n"				/* 5 */
	"    backend: echo\n"
	"  - match: { path: /sub }\n"					/* 6 */
	"    subprotocols: [v12.stomp, v11.stomp, v10.stomp]\n"
	"    backend: echo\n"
	"  - match: { host: other.example }\n"			/* 7 */
	"    backend: echo\n"
	"  - match: { path: /same }\n"				/* 8 */
	"    origins: same\n"
	"    backend: echo\n";

static struct config	*route_test_cfg;

static void
route_setup(void)
{
	char	*errors = NULL;

	route_test_cfg = config_parse("route.yaml", route_test_yaml,
	    sizeof(route_test_yaml) - 1, &errors);
	ck_assert_msg(route_test_cfg != NULL, "config: %s",
	    errors != NULL ? errors : "(no errors)");
	ck_assert_ptr_null(errors);
	ck_assert_uint_eq(route_test_cfg->nroutes, 9);
}

static void
route_teardown(void)
{
	config_unref(route_test_cfg);
	route_test_cfg = NULL;
}

/*
 * Parses "GET / HTTP/1.1", the field lines in fields (each ending in
 * CRLF) and the empty line into req; buf holds the bytes req points to.
 */
static void
route_test_request(const char *fields, char *buf, size_t size,
    struct http_request *req)
{
	const char	*errstr = NULL;
	int		 n, status = 0;

	n = snprintf(buf, size, "GET / HTTP/1.1\r\n%s\r\n", fields);
	ck_assert(n > 0 && (size_t)n < size);
	ck_assert_msg(http_parse_request(buf, (size_t)n, ROUTE_TEST_MAX_HEAD,
	    req, &status, &errstr) == HTTP_PARSE_OK, "request: %d %s", status,
	    errstr != NULL ? errstr : "");
}

static int
route_index(const struct route *rt)
{
	if (rt == NULL)
		return ROUTE_NONE;
	ck_assert(rt >= route_test_cfg->routes &&
	    rt < route_test_cfg->routes + route_test_cfg->nroutes);
	return (int)(rt - route_test_cfg->routes);
}

/*
 * route_match().
 */
struct route_match_vector {
	const char	*name;
	const char	*host;
	size_t		 host_len;	/* 0: strlen(host) */
	const char	*path;
	size_t		 path_len;	/* 0: strlen(path) */
	const char	*fields;	/* request header lines, or NULL */
	int		 want;		/* route index, or ROUTE_NONE */
};

#define ROUTE_PROTO(s)	"Sec-WebSocket-Protocol: " s "\r\n"

static const struct route_match_vector route_match_vectors[] = {
	{ "host and path prefix", "chat.example", 0, "/ws", 0, NULL, 0 },
	{ "longer path under the prefix", "chat.example", 0, "/ws/room/1", 0,
	    NULL, 0 },
	{ "a prefix is a plain string prefix", "chat.example", 0, "/wsx", 0,
	    NULL, 0 },
	{ "host is case-insensitive", "CHAT.Example", 0, "/ws", 0, NULL, 0 },
	{ "no suffix match on host", "x.chat.example", 0, "/ws", 0, NULL,
	    ROUTE_NONE },
	{ "no prefix match on host", "chat.example.evil", 0, "/ws", 0, NULL,
	    ROUTE_NONE },
	{ "shorter host", "chat.exampl", 0, "/ws", 0, NULL, ROUTE_NONE },
	{ "empty host against a host route", "", 0, "/ws", 0, NULL,
	    ROUTE_NONE },
	{ "path shorter than the prefix", "chat.example", 0, "/w", 0, NULL,
	    ROUTE_NONE },
	{ "path compares case-sensitively", "chat.example", 0, "/WS", 0,
	    NULL, ROUTE_NONE },
	{ "first match wins", "chat.example", 0, "/ws/admin", 0, NULL, 0 },
	{ "later route for another host", "x.chat.example", 0, "/ws/admin",
	    0, NULL, 2 },
	{ "path_exact", "chat.example", 0, "/exact", 0, NULL, 1 },
	{ "path_exact with a trailing slash", "chat.example", 0, "/exact/",
	    0, NULL, ROUTE_NONE },
	{ "path_exact is not a prefix", "chat.example", 0, "/exactly", 0,
	    NULL, ROUTE_NONE },
	{ "path_exact of a shorter path", "chat.example", 0, "/exac", 0, NULL,
	    ROUTE_NONE },
	{ "path_exact on any host", "any.example", 0, "/exact", 0, NULL, 5 },
	{ "no host condition matches an empty host", "", 0, "/exact", 0,
	    NULL, 5 },
	{ "query passed in fails path_exact", "chat.example", 0,
	    "/exact?x=1", 0, NULL, ROUTE_NONE },
	{ "query excluded by the caller", "chat.example", 0, "/exact?x=1", 6,
	    NULL, 1 },
	{ "port excluded by the caller", "chat.example:8443", 12, "/ws", 0,
	    NULL, 0 },
	{ "subprotocol condition met", "a.example", 0, "/m", 0,
	    ROUTE_PROTO("mqtt"), 3 },
	{ "subprotocol condition met by a later offer", "a.example", 0, "/m",
	    0, ROUTE_PROTO("v1, mqtt"), 3 },
	{ "subprotocol condition met in a second field", "a.example", 0,
	    "/m", 0, ROUTE_PROTO("v1") ROUTE_PROTO("mqtt"), 3 },
	{ "subprotocol condition with a lower-case field name", "a.example",
	    0, "/m", 0, "sec-websocket-protocol: mqtt\r\n", 3 },
	{ "subprotocol condition not met", "a.example", 0, "/m", 0,
	    ROUTE_PROTO("mqttx, mqt"), 4 },
	{ "subprotocol condition without offers", "a.example", 0, "/m", 0,
	    NULL, 4 },
	{ "subprotocol condition with an empty field", "a.example", 0, "/m",
	    0, ROUTE_PROTO(""), 4 },
	{ "offer in another field does not count", "a.example", 0, "/m", 0,
	    "X-Protocol: mqtt\r\n", 4 },
	{ "prefix route after the subprotocol route", "a.example", 0,
	    "/mqtt", 0, NULL, 4 },
	{ "host-only route, any path", "other.example", 0, "/anything", 0,
	    NULL, 7 },
	{ "route with origins: same", "x.example", 0, "/same/room", 0, NULL,
	    8 },
	{ "no route", "x.example", 0, "/nothing", 0, NULL, ROUTE_NONE },
	{ "no route for the root", "x.example", 0, "/", 0, NULL, ROUTE_NONE },
};

START_TEST(test_route_match)
{
	const struct route_match_vector	*v = &route_match_vectors[_i];
	struct http_request		 req;
	char				 buf[1024];
	size_t				 hlen, plen;
	int				 got;

	route_test_request(v->fields != NULL ? v->fields : "", buf,
	    sizeof(buf), &req);
	hlen = v->host_len != 0 ? v->host_len : strlen(v->host);
	plen = v->path_len != 0 ? v->path_len : strlen(v->path);
	got = route_index(route_match(route_test_cfg, v->host, hlen, v->path,
	    plen, &req));
	ck_assert_msg(got == v->want, "%s: route %d, want %d", v->name, got,
	    v->want);
}
END_TEST

START_TEST(test_route_match_catch_all)
{
	static const char	 yaml[] = "listen: [{address: 127.0.0.1:1}]\n"
	    "routes: [{match: {}, backend: echo}]\n";
	struct http_request	 req;
	struct config		*cfg;
	char			 buf[64], *errors = NULL;

	/* An empty match is a catch-all. */
	cfg = config_parse("catchall.yaml", yaml, sizeof(yaml) - 1, &errors);
	ck_assert_msg(cfg != NULL, "%s", errors != NULL ? errors : "");
	route_test_request("", buf, sizeof(buf), &req);
	ck_assert_ptr_eq(route_match(cfg, "x", 1, "/y", 2, &req),
	    &cfg->routes[0]);
	ck_assert_ptr_eq(route_match(cfg, "", 0, "", 0, &req),
	    &cfg->routes[0]);
	config_unref(cfg);
}
END_TEST

/*
 * route_origin_allowed().
 */
struct route_origin_vector {
	int		 route;
	const char	*origin;	/* NULL: no Origin field */
	size_t		 origin_len;	/* 0: strlen(origin) */
	bool		 allowed;
};

static const struct route_origin_vector route_origin_vectors[] = {
	/* No origins list: any origin, or none. */
	{ 0, NULL, 0, true },
	{ 0, "https://evil.example", 0, true },
	{ 0, "null", 0, true },
	/* A list: exact, case-insensitive matches only. */
	{ 1, "https://chat.example", 0, true },
	{ 1, "HTTPS://CHAT.EXAMPLE", 0, true },
	{ 1, "http://localhost:3000", 0, true },
	{ 1, "https://chat.example/extra", 20, true },
	{ 1, NULL, 0, false },
	{ 1, "", 0, false },
	{ 1, "null", 0, false },
	{ 1, "http://chat.example", 0, false },
	{ 1, "https://chat.example:443", 0, false },
	{ 1, "https://chat.example.evil", 0, false },
	{ 1, "https://x.chat.example", 0, false },
	{ 1, "https://chat.exampl", 0, false },
	{ 1, "https://chat.example/", 0, false },
	{ 1, "http://localhost:3001", 0, false },
	{ 1, "http://localhost", 0, false },
};

START_TEST(test_route_origin_allowed)
{
	const struct route_origin_vector	*v = &route_origin_vectors[_i];
	const struct route			*rt;
	size_t					 len;

	rt = &route_test_cfg->routes[v->route];
	len = v->origin == NULL ? 0 : v->origin_len != 0 ? v->origin_len :
	    strlen(v->origin);
	ck_assert_msg(route_origin_allowed(rt, v->origin, len,
	    "unrelated.example", 17) == v->allowed,
	    "route %d, origin \"%s\" (%zu bytes): want %s", v->route,
	    v->origin != NULL ? v->origin : "(none)", len,
	    v->allowed ? "allowed" : "refused");
}
END_TEST

/*
 * route_origin_allowed() with the request's Host: "origins: same" wants
 * the Origin's host to be the Host, ports left out on both sides; a
 * list ignores the Host.
 */
struct route_origin_host_vector {
	const char	*name;
	int		 route;
	const char	*origin;	/* NULL: no Origin field */
	const char	*host;
	bool		 allowed;
};

static const struct route_origin_host_vector route_origin_host_vectors[] = {
	{ "same host", 8, "https://a.example", "a.example", true },
	{ "host with a port", 8, "https://a.example", "a.example:8080",
	    true },
	{ "host in upper case", 8, "https://a.example", "A.EXAMPLE", true },
	{ "origin in upper case", 8, "HTTPS://A.Example", "a.example", true },
	{ "origin with a port, host without", 8, "https://a.example:8443",
	    "a.example", true },
	{ "both with other ports", 8, "http://a.example:3000",
	    "a.example:8080", true },
	{ "the scheme is not compared", 8, "http://a.example", "a.example",
	    true },
	{ "ipv6 literal", 8, "http://[::1]:8080", "[::1]", true },
	{ "ipv6 literal, host with a port", 8, "http://[::1]", "[::1]:443",
	    true },
	{ "another host", 8, "https://b.example", "a.example", false },
	{ "another host, same port", 8, "https://b.example:8080",
	    "a.example:8080", false },
	{ "origin host is a suffix", 8, "https://x.a.example", "a.example",
	    false },
	{ "origin host has a suffix", 8, "https://a.example.evil",
	    "a.example", false },
	{ "origin host is a prefix", 8, "https://a.exampl", "a.example",
	    false },
	{ "origin without a scheme", 8, "a.example", "a.example", false },
	{ "origin with an empty host", 8, "https://", "a.example", false },
	{ "origin with only a port", 8, "https://:443", "a.example", false },
	{ "origin null", 8, "null", "a.example", false },
	{ "empty origin", 8, "", "a.example", false },
	{ "no origin", 8, NULL, "a.example", false },
	{ "other ipv6 literal", 8, "http://[::2]", "[::1]", false },
	/* A list ignores the Host; no policy ignores both. */
	{ "list: origin is the host but not listed", 1,
	    "https://evil.example", "evil.example", false },
	{ "list: listed origin, another host", 1, "https://chat.example",
	    "evil.example", true },
	{ "no policy: any origin", 0, "https://b.example", "a.example",
	    true },
	{ "no policy: no origin", 0, NULL, "a.example", true },
};

START_TEST(test_route_origin_host)
{
	const struct route_origin_host_vector	*v;
	const struct route			*rt;
	size_t					 len;

	v = &route_origin_host_vectors[_i];
	rt = &route_test_cfg->routes[v->route];
	ck_assert(rt->origin_same == (v->route == 8));
	len = v->origin != NULL ? strlen(v->origin) : 0;
	ck_assert_msg(route_origin_allowed(rt, v->origin, len, v->host,
	    strlen(v->host)) == v->allowed, "%s: origin \"%s\", host \"%s\": "
	    "want %s", v->name, v->origin != NULL ? v->origin : "(none)",
	    v->host, v->allowed ? "allowed" : "refused");
}
END_TEST

START_TEST(test_route_origin_host_len)
{
	const struct route	*rt = &route_test_cfg->routes[8];

	/* Only host_len bytes are the Host, only origin_len the Origin. */
	ck_assert(route_origin_allowed(rt, "https://a.example", 17,
	    "a.example.evil", 9));
	ck_assert(!route_origin_allowed(rt, "https://a.example", 17,
	    "a.example.evil", 14));
	ck_assert(route_origin_allowed(rt, "https://a.example.evil", 17,
	    "a.example", 9));
}
END_TEST

/*
 * route_host_allowed(): listen[1] has allowed_hosts, listen[0] none.
 * The matcher is tls_name_matches(), the one SNI uses.
 */
struct route_host_vector {
	int		 listen;
	const char	*host;		/* the Host value, port and all */
	bool		 allowed;
};

static const struct route_host_vector route_host_vectors[] = {
	{ 1, "chat.example.com", true },
	{ 1, "chat.example.com:443", true },
	{ 1, "chat.example.com:", true },
	{ 1, "CHAT.Example.COM:8080", true },
	{ 1, "x.chat.example.com", false },
	{ 1, "example.com", false },
	{ 1, "chat.example.com.", false },
	{ 1, "chat.example.co", false },
	{ 1, "chat.example.comx", false },
	{ 1, "evil.example", false },
	/* "*." covers exactly one more label. */
	{ 1, "a.apps.example.com", true },
	{ 1, "A-1.APPS.example.com:80", true },
	{ 1, "apps.example.com", false },
	{ 1, "a.b.apps.example.com", false },
	{ 1, ".apps.example.com", false },
	{ 1, "a.apps.example.com.evil", false },
	/* IP literals; IPv6 by address, whatever its spelling. */
	{ 1, "127.0.0.1", true },
	{ 1, "127.0.0.1:8081", true },
	{ 1, "127.0.0.2", false },
	{ 1, "[::1]", true },
	{ 1, "[::1]:8081", true },
	{ 1, "[0:0:0:0:0:0:0:1]:8081", true },
	{ 1, "[2001:DB8:0:0::A:1]", true },
	{ 1, "[2001:db8::a:2]", false },
	{ 1, "[::1", false },
	{ 1, "[]", false },
	{ 1, "[::g]", false },
	{ 1, "::1", false },
	{ 1, "", false },
	{ 1, ":443", false },
	/* No list: any host. */
	{ 0, "evil.example", true },
	{ 0, "[::1]:1", true },
	{ 0, "", true },
};

START_TEST(test_route_host_allowed)
{
	const struct route_host_vector	*v = &route_host_vectors[_i];
	const struct config_listen	*cl;

	ck_assert_uint_eq(route_test_cfg->nlistens, 2);
	cl = &route_test_cfg->listens[v->listen];
	ck_assert_msg(route_host_allowed(cl, v->host, strlen(v->host)) ==
	    v->allowed, "listen[%d], Host \"%s\": want %s", v->listen,
	    v->host, v->allowed ? "allowed" : "refused");
	/* No listener (handshake tests): no policy. */
	ck_assert(route_host_allowed(NULL, v->host, strlen(v->host)));
}
END_TEST

/* Only host_len bytes are the Host: a NUL or what follows never counts. */
START_TEST(test_route_host_allowed_len)
{
	const struct config_listen	*cl = &route_test_cfg->listens[1];

	ck_assert(route_host_allowed(cl, "127.0.0.1x", 9));
	ck_assert(!route_host_allowed(cl, "127.0.0.1x", 10));
	ck_assert(!route_host_allowed(cl, "127.0.0.", 8));
	ck_assert(!route_host_allowed(cl, "chat.example.com\0.evil", 21));
	ck_assert(!route_host_allowed(cl, "chat.example.com\0", 17));
	ck_assert(route_host_allowed(cl, "chat.example.com\0", 16));
}
END_TEST

/*
 * route_select_subprotocol().
 */
struct route_subprotocol_vector {
	int		 route;
	const char	*fields;	/* request header lines */
	const char	*want;		/* selected, or NULL */
};

static const struct route_subprotocol_vector route_subprotocol_vectors[] = {
	{ 6, ROUTE_PROTO("v12.stomp"), "v12.stomp" },
	{ 6, ROUTE_PROTO("v10.stomp"), "v10.stomp" },
	/* The client's order wins over the route's. */
	{ 6, ROUTE_PROTO("v10.stomp, v12.stomp"), "v10.stomp" },
	{ 6, ROUTE_PROTO("foo, v11.stomp, v12.stomp"), "v11.stomp" },
	{ 6, ROUTE_PROTO("foo") ROUTE_PROTO("v11.stomp, v10.stomp"),
	    "v11.stomp" },
	{ 6, ROUTE_PROTO("v10.stomp") ROUTE_PROTO("v12.stomp"), "v10.stomp" },
	{ 6, ROUTE_PROTO(",, v11.stomp ,v10.stomp"), "v11.stomp" },
	{ 6, "sec-websocket-protocol: v12.stomp\r\n", "v12.stomp" },
	{ 6, ROUTE_PROTO("foo, bar"), NULL },
	{ 6, ROUTE_PROTO("v12"), NULL },
	{ 6, ROUTE_PROTO("v12.stomp2, xv12.stomp"), NULL },
	{ 6, ROUTE_PROTO(""), NULL },
	{ 6, "", NULL },
	{ 6, "X-Sec-WebSocket-Protocol: v12.stomp\r\n", NULL },
	{ 3, ROUTE_PROTO("mqtt"), "mqtt" },
	/* A route without a list selects nothing. */
	{ 0, ROUTE_PROTO("v12.stomp"), NULL },
	{ 4, ROUTE_PROTO("mqtt"), NULL },
};

START_TEST(test_route_select_subprotocol)
{
	const struct route_subprotocol_vector	*v;
	const struct route			*rt;
	struct http_request			 req;
	const char				*got;
	char					 buf[1024];
	size_t					 i;

	v = &route_subprotocol_vectors[_i];
	rt = &route_test_cfg->routes[v->route];
	route_test_request(v->fields, buf, sizeof(buf), &req);
	got = route_select_subprotocol(rt, &req);
	if (v->want == NULL) {
		ck_assert_msg(got == NULL, "route %d, \"%s\": got \"%s\"",
		    v->route, v->fields, got);
		return;
	}
	ck_assert_msg(got != NULL && strcmp(got, v->want) == 0,
	    "route %d, \"%s\": got \"%s\", want \"%s\"", v->route, v->fields,
	    got != NULL ? got : "(null)", v->want);
	/* Borrowed from the route, never from the request buffer. */
	for (i = 0; i < rt->nsubprotocols; i++)
		if (got == rt->subprotocols[i])
			break;
	ck_assert_msg(i < rt->nsubprotocols, "result is not the route's");
}
END_TEST

/*
 * route_offers(): every element of every Sec-WebSocket-Protocol field,
 * in order, until the callback returns non-NULL.
 */
struct route_offers_vector {
	const char	*fields;	/* request header lines */
	const char	*want;		/* the offers seen, "|"-separated */
	const char	*stop;		/* the callback stops here, or NULL */
	bool		 stops;		/* stop is offered: returned */
};

static const struct route_offers_vector route_offers_vectors[] = {
	{ "", "", NULL, false },
	{ ROUTE_PROTO(""), "", NULL, false },
	{ ROUTE_PROTO("a"), "a|", NULL, false },
	{ ROUTE_PROTO("a, b,c"), "a|b|c|", NULL, false },
	{ ROUTE_PROTO(",, a ,\tb,,"), "a|b|", NULL, false },
	{ ROUTE_PROTO("a") "X-Other: x\r\n" ROUTE_PROTO("b, c"), "a|b|c|",
	    NULL, false },
	{ "sec-websocket-protocol: a\r\nSEC-WEBSOCKET-PROTOCOL: b\r\n",
	    "a|b|", NULL, false },
	{ "X-Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocols: b\r\n",
	    "", NULL, false },
	{ ROUTE_PROTO("a, b, c"), "a|b|", "b", true },
	{ ROUTE_PROTO("a") ROUTE_PROTO("b, c"), "a|", "a", true },
	{ ROUTE_PROTO("a") ROUTE_PROTO("b, c"), "a|b|c|", "d", false },
};

struct route_offers_seen {
	char		 buf[256];
	const char	*stop;
};

static const char *
route_offers_collect(const void *arg, const char *tok, size_t len)
{
	struct route_offers_seen	*seen;
	size_t				 n;

	seen = (struct route_offers_seen *)(uintptr_t)arg;
	n = strlen(seen->buf);
	snprintf(seen->buf + n, sizeof(seen->buf) - n, "%.*s|", (int)len,
	    tok);
	if (seen->stop != NULL && strlen(seen->stop) == len &&
	    memcmp(seen->stop, tok, len) == 0)
		return seen->stop;
	return NULL;
}

START_TEST(test_route_offers)
{
	const struct route_offers_vector	*v = &route_offers_vectors[_i];
	struct route_offers_seen		 seen;
	struct http_request			 req;
	const char				*found;
	char					 buf[1024];

	route_test_request(v->fields, buf, sizeof(buf), &req);
	memset(&seen, 0, sizeof(seen));
	seen.stop = v->stop;
	found = route_offers(&req, route_offers_collect, &seen);
	ck_assert_msg(strcmp(seen.buf, v->want) == 0, "\"%s\": saw \"%s\", "
	    "want \"%s\"", v->fields, seen.buf, v->want);
	/* What the callback returned, or NULL when it never stopped. */
	ck_assert_ptr_eq(found, v->stops ? v->stop : NULL);
}
END_TEST

#define ROUTE_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("route");

	tc = tcase_create("match");
	tcase_add_checked_fixture(tc, route_setup, route_teardown);
	tcase_add_loop_test(tc, test_route_match, 0,
	    ROUTE_NELEM(route_match_vectors));
	tcase_add_test(tc, test_route_match_catch_all);
	suite_add_tcase(s, tc);

	tc = tcase_create("origin");
	tcase_add_checked_fixture(tc, route_setup, route_teardown);
	tcase_add_loop_test(tc, test_route_origin_allowed, 0,
	    ROUTE_NELEM(route_origin_vectors));
	tcase_add_loop_test(tc, test_route_origin_host, 0,
	    ROUTE_NELEM(route_origin_host_vectors));
	tcase_add_test(tc, test_route_origin_host_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("hosts");
	tcase_add_checked_fixture(tc, route_setup, route_teardown);
	tcase_add_loop_test(tc, test_route_host_allowed, 0,
	    ROUTE_NELEM(route_host_vectors));
	tcase_add_test(tc, test_route_host_allowed_len);
	suite_add_tcase(s, tc);

	tc = tcase_create("offers");
	tcase_add_loop_test(tc, test_route_offers, 0,
	    ROUTE_NELEM(route_offers_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("subprotocol");
	tcase_add_checked_fixture(tc, route_setup, route_teardown);
	tcase_add_loop_test(tc, test_route_select_subprotocol, 0,
	    ROUTE_NELEM(route_subprotocol_vectors));
	suite_add_tcase(s, tc);

	return s;
}
