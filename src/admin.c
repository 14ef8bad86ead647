/*
 * admin — the admin HTTP listener: an evhttp server on the main thread's
 * event loop, bound by main before privileges are dropped.
 *
 *   GET /healthz   200 "ok" while running, 503 "stopping" once a
 *                  shutdown began: load balancers take wsgate out first
 *   GET /metrics   the Prometheus text format (metrics.c)
 *   GET /sessions  a JSON array of the live sessions of every worker
 *
 * HEAD is answered like GET, without the body; other methods get 405,
 * other paths 404.  Requests are bounded: head size, body size, and a
 * read/write timeout per connection.
 *
 * Sessions belong to their worker threads, so /sessions never reads
 * them from here: every worker is asked through its command pipe
 * (worker_describe) and the answer goes out once all have replied.  A
 * request that comes while the workers are being asked waits for that
 * same round.  A worker that does not answer within ADMIN_ASK_TIMEOUT
 * makes it a 503; its late answer is recognised by its round number
 * and dropped.  At most ADMIN_MAX_SESSIONS sessions are listed; a last
 * element {"truncated": true, "sessions": N} then says how many there
 * were.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "admin.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "session.h"

#define ADMIN_BACKLOG		64
#define ADMIN_TIMEOUT		10		/* seconds, read or write */
#define ADMIN_MAX_HEADERS	8192
#define ADMIN_MAX_BODY		1024
#define ADMIN_ASK_TIMEOUT	2		/* seconds for the workers */
#define ADMIN_MAX_SESSIONS	10000

struct admin_waiter {
	TAILQ_ENTRY(admin_waiter)	 entry;
	struct evhttp_request		*req;
};

struct admin {
	struct event_base	*base;
	struct evhttp		*http;
	struct config		*cfg;		/* a reference */
	bool			 stopping;
	struct worker		**workers;	/* borrowed from main */
	unsigned		 nworkers;

	/* /sessions: the round of questions under way, if any. */
	uint64_t		 round;		/* its number; 0: none */
	uint64_t		 rounds;	/* numbers given so far */
	unsigned		 unanswered;
	bool			 failed;	/* a worker could not answer */
	struct worker_listing	**answers;	/* per worker */
	struct event		*deadline;
	TAILQ_HEAD(, admin_waiter) waiting;
};

/* replies ------------------------------------------------------------- */

static void
admin_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, body);
}

static void
admin_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer	*body;

	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	evbuffer_add_printf(body, "%s\n", text);
	admin_reply(req, code, reason, "text/plain; charset=utf-8", body);
	evbuffer_free(body);
}

/* /healthz, /metrics -------------------------------------------------- */

static void
admin_healthz(struct admin *a, struct evhttp_request *req)
{
	if (a->stopping)
		admin_text(req, 503, "Service Unavailable", "stopping");
	else
		admin_text(req, 200, "OK", "ok");
}

