/*
 * listener — the listening sockets of a configuration: accept, hand each
 * connection to a new session, back off when out of file descriptors.
 */
#ifndef WSGATE_LISTENER_H
#define WSGATE_LISTENER_H

#include <event2/event.h>

#include "config.h"

struct listener;

/*
 * Binds every listen address of cfg.  Returns the set, or NULL after
 * logging which address failed (startup aborts then).  Caller frees.
 */
struct listener	*listener_open(struct event_base *base, struct config *cfg);

/* Stops accepting and closes the sockets. */
void		 listener_free(struct listener *ls);

#endif
