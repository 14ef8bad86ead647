/*
 * session — the life of one client connection (DESIGN.md "The path of
 * one connection").
 *
 *   HANDSHAKE   read the request head (bounded, timed), check it
 *   CONNECTING  connect the backend, next server on failure (timed);
 *               client bytes that arrive meanwhile stay unread
 *   RELAYING    frames from the client are validated (RFC 6455 §5) and
 *               their payload goes to the backend as it arrives; backend
 *               bytes go to the client as messages; keepalive pings
 *   CLOSING     wsgate sent a close frame and waits for the reply (§7.1.2)
 *   LINGERING   nothing more to say: each side flushes its output, gets
 *               a FIN (shutdown SHUT_WR) and is read until EOF (timed),
 *               so that no close frame or last byte is lost to an RST
 *
 * Each side is a struct endpoint whose own small state machine does the
 * orderly TCP close.  Backpressure: reading a side stops while any buffer
 * it feeds is above buffer_high_watermark, and resumes from the write
 * callback of that buffer once it has drained to half of it.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "backend.h"
#include "frame.h"
#include "handshake.h"
#include "http.h"
#include "log.h"
#include "session.h"
#include "utf8.h"

/* Largest message made from backend bytes: small enough to interleave
 * pings, large enough to keep the per-frame cost low. */
#define SESSION_MAX_CHUNK	(64 * 1024)

enum session_state {
	SESSION_HANDSHAKE,	/* reading and checking the request */
	SESSION_CONNECTING,	/* choosing and connecting a backend */
	SESSION_RELAYING,	/* both sides open, frames flowing */
	SESSION_CLOSING,	/* close frame sent, waiting for the reply */
	SESSION_LINGERING,	/* flushing and closing both sides */
	SESSION_NSTATES
};

static const char *const session_state_names[] = {
	[SESSION_HANDSHAKE] = "handshake",
	[SESSION_CONNECTING] = "connecting",
	[SESSION_RELAYING] = "relaying",
	[SESSION_CLOSING] = "closing",
	[SESSION_LINGERING] = "lingering"
};
static_assert(sizeof(session_state_names) / sizeof(session_state_names[0])
    == SESSION_NSTATES, "session_state_names out of step");

enum endpoint_state {
	ENDPOINT_OPEN,		/* carrying data */
	ENDPOINT_FLUSHING,	/* writing what is left, then FIN */
	ENDPOINT_DRAINING,	/* FIN sent; reading until EOF */
	ENDPOINT_CLOSED		/* no socket */
};

struct session;

struct endpoint {
	struct session		*s;
	const char		*name;	/* "client", "backend" */
	struct bufferevent	*bev;
	enum endpoint_state	 state;
	bool			 paused;	/* backpressure: not reading */
	bool			 eof;		/* the peer sent FIN */
	bool			 tx_in_message;	/* we are sending it a
						   fragmented message */
	uint64_t		 bytes_in, bytes_out;
	uint64_t		 msgs_in, msgs_out;
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	uint64_t		 id;
	enum session_state	 state;
	struct event_base	*base;
	struct config		*cfg;
	const struct route	*rt;
	char			 peer[INET6_ADDRSTRLEN + 8];
	char			 target[128];	/* query redacted */

	struct endpoint		 client;
	struct endpoint		 backend;
	struct frame_reader	 reader;	/* client frames */

	struct event		*timer;		/* the phase's timeout */
	struct event		*ping_timer;	/* keepalive */
	struct event		*free_ev;	/* deferred session_free */
	bool			 awaiting_pong;
	struct timeval		 started;
	struct timeval		 last_activity;	/* data, for idle_timeout */

	/* CONNECTING: the 101 is sent once the backend is connected. */
	char			 accept[HANDSHAKE_ACCEPT_LEN + 1];
	const char		*protocol;	/* selected, or NULL */
	size_t			 start, attempt;
	const struct backend_server *srv;
	bool			 timed_out;

	/* For the access log. */
	int			 status;
	unsigned		 close_code;
	const char		*closed_by;
	const char		*reason;
	bool			 closed;	/* session_close() was called */
};

