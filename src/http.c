/*
 * http — strict HTTP/1.1 head parser for requests and responses (RFC 9110
 * §5, RFC 9112 §2-5).
 *
 * One pass over the bytes with one state per position in the grammar.  The
 * parser keeps nothing between calls: the caller hands it its whole buffer
 * again when more bytes arrive.  A head is bounded by max_head, so a call
 * costs O(min(len, max_head)) and the re-parse stays cheap, and there is no
 * parser state to get out of step with the buffer.
 *
 * Requests and responses differ only in their start line (RFC 9112 §2.1):
 * each has its own step for it, described by a struct http_head_kind, and
 * from the LF that ends it on both run the same field-line states, so a
 * backend's response is held to exactly the rules of a client's request.
 *
 * Only the first max_head bytes are ever looked at.  A head that has not
 * ended by then is too large whatever comes next (431, RFC 6585 §5), so a
 * verdict never depends on bytes past the limit, and once a prefix of the
 * stream has a verdict every longer prefix has the same one.  Errors are
 * found at the first byte that cannot continue a valid head; only a CR has
 * to wait for the next byte to know whether it is a bare CR.
 *
 * Pure: no I/O, no allocation, no locale (ctype would make "token" depend
 * on setlocale()).
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "http.h"

/*
 * The start-line states come first: every state before HTTP_S_FIELD_START
 * belongs to the start line and is stepped by the head kind's line_byte.
 */
enum http_state {
	HTTP_S_METHOD_START,	/* first byte of the request line */
	HTTP_S_METHOD,
	HTTP_S_TARGET_START,	/* byte after the SP that ends the method */
	HTTP_S_TARGET,
	HTTP_S_PROTO,		/* inside "HTTP/"; a status line starts
				   here */
	HTTP_S_MAJOR,
	HTTP_S_DOT,
	HTTP_S_MINOR,
	HTTP_S_LINE_CR,		/* CR after the request line's version */
	HTTP_S_STATUS_SP,	/* SP after the status line's version */
	HTTP_S_CODE,		/* the three digits of the status code */
	HTTP_S_CODE_SP,		/* SP after the status code */
	HTTP_S_REASON,
	HTTP_S_FIELD_START,	/* first byte of a field line or of the
				   empty line that ends the head */
	HTTP_S_NAME,
	HTTP_S_VALUE_OWS,	/* OWS between ':' and the value */
	HTTP_S_VALUE,
	HTTP_S_LINE_LF,		/* LF that ends the start line or a field
				   line */
	HTTP_S_END_LF		/* LF that ends the head */
};

struct http_parser {
	enum http_state	 state;
	size_t		 mark;		/* start of the current token */
	size_t		 value_end;	/* end of the value without its
					   trailing OWS */
	size_t		 matched;	/* bytes of "HTTP/" seen */
	int		 status;	/* answer to a bad request */
	const char	*errstr;
	/* Where the start line goes; the head kind says which member. */
	union {
		struct http_request	*req;
		struct http_response	*resp;
	} msg;
	struct http_fields *fields;	/* where the field lines go */
};

/* Steps through a start line with the byte at an offset into a buffer. */
typedef enum http_parse_result (*http_line_byte_cb)(struct http_parser *,
    const char *, size_t);

/* What differs between parsing a request head and a response head. */
struct http_head_kind {
	enum http_state	 first;		/* state of the first byte */
	http_line_byte_cb line_byte;
	const char	*bare_lf;	/* errstr of a bare LF */
	const char	*too_large;	/* errstr of a head over max_head */
};

static const char http_proto[] = "HTTP/";

struct http_status_reason {
	int		 status;
	const char	*text;
};

/* RFC 9110 §15, and RFC 6585 §4-5 for 429 and 431. */
static const struct http_status_reason http_reasons[] = {
	{ 100, "Continue" },
	{ 101, "Switching Protocols" },
	{ 200, "OK" },
	{ 204, "No Content" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 304, "Not Modified" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 421, "Misdirected Request" },
	{ 426, "Upgrade Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" }
};

