/*
 * listener — listening sockets and the accept loop (evconnlistener).
 *
 * Every worker has its own socket for each listen address, bound with
 * SO_REUSEPORT, so the kernel spreads new connections over the workers
 * and no worker waits on a lock to accept.  All of them are bound by
 * the main thread before the workers start: errors stop the startup,
 * and port 0 (tests) becomes one real port shared by every worker.
 *
 * When accept(2) fails for lack of descriptors (EMFILE, ENFILE) the
 * socket stays readable, so accepting again at once would spin: the
 * listener pauses for a second instead, as nginx does.  Past
 * max_connections new clients are still accepted, to be answered 503
 * (session_admit), but only LISTENER_OVERFLOW(max) more: then the
 * listener stops accepting until sessions end, so a flood waits in the
 * kernel's backlog instead of costing descriptors and memory; it looks
 * again every LISTENER_RECHECK_MS.
 *
 * A set is one configuration generation's listeners.  A reload binds a
 * new set against the running one: an address both have keeps its
 * sockets, which the workers move over to the new generation without
 * closing them (no connection is refused in between); new addresses are
 * bound, and the sockets of removed ones are closed by their workers.
 * Every set loads its own TLS servers, so a reload reads the
 * certificates again; each accepted connection holds a reference to the
 * server it started with.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/util.h>

#include "listener.h"
#include "log.h"
#include "tls.h"
#include "session.h"

#define LISTENER_BACKLOG	1024

#define LISTENER_NAME_LEN	(INET6_ADDRSTRLEN + 8)

/* Connections past max_connections accepted only to be answered 503. */
#define LISTENER_OVERFLOW(max)	((max) / 8 + 16)
#define LISTENER_RECHECK_MS	100
#define LISTENER_EMFILE_MS	1000

struct listener_set {
	size_t		 naddrs;
	unsigned	 nworkers;
	int		*fds;		/* [addr * nworkers + worker], -1 once
					   a worker took it */
	char		(*names)[LISTENER_NAME_LEN];	/* per address */
	struct tls_server **tls;	/* per address, NULL: plain */
	size_t		*kept;		/* per address: its index in the
					   previous set, or LISTENER_NEW */
	struct sockaddr_storage *addrs;	/* per address, as configured */
	socklen_t	*addrlens;
};

#define LISTENER_NEW	SIZE_MAX

struct listener_sock {
	struct evconnlistener	*evl;
	struct event		*resume;	/* back-off: EMFILE, or full */
	bool			 paused;
	struct config		*cfg;
	const struct config_listen *cl;		/* in cfg */
	struct listener_set	*set;
	size_t			 addr;		/* index in the set */
	const char		*name;		/* in the set */
	unsigned		 worker;
};

struct listener {
	struct listener_sock	*socks;
	size_t			 nsocks;
};

/* Whether every session this process may hold is taken, and more. */
static bool
listener_full(const struct config *cfg)
{
	uint64_t	max = cfg->limits.max_connections, accepted;
	size_t		open;

	session_totals(&open, &accepted);
	return open >= max + LISTENER_OVERFLOW(max);
}

/* Stops accepting for ms, then listener_resume_cb looks again. */
static void
listener_pause(struct listener_sock *ls, uint64_t ms, const char *why)
{
	struct timeval	tv = { (time_t)(ms / 1000),
			    (suseconds_t)(ms % 1000) * 1000 };

	if (ls->paused)
		return;
	log_warnx("accept on %s paused: %s", ls->name, why);
	ls->paused = true;
	evconnlistener_disable(ls->evl);
	evtimer_add(ls->resume, &tv);
}

static void
listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener_sock	*ls = arg;

	struct tls_server	*ts = ls->set->tls[ls->addr];

	session_accept(evconnlistener_get_base(evl), ls->worker, fd, sa,
	    (socklen_t)salen, ls->cfg, ls->cl, ts != NULL ?
	    tls_server_ref(ts) : NULL);
	if (listener_full(ls->cfg))
		listener_pause(ls, LISTENER_RECHECK_MS,
		    "max_connections reached and as many refusals under way "
		    "as it allows");
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener_sock	*ls = arg;
	struct timeval		 tv = { 0, LISTENER_RECHECK_MS * 1000 };

	(void)fd;
	(void)what;
	if (listener_full(ls->cfg)) {
		evtimer_add(ls->resume, &tv);
		return;
	}
	log_info("accept on %s resumed", ls->name);
	ls->paused = false;
	evconnlistener_enable(ls->evl);
}