static TAILQ_HEAD(, session) session_list =
    TAILQ_HEAD_INITIALIZER(session_list);
static size_t	 session_live;
static uint64_t	 session_next_id = 1;
static void	(*session_all_done)(void);

static void	session_set_state(struct session *, enum session_state);
static void	session_close(struct session *, const char *);
static void	session_client_read_cb(struct bufferevent *, void *);
static void	session_client_write_cb(struct bufferevent *, void *);
static void	session_client_event_cb(struct bufferevent *, short, void *);
static void	session_backend_read_cb(struct bufferevent *, void *);
static void	session_backend_write_cb(struct bufferevent *, void *);
static void	session_backend_event_cb(struct bufferevent *, short, void *);
static void	session_client_frames(struct session *);
static void	session_backend_forward(struct session *);
static void	session_connect_next(struct session *);
static void	session_close_client(struct session *, uint16_t,
		    const char *, const char *);

/* helpers ------------------------------------------------------------- */

static void
session_arm(struct event *ev, uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static size_t
session_outlen(const struct endpoint *ep)
{
	if (ep->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(ep->bev));
}

static bool
session_full(const struct endpoint *ep)
{
	return session_outlen(ep) >= ep->s->cfg->limits.buffer_high_watermark;
}

/* Stops or resumes reading ep, the backpressure switch. */
static void
session_pause(struct endpoint *ep, bool pause)
{
	if (ep->bev == NULL || ep->state != ENDPOINT_OPEN ||
	    ep->paused == pause)
		return;
	ep->paused = pause;
	if (pause)
		bufferevent_disable(ep->bev, EV_READ);
	else
		bufferevent_enable(ep->bev, EV_READ);
}

/* Client bytes may flow when neither buffer they feed is full. */
static bool
session_client_may_read(const struct session *s)
{
	return !session_full(&s->client) && !session_full(&s->backend);
}

static void
session_set_state(struct session *s, enum session_state state)
{
	static const bool legal[SESSION_NSTATES][SESSION_NSTATES] = {
		[SESSION_HANDSHAKE] = { [SESSION_CONNECTING] = true,
		    [SESSION_RELAYING] = true, [SESSION_LINGERING] = true },
		[SESSION_CONNECTING] = { [SESSION_RELAYING] = true,
		    [SESSION_LINGERING] = true },
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
	case SESSION_CONNECTING:
		break;		/* armed per attempt */
	case SESSION_RELAYING:
		if (s->cfg->limits.idle_timeout != 0)
			session_arm(s->timer, s->cfg->limits.idle_timeout);
		if (s->cfg->limits.ping_interval != 0)
			session_arm(s->ping_timer,
			    s->cfg->limits.ping_interval);
		break;
	case SESSION_CLOSING:
	case SESSION_LINGERING:
		evtimer_del(s->ping_timer);
		session_arm(s->timer, s->cfg->limits.close_timeout);
		break;
	default:
		break;
	}
}

/* Records why the session ends; the first reason wins. */
static void
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

static void
session_endpoint_free(struct endpoint *ep)
{
	if (ep->bev != NULL) {
		bufferevent_free(ep->bev);
		ep->bev = NULL;
	}
	ep->state = ENDPOINT_CLOSED;
}

static void
session_maybe_done(struct session *s)
{
	if (s->client.state == ENDPOINT_CLOSED &&
	    s->backend.state == ENDPOINT_CLOSED)
		session_close(s, NULL);
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
		(void)shutdown(bufferevent_getfd(ep->bev), SHUT_WR);
		ep->state = ENDPOINT_DRAINING;
	}
	if (ep->state == ENDPOINT_DRAINING && ep->eof)
		session_endpoint_free(ep);
	if (ep->state == ENDPOINT_CLOSED)
		session_maybe_done(ep->s);
}

