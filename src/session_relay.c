/*
 * session_relay — frames both ways once the 101 is sent (RFC 6455 §5-7).
 *
 * Frames from a WebSocket side (the client; a websocket backend) are
 * parsed and validated as they arrive, and each chunk of payload is
 * relayed at once as a frame of its own: a chunk is never buffered
 * until its message is whole, and every frame written is complete, so
 * control frames can go between them at any time.  This may change the
 * fragmentation of a message, which §5.4 allows an intermediary that
 * negotiated no extension.  Payload towards a backend is masked with a
 * fresh key per frame (§5.3, §10.3), never the client's.  Bytes from a
 * tcp backend become whole messages.  Frames are parsed where conn read
 * them and their payload is handed to the other side's conn from there:
 * the frames of one read leave in one write (conn.c).
 *
 * The close handshake (§7.1.2) is relayed: a close frame from one side
 * goes to the other with its code and reason, and the other's reply comes
 * back.  When wsgate itself ends a session (a protocol error, a dead
 * backend, idle or keepalive timeout, shutdown) it sends close frames to
 * both and waits for the replies; a side that broke the protocol is not
 * waited for.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "entropy.h"
#include "log.h"
#include "session_int.h"
#include "utf8.h"

static void	session_close_progress(struct session *);

/* writing frames ------------------------------------------------------ */

/* A control frame (at most 125 bytes, §5.5) to ep, masked if ep needs. */
static void
session_write_control(struct endpoint *ep, uint8_t opcode,
    const uint8_t *data, size_t len)
{
	uint8_t		 hdr[FRAME_MAX_HEADER], payload[FRAME_MAX_CONTROL];
	uint8_t		 key[4];
	size_t		 n;

	if (len > FRAME_MAX_CONTROL)
		len = FRAME_MAX_CONTROL;
	memcpy(payload, data, len);
	if (ep->masks) {
		entropy_bytes(key, sizeof(key));
		frame_mask(payload, len, key, 0);
	}
	n = frame_encode_header(hdr, true, opcode, len, ep->masks ? key :
	    NULL);
	(void)conn_write(ep->conn, hdr, n);
	(void)conn_write(ep->conn, payload, len);
}

/* A close frame to ep, once: §5.5.1 allows no data after it. */
static void
session_send_close(struct endpoint *ep, uint16_t code, const char *reason,
    size_t reason_len)
{
	uint8_t	payload[FRAME_MAX_CONTROL];
	size_t	n;

	if (ep->conn == NULL || ep->state != ENDPOINT_OPEN || !ep->websocket ||
	    ep->close_sent)
		return;
	n = frame_close_payload(payload, code, reason, reason_len);
	session_write_control(ep, WS_OP_CLOSE, payload, n);
	ep->close_sent = true;
}

/*
 * Relays one chunk of a message to dst as a frame.  When dst takes
 * masked frames the reader has already masked the chunk with key.
 */
static void
session_forward_chunk(struct endpoint *dst, const struct frame_event *ev,
    const uint8_t *key)
{
	uint8_t	hdr[FRAME_MAX_HEADER];
	size_t	n;

	if (ev->len == 0 && !ev->last)
		return;		/* an empty fragment carries nothing */
	n = frame_encode_header(hdr, ev->last, dst->tx_in_message ?
	    WS_OP_CONT : ev->opcode, ev->len, dst->masks ? key : NULL);
	(void)conn_write(dst->conn, hdr, n);
	(void)conn_write(dst->conn, ev->data, ev->len);
	dst->tx_in_message = !ev->last;
	dst->bytes_out += ev->len;
	dst->msgs_out += ev->last;
}

/* closing ------------------------------------------------------------- */

/*
 * Answers a close that nobody else will answer (its peer is gone or
 * silent) with the same code, as an endpoint would (§5.5.1).
 */
static void
session_answer_close(struct endpoint *ep)
{
	if (ep->close_rcvd && !ep->close_sent)
		session_send_close(ep, ep->close_code, NULL, 0);
}

/* A side is done with the close handshake, or never had one. */
static bool
session_close_done(const struct endpoint *ep)
{
	return ep->state != ENDPOINT_OPEN || !ep->websocket ||
	    (ep->close_sent && ep->close_rcvd);
}

/* Closes the TCP side of whatever finished; lingers when all did. */
static void
session_close_progress(struct session *s)
{
	if (s->client.websocket && s->client.close_sent &&
	    s->client.close_rcvd)
		session_endpoint_shutdown(&s->client);
	if (s->backend.websocket && s->backend.close_sent &&
	    s->backend.close_rcvd)
		session_endpoint_shutdown(&s->backend);
	if (session_close_done(&s->client) && session_close_done(&s->backend))
		session_linger(s);
}