static void
admin_metrics(struct admin *a, struct evhttp_request *req)
{
	struct evbuffer	*body;

	if ((body = evbuffer_new()) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	metrics_render(body, a->cfg);
	admin_reply(req, 200, "OK", "text/plain; version=0.0.4; "
	    "charset=utf-8", body);
	evbuffer_free(body);
}

/* /sessions: JSON ----------------------------------------------------- */

/*
 * s as a JSON string: quotes, backslashes and control characters
 * escaped; other bytes (UTF-8 from the configuration) as they are.
 */
static void
admin_json_string(struct evbuffer *out, const char *s)
{
	const unsigned char	*p;

	evbuffer_add(out, "\"", 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			evbuffer_add_printf(out, "\\u%04x", *p);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"", 1);
}

/* "key":"value", or "key":null for an empty value. */
static void
admin_json_field(struct evbuffer *out, const char *key, const char *v)
{
	evbuffer_add_printf(out, ",\"%s\":", key);
	if (*v == '\0')
		evbuffer_add(out, "null", 4);
	else
		admin_json_string(out, v);
}

static void
admin_json_session(struct evbuffer *out, const struct session_info *si)
{
	evbuffer_add_printf(out, "{\"id\":%" PRIu64 ",\"worker\":%u", si->id,
	    si->worker);
	admin_json_field(out, "client", si->client);
	admin_json_field(out, "target", si->target);
	admin_json_field(out, "route", strcmp(si->route, METRICS_NO_ROUTE) ==
	    0 ? "" : si->route);
	admin_json_field(out, "backend", si->backend);
	admin_json_field(out, "server", si->server);
	admin_json_field(out, "state", si->state);
	evbuffer_add_printf(out, ",\"age\":%" PRIu64 ".%03" PRIu64
	    ",\"bytes_in\":%" PRIu64 ",\"messages_in\":%" PRIu64
	    ",\"bytes_out\":%" PRIu64 ",\"messages_out\":%" PRIu64 "}",
	    si->age_ms / 1000, si->age_ms % 1000, si->bytes_in, si->msgs_in,
	    si->bytes_out, si->msgs_out);
}

/* Every worker's answer as one array, at most ADMIN_MAX_SESSIONS long. */
static void
admin_json_sessions(struct admin *a, struct evbuffer *out)
{
	struct worker_listing	*l;
	size_t			 listed = 0, live = 0, j;
	unsigned		 i;

	evbuffer_add(out, "[", 1);
	for (i = 0; i < a->nworkers; i++) {
		if ((l = a->answers[i]) == NULL)
			continue;
		live += l->live;
		for (j = 0; j < l->count && listed < ADMIN_MAX_SESSIONS; j++) {
			evbuffer_add_printf(out, "%s\n", listed++ > 0 ? "," :
			    "");
			admin_json_session(out, &l->sessions[j]);
		}
	}
	if (live > listed)
		evbuffer_add_printf(out, "%s\n{\"truncated\":true,"
		    "\"sessions\":%zu}", listed > 0 ? "," : "", live);
	evbuffer_add(out, "\n]\n", 3);
}

/* /sessions: asking the workers --------------------------------------- */

static void
admin_listing_free(struct worker_listing *l)
{
	if (l == NULL)
		return;
	free(l->sessions);
	free(l);
}

/* The round is over: every waiting request gets the same answer. */
static void
admin_round_end(struct admin *a, const char *error)
{
	struct admin_waiter	*wt;
	struct evbuffer		*body = NULL;
	unsigned		 i;

	if (error == NULL && (body = evbuffer_new()) != NULL)
		admin_json_sessions(a, body);
	while ((wt = TAILQ_FIRST(&a->waiting)) != NULL) {
		TAILQ_REMOVE(&a->waiting, wt, entry);
		if (body != NULL)
			admin_reply(wt->req, 200, "OK", "application/json",
			    body);
		else
			admin_text(wt->req, 503, "Service Unavailable",
			    error != NULL ? error : "out of memory");
		free(wt);
	}
	if (body != NULL)
		evbuffer_free(body);
	for (i = 0; i < a->nworkers; i++) {
		admin_listing_free(a->answers[i]);
		a->answers[i] = NULL;
	}
	evtimer_del(a->deadline);
	a->round = 0;
}

/* On the main thread: a worker's answer, maybe to a round long over. */
static void
admin_described(struct worker_listing *l, void *arg)
{
	struct admin	*a = arg;

	if (l->seq != a->round || l->worker >= a->nworkers ||
	    a->answers[l->worker] != NULL) {
		admin_listing_free(l);
		return;
	}
	a->answers[l->worker] = l;
	a->failed |= l->failed;
	if (--a->unanswered > 0)
		return;
	admin_round_end(a, a->failed ? "a worker could not list its "
	    "sessions" : NULL);
}

static void
admin_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin	*a = arg;

	(void)fd;
	(void)what;
	log_warnx("admin: /sessions: %u workers did not answer within %ds",
	    a->unanswered, ADMIN_ASK_TIMEOUT);
	admin_round_end(a, "some workers did not answer in time");
}

/* Asks every worker still running; a finished one has no session. */
static void
admin_round_start(struct admin *a)
{
	struct timeval		 tv = { ADMIN_ASK_TIMEOUT, 0 };
	struct worker_listing	*l;
	unsigned		 i;

	a->round = ++a->rounds;
	a->failed = false;
	a->unanswered = 1;	/* held until every question is out */
	for (i = 0; i < a->nworkers; i++) {
		if ((l = calloc(1, sizeof(*l))) == NULL) {
			a->failed = true;
			continue;
		}
		l->max = ADMIN_MAX_SESSIONS;
		l->seq = a->round;
		l->worker = i;
		l->done = admin_described;
		l->arg = a;
		if (worker_describe(a->workers[i], l) == -1)
			a->answers[i] = l;
		else
			a->unanswered++;
	}
	evtimer_add(a->deadline, &tv);
	if (--a->unanswered == 0)
		admin_round_end(a, a->failed ? "out of memory" : NULL);
}

