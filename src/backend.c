/*
 * backend — server selection and connect.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "backend.h"

size_t
backend_start(struct backend *be)
{
	size_t	start;

	if (be->nservers == 0)
		return 0;
	start = be->rr_next % be->nservers;
	be->rr_next = (start + 1) % be->nservers;
	return start;
}

const struct backend_server *
backend_server(const struct backend *be, size_t start, size_t attempt)
{
	if (attempt >= be->nservers)
		return NULL;
	return &be->servers[(start + attempt) % be->nservers];
}

struct bufferevent *
backend_connect(struct event_base *base, const struct backend_server *srv)
{
	struct bufferevent	*bev;
	evutil_socket_t		 fd;
	int			 one = 1, saved;

	fd = socket(srv->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return NULL;
	/* Small frames must not wait for Nagle (RFC 6455 is message based). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		saved = errno;
		evutil_closesocket(fd);
		errno = saved;
		return NULL;
	}
	if (bufferevent_socket_connect(bev, (const struct sockaddr *)&srv->ss,
	    (int)srv->sslen) == -1) {
		saved = errno;
		bufferevent_free(bev);
		errno = saved;
		return NULL;
	}
	return bev;
}
