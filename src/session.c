/*
 * session — the life of one client connection (DESIGN.md "The path of
 * one connection").
 *
 *   HANDSHAKE   read the request head (bounded, timed), check it
 *   CONNECTING  connect a backend server, the next one on failure
 *               (timed); client bytes that arrive meanwhile stay unread
 *   UPGRADING   websocket backends: wsgate's own handshake, its 101
 *   REFUSING    a backend answered something else: pass it on, close
 *   RELAYING    frames from each side are validated (RFC 6455 §5) and
 *               relayed to the other as they arrive; keepalive pings
 *   CLOSING     close frames sent, their replies awaited (§7.1.2)
 *   LINGERING   nothing more to say: each side flushes its output, gets
 *               a FIN (shutdown SHUT_WR) and is read until EOF (timed),
 *               so that no close frame or last byte is lost to an RST
 *
 * This file holds the life cycle: accept, the state and its timer, the
 * libevent callbacks (which dispatch on the state), the orderly close of
 * each endpoint and the deferred free.  session_upgrade.c does the
 * opening handshakes, session_relay.c the frames.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/util.h>
#include <openssl/ssl.h>

#include "cidr.h"
#include "log.h"
#include "proxyproto.h"
#include "session.h"
#include "session_int.h"

static const char *const session_state_names[] = {
	[SESSION_HANDSHAKE] = "handshake",
	[SESSION_CONNECTING] = "connecting",
	[SESSION_UPGRADING] = "upgrading",
	[SESSION_REFUSING] = "refusing",
	[SESSION_RELAYING] = "relaying",
	[SESSION_CLOSING] = "closing",
	[SESSION_LINGERING] = "lingering"
};
static_assert(sizeof(session_state_names) / sizeof(session_state_names[0])
    == SESSION_NSTATES, "session_state_names out of step");

/* Each worker thread has its own sessions; ids are unique process-wide. */
static _Thread_local TAILQ_HEAD(session_head, session) session_list;
static _Thread_local size_t	 session_live;
static _Thread_local void	(*session_all_done)(void);
static atomic_uint_least64_t	 session_next_id = 1;
/* Every worker's, for the main thread's status line. */
static atomic_size_t		 session_open_all;

/* helpers ------------------------------------------------------------- */