static void
admin_sessions(struct admin *a, struct evhttp_request *req)
{
	struct admin_waiter	*wt;

	if ((wt = calloc(1, sizeof(*wt))) == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	wt->req = req;
	TAILQ_INSERT_TAIL(&a->waiting, wt, entry);
	if (a->round == 0)
		admin_round_start(a);
}

/* dispatch ------------------------------------------------------------ */

static const struct admin_endpoint {
	const char	*path;
	void		(*serve)(struct admin *, struct evhttp_request *);
} admin_endpoints[] = {
	{ "/healthz", admin_healthz },
	{ "/metrics", admin_metrics },
	{ "/sessions", admin_sessions },
	{ NULL, NULL }
};

static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
	const struct admin_endpoint	*ep;
	const struct evhttp_uri		*uri;
	const char			*path = NULL;
	enum evhttp_cmd_type		 cmd = evhttp_request_get_command(req);

	if ((uri = evhttp_request_get_evhttp_uri(req)) != NULL)
		path = evhttp_uri_get_path(uri);
	for (ep = admin_endpoints; ep->path != NULL; ep++)
		if (path != NULL && strcmp(path, ep->path) == 0)
			break;
	if (ep->path == NULL) {
		admin_text(req, 404, "Not Found", "not found: try /metrics, "
		    "/healthz or /sessions");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		admin_text(req, 405, "Method Not Allowed", "method not "
		    "allowed: GET or HEAD");
		return;
	}
	ep->serve(arg, req);
}

/* life cycle ---------------------------------------------------------- */

static bool
admin_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family != AF_INET6)
		return false;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return sin6->sin6_addr.s6_addr[12] == 127;
	return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

static int
admin_listen(struct admin *a, const struct config_admin *ad)
{
	struct evconnlistener	*evl;
	char			 name[64];

	evl = evconnlistener_new_bind(a->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    ADMIN_BACKLOG, (const struct sockaddr *)&ad->ss, (int)ad->sslen);
	if (evl == NULL) {
		log_warn("admin: listen on %s", ad->address);
		return -1;
	}
	if (evhttp_bind_listener(a->http, evl) == NULL) {
		evconnlistener_free(evl);
		log_warnx("admin: listen on %s: evhttp failed", ad->address);
		return -1;
	}
	listener_name(evconnlistener_get_fd(evl), name, sizeof(name));
	log_info("admin listening on %s", name);
	if (!admin_is_loopback(&ad->ss))
		log_warnx("admin: %s is not a loopback address: anyone who "
		    "reaches it sees /metrics and /sessions (client addresses "
		    "and paths)", ad->address);
	return 0;
}

struct admin *
admin_new(struct event_base *base, struct config *cfg)
{
	struct admin	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warn("admin");
		return NULL;
	}
	a->base = base;
	a->cfg = config_ref(cfg);
	TAILQ_INIT(&a->waiting);
	if ((a->http = evhttp_new(base)) == NULL ||
	    (a->deadline = evtimer_new(base, admin_deadline_cb, a)) == NULL) {
		log_warnx("admin: out of memory");
		admin_free(a);
		return NULL;
	}
	evhttp_set_timeout(a->http, ADMIN_TIMEOUT);
	evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS);
	evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY);
	evhttp_set_gencb(a->http, admin_request_cb, a);
	if (admin_listen(a, cfg->admin) == -1) {
		admin_free(a);
		return NULL;
	}
	return a;
}

void
admin_set_workers(struct admin *a, struct worker **workers,
    unsigned nworkers)
{
	if ((a->answers = calloc(nworkers, sizeof(*a->answers))) == NULL)
		fatal("admin: calloc");
	a->workers = workers;
	a->nworkers = nworkers;
}

void
admin_set_config(struct admin *a, struct config *cfg)
{
	config_ref(cfg);
	config_unref(a->cfg);
	a->cfg = cfg;
}

void
admin_stopping(struct admin *a)
{
	a->stopping = true;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->round != 0)
		admin_round_end(a, "shutting down");
	if (a->deadline != NULL)
		event_free(a->deadline);
	if (a->http != NULL)
		evhttp_free(a->http);
	free(a->answers);
	config_unref(a->cfg);
	free(a);
}
