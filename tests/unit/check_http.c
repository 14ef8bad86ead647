/*
 * check_http — unit tests of the strict HTTP/1.1 head parser, requests and
 * responses.
 *
 * Each parser vector is a head split in two: "pre" ends with the byte
 * that decides the verdict (the LF of the empty line, the offending byte,
 * or the byte that reaches max_head) and "post" is whatever follows and
 * must not matter.  http_run_three_ways() feeds a vector whole, split at
 * every offset and one byte at a time, always from a buffer of exactly
 * the bytes fed so ASan sees any read past the end, and asserts that every
 * shorter prefix than "pre" needs more bytes and every longer one gets the
 * verdict: errors are reported at the offending byte, not at the end of
 * the head, and bytes after the head are never looked at.  Request and
 * response vectors go through the same helper; only the parser called
 * and the start line checked differ.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "check_main.h"

#define HTTP_TEST_MAX_HEAD	8192
#define HTTP_TEST_FIELDS	10

/* A byte string that may hold NUL: B("a\0b"). */
struct http_bytes {
	const char	*p;
	size_t		 len;
};
#define B(s)	{ (s), sizeof(s) - 1 }

/* Which parser a vector is for. */
enum http_test_kind {
	HTTP_TEST_REQUEST,
	HTTP_TEST_RESPONSE
};

struct http_vector {
	const char		*name;
	struct http_bytes	 pre;		/* the verdict is due once all
						   of it is in */
	struct http_bytes	 post;		/* bytes that must not matter */
	size_t			 max_head;	/* 0: HTTP_TEST_MAX_HEAD */
	enum http_parse_result	 result;
	int			 status;	/* ERROR: expected status
						   (requests only) */
	const char		*errstr;	/* ERROR: expected reason */
	const char		*method;	/* OK: expected request line */
	const char		*target;
	int			 code;		/* OK: expected status line */
	const char		*reason;
	int			 minor;		/* OK: expected version */
	size_t			 nfields;	/* OK: expected count */
	const char		*fields[HTTP_TEST_FIELDS][2]; /* OK: the first
						   fields, name and value */
};

