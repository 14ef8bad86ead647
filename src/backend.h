/*
 * backend — backend pools: choosing a server (round robin by weight,
 * least connections, client-address hash), passive health (a server that
 * failed fail_threshold times in a row rests for fail_timeout), active
 * health checks (a TCP connect, or a WebSocket handshake for websocket
 * backends), periodic re-resolution of server names with evdns, and
 * the socket for a connection to the chosen server.
 *
 * Threads: the worker threads call backend_pick(), backend_report(),
 * backend_session_open()/close() and backend_socket() for their
 * sessions, all at once on the same backends; the control thread runs
 * backend_runtime_start()/stop() and, on its own event loop, the health
 * checks and re-resolution.  The run-time state of each server (struct
 * backend_server: ss/sslen, current_weight, active, fails, down_until,
 * check_failed) lives in the config generation and is guarded by its
 * backend's lock, be->lock, which these functions take: once per call,
 * per connection or per check, never per message.  struct
 * backend_runtime belongs to the control thread alone.
 */
#ifndef WSGATE_BACKEND_H
#define WSGATE_BACKEND_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

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
 * that is up.  ip_hash ignores weights.  Takes be->lock.
 */
enum backend_pick_result backend_pick(struct backend *be,
	    struct backend_attempt *a, uint64_t now,
	    struct backend_server **srv);

/*
 * The outcome of a connect (and, for websocket, of its handshake):
 * fail_threshold failures in a row rest srv for fail_timeout; a success
 * ends the streak.  srv is a server of be; takes be->lock.
 */
void	backend_report(struct backend *be, struct backend_server *srv,
	    bool ok, uint64_t now);

/*
 * A session starts or stops using srv, a server of be (least_conn counts
 * these); takes be->lock.
 */
void	backend_session_open(struct backend *be, struct backend_server *srv);
void	backend_session_close(struct backend *be, struct backend_server *srv);

/*
 * True when srv may be given new sessions now: its last health check
 * passed and it is not resting.  A pool of one server never rests (as in
 * nginx): there is no other server to send its clients to.  Takes no
 * lock: the caller holds be->lock, or is the only thread using be (the
 * unit tests).
 */
bool	backend_server_up(const struct backend *be,
	    const struct backend_server *srv, uint64_t now);

/* backend_server_up() now, under be->lock: for other threads (/metrics). */
bool	backend_server_healthy(struct backend *be,
	    const struct backend_server *srv);

/* Monotonic clock in milliseconds. */
uint64_t backend_now(void);

/*
 * A socket for a connection to srv, a server of be: copies srv's current
 * address (re-resolution may change it) into *ss and *sslen under
 * be->lock, and returns a non-blocking, close-on-exec stream socket of
 * its family, with TCP_NODELAY for TCP.  The caller starts the connect
 * to *ss and closes the socket.  Returns -1 with errno set on failure.
 */
int	backend_socket(struct backend *be, const struct backend_server *srv,
	    struct sockaddr_storage *ss, socklen_t *sslen);

/*
 * The TLS client context of be when it has tls (backends.NAME.tls), in
 * be->tls_client: built once per config generation, before the workers
 * start, shared by all of them and freed with the config.  Returns 0
 * (also without tls), or -1 with a message in err naming the file.
 */
int	backend_tls_init(struct backend *be, char *err, size_t errlen);

/*
 * A client SSL for a connection to srv, a server of a backend with tls:
 * its name as SNI and checked, and with resume its last session
 * offered.  NULL when out of memory; the caller owns the SSL.
 */
SSL	*backend_tls_ssl(struct backend *be, const struct backend_server *srv,
	    bool resume);

/*
 * Starts the active health checks and name re-resolution of every
 * backend of cfg (a no-op for backends without them; dns NULL: no
 * re-resolution) on base, the control thread's event loop.  The first
 * health check runs at once, the first look-up after resolve_interval.
 * Returns 0 or -1 (nothing started).
 */
int	backend_runtime_start(struct config *cfg, struct event_base *base,
	    struct evdns_base *dns);

/*
 * Stops them and frees what backend_runtime_start() allocated; call it
 * from the control thread, before freeing base or dns.  A cancelled
 * look-up's callback still runs from dns later and frees its own state.
 */
void	backend_runtime_stop(struct config *cfg);

#endif