/* Starts the orderly close of one side. */
static void
session_endpoint_shutdown(struct endpoint *ep)
{
	if (ep->state != ENDPOINT_OPEN)
		return;
	if (ep->bev == NULL) {
		ep->state = ENDPOINT_CLOSED;
		session_maybe_done(ep->s);
		return;
	}
	ep->state = ENDPOINT_FLUSHING;
	ep->paused = false;
	bufferevent_setwatermark(ep->bev, EV_WRITE, 0, 0);
	bufferevent_setwatermark(ep->bev, EV_READ, 0, 0);
	bufferevent_enable(ep->bev, EV_READ | EV_WRITE);
	session_endpoint_progress(ep);
}

/* Both sides close; the session ends when both are done or time is up. */
static void
session_linger(struct session *s)
{
	if (s->state != SESSION_LINGERING)
		session_set_state(s, SESSION_LINGERING);
	session_endpoint_shutdown(&s->backend);
	session_endpoint_shutdown(&s->client);
	/* Both may have been closed already (a side that just vanished). */
	session_maybe_done(s);
}

/* Reading a closing endpoint only looks for EOF. */
static void
session_endpoint_discard(struct endpoint *ep)
{
	struct evbuffer	*in = bufferevent_get_input(ep->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

/* An event on a side that is closing. */
static void
session_endpoint_closing_event(struct endpoint *ep, short what)
{
	if (what & BEV_EVENT_EOF) {
		ep->eof = true;
		session_endpoint_progress(ep);
	} else if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		session_endpoint_free(ep);
		session_maybe_done(ep->s);
	}
}

/* writing to the client --------------------------------------------- */

static void
session_write_frame(struct endpoint *ep, bool fin, uint8_t opcode,
    const void *data, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(ep->bev);
	uint8_t		 hdr[FRAME_MAX_HEADER];
	size_t		 n;

	n = frame_encode_header(hdr, fin, opcode, len, NULL);
	evbuffer_add(out, hdr, n);
	if (len > 0)
		evbuffer_add(out, data, len);
}

static void
session_send_close(struct session *s, uint16_t code, const char *reason)
{
	uint8_t	payload[FRAME_MAX_CONTROL];
	size_t	n;

	if (s->client.bev == NULL || s->client.state != ENDPOINT_OPEN)
		return;
	n = frame_close_payload(payload, code, reason,
	    reason ? strlen(reason) : 0);
	session_write_frame(&s->client, true, WS_OP_CLOSE, payload, n);
}

/*
 * Ends a relaying session from wsgate's side: close frame to the client,
 * then wait for its reply (CLOSING); the backend closes meanwhile.
 */
static void
session_close_client(struct session *s, uint16_t code, const char *by,
    const char *reason)
{
	if (s->state != SESSION_RELAYING)
		return;
	session_note_close(s, code, by, reason);
	session_send_close(s, code, reason);
	session_set_state(s, SESSION_CLOSING);
	session_endpoint_shutdown(&s->backend);
	if (s->client.paused) {
		/* The reply must be readable even under backpressure. */
		s->client.paused = false;
		bufferevent_enable(s->client.bev, EV_READ);
	}
}

/* Fails the connection (§7.1.7): close frame, then no more reading. */
static void
session_fail(struct session *s, uint16_t code, const char *reason)
{
	log_info("session %llu: closing with %u: %s",
	    (unsigned long long)s->id, code, reason);
	session_note_close(s, code, "wsgate", reason);
	session_send_close(s, code, reason);
	session_linger(s);
}

/* the opening handshake ---------------------------------------------- */

/* Sends an HTTP error and closes (DESIGN.md "Handshake responses"). */
static void
session_reject(struct session *s, const struct handshake_result *hr)
{
	char	buf[512];
	size_t	n;

	s->status = hr->status;
	session_note_close(s, 0, "wsgate", hr->reason);
	log_info("session %llu: %s %s: %d %s", (unsigned long long)s->id,
	    s->peer, s->target, hr->status, hr->reason);
	n = handshake_format(hr, buf, sizeof(buf));
	evbuffer_add(bufferevent_get_output(s->client.bev), buf, n);
	session_linger(s);
}

static void
session_send_101(struct session *s, const struct handshake_result *hr)
{
	char	buf[512];
	size_t	n;

	s->status = 101;
	n = handshake_format(hr, buf, sizeof(buf));
	evbuffer_add(bufferevent_get_output(s->client.bev), buf, n);
}

/* Keeps path and the fact that a query was there, not its tokens. */
static void
session_note_target(struct session *s, const struct http_request *req)
{
	const char	*q = memchr(req->target, '?', req->target_len);
	size_t		 n = q ? (size_t)(q - req->target) : req->target_len;

	snprintf(s->target, sizeof(s->target), "%.*s%s",
	    (int)(n > 100 ? 100 : n), req->target, q ? "?<redacted>" : "");
}

static void
session_start_relay(struct session *s)
{
	struct bufferevent	*bev = s->client.bev;
	size_t			 high = s->cfg->limits.buffer_high_watermark;

	session_set_state(s, SESSION_RELAYING);
	gettimeofday(&s->last_activity, NULL);
	/* Read bound: libevent stops reading past it until we consume. */
	bufferevent_setwatermark(bev, EV_READ, 0, high);
	bufferevent_setwatermark(bev, EV_WRITE, high / 2, 0);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (s->backend.bev != NULL) {
		bufferevent_setwatermark(s->backend.bev, EV_READ, 0, high);
		bufferevent_setwatermark(s->backend.bev, EV_WRITE, high / 2,
		    0);
		bufferevent_setcb(s->backend.bev, session_backend_read_cb,
		    session_backend_write_cb, session_backend_event_cb, s);
		bufferevent_enable(s->backend.bev, EV_READ | EV_WRITE);
	}
	/* Frames that came right behind the request head. */
	session_client_frames(s);
}

static void
session_handshake_done(struct session *s, const struct handshake_result *hr)
{
	s->rt = hr->rt;
	if (hr->status != 101) {
		session_reject(s, hr);
		return;
	}
	if (s->rt->be->type == BACKEND_ECHO) {
		session_send_101(s, hr);
		session_start_relay(s);
		return;
	}
	bufferevent_disable(s->client.bev, EV_READ);
	session_set_state(s, SESSION_CONNECTING);
	s->backend.state = ENDPOINT_OPEN;
	s->start = backend_start(s->rt->be);
	s->attempt = 0;
	memcpy(s->accept, hr->accept, sizeof(s->accept));
	s->protocol = hr->protocol;
	session_connect_next(s);
}

static void
session_read_head(struct session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->client.bev);
	struct http_request	 req;
	struct handshake_result	 hr;
	size_t			 len = evbuffer_get_length(in);
	const char		*errstr;
	int			 status;
	char			*head;

	head = (char *)evbuffer_pullup(in, (ev_ssize_t)len);
	switch (http_parse_request(head, len,
	    s->cfg->limits.max_request_head, &req, &status, &errstr)) {
	case HTTP_PARSE_NEED_MORE:
		return;
	case HTTP_PARSE_ERROR:
		handshake_fail(&hr, status, errstr);
		break;
	case HTTP_PARSE_OK:
		session_note_target(s, &req);
		handshake_check(&req, s->cfg, &hr);
		/* The rest belongs to the next phase: frames. */
		evbuffer_drain(in, req.head_len);
		break;
	}
	session_handshake_done(s, &hr);
}