static void
session_enter_closing(struct session *s)
{
	if (s->state == SESSION_RELAYING)
		session_set_state(s, SESSION_CLOSING);
	/* A tcp backend has no close frame: it gets its FIN now. */
	if (!s->backend.websocket)
		session_endpoint_shutdown(&s->backend);
}

/*
 * wsgate ends the session: a close frame with client_code to the client
 * and backend_code to a websocket backend; their replies are awaited.
 */
void
session_close_peers(struct session *s, uint16_t client_code,
    uint16_t backend_code, const char *by, const char *reason)
{
	if (s->state != SESSION_RELAYING && s->state != SESSION_CLOSING)
		return;
	session_note_close(s, client_code, by, reason);
	session_send_close(&s->client, client_code, reason, strlen(reason));
	session_send_close(&s->backend, backend_code, reason, strlen(reason));
	session_enter_closing(s);
	session_close_progress(s);
}

/*
 * ep broke the protocol (§7.1.7 "Fail the WebSocket Connection"): it
 * gets its close code and its FIN without waiting for a reply; the other
 * side is closed properly, 1011 for a client whose backend failed.
 */
static void
session_fail(struct endpoint *ep, uint16_t code, const char *reason)
{
	struct session	*s = ep->s;
	struct endpoint	*other = ep == &s->client ? &s->backend : &s->client;

	log_info("session %llu: %s broke the protocol, closing with %u: %s",
	    (unsigned long long)s->id, ep->name, code, reason);
	session_note_close(s, ep == &s->client ? code : WS_CLOSE_INTERNAL,
	    "wsgate", reason);
	session_send_close(ep, code, reason, strlen(reason));
	session_endpoint_shutdown(ep);
	session_send_close(other, ep == &s->client ? WS_CLOSE_GOING_AWAY :
	    WS_CLOSE_INTERNAL, reason, strlen(reason));
	session_enter_closing(s);
	session_close_progress(s);
}

/* A close frame from src: relayed to the other side, or answered. */
static void
session_close_frame(struct endpoint *src, const struct frame_event *ev)
{
	struct session	*s = src->s;
	struct endpoint	*dst = src->peer;

	log_debug("session %llu: %s sent close %u",
	    (unsigned long long)s->id, src->name, ev->close_code);
	src->close_rcvd = true;
	src->close_code = ev->close_code;
	session_note_close(s, ev->close_code, src->name, src == &s->client ?
	    "client closed" : "backend closed");
	if (dst != src && dst->websocket && dst->state == ENDPOINT_OPEN)
		session_send_close(dst, ev->close_code, ev->reason,
		    ev->reason_len);
	else
		/* Echo and tcp routes, or a peer that is gone: wsgate
		 * answers with the same code. */
		session_answer_close(src);
	session_enter_closing(s);
	session_close_progress(s);
}

void
session_closing_timeout(struct session *s)
{
	log_info("session %llu: close handshake timed out",
	    (unsigned long long)s->id);
	session_note_close(s, WS_CLOSE_ABNORMAL, "wsgate",
	    "close handshake timed out");
	session_answer_close(&s->client);
	session_answer_close(&s->backend);
	session_linger(s);
}

/* frames from a WebSocket side ---------------------------------------- */

static void
session_control(struct endpoint *src, const struct frame_event *ev)
{
	struct session	*s = src->s;
	struct endpoint	*dst = src->peer;
	bool		 relay = dst != src && dst->websocket &&
			    s->state == SESSION_RELAYING;

	switch (ev->opcode) {
	case WS_OP_PING:
		/* End to end when both sides speak WebSocket (§5.5.2). */
		if (relay)
			session_write_control(dst, WS_OP_PING, ev->data,
			    ev->len);
		else if (s->state == SESSION_RELAYING)
			session_write_control(src, WS_OP_PONG, ev->data,
			    ev->len);
		break;
	case WS_OP_PONG:
		/* The answer to wsgate's own keepalive stays here. */
		if (src == &s->client && s->awaiting_pong &&
		    ev->len == sizeof(s->ping_token) &&
		    memcmp(ev->data, s->ping_token, ev->len) == 0) {
			s->awaiting_pong = false;
			session_arm(s->ping_timer,
			    session_limits(s)->ping_interval);
		} else if (relay) {
			session_write_control(dst, WS_OP_PONG, ev->data,
			    ev->len);
		}
		break;
	case WS_OP_CLOSE:
		session_close_frame(src, ev);
		break;
	}
}

