/*
 * route — request to route matching.
 *
 * Paths are compared byte for byte on the raw request target, like
 * HAProxy's path_beg: no percent-decoding, no dot-segment removal, so
 * the backend sees exactly what was matched.  A prefix is a plain string
 * prefix ("/ws" also matches "/wsx"), as in nginx; end it with "/" or use
 * path_exact for a segment boundary.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "route.h"
#include "tls.h"

const char *
route_offers(const struct http_request *req,
    const char *(*fn)(const void *, const char *, size_t), const void *arg)
{
	const char	*found, *p, *end, *tok;
	size_t		 i, len;

	for (i = 0; i < req->fields.n; i++) {
		const struct http_header *h = &req->fields.h[i];

		if (h->name_len != 22 ||
		    strncasecmp(h->name, "Sec-WebSocket-Protocol", 22) != 0)
			continue;
		p = h->value;
		end = h->value + h->value_len;
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t' ||
			    *p == ','))
				p++;
			tok = p;
			while (p < end && *p != ',' && *p != ' ' &&
			    *p != '\t')
				p++;
			len = (size_t)(p - tok);
			if (len > 0 && (found = fn(arg, tok, len)) != NULL)
				return found;
		}
	}
	return NULL;
}

static const char *
route_offer_is(const void *arg, const char *tok, size_t len)
{
	const char	*want = arg;

	return strlen(want) == len && memcmp(want, tok, len) == 0 ? want :
	    NULL;
}

static const char *
route_offer_listed(const void *arg, const char *tok, size_t len)
{
	const struct route	*rt = arg;
	size_t			 i;

	for (i = 0; i < rt->nsubprotocols; i++)
		if (route_offer_is(rt->subprotocols[i], tok, len) != NULL)
			return rt->subprotocols[i];
	return NULL;
}

size_t
route_host_len(const char *host, size_t len)
{
	const char	*p;

	if (len > 0 && host[0] == '[') {
		p = memchr(host, ']', len);
		return p == NULL ? len : (size_t)(p - host) + 1;
	}
	p = memchr(host, ':', len);
	return p == NULL ? len : (size_t)(p - host);
}

/*
 * Host (without port) as a string for tls_name_matches(), in buf of
 * size; an IPv6 literal in the canonical "[addr]" form that config.c
 * gave the allowed entries.  False when it cannot match any entry.
 */
static bool
route_host_name(const char *host, size_t len, char *buf, size_t size)
{
	struct in6_addr	a6;
	char		v6[INET6_ADDRSTRLEN];

	/* A NUL would end the name early for the string compare. */
	if (len == 0 || len >= size || memchr(host, '\0', len) != NULL)
		return false;
	if (host[0] != '[') {
		memcpy(buf, host, len);
		buf[len] = '\0';
		return true;
	}
	if (len < 2 || host[len - 1] != ']' || len - 2 >= sizeof(v6))
		return false;
	memcpy(v6, host + 1, len - 2);
	v6[len - 2] = '\0';
	if (inet_pton(AF_INET6, v6, &a6) != 1 ||
	    inet_ntop(AF_INET6, &a6, v6, sizeof(v6)) == NULL)
		return false;
	return (size_t)snprintf(buf, size, "[%s]", v6) < size;
}

bool
route_host_allowed(const struct config_listen *cl, const char *host,
    size_t host_len)
{
	char	name[256];
	size_t	i;

	if (cl == NULL || cl->nallowed_hosts == 0)
		return true;
	/* No allowed entry is longer than 253 bytes (or an IPv6 literal). */
	if (!route_host_name(host, route_host_len(host, host_len), name,
	    sizeof(name)))
		return false;
	for (i = 0; i < cl->nallowed_hosts; i++)
		if (tls_name_matches(cl->allowed_hosts[i], name))
			return true;
	return false;
}

static bool
route_matches(const struct route *rt, const char *host, size_t host_len,
    const char *path, size_t path_len, const struct http_request *req)
{
	size_t	n;

	if (rt->host != NULL && (strlen(rt->host) != host_len ||
	    strncasecmp(rt->host, host, host_len) != 0))
		return false;
	if (rt->path != NULL) {
		n = strlen(rt->path);
		if (rt->path_exact ? n != path_len : n > path_len)
			return false;
		if (memcmp(rt->path, path, n) != 0)
			return false;
	}
	if (rt->subprotocol != NULL &&
	    route_offers(req, route_offer_is, rt->subprotocol) == NULL)
		return false;
	return true;
}

const struct route *
route_match(const struct config *cfg, const char *host, size_t host_len,
    const char *path, size_t path_len, const struct http_request *req)
{
	size_t	i;

	for (i = 0; i < cfg->nroutes; i++)
		if (route_matches(&cfg->routes[i], host, host_len, path,
		    path_len, req))
			return &cfg->routes[i];
	return NULL;
}

/* The host of an origin "scheme://host[:port]", without the port. */
static bool
route_origin_host(const char *origin, size_t len, const char **host,
    size_t *host_len)
{
	const char	*p, *end = origin + len;

	for (p = origin; p + 3 <= end; p++)
		if (memcmp(p, "://", 3) == 0)
			break;
	if (p + 3 > end)
		return false;
	*host = p + 3;
	*host_len = route_host_len(*host, (size_t)(end - *host));
	return *host_len > 0;
}

bool
route_origin_allowed(const struct route *rt, const char *origin,
    size_t origin_len, const char *host, size_t host_len)
{
	const char	*oh;
	size_t		 i, oh_len;

	if (rt->origins == NULL && !rt->origin_same)
		return true;
	if (origin == NULL)
		return false;
	if (rt->origin_same) {
		/* Ports are left out on both sides: a page on the default
		 * port sends no port in Origin, some clients send one in
		 * Host. */
		if (!route_origin_host(origin, origin_len, &oh, &oh_len))
			return false;
		host_len = route_host_len(host, host_len);
		return oh_len == host_len &&
		    strncasecmp(oh, host, host_len) == 0;
	}
	/* RFC 6454 §6.2: scheme and host compare case-insensitively. */
	for (i = 0; i < rt->norigins; i++)
		if (strlen(rt->origins[i]) == origin_len &&
		    strncasecmp(rt->origins[i], origin, origin_len) == 0)
			return true;
	return false;
}

const char *
route_select_subprotocol(const struct route *rt,
    const struct http_request *req)
{
	/* A route chosen for its subprotocol speaks it (the client offered
	 * it, or the route would not have matched). */
	if (rt->nsubprotocols == 0)
		return rt->subprotocol;
	return route_offers(req, route_offer_listed, rt);
}
