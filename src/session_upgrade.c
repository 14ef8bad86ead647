/*
 * session_upgrade — from the client's request head to the 101: the
 * server side of the opening handshake (RFC 6455 §4.2), choosing and
 * connecting a backend server (the next one on failure, DESIGN.md step
 * 4), and for websocket backends the client side (§4.1): wsgate's own
 * request, the backend's 101 checked before the client gets its own.  A
 * backend that answers anything but 101 has its answer passed to the
 * client and both connections closed: the connection never becomes a
 * tunnel (no WebSocket smuggling), and client bytes that came behind
 * the request head are never sent to the backend as they are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/util.h>

#include "log.h"
#include "proxyproto.h"
#include "session_int.h"

/* The most of a refusal's body passed to the client. */
#define SESSION_REFUSAL_BODY	(64 * 1024)

static void	session_connect_next(struct session *);
static int	session_backend_preface(struct session *);

void
session_upgrade_free(struct session *s)
{
	if (s->up == NULL)
		return;
	free(s->up->head);
	free(s->up->protocol);
	free(s->up->passthrough);
	free(s->up);
	s->up = NULL;
}

/* Sends an HTTP error and closes (DESIGN.md "Handshake responses"). */
void
session_reject(struct session *s, const struct handshake_result *hr)
{
	char	buf[512];
	size_t	n;

	session_set_status(s, hr->status);
	session_note_close(s, 0, "wsgate", hr->reason);
	if (hr->host != NULL)
		/* The Host passed handshake_host_valid(): safe to log. */
		log_info("session %llu: %s %s: %d %s: host \"%.*s\" is not "
		    "in allowed_hosts of listener %s",
		    (unsigned long long)s->id, s->peer, session_target(s),
		    hr->status, hr->reason, (int)(hr->host_len > 255 ? 255 :
		    hr->host_len), hr->host, s->listen->address);
	else
		log_info("session %llu: %s %s: %d %s",
		    (unsigned long long)s->id, s->peer, session_target(s),
		    hr->status, hr->reason);
	n = handshake_format(hr, buf, sizeof(buf));
	(void)conn_write(s->client.conn, buf, n);
	session_upgrade_free(s);
	session_linger(s);
}

static void
session_send_101(struct session *s, const struct handshake_result *hr)
{
	char	*buf;
	size_t	 size, n;

	size = 512 + (hr->passthrough ? strlen(hr->passthrough) : 0) +
	    (hr->protocol ? strlen(hr->protocol) : 0);
	if ((buf = malloc(size)) == NULL) {
		session_close(s, "out of memory");
		return;
	}
	session_set_status(s, 101);
	n = handshake_format(hr, buf, size);
	(void)conn_write(s->client.conn, buf, n);
	free(buf);
}

/*
 * Keeps the path and the fact that a query was there, not its tokens
 * (access tokens travel in WebSocket URLs: browsers cannot set headers),
 * unless log.query asks for them.  At most SESSION_TARGET_MAX bytes.
 */
static void
session_note_target(struct session *s, const struct http_request *req)
{
	const char	*q = memchr(req->target, '?', req->target_len);
	size_t		 n = q && !s->cfg->log_query ?
			    (size_t)(q - req->target) : req->target_len;

	if (n > SESSION_TARGET_MAX)
		n = SESSION_TARGET_MAX;
	free(s->target);
	if (asprintf(&s->target, "%.*s%s", (int)n, req->target,
	    q && !s->cfg->log_query ? "?<redacted>" : "") == -1)
		s->target = NULL;
}

/* The 101 goes out, frames start flowing. */
static void
session_upgraded(struct session *s, const struct handshake_result *hr)
{
	session_send_101(s, hr);
	session_upgrade_free(s);
	session_start_relay(s);
}

static void
session_handshake_done(struct session *s)
{
	struct handshake_result	*hr = &s->up->hr;

	s->rt = hr->rt;
	metrics_conn_route(&s->mc, s->cfg, s->rt);
	if (hr->status != 101) {
		session_reject(s, hr);
		return;
	}
	if (s->rt->be->type == BACKEND_ECHO) {
		session_upgraded(s, hr);
		return;
	}
	/*
	 * The client's frames wait in client.held until the 101; reading
	 * goes on (bounded, session_hold) only so that a client that leaves
	 * is noticed and its backend connection closed.
	 */
	session_set_state(s, SESSION_CONNECTING);
	backend_attempt_init(&s->up->attempt,
	    (const struct sockaddr *)&s->peer_ss);
	session_connect_next(s);
}

