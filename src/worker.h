/*
 * worker — the event-loop threads that carry the sessions.
 *
 * Each worker owns an event_base, its listening sockets and every
 * session it accepted; nothing of a session is touched by another
 * thread, so the relay path takes no lock.  The main thread talks to a
 * worker through a pipe (commands) and hears back through another
 * (finished).  All workers share the configuration generation, read
 * only, and hold a reference to it.
 */
#ifndef WSGATE_WORKER_H
#define WSGATE_WORKER_H

#include <event2/event.h>

#include "config.h"
#include "listener.h"

struct worker;

/* The number of workers cfg asks for (auto: one per online CPU). */
unsigned	 worker_count(const struct config *cfg);

/*
 * Starts worker number id on its sockets of set.  When it has finished
 * (shut down, or stopped) it calls done(id, arg) on main_base, from the
 * main thread, and after each reload reloaded(id, arg).  NULL after
 * logging on failure.
 */
struct worker	*worker_start(unsigned id, struct listener_set *set,
		    struct config *cfg, struct event_base *main_base,
		    void (*done)(unsigned, void *),
		    void (*reloaded)(unsigned, void *), void *arg);

/*
 * Reload: the worker moves its listeners to set (see listener_start)
 * and gives new sessions cfg; it calls reloaded() once done, after which
 * the previous set may be freed.  One reload at a time.
 */
void		 worker_reload_to(struct worker *w, struct listener_set *set,
		    struct config *cfg);

/*
 * Graceful shutdown: stop accepting, close 1001 to every client, wait
 * for the close handshakes (at most close_timeout and a second).
 */
void		 worker_shutdown(struct worker *w);

/* Stops at once, sessions and all. */
void		 worker_stop(struct worker *w);

/* Waits for the thread (after done was called) and frees w. */
void		 worker_free(struct worker *w);

#endif
