/*
 * listener — the listening sockets: bound by the main thread at startup
 * and by reloads (one per listen address and worker, SO_REUSEPORT), then
 * each worker accepts on its own and hands connections to new sessions,
 * backing off when out of file descriptors.
 */
#ifndef WSGATE_LISTENER_H
#define WSGATE_LISTENER_H

#include <event2/event.h>

#include "config.h"

struct listener_set;
struct listener;

/*
 * Binds every listen address of cfg nworkers times and logs each
 * address; loads the certificates of its TLS listeners.  With old (the
 * running generation's set, on a reload), an address old has too is not
 * bound again: its sockets stay with the workers, which move them over
 * in listener_start().  The set must outlive the workers' listeners made
 * from it (their TLS servers live in it).  Returns the set, or NULL after
 * logging which address or certificate failed.  A port another process
 * holds is refused even if it too set SO_REUSEPORT: the first socket of
 * an address is bound without it.
 */
struct listener_set *listener_bind(const struct config *cfg,
		    unsigned nworkers, const struct listener_set *old);

/*
 * Worker number worker accepts its sockets of set on base, sessions
 * getting cfg (the generation set was bound for).  old, the worker's
 * listener of the previous generation or NULL, is consumed: the sockets
 * of the addresses set kept are moved over without being closed, the
 * others are closed.  The listener owns its sockets from then on.
 */
struct listener	*listener_start(struct listener_set *set, unsigned worker,
		    struct event_base *base, struct config *cfg,
		    struct listener *old);

/*
 * The address a listening socket is bound to, with the port the kernel
 * chose for port 0: "127.0.0.1:8080", "[::1]:8080", "?" if unknown.
 */
void		 listener_name(int fd, char *name, size_t size);

/* Closes the sockets no worker took; frees the set and its TLS servers. */
void		 listener_set_free(struct listener_set *set);

/* Stops accepting and closes the worker's sockets. */
void		 listener_free(struct listener *l);

#endif