/* RFC 9110 §5.6.2: tchar. */
static bool
http_is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	/* Without the NUL test strchr() would match the terminator. */
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/*
 * RFC 9110 §5.5: field-vchar = VCHAR / obs-text.  obs-text (0x80-0xff) is
 * still allowed in values; the backend gets them verbatim.
 */
static bool
http_is_field_vchar(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

static bool
http_is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
http_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool
http_equal_nocase(const char *a, const char *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (http_lower((unsigned char)a[i]) !=
		    http_lower((unsigned char)b[i]))
			return false;
	return true;
}

static enum http_parse_result
http_fail(struct http_parser *p, int status, const char *errstr)
{
	p->status = status;
	p->errstr = errstr;
	return HTTP_PARSE_ERROR;
}

/*
 * Steps through HTTP-version (RFC 9112 §2.3), which ends a request line and
 * starts a status line, with byte c; the minor digit goes to *minor and
 * the state after it is next.  Returns NEED_MORE to go on, ERROR with
 * p->status and p->errstr.
 */
static enum http_parse_result
http_version_byte(struct http_parser *p, unsigned char c, int *minor,
    enum http_state next)
{
	switch (p->state) {
	case HTTP_S_PROTO:
		/* RFC 9112 §2.3: HTTP-name is case-sensitive. */
		if (c != (unsigned char)http_proto[p->matched])
			return http_fail(p, 400, "malformed http version");
		if (++p->matched == sizeof(http_proto) - 1)
			p->state = HTTP_S_MAJOR;
		break;
	case HTTP_S_MAJOR:
		/* RFC 9110 §15.6.6: 505 refuses the major version. */
		if (c >= '0' && c <= '9' && c != '1')
			return http_fail(p, 505,
			    "unsupported http major version");
		if (c != '1')
			return http_fail(p, 400, "malformed http version");
		p->state = HTTP_S_DOT;
		break;
	case HTTP_S_DOT:
		if (c != '.')
			return http_fail(p, 400, "malformed http version");
		p->state = HTTP_S_MINOR;
		break;
	case HTTP_S_MINOR:
		/*
		 * RFC 9110 §2.5: minor versions are compatible, so 1.2 and
		 * up are parsed as 1.1 would be and reported as sent; 1.0 is
		 * the caller's to refuse.
		 */
		if (c < '0' || c > '9')
			return http_fail(p, 400, "malformed http version");
		*minor = c - '0';
		p->state = next;
		break;
	default:
		return http_fail(p, 500, "http parser in a bad state");
	}
	return HTTP_PARSE_NEED_MORE;
}

/*
 * Steps through the request line (RFC 9112 §3) with the byte at offset i.
 * Returns NEED_MORE to go on, ERROR with p->status and p->errstr.
 */
static enum http_parse_result
http_request_line_byte(struct http_parser *p, const char *buf, size_t i)
{
	struct http_request	*req = p->msg.req;
	unsigned char		 c = (unsigned char)buf[i];

	switch (p->state) {
	case HTTP_S_METHOD_START:
		/*
		 * RFC 9112 §2.2: a server SHOULD ignore at least one empty
		 * line before the request line, for old clients that sent
		 * CRLF after a POST body.  No WebSocket client does, so we
		 * reject it and keep a single reading of the stream at the
		 * public edge.
		 */
		if (c == '\r')
			return http_fail(p, 400,
			    "empty line before request line");
		if (!http_is_tchar(c))
			return http_fail(p, 400, "invalid character in method");
		p->mark = i;
		p->state = HTTP_S_METHOD;
		break;
	case HTTP_S_METHOD:
		if (c == ' ') {
			req->method = buf + p->mark;
			req->method_len = i - p->mark;
			p->state = HTTP_S_TARGET_START;
		} else if (c == '\r')
			return http_fail(p, 400, "request line lacks a target");
		else if (!http_is_tchar(c))
			return http_fail(p, 400, "invalid character in method");
		break;
	case HTTP_S_TARGET_START:
		/*
		 * RFC 9112 §3.2.2 asks servers to accept absolute-form too;
		 * we do not: the authority would then come from two places
		 * (target and Host) that routing would have to reconcile.
		 * Asterisk- and authority-form (OPTIONS *, CONNECT) never
		 * lead to a WebSocket upgrade.
		 */
		if (c == '/') {
			p->mark = i;
			p->state = HTTP_S_TARGET;
		} else if (c == ' ')
			return http_fail(p, 400, "request line parts must be "
			    "separated by a single space");
		else if (c == '\r')
			return http_fail(p, 400, "request line lacks a target");
		else
			return http_fail(p, 400,
			    "request target must be origin-form");
		break;
	case HTTP_S_TARGET:
		/*
		 * Visible ASCII but '#' is let through: the path is matched
		 * as opaque bytes and forwarded verbatim.  What must never
		 * pass is what could split or blur the request line (CTLs,
		 * SP, DEL and bytes that are not ASCII) or make wsgate and
		 * the backend see two paths (a fragment).
		 */
		if (c == ' ') {
			req->target = buf + p->mark;
			req->target_len = i - p->mark;
			p->matched = 0;
			p->state = HTTP_S_PROTO;
		} else if (c == '\r')
			/* An HTTP/0.9 simple request: "GET /path" CRLF. */
			return http_fail(p, 400,
			    "request line lacks an http version");
		else if (c < 0x21 || c > 0x7e)
			return http_fail(p, 400,
			    "invalid character in request target");
		else if (c == '#')
			/*
			 * RFC 9112 §3.2.1: origin-form has no fragment, and
			 * RFC 6455 §3 forbids one in a WebSocket URI.  A
			 * backend would route "/a#x" as "/a" where wsgate
			 * matched the whole: refuse it (as HAProxy does since
			 * CVE-2023-45539).
			 */
			return http_fail(p, 400, "fragment in request target");
		break;
	case HTTP_S_PROTO:
		if (c == ' ' && p->matched == 0)
			return http_fail(p, 400, "request line parts must be "
			    "separated by a single space");
		return http_version_byte(p, c, &req->version_minor,
		    HTTP_S_LINE_CR);
	case HTTP_S_MAJOR:
	case HTTP_S_DOT:
	case HTTP_S_MINOR:
		return http_version_byte(p, c, &req->version_minor,
		    HTTP_S_LINE_CR);
	case HTTP_S_LINE_CR:
		/* RFC 9112 §2.3: one DIGIT each, nothing before CRLF. */
		if (c != '\r')
			return http_fail(p, 400, "malformed http version");
		p->state = HTTP_S_LINE_LF;
		break;
	default:
		return http_fail(p, 500, "http parser in a bad state");
	}
	return HTTP_PARSE_NEED_MORE;
}

/*
 * Steps through the status line (RFC 9112 §4) with the byte at offset i.
 * Returns NEED_MORE to go on, ERROR with p->errstr.  p->status is set for
 * form's sake but never returned: whatever is wrong with a response,
 * wsgate answers the client 502.
 */
static enum http_parse_result
http_status_line_byte(struct http_parser *p, const char *buf, size_t i)
{
	struct http_response	*resp = p->msg.resp;
	unsigned char		 c = (unsigned char)buf[i];

	switch (p->state) {
	case HTTP_S_PROTO:
	case HTTP_S_MAJOR:
	case HTTP_S_DOT:
	case HTTP_S_MINOR:
		return http_version_byte(p, c, &resp->version_minor,
		    HTTP_S_STATUS_SP);
	case HTTP_S_STATUS_SP:
		if (c == '\r')
			return http_fail(p, 502,
			    "status line lacks a status code");
		if (c != ' ')
			return http_fail(p, 502, "malformed http version");
		p->mark = i + 1;
		p->state = HTTP_S_CODE;
		break;
	case HTTP_S_CODE:
		if (c == ' ' && i == p->mark)
			return http_fail(p, 502, "status line parts must be "
			    "separated by a single space");
		if (c < '0' || c > '9')
			return http_fail(p, 502,
			    "status code must be three digits");
		/*
		 * RFC 9110 §15: the first digit is the class, 1 to 5, so
		 * 100-599 is decided here and the error is at the digit.
		 */
		if (i == p->mark && (c < '1' || c > '5'))
			return http_fail(p, 502, "status code out of range");
		resp->status = resp->status * 10 + (c - '0');
		if (i - p->mark == 2)
			p->state = HTTP_S_CODE_SP;
		break;
	case HTTP_S_CODE_SP:
		/*
		 * RFC 9112 §4: the SP after the code is there even when the
		 * reason phrase is not.  Some servers drop both; we do not
		 * guess at what such a server meant, as with every other
		 * deviation from the grammar.
		 */
		if (c >= '0' && c <= '9')
			return http_fail(p, 502,
			    "status code must be three digits");
		if (c != ' ')
			return http_fail(p, 502,
			    "status code not followed by a space");
		p->mark = i + 1;
		p->state = HTTP_S_REASON;
		break;
	case HTTP_S_REASON:
		/*
		 * RFC 9112 §4: reason-phrase is HTAB, SP, VCHAR and
		 * obs-text.  It is only for people (a client SHOULD ignore
		 * it), so it is kept verbatim, spaces and all.
		 */
		if (c == '\r') {
			resp->reason = buf + p->mark;
			resp->reason_len = i - p->mark;
			p->state = HTTP_S_LINE_LF;
		} else if (!http_is_field_vchar(c) && !http_is_ows(c))
			return http_fail(p, 502,
			    "invalid character in reason phrase");
		break;
	default:
		return http_fail(p, 500, "http parser in a bad state");
	}
	return HTTP_PARSE_NEED_MORE;
}

/*
 * Steps through the field lines and the empty line (RFC 9112 §2.1, §5) of
 * either kind of head with the byte at offset i.  Returns NEED_MORE to go
 * on, OK on the LF that ends the head, ERROR with p->status and p->errstr.
 */
static enum http_parse_result
http_field_byte(struct http_parser *p, const char *buf, size_t i)
{
	struct http_fields	*f = p->fields;
	struct http_header	*h = &f->h[f->n];
	unsigned char		 c = (unsigned char)buf[i];

	switch (p->state) {
	case HTTP_S_FIELD_START:
		if (c == '\r') {
			p->state = HTTP_S_END_LF;
			break;
		}
		if (http_is_ows(c)) {
			/*
			 * RFC 9112 §2.2 and §5.2: whitespace at the start of
			 * a line is either before the first field or a
			 * continuation line; both may be rejected, and
			 * unfolding is how header smuggling starts.
			 */
			if (f->n == 0)
				return http_fail(p, 400,
				    "whitespace before first header field");
			return http_fail(p, 400, "obs-fold is not allowed");
		}
		if (c == ':')
			return http_fail(p, 400, "empty header field name");
		if (!http_is_tchar(c))
			return http_fail(p, 400,
			    "invalid character in header field name");
		if (f->n == HTTP_MAX_HEADERS)
			return http_fail(p, 431, "too many header fields");
		p->mark = i;
		p->state = HTTP_S_NAME;
		break;
	case HTTP_S_NAME:
		if (c == ':') {
			h->name = buf + p->mark;
			h->name_len = i - p->mark;
			p->state = HTTP_S_VALUE_OWS;
		} else if (http_is_ows(c))
			/* RFC 9112 §5.1: MUST be rejected with 400. */
			return http_fail(p, 400,
			    "whitespace before colon in header field");
		else if (c == '\r')
			return http_fail(p, 400, "header field lacks a colon");
		else if (!http_is_tchar(c))
			return http_fail(p, 400,
			    "invalid character in header field name");
		break;
	case HTTP_S_VALUE_OWS:
		if (http_is_ows(c))
			break;
		if (c == '\r') {
			h->value = buf + i;
			h->value_len = 0;
			f->n++;
			p->state = HTTP_S_LINE_LF;
			break;
		}
		/* RFC 9110 §5.5: NUL and CTLs are rejected, not replaced. */
		if (!http_is_field_vchar(c))
			return http_fail(p, 400,
			    "invalid character in header field value");
		p->mark = i;
		p->value_end = i + 1;
		p->state = HTTP_S_VALUE;
		break;
	case HTTP_S_VALUE:
		if (http_is_ows(c))
			break;
		if (c == '\r') {
			/* RFC 9112 §5: the OWS around a value is not in it. */
			h->value = buf + p->mark;
			h->value_len = p->value_end - p->mark;
			f->n++;
			p->state = HTTP_S_LINE_LF;
			break;
		}
		if (!http_is_field_vchar(c))
			return http_fail(p, 400,
			    "invalid character in header field value");
		p->value_end = i + 1;
		break;
	case HTTP_S_LINE_LF:
		if (c != '\n')
			return http_fail(p, 400, "cr not followed by lf");
		p->state = HTTP_S_FIELD_START;
		break;
	case HTTP_S_END_LF:
		if (c != '\n')
			return http_fail(p, 400, "cr not followed by lf");
		return HTTP_PARSE_OK;
	default:
		return http_fail(p, 500, "http parser in a bad state");
	}
	return HTTP_PARSE_NEED_MORE;
}

/* States where the byte may be the LF of a CRLF. */
static bool
http_state_wants_lf(enum http_state state)
{
	return state == HTTP_S_LINE_LF || state == HTTP_S_END_LF;
}

static const struct http_head_kind http_request_kind = {
	.first = HTTP_S_METHOD_START,
	.line_byte = http_request_line_byte,
	.bare_lf = "bare lf in request head",
	.too_large = "request head too large"
};

static const struct http_head_kind http_response_kind = {
	.first = HTTP_S_PROTO,
	.line_byte = http_status_line_byte,
	.bare_lf = "bare lf in response head",
	.too_large = "response head too large"
};

/*
 * Parses the head of kind k at the start of buf into p->msg and p->fields,
 * which the caller has zeroed; *head_len is set on HTTP_PARSE_OK, and
 * p->status and p->errstr on HTTP_PARSE_ERROR.
 */
static enum http_parse_result
http_parse_head(struct http_parser *p, const struct http_head_kind *k,
    const char *buf, size_t len, size_t max_head, size_t *head_len)
{
	enum http_parse_result	 r;
	size_t			 i, end;

	p->state = k->first;
	end = len < max_head ? len : max_head;
	for (i = 0; i < end; i++) {
		/*
		 * RFC 9112 §2.2 allows a bare LF as a line end; we do not:
		 * two parsers that disagree on where a line ends are how
		 * requests get smuggled past a proxy, and responses split
		 * (a backend echoing a bare LF from a client must not get
		 * to add fields of its own choosing).
		 */
		if (buf[i] == '\n' && !http_state_wants_lf(p->state))
			r = http_fail(p, 400, k->bare_lf);
		else if (p->state < HTTP_S_FIELD_START)
			r = k->line_byte(p, buf, i);
		else
			r = http_field_byte(p, buf, i);
		if (r == HTTP_PARSE_OK)
			*head_len = i + 1;
		if (r != HTTP_PARSE_NEED_MORE)
			return r;
	}
	if (len >= max_head)
		return http_fail(p, 431, k->too_large);
	return HTTP_PARSE_NEED_MORE;
}

/*
 * Fills *req with pointers into buf; *req means nothing unless the result
 * is HTTP_PARSE_OK.
 */
enum http_parse_result
http_parse_request(const char *buf, size_t len, size_t max_head,
    struct http_request *req, int *status, const char **errstr)
{
	struct http_parser	 p;
	enum http_parse_result	 r;

	memset(&p, 0, sizeof(p));
	memset(req, 0, sizeof(*req));
	p.msg.req = req;
	p.fields = &req->fields;
	r = http_parse_head(&p, &http_request_kind, buf, len, max_head,
	    &req->head_len);
	if (r == HTTP_PARSE_ERROR) {
		*status = p.status;
		*errstr = p.errstr;
	}
	return r;
}

/*
 * Fills *resp with pointers into buf; *resp means nothing unless the
 * result is HTTP_PARSE_OK.
 */
enum http_parse_result
http_parse_response(const char *buf, size_t len, size_t max_head,
    struct http_response *resp, const char **errstr)
{
	struct http_parser	 p;
	enum http_parse_result	 r;

	memset(&p, 0, sizeof(p));
	memset(resp, 0, sizeof(*resp));
	p.msg.resp = resp;
	p.fields = &resp->fields;
	r = http_parse_head(&p, &http_response_kind, buf, len, max_head,
	    &resp->head_len);
	if (r == HTTP_PARSE_ERROR)
		*errstr = p.errstr;
	return r;
}

const struct http_header *
http_find_header(const struct http_fields *f, const char *name,
    size_t *count)
{
	const struct http_header	*first = NULL;
	size_t				 i, n = 0, name_len = strlen(name);

	for (i = 0; i < f->n; i++) {
		if (f->h[i].name_len != name_len ||
		    !http_equal_nocase(f->h[i].name, name, name_len))
			continue;
		if (first == NULL)
			first = &f->h[i];
		n++;
	}
	if (count != NULL)
		*count = n;
	return first;
}

/*
 * Elements are compared as whole tokens: the lists this is for (Connection,
 * Upgrade) hold tokens, so quoted-strings are not looked into.  An empty
 * token matches nothing, not even an empty element.
 */
bool
http_list_has_token(const char *value, size_t len, const char *token)
{
	return http_list_has(value, len, token, strlen(token));
}

bool
http_list_has(const char *value, size_t len, const char *token,
    size_t token_len)
{
	size_t	 start, end, elem_end;

	if (token_len == 0)
		return false;
	for (start = 0;; start = elem_end + 1) {
		elem_end = start;
		while (elem_end < len && value[elem_end] != ',')
			elem_end++;
		end = elem_end;
		/* RFC 9110 §5.6.1: OWS around each element. */
		while (start < end && http_is_ows((unsigned char)value[start]))
			start++;
		while (end > start &&
		    http_is_ows((unsigned char)value[end - 1]))
			end--;
		if (end - start == token_len &&
		    http_equal_nocase(value + start, token, token_len))
			return true;
		if (elem_end == len)
			return false;
	}
}

const char *
http_status_text(int status)
{
	size_t	 i;

	for (i = 0; i < sizeof(http_reasons) / sizeof(http_reasons[0]); i++)
		if (http_reasons[i].status == status)
			return http_reasons[i].text;
	return "Unknown";
}

bool
http_header_has_token(const struct http_fields *f, const char *name,
    const char *token)
{
	return http_header_has(f, name, token, strlen(token));
}

bool
http_header_has(const struct http_fields *f, const char *name,
    const char *token, size_t token_len)
{
	const struct http_header	*h;
	size_t				 i, name_len = strlen(name);

	for (i = 0; i < f->n; i++) {
		h = &f->h[i];
		/* Not strncasecmp(): that one depends on the locale. */
		if (h->name_len == name_len &&
		    http_equal_nocase(h->name, name, name_len) &&
		    http_list_has(h->value, h->value_len, token, token_len))
			return true;
	}
	return false;
}
