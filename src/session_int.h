/*
 * session_int.h — what the three files of the session module share:
 * session.c (life cycle, callbacks, timers, orderly TCP close),
 * session_upgrade.c (opening handshakes, backend connect) and
 * session_relay.c (frames both ways, close handshake, keepalive).
 * Not for other modules: they use session.h.
 */
#ifndef WSGATE_SESSION_INT_H
#define WSGATE_SESSION_INT_H

#include <sys/queue.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "admission.h"
#include "backend.h"
#include "config.h"
#include "conn.h"
#include "frame.h"
#include "handshake.h"
#include "http.h"
#include "metrics.h"
#include "tls.h"

/* The longest request target kept for the logs. */
#define SESSION_TARGET_MAX	1024

enum session_state {
	SESSION_HANDSHAKE,	/* reading and checking the request */
	SESSION_CONNECTING,	/* choosing and connecting a backend */
	SESSION_UPGRADING,	/* waiting for a websocket backend's 101 */
	SESSION_REFUSING,	/* passing a backend's refusal on */
	SESSION_RELAYING,	/* both sides open, frames flowing */
	SESSION_CLOSING,	/* close frames under way, replies awaited */
	SESSION_LINGERING,	/* flushing and closing both sides */
	SESSION_NSTATES
};

enum endpoint_state {
	ENDPOINT_OPEN,		/* carrying data */
	ENDPOINT_FLUSHING,	/* writing what is left, then FIN */
	ENDPOINT_DRAINING,	/* FIN sent (or awaited first from a
				   websocket backend); reading until EOF */
	ENDPOINT_CLOSED		/* no socket */
};

struct session;

/* One side of a session; relay code is written once for (src, dst). */
struct endpoint {
	struct session		*s;
	struct endpoint		*peer;		/* where its messages go */
	const char		*name;		/* "client", "backend" */
	struct conn		*conn;
	struct evbuffer		*held;		/* read, waiting for its phase:
						   a head, frames behind it */
	enum endpoint_state	 state;
	bool			 websocket;	/* speaks frames, not bytes */
	bool			 masks;		/* frames to it are masked */
	bool			 paused;	/* backpressure: not reading */
	bool			 eof;		/* the peer sent FIN */
	bool			 tx_in_message;	/* we are sending it a
						   fragmented message */
	bool			 close_sent;	/* close frame sent to it */
	bool			 close_rcvd;	/* close frame received */
	uint16_t		 close_code;	/* the code it sent */
	struct frame_reader	 reader;	/* frames from it */
	struct utf8_state	 utf8;		/* tcp text: bytes from it */
	uint8_t			 carry[4];	/* tcp text: an open sequence */
	uint64_t		 bytes_in, bytes_out;
	uint64_t		 msgs_in, msgs_out;
};

/* What the opening handshakes need; freed once relaying starts. */
struct session_upgrade {
	char			*head;		/* copy of the request head */
	struct http_request	 req;		/* parsed, points into head */
	struct handshake_result	 hr;		/* the 101 for the client */
	struct handshake_upstream up;		/* websocket backends */
	char			*protocol;	/* the backend's choice */
	char			*passthrough;	/* its 101's header lines */
	struct backend_attempt	 attempt;
	bool			 timed_out;	/* last failure: a timeout */
	uint64_t		 connect_start;	/* metrics_now_us() */
	size_t			 body_left;	/* REFUSING: bytes to pass */
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	uint64_t		 id;
	unsigned		 worker;	/* whose thread it lives on */
	enum session_state	 state;
	struct event_base	*base;
	struct config		*cfg;
	const struct route	*rt;
	struct backend_server	*srv;		/* connected server */
	struct backend_server	*tried;		/* the last one tried, for
						   the access line of a 502 */
	char			 ip[INET6_ADDRSTRLEN];
	char			 peer[INET6_ADDRSTRLEN + 8];
	char			*target;	/* for logs: the request
						   target, query redacted
						   unless log.query; NULL
						   before the head */
	struct sockaddr_storage	 peer_ss;	/* the client (PROXY header's
						   source when there is one) */
	struct sockaddr_storage	 local_ss;	/* the address it reached */
	socklen_t		 local_len;
	const struct config_listen *listen;
	bool			 proxy_pending;	/* PROXY header expected */
	bool			 proxied;	/* the header named the client */
	bool			 peer_trusted;	/* TCP peer in trusted_proxies */
	bool			 tls;		/* the client speaks TLS */
	struct tls_server	*tls_server;	/* its certificates (a
						   reference), for a TLS
						   start after a PROXY header */