/* admission ---------------------------------------------------------- */

/*
 * Counts the connection against the limits (admission.c) once its
 * client is known: at accept, or after a PROXY header.  A connection
 * over them is answered at once, without waiting for its head, which a
 * flood would make us wait for: 503 past max_connections, 429 past the
 * client's own limits, with Retry-After when its handshake rate is the
 * reason.  A trusted proxy that names no client is not limited as one
 * client: everybody behind it shares its address.  False when refused.
 */
bool
session_admit(struct session *s)
{
	struct handshake_result	 hr;
	char			 retry[32];
	unsigned		 after;
	bool			 per_ip = !s->peer_trusted || s->proxied;

	switch (admission_enter((const struct sockaddr *)&s->peer_ss, per_ip,
	    &s->cfg->limits, admission_now(), &s->ticket, &after)) {
	case ADMISSION_OK:
		return true;
	case ADMISSION_FULL:
		handshake_fail(&hr, 503, "max_connections reached");
		break;
	case ADMISSION_IP_FULL:
		handshake_fail(&hr, 429, "max_connections_per_ip reached");
		break;
	case ADMISSION_RATE:
	default:
		handshake_fail(&hr, 429, "handshake_rate exceeded");
		snprintf(retry, sizeof(retry), "Retry-After: %u", after);
		hr.extra_header = retry;
		break;
	}
	session_reject(s, &hr);
	return false;
}

/*
 * Keeps a copy of the head: a websocket backend gets a request made from
 * it after the connect, when client.held has moved on.
 */
static int
session_keep_head(struct session *s, const char *head, size_t len)
{
	const char	*errstr;
	int		 status;

	if ((s->up = calloc(1, sizeof(*s->up))) == NULL ||
	    (s->up->head = malloc(len)) == NULL)
		return -1;
	memcpy(s->up->head, head, len);
	/* Parsed once already: it cannot fail now. */
	if (http_parse_request(s->up->head, len, len, &s->up->req, &status,
	    &errstr) != HTTP_PARSE_OK)
		return -1;
	return 0;
}

/*
 * The PROXY header a trusted load balancer sends first (listen[].
 * proxy_protocol): its source becomes the client everywhere.  Returns 0
 * once it is read (and removed), -1 while more is needed or after the
 * session was closed for a bad header.
 */
/* The header's source is the client from now on (LOCAL: the peer). */
static void
session_proxy_apply(struct session *s, const struct proxyproto_header *h)
{
	char	via[sizeof(s->peer)];

	s->proxy_pending = false;
	if (h->local)
		return;		/* the balancer's own check */
	memcpy(via, s->peer, sizeof(via));
	session_name_peer(s, (const struct sockaddr *)&h->src, h->srclen);
	log_debug("session %llu: PROXY header from %s: client %s",
	    (unsigned long long)s->id, via, s->peer);
	memcpy(&s->local_ss, &h->dst, h->dstlen);
	s->local_len = h->dstlen;
	s->proxied = true;
}

static int
session_read_proxy(struct session *s)
{
	struct evbuffer			*in = s->client.held;
	struct proxyproto_header	 h;
	size_t				 len = evbuffer_get_length(in);
	const char			*errstr;

	switch (proxyproto_parse(evbuffer_pullup(in, (ev_ssize_t)len), len,
	    (enum proxyproto_version)s->listen->proxy_protocol, &h,
	    &errstr)) {
	case PROXYPROTO_NEED_MORE:
		return -1;
	case PROXYPROTO_ERROR:
		log_info("session %llu: %s: bad PROXY header: %s",
		    (unsigned long long)s->id, s->peer, errstr);
		session_close(s, "bad PROXY header");
		return -1;
	case PROXYPROTO_OK:
		break;
	}
	evbuffer_drain(in, h.len);
	session_proxy_apply(s, &h);
	if (!session_admit(s))
		return -1;
	/* The hold's bound was the header's too: the head may need more. */
	conn_read(s->client.conn, true);
	return 0;
}

/*
 * The same on a TLS listener, where the header comes before the TLS
 * handshake: conn peeks at it, so that TLS then reads what follows from
 * the socket itself.
 */