/* connecting the backend --------------------------------------------- */

static void
session_connect_failed(struct session *s, const char *what)
{
	log_info("session %llu: connect %s: %s, %s",
	    (unsigned long long)s->id, s->srv->address, what,
	    s->attempt + 1 < s->rt->be->nservers ? "trying next server" :
	    "no server left");
	session_endpoint_free(&s->backend);
	s->backend.state = ENDPOINT_OPEN;
	s->attempt++;
	session_connect_next(s);
}

static void
session_connect_next(struct session *s)
{
	struct handshake_result	hr;

	for (;;) {
		s->srv = backend_server(s->rt->be, s->start, s->attempt);
		if (s->srv == NULL) {
			/* DESIGN.md: refused or unreachable 502, timeout 504 */
			handshake_fail(&hr, s->timed_out ? 504 : 502,
			    s->timed_out ? "backend connect timed out" :
			    "backend unreachable");
			hr.rt = s->rt;
			s->backend.state = ENDPOINT_CLOSED;
			session_reject(s, &hr);
			return;
		}
		s->backend.bev = backend_connect(s->base, s->srv);
		if (s->backend.bev != NULL)
			break;
		log_warn("session %llu: connect %s", (unsigned long long)s->id,
		    s->srv->address);
		s->attempt++;
	}
	bufferevent_setcb(s->backend.bev, NULL, NULL,
	    session_backend_event_cb, s);
	session_arm(s->timer, s->rt->be->connect_timeout);
}

