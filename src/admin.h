/*
 * admin — the admin HTTP listener (admin.address): GET /healthz,
 * /metrics (Prometheus) and /sessions (JSON), served by libevent's evhttp
 * on the main thread's event loop, apart from the WebSocket listeners.
 */
#ifndef WSGATE_ADMIN_H
#define WSGATE_ADMIN_H

#include <event2/event.h>

#include "config.h"
#include "worker.h"

struct admin;

/*
 * Binds cfg->admin's address (before privileges are dropped) and serves
 * it on base, the main thread's loop, once that runs.  Logs the address,
 * and warns when it is not a loopback one.  Holds a reference to cfg.
 * NULL after logging why when the address cannot be bound.
 */
struct admin	*admin_new(struct event_base *base, struct config *cfg);

/* The workers /sessions asks; set once they run (the array is borrowed). */
void		 admin_set_workers(struct admin *a, struct worker **workers,
		    unsigned nworkers);

/* A new configuration generation: the servers /metrics shows. */
void		 admin_set_config(struct admin *a, struct config *cfg);

/* A shutdown began: /healthz answers 503 from now on. */
void		 admin_stopping(struct admin *a);

/*
 * Answers what is still waiting with 503 and closes the listener.  After
 * worker_free() of every worker: questions to them still refer to a.
 * admin_free(NULL) does nothing.
 */
void		 admin_free(struct admin *a);

#endif
