/*
 * handshake — RFC 6455 §4.2.1 (reading the client's opening handshake)
 * and §4.2.2 (sending the server's opening handshake).
 *
 * The checks run in the order of the DESIGN.md table, so that the most
 * specific answer wins: version and Host first, then the listener's
 * allowed_hosts (421, RFC 9110 §15.5.20), then the route (404),
 * the method (405), the Upgrade/Connection tokens (426/400), the
 * WebSocket version (426) and key (400), and the route's Origin policy
 * (403).  Sec-WebSocket-Extensions offers are ignored, which declines
 * them (§9.1): no extension is implemented.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "entropy.h"
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

/*
 * RFC 9110 §7.2: Host is uri-host [":" port], made of RFC 3986
 * unreserved, pct-encoded, sub-delims, ":" and IP-literal brackets.
 * Anything else (a quote, a backslash, a space) is refused, so the
 * value can be passed on inside Forwarded's quoted string as it is.
 */
static bool
handshake_host_valid(const char *host, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		char	c = host[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr("-._~%!$&'()*+,;=:[]", c) != NULL))
			continue;
		return false;
	}
	return true;
}

/*
 * Rejects repeated fields whose meaning would be ambiguous.  A repeated
 * Content-Length is one of them (RFC 9112 §6.3): only the first is looked
 * at for "no body", and "0" then "5" must not pass as an empty body.
 */
static const char *
handshake_duplicate(const struct http_request *req)
{
	static const char *const single[] = {
		"Host", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
		"Origin", "Upgrade", "Content-Length"
	};
	size_t	i, count;

	for (i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		http_find_header(&req->fields, single[i], &count);
		if (count > 1)
			return single[i];
	}
	return NULL;
}