void
session_read_proxy_peeked(struct session *s, const uint8_t *data, size_t len)
{
	struct proxyproto_header	 h;
	const char			*errstr;

	switch (proxyproto_parse(data, len,
	    (enum proxyproto_version)s->listen->proxy_protocol, &h,
	    &errstr)) {
	case PROXYPROTO_NEED_MORE:
		return;
	case PROXYPROTO_ERROR:
		log_info("session %llu: %s: bad PROXY header: %s",
		    (unsigned long long)s->id, s->peer, errstr);
		session_close(s, "bad PROXY header");
		return;
	case PROXYPROTO_OK:
		break;
	}
	conn_peek(s->client.conn, false);
	if (conn_consume(s->client.conn, h.len) == -1 ||
	    conn_tls_accept(s->client.conn,
	    tls_server_ctx(s->tls_server)) == -1) {
		session_close(s, "client error during the handshake");
		return;
	}
	session_proxy_apply(s, &h);
	(void)session_admit(s);
}

void
session_read_head(struct session *s)
{
	struct evbuffer		*in = s->client.held;
	struct http_request	 req;
	struct handshake_result	 hr;
	size_t			 len;
	const char		*errstr;
	int			 status;
	char			*head;

	if (s->proxy_pending && session_read_proxy(s) == -1)
		return;
	len = evbuffer_get_length(in);
	head = (char *)evbuffer_pullup(in, (ev_ssize_t)len);
	switch (http_parse_request(head, len,
	    session_limits(s)->max_request_head, &req, &status, &errstr)) {
	case HTTP_PARSE_NEED_MORE:
		return;
	case HTTP_PARSE_ERROR:
		handshake_fail(&hr, status, errstr);
		session_reject(s, &hr);
		return;
	case HTTP_PARSE_OK:
		break;
	}
	session_note_target(s, &req);
	if (req.fields.n > session_limits(s)->max_headers) {
		handshake_fail(&hr, 431, "too many header fields");
		session_reject(s, &hr);
		return;
	}
	if (session_keep_head(s, head, req.head_len) == -1) {
		session_close(s, "out of memory");
		return;
	}
	/* The rest belongs to the next phase: frames. */
	evbuffer_drain(in, req.head_len);
	handshake_check(&s->up->req, s->cfg, s->listen, &s->up->hr);
	session_handshake_done(s);
}

/* connecting the backend --------------------------------------------- */

static void
session_connect_failed(struct session *s, const char *what)
{
	log_info("session %llu: backend %s server %s: %s, %s",
	    (unsigned long long)s->id, s->rt->be->name, s->srv->address, what,
	    s->up->attempt.count <= s->rt->be->retries ?
	    "trying the next server" : "no retry left");
	backend_report(s->rt->be, s->srv, false, backend_now());
	session_endpoint_free(&s->backend);
	session_connect_next(s);
}

void
session_connect_timeout(struct session *s)
{
	s->up->timed_out = true;
	session_connect_failed(s, s->state == SESSION_CONNECTING ?
	    "connect timed out" : "no 101 in time");
}

/* Every try failed: 503 when no server was up at all, else 502/504. */
static void
session_no_backend(struct session *s, enum backend_pick_result why)
{
	struct handshake_result	hr;

	if (why == BACKEND_NONE_HEALTHY && s->up->attempt.count == 0)
		handshake_fail(&hr, 503, "no healthy backend server");
	else if (s->up->timed_out)
		handshake_fail(&hr, 504, "backend timed out");
	else
		handshake_fail(&hr, 502, "backend unreachable or invalid");
	hr.rt = s->rt;
	s->backend.state = ENDPOINT_CLOSED;
	s->srv = NULL;
	session_reject(s, &hr);
}