void
session_arm(struct event *ev, uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

size_t
session_outlen(const struct endpoint *ep)
{
	return ep->conn != NULL ? conn_outlen(ep->conn) : 0;
}

bool
session_full(const struct endpoint *ep)
{
	return session_outlen(ep) >=
	    session_limits(ep->s)->buffer_high_watermark;
}

/* Stops or resumes reading ep, the backpressure switch. */
void
session_pause(struct endpoint *ep, bool pause)
{
	if (ep->conn == NULL || ep->state != ENDPOINT_OPEN ||
	    ep->paused == pause)
		return;
	ep->paused = pause;
	conn_read(ep->conn, !pause);
}

/* A PROXY header may come before the head and is not part of it. */
static size_t
session_hold_limit(const struct session *s)
{
	return session_limits(s)->max_request_head +
	    (s->proxy_pending ? PROXYPROTO_V2_MAX_LEN : 0);
}

/*
 * Keeps bytes read before their phase (a head, frames behind it) in
 * ep->held, at most max_request_head of them before reading stops: a
 * longer head is refused (431) and frames wait for the 101.
 */
int
session_hold(struct endpoint *ep, const uint8_t *data, size_t len)
{
	if (ep->held == NULL && (ep->held = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add(ep->held, data, len) == -1)
		return -1;
	if (evbuffer_get_length(ep->held) > session_hold_limit(ep->s))
		conn_read(ep->conn, false);
	return 0;
}

static uint64_t	session_age(const struct session *);

static void
session_lifetime_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_lifetime_over(arg);
}

/* max_lifetime counts from the accept. */
static void
session_arm_lifetime(struct session *s)
{
	uint64_t	limit = session_limits(s)->max_lifetime, age;

	if (limit == 0 || s->lifetime_timer != NULL)
		return;
	if ((s->lifetime_timer = evtimer_new(s->base, session_lifetime_cb,
	    s)) == NULL) {
		log_warnx("session %llu: out of memory: no max_lifetime",
		    (unsigned long long)s->id);
		return;
	}
	age = session_age(s);
	session_arm(s->lifetime_timer, age < limit ? limit - age : 0);
}

void
session_set_state(struct session *s, enum session_state state)
{
	static const bool legal[SESSION_NSTATES][SESSION_NSTATES] = {
		[SESSION_HANDSHAKE] = { [SESSION_CONNECTING] = true,
		    [SESSION_RELAYING] = true, [SESSION_LINGERING] = true },
		[SESSION_CONNECTING] = { [SESSION_CONNECTING] = true,
		    [SESSION_UPGRADING] = true, [SESSION_RELAYING] = true,
		    [SESSION_LINGERING] = true },
		[SESSION_UPGRADING] = { [SESSION_CONNECTING] = true,
		    [SESSION_REFUSING] = true, [SESSION_RELAYING] = true,
		    [SESSION_LINGERING] = true },
		[SESSION_REFUSING] = { [SESSION_LINGERING] = true },
		[SESSION_RELAYING] = { [SESSION_CLOSING] = true,
		    [SESSION_LINGERING] = true },
		[SESSION_CLOSING] = { [SESSION_LINGERING] = true },
		[SESSION_LINGERING] = { [SESSION_LINGERING] = false }
	};

	assert(legal[s->state][state]);
	log_debug("session %llu: %s -> %s", (unsigned long long)s->id,
	    session_state_names[s->state], session_state_names[state]);
	s->state = state;
	evtimer_del(s->timer);
	switch (state) {
	case SESSION_UPGRADING:
	case SESSION_REFUSING:
		session_arm(s->timer, s->rt->be->handshake_timeout);
		break;
	case SESSION_RELAYING:
		if (session_limits(s)->idle_timeout != 0)
			session_arm(s->timer, session_limits(s)->idle_timeout);
		if (session_limits(s)->ping_interval != 0)
			session_arm(s->ping_timer,
			    session_limits(s)->ping_interval);
		session_arm_lifetime(s);
		break;
	case SESSION_CLOSING:
	case SESSION_LINGERING:
		evtimer_del(s->ping_timer);
		session_arm(s->timer, session_limits(s)->close_timeout);
		break;
	default:
		break;		/* CONNECTING: armed per attempt */
	}
}

/* The HTTP status the client is answered, as the access line and
 * /metrics tell it. */
void
session_set_status(struct session *s, int status)
{
	s->status = status;
	metrics_handshake(status);
}

/* Records why the session ends; the first reason wins. */
void
session_note_close(struct session *s, unsigned code, const char *by,
    const char *reason)
{
	if (s->closed_by != NULL)
		return;
	s->close_code = code;
	s->closed_by = by;
	s->reason = reason;
}

/* endpoints: orderly close --------------------------------------------- */

void
session_endpoint_free(struct endpoint *ep)
{
	conn_free(ep->conn);
	ep->conn = NULL;
	if (ep->held != NULL) {
		evbuffer_free(ep->held);
		ep->held = NULL;
	}
	ep->state = ENDPOINT_CLOSED;
}

void
session_maybe_done(struct session *s)
{
	if (s->client.state == ENDPOINT_CLOSED &&
	    s->backend.state == ENDPOINT_CLOSED)
		session_close(s, NULL);
}

/*
 * A websocket backend that finished the close handshake is a server,
 * and §7.1.1 has the server close the TCP connection first: wsgate waits
 * for its FIN (bounded by close_timeout) instead of sending one, so the
 * TIME_WAIT state stays on the backend, as it would without a proxy.
 */
static bool
session_peer_closes_first(const struct endpoint *ep)
{
	return ep == &ep->s->backend && ep->websocket && ep->close_sent &&
	    ep->close_rcvd;
}

/*
 * Moves a closing endpoint on: once its output is flushed, FIN; once the
 * peer's FIN is in, the socket is closed.  Reading on until EOF keeps
 * the kernel from answering unread bytes with an RST that would destroy
 * what we sent last (RFC 6455 §7.1.1: the server closes the TCP
 * connection first, the client waits for it).
 */
static void
session_endpoint_progress(struct endpoint *ep)
{
	if (ep->state == ENDPOINT_FLUSHING && session_outlen(ep) == 0) {
		if (!session_peer_closes_first(ep))
			conn_shutdown(ep->conn);
		ep->state = ENDPOINT_DRAINING;
	}
	if (ep->state == ENDPOINT_DRAINING && ep->eof)
		session_endpoint_free(ep);
	if (ep->state == ENDPOINT_CLOSED)
		session_maybe_done(ep->s);
}

/* Starts the orderly close of one side. */
void
session_endpoint_shutdown(struct endpoint *ep)
{
	if (ep->state != ENDPOINT_OPEN)
		return;
	if (ep->conn == NULL) {
		ep->state = ENDPOINT_CLOSED;
		session_maybe_done(ep->s);
		return;
	}
	ep->state = ENDPOINT_FLUSHING;
	ep->paused = false;
	conn_set_lowat(ep->conn, 0);
	conn_read(ep->conn, true);
	session_endpoint_progress(ep);
}

/* Both sides close; the session ends when both are done or time is up. */
void
session_linger(struct session *s)
{
	if (s->state != SESSION_LINGERING)
		session_set_state(s, SESSION_LINGERING);
	session_endpoint_shutdown(&s->backend);
	session_endpoint_shutdown(&s->client);
	/* Both may have been closed already (a side that just vanished). */
	session_maybe_done(s);
}

/* An event on a side that is closing (its bytes are ignored). */
static void
session_endpoint_closing_event(struct endpoint *ep, enum conn_event what)
{
	if (what == CONN_EOF) {
		ep->eof = true;
		session_endpoint_progress(ep);
	} else if (what == CONN_ERROR) {
		session_endpoint_free(ep);
		session_maybe_done(ep->s);
	}
}

/* callbacks ----------------------------------------------------------- */

/*
 * Bytes that arrive before their phase are held; a failure to hold them
 * (out of memory) ends the session.
 */
static bool
session_held(struct endpoint *ep, const uint8_t *data, size_t len)
{
	if (session_hold(ep, data, len) == 0)
		return true;
	session_close(ep->s, "out of memory");
	return false;
}

static void
session_client_read_cb(struct conn *c, uint8_t *data, size_t len, void *arg)
{
	struct endpoint	*ep = arg;
	struct session	*s = ep->s;

	(void)c;
	if (ep->state != ENDPOINT_OPEN)
		return;		/* closing: only EOF matters */
	switch (s->state) {
	case SESSION_HANDSHAKE:
		if (s->tls && s->proxy_pending)
			session_read_proxy_peeked(s, data, len);
		else if (session_held(ep, data, len))
			session_read_head(s);
		break;
	case SESSION_CONNECTING:
	case SESSION_UPGRADING:
		/* Frames wait for the 101; reading on notices a client that
		 * leaves (and stops at the bound). */
		(void)session_held(ep, data, len);
		break;
	case SESSION_RELAYING:
	case SESSION_CLOSING:
		session_relay_read(ep, data, len);
		break;
	default:
		break;		/* refused: nothing more is read from it */
	}
}

static void
session_drain_cb(struct conn *c, void *arg)
{
	struct endpoint	*ep = arg;

	(void)c;
	if (ep->state != ENDPOINT_OPEN)
		session_endpoint_progress(ep);
	else if (ep->s->state == SESSION_RELAYING ||
	    ep->s->state == SESSION_CLOSING)
		session_relay_drained(ep);
}

static void
session_client_event_cb(struct conn *c, enum conn_event what, void *arg)
{
	struct endpoint	*ep = arg;
	struct session	*s = ep->s;

	(void)c;
	if (ep->state != ENDPOINT_OPEN) {
		session_endpoint_closing_event(ep, what);
		return;
	}
	switch (s->state) {
	case SESSION_RELAYING:
	case SESSION_CLOSING:
		session_relay_event(ep, what);
		break;
	default:
		if (what == CONN_ERROR && errno == EPROTO && s->tls) {
			/* Scanners and old clients: info, never an error. */
			log_info("session %llu: %s: TLS handshake failed: %s",
			    (unsigned long long)s->id, s->peer,
			    conn_tls_reason());
			session_close(s, "TLS handshake failed");
			break;
		}
		session_close(s, what == CONN_EOF ?
		    "client closed during the handshake" :
		    "client error during the handshake");
		break;
	}
}

static void
session_backend_read_cb(struct conn *c, uint8_t *data, size_t len,
    void *arg)
{
	struct endpoint	*ep = arg;
	struct session	*s = ep->s;

	(void)c;
	if (ep->state != ENDPOINT_OPEN)
		return;
	switch (s->state) {
	case SESSION_UPGRADING:
		if (session_held(ep, data, len))
			session_read_upstream(s);
		break;
	case SESSION_REFUSING:
		session_refusal_body(s, data, len);
		break;
	case SESSION_RELAYING:
	case SESSION_CLOSING:
		session_relay_read(ep, data, len);
		break;
	default:
		break;
	}
}

static void
session_backend_event_cb(struct conn *c, enum conn_event what, void *arg)
{
	struct endpoint	*ep = arg;
	struct session	*s = ep->s;

	(void)c;
	if (ep->state != ENDPOINT_OPEN) {
		session_endpoint_closing_event(ep, what);
		return;
	}
	switch (s->state) {
	case SESSION_CONNECTING:
	case SESSION_UPGRADING:
	case SESSION_REFUSING:
		session_backend_connect_event(s, what);
		break;
	default:
		session_relay_event(ep, what);
		break;
	}
}

void
session_set_backend_callbacks(struct session *s)
{
	conn_setcb(s->backend.conn, session_backend_read_cb, session_drain_cb,
	    session_backend_event_cb, &s->backend);
}

/* Milliseconds since the session was accepted. */
static uint64_t
session_age(const struct session *s)
{
	struct timeval	now, d;

	gettimeofday(&now, NULL);
	timersub(&now, &s->started, &d);
	return (uint64_t)d.tv_sec * 1000 + (uint64_t)d.tv_usec / 1000;
}

/*
 * The handshake timer: armed at accept for the TLS handshake when there
 * is one (tls_handshake_timeout), and for the whole request head
 * (handshake_timeout, from accept too).  Only the second can be answered
 * with a 408: without TLS established there is no way to say anything.
 */
static void
session_handshake_timeout(struct session *s)
{
	struct handshake_result	hr;
	uint64_t		age = session_age(s);

	if (s->tls && (s->proxy_pending ||
	    conn_tls_handshaking(s->client.conn))) {
		log_info("session %llu: %s: TLS handshake not done within "
		    "%llums", (unsigned long long)s->id, s->peer,
		    (unsigned long long)age);
		session_close(s, "TLS handshake timed out");
		return;
	}
	if (age < session_limits(s)->handshake_timeout) {
		session_arm(s->timer,
		    session_limits(s)->handshake_timeout - age);
		return;
	}
	handshake_fail(&hr, 408, "request head not received in time");
	session_reject(s, &hr);
}

/* The phase timeout: what it means depends on the phase. */
static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session		*s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case SESSION_HANDSHAKE:
		session_handshake_timeout(s);
		break;
	case SESSION_CONNECTING:
	case SESSION_UPGRADING:
		session_connect_timeout(s);
		break;
	case SESSION_REFUSING:
		session_linger(s);
		break;
	case SESSION_RELAYING:
		session_idle_check(s);
		break;
	case SESSION_CLOSING:
		session_closing_timeout(s);
		break;
	default:
		session_note_close(s, WS_CLOSE_ABNORMAL, "wsgate",
		    "close handshake timed out");
		session_close(s, NULL);
		break;
	}
}