static void
listener_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener_sock	*ls = arg;
	int			 err = EVUTIL_SOCKET_ERROR();
	char			 why[128];

	(void)evl;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		snprintf(why, sizeof(why), "%s, for 1s",
		    evutil_socket_error_to_string(err));
		listener_pause(ls, LISTENER_EMFILE_MS, why);
		return;
	}
	log_info("accept on %s: %s", ls->name,
	    evutil_socket_error_to_string(err));
}

void
listener_name(int fd, char *name, size_t size)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN] = "?";

	snprintf(name, size, "?");
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		evutil_inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(name, size, "%s:%u", host, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof(host));
		snprintf(name, size, "[%s]:%u", host, ntohs(sin6->sin6_port));
	}
}

/*
 * One listening socket on ss.  reuseport_late: bind without SO_REUSEPORT
 * (so that a port held by anyone fails here) and allow the sharing only
 * afterwards, for this address's sockets of the other workers.
 */
static int
listener_socket(const struct sockaddr_storage *ss, socklen_t sslen,
    bool reuseport_late)
{
	int	fd, one = 1, saved;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || (!reuseport_late && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEPORT, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)ss, sslen) == -1 ||
	    (reuseport_late && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT,
	    &one, sizeof(one)) == -1) ||
	    listen(fd, LISTENER_BACKLOG) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Binds address i for every worker; the first fixes a port 0. */
static int
listener_bind_addr(struct listener_set *set, const struct config_listen *cl,
    size_t i)
{
	struct sockaddr_storage	 ss = cl->ss;
	socklen_t		 len = sizeof(ss);
	unsigned		 w;
	int			 fd;

	for (w = 0; w < set->nworkers; w++) {
		if ((fd = listener_socket(&ss, cl->sslen, w == 0)) == -1) {
			log_warn("listen on %s", cl->address);
			return -1;
		}
		set->fds[i * set->nworkers + w] = fd;
		if (w == 0 && getsockname(fd, (struct sockaddr *)&ss, &len) ==
		    -1) {
			log_warn("getsockname %s", cl->address);
			return -1;
		}
	}
	listener_name(set->fds[i * set->nworkers], set->names[i],
	    sizeof(set->names[i]));
	log_info("listening on %s", set->names[i]);
	return 0;
}

/*
 * The TLS server of listener i, from its certificates and settings, or
 * -1 after logging why not.
 */
static int
listener_tls(struct listener_set *set, const struct config_listen *cl,
    size_t i)
{
	const struct config_tls	*t = cl->tls;
	struct tls_cert		*certs;
	struct tls_options	 o;
	char			 err[512];
	size_t			 j;

	if (t == NULL)
		return 0;
	if ((certs = calloc(t->ncerts, sizeof(*certs))) == NULL)
		fatal("listener: calloc");
	for (j = 0; j < t->ncerts; j++) {
		certs[j].certificate = t->certs[j].certificate;
		certs[j].key = t->certs[j].key;
	}
	memset(&o, 0, sizeof(o));
	o.certs = certs;
	o.ncerts = t->ncerts;
	o.min_version = t->min_version;
	o.ciphers = t->ciphers;
	o.ciphersuites = t->ciphersuites;
	set->tls[i] = tls_server_new(&o, err, sizeof(err));
	free(certs);
	if (set->tls[i] == NULL) {
		log_warnx("listen on %s: tls: %s", cl->address, err);
		return -1;
	}
	return 0;
}

/* The index of the address in old bound exactly like cl, or LISTENER_NEW. */
static size_t
listener_find(const struct listener_set *old, const struct config_listen *cl)
{
	size_t	i;

	for (i = 0; old != NULL && i < old->naddrs; i++)
		if (old->addrlens[i] == cl->sslen &&
		    memcmp(&old->addrs[i], &cl->ss, cl->sslen) == 0)
			return i;
	return LISTENER_NEW;
}

static struct listener_set *
listener_set_new(size_t naddrs, unsigned nworkers)
{
	struct listener_set	*set;
	size_t			 i;

	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->fds = calloc(naddrs * nworkers, sizeof(*set->fds))) ==
	    NULL || (set->names = calloc(naddrs, sizeof(*set->names))) ==
	    NULL || (set->tls = calloc(naddrs, sizeof(*set->tls))) == NULL ||
	    (set->kept = calloc(naddrs, sizeof(*set->kept))) == NULL ||
	    (set->addrs = calloc(naddrs, sizeof(*set->addrs))) == NULL ||
	    (set->addrlens = calloc(naddrs, sizeof(*set->addrlens))) == NULL)
		fatal("listener: calloc");
	set->naddrs = naddrs;
	set->nworkers = nworkers;
	for (i = 0; i < naddrs * nworkers; i++)
		set->fds[i] = -1;
	return set;
}