/* Starts a connect to s->srv; -1 with errno when it failed at once. */
static int
session_connect_server(struct session *s)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, saved;

	s->up->connect_start = metrics_now_us();
	if ((fd = backend_socket(s->rt->be, s->srv, &ss, &sslen)) == -1)
		return -1;
	if ((s->backend.conn = conn_new(s->base, fd)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	session_set_backend_callbacks(s);
	if (conn_connect(s->backend.conn, (struct sockaddr *)&ss, sslen) ==
	    -1 || session_backend_preface(s) == -1) {
		saved = errno;
		conn_free(s->backend.conn);
		s->backend.conn = NULL;
		errno = saved;
		return -1;
	}
	return 0;
}

static void
session_connect_next(struct session *s)
{
	enum backend_pick_result	why;

	if (s->state != SESSION_CONNECTING)
		session_set_state(s, SESSION_CONNECTING);
	s->backend.state = ENDPOINT_OPEN;
	for (;;) {
		why = backend_pick(s->rt->be, &s->up->attempt, backend_now(),
		    &s->srv);
		if (why != BACKEND_PICKED) {
			session_no_backend(s, why);
			return;
		}
		s->tried = s->srv;
		if (session_connect_server(s) == 0)
			break;
		log_warn("session %llu: connect %s", (unsigned long long)s->id,
		    s->srv->address);
		backend_report(s->rt->be, s->srv, false, backend_now());
	}
	session_arm(s->timer, s->rt->be->connect_timeout);
}

/* Sends wsgate's own opening handshake to a websocket backend. */
static void
session_upstream_request(struct session *s)
{
	struct handshake_upstream	*up = &s->up->up;
	char				*req;
	size_t				 len;

	up->req = &s->up->req;
	up->rt = s->rt;
	up->be = s->rt->be;
	up->client_ip = s->ip;
	/* A trusted HTTP proxy wrote the X-Forwarded-For it sends; behind
	 * an L4 balancer (PROXY header) the client wrote it. */
	up->trust_forwarded_for = s->peer_trusted && !s->proxied &&
	    s->listen->proxy_protocol == CONFIG_PROXY_OFF;
	up->scheme = s->tls ? "https" : "http";
	handshake_upstream_key(up);
	req = handshake_upstream_request(up, &len);
	(void)conn_write(s->backend.conn, req, len);
	free(req);
	session_set_state(s, SESSION_UPGRADING);
	conn_read(s->backend.conn, true);
}

/*
 * backends.X.proxy_protocol: a tcp backend learns the client's address
 * from a PROXY header, the first bytes it gets.
 */
static void
session_send_proxy(struct session *s)
{
	uint8_t	hdr[PROXYPROTO_FORMAT_MAX];
	size_t	n;

	switch (s->rt->be->proxy_protocol) {
	case CONFIG_PROXY_V1:
		n = proxyproto_format_v1((char *)hdr, sizeof(hdr),
		    (struct sockaddr *)&s->peer_ss, s->local_len > 0 ?
		    (struct sockaddr *)&s->local_ss : NULL);
		break;
	case CONFIG_PROXY_V2:
		n = proxyproto_format_v2(hdr, sizeof(hdr),
		    (struct sockaddr *)&s->peer_ss, s->local_len > 0 ?
		    (struct sockaddr *)&s->local_ss : NULL);
		break;
	default:
		return;
	}
	(void)conn_write(s->backend.conn, hdr, n);
}

/*
 * What goes before the client's bytes, queued while connecting: the
 * PROXY header, in the clear, then (backends.X.tls) the TLS handshake,
 * which conn starts once connected; CONN_CONNECTED comes when it is
 * done.  The header before the handshake is what HAProxy's send-proxy
 * with ssl does: the receiver takes it off before its TLS layer reads.
 * Returns -1 with errno when TLS cannot start.
 */
static int
session_backend_preface(struct session *s)
{
	struct backend	*be = s->rt->be;
	SSL		*ssl;

	session_send_proxy(s);
	if (be->tls_client == NULL)
		return 0;
	if ((ssl = backend_tls_ssl(be, s->srv, true)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return conn_tls_connect(s->backend.conn, ssl);
}

static void
session_connected(struct session *s)
{
	log_debug("session %llu: connected to %s", (unsigned long long)s->id,
	    s->srv->address);
	metrics_backend_connect(s->rt->be->name, metrics_now_us() -
	    s->up->connect_start);
	if (s->rt->be->type == BACKEND_WEBSOCKET) {
		session_upstream_request(s);
		return;
	}
	backend_report(s->rt->be, s->srv, true, backend_now());
	session_upgraded(s, &s->up->hr);
}

void
session_backend_connect_event(struct session *s, enum conn_event what)
{
	int	err = what == CONN_ERROR ? errno : 0;
	char	why[200];

	if (s->state == SESSION_REFUSING) {
		/* The refusal's body ends with the connection. */
		session_linger(s);
		return;
	}
	if (what == CONN_CONNECTED) {
		session_connected(s);
		return;
	}
	/* Verification, names, versions: a server to avoid, as one that
	 * refuses the connection. */
	if (err == EPROTO && s->rt->be->tls_client != NULL) {
		snprintf(why, sizeof(why), "tls: %s", conn_tls_reason());
		session_connect_failed(s, why);
		return;
	}
	if (s->state == SESSION_UPGRADING)
		session_connect_failed(s, "closed before its 101");
	else
		session_connect_failed(s, err != 0 ?
		    evutil_socket_error_to_string(err) :
		    "connection closed");
}

/* the backend's answer ------------------------------------------------ */

/* Passes a refusal (401, 403, ...) on: head now, body as it comes. */
static void
session_refuse(struct session *s, const struct http_response *resp)
{
	const struct http_header	*cl;
	char				*head, *end;
	size_t				 len;
	unsigned long long		 body = SESSION_REFUSAL_BODY;

	session_set_status(s, resp->status);
	session_note_close(s, 0, "backend", "backend refused the upgrade");
	log_info("session %llu: %s %s: backend %s answered %d",
	    (unsigned long long)s->id, s->peer, session_target(s), s->srv->address,
	    resp->status);
	cl = http_find_header(&resp->fields, "Content-Length", NULL);
	/* A chunked body runs until the backend closes (or the bound). */
	if (cl != NULL && http_find_header(&resp->fields,
	    "Transfer-Encoding", NULL) == NULL) {
		errno = 0;
		body = strtoull(cl->value, &end, 10);
		if (errno != 0 || end != cl->value + cl->value_len ||
		    body > SESSION_REFUSAL_BODY)
			body = SESSION_REFUSAL_BODY;
	}
	head = handshake_upstream_refusal(resp, &len);
	(void)conn_write(s->client.conn, head, len);
	free(head);
	s->up->body_left = body;
	session_set_state(s, SESSION_REFUSING);
	/* Holding the head may have stopped reading (session_hold). */
	conn_read(s->backend.conn, true);
}

/* Passes up to body_left bytes of the refusal's body to the client. */
void
session_refusal_body(struct session *s, const uint8_t *data, size_t len)
{
	if (len > s->up->body_left)
		len = s->up->body_left;
	(void)conn_write(s->client.conn, data, len);
	s->up->body_left -= len;
	if (s->up->body_left == 0)
		session_linger(s);
}

/*
 * Checks the backend's 101 and keeps what the client's 101 needs from
 * it (resp points into the input buffer).  Returns 0, or -1 when the
 * session moved on (next server, or closed).
 */
static int
session_backend_accepts(struct session *s, const struct http_response *resp)
{
	struct session_upgrade	*u = s->up;
	const char		*proto, *errstr;
	size_t			 proto_len, len;

	if (handshake_upstream_check(&u->up, resp, &proto, &proto_len,
	    &errstr) == -1) {
		session_connect_failed(s, errstr);
		return -1;
	}
	backend_report(s->rt->be, s->srv, true, backend_now());
	u->passthrough = handshake_upstream_passthrough(resp, &len);
	if (proto != NULL && (u->protocol = strndup(proto, proto_len)) ==
	    NULL) {
		session_close(s, "out of memory");
		return -1;
	}
	u->hr.protocol = u->protocol;
	u->hr.passthrough = u->passthrough;
	return 0;
}

void
session_read_upstream(struct session *s)
{
	struct evbuffer		*in = s->backend.held;
	struct http_response	 resp;
	size_t			 len = evbuffer_get_length(in);
	const char		*errstr;
	char			*head;

	head = (char *)evbuffer_pullup(in, (ev_ssize_t)len);
	switch (http_parse_response(head, len,
	    session_limits(s)->max_request_head, &resp, &errstr)) {
	case HTTP_PARSE_NEED_MORE:
		return;
	case HTTP_PARSE_ERROR:
		session_connect_failed(s, errstr);
		return;
	case HTTP_PARSE_OK:
		break;
	}
	if (resp.status != 101) {
		session_refuse(s, &resp);
		evbuffer_drain(in, resp.head_len);
		len = evbuffer_get_length(in);
		session_refusal_body(s, evbuffer_pullup(in, (ev_ssize_t)len),
		    len);
		return;
	}
	if (session_backend_accepts(s, &resp) == -1)
		return;
	/* What follows the head are the backend's first frames. */
	evbuffer_drain(in, resp.head_len);
	session_upgraded(s, &s->up->hr);
}