static void
session_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_ping(arg);
}

/* life cycle ---------------------------------------------------------- */

const char *
session_target(const struct session *s)
{
	return s->target != NULL ? s->target : "-";
}

static void
session_access_log(struct session *s)
{
	struct log_access	a;

	if (!s->cfg->log_access)
		return;
	a.client = s->peer;
	a.target = session_target(s);
	a.route = s->rt && s->rt->path ? s->rt->path : "-";
	a.backend = s->rt ? s->rt->be->name : "-";
	/* A 502 or 504 names the server that failed last. */
	a.server = s->srv != NULL ? s->srv->address : s->tried != NULL ?
	    s->tried->address : "-";
	a.status = s->status;	/* 0: ended before wsgate answered */
	a.close_code = s->close_code;
	a.closed_by = s->closed_by ? s->closed_by : "-";
	a.reason = s->reason ? s->reason : "-";
	a.bytes_in = s->client.bytes_in;
	a.msgs_in = s->client.msgs_in;
	a.bytes_out = s->client.bytes_out;
	a.msgs_out = s->client.msgs_out;
	a.duration_ms = session_age(s);
	log_access(&a);
}

static void
session_free(struct session *s)
{
	session_access_log(s);
	session_count_traffic(s);
	metrics_conn_close(&s->mc, s->status, s->close_code, s->closed_by,
	    session_age(s) * 1000);
	if (s->counted)
		backend_session_close(s->rt->be, s->srv);
	admission_leave(&s->ticket, admission_now());
	session_upgrade_free(s);
	session_endpoint_free(&s->client);
	session_endpoint_free(&s->backend);
	event_free(s->timer);
	event_free(s->ping_timer);
	if (s->drain_timer != NULL)
		event_free(s->drain_timer);
	if (s->lifetime_timer != NULL)
		event_free(s->lifetime_timer);
	event_free(s->free_ev);
	TAILQ_REMOVE(&session_list, s, entry);
	session_live--;
	atomic_fetch_sub_explicit(&session_open_all, 1, memory_order_relaxed);
	tls_server_unref(s->tls_server);
	config_unref(s->cfg);
	free(s->target);
	free(s);
	if (session_live == 0 && session_all_done != NULL)
		session_all_done();
}

