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
 * listener pauses for a second instead, as nginx does.
 *
 * A TLS listener's certificates live in a tls_server that the set owns
 * and a reload may replace (listener_reload_tls) while the workers
 * accept: each accept takes a reference to the current one under the
 * set's lock, so a connection keeps the server it started with.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
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

struct listener_set {
	size_t		 naddrs;
	unsigned	 nworkers;
	int		*fds;		/* [addr * nworkers + worker], -1 once
					   a worker took it */
	char		(*names)[LISTENER_NAME_LEN];	/* per address */
	struct tls_server **tls;	/* per address, NULL: plain; replaced
					   by a reload, under tls_lock */
	pthread_mutex_t	 tls_lock;
};

struct listener_sock {
	struct evconnlistener	*evl;
	struct event		*resume;	/* EMFILE back-off */
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

static struct tls_server *listener_tls_current(struct listener_set *,
		    size_t);

static void
listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener_sock	*ls = arg;

	session_accept(evconnlistener_get_base(evl), ls->worker, fd, sa,
	    (socklen_t)salen, ls->cfg, ls->cl, ls->cl->tls == NULL ? NULL :
	    listener_tls_current(ls->set, ls->addr));
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener_sock	*ls = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(ls->evl);
}

static void
listener_error_cb(struct evconnlistener *evl, void *arg)
{
	struct listener_sock	*ls = arg;
	struct timeval		 tv = { 1, 0 };
	int			 err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		log_warnx("accept on %s: %s, pausing for 1s", ls->name,
		    evutil_socket_error_to_string(err));
		evconnlistener_disable(evl);
		evtimer_add(ls->resume, &tv);
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

/* The TLS server of a listener, from its certificates and settings. */
static struct tls_server *
listener_tls_load(const struct config_tls *t, char *err, size_t errlen)
{
	struct tls_server	*ts;
	struct tls_cert		*certs;
	struct tls_options	 o;
	size_t			 j;

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
	ts = tls_server_new(&o, err, errlen);
	free(certs);
	return ts;
}

/* A new reference to the current TLS server of TLS address i. */
static struct tls_server *
listener_tls_current(struct listener_set *set, size_t i)
{
	struct tls_server	*ts;

	pthread_mutex_lock(&set->tls_lock);
	ts = tls_server_ref(set->tls[i]);
	pthread_mutex_unlock(&set->tls_lock);
	return ts;
}

/* At startup: a listener's TLS server, or -1 after logging why not. */
static int
listener_tls(struct listener_set *set, const struct config_listen *cl,
    size_t i)
{
	char	err[512];

	if (cl->tls == NULL)
		return 0;
	if ((set->tls[i] = listener_tls_load(cl->tls, err, sizeof(err))) ==
	    NULL) {
		log_warnx("listen on %s: tls: %s", cl->address, err);
		return -1;
	}
	return 0;
}

int
listener_reload_tls(struct listener_set *set, const struct config *cfg)
{
	struct tls_server	*ts, *old;
	char			 err[512];
	size_t			 i;
	int			 failed = 0;

	for (i = 0; i < set->naddrs; i++) {
		if (cfg->listens[i].tls == NULL)
			continue;
		if ((ts = listener_tls_load(cfg->listens[i].tls, err,
		    sizeof(err))) == NULL) {
			log_warnx("listen on %s: tls: %s; the certificates "
			    "loaded before stay in use", set->names[i], err);
			failed++;
			continue;
		}
		pthread_mutex_lock(&set->tls_lock);
		old = set->tls[i];
		set->tls[i] = ts;
		pthread_mutex_unlock(&set->tls_lock);
		tls_server_unref(old);
		log_info("listen on %s: certificates reloaded", set->names[i]);
	}
	return failed == 0 ? 0 : -1;
}

struct listener_set *
listener_bind(const struct config *cfg, unsigned nworkers)
{
	struct listener_set	*set;
	size_t			 i, n = cfg->nlistens * nworkers;

	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->fds = calloc(n, sizeof(*set->fds))) == NULL ||
	    (set->names = calloc(cfg->nlistens, sizeof(*set->names))) ==
	    NULL || (set->tls = calloc(cfg->nlistens, sizeof(*set->tls))) ==
	    NULL)
		fatal("listener: calloc");
	set->naddrs = cfg->nlistens;
	set->nworkers = nworkers;
	pthread_mutex_init(&set->tls_lock, NULL);
	for (i = 0; i < n; i++)
		set->fds[i] = -1;
	for (i = 0; i < cfg->nlistens; i++) {
		if (listener_tls(set, &cfg->listens[i], i) == -1 ||
		    listener_bind_addr(set, &cfg->listens[i], i) == -1) {
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
	pthread_mutex_destroy(&set->tls_lock);
	free(set->tls);
	free(set->fds);
	free(set->names);
	free(set);
}

struct listener *
listener_start(struct listener_set *set, unsigned worker,
    struct event_base *base, struct config *cfg)
{
	struct listener	*l;
	size_t		 i;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->socks = calloc(set->naddrs, sizeof(*l->socks))) == NULL)
		fatal("listener: calloc");
	for (i = 0; i < set->naddrs; i++) {
		struct listener_sock	*ls = &l->socks[i];
		int			*fd = &set->fds[i * set->nworkers +
					    worker];

		ls->cfg = cfg;
		ls->cl = &cfg->listens[i];
		ls->set = set;
		ls->addr = i;
		ls->name = set->names[i];
		ls->worker = worker;
		/* Backlog 0: listening already (-1 would listen again, 128). */
		ls->evl = evconnlistener_new(base, listener_accept_cb, ls,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, *fd);
		if (ls->evl == NULL ||
		    (ls->resume = evtimer_new(base, listener_resume_cb,
		    ls)) == NULL)
			fatal("listener: evconnlistener_new");
		*fd = -1;		/* the listener's now */
		l->nsocks++;
		evconnlistener_set_error_cb(ls->evl, listener_error_cb);
	}
	return l;
}

void
listener_free(struct listener *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nsocks; i++) {
		evconnlistener_free(l->socks[i].evl);
		if (l->socks[i].resume != NULL)
			event_free(l->socks[i].resume);
	}
	free(l->socks);
	free(l);
}