/* One parse of either kind, as the checks see it. */
struct http_test_parse {
	enum http_parse_result	 r;
	struct http_request	 req;
	struct http_response	 resp;
	const struct http_fields *fields;
	size_t			 head_len;
	int			 minor;
	int			 status;	/* requests only */
	const char		*errstr;
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

/* Parses len bytes of buf with the parser of kind into *t. */
static void
http_test_parse(enum http_test_kind kind, const char *buf, size_t len,
    size_t max_head, struct http_test_parse *t)
{
	memset(t, 0, sizeof(*t));
	if (kind == HTTP_TEST_REQUEST) {
		t->r = http_parse_request(buf, len, max_head, &t->req,
		    &t->status, &t->errstr);
		t->fields = &t->req.fields;
		t->head_len = t->req.head_len;
		t->minor = t->req.version_minor;
	} else {
		t->r = http_parse_response(buf, len, max_head, &t->resp,
		    &t->errstr);
		t->fields = &t->resp.fields;
		t->head_len = t->resp.head_len;
		t->minor = t->resp.version_minor;
	}
}

/* Asserts that t has v's request line. */
static void
http_check_request_line(const struct http_vector *v, const char *how,
    const struct http_request *req)
{
	ck_assert_msg(http_test_equal(req->method, req->method_len, v->method),
	    "%s: %s: method \"%.*s\"", v->name, how, (int)req->method_len,
	    req->method);
	ck_assert_msg(http_test_equal(req->target, req->target_len, v->target),
	    "%s: %s: target \"%.*s\"", v->name, how, (int)req->target_len,
	    req->target);
}

/* Asserts that t has v's status line. */
static void
http_check_status_line(const struct http_vector *v, const char *how,
    const struct http_response *resp)
{
	ck_assert_msg(resp->status == v->code, "%s: %s: status %d, want %d",
	    v->name, how, resp->status, v->code);
	ck_assert_msg(resp->reason != NULL &&
	    http_test_equal(resp->reason, resp->reason_len, v->reason),
	    "%s: %s: reason \"%.*s\"", v->name, how, (int)resp->reason_len,
	    resp->reason != NULL ? resp->reason : "");
}

/* Asserts that one parse of v's bytes (how says which run) got v's verdict. */
static void
http_check_verdict(const struct http_vector *v, enum http_test_kind kind,
    const char *how, size_t len, const struct http_test_parse *t)
{
	const struct http_header	*h;
	size_t				 i;

	ck_assert_msg(t->r == v->result,
	    "%s: %s, %zu bytes: result %d, want %d", v->name, how, len,
	    (int)t->r, (int)v->result);
	if (t->r == HTTP_PARSE_ERROR) {
		ck_assert_msg((kind == HTTP_TEST_RESPONSE ||
		    t->status == v->status) && t->errstr != NULL &&
		    strcmp(t->errstr, v->errstr) == 0,
		    "%s: %s, %zu bytes: got %d \"%s\", want %d \"%s\"",
		    v->name, how, len, t->status,
		    t->errstr ? t->errstr : "(null)", v->status, v->errstr);
		return;
	}
	ck_assert_msg(t->head_len == v->pre.len,
	    "%s: %s: head_len %zu, want %zu", v->name, how, t->head_len,
	    v->pre.len);
	if (kind == HTTP_TEST_REQUEST)
		http_check_request_line(v, how, &t->req);
	else
		http_check_status_line(v, how, &t->resp);
	ck_assert_msg(t->minor == v->minor, "%s: %s: version_minor %d",
	    v->name, how, t->minor);
	ck_assert_msg(t->fields->n == v->nfields,
	    "%s: %s: %zu fields, want %zu", v->name, how, t->fields->n,
	    v->nfields);
	for (i = 0; i < HTTP_TEST_FIELDS && v->fields[i][0] != NULL; i++) {
		h = &t->fields->h[i];
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
http_check_prefix(const struct http_vector *v, enum http_test_kind kind,
    const char *how, const char *buf, size_t len)
{
	struct http_test_parse	 t;
	size_t			 max_head;

	max_head = v->max_head != 0 ? v->max_head : HTTP_TEST_MAX_HEAD;
	http_test_parse(kind, buf, len, max_head, &t);
	if (len >= v->pre.len) {
		http_check_verdict(v, kind, how, len, &t);
		return;
	}
	ck_assert_msg(t.r == HTTP_PARSE_NEED_MORE,
	    "%s: %s, %zu of %zu bytes: result %d (%d \"%s\"), want need more",
	    v->name, how, len, v->pre.len, (int)t.r, t.status,
	    t.errstr ? t.errstr : "");
}

/* Feeds v whole, split at every offset, and one byte at a time. */
static void
http_run_three_ways(const struct http_vector *v, enum http_test_kind kind)
{
	char	*whole, *part, *grow, *p;
	size_t	 len, k;

	len = v->pre.len + v->post.len;
	whole = malloc(len + 1);
	ck_assert_ptr_nonnull(whole);
	memcpy(whole, v->pre.p, v->pre.len);
	if (v->post.len > 0)
		memcpy(whole + v->pre.len, v->post.p, v->post.len);

	http_check_prefix(v, kind, "whole", whole, len);

	for (k = 0; k < len; k++) {
		part = http_test_copy(whole, k);
		http_check_prefix(v, kind, "split, first part", part, k);
		free(part);
		/* The rest arrives: the caller parses its whole buffer. */
		http_check_prefix(v, kind, "split, whole", whole, len);
	}

	/* realloc() may move the buffer, as an evbuffer pullup would. */
	grow = NULL;
	for (k = 1; k <= len; k++) {
		p = realloc(grow, k);
		ck_assert_ptr_nonnull(p);
		grow = p;
		grow[k - 1] = whole[k - 1];
		http_check_prefix(v, kind, "byte by byte", grow, k);
	}
	if (len == 0)
		http_check_prefix(v, kind, "byte by byte", whole, 0);
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
	  .minor = 0, .nfields = 1, .fields = { { "Host", "a" } } },
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
	{ .name = "target of any visible ascii but #",
	  .pre = B("GET /a\"<>\\^`{|}~! HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET",
	  .target = "/a\"<>\\^`{|}~!", .minor = 1 },
	{ .name = "fragment in target",
	  .pre = B("GET /a#"), .post = B("x HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "fragment in request target" },
	{ .name = "fragment after a query",
	  .pre = B("GET /a?b=1#"), .post = B(" HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .status = 400,
	  .errstr = "fragment in request target" },
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
	  .minor = 1, .nfields = 7,
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
	  .minor = 1, .nfields = 4,
	  .fields = { { "A", "x \t y" }, { "B", "z" }, { "C", "w" },
	      { "D", "v" } } },
	{ .name = "empty values",
	  .pre = B("GET / HTTP/1.1\r\nA:\r\nB:   \r\nC:\t\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nfields = 3,
	  .fields = { { "A", "" }, { "B", "" }, { "C", "" } } },
	{ .name = "obs-text in values",
	  .pre = B("GET / HTTP/1.1\r\nA: caf\xc3\xa9\r\nB: \xff\x80\r\n"
	      "C: \x80" "x\x80\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nfields = 3,
	  .fields = { { "A", "caf\xc3\xa9" }, { "B", "\xff\x80" },
	      { "C", "\x80" "x\x80" } } },
	{ .name = "colons and visible ascii in a value",
	  .pre = B("GET / HTTP/1.1\r\nHost: example.com:8080\r\n"
	      "X: a:b \"q\" ~!\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nfields = 2,
	  .fields = { { "Host", "example.com:8080" },
	      { "X", "a:b \"q\" ~!" } } },
	{ .name = "field name of every tchar",
	  .pre = B("GET / HTTP/1.1\r\nX-!#$%&'*+.^_`|~09az: 1\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nfields = 1,
	  .fields = { { "X-!#$%&'*+.^_`|~09az", "1" } } },
	{ .name = "duplicate fields are all kept",
	  .pre = B("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .method = "GET", .target = "/",
	  .minor = 1, .nfields = 2,
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
	  .minor = 1, .nfields = 1, .fields = { { "A", "b" } } },
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

/*
 * Status line (RFC 9112 §4).
 */
static const struct http_vector http_status_line_vectors[] = {
	{ .name = "empty reason phrase",
	  .pre = B("HTTP/1.1 204 \r\n\r\n"),
	  .result = HTTP_PARSE_OK, .code = 204, .reason = "", .minor = 1 },
	{ .name = "http/1.0 response is parsed",
	  .pre = B("HTTP/1.0 200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .code = 200, .reason = "OK", .minor = 0 },
	{ .name = "http/1.2 response is a compatible minor version",
	  .pre = B("HTTP/1.2 101 Switching Protocols\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .code = 101,
	  .reason = "Switching Protocols", .minor = 2 },
	{ .name = "lowest status code",
	  .pre = B("HTTP/1.1 100 Continue\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .code = 100, .reason = "Continue",
	  .minor = 1 },
	{ .name = "highest status code",
	  .pre = B("HTTP/1.1 599 Whatever\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .code = 599, .reason = "Whatever",
	  .minor = 1 },
	{ .name = "unregistered status code in range",
	  .pre = B("HTTP/1.1 299 x\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .code = 299, .reason = "x", .minor = 1 },
	{ .name = "reason phrase is kept verbatim",
	  .pre = B("HTTP/1.1 200  O\tK caf\xc3\xa9 \r\n\r\n"),
	  .result = HTTP_PARSE_OK, .code = 200,
	  .reason = " O\tK caf\xc3\xa9 ", .minor = 1 },
	{ .name = "reason phrase that looks like a field",
	  .pre = B("HTTP/1.1 200 Upgrade: websocket\r\n\r\n"),
	  .result = HTTP_PARSE_OK, .code = 200,
	  .reason = "Upgrade: websocket", .minor = 1 },
	{ .name = "http/2 response",
	  .pre = B("HTTP/2"), .post = B(" 200\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "unsupported http major version" },
	{ .name = "http/0.9 version in a status line",
	  .pre = B("HTTP/0"), .post = B(".9 200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "unsupported http major version" },
	{ .name = "http/0.9 response without a head",
	  .pre = B("<"), .post = B("html></html>"),
	  .result = HTTP_PARSE_ERROR, .errstr = "malformed http version" },
	{ .name = "request line instead of a status line",
	  .pre = B("G"), .post = B("ET / HTTP/1.1\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "malformed http version" },
	{ .name = "lower-case http name in a status line",
	  .pre = B("h"), .post = B("ttp/1.1 200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "malformed http version" },
	{ .name = "empty line before status line",
	  .pre = B("\r"), .post = B("\nHTTP/1.1 200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "malformed http version" },
	{ .name = "bare lf before status line",
	  .pre = B("\n"), .post = B("HTTP/1.1 200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "bare lf in response head" },
	{ .name = "two-digit major version in a status line",
	  .pre = B("HTTP/11"), .post = B(".1 200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "malformed http version" },
	{ .name = "two-digit minor version in a status line",
	  .pre = B("HTTP/1.11"), .post = B(" 200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "malformed http version" },
	{ .name = "status line version without minor",
	  .pre = B("HTTP/1 "), .post = B("200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "malformed http version" },
	{ .name = "tab after the version",
	  .pre = B("HTTP/1.1\t"), .post = B("200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "malformed http version" },
	{ .name = "status line of a version only",
	  .pre = B("HTTP/1.1\r"), .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status line lacks a status code" },
	{ .name = "two spaces after the version",
	  .pre = B("HTTP/1.1  "), .post = B("200 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status line parts must be separated by a single space" },
	{ .name = "status 99",
	  .pre = B("HTTP/1.1 0"), .post = B("99 Low\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "status code out of range" },
	{ .name = "status 600",
	  .pre = B("HTTP/1.1 6"), .post = B("00 High\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "status code out of range" },
	{ .name = "status 999",
	  .pre = B("HTTP/1.1 9"), .post = B("99 High\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "status code out of range" },
	{ .name = "two-digit status code",
	  .pre = B("HTTP/1.1 20 "), .post = B("OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status code must be three digits" },
	{ .name = "two-digit status code ending the line",
	  .pre = B("HTTP/1.1 20\r"), .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status code must be three digits" },
	{ .name = "four-digit status code",
	  .pre = B("HTTP/1.1 2000"), .post = B(" OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status code must be three digits" },
	{ .name = "letter in status code",
	  .pre = B("HTTP/1.1 2x"), .post = B("0 OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status code must be three digits" },
	{ .name = "status line without sp and reason phrase",
	  .pre = B("HTTP/1.1 200\r"), .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status code not followed by a space" },
	{ .name = "tab after the status code",
	  .pre = B("HTTP/1.1 200\t"), .post = B("OK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status code not followed by a space" },
	{ .name = "bare lf after the status code",
	  .pre = B("HTTP/1.1 200\n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "bare lf in response head" },
	{ .name = "nul in reason phrase",
	  .pre = B("HTTP/1.1 200 O\0"), .post = B("K\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "invalid character in reason phrase" },
	{ .name = "ctl in reason phrase",
	  .pre = B("HTTP/1.1 200 O\x1b"), .post = B("[0mK\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "invalid character in reason phrase" },
	{ .name = "del in reason phrase",
	  .pre = B("HTTP/1.1 200 OK\x7f"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "invalid character in reason phrase" },
	{ .name = "bare lf ending the status line",
	  .pre = B("HTTP/1.1 200 OK\n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "bare lf in response head" },
	{ .name = "bare lf ending an empty reason phrase",
	  .pre = B("HTTP/1.1 204 \n"), .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "bare lf in response head" },
	{ .name = "bare cr after the status line",
	  .pre = B("HTTP/1.1 200 OK\rX"), .post = B("\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "cr not followed by lf" },
};

/*
 * Response field lines: the rules and the code are the requests' (see
 * also test_http_response_fields_as_requests).
 */
static const struct http_vector http_response_field_vectors[] = {
	{ .name = "rfc 6455 section 1.2 server handshake",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\n"
	      "Upgrade: websocket\r\n"
	      "Connection: Upgrade\r\n"
	      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	      "Sec-WebSocket-Protocol: chat\r\n"
	      "\r\n"),
	  /* An unmasked "Hello" (RFC 6455 §5.7) right behind the 101. */
	  .post = B("\x81\x05\x48\x65\x6c\x6c\x6f"),
	  .result = HTTP_PARSE_OK, .code = 101,
	  .reason = "Switching Protocols", .minor = 1, .nfields = 4,
	  .fields = {
	      { "Upgrade", "websocket" },
	      { "Connection", "Upgrade" },
	      { "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" },
	      { "Sec-WebSocket-Protocol", "chat" } } },
	{ .name = "refusal with a body",
	  .pre = B("HTTP/1.1 403 Forbidden\r\n"
	      "Content-Type: text/plain\r\n"
	      "Content-Length: 10\r\n"
	      "\r\n"),
	  /* The body is the caller's to read, by Content-Length. */
	  .post = B("forbidden\n"),
	  .result = HTTP_PARSE_OK, .code = 403, .reason = "Forbidden",
	  .minor = 1, .nfields = 2,
	  .fields = {
	      { "Content-Type", "text/plain" },
	      { "Content-Length", "10" } } },
	{ .name = "body that looks like a head is not looked at",
	  .pre = B("HTTP/1.1 400 Bad Request\r\nContent-Length: 6\r\n\r\n"),
	  .post = B(" \n\0\r\x7f\n"),
	  .result = HTTP_PARSE_OK, .code = 400, .reason = "Bad Request",
	  .minor = 1, .nfields = 1, .fields = { { "Content-Length", "6" } } },
	{ .name = "obs-fold in a response",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\n"
	      "Upgrade: websocket\r\n "),
	  .post = B("x\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "obs-fold is not allowed" },
	{ .name = "whitespace before the first response field",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\n\t"),
	  .post = B("Upgrade: websocket\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "whitespace before first header field" },
	{ .name = "space before colon in a response",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\nUpgrade "),
	  .post = B(": websocket\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "whitespace before colon in header field" },
	{ .name = "separator in a response field name",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\nUp/"),
	  .post = B("grade: websocket\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "invalid character in header field name" },
	{ .name = "ctl in a response field value",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\nUpgrade: web\x01"),
	  .post = B("socket\r\n\r\n"),
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "invalid character in header field value" },
	{ .name = "response field line without colon",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\nUpgrade\r"),
	  .post = B("\n\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "header field lacks a colon" },
	{ .name = "bare lf ending a response field line",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\nUpgrade: a\n"),
	  .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "bare lf in response head" },
	{ .name = "bare lf as the empty line of a response",
	  .pre = B("HTTP/1.1 101 Switching Protocols\r\nUpgrade: a\r\n\n"),
	  .post = B("\r\n"),
	  .result = HTTP_PARSE_ERROR, .errstr = "bare lf in response head" },
};

/*
 * Response head size.  "HTTP/1.1 204 \r\n\r\n" is 17 bytes.
 */
static const struct http_vector http_response_limit_vectors[] = {
	{ .name = "response head of exactly max_head bytes",
	  .pre = B("HTTP/1.1 204 \r\n\r\n"), .max_head = 17,
	  .result = HTTP_PARSE_OK, .code = 204, .reason = "", .minor = 1 },
	{ .name = "response head ending one byte past max_head",
	  .pre = B("HTTP/1.1 204 \r\n\r"), .post = B("\n"), .max_head = 16,
	  .result = HTTP_PARSE_ERROR, .errstr = "response head too large" },
	{ .name = "incomplete response head reaching max_head",
	  .pre = B("HTTP/1.1 204 \r\nAB"), .post = B(": c\r\n\r\n"),
	  .max_head = 17,
	  .result = HTTP_PARSE_ERROR, .errstr = "response head too large" },
	{ .name = "status line longer than max_head",
	  .pre = B("HTTP/1.1 200"), .post = B(" OK\r\n\r\n"), .max_head = 12,
	  .result = HTTP_PARSE_ERROR, .errstr = "response head too large" },
	{ .name = "bad byte at max_head beats the limit in a response",
	  .pre = B("HTTP/1.1 2x"), .post = B("0 OK\r\n\r\n"), .max_head = 11,
	  .result = HTTP_PARSE_ERROR,
	  .errstr = "status code must be three digits" },
};

START_TEST(test_http_request_line)
{
	http_run_three_ways(&http_line_vectors[_i], HTTP_TEST_REQUEST);
}
END_TEST

START_TEST(test_http_fields)
{
	http_run_three_ways(&http_field_vectors[_i], HTTP_TEST_REQUEST);
}
END_TEST

START_TEST(test_http_head_size_limit)
{
	http_run_three_ways(&http_limit_vectors[_i], HTTP_TEST_REQUEST);
}
END_TEST

START_TEST(test_http_response_status_line)
{
	http_run_three_ways(&http_status_line_vectors[_i], HTTP_TEST_RESPONSE);
}
END_TEST

START_TEST(test_http_response_fields)
{
	http_run_three_ways(&http_response_field_vectors[_i],
	    HTTP_TEST_RESPONSE);
}
END_TEST

START_TEST(test_http_response_head_size_limit)
{
	http_run_three_ways(&http_response_limit_vectors[_i],
	    HTTP_TEST_RESPONSE);
}
END_TEST

/*
 * RFC 9112 §2.1: field lines are the same in both kinds of message, so
 * every request field vector is run again with "HTTP/1.1 200 OK" in place
 * of its request line, for the same verdict at the same byte.
 */
START_TEST(test_http_response_fields_as_requests)
{
	static const char		 line[] = "HTTP/1.1 200 OK\r\n";
	const struct http_vector	*rv = &http_field_vectors[_i];
	struct http_vector		 v;
	const char			*eol;
	char				*pre;
	size_t				 skip;

	eol = memchr(rv->pre.p, '\n', rv->pre.len);
	ck_assert_msg(eol != NULL && eol > rv->pre.p && eol[-1] == '\r',
	    "%s: no request line", rv->name);
	skip = (size_t)(eol - rv->pre.p) + 1;

	v = *rv;
	v.pre.len = sizeof(line) - 1 + rv->pre.len - skip;
	pre = malloc(v.pre.len);
	ck_assert_ptr_nonnull(pre);
	memcpy(pre, line, sizeof(line) - 1);
	memcpy(pre + sizeof(line) - 1, rv->pre.p + skip, rv->pre.len - skip);
	v.pre.p = pre;
	v.code = 200;
	v.reason = "OK";
	if (v.errstr != NULL &&
	    strcmp(v.errstr, "bare lf in request head") == 0)
		v.errstr = "bare lf in response head";
	http_run_three_ways(&v, HTTP_TEST_RESPONSE);
	free(pre);
}
END_TEST

/*
 * The head each kind of test below builds starts with this line; the
 * tests loop over enum http_test_kind.
 */
static const char *const http_test_start_lines[] = {
	[HTTP_TEST_REQUEST] = "GET /many HTTP/1.1\r\n",
	[HTTP_TEST_RESPONSE] = "HTTP/1.1 101 Switching Protocols\r\n"
};

/* Fills the expected start line of the heads built from the lines above. */
static void
http_test_expect_start_line(struct http_vector *v)
{
	v->method = "GET";
	v->target = "/many";
	v->code = 101;
	v->reason = "Switching Protocols";
	v->minor = 1;
}

/*
 * Builds the start line of kind and n fields "X-Field-<i>: value <i>" into
 * buf; returns the length, without the empty line that would end it.
 */
static size_t
http_test_many_fields(char *buf, size_t size, enum http_test_kind kind,
    size_t n)
{
	size_t	 i, len;
	int	 w;

	len = (size_t)snprintf(buf, size, "%s", http_test_start_lines[kind]);
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
	enum http_test_kind	 kind = (enum http_test_kind)_i;
	struct http_vector	 v;
	struct http_test_parse	 t;
	char			 want[64];
	size_t			 i, len;

	len = http_test_many_fields(buf, sizeof(buf) - 2, kind,
	    HTTP_MAX_HEADERS);
	memcpy(buf + len, "\r\n", 2);
	len += 2;
	memset(&v, 0, sizeof(v));
	v.name = "HTTP_MAX_HEADERS fields";
	v.pre.p = buf;
	v.pre.len = len;
	v.result = HTTP_PARSE_OK;
	http_test_expect_start_line(&v);
	v.nfields = HTTP_MAX_HEADERS;
	http_run_three_ways(&v, kind);

	http_test_parse(kind, buf, len, HTTP_TEST_MAX_HEAD, &t);
	ck_assert_int_eq(t.r, HTTP_PARSE_OK);
	ck_assert_uint_eq(t.fields->n, HTTP_MAX_HEADERS);
	for (i = 0; i < t.fields->n; i++) {
		snprintf(want, sizeof(want), "X-Field-%zu", i);
		ck_assert_msg(http_test_equal(t.fields->h[i].name,
		    t.fields->h[i].name_len, want), "name %zu", i);
		snprintf(want, sizeof(want), "value %zu", i);
		ck_assert_msg(http_test_equal(t.fields->h[i].value,
		    t.fields->h[i].value_len, want), "value %zu", i);
	}
}
END_TEST

START_TEST(test_http_too_many_headers)
{
	static char		 buf[65536];
	static const char	 rest[] = "-Field-64: v\r\n\r\n";
	enum http_test_kind	 kind = (enum http_test_kind)_i;
	struct http_vector	 v;
	size_t			 len;

	/* The verdict is due at the first byte of one field too many. */
	len = http_test_many_fields(buf, sizeof(buf), kind, HTTP_MAX_HEADERS);
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
	http_run_three_ways(&v, kind);
}
END_TEST

/* Parses the start line of kind followed by fields and an empty line. */
static void
http_test_parse_fields(enum http_test_kind kind, const char *fields,
    char *buf, size_t size, struct http_test_parse *t)
{
	int	 len;

	len = snprintf(buf, size, "%s%s\r\n", http_test_start_lines[kind],
	    fields);
	ck_assert(len > 0 && (size_t)len < size);
	http_test_parse(kind, buf, (size_t)len, HTTP_TEST_MAX_HEAD, t);
	ck_assert_int_eq(t->r, HTTP_PARSE_OK);
}

START_TEST(test_http_find_header)
{
	enum http_test_kind		 kind = (enum http_test_kind)_i;
	struct http_test_parse		 t;
	const struct http_fields	*f;
	const struct http_header	*h;
	char				 buf[256];
	size_t				 count;

	http_test_parse_fields(kind, "Host: a\r\nX: 1\r\nhost: b\r\n"
	    "HOST: c\r\nHost-Name: d\r\n", buf, sizeof(buf), &t);
	f = t.fields;

	h = http_find_header(f, "hOsT", &count);
	ck_assert_ptr_eq(h, &f->h[0]);
	ck_assert_uint_eq(count, 3);

	h = http_find_header(f, "x", &count);
	ck_assert_ptr_eq(h, &f->h[1]);
	ck_assert_uint_eq(count, 1);

	h = http_find_header(f, "Host-Name", NULL);
	ck_assert_ptr_eq(h, &f->h[4]);

	/* Neither a prefix nor an extension of a name matches it. */
	count = 42;
	ck_assert_ptr_null(http_find_header(f, "Hos", &count));
	ck_assert_uint_eq(count, 0);
	ck_assert_ptr_null(http_find_header(f, "Hosts", &count));
	ck_assert_uint_eq(count, 0);
	ck_assert_ptr_null(http_find_header(f, "", NULL));
}
END_TEST

/* What the proxy looks up in a backend's 101 (RFC 6455 §4.1). */
START_TEST(test_http_find_header_response)
{
	static const char		 head[] =
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "upgrade: WebSocket\r\n"
	    "Connection: keep-alive\r\n"
	    "connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	    "\r\n";
	struct http_response		 resp;
	const struct http_header	*h;
	const char			*errstr = NULL;
	size_t				 count;

	ck_assert_int_eq(http_parse_response(head, sizeof(head) - 1,
	    HTTP_TEST_MAX_HEAD, &resp, &errstr), HTTP_PARSE_OK);
	ck_assert_int_eq(resp.status, 101);

	h = http_find_header(&resp.fields, "Upgrade", &count);
	ck_assert_ptr_eq(h, &resp.fields.h[0]);
	ck_assert_uint_eq(count, 1);
	ck_assert(http_list_has_token(h->value, h->value_len, "websocket"));

	h = http_find_header(&resp.fields, "SEC-WEBSOCKET-ACCEPT", &count);
	ck_assert_ptr_eq(h, &resp.fields.h[3]);
	ck_assert_uint_eq(count, 1);
	ck_assert(http_test_equal(h->value, h->value_len,
	    "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));

	ck_assert_ptr_eq(http_find_header(&resp.fields, "connection",
	    &count), &resp.fields.h[1]);
	ck_assert_uint_eq(count, 2);

	count = 42;
	ck_assert_ptr_null(http_find_header(&resp.fields,
	    "Sec-WebSocket-Protocol", &count));
	ck_assert_uint_eq(count, 0);

	/* RFC 9110 §5.3: repeated list fields form one list. */
	ck_assert(http_header_has_token(&resp.fields, "Connection",
	    "upgrade"));
	ck_assert(http_header_has_token(&resp.fields, "Upgrade",
	    "websocket"));
	ck_assert(!http_header_has_token(&resp.fields, "Connection",
	    "close"));
	ck_assert(!http_header_has_token(&resp.fields, "Sec-WebSocket-Accept",
	    "upgrade"));
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
	enum http_test_kind	 kind = (enum http_test_kind)_i;
	struct http_test_parse	 t;
	char			 buf[256];

	http_test_parse_fields(kind, "Host: a\r\nConnection: keep-alive\r\n"
	    "connection: Upgrade\r\n", buf, sizeof(buf), &t);
	/* RFC 9110 §5.3: repeated list fields form one list. */
	ck_assert(http_header_has_token(t.fields, "Connection", "upgrade"));
	ck_assert(http_header_has_token(t.fields, "CONNECTION",
	    "keep-alive"));
	ck_assert(!http_header_has_token(t.fields, "Connection", "close"));
	ck_assert(!http_header_has_token(t.fields, "Upgrade", "websocket"));
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
#define HTTP_TEST_NKINDS	(HTTP_TEST_RESPONSE + 1)

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("http");

	tc = tcase_create("request line");
	tcase_add_loop_test(tc, test_http_request_line, 0,
	    HTTP_NELEM(http_line_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("status line");
	tcase_add_loop_test(tc, test_http_response_status_line, 0,
	    HTTP_NELEM(http_status_line_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_loop_test(tc, test_http_fields, 0,
	    HTTP_NELEM(http_field_vectors));
	tcase_add_loop_test(tc, test_http_response_fields, 0,
	    HTTP_NELEM(http_response_field_vectors));
	tcase_add_loop_test(tc, test_http_response_fields_as_requests, 0,
	    HTTP_NELEM(http_field_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_loop_test(tc, test_http_head_size_limit, 0,
	    HTTP_NELEM(http_limit_vectors));
	tcase_add_loop_test(tc, test_http_response_head_size_limit, 0,
	    HTTP_NELEM(http_response_limit_vectors));
	tcase_add_loop_test(tc, test_http_many_headers, 0, HTTP_TEST_NKINDS);
	tcase_add_loop_test(tc, test_http_too_many_headers, 0,
	    HTTP_TEST_NKINDS);
	suite_add_tcase(s, tc);

	tc = tcase_create("lookup");
	tcase_add_loop_test(tc, test_http_find_header, 0, HTTP_TEST_NKINDS);
	tcase_add_test(tc, test_http_find_header_response);
	tcase_add_loop_test(tc, test_http_list_has_token, 0,
	    HTTP_NELEM(http_list_vectors));
	tcase_add_test(tc, test_http_list_has_token_bounded);
	tcase_add_loop_test(tc, test_http_header_has_token_repeated, 0,
	    HTTP_TEST_NKINDS);
	tcase_add_loop_test(tc, test_http_status_text, 0,
	    HTTP_NELEM(http_status_vectors));
	suite_add_tcase(s, tc);

	return s;
}