static void
session_free_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_free(arg);
}

/*
 * The one way out: stops every event and frees the session from the
 * event loop, so the caller may still touch s before returning.
 */
void
session_close(struct session *s, const char *reason)
{
	if (s->closed)
		return;
	s->closed = true;
	if (reason != NULL) {
		session_note_close(s, s->state >= SESSION_RELAYING ?
		    WS_CLOSE_ABNORMAL : 0, "client", reason);
		log_debug("session %llu: %s", (unsigned long long)s->id,
		    reason);
	}
	if (s->client.conn != NULL)
		conn_stop(s->client.conn);
	if (s->backend.conn != NULL)
		conn_stop(s->backend.conn);
	evtimer_del(s->timer);
	evtimer_del(s->ping_timer);
	if (s->drain_timer != NULL)
		evtimer_del(s->drain_timer);
	if (s->lifetime_timer != NULL)
		evtimer_del(s->lifetime_timer);
	event_active(s->free_ev, EV_TIMEOUT, 0);
}

/* "ip" and "ip:port" ("[ip]:port") of an address, for logs and headers. */
static void
session_addr_text(const struct sockaddr *sa, char *ip, size_t iplen,
    char *peer, size_t peerlen)
{
	snprintf(ip, iplen, "unknown");
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		evutil_inet_ntop(AF_INET, &sin->sin_addr, ip, iplen);
		snprintf(peer, peerlen, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, ip, iplen);
		snprintf(peer, peerlen, "[%s]:%u", ip,
		    ntohs(sin6->sin6_port));
	} else {
		snprintf(peer, peerlen, "%s", ip);
	}
}

