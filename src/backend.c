/*
 * backend — backend pools: server selection, passive and active health,
 * re-resolution of server names, and the socket of a connection.
 *
 * Selection (backend_pick) is pure bookkeeping over the run-time fields
 * of struct backend_server, so the unit tests drive it with explicit
 * clocks:
 *
 *   round_robin  smooth weighted round robin, as nginx does it: every
 *                pick adds each eligible server's weight to its
 *                current_weight, takes the largest and subtracts the sum
 *                of the weights from it.  Weights 5,1,1 give
 *                a a b a c a a, not a a a a a b c.
 *   least_conn   fewest open sessions per unit of weight; servers that
 *                tie share by smooth round robin, so an idle pool does
 *                not send everything to its first server.
 *   ip_hash      the client's IP address (never its port) picks a server;
 *                when that one is down or was tried, the next one in
 *                configuration order is taken.  Weights are ignored: a
 *                weighted hash would move clients whenever a weight
 *                changes, and stickiness is the point of ip_hash.
 *
 * Passive health (nginx's max_fails/fail_timeout): a server that failed
 * fail_threshold connects (or WebSocket handshakes) in a row rests for
 * fail_timeout, then gets one probe; failing it sends the server back to
 * rest at once.  A pool of one server is never rested (as in nginx):
 * there is nothing to fail over to, so resting it would only turn 502s
 * into 503s and delay its recovery by fail_timeout.
 *
 * Active health checks: every health_check.interval, a connect (tcp) or
 * a connect plus an RFC 6455 §4.1 opening handshake (websocket), bounded
 * by health_check.timeout; with tls, a TLS handshake in between, whose
 * certificate checks are those of the backend's connections (a check
 * never resumes a session: it verifies the certificate each time).
 * Re-resolution: every resolve_interval, the names of servers given by
 * name are looked up again with evdns.
 *
 * Locking: the worker threads share each backend's servers, so be->lock
 * guards their run-time fields (ss/sslen, current_weight, active, fails,
 * down_until, check_failed).  Worker threads take it in backend_pick(),
 * backend_report(), backend_session_open()/close() and backend_socket();
 * the control thread, which runs the checks and re-resolution, takes it
 * to write check_failed and ss/sslen.  The control thread is the only
 * writer of those two, so it reads them without the lock.  The lock is
 * never held while logging or doing I/O, and never per message: a
 * session takes it a handful of times in its life.  struct
 * backend_runtime and its checks and look-ups belong to the control
 * thread alone.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "backend.h"
#include "entropy.h"
#include "frame.h"
#include "handshake.h"
#include "http.h"
#include "log.h"
#include "proxyproto.h"
#include "tls_client.h"

/* A health check's response head larger than this fails the check. */
#define BACKEND_CHECK_MAX_HEAD	8192

/* 16 random bytes in base64 (RFC 6455 §4.1 item 7), and the NUL. */
#define BACKEND_KEY_LEN		24

enum backend_check_state {
	BACKEND_CHECK_IDLE,		/* waiting for the next interval */
	BACKEND_CHECK_CONNECTING,	/* connect under way */
	BACKEND_CHECK_TLS,		/* tls: TLS handshake under way */
	BACKEND_CHECK_HANDSHAKE,	/* websocket: waiting for the 101 */
	BACKEND_CHECK_CLOSING		/* websocket: flushing a close frame */
};

/*
 * The active health check of one server.  One timer serves every state:
 * in IDLE it starts the next check, otherwise it is the check's deadline.
 */
struct backend_check {
	struct backend		*be;
	struct backend_server	*srv;
	struct event_base	*base;
	struct event		*timer;
	struct bufferevent	*bev;		/* while a check runs; with
						   tls, once connected, a TLS
						   filter that owns the
						   socket's bufferevent */
	enum backend_check_state state;
	char			 key[BACKEND_KEY_LEN + 1];
};

/*
 * Re-resolution of one server's name.  While a request is pending, the
 * evdns callback owns this struct once backend_runtime_stop() has
 * cancelled it: the callback still runs (with EVUTIL_EAI_CANCEL) and
 * frees it then.
 */
struct backend_resolve {
	struct backend		*be;
	struct backend_server	*srv;
	struct evdns_base	*dns;
	struct event		*timer;
	struct evdns_getaddrinfo_request *req;	/* pending, or NULL */
	bool			 stopped;	/* the callback frees us */
};