/* Notes activity for idle_timeout, at the loop's cached time. */
static void
session_touch(struct session *s)
{
	if (session_limits(s)->idle_timeout != 0)
		event_base_gettimeofday_cached(s->base, &s->last_activity);
}

static void
session_data(struct endpoint *src, const struct frame_event *ev,
    const uint8_t *key)
{
	struct session	*s = src->s;
	struct endpoint	*dst = src->peer;

	src->bytes_in += ev->len;
	if (ev->last) {
		src->msgs_in++;
		session_touch(s);
	}
	/* §5.5.1: no data after a close frame, which only binds the
	 * sender: the side that closed first still gets data until its
	 * reply. */
	if (dst->close_sent || dst->state != ENDPOINT_OPEN)
		return;
	if (dst->websocket) {
		session_forward_chunk(dst, ev, key);
		return;
	}
	/* A tcp backend gets the payload bytes, as they arrive. */
	(void)conn_write(dst->conn, ev->data, ev->len);
	dst->bytes_out += ev->len;
}

/*
 * message_rate: a token bucket per session, in micro-messages, refilled
 * at the loop's cached time (rate micro-messages per microsecond).  It
 * counts whole messages and control frames: a ping flood is a flood.
 */
static bool
session_rate_ok(struct session *s)
{
	const struct config_limits	*l = session_limits(s);
	uint64_t			 cap, us;
	struct timeval			 now, d;

	if (l->message_rate == 0)
		return true;
	cap = l->message_burst * 1000000;
	event_base_gettimeofday_cached(s->base, &now);
	timersub(&now, &s->msg_refilled, &d);
	s->msg_refilled = now;
	us = d.tv_sec < 0 ? 0 : (uint64_t)d.tv_sec * 1000000 +
	    (uint64_t)d.tv_usec;
	if (us >= (cap - s->msg_tokens) / l->message_rate)
		s->msg_tokens = cap;
	else
		s->msg_tokens += us * l->message_rate;
	if (s->msg_tokens < 1000000)
		return false;
	s->msg_tokens -= 1000000;
	return true;
}

/* Whether a message or control frame from src may go on; fails if not. */
static bool
session_count_message(struct endpoint *src)
{
	struct session	*s = src->s;

	if (src != &s->client || session_rate_ok(s))
		return true;
	session_fail(src, WS_CLOSE_POLICY, "message_rate exceeded");
	return false;
}

/* Reading src may go on while neither buffer it feeds is full. */
static bool
session_may_read(const struct endpoint *src)
{
	return !session_full(src) && !session_full(src->peer);
}

/*
 * Parses what src sent, in place, event by event.  Everything read is
 * consumed; reading stops afterwards when a buffer it feeds is full, so
 * an output holds at most buffer_high_watermark plus one read.
 */
static void
session_read_frames(struct endpoint *src, uint8_t *data, size_t len)
{
	struct session		*s = src->s;
	struct frame_event	 ev;
	uint8_t			 key[4];
	bool			 key_used = true;
	size_t			 used;

	while (len > 0 && (s->state == SESSION_RELAYING ||
	    s->state == SESSION_CLOSING) && src->state == ENDPOINT_OPEN) {
		/* Towards a backend: a fresh key per frame, applied by the
		 * reader in the pass that removes the client's (§10.3). */
		if (src->peer->masks && key_used) {
			entropy_bytes(key, sizeof(key));
			key_used = false;
		}
		used = frame_reader_feed_masked(&src->reader, data, len,
		    src->peer->masks ? key : NULL, &ev);
		data += used;
		len -= used;
		switch (ev.type) {
		case FRAME_NEED_MORE:
			break;
		case FRAME_DATA:
			if (ev.last && !session_count_message(src))
				return;
			session_data(src, &ev, key);
			key_used = true;
			break;
		case FRAME_CONTROL:
			if (!session_count_message(src))
				return;
			session_control(src, &ev);
			break;
		case FRAME_ERROR:
			session_fail(src, ev.close_code, ev.reason);
			return;
		}
	}
	if (!session_may_read(src))
		session_pause(src, true);
}

/* bytes from a tcp backend -------------------------------------------- */

/*
 * Sends what a tcp backend sent as one message to the client.  In text
 * mode the message ends at a whole code point so that each one is valid
 * UTF-8 on its own (§5.6): an open sequence waits in src->carry for its
 * next bytes (src->utf8 goes on across reads).
 */