/* The client: its address for ip_hash, its names for logs and headers. */
void
session_name_peer(struct session *s, const struct sockaddr *sa,
    socklen_t salen)
{
	if (salen <= sizeof(s->peer_ss))
		memcpy(&s->peer_ss, sa, salen);
	session_addr_text(sa, s->ip, sizeof(s->ip), s->peer, sizeof(s->peer));
}

/*
 * A listener that takes PROXY headers takes them from trusted_proxies
 * only: anyone else could claim any address.  Closed without an answer.
 */
static bool
session_proxy_refused(const struct config *cfg, const struct config_listen *cl,
    const struct sockaddr *sa)
{
	if (cl->proxy_protocol == CONFIG_PROXY_OFF ||
	    cidr_list_match(cfg->trusted_proxies, cfg->ntrusted_proxies, sa))
		return false;
	if (log_enabled(LOG_LEVEL_INFO)) {
		char	ip[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN + 8];

		session_addr_text(sa, ip, sizeof(ip), peer, sizeof(peer));
		log_info("%s is not in trusted_proxies: no PROXY header taken "
		    "from it, connection closed", peer);
	}
	return true;
}

void
session_accept(struct event_base *base, unsigned worker, evutil_socket_t fd,
    const struct sockaddr *sa, socklen_t salen, struct config *cfg,
    const struct config_listen *cl, struct tls_server *tls)
{
	struct session	*s;
	int		 one = 1;

	if (session_proxy_refused(cfg, cl, sa)) {
		tls_server_unref(tls);
		evutil_closesocket(fd);
		return;
	}

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("session: calloc");
		tls_server_unref(tls);
		evutil_closesocket(fd);
		return;
	}
	s->tls_server = tls;
	s->tls = tls != NULL;
	s->id = atomic_fetch_add_explicit(&session_next_id, 1,
	    memory_order_relaxed);
	s->worker = worker;
	s->base = base;
	s->cfg = config_ref(cfg);
	metrics_conn_open(&s->mc, worker);
	gettimeofday(&s->started, NULL);
	session_name_peer(s, sa, salen);
	s->listen = cl;
	s->proxy_pending = cl->proxy_protocol != CONFIG_PROXY_OFF;
	s->peer_trusted = cidr_list_match(cfg->trusted_proxies,
	    cfg->ntrusted_proxies, sa);
	s->local_len = sizeof(s->local_ss);
	if (getsockname(fd, (struct sockaddr *)&s->local_ss, &s->local_len) ==
	    -1)
		s->local_len = 0;
	s->client.s = s;
	s->client.name = "client";
	s->client.websocket = true;
	s->backend.s = s;
	s->backend.name = "backend";
	s->backend.state = ENDPOINT_CLOSED;
	frame_reader_init(&s->client.reader, FRAME_FROM_CLIENT,
	    cfg->limits.max_message);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->client.conn = conn_new(base, fd);
	s->timer = evtimer_new(base, session_timer_cb, s);
	s->ping_timer = evtimer_new(base, session_ping_cb, s);
	s->free_ev = evtimer_new(base, session_free_cb, s);
	if (session_list.tqh_last == NULL)	/* this thread's first */
		TAILQ_INIT(&session_list);
	TAILQ_INSERT_TAIL(&session_list, s, entry);
	session_live++;
	atomic_fetch_add_explicit(&session_open_all, 1, memory_order_relaxed);
	if (s->client.conn == NULL || s->timer == NULL ||
	    s->ping_timer == NULL || s->free_ev == NULL) {
		log_warnx("session %llu: out of memory",
		    (unsigned long long)s->id);
		if (s->client.conn == NULL)
			evutil_closesocket(fd);
		s->client.state = ENDPOINT_CLOSED;
		if (s->free_ev != NULL)
			session_close(s, "out of memory");
		else
			session_free(s);
		return;
	}
	log_debug("session %llu: accepted %s on worker %u",
	    (unsigned long long)s->id, s->peer, worker);
	/* Callbacks get the endpoint: relay code is written for (src, dst). */
	conn_setcb(s->client.conn, session_client_read_cb, session_drain_cb,
	    session_client_event_cb, &s->client);
	if (s->tls && s->proxy_pending)
		/* The PROXY header first, in the clear: peeked at. */
		conn_peek(s->client.conn, true);
	else if (s->tls && conn_tls_accept(s->client.conn,
	    tls_server_ctx(tls)) == -1) {
		log_warn("session %llu: TLS", (unsigned long long)s->id);
		session_close(s, "out of memory");
		return;
	}
	conn_read(s->client.conn, true);
	session_arm(s->timer, s->tls && cfg->limits.tls_handshake_timeout <
	    cfg->limits.handshake_timeout ? cfg->limits.tls_handshake_timeout :
	    cfg->limits.handshake_timeout);
	if (!s->proxy_pending)		/* else once the header names it */
		(void)session_admit(s);
}