struct backend_runtime {
	struct backend_check	*checks;	/* nservers, or NULL */
	struct backend_resolve	**resolves;	/* nservers (NULL where the
						   server has no name), or
						   NULL */
};

static void	backend_check_timer_cb(evutil_socket_t, short, void *);
static void	backend_check_event_cb(struct bufferevent *, short, void *);
static void	backend_check_read_cb(struct bufferevent *, void *);
static void	backend_check_write_cb(struct bufferevent *, void *);
static void	backend_resolve_timer_cb(evutil_socket_t, short, void *);
static void	backend_resolve_cb(int, struct evutil_addrinfo *, void *);

/* Selection: ------------------------------------------------------------ */

/*
 * FNV-1a, then the murmur3 finaliser: neighbouring addresses (clients of
 * one subnet) must land on different servers, and FNV alone leaves the
 * low bits, which the modulo uses, poorly mixed for short keys.
 */
static uint32_t
backend_hash_bytes(const uint8_t *p, size_t n)
{
	uint32_t	h = 2166136261u;

	while (n-- > 0) {
		h ^= *p++;
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/*
 * The address only, never the port: a client's connections come from
 * ever-changing ports.  An IPv4-mapped IPv6 address (a dual-stack
 * listener) hashes as the IPv4 address it carries, so a client keeps
 * its server whichever listener it reached.
 */
static uint32_t
backend_hash_client(const struct sockaddr *client)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (client == NULL)
		return 0;
	switch (client->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)client;
		return backend_hash_bytes((const uint8_t *)&sin->sin_addr, 4);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)client;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return backend_hash_bytes(
			    &sin6->sin6_addr.s6_addr[12], 4);
		return backend_hash_bytes(sin6->sin6_addr.s6_addr, 16);
	default:
		/* unix socket peers have no address to be sticky to */
		return 0;
	}
}

void
backend_attempt_init(struct backend_attempt *a,
    const struct sockaddr *client)
{
	memset(a, 0, sizeof(*a));
	a->hash = backend_hash_client(client);
}

/*
 * be->lock: a failure to lock or unlock a default mutex is a broken
 * invariant (a freed or never initialised backend), not a condition to
 * serve through.
 */
static void
backend_lock(struct backend *be)
{
	int	rc;

	if ((rc = pthread_mutex_lock(&be->lock)) != 0)
		fatalx("backend %s: pthread_mutex_lock: %s", be->name,
		    strerror(rc));
}

static void
backend_unlock(struct backend *be)
{
	int	rc;

	if ((rc = pthread_mutex_unlock(&be->lock)) != 0)
		fatalx("backend %s: pthread_mutex_unlock: %s", be->name,
		    strerror(rc));
}

/* The fail_threshold in force: 0 (off) for a pool of one server. */
static unsigned
backend_threshold(const struct backend *be)
{
	return be->nservers > 1 ? be->fail_threshold : 0;
}

bool
backend_server_up(const struct backend *be, const struct backend_server *srv,
    uint64_t now)
{
	unsigned	threshold = backend_threshold(be);

	if (srv->check_failed)
		return false;
	return !(threshold > 0 && srv->fails >= threshold &&
	    now < srv->down_until);
}

static bool
backend_eligible(const struct backend *be, const struct backend_attempt *a,
    size_t i, uint64_t now)
{
	return (a->tried & (UINT64_C(1) << i)) == 0 &&
	    backend_server_up(be, &be->servers[i], now);
}

/* a's load is below b's: active/weight compared without division. */
static int
backend_load_cmp(const struct backend_server *a,
    const struct backend_server *b)
{
	uint64_t	la = (uint64_t)a->active * b->weight;
	uint64_t	lb = (uint64_t)b->active * a->weight;

	return la < lb ? -1 : la > lb;
}

/*
 * One step of smooth weighted round robin over the eligible servers; with
 * like non-NULL, only over those as loaded as like (least_conn's ties).
 * Returns the index picked, or -1.
 */
static int
backend_pick_smooth(struct backend *be, const struct backend_attempt *a,
    uint64_t now, const struct backend_server *like)
{
	struct backend_server	*srv, *best = NULL;
	int			 total = 0, besti = -1;
	size_t			 i;

	for (i = 0; i < be->nservers; i++) {
		srv = &be->servers[i];
		if (!backend_eligible(be, a, i, now))
			continue;
		if (like != NULL && backend_load_cmp(srv, like) != 0)
			continue;
		srv->current_weight += (int)srv->weight;
		total += (int)srv->weight;
		if (best == NULL ||
		    srv->current_weight > best->current_weight) {
			best = srv;
			besti = (int)i;
		}
	}
	if (best != NULL)
		best->current_weight -= total;
	return besti;
}

