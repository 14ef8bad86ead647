/*
 * session — one client connection from accept to close: reading the
 * opening handshake, connecting the backend, relaying frames both ways
 * with backpressure, keepalive pings, and the close handshake.
 */
#ifndef WSGATE_SESSION_H
#define WSGATE_SESSION_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"

/*
 * Takes over a socket accepted by worker number worker (the thread of
 * base) on the listener cl of cfg, speaking TLS with the certificates of
 * tls when not NULL.  The session holds a reference to cfg for its whole
 * life and takes over the caller's reference to tls.  On failure the
 * socket is closed.
 */
struct tls_server;
void	session_accept(struct event_base *base, unsigned worker,
	    evutil_socket_t fd, const struct sockaddr *sa, socklen_t salen,
	    struct config *cfg, const struct config_listen *cl,
	    struct tls_server *tls);

/*
 * One live session as /sessions shows it: copies, so that it outlives
 * the session; route and state are static strings.
 */
struct session_info {
	uint64_t	 id;
	unsigned	 worker;
	char		 client[64];		/* address:port */
	char		 target[1100];		/* as logged, "" before the head */
	const char	*route;			/* metrics label, "-": none */
	char		 backend[128];		/* "" before the route */
	char		 server[128];		/* "" when none is connected */
	const char	*state;			/* "relaying", ... */
	uint64_t	 age_ms;
	uint64_t	 bytes_in, msgs_in;	/* from the client */
	uint64_t	 bytes_out, msgs_out;	/* to the client */
};

/*
 * Describes up to max sessions of the calling worker thread in out, in
 * the order they were accepted; returns how many.
 */
size_t	session_describe(struct session_info *out, size_t max);

/* Number of live sessions of the calling worker thread. */
size_t	session_count(void);

/* Sessions open in every worker, and accepted since startup. */
void	session_totals(size_t *open, uint64_t *accepted);

/*
 * Starts a graceful shutdown of the calling worker's sessions: close
 * 1001 to every relaying client, the others are closed at once.  done is
 * called (on this thread) once no session is left.
 */
void	session_shutdown_all(void (*done)(void));

/*
 * Frees every session of the calling worker at once, each with its
 * access line: the worker's loop has ended (shutdown_timeout, or stop).
 */
void	session_drop_all(void);

/*
 * The calling worker now gives new sessions cfg.  Its sessions keep the
 * configuration they started with; those whose route has on_reload:
 * drain and is not in cfg unchanged are closed 1001 after the route's
 * drain_timeout.
 */
void	session_reload(const struct config *cfg);

#endif