	struct endpoint		 client;
	struct endpoint		 backend;
	struct session_upgrade	*up;

	struct event		*timer;		/* the phase's timeout */
	struct event		*ping_timer;	/* keepalive */
	struct event		*drain_timer;	/* a reload drains it; NULL:
						   not asked to */
	struct event		*lifetime_timer; /* max_lifetime; NULL: none */
	struct event		*free_ev;	/* deferred session_free */
	bool			 awaiting_pong;
	uint8_t			 ping_token[8];	/* our ping's payload */
	struct timeval		 started;
	struct timeval		 last_activity;	/* data, for idle_timeout */
	struct admission_ticket	 ticket;	/* its connection counted */
	uint64_t		 msg_tokens;	/* message_rate bucket, in
						   micro-messages */
	struct timeval		 msg_refilled;	/* when msg_tokens was right */

	/* For the access log. */
	int			 status;
	unsigned		 close_code;
	const char		*closed_by;
	const char		*reason;
	bool			 closed;	/* session_close() was called */
	bool			 counted;	/* backend_session_open() done */
	struct metrics_conn	 mc;		/* its counters, /metrics */
};

/* The limits that apply: the route's once routed, the global ones before. */
static inline const struct config_limits *
session_limits(const struct session *s)
{
	return s->rt != NULL ? &s->rt->limits : &s->cfg->limits;
}

/* session.c */
void	session_name_peer(struct session *, const struct sockaddr *,
	    socklen_t);
void	session_set_state(struct session *, enum session_state);
void	session_set_status(struct session *, int);
void	session_arm(struct event *, uint64_t);
void	session_note_close(struct session *, unsigned, const char *,
	    const char *);
void	session_close(struct session *, const char *);
/* The request target for a log line: "-" before there is one. */
const char *session_target(const struct session *);
void	session_linger(struct session *);
void	session_endpoint_shutdown(struct endpoint *);
void	session_endpoint_free(struct endpoint *);
void	session_maybe_done(struct session *);
size_t	session_outlen(const struct endpoint *);
bool	session_full(const struct endpoint *);
void	session_pause(struct endpoint *, bool);
int	session_hold(struct endpoint *, const uint8_t *, size_t);
void	session_set_backend_callbacks(struct session *);

/* session_upgrade.c */
bool	session_admit(struct session *);
void	session_read_head(struct session *);
void	session_read_proxy_peeked(struct session *, const uint8_t *, size_t);
void	session_reject(struct session *, const struct handshake_result *);
void	session_backend_connect_event(struct session *, enum conn_event);
void	session_connect_timeout(struct session *);
void	session_read_upstream(struct session *);
void	session_refusal_body(struct session *, const uint8_t *, size_t);
void	session_upgrade_free(struct session *);

/* session_relay.c */
void	session_start_relay(struct session *);
void	session_relay_read(struct endpoint *, uint8_t *, size_t);
void	session_count_traffic(struct session *);
void	session_relay_drained(struct endpoint *);
void	session_relay_event(struct endpoint *, enum conn_event);
void	session_close_peers(struct session *, uint16_t, uint16_t,
	    const char *, const char *);
void	session_closing_timeout(struct session *);
void	session_idle_check(struct session *);
void	session_ping(struct session *);
void	session_lifetime_over(struct session *);

#endif