static void
session_connected(struct session *s)
{
	struct handshake_result	hr;

	log_debug("session %llu: connected to %s", (unsigned long long)s->id,
	    s->srv->address);
	memset(&hr, 0, sizeof(hr));
	hr.status = 101;
	hr.protocol = s->protocol;
	memcpy(hr.accept, s->accept, sizeof(hr.accept));
	session_send_101(s, &hr);
	session_start_relay(s);
}

/* relaying: client to backend ---------------------------------------- */

/* A chunk of a client message: echoed back, or written to the backend. */
static void
session_client_data(struct session *s, const struct frame_event *ev)
{
	struct endpoint	*c = &s->client;

	c->bytes_in += ev->len;
	if (ev->last) {
		c->msgs_in++;
		gettimeofday(&s->last_activity, NULL);
	}
	if (s->state != SESSION_RELAYING)
		return;		/* after our close frame: §5.5.1, discard */
	if (s->rt->be->type == BACKEND_ECHO) {
		/* Same opcode; fragments may differ from the client's. */
		if (ev->len == 0 && !ev->last)
			return;
		session_write_frame(c, ev->last, c->tx_in_message ?
		    WS_OP_CONT : ev->opcode, ev->data, ev->len);
		c->tx_in_message = !ev->last;
		c->bytes_out += ev->len;
		c->msgs_out += ev->last;
		return;
	}
	/* TCP backend: the payload bytes, as they arrive. */
	evbuffer_add(bufferevent_get_output(s->backend.bev), ev->data,
	    ev->len);
	s->backend.bytes_out += ev->len;
}

static void
session_client_close_frame(struct session *s, const struct frame_event *ev)
{
	if (s->state == SESSION_RELAYING) {
		/* §5.5.1: answer with the same code, then close. */
		session_note_close(s, ev->close_code, "client",
		    "client closed");
		session_send_close(s, ev->close_code, NULL);
	}
	log_debug("session %llu: client close %u", (unsigned long long)s->id,
	    ev->close_code);
	session_linger(s);
}

static void
session_client_control(struct session *s, const struct frame_event *ev)
{
	switch (ev->opcode) {
	case WS_OP_PING:
		/* §5.5.3: a pong with the same application data. */
		if (s->state == SESSION_RELAYING)
			session_write_frame(&s->client, true, WS_OP_PONG,
			    ev->data, ev->len);
		break;
	case WS_OP_PONG:
		if (s->awaiting_pong) {
			s->awaiting_pong = false;
			session_arm(s->ping_timer,
			    s->cfg->limits.ping_interval);
		}
		break;
	case WS_OP_CLOSE:
		session_client_close_frame(s, ev);
		break;
	}
}

/*
 * Parses what the client sent, in place in the input buffer, and acts on
 * each event; stops while a buffer it writes to is full.
 */
static void
session_client_frames(struct session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->client.bev);
	struct evbuffer_iovec	 v;
	struct frame_event	 ev;
	size_t			 used;

	while (s->state == SESSION_RELAYING || s->state == SESSION_CLOSING) {
		if (s->state == SESSION_RELAYING &&
		    !session_client_may_read(s)) {
			session_pause(&s->client, true);
			return;
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0)
			return;
		used = frame_reader_feed(&s->reader, v.iov_base, v.iov_len,
		    &ev);
		switch (ev.type) {
		case FRAME_NEED_MORE:
			break;
		case FRAME_DATA:
			session_client_data(s, &ev);
			break;
		case FRAME_CONTROL:
			session_client_control(s, &ev);
			break;
		case FRAME_ERROR:
			evbuffer_drain(in, evbuffer_get_length(in));
			if (s->state == SESSION_RELAYING)
				session_fail(s, ev.close_code, ev.reason);
			else
				session_linger(s);
			return;
		}
		/* The event's data lived in this buffer: used, now drop. */
		if (s->client.bev != NULL)
			evbuffer_drain(in, used);
	}
}

