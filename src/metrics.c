/*
 * metrics — counters and their Prometheus text exposition (format
 * 0.0.4: "# HELP" and "# TYPE" lines, then one sample per line, label
 * values escaped, histograms as cumulative le buckets with _sum and
 * _count).
 *
 * Storage, chosen so that counting costs next to nothing on the workers:
 *
 *   routes    one series per route label (the route's path condition,
 *             or "routes[N]"), with a slot of counters per worker on a
 *             cache line of its own.  Only that worker writes its slot,
 *             with relaxed atomic load and store (plain moves and adds
 *             on x86, no locked instruction); the main thread reads
 *             with relaxed loads and sums the slots.  Traffic is added
 *             once per read a session relays, from the totals its
 *             access line keeps, not per message.
 *   once per connection
 *             handshake statuses, close codes and the histograms are
 *             shared by every worker: relaxed atomic adds.
 *
 * Series are looked up by label when a connection is routed or a
 * backend connected: an append-only table, read without a lock (its
 * count is published with release), extended under a mutex.  A label is
 * never removed, so counters never go back, even when a reload drops
 * its route; at most METRICS_MAX_SERIES labels per table are counted.
 */
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "backend.h"
#include "metrics.h"

#define METRICS_MAX_SERIES	1024
#define METRICS_MAX_STATUS	600	/* HTTP statuses 0-599 */
#define METRICS_MAX_CODE	5000	/* close codes 0-4999 (RFC 6455 §7.4) */
#define METRICS_MAX_BUCKETS	8
#define METRICS_CACHE_LINE	64

/* One worker's counters of one route. */
struct metrics_slot {
	alignas(METRICS_CACHE_LINE) _Atomic uint64_t active;
	_Atomic uint64_t	 total;
	_Atomic uint64_t	 bytes_in, msgs_in;
	_Atomic uint64_t	 bytes_out, msgs_out;
};

/* Histogram bounds: as Prometheus' le label, and in microseconds. */
struct metrics_bounds {
	size_t		 n;
	const char	*le[METRICS_MAX_BUCKETS];
	uint64_t	 us[METRICS_MAX_BUCKETS];
};

struct metrics_histogram {
	_Atomic uint64_t	 counts[METRICS_MAX_BUCKETS + 1]; /* per
						   bucket, not cumulative;
						   the last one is +Inf */
	_Atomic uint64_t	 sum_us;
};

/* One label value and what is counted under it. */
struct metrics_series {
	char			*label;
	struct metrics_slot	*slots;		/* routes: one per worker */
	struct metrics_histogram hist;		/* backends: connect times */
};

struct metrics_table {
	pthread_mutex_t		 lock;		/* to add a series */
	atomic_size_t		 n;		/* published series */
	struct metrics_series	*series[METRICS_MAX_SERIES];
	bool			 slots;		/* series get worker slots */
};

static const struct metrics_bounds metrics_connect_bounds = { 8,
	{ "0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1", "5" },
	{ 1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000 }
};
static const struct metrics_bounds metrics_duration_bounds = { 6,
	{ "1", "10", "60", "600", "3600", "86400" },
	{ 1000000, 10000000, 60000000, 600000000, 3600000000,
	    86400000000 }
};

/* The closing sides, as session.c names them. */
static const char *const metrics_sides[] = { "client", "backend", "wsgate" };
#define METRICS_NSIDES	(sizeof(metrics_sides) / sizeof(metrics_sides[0]))

static unsigned			 metrics_nworkers;
static struct metrics_series	*metrics_unrouted;	/* METRICS_NO_ROUTE:
							   every accept's */
static double			 metrics_start_time;
static struct metrics_table	 metrics_routes = {
	PTHREAD_MUTEX_INITIALIZER, 0, { NULL }, true
};
static struct metrics_table	 metrics_backends = {
	PTHREAD_MUTEX_INITIALIZER, 0, { NULL }, false
};
static _Atomic uint64_t		 metrics_status[METRICS_MAX_STATUS];
static _Atomic uint64_t		 metrics_closes[METRICS_NSIDES]
				    [METRICS_MAX_CODE];
static struct metrics_histogram	 metrics_durations;
static _Atomic uint64_t		 metrics_generation = 1;
static _Atomic uint64_t		 metrics_reloads[2];	/* failure, success */

/* counting ------------------------------------------------------------ */

/* For counters one thread writes: no locked instruction needed. */
static inline void
metrics_add_own(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c,
	    memory_order_relaxed) + n, memory_order_relaxed);
}

