/*
 * worker — the event-loop threads that carry the sessions.
 *
 * Each worker owns an event_base, its listening sockets and every
 * session it accepted; nothing of a session is touched by another
 * thread, so the relay path takes no lock.  The main thread talks to a
 * worker through a pipe (commands) and hears back through another
 * (finished, and the answers to its questions).  All workers share the
 * configuration generation, read only, and hold a reference to it.
 */
#ifndef WSGATE_WORKER_H
#define WSGATE_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "config.h"
#include "listener.h"

struct worker;
struct session_info;

/* A question to a worker about its sessions (the admin's /sessions). */
struct worker_listing {
	/* Set by the asker. */
	size_t			 max;		/* sessions described at most */
	uint64_t		 seq;		/* the asker's, left as it is */
	void			(*done)(struct worker_listing *, void *);
	void			*arg;
	/* The worker's answer. */
	unsigned		 worker;
	struct session_info	*sessions;	/* count of them; the asker
						   frees it */
	size_t			 count;
	size_t			 live;		/* sessions the worker has */
	bool			 failed;	/* not answered: out of memory,
						   or the worker had ended */
};

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

/*
 * Asks w to describe its sessions in l.  l belongs to w until
 * l->done(l, l->arg) is called, from the main loop, on the main thread:
 * once the worker has answered, or with l->failed set when it cannot
 * (its loop has ended; at the latest from worker_free()).  Returns -1,
 * without calling done, when w has finished already.
 */
int		 worker_describe(struct worker *w, struct worker_listing *l);

/* Stops at once, sessions and all. */
void		 worker_stop(struct worker *w);

/* Waits for the thread (after done was called) and frees w. */
void		 worker_free(struct worker *w);

#endif
