/*
 * check_http — unit tests of the strict HTTP/1.1 request head parser.
 *
 * Each parser vector is a head split in two: "pre" ends with the byte
 * that decides the verdict (the LF of the empty line, the offending byte,
 * or the byte that reaches max_head) and "post" is whatever follows and
 * must not matter.  http_run_three_ways() feeds a vector whole, split at
 * every offset and one byte at a time, always from a buffer of exactly
 * the bytes fed so ASan sees any read past the end, and asserts that every
 * shorter prefix than "pre" needs more bytes and every longer one gets the
 * verdict: errors are reported at the offending byte, not at the end of
 * the head, and bytes after the head are never looked at.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define HTTP_TEST_MAX_HEAD	8192
#define HTTP_TEST_FIELDS	10

/* A byte string that may hold NUL: B("a\0b"). */
struct http_bytes {
	const char	*p;
	size_t		 len;
};
#define B(s)	{ (s), sizeof(s) - 1 }

struct http_vector {
	const char		*name;
	struct http_bytes	 pre;		/* the verdict is due once all
						   of it is in */
	struct http_bytes	 post;		/* bytes that must not matter */
	size_t			 max_head;	/* 0: HTTP_TEST_MAX_HEAD */
	enum http_parse_result	 result;
	int			 status;	/* ERROR: expected status */
	const char		*errstr;	/* ERROR: expected reason */
	const char		*method;	/* OK: expected request line */
	const char		*target;
	int			 minor;
	size_t			 nheaders;	/* OK: expected count */
	const char		*fields[HTTP_TEST_FIELDS][2]; /* OK: the first
						   fields, name and value */
};

static bool
http_test_equal(const char *p, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(p, s, len) == 0;
}

static char *
http_test_copy(const char *p, size_t len)
{
	char	*copy;

	/* malloc(0) may return NULL; one spare byte is never read. */
	copy = malloc(len + 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, len);
	return copy;
}

/* Asserts that one parse of v's bytes (how says which run) got v's verdict. */
static void
http_check_verdict(const struct http_vector *v, const char *how, size_t len,
    enum http_parse_result r, const struct http_request *req, int status,
    const char *errstr)
{
	const struct http_header	*h;
	size_t				 i;

	ck_assert_msg(r == v->result, "%s: %s, %zu bytes: result %d, want %d",
	    v->name, how, len, (int)r, (int)v->result);
	if (r == HTTP_PARSE_ERROR) {
		ck_assert_msg(status == v->status && errstr != NULL &&
		    strcmp(errstr, v->errstr) == 0,
		    "%s: %s, %zu bytes: got %d \"%s\", want %d \"%s\"",
		    v->name, how, len, status, errstr ? errstr : "(null)",
		    v->status, v->errstr);
		return;
	}
	ck_assert_msg(req->head_len == v->pre.len,
	    "%s: %s: head_len %zu, want %zu", v->name, how, req->head_len,
	    v->pre.len);
	ck_assert_msg(http_test_equal(req->method, req->method_len, v->method),
	    "%s: %s: method \"%.*s\"", v->name, how, (int)req->method_len,
	    req->method);
	ck_assert_msg(http_test_equal(req->target, req->target_len, v->target),
	    "%s: %s: target \"%.*s\"", v->name, how, (int)req->target_len,
	    req->target);
	ck_assert_msg(req->version_minor == v->minor,
	    "%s: %s: version_minor %d", v->name, how, req->version_minor);
	ck_assert_msg(req->nheaders == v->nheaders,
	    "%s: %s: nheaders %zu, want %zu", v->name, how, req->nheaders,
	    v->nheaders);
	for (i = 0; i < HTTP_TEST_FIELDS && v->fields[i][0] != NULL; i++) {
		h = &req->headers[i];
		ck_assert_msg(http_test_equal(h->name, h->name_len,
		    v->fields[i][0]) && http_test_equal(h->value, h->value_len,
		    v->fields[i][1]),
		    "%s: %s: field %zu is \"%.*s\": \"%.*s\"", v->name, how, i,
		    (int)h->name_len, h->name, (int)h->value_len, h->value);
	}
}

/*
 * Parses the first len bytes of buf, checking the verdict when len covers
 * "pre" and NEED_MORE before.
 */