static void
session_read_bytes(struct endpoint *src, const uint8_t *data, size_t len)
{
	struct session	*s = src->s;
	struct endpoint	*c = &s->client;
	bool		 text = s->rt->frames == ROUTE_FRAMES_TEXT;
	uint8_t		 hdr[FRAME_MAX_HEADER];
	size_t		 carried = text ? src->utf8.have : 0, body;

	if (s->state != SESSION_RELAYING)
		return;
	if (text && utf8_validate(&src->utf8, data, len, NULL) == -1) {
		session_close_peers(s, WS_CLOSE_INTERNAL, 0, "wsgate",
		    "backend sent invalid utf-8");
		return;
	}
	/* An open sequence lies wholly in carry + data, at its end. */
	body = carried + len - (text ? src->utf8.have : 0);
	if (body > 0) {
		(void)conn_write(c->conn, hdr, frame_encode_header(hdr, true,
		    text ? WS_OP_TEXT : WS_OP_BINARY, body, NULL));
		(void)conn_write(c->conn, src->carry, carried);
		(void)conn_write(c->conn, data, body - carried);
		c->bytes_out += body;
		c->msgs_out++;
		carried = 0;
	}
	/* Keep the open sequence (at most 3 bytes) for the next read. */
	memcpy(src->carry + carried, data + len - (src->utf8.have - carried),
	    src->utf8.have - carried);
	src->bytes_in += len;
	session_touch(s);
	if (session_full(c))
		session_pause(src, true);
}

/* A tcp backend's FIN: the session ends once its bytes are delivered. */
static void
session_bytes_eof(struct endpoint *src)
{
	struct session	*s = src->s;

	src->eof = true;
	if (s->state != SESSION_RELAYING)
		return;
	if (src->utf8.have > 0)
		session_close_peers(s, WS_CLOSE_INTERNAL, 0, "wsgate",
		    "backend closed inside a utf-8 sequence");
	else
		session_close_peers(s, WS_CLOSE_NORMAL, 0, "backend",
		    "backend closed");
}

/* entry points from session.c ----------------------------------------- */

/*
 * Adds what the client's counters gained to its route's: once per read,
 * not per message, so that /metrics costs the relay next to nothing.
 */
void
session_count_traffic(struct session *s)
{
	metrics_conn_traffic(&s->mc, s->client.bytes_in, s->client.msgs_in,
	    s->client.bytes_out, s->client.msgs_out);
}

/*
 * max_connection_memory, enforced: backpressure keeps a session's
 * buffers under it (config.c checks that both watermarks and what one
 * loop turn reads past them fit in it), so a session over it is a bug
 * or a path that escaped backpressure, and it ends here rather than
 * grow.
 */
static void
session_check_memory(struct session *s)
{
	size_t	used = session_outlen(&s->client) + session_outlen(&s->backend);

	if (used <= session_limits(s)->max_connection_memory)
		return;
	log_warnx("session %llu: %s: %zu bytes buffered, over "
	    "max_connection_memory: closed", (unsigned long long)s->id,
	    s->peer, used);
	session_note_close(s, WS_CLOSE_ABNORMAL, "wsgate",
	    "max_connection_memory exceeded");
	session_close(s, NULL);
}

void
session_relay_read(struct endpoint *src, uint8_t *data, size_t len)
{
	if (src->websocket)
		session_read_frames(src, data, len);
	else
		session_read_bytes(src, data, len);
	session_count_traffic(src->s);
	session_check_memory(src->s);
}

void
session_lifetime_over(struct session *s)
{
	if (s->state != SESSION_RELAYING)
		return;
	log_info("session %llu: %s: max_lifetime reached, closing",
	    (unsigned long long)s->id, s->peer);
	session_close_peers(s, WS_CLOSE_GOING_AWAY, WS_CLOSE_GOING_AWAY,
	    "wsgate", "max_lifetime reached");
}

/* ep's output drained to its low watermark: resume what feeds it. */
void
session_relay_drained(struct endpoint *ep)
{
	struct session	*s = ep->s;
	struct endpoint	*sides[2] = { &s->client, &s->backend };
	size_t		 i;

	for (i = 0; i < 2; i++) {
		struct endpoint	*src = sides[i];

		if (src->conn == NULL || !src->paused || src->peer == NULL ||
		    !session_may_read(src))
			continue;
		session_pause(src, false);
	}
}

