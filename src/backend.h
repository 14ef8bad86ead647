/*
 * backend — backend pools: choosing a server (round robin by weight,
 * least connections, client-address hash), passive health (a server that
 * failed fail_threshold times in a row rests for fail_timeout), active
 * health checks (a TCP connect, or a WebSocket handshake for websocket
 * backends), periodic re-resolution of server names with evdns, and
 * opening a connection to the chosen server.
 *
 * The run-time state lives in the config generation (struct
 * backend_server, struct backend_runtime) and is only touched from the
 * event loop thread.
 */
#ifndef WSGATE_BACKEND_H
#define WSGATE_BACKEND_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "config.h"

/* One session's walk through a pool. */
struct backend_attempt {
	uint64_t	tried;		/* bit i: servers[i] was tried */
	unsigned	count;		/* connects started so far */
	uint32_t	hash;		/* of the client address, ip_hash */
};

enum backend_pick_result {
	BACKEND_PICKED,		/* *srv is the server to connect */
	BACKEND_NONE_HEALTHY,	/* every server is down (503) */
	BACKEND_EXHAUSTED	/* retries used up, or all tried (502/504) */
};

/* Starts a session's walk; client is the address ip_hash uses. */
void	backend_attempt_init(struct backend_attempt *a,
	    const struct sockaddr *client);

/*
 * Picks the next server for a session: never one it tried, never a
 * server that is down (passive or active health), at most 1 + retries
 * connects.  now is backend_now().  BACKEND_NONE_HEALTHY when no server
 * is up (whatever a has tried; also for a pool without servers),
 * BACKEND_EXHAUSTED when a has used its connects or tried every server
 * that is up.  ip_hash ignores weights.
 */
enum backend_pick_result backend_pick(struct backend *be,
	    struct backend_attempt *a, uint64_t now,
	    struct backend_server **srv);

/*
 * The outcome of a connect (and, for websocket, of its handshake):
 * fail_threshold failures in a row rest srv for fail_timeout; a success
 * ends the streak.
 */
void	backend_report(struct backend *be, struct backend_server *srv,
	    bool ok, uint64_t now);

/* A session starts or stops using srv (least_conn counts these). */
void	backend_session_open(struct backend_server *srv);
void	backend_session_close(struct backend_server *srv);

/*
 * True when srv may be given new sessions now: its last health check
 * passed and it is not resting.  A pool of one server never rests (as in
 * nginx): there is no other server to send its clients to.
 */
bool	backend_server_up(const struct backend *be,
	    const struct backend_server *srv, uint64_t now);

/* Monotonic clock in milliseconds. */
uint64_t backend_now(void);

/*
 * Starts a non-blocking connect to srv (TCP or unix socket); the
 * bufferevent reports BEV_EVENT_CONNECTED or an error to the callbacks
 * set by the caller.  Returns NULL with errno set when it fails at once.
 * Caller frees.
 */
struct bufferevent *backend_connect(struct event_base *base,
	    const struct backend_server *srv);

/*
 * Starts the active health checks and name re-resolution of every
 * backend of cfg (a no-op for backends without them; dns NULL: no
 * re-resolution).  The first health check runs at once, the first
 * look-up after resolve_interval.  Returns 0 or -1 (nothing started).
 */
int	backend_runtime_start(struct config *cfg, struct event_base *base,
	    struct evdns_base *dns);

/*
 * Stops them and frees what backend_runtime_start() allocated; call it
 * before freeing base or dns.  A cancelled look-up's callback still runs
 * from dns later and frees its own state.
 */
void	backend_runtime_stop(struct config *cfg);

#endif