/* Host, route and method: the checks that any HTTP request gets. */
static int
handshake_check_request(const struct http_request *req,
    const struct config *cfg, const struct config_listen *cl,
    struct handshake_result *hr)
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
	host = http_find_header(&req->fields, "Host", NULL);
	if (host == NULL || host->value_len == 0) {
		handshake_fail(hr, 400, "missing Host header");
		return -1;
	}
	if (!handshake_host_valid(host->value, host->value_len)) {
		handshake_fail(hr, 400, "invalid Host header");
		return -1;
	}
	/*
	 * Before any route: a name this listener does not serve (DNS
	 * rebinding points one at our address) is refused as RFC 9110
	 * §15.5.20 says, whatever the path.
	 */
	if (!route_host_allowed(cl, host->value, host->value_len)) {
		handshake_fail(hr, 421, "host not served on this listener");
		hr->host = host->value;
		hr->host_len = route_host_len(host->value, host->value_len);
		return -1;
	}
	q = memchr(req->target, '?', req->target_len);
	path_len = q == NULL ? req->target_len : (size_t)(q - req->target);
	hr->rt = route_match(cfg, host->value,
	    route_host_len(host->value, host->value_len), req->target,
	    path_len, req);
	if (hr->rt == NULL) {
		handshake_fail(hr, 404, "no route for this host and path");
		return -1;
	}
	if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0) {
		handshake_fail(hr, 405, "only GET can open a WebSocket");
		hr->extra_header = "Allow: GET";
		hr->rt = route_match(cfg, host->value,
		    route_host_len(host->value, host->value_len),
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

	if ((h = http_find_header(&req->fields, "Upgrade", NULL)) == NULL) {
		handshake_fail(hr, 426, "this is a WebSocket endpoint");
		hr->extra_header = "Upgrade: websocket";
		return -1;
	}
	if (!http_list_has_token(h->value, h->value_len, "websocket")) {
		handshake_fail(hr, 400, "only websocket can be upgraded to");
		return -1;
	}
	if (!http_header_has_token(&req->fields, "Connection", "upgrade")) {
		handshake_fail(hr, 400, "Connection header lacks upgrade");
		return -1;
	}
	/* A body would be read as frames after the 101: none is allowed. */
	h = http_find_header(&req->fields, "Content-Length", NULL);
	if (http_find_header(&req->fields, "Transfer-Encoding", NULL) != NULL ||
	    (h != NULL && !(h->value_len == 1 && h->value[0] == '0'))) {
		handshake_fail(hr, 400, "an upgrade request has no body");
		return -1;
	}
	h = http_find_header(&req->fields, "Sec-WebSocket-Version", NULL);
	if (h == NULL || h->value_len != 2 || memcmp(h->value, "13", 2)) {
		handshake_fail(hr, 426, "Sec-WebSocket-Version must be 13");
		hr->extra_header = "Sec-WebSocket-Version: 13";
		return -1;
	}
	h = http_find_header(&req->fields, "Sec-WebSocket-Key", NULL);
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
    const struct config_listen *cl, struct handshake_result *hr)
{
	const struct http_header	*origin, *host;
	const struct route		*rt;

	memset(hr, 0, sizeof(*hr));
	if (handshake_check_request(req, cfg, cl, hr) == -1)
		return;
	rt = hr->rt;
	if (handshake_check_upgrade(req, hr) == -1) {
		hr->rt = rt;
		return;
	}
	origin = http_find_header(&req->fields, "Origin", NULL);
	host = http_find_header(&req->fields, "Host", NULL);
	if (!route_origin_allowed(rt, origin ? origin->value : NULL,
	    origin ? origin->value_len : 0, host->value, host->value_len)) {
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
		    "%s%s%s%s"
		    "\r\n", hr->accept,
		    hr->protocol ? "Sec-WebSocket-Protocol: " : "",
		    hr->protocol ? hr->protocol : "",
		    hr->protocol ? "\r\n" : "",
		    hr->passthrough ? hr->passthrough : "");
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

/* upstream: wsgate as the client of a websocket backend --------------- */

/*
 * Fields that never cross wsgate as they are: hop-by-hop ones (RFC 9110
 * §7.6.1), and those of the WebSocket handshake, which each side of
 * wsgate negotiates on its own.
 */
static const char *const handshake_hop_by_hop[] = {
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding",
	"Upgrade", NULL
};

static const char *const handshake_websocket_fields[] = {
	"Sec-WebSocket-Key", "Sec-WebSocket-Version",
	"Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol",
	"Sec-WebSocket-Accept", NULL
};

/* Client-supplied values of these are replaced, never trusted. */
static const char *const handshake_forwarding_fields[] = {
	"Host", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
	"Forwarded", "Content-Length", NULL
};

static bool
handshake_name_in(const struct http_header *h, const char *const *names)
{
	for (; *names != NULL; names++)
		if (strlen(*names) == h->name_len &&
		    strncasecmp(*names, h->name, h->name_len) == 0)
			return true;
	return false;
}

/* True when the head's Connection field names the field h. */
static bool
handshake_connection_names(const struct http_fields *f,
    const struct http_header *h)
{
	return http_header_has(f, "Connection", h->name, h->name_len);
}

/* Whether a field of f may be passed on to the other side. */
static bool
handshake_end_to_end(const struct http_fields *f,
    const struct http_header *h)
{
	return !handshake_name_in(h, handshake_hop_by_hop) &&
	    !handshake_name_in(h, handshake_websocket_fields) &&
	    !handshake_connection_names(f, h);
}

static FILE *
handshake_open(char **buf, size_t *len)
{
	FILE	*fp = open_memstream(buf, len);

	if (fp == NULL) {
		perror("open_memstream");
		exit(1);
	}
	return fp;
}

void
handshake_client_key(char *key)
{
	unsigned char	raw[16];

	entropy_bytes(raw, sizeof(raw));
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
}

void
handshake_upstream_key(struct handshake_upstream *up)
{
	handshake_client_key(up->key);
}

/* The path for the backend: strip_prefix, then the backend's prefix. */
static void
handshake_upstream_target(FILE *fp, const struct handshake_upstream *up)
{
	const char	*t = up->req->target, *prefix = up->be->path;
	size_t		 n = up->req->target_len, cut;

	if (up->rt->strip_prefix && up->rt->path != NULL) {
		cut = strlen(up->rt->path);
		if (cut > n)
			cut = n;
		/* A slash of the matched prefix stays as the new root. */
		if (cut > 0 && up->rt->path[cut - 1] == '/')
			cut--;
		t += cut;
		n -= cut;
	}
	if (prefix != NULL) {
		size_t	plen = strlen(prefix);

		if (plen > 0 && prefix[plen - 1] == '/' && n > 0 && *t == '/')
			plen--;
		fwrite(prefix, 1, plen, fp);
	}
	/* What is left may be empty, a query, or the rest of a segment. */
	if (n == 0 || *t == '?') {
		if (prefix == NULL)
			fputc('/', fp);
	} else if (*t != '/') {
		fputc('/', fp);
	}
	fwrite(t, 1, n, fp);
}

/* Walking the client's subprotocol offers (route_offers callbacks). */
struct handshake_offers {
	const struct route		*rt;
	FILE				*fp;	/* printing them */
	bool				 first;
	const struct http_header	*chosen; /* looking for this one */
};

/* An offer passes when the route lists no subprotocols or lists it. */
static bool
handshake_offer_passes(const struct route *rt, const char *tok, size_t len)
{
	size_t	i;

	if (rt->nsubprotocols == 0)
		return true;
	for (i = 0; i < rt->nsubprotocols; i++)
		if (strlen(rt->subprotocols[i]) == len &&
		    memcmp(rt->subprotocols[i], tok, len) == 0)
			return true;
	return false;
}

static const char *
handshake_offer_print(const void *arg, const char *tok, size_t len)
{
	struct handshake_offers	*o = (struct handshake_offers *)
				    (uintptr_t)arg;

	if (handshake_offer_passes(o->rt, tok, len)) {
		fprintf(o->fp, "%s%.*s", o->first ?
		    "Sec-WebSocket-Protocol: " : ", ", (int)len, tok);
		o->first = false;
	}
	return NULL;
}

/*
 * X-Forwarded-For: the client, after what a trusted proxy in front of
 * wsgate wrote (every such header, in order); otherwise the client alone.
 */
static void
handshake_forwarded_for(FILE *fp, const struct handshake_upstream *up)
{
	static const char *const	 xff[] = { "X-Forwarded-For", NULL };
	const struct http_fields	*f = &up->req->fields;
	size_t				 i;

	fputs("X-Forwarded-For: ", fp);
	for (i = 0; up->trust_forwarded_for && i < f->n; i++)
		if (handshake_name_in(&f->h[i], xff) && f->h[i].value_len > 0)
			fprintf(fp, "%.*s, ", (int)f->h[i].value_len,
			    f->h[i].value);
	fprintf(fp, "%s\r\n", up->client_ip);
}

char *
handshake_upstream_request(const struct handshake_upstream *up, size_t *len)
{
	const struct http_fields	*f = &up->req->fields;
	const struct http_header	*host;
	char				*buf;
	FILE				*fp = handshake_open(&buf, len);
	struct handshake_offers		 o = { up->rt, fp, true, NULL };
	bool				 v6;
	size_t				 i;

	host = http_find_header(f, "Host", NULL);
	fputs("GET ", fp);
	handshake_upstream_target(fp, up);
	fputs(" HTTP/1.1\r\n", fp);
	if (up->be->host != NULL)
		fprintf(fp, "Host: %s\r\n", up->be->host);
	else
		fprintf(fp, "Host: %.*s\r\n", (int)host->value_len,
		    host->value);
	fprintf(fp, "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n", up->key);
	route_offers(up->req, handshake_offer_print, &o);
	if (!o.first)
		fputs("\r\n", fp);
	for (i = 0; i < f->n; i++) {
		const struct http_header *h = &f->h[i];

		if (!handshake_end_to_end(f, h) ||
		    handshake_name_in(h, handshake_forwarding_fields))
			continue;
		fprintf(fp, "%.*s: %.*s\r\n", (int)h->name_len, h->name,
		    (int)h->value_len, h->value);
	}
	handshake_forwarded_for(fp, up);
	/* RFC 7239 §6: IPv6 addresses are quoted and bracketed. */
	v6 = strchr(up->client_ip, ':') != NULL;
	fprintf(fp, "X-Forwarded-Proto: %s\r\n"
	    "X-Forwarded-Host: %.*s\r\n"
	    "Forwarded: for=%s%s%s;host=\"%.*s\";proto=%s\r\n"
	    "\r\n", up->scheme, (int)host->value_len,
	    host->value, v6 ? "\"[" : "", up->client_ip, v6 ? "]\"" : "",
	    (int)host->value_len, host->value, up->scheme);
	fclose(fp);
	return buf;
}

/* Whether the backend's choice was offered and let through. */
static const char *
handshake_offer_match(const void *arg, const char *tok, size_t len)
{
	const struct handshake_offers	*o = arg;

	if (len != o->chosen->value_len ||
	    memcmp(tok, o->chosen->value, len) != 0 ||
	    !handshake_offer_passes(o->rt, tok, len))
		return NULL;
	return tok;
}

const char *
handshake_check_101(const struct http_response *resp, const char *key)
{
	const struct http_fields	*f = &resp->fields;
	const struct http_header	*h;
	char				 accept[HANDSHAKE_ACCEPT_LEN + 1];
	size_t				 count;

	if (resp->status != 101)
		return "backend did not answer 101";
	if (!http_header_has_token(f, "Upgrade", "websocket") ||
	    !http_header_has_token(f, "Connection", "upgrade"))
		return "backend 101 lacks Upgrade: websocket or "
		    "Connection: upgrade";
	handshake_accept_key(key, strlen(key), accept);
	h = http_find_header(f, "Sec-WebSocket-Accept", &count);
	if (h == NULL || count != 1 || h->value_len != HANDSHAKE_ACCEPT_LEN ||
	    memcmp(h->value, accept, HANDSHAKE_ACCEPT_LEN) != 0)
		return "backend sent a wrong Sec-WebSocket-Accept";
	if (http_find_header(f, "Sec-WebSocket-Extensions", NULL) != NULL)
		return "backend chose an extension that was not offered";
	return NULL;
}

int
handshake_upstream_check(const struct handshake_upstream *up,
    const struct http_response *resp, const char **proto,
    size_t *proto_len, const char **errstr)
{
	const struct http_header	*h;
	struct handshake_offers		 o = { up->rt, NULL, false, NULL };
	size_t				 count;

	*proto = NULL;
	*proto_len = 0;
	if ((*errstr = handshake_check_101(resp, up->key)) != NULL)
		return -1;
	h = http_find_header(&resp->fields, "Sec-WebSocket-Protocol", &count);
	if (h == NULL)
		return 0;
	o.chosen = h;
	if (count != 1 || route_offers(up->req, handshake_offer_match,
	    &o) == NULL) {
		*errstr = "backend chose a subprotocol that was not offered";
		return -1;
	}
	*proto = h->value;
	*proto_len = h->value_len;
	return 0;
}

/* A refusal's body is passed as the backend framed it, so its
 * Transfer-Encoding must stay with it; wsgate closes after the body. */
static bool
handshake_passes(const struct http_response *resp,
    const struct http_header *h)
{
	if (resp->status != 101 && h->name_len == 17 &&
	    strncasecmp(h->name, "Transfer-Encoding", 17) == 0)
		return true;
	/* RFC 9112 §6.3: with both, Transfer-Encoding decides the length
	 * and Content-Length must go. */
	if (resp->status != 101 && h->name_len == 14 &&
	    strncasecmp(h->name, "Content-Length", 14) == 0 &&
	    http_find_header(&resp->fields, "Transfer-Encoding", NULL))
		return false;
	if (!handshake_end_to_end(&resp->fields, h))
		return false;
	return resp->status != 101 ||
	    !handshake_name_in(h, handshake_forwarding_fields);
}

static void
handshake_print_passthrough(FILE *fp, const struct http_response *resp)
{
	const struct http_fields	*f = &resp->fields;
	size_t				 i;

	for (i = 0; i < f->n; i++)
		if (handshake_passes(resp, &f->h[i]))
			fprintf(fp, "%.*s: %.*s\r\n", (int)f->h[i].name_len,
			    f->h[i].name, (int)f->h[i].value_len,
			    f->h[i].value);
}

char *
handshake_upstream_passthrough(const struct http_response *resp,
    size_t *len)
{
	char	*buf;
	FILE	*fp = handshake_open(&buf, len);

	handshake_print_passthrough(fp, resp);
	fclose(fp);
	return buf;
}

char *
handshake_upstream_refusal(const struct http_response *resp, size_t *len)
{
	char	*buf;
	FILE	*fp = handshake_open(&buf, len);

	fprintf(fp, "HTTP/1.1 %d %.*s\r\n", resp->status,
	    (int)resp->reason_len, resp->reason);
	handshake_print_passthrough(fp, resp);
	fputs("Connection: close\r\n\r\n", fp);
	fclose(fp);
	return buf;
}
