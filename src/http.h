/*
 * http — strict HTTP/1.1 head parser for requests (from clients) and
 * responses (from WebSocket backends) (RFC 9110, RFC 9112 §2-5).
 *
 * Bytes in, verdict out: the parser never touches a socket and never
 * copies; the parsed request points into the caller's buffer.  It is
 * strict on purpose (this is the public edge): request line of exactly
 * three parts separated by single spaces, origin-form target, CRLF line
 * ends only (a bare CR or LF is an error), header names made of token
 * characters followed directly by ':', values of visible characters,
 * spaces and tabs only, no obs-fold (RFC 9112 §5.2), a bounded number of
 * fields and a bounded head size.  Errors come with the HTTP status that
 * answers them and a short reason for the log and the response body.
 */
#ifndef WSGATE_HTTP_H
#define WSGATE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADERS	128

struct http_header {
	const char	*name;
	size_t		 name_len;
	const char	*value;		/* leading/trailing OWS removed */
	size_t		 value_len;
};

/* The header fields of a head, in the order received. */
struct http_fields {
	struct http_header h[HTTP_MAX_HEADERS];
	size_t		 n;
};

struct http_request {
	const char	*method;
	size_t		 method_len;
	const char	*target;	/* origin-form: "/path?query" */
	size_t		 target_len;
	int		 version_minor;	/* HTTP/1.x, x as sent (0-9) */
	struct http_fields fields;
	size_t		 head_len;	/* bytes up to and including the
					   blank line */
};

struct http_response {
	int		 version_minor;	/* HTTP/1.x, x as sent (0-9) */
	int		 status;	/* three digits, 100-599 */
	const char	*reason;	/* reason phrase, may be empty */
	size_t		 reason_len;
	struct http_fields fields;
	size_t		 head_len;
};

enum http_parse_result {
	HTTP_PARSE_OK,
	HTTP_PARSE_NEED_MORE,
	HTTP_PARSE_ERROR
};

/*
 * Parses the request head at the start of buf (len bytes so far).  Returns
 * HTTP_PARSE_NEED_MORE while the head is incomplete and fits in max_head
 * bytes, HTTP_PARSE_OK with *req filled in, or HTTP_PARSE_ERROR with
 * *status (400, 431 for a head over max_head or more than
 * HTTP_MAX_HEADERS fields, 505 for an HTTP major version other than 1)
 * and *errstr (static text).  Errors are reported as soon as the bad byte
 * is seen, not when the head is complete.
 */
enum http_parse_result http_parse_request(const char *buf, size_t len,
	    size_t max_head, struct http_request *req, int *status,
	    const char **errstr);

/*
 * Parses a response head (status-line, RFC 9112 §4, and fields, with the
 * same strictness as requests).  Returns as http_parse_request(); on
 * error *errstr says why (any error makes the response a 502 for
 * wsgate, so no status is returned).
 */
enum http_parse_result http_parse_response(const char *buf, size_t len,
	    size_t max_head, struct http_response *resp, const char **errstr);

/*
 * Finds header name (case-insensitive).  Returns the first match or NULL;
 * *count, when not NULL, receives the number of fields with that name.
 */
const struct http_header *http_find_header(const struct http_fields *f,
	    const char *name, size_t *count);

/*
 * True when the comma-separated list value (RFC 9110 §5.6.1, OWS around
 * elements, empty elements allowed) contains token, case-insensitively.
 */
bool	http_list_has_token(const char *value, size_t len, const char *token);

/*
 * True when any field called name (a list field may be repeated, RFC 9110
 * §5.3: the fields then mean their comma-joined values) has token.
 */
bool	http_header_has_token(const struct http_fields *f,
	    const char *name, const char *token);

/* The same two, for a token of token_len bytes (not NUL-ended). */
bool	http_list_has(const char *value, size_t len, const char *token,
	    size_t token_len);
bool	http_header_has(const struct http_fields *f, const char *name,
	    const char *token, size_t token_len);

/* Standard reason phrase of an HTTP status ("Not Found"), or "Unknown". */
const char *http_status_text(int status);

#endif