/* relaying: backend to client ---------------------------------------- */

/*
 * Moves backend bytes to the client as messages, one per chunk, while
 * the client's output has room.  In text mode a chunk ends at a whole
 * code point so that each message is valid UTF-8 on its own (§5.6); a
 * partial sequence waits for its next bytes.
 */
static void
session_backend_forward(struct session *s)
{
	struct evbuffer		*in = bufferevent_get_input(s->backend.bev);
	struct evbuffer		*out = bufferevent_get_output(s->client.bev);
	bool			 text = s->rt->frames == ROUTE_FRAMES_TEXT;
	struct utf8_state	 st;
	uint8_t			 hdr[FRAME_MAX_HEADER];
	size_t			 len, n;

	while ((len = evbuffer_get_length(in)) > 0) {
		if (session_full(&s->client)) {
			session_pause(&s->backend, true);
			return;
		}
		n = len < SESSION_MAX_CHUNK ? len : SESSION_MAX_CHUNK;
		if (text) {
			utf8_init(&st);
			if (utf8_validate(&st, evbuffer_pullup(in,
			    (ev_ssize_t)n), n, NULL) == -1) {
				session_fail(s, WS_CLOSE_INTERNAL,
				    "backend sent invalid utf-8");
				return;
			}
			n -= st.have;
			if (n == 0)
				break;
		}
		evbuffer_add(out, hdr, frame_encode_header(hdr, true,
		    text ? WS_OP_TEXT : WS_OP_BINARY, n, NULL));
		evbuffer_remove_buffer(in, out, n);
		s->backend.bytes_in += n;
		s->client.bytes_out += n;
		s->client.msgs_out++;
		gettimeofday(&s->last_activity, NULL);
	}
	session_pause(&s->backend, false);
	if (s->backend.eof && s->state == SESSION_RELAYING) {
		if (evbuffer_get_length(in) > 0)
			session_fail(s, WS_CLOSE_INTERNAL,
			    "backend closed inside a utf-8 sequence");
		else
			session_close_client(s, WS_CLOSE_NORMAL, "backend",
			    "backend closed");
	}
}

/* callbacks ----------------------------------------------------------- */

static void
session_client_read_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	switch (s->state) {
	case SESSION_HANDSHAKE:
		session_read_head(s);
		break;
	case SESSION_RELAYING:
	case SESSION_CLOSING:
		session_client_frames(s);
		break;
	default:
		session_endpoint_discard(&s->client);
		break;
	}
}

static void
session_client_write_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	if (s->client.state != ENDPOINT_OPEN) {
		session_endpoint_progress(&s->client);
		return;
	}
	if (s->state != SESSION_RELAYING)
		return;
	/* Drained below the low watermark: let the feeders go on. */
	if (s->backend.bev != NULL && s->backend.paused)
		session_backend_forward(s);
	if (s->client.paused && session_client_may_read(s)) {
		session_pause(&s->client, false);
		session_client_frames(s);
	}
}

static void
session_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	if (s->client.state != ENDPOINT_OPEN) {
		session_endpoint_closing_event(&s->client, what);
		return;
	}
	switch (s->state) {
	case SESSION_HANDSHAKE:
	case SESSION_CONNECTING:
		session_close(s, what & BEV_EVENT_EOF ?
		    "client closed during the handshake" :
		    "client error during the handshake");
		break;
	default:
		/* No close frame: §7.1.5 calls this 1006. */
		session_note_close(s, WS_CLOSE_ABNORMAL, "client",
		    what & BEV_EVENT_EOF ? "client closed without close "
		    "frame" : "client connection error");
		session_endpoint_free(&s->client);
		session_linger(s);
		break;
	}
}

