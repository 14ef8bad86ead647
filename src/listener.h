/*
 * listener — the listening sockets: bound once at startup by the main
 * thread (one per listen address and worker, SO_REUSEPORT), then each
 * worker accepts on its own and hands connections to new sessions,
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
 * address; loads the certificates of its TLS listeners.  The set must
 * outlive the workers' listeners (their TLS contexts live in it).
 * Returns the set, or NULL after logging which address failed
 * (startup aborts then).  A port another process holds is refused even
 * if it too set SO_REUSEPORT: the first socket of an address is bound
 * without it.
 */
struct listener_set *listener_bind(const struct config *cfg,
		    unsigned nworkers);

/*
 * Worker number worker starts accepting its sockets of set on base,
 * sessions getting cfg.  The listener owns those sockets from then on.
 */
struct listener	*listener_start(struct listener_set *set, unsigned worker,
		    struct event_base *base, struct config *cfg);

/*
 * Reads the certificates of every TLS listener of cfg (the generation
 * set was bound for) again; new connections use them, established ones
 * keep theirs.  A listener whose files fail to load keeps its previous
 * certificates, and the error is logged.  0, or -1 if any failed.
 */
int		 listener_reload_tls(struct listener_set *set,
		    const struct config *cfg);

/*
 * The address a listening socket is bound to, with the port the kernel
 * chose for port 0: "127.0.0.1:8080", "[::1]:8080", "?" if unknown.
 */
void		 listener_name(int fd, char *name, size_t size);

/* Closes the sockets no worker took; frees the set and its TLS contexts. */
void		 listener_set_free(struct listener_set *set);

/* Stops accepting and closes the worker's sockets. */
void		 listener_free(struct listener *l);

#endif