static void
session_info(const struct session *s, struct session_info *si)
{
	si->id = s->id;
	si->worker = s->worker;
	snprintf(si->client, sizeof(si->client), "%s", s->peer);
	snprintf(si->target, sizeof(si->target), "%s",
	    s->target != NULL ? s->target : "");
	si->route = s->mc.route;
	snprintf(si->backend, sizeof(si->backend), "%s",
	    s->rt != NULL ? s->rt->be->name : "");
	snprintf(si->server, sizeof(si->server), "%s",
	    s->srv != NULL ? s->srv->address : "");
	si->state = session_state_names[s->state];
	si->age_ms = session_age(s);
	si->bytes_in = s->client.bytes_in;
	si->msgs_in = s->client.msgs_in;
	si->bytes_out = s->client.bytes_out;
	si->msgs_out = s->client.msgs_out;
}

size_t
session_describe(struct session_info *out, size_t max)
{
	struct session	*s;
	size_t		 n = 0;

	if (session_list.tqh_last == NULL)
		return 0;	/* none accepted yet */
	TAILQ_FOREACH(s, &session_list, entry) {
		if (n == max)
			break;
		session_info(s, &out[n++]);
	}
	return n;
}

size_t
session_count(void)
{
	return session_live;
}

void
session_totals(size_t *open, uint64_t *accepted)
{
	*open = atomic_load_explicit(&session_open_all, memory_order_relaxed);
	*accepted = atomic_load_explicit(&session_next_id,
	    memory_order_relaxed) - 1;
}

