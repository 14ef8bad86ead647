/*
 * worker — one event-loop thread: its event_base, its listening sockets
 * (listener.c) and its sessions (session.c keeps them per thread).
 *
 * The bases are not shared, so libevent runs without locks
 * (evthread_use_pthreads is never called): the main thread reaches a
 * worker only through the worker's command pipe, one byte per command,
 * and the worker answers through its done pipe: when a reload is
 * applied, once its loop has ended, and with the sessions it was asked
 * to describe.  A question and its answer carry a pointer behind their
 * byte: the struct travels with the message, so only one thread at a
 * time touches it (each message is written whole, being shorter than
 * PIPE_BUF).  A reload's new generation travels in the worker struct,
 * written by main before the command byte and read by the worker after
 * it (the pipe orders the two).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "session.h"
#include "worker.h"

#define WORKER_CMD_SHUTDOWN	'S'	/* graceful: close 1001, wait */
#define WORKER_CMD_STOP		'Q'	/* at once */
#define WORKER_CMD_RELOAD	'R'	/* take next_set and next_cfg */
#define WORKER_CMD_DESCRIBE	'L'	/* + pointer: describe sessions */
#define WORKER_REPLY_DONE	'd'	/* the loop has ended */
#define WORKER_REPLY_DESCRIBED	'l'	/* + pointer: here they are */
#define WORKER_REPLY_RELOADED	'r'	/* the new generation is in use */

struct worker {
	unsigned		 id;
	pthread_t		 thread;
	bool			 running;	/* thread started */
	struct event_base	*base;
	struct listener		*listener;
	struct config		*cfg;
	struct listener_set	*next_set;	/* a reload's, from main */
	struct config		*next_cfg;	/* with a reference for us */
	int			 cmd[2];	/* main -> worker */
	int			 done[2];	/* worker -> main */
	struct event		*cmd_ev;	/* on base */
	struct event		*deadline;	/* on base: shutdown bound */
	struct event		*done_ev;	/* on the main base */
	bool			 stopping;
	bool			 finished;	/* main thread: done came */
	void			(*done_cb)(unsigned, void *);
	void			(*reloaded_cb)(unsigned, void *);
	void			*done_arg;
};

/* The worker of the calling thread (for session_shutdown_all's done). */
static _Thread_local struct worker	*worker_self;

unsigned
worker_count(const struct config *cfg)
{
	long	n;

	if (cfg->workers != CONFIG_WORKERS_AUTO)
		return cfg->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (unsigned)n;
}

static void
worker_all_closed(void)
{
	log_debug("worker %u: all sessions closed", worker_self->id);
	event_base_loopexit(worker_self->base, NULL);
}

static void
worker_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	(void)fd;
	(void)what;
	log_info("worker %u: shutdown: %zu sessions still open, exiting",
	    w->id, session_count());
	event_base_loopexit(w->base, NULL);
}

static void
worker_begin_shutdown(struct worker *w)
{
	uint64_t	ms = w->cfg->limits.shutdown_timeout;
	struct timeval	tv;

	if (w->stopping)
		return;
	w->stopping = true;
	listener_free(w->listener);
	w->listener = NULL;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(w->deadline, &tv);
	session_shutdown_all(worker_all_closed);
}

/* A byte and, for some messages, a pointer, in one write. */
static int
worker_write_msg(int fd, char type, void *ptr)
{
	char	msg[1 + sizeof(ptr)];
	size_t	len = ptr != NULL ? sizeof(msg) : 1;

	msg[0] = type;
	memcpy(msg + 1, &ptr, sizeof(ptr));
	return write(fd, msg, len) == (ssize_t)len ? 0 : -1;
}

/* The pointer behind a message's byte, written with it. */
static void *
worker_read_ptr(int fd)
{
	void	*ptr;

	if (read(fd, &ptr, sizeof(ptr)) != (ssize_t)sizeof(ptr))
		return NULL;
	return ptr;
}

/* On the worker's thread: its sessions into l, then back to main. */
static void
worker_describe_sessions(struct worker *w, struct worker_listing *l)
{
	size_t	n = session_count();

	l->worker = w->id;
	l->live = n;
	if (n > l->max)
		n = l->max;
	if (n > 0 && (l->sessions = calloc(n, sizeof(*l->sessions))) == NULL)
		l->failed = true;
	else
		l->count = session_describe(l->sessions, n);
	if (worker_write_msg(w->done[1], WORKER_REPLY_DESCRIBED, l) == -1)
		log_warn("worker %u: cannot answer", w->id);
}

/*
 * A new generation: listeners moved over or opened, new sessions get
 * the new configuration; the sessions running keep theirs, and those of
 * routes the reload changed may be drained (session_reload).
 */
static void
worker_reload(struct worker *w)
{
	struct config	*old = w->cfg;

	w->cfg = w->next_cfg;
	w->next_cfg = NULL;
	if (!w->stopping)
		w->listener = listener_start(w->next_set, w->id, w->base,
		    w->cfg, w->listener);
	w->next_set = NULL;
	config_unref(old);
	session_reload(w->cfg);
	if (worker_write_msg(w->done[1], WORKER_REPLY_RELOADED, NULL) == -1)
		log_warn("worker %u: cannot answer the main thread", w->id);
}

