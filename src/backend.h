/*
 * backend — choosing a server of a backend pool and opening a connection
 * to it.  Round robin for now; each connection tries every server of the
 * pool at most once, starting where the cursor points.
 */
#ifndef WSGATE_BACKEND_H
#define WSGATE_BACKEND_H

#include <stddef.h>

#include <event2/bufferevent.h>

#include "config.h"

/* Advances the round-robin cursor; returns where a new connection starts. */
size_t	backend_start(struct backend *be);

/* The server for the given attempt (0, 1, ...) of a connection, or NULL
 * when every server has been tried. */
const struct backend_server *backend_server(const struct backend *be,
	    size_t start, size_t attempt);

/*
 * Starts a non-blocking connect to srv; the bufferevent reports
 * BEV_EVENT_CONNECTED or an error to the callbacks set by the caller.
 * Returns NULL with errno set when it fails at once.  Caller frees.
 */
struct bufferevent *backend_connect(struct event_base *base,
	    const struct backend_server *srv);

#endif
