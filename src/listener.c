/*
 * listener — accept loop on top of evconnlistener.
 *
 * When accept(2) fails for lack of descriptors (EMFILE, ENFILE) the
 * socket stays readable, so accepting again at once would spin: the
 * listener pauses for a second instead, as nginx does.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>
#include <event2/util.h>

#include "listener.h"
#include "log.h"
#include "session.h"

#define LISTENER_BACKLOG	1024

struct listener_sock {
	struct evconnlistener	*evl;
	struct event		*resume;	/* EMFILE back-off */
	struct config		*cfg;
	char			 name[INET6_ADDRSTRLEN + 8];
};

struct listener {
	struct listener_sock	*socks;
	size_t			 nsocks;
};

static void
listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener_sock	*ls = arg;

	session_accept(evconnlistener_get_base(evl), fd, sa,
	    (socklen_t)salen, ls->cfg);
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

/* The bound address, with the port the kernel chose for port 0. */
static void
listener_name(struct listener_sock *ls)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN] = "?";
	unsigned		 port = 0;

	if (getsockname(evconnlistener_get_fd(ls->evl),
	    (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		evutil_inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		snprintf(ls->name, sizeof(ls->name), "%s:%u", host, port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		evutil_inet_ntop(AF_INET6, &sin6->sin6_addr, host,
		    sizeof(host));
		port = ntohs(sin6->sin6_port);
		snprintf(ls->name, sizeof(ls->name), "[%s]:%u", host, port);
	}
}

struct listener *
listener_open(struct event_base *base, struct config *cfg)
{
	struct listener	*l;
	size_t		 i;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->socks = calloc(cfg->nlistens, sizeof(*l->socks))) == NULL)
		fatal("listener: calloc");
	for (i = 0; i < cfg->nlistens; i++) {
		struct listener_sock	*ls = &l->socks[i];
		struct config_listen	*cl = &cfg->listens[i];

		ls->cfg = cfg;
		ls->evl = evconnlistener_new_bind(base, listener_accept_cb, ls,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		    LEV_OPT_REUSEABLE, LISTENER_BACKLOG,
		    (struct sockaddr *)&cl->ss, (int)cl->sslen);
		if (ls->evl == NULL) {
			log_warn("listen on %s", cl->address);
			listener_free(l);
			return NULL;
		}
		l->nsocks++;
		if ((ls->resume = evtimer_new(base, listener_resume_cb,
		    ls)) == NULL)
			fatal("listener: evtimer_new");
		evconnlistener_set_error_cb(ls->evl, listener_error_cb);
		listener_name(ls);
		log_info("listening on %s", ls->name);
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