static void
http_check_prefix(const struct http_vector *v, const char *how,
    const char *buf, size_t len)
{
	struct http_request	 req;
	enum http_parse_result	 r;
	const char		*errstr = NULL;
	size_t			 max_head;
	int			 status = 0;

	max_head = v->max_head != 0 ? v->max_head : HTTP_TEST_MAX_HEAD;
	r = http_parse_request(buf, len, max_head, &req, &status, &errstr);
	if (len >= v->pre.len) {
		http_check_verdict(v, how, len, r, &req, status, errstr);
		return;
	}
	ck_assert_msg(r == HTTP_PARSE_NEED_MORE,
	    "%s: %s, %zu of %zu bytes: result %d (%d \"%s\"), want need more",
	    v->name, how, len, v->pre.len, (int)r, status,
	    errstr ? errstr : "");
}

/* Feeds v whole, split at every offset, and one byte at a time. */
static void
http_run_three_ways(const struct http_vector *v)
{
	char	*whole, *part, *grow, *p;
	size_t	 len, k;

	len = v->pre.len + v->post.len;
	whole = malloc(len + 1);
	ck_assert_ptr_nonnull(whole);
	memcpy(whole, v->pre.p, v->pre.len);
	if (v->post.len > 0)
		memcpy(whole + v->pre.len, v->post.p, v->post.len);

	http_check_prefix(v, "whole", whole, len);

	for (k = 0; k < len; k++) {
		part = http_test_copy(whole, k);
		http_check_prefix(v, "split, first part", part, k);
		free(part);
		/* The rest arrives: the caller parses its whole buffer. */
		http_check_prefix(v, "split, whole", whole, len);
	}

	/* realloc() may move the buffer, as an evbuffer pullup would. */
	grow = NULL;
	for (k = 1; k <= len; k++) {
		p = realloc(grow, k);
		ck_assert_ptr_nonnull(p);
		grow = p;
		grow[k - 1] = whole[k - 1];
		http_check_prefix(v, "byte by byte", grow, k);
	}
	if (len == 0)
		http_check_prefix(v, "byte by byte", whole, 0);
	free(grow);
	free(whole);
}

/*
 * Request line (RFC 9112 §3).
 */