static int
backend_pick_least_conn(struct backend *be, const struct backend_attempt *a,
    uint64_t now)
{
	const struct backend_server	*least = NULL;
	size_t				 i;

	for (i = 0; i < be->nservers; i++) {
		if (!backend_eligible(be, a, i, now))
			continue;
		if (least == NULL ||
		    backend_load_cmp(&be->servers[i], least) < 0)
			least = &be->servers[i];
	}
	if (least == NULL)
		return -1;
	return backend_pick_smooth(be, a, now, least);
}

static int
backend_pick_ip_hash(const struct backend *be, const struct backend_attempt *a,
    uint64_t now)
{
	size_t	i, start = a->hash % be->nservers;

	for (i = 0; i < be->nservers; i++)
		if (backend_eligible(be, a, (start + i) % be->nservers, now))
			return (int)((start + i) % be->nservers);
	return -1;
}

static enum backend_pick_result
backend_pick_locked(struct backend *be, struct backend_attempt *a,
    uint64_t now, struct backend_server **srv)
{
	size_t	i;
	int	picked = -1;

	*srv = NULL;
	for (i = 0; i < be->nservers; i++)
		if (backend_server_up(be, &be->servers[i], now))
			break;
	if (i == be->nservers)
		return BACKEND_NONE_HEALTHY;
	if (a->count > be->retries)
		return BACKEND_EXHAUSTED;
	switch (be->balance) {
	case BALANCE_ROUND_ROBIN:
		picked = backend_pick_smooth(be, a, now, NULL);
		break;
	case BALANCE_LEAST_CONN:
		picked = backend_pick_least_conn(be, a, now);
		break;
	case BALANCE_IP_HASH:
		picked = backend_pick_ip_hash(be, a, now);
		break;
	}
	if (picked == -1)
		return BACKEND_EXHAUSTED;
	a->tried |= UINT64_C(1) << picked;
	a->count++;
	*srv = &be->servers[picked];
	return BACKEND_PICKED;
}

enum backend_pick_result
backend_pick(struct backend *be, struct backend_attempt *a, uint64_t now,
    struct backend_server **srv)
{
	enum backend_pick_result	result;

	backend_lock(be);
	result = backend_pick_locked(be, a, now, srv);
	backend_unlock(be);
	return result;
}

/* What a report changed, for backend_report() to log without the lock. */
enum backend_report_change {
	BACKEND_REPORT_QUIET,	/* nothing worth a line */
	BACKEND_REPORT_UP,	/* a resting server's probe succeeded */
	BACKEND_REPORT_DOWN	/* the server starts to rest */
};

static enum backend_report_change
backend_report_locked(struct backend *be, struct backend_server *srv,
    bool ok, uint64_t now, unsigned *fails)
{
	unsigned	threshold = backend_threshold(be);
	bool		was_down, first;

	if (threshold == 0) {
		srv->fails = 0;
		return BACKEND_REPORT_QUIET;
	}
	was_down = srv->fails >= threshold;
	if (ok) {
		srv->fails = 0;
		srv->down_until = 0;
		return was_down ? BACKEND_REPORT_UP : BACKEND_REPORT_QUIET;
	}
	if (srv->fails < UINT_MAX)
		srv->fails++;
	*fails = srv->fails;
	if (srv->fails < threshold)
		return BACKEND_REPORT_QUIET;
	/*
	 * Sessions that were already connecting when the server went down
	 * report too: log the first of them only.
	 */
	first = !was_down || now >= srv->down_until;
	srv->down_until = now + be->fail_timeout;
	return first ? BACKEND_REPORT_DOWN : BACKEND_REPORT_QUIET;
}

void
backend_report(struct backend *be, struct backend_server *srv, bool ok,
    uint64_t now)
{
	enum backend_report_change	change;
	unsigned			fails = 0;

	backend_lock(be);
	change = backend_report_locked(be, srv, ok, now, &fails);
	backend_unlock(be);
	switch (change) {
	case BACKEND_REPORT_QUIET:
		break;
	case BACKEND_REPORT_UP:
		log_info("backend %s: server %s is up again", be->name,
		    srv->address);
		break;
	case BACKEND_REPORT_DOWN:
		log_info("backend %s: server %s is down for %llus after %u "
		    "failures", be->name, srv->address,
		    (unsigned long long)(be->fail_timeout / 1000), fails);
		break;
	}
}