static void
session_backend_read_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	if (s->backend.state != ENDPOINT_OPEN || s->state != SESSION_RELAYING)
		session_endpoint_discard(&s->backend);
	else
		session_backend_forward(s);
}

static void
session_backend_write_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	if (s->backend.state != ENDPOINT_OPEN) {
		session_endpoint_progress(&s->backend);
		return;
	}
	if (s->state == SESSION_RELAYING && s->client.paused &&
	    session_client_may_read(s)) {
		session_pause(&s->client, false);
		session_client_frames(s);
	}
}

static void
session_backend_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;
	int		 err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (s->state == SESSION_CONNECTING) {
		if (what & BEV_EVENT_CONNECTED)
			session_connected(s);
		else
			session_connect_failed(s, err != 0 ?
			    evutil_socket_error_to_string(err) :
			    "connection closed");
		return;
	}
	if (s->backend.state != ENDPOINT_OPEN) {
		session_endpoint_closing_event(&s->backend, what);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* Deliver what is still buffered, then close 1000. */
		s->backend.eof = true;
		session_backend_forward(s);
		return;
	}
	log_info("session %llu: backend %s: %s", (unsigned long long)s->id,
	    s->srv->address, evutil_socket_error_to_string(err));
	session_endpoint_free(&s->backend);
	session_close_client(s, WS_CLOSE_INTERNAL, "backend",
	    "backend connection error");
}

/* The phase timeout: what it means depends on the phase. */
static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session		*s = arg;
	struct handshake_result	 hr;
	struct timeval		 now, idle;
	uint64_t		 ms, limit = s->cfg->limits.idle_timeout;

	(void)fd;
	(void)what;
	switch (s->state) {
	case SESSION_HANDSHAKE:
		handshake_fail(&hr, 408, "request head not received in time");
		session_reject(s, &hr);
		break;
	case SESSION_CONNECTING:
		s->timed_out = true;
		session_connect_failed(s, "timed out");
		break;
	case SESSION_RELAYING:
		gettimeofday(&now, NULL);
		timersub(&now, &s->last_activity, &idle);
		ms = (uint64_t)idle.tv_sec * 1000 +
		    (uint64_t)idle.tv_usec / 1000;
		if (ms >= limit)
			session_close_client(s, WS_CLOSE_GOING_AWAY, "wsgate",
			    "idle timeout");
		else
			session_arm(s->timer, limit - ms);
		break;
	default:
		session_note_close(s, WS_CLOSE_ABNORMAL, "wsgate",
		    "close handshake timed out");
		session_close(s, NULL);
		break;
	}
}

/* Keepalive (DESIGN.md: middleboxes drop idle connections). */
static void
session_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	uint8_t		 payload[8];
	uint64_t	 id = s->id;

	(void)fd;
	(void)what;
	if (s->state != SESSION_RELAYING)
		return;
	if (!s->awaiting_pong) {
		memcpy(payload, &id, sizeof(payload));
		session_write_frame(&s->client, true, WS_OP_PING, payload,
		    sizeof(payload));
		s->awaiting_pong = true;
		session_arm(s->ping_timer, s->cfg->limits.pong_timeout);
	} else if (s->client.paused) {
		/* The pong may sit unread behind backpressure: wait on. */
		session_arm(s->ping_timer, s->cfg->limits.pong_timeout);
	} else {
		session_fail(s, WS_CLOSE_INTERNAL, "keepalive ping timeout");
	}
}

/* life cycle ---------------------------------------------------------- */

static void
session_access_log(struct session *s)
{
	struct timeval	now, d;

	gettimeofday(&now, NULL);
	timersub(&now, &s->started, &d);
	/* status 0: the connection ended before wsgate answered it. */
	log_info("access: %s \"%s\" route=%s backend=%s server=%s status=%d "
	    "close=%u by=%s reason=\"%s\" in=%lluB/%llumsg out=%lluB/%llumsg "
	    "time=%ld.%03lds", s->peer, s->target,
	    s->rt && s->rt->path ? s->rt->path : "-",
	    s->rt ? s->rt->be->name : "-", s->srv ? s->srv->address : "-",
	    s->status, s->close_code, s->closed_by ? s->closed_by : "-",
	    s->reason ? s->reason : "-",
	    (unsigned long long)s->client.bytes_in,
	    (unsigned long long)s->client.msgs_in,
	    (unsigned long long)s->client.bytes_out,
	    (unsigned long long)s->client.msgs_out,
	    (long)d.tv_sec, (long)d.tv_usec / 1000);
}

