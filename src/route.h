/*
 * route — picks the route of a request: host, path and an optional
 * subprotocol condition, first match wins (DESIGN.md "Configuration");
 * then the route's Origin policy and subprotocol selection.  Pure.
 */
#ifndef WSGATE_ROUTE_H
#define WSGATE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "http.h"

/*
 * Returns the first route of cfg matching host (without port), the path
 * of the target (without query) and the subprotocols the request offers;
 * NULL when none does.  Borrowed from cfg.
 */
const struct route *route_match(const struct config *cfg, const char *host,
	    size_t host_len, const char *path, size_t path_len,
	    const struct http_request *req);

/*
 * True when the route accepts a request with this Origin (NULL: absent)
 * and Host (needed for "origins: same").
 */
bool	route_origin_allowed(const struct route *rt, const char *origin,
	    size_t origin_len, const char *host, size_t host_len);

/*
 * True when the listener cl accepts requests for host, a Host header
 * value (its port, if any, is ignored): cl has no allowed_hosts, or one
 * of them matches it as a certificate name matches an SNI name
 * (tls_name_matches(): exact but case-insensitive, or "*." covering
 * exactly one more label).  An IPv6 literal is compared by address.
 */
bool	route_host_allowed(const struct config_listen *cl, const char *host,
	    size_t host_len);

/* Length of host without its port: "example.com:8080" -> 11. */
size_t	route_host_len(const char *host, size_t len);

/*
 * Calls fn(arg, token, len) for every subprotocol the request offers
 * (every element of every Sec-WebSocket-Protocol field, in order; RFC 6455
 * §4.1: the field may repeat) until fn returns non-NULL; returns that.
 */
const char *route_offers(const struct http_request *req,
	    const char *(*fn)(const void *, const char *, size_t),
	    const void *arg);

/*
 * The first subprotocol offered by the client (Sec-WebSocket-Protocol, in
 * the client's order) that the route lists; without a list, the route's
 * match.subprotocol; NULL when none.  Borrowed from the route.
 */
const char *route_select_subprotocol(const struct route *rt,
	    const struct http_request *req);

#endif