/* EOF or error from a side that is relaying or closing. */
void
session_relay_event(struct endpoint *ep, enum conn_event what)
{
	struct session	*s = ep->s;
	bool		 client = ep == &s->client;
	bool		 tls = what == CONN_ERROR && errno == EPROTO;

	if (what == CONN_EOF && !ep->websocket) {
		session_bytes_eof(ep);
		return;
	}
	if (!ep->close_rcvd) {
		/* No close frame: §7.1.5 calls this 1006. */
		log_info("session %llu: %s %s without a close frame%s%s%s",
		    (unsigned long long)s->id, ep->name,
		    what == CONN_EOF ? "closed" : "failed", tls ? " (tls: " :
		    "", tls ? conn_tls_reason() : "", tls ? ")" : "");
		session_note_close(s, client ? WS_CLOSE_ABNORMAL :
		    WS_CLOSE_INTERNAL, ep->name, client ? "client went away" :
		    "backend went away");
	}
	session_endpoint_free(ep);
	if (s->state == SESSION_RELAYING) {
		session_close_peers(s, WS_CLOSE_INTERNAL, WS_CLOSE_GOING_AWAY,
		    ep->name, client ? "client went away" :
		    "backend went away");
		return;
	}
	/* Closing: a close the vanished side was to answer, we answer. */
	session_answer_close(client ? &s->backend : &s->client);
	session_close_progress(s);
}

void
session_idle_check(struct session *s)
{
	struct timeval	now, idle;
	uint64_t	ms, limit = session_limits(s)->idle_timeout;

	event_base_gettimeofday_cached(s->base, &now);
	timersub(&now, &s->last_activity, &idle);
	ms = (uint64_t)idle.tv_sec * 1000 + (uint64_t)idle.tv_usec / 1000;
	if (ms >= limit)
		session_close_peers(s, WS_CLOSE_GOING_AWAY,
		    WS_CLOSE_GOING_AWAY, "wsgate", "idle timeout");
	else
		session_arm(s->timer, limit - ms);
}

/* Keepalive (DESIGN.md: middleboxes drop idle connections). */
void
session_ping(struct session *s)
{
	if (s->state != SESSION_RELAYING)
		return;
	if (!s->awaiting_pong) {
		entropy_bytes(s->ping_token, sizeof(s->ping_token));
		session_write_control(&s->client, WS_OP_PING, s->ping_token,
		    sizeof(s->ping_token));
		s->awaiting_pong = true;
		session_arm(s->ping_timer, session_limits(s)->pong_timeout);
	} else if (s->client.paused) {
		/* The pong may sit unread behind backpressure: wait on. */
		session_arm(s->ping_timer, session_limits(s)->pong_timeout);
	} else {
		session_fail(&s->client, WS_CLOSE_INTERNAL,
		    "keepalive ping timeout");
	}
}

/* Relays what ep sent before the relay started (right behind a head). */
static void
session_relay_held(struct endpoint *ep)
{
	struct evbuffer	*held = ep->held;
	size_t		 len;

	if (held == NULL)
		return;
	/* Detached: the session may end, and free ep's state, meanwhile. */
	ep->held = NULL;
	len = evbuffer_get_length(held);
	if (len > 0 && ep->state == ENDPOINT_OPEN)
		session_relay_read(ep, evbuffer_pullup(held, (ev_ssize_t)len),
		    len);
	evbuffer_free(held);
}

/* Starts relaying on one side: its buffer bounds, reading on. */
static void
session_relay_endpoint(struct endpoint *ep)
{
	conn_set_lowat(ep->conn, session_limits(ep->s)->buffer_high_watermark /
	    2);
	conn_read(ep->conn, true);
}

void
session_start_relay(struct session *s)
{
	struct endpoint	*c = &s->client, *b = &s->backend;

	session_set_state(s, SESSION_RELAYING);
	session_touch(s);
	/* The route's own limits from now on. */
	c->reader.max_message = session_limits(s)->max_message;
	s->msg_tokens = session_limits(s)->message_burst * 1000000;
	event_base_gettimeofday_cached(s->base, &s->msg_refilled);
	c->peer = b->conn != NULL ? b : c;	/* echo: back to itself */
	if (b->conn != NULL) {
		b->peer = c;
		b->websocket = s->rt->be->type == BACKEND_WEBSOCKET;
		b->masks = b->websocket;
		frame_reader_init(&b->reader, FRAME_FROM_SERVER,
		    session_limits(s)->max_message);
		utf8_init(&b->utf8);
		backend_session_open(s->rt->be, s->srv);
		s->counted = true;
		session_relay_endpoint(b);
	}
	session_relay_endpoint(c);
	/* Frames that came right behind the request head or the 101. */
	conn_batch_begin();
	session_relay_held(c);
	if (b->conn != NULL && s->state == SESSION_RELAYING)
		session_relay_held(b);
	conn_batch_end();
}