struct listener_set *
listener_bind(const struct config *cfg, unsigned nworkers,
    const struct listener_set *old)
{
	struct listener_set	*set;
	size_t			 i;

	set = listener_set_new(cfg->nlistens, nworkers);
	for (i = 0; i < cfg->nlistens; i++) {
		const struct config_listen	*cl = &cfg->listens[i];

		set->addrs[i] = cl->ss;
		set->addrlens[i] = cl->sslen;
		set->kept[i] = listener_find(old, cl);
		if (listener_tls(set, cl, i) == -1) {
			listener_set_free(set);
			return NULL;
		}
		if (set->kept[i] != LISTENER_NEW) {
			memcpy(set->names[i], old->names[set->kept[i]],
			    sizeof(set->names[i]));
			continue;
		}
		if (listener_bind_addr(set, cl, i) == -1) {
			listener_set_free(set);
			return NULL;
		}
	}
	return set;
}

void
listener_set_free(struct listener_set *set)
{
	size_t	i;

	if (set == NULL)
		return;
	for (i = 0; i < set->naddrs * set->nworkers; i++)
		if (set->fds[i] != -1)
			close(set->fds[i]);
	for (i = 0; set->tls != NULL && i < set->naddrs; i++)
		tls_server_unref(set->tls[i]);
	free(set->tls);
	free(set->kept);
	free(set->addrs);
	free(set->addrlens);
	free(set->fds);
	free(set->names);
	free(set);
}

/* Points a listening socket at its generation (set, address i, cfg). */
static void
listener_sock_attach(struct listener_sock *ls, struct listener_set *set,
    size_t i, struct config *cfg)
{
	ls->cfg = cfg;
	ls->cl = &cfg->listens[i];
	ls->set = set;
	ls->addr = i;
	ls->name = set->names[i];
	evconnlistener_set_cb(ls->evl, listener_accept_cb, ls);
	evconnlistener_set_error_cb(ls->evl, listener_error_cb);
	/* The callback argument moved: a new back-off timer, and accepting
	 * again now rather than after a back-off that is lost. */
	if (ls->resume != NULL)
		event_free(ls->resume);
	if ((ls->resume = evtimer_new(evconnlistener_get_base(ls->evl),
	    listener_resume_cb, ls)) == NULL)
		fatal("listener: evtimer_new");
	ls->paused = false;
	evconnlistener_enable(ls->evl);
}

/* Starts accepting on the worker's socket of new address i. */
static void
listener_sock_open(struct listener_sock *ls, struct listener_set *set,
    size_t i, unsigned worker, struct event_base *base)
{
	int	*fd = &set->fds[i * set->nworkers + worker];

	/* Backlog 0: listening already (-1 would listen again, 128). */
	ls->evl = evconnlistener_new(base, listener_accept_cb, ls,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, *fd);
	if (ls->evl == NULL)
		fatal("listener: evconnlistener_new");
	*fd = -1;		/* the listener's now */
	ls->worker = worker;
}

static void
listener_sock_close(struct listener_sock *ls)
{
	if (ls->evl != NULL)
		evconnlistener_free(ls->evl);
	if (ls->resume != NULL)
		event_free(ls->resume);
	ls->evl = NULL;
	ls->resume = NULL;
}

struct listener *
listener_start(struct listener_set *set, unsigned worker,
    struct event_base *base, struct config *cfg, struct listener *old)
{
	struct listener	*l;
	size_t		 i;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->socks = calloc(set->naddrs, sizeof(*l->socks))) == NULL)
		fatal("listener: calloc");
	for (i = 0; i < set->naddrs; i++) {
		struct listener_sock	*ls = &l->socks[i];

		if (set->kept[i] != LISTENER_NEW && old != NULL &&
		    set->kept[i] < old->nsocks) {
			/* Moved over open: no connection waits meanwhile. */
			*ls = old->socks[set->kept[i]];
			old->socks[set->kept[i]].evl = NULL;
			old->socks[set->kept[i]].resume = NULL;
		} else
			listener_sock_open(ls, set, i, worker, base);
		listener_sock_attach(ls, set, i, cfg);
		l->nsocks++;
	}
	listener_free(old);	/* the addresses the new generation dropped */
	return l;
}

void
listener_free(struct listener *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nsocks; i++)
		listener_sock_close(&l->socks[i]);
	free(l->socks);
	free(l);
}