/* For counters every worker writes. */
static inline void
metrics_add_shared(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t
metrics_get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void
metrics_observe(struct metrics_histogram *h, const struct metrics_bounds *b,
    uint64_t us)
{
	size_t	i;

	for (i = 0; i < b->n && us > b->us[i]; i++)
		continue;
	metrics_add_shared(&h->counts[i], 1);
	metrics_add_shared(&h->sum_us, us);
}

uint64_t
metrics_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* series -------------------------------------------------------------- */

static struct metrics_series *
metrics_series_new(const struct metrics_table *t, const char *label)
{
	struct metrics_series	*se;
	size_t			 size;

	if ((se = calloc(1, sizeof(*se))) == NULL ||
	    (se->label = strdup(label)) == NULL)
		goto fail;
	if (t->slots) {
		/* Only after metrics_init(): slots are per worker. */
		if (metrics_nworkers == 0)
			goto fail;
		size = metrics_nworkers * sizeof(*se->slots);
		if ((se->slots = aligned_alloc(METRICS_CACHE_LINE, size)) ==
		    NULL)
			goto fail;
		memset(se->slots, 0, size);
	}
	return se;
fail:
	if (se != NULL)
		free(se->label);
	free(se);
	return NULL;
}

static struct metrics_series *
metrics_scan(struct metrics_table *t, const char *label, size_t from,
    size_t n)
{
	size_t	i;

	for (i = from; i < n; i++)
		if (strcmp(t->series[i]->label, label) == 0)
			return t->series[i];
	return NULL;
}

/*
 * The series of label, made on first use.  NULL when out of memory or
 * when the table is full: that label is not counted.
 */
static struct metrics_series *
metrics_lookup(struct metrics_table *t, const char *label)
{
	struct metrics_series	*se;
	size_t			 n;

	n = atomic_load_explicit(&t->n, memory_order_acquire);
	if ((se = metrics_scan(t, label, 0, n)) != NULL)
		return se;
	pthread_mutex_lock(&t->lock);
	/* Another thread may have added it meanwhile. */
	se = metrics_scan(t, label, n, atomic_load_explicit(&t->n,
	    memory_order_relaxed));
	n = atomic_load_explicit(&t->n, memory_order_relaxed);
	if (se == NULL && n < METRICS_MAX_SERIES &&
	    (se = metrics_series_new(t, label)) != NULL) {
		t->series[n] = se;
		atomic_store_explicit(&t->n, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&t->lock);
	return se;
}

/* A route's label: its path condition, else its place in the file. */
static const char *
metrics_route_label(const struct config *cfg, const struct route *rt,
    char *buf, size_t size)
{
	if (rt == NULL)
		return METRICS_NO_ROUTE;
	if (rt->path != NULL)
		return rt->path;
	snprintf(buf, size, "routes[%zu]", (size_t)(rt - cfg->routes));
	return buf;
}

int
metrics_init(unsigned nworkers)
{
	struct timespec	ts;

	/* Once: the slots of existing series are sized by it. */
	if (metrics_nworkers != 0)
		return nworkers <= metrics_nworkers ? 0 : -1;
	metrics_nworkers = nworkers > 0 ? nworkers : 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	metrics_start_time = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	metrics_unrouted = metrics_lookup(&metrics_routes, METRICS_NO_ROUTE);
	return metrics_unrouted == NULL ? -1 : 0;
}

void
metrics_register(const struct config *cfg)
{
	char	buf[32];
	size_t	i;

	for (i = 0; i < cfg->nroutes; i++)
		(void)metrics_lookup(&metrics_routes, metrics_route_label(cfg,
		    &cfg->routes[i], buf, sizeof(buf)));
	for (i = 0; i < cfg->nbackends; i++)
		if (cfg->backends[i].type != BACKEND_ECHO)
			(void)metrics_lookup(&metrics_backends,
			    cfg->backends[i].name);
}

/* connections --------------------------------------------------------- */

static struct metrics_slot *
metrics_slot(struct metrics_series *se, unsigned worker)
{
	assert(worker < metrics_nworkers);
	return se != NULL ? &se->slots[worker] : NULL;
}

void
metrics_conn_open(struct metrics_conn *mc, unsigned worker)
{
	memset(mc, 0, sizeof(*mc));
	mc->worker = worker;
	mc->route = METRICS_NO_ROUTE;
	if (metrics_nworkers == 0)
		return;		/* metrics_init() not called: unit tests */
	mc->slot = metrics_slot(metrics_unrouted, worker);
	if (mc->slot != NULL)
		metrics_add_own(&mc->slot->active, 1);
}

void
metrics_conn_route(struct metrics_conn *mc, const struct config *cfg,
    const struct route *rt)
{
	struct metrics_series	*se;
	char			 buf[32];

	if (mc->routed || metrics_nworkers == 0)
		return;
	mc->routed = true;
	se = metrics_lookup(&metrics_routes, metrics_route_label(cfg, rt, buf,
	    sizeof(buf)));
	if (mc->slot != NULL)
		metrics_add_own(&mc->slot->active, (uint64_t)-1);
	mc->slot = metrics_slot(se, mc->worker);
	if (mc->slot == NULL)
		return;
	mc->route = se->label;
	metrics_add_own(&mc->slot->active, 1);
	metrics_add_own(&mc->slot->total, 1);
}

void
metrics_conn_traffic(struct metrics_conn *mc, uint64_t bytes_in,
    uint64_t msgs_in, uint64_t bytes_out, uint64_t msgs_out)
{
	struct metrics_slot	*sl = mc->slot;

	if (sl == NULL)
		return;
	if (bytes_in != mc->bytes_in || msgs_in != mc->msgs_in) {
		metrics_add_own(&sl->bytes_in, bytes_in - mc->bytes_in);
		metrics_add_own(&sl->msgs_in, msgs_in - mc->msgs_in);
		mc->bytes_in = bytes_in;
		mc->msgs_in = msgs_in;
	}
	if (bytes_out != mc->bytes_out || msgs_out != mc->msgs_out) {
		metrics_add_own(&sl->bytes_out, bytes_out - mc->bytes_out);
		metrics_add_own(&sl->msgs_out, msgs_out - mc->msgs_out);
		mc->bytes_out = bytes_out;
		mc->msgs_out = msgs_out;
	}
}

void
metrics_handshake(int status)
{
	if (status >= 0 && status < METRICS_MAX_STATUS)
		metrics_add_shared(&metrics_status[status], 1);
}

static void
metrics_close_code(unsigned code, const char *by)
{
	size_t	i;

	if (by == NULL || code >= METRICS_MAX_CODE)
		return;
	for (i = 0; i < METRICS_NSIDES; i++)
		if (strcmp(by, metrics_sides[i]) == 0)
			metrics_add_shared(&metrics_closes[i][code], 1);
}

void
metrics_conn_close(struct metrics_conn *mc, int status, unsigned close_code,
    const char *by, uint64_t duration_us)
{
	if (metrics_nworkers == 0)
		return;
	if (!mc->routed)
		metrics_conn_route(mc, NULL, NULL);
	if (mc->slot != NULL)
		metrics_add_own(&mc->slot->active, (uint64_t)-1);
	mc->slot = NULL;
	if (status == 0)
		metrics_handshake(0);
	/* Closes and durations are those of WebSocket sessions. */
	if (status != 101)
		return;
	metrics_close_code(close_code, by);
	metrics_observe(&metrics_durations, &metrics_duration_bounds,
	    duration_us);
}

void
metrics_backend_connect(const char *backend, uint64_t usec)
{
	struct metrics_series	*se;

	if ((se = metrics_lookup(&metrics_backends, backend)) != NULL)
		metrics_observe(&se->hist, &metrics_connect_bounds, usec);
}

void
metrics_note_reload(bool ok)
{
	metrics_add_shared(&metrics_reloads[ok], 1);
	if (ok)
		metrics_add_shared(&metrics_generation, 1);
}

/* exposition ---------------------------------------------------------- */

struct metrics_label {
	const char	*name;
	const char	*value;
};

/* A label value: backslash, double quote and newline escaped. */
static void
metrics_label_value(struct evbuffer *out, const char *s)
{
	size_t	n;

	while (*s != '\0') {
		n = strcspn(s, "\\\"\n");
		evbuffer_add(out, s, n);
		s += n;
		if (*s == '\0')
			break;
		evbuffer_add_printf(out, "\\%c", *s == '\n' ? 'n' : *s);
		s++;
	}
}

static void
metrics_family(struct evbuffer *out, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* "name{a="x",b="y"} " up to the value. */
static void
metrics_name(struct evbuffer *out, const char *name, const char *suffix,
    const struct metrics_label *l, size_t nl)
{
	size_t	i;

	evbuffer_add_printf(out, "%s%s", name, suffix);
	for (i = 0; i < nl; i++) {
		evbuffer_add_printf(out, "%s%s=\"", i == 0 ? "{" : ",",
		    l[i].name);
		metrics_label_value(out, l[i].value);
		evbuffer_add(out, "\"", 1);
	}
	evbuffer_add(out, nl > 0 ? "} " : " ", nl > 0 ? 2 : 1);
}

static void
metrics_sample(struct evbuffer *out, const char *name,
    const struct metrics_label *l, size_t nl, uint64_t v)
{
	metrics_name(out, name, "", l, nl);
	evbuffer_add_printf(out, "%" PRIu64 "\n", v);
}

/* A histogram's series: its own labels l (nl of them) and le. */
static void
metrics_histogram_render(struct evbuffer *out, const char *name,
    struct metrics_label *l, size_t nl, struct metrics_histogram *h,
    const struct metrics_bounds *b)
{
	uint64_t	cum = 0, sum = metrics_get(&h->sum_us);
	size_t		i;

	l[nl].name = "le";
	for (i = 0; i <= b->n; i++) {
		/* _count is the +Inf bucket, so the two always agree. */
		cum += metrics_get(&h->counts[i]);
		l[nl].value = i < b->n ? b->le[i] : "+Inf";
		metrics_name(out, name, "_bucket", l, nl + 1);
		evbuffer_add_printf(out, "%" PRIu64 "\n", cum);
	}
	metrics_name(out, name, "_sum", l, nl);
	evbuffer_add_printf(out, "%" PRIu64 ".%06" PRIu64 "\n", sum / 1000000,
	    sum % 1000000);
	metrics_name(out, name, "_count", l, nl);
	evbuffer_add_printf(out, "%" PRIu64 "\n", cum);
}

/* The published series of a table, for the main thread to walk. */
static size_t
metrics_count(struct metrics_table *t)
{
	return atomic_load_explicit(&t->n, memory_order_acquire);
}

/* A field of a route's slots, summed over the workers. */
static uint64_t
metrics_route_sum(const struct metrics_series *se, size_t offset)
{
	uint64_t	v = 0;
	unsigned	w;

	for (w = 0; w < metrics_nworkers; w++)
		v += metrics_get((_Atomic uint64_t *)(void *)
		    ((char *)&se->slots[w] + offset));
	return v;
}

static void
metrics_render_route_field(struct evbuffer *out, const char *name,
    size_t offset, const char *direction)
{
	struct metrics_label	 l[2] = { { "route", NULL },
				    { "direction", direction } };
	struct metrics_series	*se;
	size_t			 i, n = metrics_count(&metrics_routes);

	for (i = 0; i < n; i++) {
		se = metrics_routes.series[i];
		l[0].value = se->label;
		metrics_sample(out, name, l, direction != NULL ? 2 : 1,
		    metrics_route_sum(se, offset));
	}
}

#define SLOT(f)	offsetof(struct metrics_slot, f)

static void
metrics_render_routes(struct evbuffer *out)
{
	metrics_family(out, "wsgate_connections_active", "gauge",
	    "Connections open, by route (\"-\": none matched yet).");
	metrics_render_route_field(out, "wsgate_connections_active",
	    SLOT(active), NULL);
	metrics_family(out, "wsgate_connections_total", "counter",
	    "Connections accepted, by the route they matched (\"-\": none).");
	metrics_render_route_field(out, "wsgate_connections_total",
	    SLOT(total), NULL);
	metrics_family(out, "wsgate_bytes_total", "counter", "Payload bytes "
	    "of data messages, from (in) and to (out) the clients.");
	metrics_render_route_field(out, "wsgate_bytes_total", SLOT(bytes_in),
	    "in");
	metrics_render_route_field(out, "wsgate_bytes_total",
	    SLOT(bytes_out), "out");
	metrics_family(out, "wsgate_messages_total", "counter", "Data "
	    "messages from (in) and to (out) the clients.");
	metrics_render_route_field(out, "wsgate_messages_total",
	    SLOT(msgs_in), "in");
	metrics_render_route_field(out, "wsgate_messages_total",
	    SLOT(msgs_out), "out");
}

static void
metrics_render_statuses(struct evbuffer *out)
{
	struct metrics_label	l = { "status", NULL };
	char			code[16];	/* an int */
	uint64_t		v;
	int			i;

	metrics_family(out, "wsgate_handshakes_total", "counter", "HTTP "
	    "answers to opening handshakes, by status (0: none was sent).");
	for (i = 0; i < METRICS_MAX_STATUS; i++) {
		if ((v = metrics_get(&metrics_status[i])) == 0)
			continue;
		snprintf(code, sizeof(code), "%d", i);
		l.value = code;
		metrics_sample(out, "wsgate_handshakes_total", &l, 1, v);
	}
}

static void
metrics_render_closes(struct evbuffer *out)
{
	struct metrics_label	l[2] = { { "code", NULL }, { "by", NULL } };
	char			code[8];
	uint64_t		v;
	size_t			side, i;

	metrics_family(out, "wsgate_closes_total", "counter", "WebSocket "
	    "sessions ended, by close code and the side that closed.");
	for (side = 0; side < METRICS_NSIDES; side++) {
		l[1].value = metrics_sides[side];
		for (i = 0; i < METRICS_MAX_CODE; i++) {
			if ((v = metrics_get(&metrics_closes[side][i])) == 0)
				continue;
			snprintf(code, sizeof(code), "%zu", i);
			l[0].value = code;
			metrics_sample(out, "wsgate_closes_total", l, 2, v);
		}
	}
}

static void
metrics_render_servers(struct evbuffer *out, struct config *cfg)
{
	struct metrics_label	 l[2] = { { "backend", NULL },
				    { "server", NULL } };
	struct backend		*be;
	size_t			 i, j;

	metrics_family(out, "wsgate_backend_server_up", "gauge", "1 when the "
	    "server may get new sessions (health checks, failures).");
	for (i = 0; cfg != NULL && i < cfg->nbackends; i++) {
		be = &cfg->backends[i];
		l[0].value = be->name;
		for (j = 0; j < be->nservers; j++) {
			l[1].value = be->servers[j].address;
			metrics_sample(out, "wsgate_backend_server_up", l, 2,
			    backend_server_healthy(be, &be->servers[j]));
		}
	}
}

static void
metrics_render_histograms(struct evbuffer *out)
{
	struct metrics_label	 l[2];
	struct metrics_series	*se;
	size_t			 i, n = metrics_count(&metrics_backends);

	metrics_family(out, "wsgate_backend_connect_seconds", "histogram",
	    "Time to connect a backend server, TLS handshake included.");
	l[0].name = "backend";
	for (i = 0; i < n; i++) {
		se = metrics_backends.series[i];
		l[0].value = se->label;
		metrics_histogram_render(out, "wsgate_backend_connect_seconds",
		    l, 1, &se->hist, &metrics_connect_bounds);
	}
	metrics_family(out, "wsgate_session_duration_seconds", "histogram",
	    "Lifetime of the WebSocket sessions that ended.");
	metrics_histogram_render(out, "wsgate_session_duration_seconds", l, 0,
	    &metrics_durations, &metrics_duration_bounds);
}

static void
metrics_render_process(struct evbuffer *out)
{
	struct metrics_label	r = { "result", NULL };
	struct metrics_label	b[3] = {
		{ "version", WSGATE_VERSION },
		{ "openssl", OpenSSL_version(OPENSSL_VERSION_STRING) },
		{ "libevent", event_get_version() }
	};

	metrics_family(out, "wsgate_config_generation", "gauge",
	    "Configurations loaded: 1 at start, one more per reload.");
	metrics_sample(out, "wsgate_config_generation", NULL, 0,
	    metrics_get(&metrics_generation));
	metrics_family(out, "wsgate_reloads_total", "counter",
	    "SIGHUP reloads, by result.");
	r.value = "success";
	metrics_sample(out, "wsgate_reloads_total", &r, 1,
	    metrics_get(&metrics_reloads[1]));
	r.value = "failure";
	metrics_sample(out, "wsgate_reloads_total", &r, 1,
	    metrics_get(&metrics_reloads[0]));
	metrics_family(out, "wsgate_build_info", "gauge",
	    "Versions of wsgate and its libraries; always 1.");
	metrics_sample(out, "wsgate_build_info", b, 3, 1);
	metrics_family(out, "wsgate_start_time_seconds", "gauge",
	    "Start time of the process, in seconds since the Unix epoch.");
	evbuffer_add_printf(out, "wsgate_start_time_seconds %.3f\n",
	    metrics_start_time);
}

void
metrics_render(struct evbuffer *out, struct config *cfg)
{
	metrics_render_routes(out);
	metrics_render_statuses(out);
	metrics_render_closes(out);
	metrics_render_servers(out, cfg);
	metrics_render_histograms(out);
	metrics_render_process(out);
}