void
backend_session_open(struct backend *be, struct backend_server *srv)
{
	backend_lock(be);
	srv->active++;
	backend_unlock(be);
}

void
backend_session_close(struct backend *be, struct backend_server *srv)
{
	backend_lock(be);
	if (srv->active > 0)
		srv->active--;
	backend_unlock(be);
}

bool
backend_server_healthy(struct backend *be, const struct backend_server *srv)
{
	bool	up;

	backend_lock(be);
	up = backend_server_up(be, srv, backend_now());
	backend_unlock(be);
	return up;
}

uint64_t
backend_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Socket: ---------------------------------------------------------------- */

/*
 * The address is copied under the lock because re-resolution may
 * rewrite it on the control thread at any time; the socket itself is
 * made without the lock.
 */
int
backend_socket(struct backend *be, const struct backend_server *srv,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	int	fd, one = 1;

	backend_lock(be);
	memcpy(ss, &srv->ss, sizeof(*ss));
	*sslen = srv->sslen;
	backend_unlock(be);
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	/* Small frames must not wait for Nagle (RFC 6455 is message based). */
	if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	return fd;
}

/* TLS: ------------------------------------------------------------------- */

int
backend_tls_init(struct backend *be, char *err, size_t errlen)
{
	struct tls_client_options	o;

	if (be->tls == NULL || be->tls_client != NULL)
		return 0;
	memset(&o, 0, sizeof(o));
	o.verify = be->tls->verify;
	o.ca = be->tls->ca;
	o.certificate = be->tls->certificate;
	o.key = be->tls->key;
	o.min_version = be->tls->min_version;
	/* A WebSocket server speaks HTTP/1.1 first; a TCP service, its own
	 * protocol, which no ALPN name would say. */
	o.alpn_http11 = be->type == BACKEND_WEBSOCKET;
	o.nservers = be->nservers;
	if ((be->tls_client = tls_client_new(&o, err, errlen)) == NULL)
		return -1;
	return 0;
}

SSL *
backend_tls_ssl(struct backend *be, const struct backend_server *srv,
    bool resume)
{
	return tls_client_ssl(be->tls_client, (size_t)(srv - be->servers),
	    srv->tls_name, resume);
}

/* Active health checks: --------------------------------------------------- */

static void
backend_timeval(uint64_t ms, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ms / 1000);
	tv->tv_usec = (suseconds_t)(ms % 1000 * 1000);
}

static void
backend_timer_arm(struct event *ev, uint64_t ms)
{
	struct timeval	tv;

	backend_timeval(ms, &tv);
	evtimer_add(ev, &tv);
}

/* Ends the current check (if any) and schedules the next one. */
static void
backend_check_idle(struct backend_check *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->state = BACKEND_CHECK_IDLE;
	backend_timer_arm(c->timer, c->be->health_check.interval);
}

/* Records a check's verdict; logs only the transitions. */
static void
backend_check_verdict(struct backend_check *c, const char *error)
{
	bool	was_failed;

	backend_lock(c->be);
	was_failed = c->srv->check_failed;
	c->srv->check_failed = error != NULL;
	backend_unlock(c->be);
	if (error == NULL && was_failed)
		log_info("backend %s: server %s passed its health check, "
		    "back up", c->be->name, c->srv->address);
	else if (error != NULL && !was_failed)
		log_info("backend %s: server %s failed its health check "
		    "(%s), down until a check passes", c->be->name,
		    c->srv->address, error);
}