static void
session_free(struct session *s)
{
	session_access_log(s);
	session_endpoint_free(&s->client);
	session_endpoint_free(&s->backend);
	event_free(s->timer);
	event_free(s->ping_timer);
	event_free(s->free_ev);
	TAILQ_REMOVE(&session_list, s, entry);
	session_live--;
	config_unref(s->cfg);
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
static void
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
	if (s->client.bev != NULL)
		bufferevent_disable(s->client.bev, EV_READ | EV_WRITE);
	if (s->backend.bev != NULL)
		bufferevent_disable(s->backend.bev, EV_READ | EV_WRITE);
	evtimer_del(s->timer);
	evtimer_del(s->ping_timer);
	event_active(s->free_ev, EV_TIMEOUT, 0);
}

void
session_accept(struct event_base *base, evutil_socket_t fd,
    const struct sockaddr *sa, socklen_t salen, struct config *cfg)
{
	struct session	*s;
	char		 host[INET6_ADDRSTRLEN];
	int		 one = 1;
	uint16_t	 port = 0;

	(void)salen;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("session: calloc");
		evutil_closesocket(fd);
		return;
	}
	s->id = session_next_id++;
	s->base = base;
	s->cfg = config_ref(cfg);
	gettimeofday(&s->started, NULL);
	host[0] = '\0';
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		evutil_inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		snprintf(s->peer, sizeof(s->peer), "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof(host));
		port = ntohs(sin6->sin6_port);
		snprintf(s->peer, sizeof(s->peer), "[%s]:%u", host, port);
	}
	snprintf(s->target, sizeof(s->target), "-");
	s->client.s = s;
	s->client.name = "client";
	s->backend.s = s;
	s->backend.name = "backend";
	s->backend.state = ENDPOINT_CLOSED;
	frame_reader_init(&s->reader, FRAME_FROM_CLIENT,
	    cfg->limits.max_message);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->client.bev = bufferevent_socket_new(base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	s->timer = evtimer_new(base, session_timer_cb, s);
	s->ping_timer = evtimer_new(base, session_ping_cb, s);
	s->free_ev = evtimer_new(base, session_free_cb, s);
	TAILQ_INSERT_TAIL(&session_list, s, entry);
	session_live++;
	if (s->client.bev == NULL || s->timer == NULL ||
	    s->ping_timer == NULL || s->free_ev == NULL) {
		log_warnx("session %llu: out of memory",
		    (unsigned long long)s->id);
		if (s->client.bev == NULL)
			evutil_closesocket(fd);
		s->client.state = ENDPOINT_CLOSED;
		if (s->free_ev != NULL) {
			session_close(s, "out of memory");
		} else {
			session_free(s);
		}
		return;
	}
	log_debug("session %llu: accepted %s", (unsigned long long)s->id,
	    s->peer);
	bufferevent_setcb(s->client.bev, session_client_read_cb,
	    session_client_write_cb, session_client_event_cb, s);
	/* The head may not grow past its limit while we wait for it. */
	bufferevent_setwatermark(s->client.bev, EV_READ, 0,
	    cfg->limits.max_request_head + 1);
	bufferevent_enable(s->client.bev, EV_READ | EV_WRITE);
	session_arm(s->timer, cfg->limits.handshake_timeout);
}

size_t
session_count(void)
{
	return session_live;
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
			session_close_client(s, WS_CLOSE_GOING_AWAY, "wsgate",
			    "server shutting down");
			break;
		case SESSION_HANDSHAKE:
		case SESSION_CONNECTING:
			session_close(s, "server shutting down");
			break;
		default:
			break;
		}
	}
	if (session_live == 0 && done != NULL)
		done();
}