static void
worker_cmd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct worker_listing	*l;
	char			 cmd;

	(void)what;
	while (read(fd, &cmd, 1) == 1) {
		if (cmd == WORKER_CMD_SHUTDOWN)
			worker_begin_shutdown(w);
		else if (cmd == WORKER_CMD_STOP)
			event_base_loopbreak(w->base);
		else if (cmd == WORKER_CMD_RELOAD)
			worker_reload(w);
		else if (cmd == WORKER_CMD_DESCRIBE &&
		    (l = worker_read_ptr(fd)) != NULL)
			worker_describe_sessions(w, l);
	}
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	worker_self = w;
	event_base_dispatch(w->base);
	session_drop_all();
	listener_free(w->listener);
	w->listener = NULL;
	if (worker_write_msg(w->done[1], WORKER_REPLY_DONE, NULL) == -1)
		log_warn("worker %u: cannot report its end", w->id);
	return NULL;
}

/* On the main thread: an answer, or the worker's loop has ended. */
static void
worker_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct worker_listing	*l;
	char			 c;

	(void)what;
	if (read(fd, &c, 1) != 1)
		return;
	switch (c) {
	case WORKER_REPLY_RELOADED:
		w->reloaded_cb(w->id, w->done_arg);
		return;
	case WORKER_REPLY_DESCRIBED:
		if ((l = worker_read_ptr(fd)) != NULL)
			l->done(l, l->arg);
		return;
	default:
		event_del(w->done_ev);
		w->finished = true;
		w->done_cb(w->id, w->done_arg);
		return;
	}
}

static void
worker_send(struct worker *w, char cmd)
{
	if (worker_write_msg(w->cmd[1], cmd, NULL) == -1)
		log_warn("worker %u: command", w->id);
}

int
worker_describe(struct worker *w, struct worker_listing *l)
{
	if (w->finished)
		return -1;
	if (worker_write_msg(w->cmd[1], WORKER_CMD_DESCRIBE, l) == -1) {
		log_warn("worker %u: command", w->id);
		return -1;
	}
	return 0;
}

/*
 * Questions the worker's loop did not get to before it ended are
 * answered as failed, so that the asker can free them.
 */
static void
worker_fail_questions(struct worker *w)
{
	struct worker_listing	*l;
	char			 cmd;

	while (read(w->cmd[0], &cmd, 1) == 1)
		if (cmd == WORKER_CMD_DESCRIBE &&
		    (l = worker_read_ptr(w->cmd[0])) != NULL) {
			l->failed = true;
			l->done(l, l->arg);
		}
}

void
worker_shutdown(struct worker *w)
{
	worker_send(w, WORKER_CMD_SHUTDOWN);
}

void
worker_stop(struct worker *w)
{
	worker_send(w, WORKER_CMD_STOP);
}

void
worker_reload_to(struct worker *w, struct listener_set *set,
    struct config *cfg)
{
	w->next_set = set;
	w->next_cfg = config_ref(cfg);
	worker_send(w, WORKER_CMD_RELOAD);
}

static int
worker_pipes(struct worker *w, struct event_base *main_base)
{
	if (pipe2(w->cmd, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	if (pipe2(w->done, O_CLOEXEC | O_NONBLOCK) == -1) {
		w->done[0] = w->done[1] = -1;
		return -1;
	}
	w->cmd_ev = event_new(w->base, w->cmd[0], EV_READ | EV_PERSIST,
	    worker_cmd_cb, w);
	w->done_ev = event_new(main_base, w->done[0], EV_READ | EV_PERSIST,
	    worker_done_cb, w);
	w->deadline = evtimer_new(w->base, worker_deadline_cb, w);
	if (w->cmd_ev == NULL || w->done_ev == NULL || w->deadline == NULL ||
	    event_add(w->cmd_ev, NULL) == -1 ||
	    event_add(w->done_ev, NULL) == -1)
		return -1;
	return 0;
}

/* Starts the thread with every signal blocked: the main thread gets them. */
static int
worker_spawn(struct worker *w)
{
	sigset_t	all, old;
	int		rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	w->running = true;
	return 0;
}

struct worker *
worker_start(unsigned id, struct listener_set *set, struct config *cfg,
    struct event_base *main_base, void (*done)(unsigned, void *),
    void (*reloaded)(unsigned, void *), void *arg)
{
	struct worker	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("worker %u", id);
		return NULL;
	}
	w->id = id;
	w->cfg = config_ref(cfg);
	w->done_cb = done;
	w->reloaded_cb = reloaded;
	w->done_arg = arg;
	w->cmd[0] = w->cmd[1] = w->done[0] = w->done[1] = -1;
	if ((w->base = event_base_new()) == NULL ||
	    worker_pipes(w, main_base) == -1) {
		log_warn("worker %u: setup", id);
		worker_free(w);
		return NULL;
	}
	w->listener = listener_start(set, id, w->base, cfg, NULL);
	if (worker_spawn(w) == -1) {
		log_warn("worker %u: pthread_create", id);
		worker_free(w);
		return NULL;
	}
	return w;
}

void
worker_free(struct worker *w)
{
	int	i;

	if (w == NULL)
		return;
	if (w->running)
		pthread_join(w->thread, NULL);
	if (w->cmd[0] != -1)
		worker_fail_questions(w);
	listener_free(w->listener);
	if (w->cmd_ev != NULL)
		event_free(w->cmd_ev);
	if (w->done_ev != NULL)
		event_free(w->done_ev);
	if (w->deadline != NULL)
		event_free(w->deadline);
	for (i = 0; i < 2; i++) {
		if (w->cmd[i] != -1)
			close(w->cmd[i]);
		if (w->done[i] != -1)
			close(w->done[i]);
	}
	if (w->base != NULL)
		event_base_free(w->base);
	config_unref(w->cfg);
	config_unref(w->next_cfg);	/* a reload it never read */
	free(w);
}