static void
backend_check_fail(struct backend_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
backend_check_fail(struct backend_check *c, const char *fmt, ...)
{
	char	error[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(error, sizeof(error), fmt, ap);
	va_end(ap);
	backend_check_verdict(c, error);
	backend_check_idle(c);
}

/*
 * The check passed.  A WebSocket server is told goodbye with a close
 * frame (1001, RFC 6455 §7.4.1) rather than a dropped connection, which
 * many servers log as an error; the check's deadline bounds the flush.
 */
static void
backend_check_pass(struct backend_check *c)
{
	uint8_t		frame[FRAME_MAX_HEADER + 2], mask[4];
	size_t		n;

	backend_check_verdict(c, NULL);
	if (c->state != BACKEND_CHECK_HANDSHAKE) {
		backend_check_idle(c);
		return;
	}
	entropy_bytes(mask, sizeof(mask));
	n = frame_encode_header(frame, true, WS_OP_CLOSE, 2, mask);
	frame[n] = WS_CLOSE_GOING_AWAY >> 8;
	frame[n + 1] = WS_CLOSE_GOING_AWAY & 0xff;
	frame_mask(frame + n, 2, mask, 0);
	c->state = BACKEND_CHECK_CLOSING;
	bufferevent_setcb(c->bev, NULL, backend_check_write_cb,
	    backend_check_event_cb, c);
	/* Under TLS the frame is flushed from the socket's bufferevent,
	 * whose draining the filter does not report: the server's own
	 * close and EOF end the check then (or its deadline). */
	if (bufferevent_get_underlying(c->bev) == NULL)
		bufferevent_disable(c->bev, EV_READ);
	if (bufferevent_write(c->bev, frame, n + 2) == -1)
		backend_check_idle(c);
}

/*
 * The Host of a health check: the backend's, else the server's.  Reads
 * ss without the lock: this is the control thread, its only writer.
 */
static const char *
backend_check_host(const struct backend_check *c)
{
	if (c->be->host != NULL)
		return c->be->host;
	if (c->srv->ss.ss_family == AF_UNIX)
		return "localhost";
	return c->srv->address;
}

/* RFC 6455 §4.1: the client's opening handshake. */
static int
backend_check_send_request(struct backend_check *c)
{
	handshake_client_key(c->key);
	return evbuffer_add_printf(bufferevent_get_output(c->bev),
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n", c->be->health_check.path, backend_check_host(c),
	    c->key) < 0 ? -1 : 0;
}

static void
backend_check_start(struct backend_check *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	struct timeval		 tv;
	evutil_socket_t		 fd;
	int			 saved;

	if ((fd = backend_socket(c->be, c->srv, &ss, &sslen)) == -1) {
		backend_check_fail(c, "socket: %s", strerror(errno));
		return;
	}
	if ((c->bev = bufferevent_socket_new(c->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		saved = errno;
		evutil_closesocket(fd);
		backend_check_fail(c, "connect: %s", strerror(saved));
		return;
	}
	bufferevent_setcb(c->bev, NULL, NULL, backend_check_event_cb, c);
	/* On failure, backend_check_idle() frees c->bev, closing fd. */
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	    (int)sslen) == -1) {
		backend_check_fail(c, "connect: %s", strerror(errno));
		return;
	}
	c->state = BACKEND_CHECK_CONNECTING;
	backend_timeval(c->be->health_check.timeout, &tv);
	evtimer_add(c->timer, &tv);
}

static void
backend_check_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend_check	*c = arg;

	(void)fd;
	(void)what;
	switch (c->state) {
	case BACKEND_CHECK_IDLE:
		backend_check_start(c);
		break;
	case BACKEND_CHECK_CONNECTING:
	case BACKEND_CHECK_TLS:
	case BACKEND_CHECK_HANDSHAKE:
		backend_check_fail(c, "%s timed out after %llums",
		    c->state == BACKEND_CHECK_CONNECTING ? "connect" :
		    c->state == BACKEND_CHECK_TLS ? "TLS handshake" :
		    "handshake",
		    (unsigned long long)c->be->health_check.timeout);
		break;
	case BACKEND_CHECK_CLOSING:
		backend_check_idle(c);
		break;
	}
}

static void
backend_check_connected(struct backend_check *c)
{
	if (c->be->type != BACKEND_WEBSOCKET) {
		backend_check_pass(c);
		return;
	}
	if (backend_check_send_request(c) == -1) {
		backend_check_fail(c, "cannot build the handshake request");
		return;
	}
	c->state = BACKEND_CHECK_HANDSHAKE;
	bufferevent_setcb(c->bev, backend_check_read_cb, NULL,
	    backend_check_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
}

/*
 * A backend with proxy_protocol reads a PROXY header before its TLS
 * layer: a check sends one too, naming no client (v1 "PROXY UNKNOWN",
 * v2 without addresses), as load balancers do for their own checks.
 * Without TLS a check sends no byte at all, and no header.
 */
static int
backend_check_send_proxy(struct backend_check *c)
{
	uint8_t	hdr[PROXYPROTO_FORMAT_MAX];
	size_t	n;

	switch (c->be->proxy_protocol) {
	case CONFIG_PROXY_V1:
		n = proxyproto_format_v1((char *)hdr, sizeof(hdr), NULL, NULL);
		break;
	case CONFIG_PROXY_V2:
		n = proxyproto_format_v2(hdr, sizeof(hdr), NULL, NULL);
		break;
	default:
		return 0;
	}
	return bufferevent_write(c->bev, hdr, n);
}

/*
 * Connected to a backend with tls: the handshake runs in a filter on
 * top of the socket's bufferevent, behind the PROXY header if any (in
 * the socket's output first).  The filter owns the SSL and the socket's
 * bufferevent; BEV_EVENT_CONNECTED comes once the handshake is done.
 */
static void
backend_check_start_tls(struct backend_check *c)
{
	struct bufferevent	*tls;
	SSL			*ssl;

	if (backend_check_send_proxy(c) == -1) {
		backend_check_fail(c, "cannot send the PROXY header");
		return;
	}
	if ((ssl = backend_tls_ssl(c->be, c->srv, false)) == NULL) {
		backend_check_fail(c, "tls: out of memory");
		return;
	}
	if ((tls = bufferevent_openssl_filter_new(c->base, c->bev, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		backend_check_fail(c, "tls: out of memory");
		return;
	}
	c->bev = tls;
	c->state = BACKEND_CHECK_TLS;
	bufferevent_setcb(tls, NULL, NULL, backend_check_event_cb, c);
	/* A close without close_notify is an EOF, not an error: WebSocket
	 * frames its own end (conn does the same). */
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	/* The handshake reads and writes as the filter is enabled to. */
	bufferevent_enable(tls, EV_READ | EV_WRITE);
}

/*
 * A TLS failure: OpenSSL's reason, with the verification error when it
 * was that ("tls: certificate verify failed (hostname mismatch)").  0
 * when the bufferevent has no OpenSSL error to tell.
 */
static int
backend_check_tls_failed(struct backend_check *c)
{
	unsigned long	e;
	char		why[200];

	if (bufferevent_get_underlying(c->bev) == NULL ||
	    (e = bufferevent_get_openssl_error(c->bev)) == 0)
		return 0;
	tls_client_error(bufferevent_openssl_get_ssl(c->bev), e, why,
	    sizeof(why));
	while (bufferevent_get_openssl_error(c->bev) != 0)
		continue;
	backend_check_fail(c, "tls: %s", why);
	return 1;
}

static void
backend_check_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct backend_check	*c = arg;
	int			 err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == BACKEND_CHECK_CONNECTING &&
		    c->be->tls_client != NULL)
			backend_check_start_tls(c);
		else
			backend_check_connected(c);
		return;
	}
	if ((what & BEV_EVENT_ERROR) && backend_check_tls_failed(c))
		return;
	switch (c->state) {
	case BACKEND_CHECK_CONNECTING:
		backend_check_fail(c, "connect: %s", err != 0 ?
		    evutil_socket_error_to_string(err) : "failed");
		break;
	case BACKEND_CHECK_TLS:
		backend_check_fail(c, "tls: %s", what & BEV_EVENT_EOF ?
		    "connection closed during the handshake" :
		    evutil_socket_error_to_string(err));
		break;
	case BACKEND_CHECK_HANDSHAKE:
		if (what & BEV_EVENT_EOF)
			backend_check_fail(c, "connection closed before the "
			    "response");
		else
			backend_check_fail(c, "read: %s",
			    evutil_socket_error_to_string(err));
		break;
	default:
		backend_check_idle(c);
		break;
	}
}

static void
backend_check_read_cb(struct bufferevent *bev, void *arg)
{
	struct backend_check	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct http_response	 resp;
	const char		*buf, *errstr = NULL;
	size_t			 len;

	len = evbuffer_get_length(in);
	if (len > BACKEND_CHECK_MAX_HEAD)
		len = BACKEND_CHECK_MAX_HEAD;
	if ((buf = (const char *)evbuffer_pullup(in, (ev_ssize_t)len)) ==
	    NULL) {
		backend_check_fail(c, "out of memory");
		return;
	}
	switch (http_parse_response(buf, len, BACKEND_CHECK_MAX_HEAD, &resp,
	    &errstr)) {
	case HTTP_PARSE_NEED_MORE:
		if (len == BACKEND_CHECK_MAX_HEAD)
			backend_check_fail(c, "response head over %d bytes",
			    BACKEND_CHECK_MAX_HEAD);
		return;
	case HTTP_PARSE_ERROR:
		backend_check_fail(c, "invalid response: %s", errstr);
		return;
	case HTTP_PARSE_OK:
		break;
	}
	if (resp.status != 101) {
		backend_check_fail(c, "status %d, not 101", resp.status);
		return;
	}
	if ((errstr = handshake_check_101(&resp, c->key)) != NULL) {
		backend_check_fail(c, "%s", errstr);
		return;
	}
	backend_check_pass(c);
}

static void
backend_check_write_cb(struct bufferevent *bev, void *arg)
{
	struct backend_check	*c = arg;
	struct bufferevent	*under = bufferevent_get_underlying(bev);

	/* Under TLS, flushed only once the socket's output is empty too. */
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
	    (under == NULL ||
	    evbuffer_get_length(bufferevent_get_output(under)) == 0))
		backend_check_idle(c);
}