void
session_drop_all(void)
{
	struct session	*s;

	if (session_list.tqh_last == NULL)
		return;
	session_all_done = NULL;
	while ((s = TAILQ_FIRST(&session_list)) != NULL) {
		session_note_close(s, WS_CLOSE_ABNORMAL, "wsgate",
		    "shutdown_timeout reached");
		session_free(s);
	}
}

/* on_reload: drain, and drain_timeout has passed: 1001 as at shutdown. */
static void
session_drain_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)what;
	switch (s->state) {
	case SESSION_RELAYING:
		session_close_peers(s, WS_CLOSE_GOING_AWAY, WS_CLOSE_GOING_AWAY,
		    "wsgate", "route changed by a reload");
		break;
	case SESSION_CLOSING:
	case SESSION_LINGERING:
		break;
	default:
		session_close(s, "route changed by a reload");
		break;
	}
}

/* Whether a reload to cfg drains s: its route is gone or changed. */
static bool
session_drained_by(const struct session *s, const struct config *cfg)
{
	return s->cfg != cfg && s->rt != NULL && s->drain_timer == NULL &&
	    s->rt->on_reload == ROUTE_RELOAD_DRAIN && !s->closed &&
	    !config_has_route(cfg, s->rt->fingerprint);
}

void
session_reload(const struct config *cfg)
{
	struct session	*s;

	if (session_list.tqh_last == NULL)	/* no session ever */
		return;
	TAILQ_FOREACH(s, &session_list, entry) {
		if (!session_drained_by(s, cfg))
			continue;
		if ((s->drain_timer = evtimer_new(s->base, session_drain_timer_cb,
		    s)) == NULL) {
			log_warnx("session %llu: out of memory",
			    (unsigned long long)s->id);
			continue;
		}
		log_info("session %llu: %s: route %s changed by a reload, "
		    "closing in %llums", (unsigned long long)s->id, s->peer,
		    s->rt->path != NULL ? s->rt->path : "-",
		    (unsigned long long)s->rt->drain_timeout);
		session_arm(s->drain_timer, s->rt->drain_timeout);
	}
}

void
session_shutdown_all(void (*done)(void))
{
	struct session	*s, *next;

	session_all_done = done;
	for (s = TAILQ_FIRST(&session_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		switch (s->state) {
		case SESSION_RELAYING:
			session_close_peers(s, WS_CLOSE_GOING_AWAY,
			    WS_CLOSE_GOING_AWAY, "wsgate",
			    "server shutting down");
			break;
		case SESSION_CLOSING:
		case SESSION_LINGERING:
			break;
		default:
			session_close(s, "server shutting down");
			break;
		}
	}
	if (session_live == 0 && done != NULL)
		done();
}
