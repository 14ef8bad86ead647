/*
 * metrics — the counters, gauges and histograms of the whole process,
 * and their Prometheus text exposition (format 0.0.4) for the admin
 * listener's /metrics.
 *
 * Threads: the worker threads count (metrics_conn_*, metrics_handshake,
 * metrics_backend_connect); the main thread renders (metrics_render)
 * and notes reloads.  Nothing here takes a lock on the relay path:
 * traffic goes to counters of the route that only the session's worker
 * writes (relaxed atomic loads and stores, the cost of plain adds), once
 * per read rather than per message.  Events that happen once per
 * connection (handshake statuses, closes, histograms) are relaxed
 * atomic adds on counters every worker shares.
 */
#ifndef WSGATE_METRICS_H
#define WSGATE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "config.h"

/* The label of connections that matched no route (or not yet). */
#define METRICS_NO_ROUTE	"-"

struct metrics_slot;

/* A connection's share of the metrics, kept in its session. */
struct metrics_conn {
	struct metrics_slot	*slot;		/* its route's counters on its
						   worker; NULL: not counted */
	const char		*route;		/* its label, METRICS_NO_ROUTE
						   until routed; lives as long
						   as the process */
	unsigned		 worker;
	bool			 routed;	/* counted in a route's total */
	uint64_t		 bytes_in, msgs_in;	/* already counted */
	uint64_t		 bytes_out, msgs_out;
};

/*
 * Sizes the per-worker counters for workers 0 to nworkers - 1 and notes
 * the start time.  Once, before any connection.  0, or -1 (no memory).
 */
int	metrics_init(unsigned nworkers);

/*
 * Registers the routes and backends of cfg, so that their series show
 * (at 0) before their first connection.  Main thread; after
 * metrics_init() and for every new configuration generation.
 */
void	metrics_register(const struct config *cfg);

/* Accepted by worker number worker: active under METRICS_NO_ROUTE. */
void	metrics_conn_open(struct metrics_conn *mc, unsigned worker);

/*
 * The handshake was decided: rt of cfg matched (NULL: none did).  Counts
 * the connection in its route's total and moves it to the route's
 * active gauge; once per connection.
 */
void	metrics_conn_route(struct metrics_conn *mc, const struct config *cfg,
	    const struct route *rt);

/*
 * The connection's traffic so far, the totals of its access line: what
 * was added since the last call is counted.  On its worker's thread.
 */
void	metrics_conn_traffic(struct metrics_conn *mc, uint64_t bytes_in,
	    uint64_t msgs_in, uint64_t bytes_out, uint64_t msgs_out);

/*
 * The connection ended: status is the HTTP status it was answered (0:
 * none, also counted in the handshakes then), close_code and by (client,
 * backend, wsgate) how its WebSocket ended, duration_us its age.
 */
void	metrics_conn_close(struct metrics_conn *mc, int status,
	    unsigned close_code, const char *by, uint64_t duration_us);

/* An HTTP status (101, 404, a backend's refusal, ...) was sent. */
void	metrics_handshake(int status);

/* A connect to a server of backend took usec (TCP, and TLS if any). */
void	metrics_backend_connect(const char *backend, uint64_t usec);

/* A monotonic clock in microseconds, for durations. */
uint64_t metrics_now_us(void);

/* A SIGHUP reload succeeded (a new configuration generation) or failed. */
void	metrics_note_reload(bool ok);

/*
 * Appends every metric in the Prometheus text format 0.0.4 to out.  cfg
 * (NULL: left out) gives the servers whose health is shown; their
 * backends' locks are taken in turn.  Main thread.
 */
void	metrics_render(struct evbuffer *out, struct config *cfg);

#endif