/* Re-resolution: --------------------------------------------------------- */

static bool
backend_sockaddr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in	*a4, *b4;
	const struct sockaddr_in6	*a6, *b6;

	if (a->sa_family != b->sa_family)
		return false;
	switch (a->sa_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)(const void *)a;
		b4 = (const struct sockaddr_in *)(const void *)b;
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)(const void *)a;
		b6 = (const struct sockaddr_in6 *)(const void *)b;
		return a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	default:
		return false;
	}
}

/* "192.0.2.1:80" or "[2001:db8::1]:80", for the log. */
static const char *
backend_sockaddr_text(const struct sockaddr *sa, char *buf, size_t size)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 addr[INET6_ADDRSTRLEN];

	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(buf, size, "%s:%u", addr, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, size, "[%s]:%u", addr, ntohs(sin6->sin6_port));
		break;
	default:
		snprintf(buf, size, "(address family %d)", sa->sa_family);
		break;
	}
	return buf;
}

/*
 * Takes the answer unless it still holds the address in use: a name
 * with several addresses must not make the server hop between them at
 * every look-up (nor lose the choice getaddrinfo made at load time).
 * The control thread is the only writer of ss, so it reads ss without
 * the lock and takes it only to write.
 */
static void
backend_resolve_apply(struct backend_resolve *r, struct evutil_addrinfo *res)
{
	struct backend_server	*srv = r->srv;
	struct evutil_addrinfo	*ai, *first = NULL;
	char			 was[INET6_ADDRSTRLEN + 16];
	char			 now[INET6_ADDRSTRLEN + 16];

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(srv->ss))
			continue;
		if (backend_sockaddr_equal(ai->ai_addr,
		    (const struct sockaddr *)&srv->ss))
			return;
		if (first == NULL)
			first = ai;
	}
	if (first == NULL) {
		log_warnx("backend %s: server %s: no usable address for %s, "
		    "keeping %s", r->be->name, srv->address, srv->host,
		    backend_sockaddr_text((const struct sockaddr *)&srv->ss,
		    was, sizeof(was)));
		return;
	}
	backend_sockaddr_text((const struct sockaddr *)&srv->ss, was,
	    sizeof(was));
	backend_lock(r->be);
	memset(&srv->ss, 0, sizeof(srv->ss));
	memcpy(&srv->ss, first->ai_addr, first->ai_addrlen);
	srv->sslen = (socklen_t)first->ai_addrlen;
	backend_unlock(r->be);
	log_info("backend %s: server %s now resolves to %s (was %s)",
	    r->be->name, srv->address, backend_sockaddr_text(first->ai_addr,
	    now, sizeof(now)), was);
}