static const struct http_vector http_line_vectors[] = {
	{ .name = "minimal request",
	  .pre = B("GET / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1 },
	{ .name = "http/1.0 is parsed",
	  .pre = B("GET /x HTTP/1.0\r\nHost: a\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/x",
	  .minor = 0, .nheaders = 1, .fields = { { "Host", "a" } } },
	{ .name = "http/1.2 is a compatible minor version",
	  .pre = B("GET / HTTP/1.2\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 2 },
	{ .name = "http/1.9",
	  .pre = B("GET / HTTP/1.9\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 9 },
	{ .name = "target with query",
	  .pre = B("GET /chat?room=1&x=%20y HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET",
	  .target = "/chat?room=1&x=%20y", .minor = 1 },
	{ .name = "target of any visible ascii",
	  .pre = B("GET /a\"<>\\^`{|}#~! HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET",
	  .target = "/a\"<>\\^`{|}#~!", .minor = 1 },
	{ .name = "method of tchars",
	  .pre = B("X!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "X!#$%&'*+-.^_`|~09azAZ",
	  .target = "/", .minor = 1 },
	{ .name = "lower-case method is a token too",
	  .pre = B("get / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "get", .target = "/",
	  .minor = 1 },
	{ .name = "empty line before request line",
	  .pre = B("\r"), .post = B("\nGET / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "empty line before request line" },
	{ .name = "bare lf before request line",
	  .pre = B("\n"), .post = B("GET / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "bare lf in request head" },
	{ .name = "request line starting with a space",
	  .pre = B(" "), .post = B("GET / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in method" },
	{ .name = "ctl in method",
	  .pre = B("GE\x01"), .post = B("T / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in method" },
	{ .name = "nul in method",
	  .pre = B("GE\0"), .post = B("T / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in method" },
	{ .name = "tab after method",
	  .pre = B("GET\t"), .post = B("/ HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in method" },
	{ .name = "request line without target",
	  .pre = B("GET\r"), .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "request line lacks a target" },
	{ .name = "request line of a method and a space",
	  .pre = B("GET \r"), .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "request line lacks a target" },
	{ .name = "two spaces after method",
	  .pre = B("GET  "), .post = B("/ HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "request line parts must be separated by a single space" },
	{ .name = "two spaces after target",
	  .pre = B("GET /  "), .post = B("HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "request line parts must be separated by a single space" },
	{ .name = "absolute-form target",
	  .pre = B("GET h"),
	  .post = B("ttp://example.com/chat HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "request target must be origin-form" },
	{ .name = "asterisk-form target",
	  .pre = B("OPTIONS *"), .post = B(" HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "request target must be origin-form" },
	{ .name = "authority-form target",
	  .pre = B("CONNECT e"), .post = B("xample.com:443 HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "request target must be origin-form" },
	{ .name = "ctl in target",
	  .pre = B("GET /a\x01"), .post = B(" HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in request target" },
	{ .name = "tab in target",
	  .pre = B("GET /a\t"), .post = B("b HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in request target" },
	{ .name = "nul in target",
	  .pre = B("GET /a\0"), .post = B(" HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in request target" },
	{ .name = "del in target",
	  .pre = B("GET /a\x7f"), .post = B(" HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in request target" },
	{ .name = "non-ascii byte in target",
	  .pre = B("GET /caf\xc3"), .post = B("\xa9 HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in request target" },
	{ .name = "http/0.9 simple request",
	  .pre = B("GET /chat\r"), .post = B("\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "request line lacks an http version" },
	{ .name = "bare lf after target",
	  .pre = B("GET /chat\n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "bare lf in request head" },
	{ .name = "lower-case http name",
	  .pre = B("GET / h"), .post = B("ttp/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "malformed http version" },
	{ .name = "other protocol name",
	  .pre = B("GET / HTTPS"), .post = B("/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "malformed http version" },
	{ .name = "http/2.0",
	  .pre = B("GET / HTTP/2"), .post = B(".0\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 505,
	  .errstr = "unsupported http major version" },
	{ .name = "http/0.9 in a request line",
	  .pre = B("GET / HTTP/0"), .post = B(".9\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 505,
	  .errstr = "unsupported http major version" },
	{ .name = "two-digit major version",
	  .pre = B("GET / HTTP/11"), .post = B(".1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "malformed http version" },
	{ .name = "two-digit minor version",
	  .pre = B("GET / HTTP/1.11"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "malformed http version" },
	{ .name = "version without minor",
	  .pre = B("GET / HTTP/1\r"), .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "malformed http version" },
	{ .name = "version with a letter",
	  .pre = B("GET / HTTP/1.x"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "malformed http version" },
	{ .name = "version without digits",
	  .pre = B("GET / HTTP/."), .post = B("1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "malformed http version" },
	{ .name = "space after version",
	  .pre = B("GET / HTTP/1.1 "), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "malformed http version" },
	{ .name = "bare cr after request line",
	  .pre = B("GET / HTTP/1.1\rX"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "cr not followed by lf" },
	{ .name = "bare lf after request line",
	  .pre = B("GET / HTTP/1.1\n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "bare lf in request head" },
};

/*
 * Field lines and the end of the head (RFC 9112 §2.1, §5; RFC 9110 §5.5).
 */
static const struct http_vector http_field_vectors[] = {
	{ .name = "rfc 6455 section 1.2 opening handshake",
	  .pre = B("GET /chat HTTP/1.1\r\n"
	      "Host: server.example.com\r\n"
	      "Upgrade: websocket\r\n"
	      "Connection: Upgrade\r\n"
	      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	      "Origin: http://example.com\r\n"
	      "Sec-WebSocket-Protocol: chat, superchat\r\n"
	      "Sec-WebSocket-Version: 13\r\n"
	      "\r\n"),
	  /* A masked "Hello" (RFC 6455 §5.7), sent before the 101. */
	  .post = B("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/chat",
	  .minor = 1, .nheaders = 7,
	  .fields = {
	      { "Host", "server.example.com" },
	      { "Upgrade", "websocket" },
	      { "Connection", "Upgrade" },
	      { "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==" },
	      { "Origin", "http://example.com" },
	      { "Sec-WebSocket-Protocol", "chat, superchat" },
	      { "Sec-WebSocket-Version", "13" } } },
	{ .name = "ows around values is trimmed",
	  .pre = B("GET / HTTP/1.1\r\n"
	      "A:  \t x \t y \t \r\n"
	      "B:z\r\n"
	      "C:\t\tw\t\t\r\n"
	      "D: v \r\n"
	      "\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nheaders = 4,
	  .fields = { { "A", "x \t y" }, { "B", "z" }, { "C", "w" },
	      { "D", "v" } } },
	{ .name = "empty values",
	  .pre = B("GET / HTTP/1.1\r\nA:\r\nB:   \r\nC:\t\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nheaders = 3,
	  .fields = { { "A", "" }, { "B", "" }, { "C", "" } } },
	{ .name = "obs-text in values",
	  .pre = B("GET / HTTP/1.1\r\nA: caf\xc3\xa9\r\nB: \xff\x80\r\n"
	      "C: \x80" "x\x80\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nheaders = 3,
	  .fields = { { "A", "caf\xc3\xa9" }, { "B", "\xff\x80" },
	      { "C", "\x80" "x\x80" } } },
	{ .name = "colons and visible ascii in a value",
	  .pre = B("GET / HTTP/1.1\r\nHost: example.com:8080\r\n"
	      "X: a:b \"q\" ~!\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nheaders = 2,
	  .fields = { { "Host", "example.com:8080" },
	      { "X", "a:b \"q\" ~!" } } },
	{ .name = "field name of every tchar",
	  .pre = B("GET / HTTP/1.1\r\nX-!#$%&'*+.^_`|~09az: 1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nheaders = 1,
	  .fields = { { "X-!#$%&'*+.^_`|~09az", "1" } } },
	{ .name = "duplicate fields are all kept",
	  .pre = B("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nheaders = 2,
	  .fields = { { "Host", "a" }, { "host", "b" } } },
	{ .name = "pipelined request after the head is not looked at",
	  .pre = B("GET / HTTP/1.1\r\n\r\n"),
	  .post = B("GET /2 HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1 },
	{ .name = "garbage after the head is not looked at",
	  .pre = B("GET / HTTP/1.1\r\nA: b\r\n\r\n"),
	  .post = B("\n\0\r\x7f \n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nheaders = 1, .fields = { { "A", "b" } } },
	{ .name = "space before colon",
	  .pre = B("GET / HTTP/1.1\r\nHost "),
	  .post = B(": example.com\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "whitespace before colon in header field" },
	{ .name = "tab before colon",
	  .pre = B("GET / HTTP/1.1\r\nHost\t"),
	  .post = B(": example.com\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "whitespace before colon in header field" },
	{ .name = "obs-fold with a space",
	  .pre = B("GET / HTTP/1.1\r\nA: b\r\n "), .post = B("c\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "obs-fold is not allowed" },
	{ .name = "obs-fold with a tab",
	  .pre = B("GET / HTTP/1.1\r\nA: b\r\n\t"), .post = B("c\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "obs-fold is not allowed" },
	{ .name = "whitespace before the first field",
	  .pre = B("GET / HTTP/1.1\r\n "), .post = B("Host: a\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "whitespace before first header field" },
	{ .name = "empty field name",
	  .pre = B("GET / HTTP/1.1\r\n:"), .post = B(" b\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "empty header field name" },
	{ .name = "field line without colon",
	  .pre = B("GET / HTTP/1.1\r\nHost\r"), .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "header field lacks a colon" },
	{ .name = "separator in field name",
	  .pre = B("GET / HTTP/1.1\r\nHo("), .post = B("st: a\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field name" },
	{ .name = "field name starting with a separator",
	  .pre = B("GET / HTTP/1.1\r\n@"), .post = B("a: b\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field name" },
	{ .name = "non-ascii byte in field name",
	  .pre = B("GET / HTTP/1.1\r\nA\xc3"), .post = B("\xa9: b\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field name" },
	{ .name = "nul in field name",
	  .pre = B("GET / HTTP/1.1\r\nA\0"), .post = B(": b\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field name" },
	{ .name = "nul in value",
	  .pre = B("GET / HTTP/1.1\r\nA: b\0"), .post = B("c\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field value" },
	{ .name = "nul at the start of a value",
	  .pre = B("GET / HTTP/1.1\r\nA: \0"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field value" },
	{ .name = "ctl in value",
	  .pre = B("GET / HTTP/1.1\r\nA: b\x1b"), .post = B("[0m\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field value" },
	{ .name = "del in value",
	  .pre = B("GET / HTTP/1.1\r\nA: b\x7f"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field value" },
	{ .name = "vertical tab in value",
	  .pre = B("GET / HTTP/1.1\r\nA: b \x0b"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field value" },
	{ .name = "bare cr in value",
	  .pre = B("GET / HTTP/1.1\r\nA: b\rc"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "cr not followed by lf" },
	{ .name = "bare cr ending an empty value",
	  .pre = B("GET / HTTP/1.1\r\nA:\r\r"), .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "cr not followed by lf" },
	{ .name = "bare lf ending a field line",
	  .pre = B("GET / HTTP/1.1\r\nA: b\n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "bare lf in request head" },
	{ .name = "bare lf after ows",
	  .pre = B("GET / HTTP/1.1\r\nA: \n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "bare lf in request head" },
	{ .name = "bare lf in field name",
	  .pre = B("GET / HTTP/1.1\r\nHost\n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "bare lf in request head" },
	{ .name = "bare cr in the empty line",
	  .pre = B("GET / HTTP/1.1\r\nA: b\r\n\rX"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "cr not followed by lf" },
	{ .name = "bare lf as the empty line",
	  .pre = B("GET / HTTP/1.1\r\nA: b\r\n\n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "bare lf in request head" },
	{ .name = "cr cr lf as the empty line",
	  .pre = B("GET / HTTP/1.1\r\n\r\r"), .post = B("\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "cr not followed by lf" },
};

/*
 * Head size (RFC 6585 §5).  "GET / HTTP/1.1\r\n\r\n" is 18 bytes.
 */
static const struct http_vector http_limit_vectors[] = {
	{ .name = "head of exactly max_head bytes",
	  .pre = B("GET / HTTP/1.1\r\n\r\n"), .max_head = 18,
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1 },
	{ .name = "head ending one byte past max_head",
	  .pre = B("GET / HTTP/1.1\r\n\r"), .post = B("\n"), .max_head = 17,
	  .result = HTTP_PARSE_ERROR, .status = 431,
	  .errstr = "request head too large" },
	{ .name = "incomplete head reaching max_head",
	  .pre = B("GET / HTTP/1.1\r\nAB"), .post = B(": c\r\n\r\n"),
	  .max_head = 18,
	  .result = HTTP_PARSE_ERROR, .status = 431,
	  .errstr = "request head too large" },
	{ .name = "request line longer than max_head",
	  .pre = B("GET /aaaaaaaa"), .post = B("aaaa HTTP/1.1\r\n\r\n"),
	  .max_head = 13,
	  .result = HTTP_PARSE_ERROR, .status = 431,
	  .errstr = "request head too large" },
	{ .name = "bad byte past max_head is not reached",
	  .pre = B("GET / HTTP/1.1\r\nAB"), .post = B("\0\r\n\r\n"),
	  .max_head = 18,
	  .result = HTTP_PARSE_ERROR, .status = 431,
	  .errstr = "request head too large" },
	{ .name = "bad byte at max_head beats the limit",
	  .pre = B("GET / HTTP/1.1\r\nA\x01"), .post = B(": c\r\n\r\n"),
	  .max_head = 18,
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "invalid character in header field name" },
};

START_TEST(test_http_request_line)
{
	http_run_three_ways(&http_line_vectors[_i]);
}
END_TEST

START_TEST(test_http_fields)
{
	http_run_three_ways(&http_field_vectors[_i]);
}
END_TEST

START_TEST(test_http_head_size_limit)
{
	http_run_three_ways(&http_limit_vectors[_i]);
}
END_TEST

/*
 * Builds "GET /many HTTP/1.1" CRLF and n fields "X-Field-<i>: value <i>"
 * into buf; returns the length, without the empty line that would end it.
 */
static size_t
http_test_many_fields(char *buf, size_t size, size_t n)
{
	size_t	 i, len;
	int	 w;

	len = (size_t)snprintf(buf, size, "GET /many HTTP/1.1\r\n");
	for (i = 0; i < n; i++) {
		w = snprintf(buf + len, size - len,
		    "X-Field-%zu:  value %zu \r\n", i, i);
		ck_assert(w > 0 && (size_t)w < size - len);
		len += (size_t)w;
	}
	return len;
}

START_TEST(test_http_many_headers)
{
	static char		 buf[65536];
	struct http_vector	 v;
	struct http_request	 req;
	const char		*errstr = NULL;
	char			 want[64];
	size_t			 i, len;
	int			 status = 0;

	len = http_test_many_fields(buf, sizeof(buf) - 2, HTTP_MAX_HEADERS);
	memcpy(buf + len, "\r\n", 2);
	len += 2;
	memset(&v, 0, sizeof(v));
	v.name = "HTTP_MAX_HEADERS fields";
	v.pre.p = buf;
	v.pre.len = len;
	v.result = HTTP_PARSE_OK;
	v.method = "GET";
	v.target = "/many";
	v.minor = 1;
	v.nheaders = HTTP_MAX_HEADERS;
	http_run_three_ways(&v);

	ck_assert_int_eq(http_parse_request(buf, len, HTTP_TEST_MAX_HEAD, &req,
	    &status, &errstr), HTTP_PARSE_OK);
	ck_assert_uint_eq(req.nheaders, HTTP_MAX_HEADERS);
	for (i = 0; i < req.nheaders; i++) {
		snprintf(want, sizeof(want), "X-Field-%zu", i);
		ck_assert_msg(http_test_equal(req.headers[i].name,
		    req.headers[i].name_len, want), "name %zu", i);
		snprintf(want, sizeof(want), "value %zu", i);
		ck_assert_msg(http_test_equal(req.headers[i].value,
		    req.headers[i].value_len, want), "value %zu", i);
	}
}
END_TEST

START_TEST(test_http_too_many_headers)
{
	static char		 buf[65536];
	static const char	 rest[] = "-Field-64: v\r\n\r\n";
	struct http_vector	 v;
	size_t			 len;

	/* The verdict is due at the first byte of one field too many. */
	len = http_test_many_fields(buf, sizeof(buf), HTTP_MAX_HEADERS);
	buf[len++] = 'X';
	memset(&v, 0, sizeof(v));
	v.name = "HTTP_MAX_HEADERS + 1 fields";
	v.pre.p = buf;
	v.pre.len = len;
	v.post.p = rest;
	v.post.len = sizeof(rest) - 1;
	v.result = HTTP_PARSE_ERROR;
	v.status = 431;
	v.errstr = "too many header fields";
	http_run_three_ways(&v);
}
END_TEST

START_TEST(test_http_find_header)
{
	static const char		 head[] = "GET / HTTP/1.1\r\n"
	    "Host: a\r\nX: 1\r\nhost: b\r\nHOST: c\r\nHost-Name: d\r\n\r\n";
	struct http_request		 req;
	const struct http_header	*h;
	const char			*errstr = NULL;
	size_t				 count;
	int				 status = 0;

	ck_assert_int_eq(http_parse_request(head, sizeof(head) - 1,
	    HTTP_TEST_MAX_HEAD, &req, &status, &errstr), HTTP_PARSE_OK);

	h = http_find_header(&req, "hOsT", &count);
	ck_assert_ptr_eq(h, &req.headers[0]);
	ck_assert_uint_eq(count, 3);

	h = http_find_header(&req, "x", &count);
	ck_assert_ptr_eq(h, &req.headers[1]);
	ck_assert_uint_eq(count, 1);

	h = http_find_header(&req, "Host-Name", NULL);
	ck_assert_ptr_eq(h, &req.headers[4]);

	/* Neither a prefix nor an extension of a name matches it. */
	count = 42;
	ck_assert_ptr_null(http_find_header(&req, "Hos", &count));
	ck_assert_uint_eq(count, 0);
	ck_assert_ptr_null(http_find_header(&req, "Hosts", &count));
	ck_assert_uint_eq(count, 0);
	ck_assert_ptr_null(http_find_header(&req, "", NULL));
}
END_TEST

struct http_list_vector {
	const char	*value;
	const char	*token;
	bool		 found;
};

static const struct http_list_vector http_list_vectors[] = {
	{ "keep-alive, Upgrade", "upgrade", true },
	{ "keep-alive, Upgrade", "keep-alive", true },
	{ "Upgrade2", "upgrade", false },
	{ "upgrade-insecure", "upgrade", false },
	{ "xupgrade", "upgrade", false },
	{ "upgrad", "upgrade", false },
	{ "  upgrade  ", "upgrade", true },
	{ "\tUPGRADE\t", "upgrade", true },
	{ "", "upgrade", false },
	{ "   ", "upgrade", false },
	{ ",", "upgrade", false },
	{ "a, ,b", "b", true },
	{ "a, ,b", "a", true },
	{ "a, ,b", "", false },
	{ ",,upgrade,,", "upgrade", true },
	{ "keep-alive", "upgrade", false },
	{ "keep-alive upgrade", "upgrade", false },
	{ "WebSocket", "websocket", true },
	{ "websocket, h2c", "h2c", true },
	{ "h2c", "websocket", false },
	{ "websocket/13", "websocket", false },
};

START_TEST(test_http_list_has_token)
{
	const struct http_list_vector	*v = &http_list_vectors[_i];

	ck_assert_msg(http_list_has_token(v->value, strlen(v->value),
	    v->token) == v->found, "\"%s\" has \"%s\": want %s", v->value,
	    v->token, v->found ? "true" : "false");
}
END_TEST

START_TEST(test_http_list_has_token_bounded)
{
	static const char	 value[] = "upgrade, websocket";

	/* Only len bytes are the list; no NUL is needed. */
	ck_assert(http_list_has_token(value, 7, "upgrade"));
	ck_assert(!http_list_has_token(value, 6, "upgrade"));
	ck_assert(!http_list_has_token(value, 12, "websocket"));
	ck_assert(!http_list_has_token(value, 0, "upgrade"));
}
END_TEST

START_TEST(test_http_header_has_token_repeated)
{
	static const char	 head[] = "GET / HTTP/1.1\r\n"
	    "Host: a\r\nConnection: keep-alive\r\nconnection: Upgrade\r\n\r\n";
	struct http_request	 req;
	const char		*errstr;
	int			 status;

	ck_assert_int_eq(http_parse_request(head, sizeof(head) - 1, 8192,
	    &req, &status, &errstr), HTTP_PARSE_OK);
	/* RFC 9110 §5.3: repeated list fields form one list. */
	ck_assert(http_header_has_token(&req, "Connection", "upgrade"));
	ck_assert(http_header_has_token(&req, "CONNECTION", "keep-alive"));
	ck_assert(!http_header_has_token(&req, "Connection", "close"));
	ck_assert(!http_header_has_token(&req, "Upgrade", "websocket"));
}
END_TEST

struct http_status_vector {
	int		 status;
	const char	*text;
};

static const struct http_status_vector http_status_vectors[] = {
	{ 101, "Switching Protocols" },
	{ 200, "OK" },
	{ 400, "Bad Request" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 421, "Misdirected Request" },
	{ 426, "Upgrade Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
	{ 0, "Unknown" },
	{ -1, "Unknown" },
	{ 299, "Unknown" },
	{ 999, "Unknown" },
};

START_TEST(test_http_status_text)
{
	const struct http_status_vector	*v = &http_status_vectors[_i];

	ck_assert_str_eq(http_status_text(v->status), v->text);
}
END_TEST

#define HTTP_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
http_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("http");

	tc = tcase_create("request line");
	tcase_add_loop_test(tc, test_http_request_line, 0,
	    HTTP_NELEM(http_line_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_loop_test(tc, test_http_fields, 0,
	    HTTP_NELEM(http_field_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_loop_test(tc, test_http_head_size_limit, 0,
	    HTTP_NELEM(http_limit_vectors));
	tcase_add_test(tc, test_http_many_headers);
	tcase_add_test(tc, test_http_too_many_headers);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_test(tc, test_http_find_header);
	tcase_add_loop_test(tc, test_http_list_has_token, 0,
	    HTTP_NELEM(http_list_vectors));
	tcase_add_test(tc, test_http_list_has_token_bounded);
	tcase_add_test(tc, test_http_header_has_token_repeated);
	tcase_add_loop_test(tc, test_http_status_text, 0,
	    HTTP_NELEM(http_status_vectors));
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(http_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