static void
backend_resolve_cb(int result, struct evutil_addrinfo *res, void *arg)
{
	struct backend_resolve	*r = arg;
	char			 addr[INET6_ADDRSTRLEN + 16];

	r->req = NULL;
	if (r->stopped) {
		if (res != NULL)
			evutil_freeaddrinfo(res);
		free(r);
		return;
	}
	if (result != 0)
		log_warnx("backend %s: server %s: cannot resolve %s: %s, "
		    "keeping %s", r->be->name, r->srv->address, r->srv->host,
		    evutil_gai_strerror(result),
		    backend_sockaddr_text((const struct sockaddr *)&r->srv->ss,
		    addr, sizeof(addr)));
	else
		backend_resolve_apply(r, res);
	if (res != NULL)
		evutil_freeaddrinfo(res);
	backend_timer_arm(r->timer, r->be->resolve_interval);
}

static void
backend_resolve_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend_resolve		*r = arg;
	struct evutil_addrinfo		 hints;
	struct evdns_getaddrinfo_request *req;

	(void)fd;
	(void)what;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/*
	 * The callback may run before evdns_getaddrinfo() returns (hosts
	 * file, errors); it then returns NULL, which is also right for
	 * r->req.
	 */
	req = evdns_getaddrinfo(r->dns, r->srv->host, r->srv->port, &hints,
	    backend_resolve_cb, r);
	r->req = req;
}

/* Run time: -------------------------------------------------------------- */

static void
backend_runtime_free(struct backend *be)
{
	struct backend_runtime	*rt = be->runtime;
	struct backend_resolve	*r;
	size_t			 i;

	if (rt == NULL)
		return;
	for (i = 0; rt->checks != NULL && i < be->nservers; i++) {
		if (rt->checks[i].timer != NULL)
			event_free(rt->checks[i].timer);
		if (rt->checks[i].bev != NULL)
			bufferevent_free(rt->checks[i].bev);
	}
	free(rt->checks);
	for (i = 0; rt->resolves != NULL && i < be->nservers; i++) {
		if ((r = rt->resolves[i]) == NULL)
			continue;
		if (r->timer != NULL)
			event_free(r->timer);
		if (r->req != NULL) {
			/*
			 * evdns runs the callback even for a cancelled
			 * request, possibly later: it frees r then.
			 */
			r->stopped = true;
			evdns_getaddrinfo_cancel(r->req);
		} else
			free(r);
	}
	free(rt->resolves);
	free(rt);
	be->runtime = NULL;
}

static int
backend_runtime_checks(struct backend *be, struct event_base *base)
{
	struct backend_runtime	*rt = be->runtime;
	struct backend_check	*c;
	size_t			 i;

	if ((rt->checks = calloc(be->nservers, sizeof(*rt->checks))) == NULL)
		return -1;
	for (i = 0; i < be->nservers; i++) {
		c = &rt->checks[i];
		c->be = be;
		c->srv = &be->servers[i];
		c->base = base;
		if ((c->timer = evtimer_new(base, backend_check_timer_cb,
		    c)) == NULL)
			return -1;
		/* The first check at once: a new generation knows soon. */
		c->state = BACKEND_CHECK_IDLE;
		backend_timer_arm(c->timer, 0);
	}
	return 0;
}

static int
backend_runtime_resolves(struct backend *be, struct event_base *base,
    struct evdns_base *dns)
{
	struct backend_runtime	*rt = be->runtime;
	struct backend_resolve	*r;
	size_t			 i;

	if ((rt->resolves = calloc(be->nservers, sizeof(*rt->resolves))) ==
	    NULL)
		return -1;
	for (i = 0; i < be->nservers; i++) {
		if (be->servers[i].host == NULL)
			continue;
		if ((r = calloc(1, sizeof(*r))) == NULL)
			return -1;
		rt->resolves[i] = r;
		r->be = be;
		r->srv = &be->servers[i];
		r->dns = dns;
		if ((r->timer = evtimer_new(base, backend_resolve_timer_cb,
		    r)) == NULL)
			return -1;
		/* Resolved at load time: the first look-up is due later. */
		backend_timer_arm(r->timer, be->resolve_interval);
	}
	return 0;
}

/* True when some server of be is given by name. */
static bool
backend_has_names(const struct backend *be)
{
	size_t	i;

	for (i = 0; i < be->nservers; i++)
		if (be->servers[i].host != NULL)
			return true;
	return false;
}

static int
backend_runtime_start_one(struct backend *be, struct event_base *base,
    struct evdns_base *dns)
{
	bool	checks, resolves;

	checks = be->health_check.interval != 0;
	resolves = dns != NULL && be->resolve_interval != 0 &&
	    backend_has_names(be);
	if (be->type == BACKEND_ECHO || be->nservers == 0 ||
	    (!checks && !resolves))
		return 0;
	if ((be->runtime = calloc(1, sizeof(*be->runtime))) == NULL)
		return -1;
	if (checks && backend_runtime_checks(be, base) == -1)
		return -1;
	if (resolves && backend_runtime_resolves(be, base, dns) == -1)
		return -1;
	return 0;
}

int
backend_runtime_start(struct config *cfg, struct event_base *base,
    struct evdns_base *dns)
{
	size_t	i;

	for (i = 0; i < cfg->nbackends; i++) {
		if (cfg->backends[i].runtime != NULL)
			continue;
		if (backend_runtime_start_one(&cfg->backends[i], base,
		    dns) == -1) {
			log_warn("backend %s: cannot start health checks and "
			    "name resolution", cfg->backends[i].name);
			backend_runtime_stop(cfg);
			return -1;
		}
	}
	return 0;
}

void
backend_runtime_stop(struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nbackends; i++)
		backend_runtime_free(&cfg->backends[i]);
}
