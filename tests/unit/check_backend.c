/*
 * check_backend — unit tests of the backend pools (DESIGN.md "The path of
 * one connection", item 4): smooth weighted round robin (the exact nginx
 * sequences), least connections by weight, client-address hashing, the
 * retry bound and the tried-set, passive health (fail_threshold,
 * fail_timeout, the probe after the rest), exclusion by active checks,
 * the sockets backend_socket() makes, selection and session counts from
 * two threads at once on one pool (the worker threads of the daemon),
 * and, over a real event loop on loopback sockets, the active health
 * checks (tcp connect, WebSocket handshake, timeout) and re-resolution
 * of server names with evdns.
 *
 * Pools come from config_parse(), as in the daemon.  Selection tests pass
 * explicit clocks and never sleep; event loop tests are bounded by
 * BT_DEADLINE_MS each.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "backend.h"
#include "config.h"
#include "handshake.h"
#include "http.h"
#include "log.h"
#include "check_main.h"

#define BT_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))
#define BT_DEADLINE_MS	3000	/* any wait on the event loop */
#define BT_MAX_SERVERS	8
#define BT_SEC		1000ULL

static struct config		*bt_cfg;
static struct backend		*bt_be;
static struct event_base	*bt_base;

/*
 * A config whose backend "b" has the keys in fmt (YAML lines indented by
 * four spaces); the route uses echo so that "b" may be of any type.
 */
static struct backend *
bt_config(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static struct backend *
bt_config(const char *fmt, ...)
{
	va_list	 ap;
	char	*body, *yaml, *errors = NULL;

	va_start(ap, fmt);
	ck_assert_int_ne(vasprintf(&body, fmt, ap), -1);
	va_end(ap);
	ck_assert_int_ne(asprintf(&yaml,
	    "listen:\n"
	    "  - address: 127.0.0.1:8080\n"
	    "routes:\n"
	    "  - match: { path: / }\n"
	    "    backend: echo\n"
	    "backends:\n"
	    "  b:\n"
	    "%s", body), -1);
	bt_cfg = config_parse("backend.yaml", yaml, strlen(yaml), &errors);
	ck_assert_msg(bt_cfg != NULL, "config:\n%s\n%s", yaml,
	    errors != NULL ? errors : "(no errors)");
	free(body);
	free(yaml);
	bt_be = config_find_backend(bt_cfg, "b");
	ck_assert_ptr_nonnull(bt_be);
	return bt_be;
}

/* "servers: [...]" with the given weights, on ports 9001, 9002, ... */
static struct backend *
bt_pool(const char *balance, const unsigned *weights, size_t n,
    const char *extra)
{
	char	servers[1024];
	size_t	i, len = 0;

	for (i = 0; i < n; i++)
		len += (size_t)snprintf(servers + len, sizeof(servers) - len,
		    "%s{ address: \"127.0.0.1:%zu\", weight: %u }",
		    i > 0 ? ", " : "", 9001 + i, weights[i]);
	return bt_config("    type: tcp\n"
	    "    balance: %s\n"
	    "    servers: [%s]\n"
	    "%s", balance, servers, extra != NULL ? extra : "");
}

/* The index of srv in bt_be, or -1. */
static int
bt_index(const struct backend_server *srv)
{
	if (srv == NULL)
		return -1;
	return (int)(srv - bt_be->servers);
}

/* A new session's first pick; the server's index. */
static int
bt_pick_one(const struct sockaddr *client, uint64_t now)
{
	struct backend_attempt	 a;
	struct backend_server	*srv;

	backend_attempt_init(&a, client);
	ck_assert_int_eq(backend_pick(bt_be, &a, now, &srv), BACKEND_PICKED);
	ck_assert_uint_eq(a.count, 1);
	ck_assert(a.tried == UINT64_C(1) << bt_index(srv));
	return bt_index(srv);
}

static void
bt_setup(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	bt_cfg = NULL;
	bt_be = NULL;
	bt_base = NULL;
}

static void
bt_teardown(void)
{
	if (bt_cfg != NULL) {
		backend_runtime_stop(bt_cfg);
		config_unref(bt_cfg);
	}
	if (bt_base != NULL)
		event_base_free(bt_base);
	bt_cfg = NULL;
	bt_be = NULL;
	bt_base = NULL;
}

/*
 * Round robin: the exact smooth sequence over one period, repeated 100
 * times, so each server gets exactly weight * 100 of the picks.
 */
struct bt_rr_vector {
	unsigned	 weights[BT_MAX_SERVERS];
	size_t		 n;
	const char	*period;	/* 'a' = servers[0], ... */
};

static const struct bt_rr_vector bt_rr_vectors[] = {
	{ { 1, 1, 1 }, 3, "abc" },
	{ { 5, 1, 1 }, 3, "aabacaa" },		/* nginx's own example */
	{ { 2, 1 }, 2, "aba" },
	{ { 3, 2 }, 2, "ababa" },
	{ { 1 }, 1, "a" },
	{ { 1, 2, 4 }, 3, "cbcacbc" },
};

START_TEST(test_backend_round_robin_sequence)
{
	const struct bt_rr_vector	*v = &bt_rr_vectors[_i];
	size_t				 i, plen = strlen(v->period);
	unsigned			 counts[BT_MAX_SERVERS] = { 0 };
	int				 got;

	bt_pool("round_robin", v->weights, v->n, NULL);
	for (i = 0; i < 100 * plen; i++) {
		got = bt_pick_one(NULL, 1000);
		ck_assert_msg(got == v->period[i % plen] - 'a',
		    "pick %zu: got %c, want %c (period %s)", i, 'a' + got,
		    v->period[i % plen], v->period);
		counts[got]++;
	}
	for (i = 0; i < v->n; i++)
		ck_assert_uint_eq(counts[i], v->weights[i] * 100);
}
END_TEST

/* Down servers are skipped without disturbing the others' shares. */
START_TEST(test_backend_round_robin_skips_down)
{
	static const unsigned	weights[] = { 1, 1, 1 };
	unsigned		counts[3] = { 0 };
	int			i;

	bt_pool("round_robin", weights, 3, NULL);
	bt_be->servers[1].check_failed = true;
	for (i = 0; i < 300; i++)
		counts[bt_pick_one(NULL, 1000)]++;
	ck_assert_uint_eq(counts[0], 150);
	ck_assert_uint_eq(counts[1], 0);
	ck_assert_uint_eq(counts[2], 150);
}
END_TEST

/*
 * Least connections: the lowest active/weight among eligible servers.
 */
struct bt_lc_vector {
	unsigned	weights[BT_MAX_SERVERS];
	unsigned	active[BT_MAX_SERVERS];
	size_t		n;
	int		want;
};

static const struct bt_lc_vector bt_lc_vectors[] = {
	{ { 1, 1, 1 }, { 2, 0, 1 }, 3, 1 },
	{ { 1, 1, 1 }, { 3, 2, 1 }, 3, 2 },
	{ { 1, 3 }, { 1, 2 }, 2, 1 },		/* 1/1 > 2/3 */
	{ { 1, 2 }, { 1, 3 }, 2, 0 },		/* 1/1 < 3/2 */
	{ { 1, 4 }, { 0, 3 }, 2, 0 },		/* idle beats any load */
	{ { 2, 1, 1 }, { 3, 1, 2 }, 3, 1 },	/* 1.5, 1, 2 */
};

START_TEST(test_backend_least_conn_least_loaded)
{
	const struct bt_lc_vector	*v = &bt_lc_vectors[_i];
	size_t				 i;

	bt_pool("least_conn", v->weights, v->n, NULL);
	for (i = 0; i < v->n; i++)
		bt_be->servers[i].active = v->active[i];
	ck_assert_int_eq(bt_pick_one(NULL, 1000), v->want);
}
END_TEST

/* Equal servers alternate rather than the first taking every session. */
START_TEST(test_backend_least_conn_ties_alternate)
{
	static const unsigned	weights[] = { 1, 1, 1 };
	int			i;

	bt_pool("least_conn", weights, 3, NULL);
	for (i = 0; i < 9; i++)
		ck_assert_int_eq(bt_pick_one(NULL, 1000), i % 3);
}
END_TEST

/* Sessions that stay open spread by weight. */
START_TEST(test_backend_least_conn_open_sessions_by_weight)
{
	static const unsigned	 weights[] = { 1, 2, 3 };
	int			 i, got;

	bt_pool("least_conn", weights, 3, NULL);
	for (i = 0; i < 60; i++) {
		got = bt_pick_one(NULL, 1000);
		backend_session_open(bt_be, &bt_be->servers[got]);
	}
	ck_assert_uint_eq(bt_be->servers[0].active, 10);
	ck_assert_uint_eq(bt_be->servers[1].active, 20);
	ck_assert_uint_eq(bt_be->servers[2].active, 30);
	/* A session ending on server 0 makes it the least loaded. */
	backend_session_close(bt_be, &bt_be->servers[0]);
	ck_assert_int_eq(bt_pick_one(NULL, 1000), 0);
}
END_TEST

/*
 * ip_hash.
 */
static void
bt_sin(struct sockaddr_in *sin, uint32_t addr, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(addr);
	sin->sin_port = htons(port);
}

static void
bt_sin6(struct sockaddr_in6 *sin6, const char *addr, uint16_t port)
{
	memset(sin6, 0, sizeof(*sin6));
	sin6->sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	sin6->sin6_port = htons(port);
}

static const unsigned	bt_ones[BT_MAX_SERVERS] = {
	1, 1, 1, 1, 1, 1, 1, 1
};

START_TEST(test_backend_ip_hash_same_address_same_server)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
	struct sockaddr_un	sun;
	int			first, first6, port;

	bt_pool("ip_hash", bt_ones, 5, NULL);
	bt_sin(&sin, 0xc0000201, 1);			/* 192.0.2.1 */
	first = bt_pick_one((struct sockaddr *)&sin, 1000);
	bt_sin6(&sin6, "2001:db8::1", 1);
	first6 = bt_pick_one((struct sockaddr *)&sin6, 1000);
	for (port = 2; port < 65536; port += 997) {
		bt_sin(&sin, 0xc0000201, (uint16_t)port);
		ck_assert_int_eq(bt_pick_one((struct sockaddr *)&sin, 1000),
		    first);
		bt_sin6(&sin6, "2001:db8::1", (uint16_t)port);
		ck_assert_int_eq(bt_pick_one((struct sockaddr *)&sin6, 1000),
		    first6);
	}
	/* The same client through a dual-stack listener. */
	bt_sin6(&sin6, "::ffff:192.0.2.1", 4242);
	ck_assert_int_eq(bt_pick_one((struct sockaddr *)&sin6, 1000), first);
	/* Unix peers (and unknown clients) hash to 0: the first server. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_int_eq(bt_pick_one((struct sockaddr *)&sun, 1000), 0);
	ck_assert_int_eq(bt_pick_one(NULL, 1000), 0);
}
END_TEST

struct bt_spread_vector {
	int		family;
	size_t		nservers;
};

static const struct bt_spread_vector bt_spread_vectors[] = {
	{ AF_INET, 2 }, { AF_INET, 3 }, { AF_INET, 7 },
	{ AF_INET6, 3 }, { AF_INET6, 8 },
};

/* 1000 neighbouring addresses: every server gets a fair share. */
START_TEST(test_backend_ip_hash_spreads)
{
	const struct bt_spread_vector	*v = &bt_spread_vectors[_i];
	struct sockaddr_storage		 ss;
	struct sockaddr_in6		*sin6 = (struct sockaddr_in6 *)&ss;
	unsigned			 counts[BT_MAX_SERVERS] = { 0 };
	unsigned			 i, fair;

	bt_pool("ip_hash", bt_ones, v->nservers, NULL);
	for (i = 0; i < 1000; i++) {
		if (v->family == AF_INET)
			bt_sin((struct sockaddr_in *)&ss, 0x0a000000 + i,
			    50000);
		else {
			bt_sin6(sin6, "2001:db8::", 50000);
			sin6->sin6_addr.s6_addr[14] = (uint8_t)(i >> 8);
			sin6->sin6_addr.s6_addr[15] = (uint8_t)i;
		}
		counts[bt_pick_one((struct sockaddr *)&ss, 1000)]++;
	}
	fair = 1000 / (unsigned)v->nservers;
	for (i = 0; i < v->nservers; i++)
		ck_assert_msg(counts[i] > fair * 3 / 4 &&
		    counts[i] < fair * 5 / 4, "server %u got %u of 1000 "
		    "(fair share %u)", i, counts[i], fair);
}
END_TEST

/* A down or tried server passes its clients to the next one in order. */
START_TEST(test_backend_ip_hash_walks_forward)
{
	struct sockaddr_in	 sin;
	struct backend_attempt	 a;
	struct backend_server	*srv;
	int			 home;

	bt_pool("ip_hash", bt_ones, 4, NULL);
	bt_sin(&sin, 0xc6336407, 1234);			/* 198.51.100.7 */
	home = bt_pick_one((struct sockaddr *)&sin, 1000);
	bt_be->servers[home].check_failed = true;
	backend_attempt_init(&a, (struct sockaddr *)&sin);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv), BACKEND_PICKED);
	ck_assert_int_eq(bt_index(srv), (home + 1) % 4);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv), BACKEND_PICKED);
	ck_assert_int_eq(bt_index(srv), (home + 2) % 4);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv), BACKEND_PICKED);
	ck_assert_int_eq(bt_index(srv), (home + 3) % 4);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv),
	    BACKEND_EXHAUSTED);
	/* Back up: the client returns home. */
	bt_be->servers[home].check_failed = false;
	ck_assert_int_eq(bt_pick_one((struct sockaddr *)&sin, 1000), home);
}
END_TEST

/*
 * The walk of one session: at most 1 + retries connects, each server at
 * most once, whatever the balance.
 */
struct bt_walk_vector {
	const char	*balance;
	const char	*retries;	/* YAML line, or "" for the default */
	size_t		 nservers;
	unsigned	 picks;		/* before BACKEND_EXHAUSTED */
};

static const struct bt_walk_vector bt_walk_vectors[] = {
	{ "round_robin", "    retries: 1\n", 3, 2 },
	{ "least_conn", "    retries: 1\n", 3, 2 },
	{ "ip_hash", "    retries: 1\n", 3, 2 },
	{ "round_robin", "    retries: 0\n", 3, 1 },
	{ "round_robin", "", 3, 3 },		/* default: nservers - 1 */
	{ "round_robin", "    retries: 10\n", 3, 3 },	/* each once */
	{ "least_conn", "    retries: 10\n", 4, 4 },
	{ "ip_hash", "    retries: 10\n", 5, 5 },
	{ "round_robin", "", 1, 1 },
};

START_TEST(test_backend_retries_bound)
{
	const struct bt_walk_vector	*v = &bt_walk_vectors[_i];
	struct backend_attempt		 a;
	struct backend_server		*srv;
	struct sockaddr_in		 sin;
	uint64_t			 seen = 0;
	unsigned			 i, round;

	bt_pool(v->balance, bt_ones, v->nservers, v->retries);
	/* Several sessions, so round robin starts at different servers. */
	for (round = 0; round < 3; round++) {
		bt_sin(&sin, 0x0a000001 + round, 1);
		backend_attempt_init(&a, (struct sockaddr *)&sin);
		seen = 0;
		for (i = 0; i < v->picks; i++) {
			ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv),
			    BACKEND_PICKED);
			ck_assert_msg((seen & UINT64_C(1) << bt_index(srv)) ==
			    0, "server %d picked twice", bt_index(srv));
			seen |= UINT64_C(1) << bt_index(srv);
			ck_assert_uint_eq(a.count, i + 1);
			ck_assert(a.tried == seen);
		}
		ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv),
		    BACKEND_EXHAUSTED);
		ck_assert_ptr_null(srv);
		ck_assert_uint_eq(a.count, v->picks);
	}
}
END_TEST

/*
 * Passive health.
 */
START_TEST(test_backend_passive_health)
{
	struct backend_server	*s0;
	uint64_t		 t = 5000;
	int			 i;

	bt_pool("round_robin", bt_ones, 3,
	    "    fail_threshold: 2\n    fail_timeout: 10s\n");
	s0 = &bt_be->servers[0];
	ck_assert(backend_server_up(bt_be, s0, t));
	backend_report(bt_be, s0, false, t);
	ck_assert_msg(backend_server_up(bt_be, s0, t), "one failure of two");
	backend_report(bt_be, s0, false, t + 100);
	ck_assert(!backend_server_up(bt_be, s0, t + 100));
	ck_assert(!backend_server_up(bt_be, s0, t + 100 + 10 * BT_SEC - 1));
	for (i = 0; i < 30; i++)
		ck_assert_int_ne(bt_pick_one(NULL, t + 200 + (uint64_t)i), 0);
	/* Rested: one probe is allowed ... */
	t += 100 + 10 * BT_SEC;
	ck_assert(backend_server_up(bt_be, s0, t));
	/* ... and a failed probe rests it again at once. */
	backend_report(bt_be, s0, false, t);
	ck_assert(!backend_server_up(bt_be, s0, t));
	ck_assert(!backend_server_up(bt_be, s0, t + 10 * BT_SEC - 1));
	ck_assert(backend_server_up(bt_be, s0, t + 10 * BT_SEC));
	/* A success ends the streak: two failures are needed again. */
	t += 10 * BT_SEC;
	backend_report(bt_be, s0, true, t);
	ck_assert_uint_eq(s0->fails, 0);
	backend_report(bt_be, s0, false, t);
	ck_assert(backend_server_up(bt_be, s0, t));
	/* Successes in between reset the count. */
	backend_report(bt_be, s0, true, t);
	backend_report(bt_be, s0, false, t);
	ck_assert(backend_server_up(bt_be, s0, t));
}
END_TEST

START_TEST(test_backend_passive_health_off)
{
	int	i;

	bt_pool("round_robin", bt_ones, 2, "    fail_threshold: 0\n");
	for (i = 0; i < 100; i++)
		backend_report(bt_be, &bt_be->servers[0], false, 1000);
	ck_assert(backend_server_up(bt_be, &bt_be->servers[0], 1000));
}
END_TEST

/* As in nginx: a pool of one has nothing to fail over to. */
START_TEST(test_backend_single_server_never_rests)
{
	struct backend_attempt	 a;
	struct backend_server	*srv;

	bt_pool("round_robin", bt_ones, 1, NULL);
	backend_report(bt_be, &bt_be->servers[0], false, 1000);
	backend_report(bt_be, &bt_be->servers[0], false, 1000);
	ck_assert(backend_server_up(bt_be, &bt_be->servers[0], 1000));
	backend_attempt_init(&a, NULL);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv), BACKEND_PICKED);
	/* Active checks still count. */
	bt_be->servers[0].check_failed = true;
	backend_attempt_init(&a, NULL);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv),
	    BACKEND_NONE_HEALTHY);
}
END_TEST

START_TEST(test_backend_none_healthy)
{
	struct backend_attempt	 a;
	struct backend_server	*srv;
	int			 first, second;

	bt_pool("least_conn", bt_ones, 3, NULL);	/* fail_threshold 1 */
	/* A session's first two servers failed; then the third went. */
	backend_attempt_init(&a, NULL);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv), BACKEND_PICKED);
	first = bt_index(srv);
	backend_report(bt_be, srv, false, 1000);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv), BACKEND_PICKED);
	second = bt_index(srv);
	backend_report(bt_be, srv, false, 1000);
	bt_be->servers[3 - first - second].check_failed = true;
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv),
	    BACKEND_NONE_HEALTHY);
	ck_assert_ptr_null(srv);
	backend_attempt_init(&a, NULL);
	ck_assert_int_eq(backend_pick(bt_be, &a, 1000, &srv),
	    BACKEND_NONE_HEALTHY);
	/*
	 * Their rest over, both get probed; then, with servers still up
	 * but all of them tried, the walk is exhausted.
	 */
	ck_assert_int_eq(backend_pick(bt_be, &a, 11000, &srv),
	    BACKEND_PICKED);
	ck_assert_int_ne(bt_index(srv), 3 - first - second);
	ck_assert_int_eq(backend_pick(bt_be, &a, 11000, &srv),
	    BACKEND_PICKED);
	ck_assert_int_ne(bt_index(srv), 3 - first - second);
	ck_assert_int_eq(backend_pick(bt_be, &a, 11000, &srv),
	    BACKEND_EXHAUSTED);
}
END_TEST

START_TEST(test_backend_check_failed_excluded)
{
	int	i;

	bt_pool("round_robin", bt_ones, 3, NULL);
	bt_be->servers[1].check_failed = true;
	ck_assert(!backend_server_up(bt_be, &bt_be->servers[1], 1000));
	for (i = 0; i < 100; i++)
		ck_assert_int_ne(bt_pick_one(NULL, 1000), 1);
}
END_TEST

START_TEST(test_backend_session_count)
{
	struct backend_server	*s0;
	uint64_t		 t0, t1;

	bt_pool("least_conn", bt_ones, 2, NULL);
	s0 = &bt_be->servers[0];
	backend_session_open(bt_be, s0);
	backend_session_open(bt_be, s0);
	ck_assert_uint_eq(s0->active, 2);
	backend_session_close(bt_be, s0);
	backend_session_close(bt_be, s0);
	backend_session_close(bt_be, s0);
	ck_assert_uint_eq(s0->active, 0);
	t0 = backend_now();
	t1 = backend_now();
	ck_assert_uint_ge(t1, t0);
}
END_TEST

/*
 * backend_socket(): the server's address, and a socket ready for a
 * non-blocking connect to it.
 */
START_TEST(test_backend_socket)
{
	struct sockaddr_storage	ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	socklen_t		sslen, len;
	int			fd, one;

	bt_config("    type: tcp\n"
	    "    servers: [\"127.0.0.1:9001\", \"[::1]:9002\", "
	    "\"unix:/run/b.sock\"]\n");

	fd = backend_socket(bt_be, &bt_be->servers[0], &ss, &sslen);
	ck_assert_int_ne(fd, -1);
	ck_assert_uint_eq(sslen, bt_be->servers[0].sslen);
	ck_assert(memcmp(&ss, &bt_be->servers[0].ss, sslen) == 0);
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	len = sizeof(one);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &len),
	    0);
	ck_assert_int_ne(one, 0);
	close(fd);

	fd = backend_socket(bt_be, &bt_be->servers[1], &ss, &sslen);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(ss.ss_family, AF_INET6);
	ck_assert_uint_eq(sslen, sizeof(struct sockaddr_in6));
	close(fd);

	fd = backend_socket(bt_be, &bt_be->servers[2], &ss, &sslen);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(ss.ss_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/run/b.sock");
	ck_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}
END_TEST

/*
 * Two threads share one pool, as the daemon's workers do: each picks,
 * reports, opens and closes, keeping a few sessions open so that
 * least_conn sees load.  Check's assertions are not thread-safe: the
 * threads only count, the test thread asserts once they are joined.
 */
#define BT_THREADS		2
#define BT_THREAD_ROUNDS	100000
#define BT_THREAD_OPEN		8	/* sessions a thread keeps open */

struct bt_thread {
	pthread_t	 tid;
	unsigned	 picked[BT_MAX_SERVERS];
	unsigned	 refused;	/* picks that found no server */
};

static void *
bt_thread_main(void *arg)
{
	struct bt_thread	*t = arg;
	struct backend_server	*open[BT_THREAD_OPEN] = { NULL }, *srv;
	struct backend_attempt	 a;
	unsigned		 i, slot;

	for (i = 0; i < BT_THREAD_ROUNDS; i++) {
		slot = i % BT_THREAD_OPEN;
		if (open[slot] != NULL) {
			backend_session_close(bt_be, open[slot]);
			open[slot] = NULL;
		}
		backend_attempt_init(&a, NULL);
		if (backend_pick(bt_be, &a, 1000 + i, &srv) !=
		    BACKEND_PICKED) {
			t->refused++;
			continue;
		}
		t->picked[bt_index(srv)]++;
		backend_report(bt_be, srv, true, 1000 + i);
		backend_session_open(bt_be, srv);
		open[slot] = srv;
	}
	for (slot = 0; slot < BT_THREAD_OPEN; slot++)
		if (open[slot] != NULL)
			backend_session_close(bt_be, open[slot]);
	return NULL;
}

/*
 * Runs the threads on bt_be; *picked gets each server's picks by both.
 * Every session closed, so every count is 0; and smooth round robin
 * keeps its current weights summing to 0 (each pick adds the total of
 * the weights it considered and takes it back from the winner), which a
 * lost update would break.
 */
static void
bt_threads_run(unsigned *picked)
{
	struct bt_thread	t[BT_THREADS];
	size_t			i, j;
	int			sum = 0;

	memset(t, 0, sizeof(t));
	for (i = 0; i < BT_THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i].tid, NULL,
		    bt_thread_main, &t[i]), 0);
	for (i = 0; i < BT_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i].tid, NULL), 0);
	memset(picked, 0, BT_MAX_SERVERS * sizeof(*picked));
	for (i = 0; i < BT_THREADS; i++) {
		ck_assert_uint_eq(t[i].refused, 0);
		for (j = 0; j < bt_be->nservers; j++)
			picked[j] += t[i].picked[j];
	}
	for (j = 0; j < bt_be->nservers; j++) {
		ck_assert_msg(bt_be->servers[j].active == 0, "server %zu: "
		    "%u sessions left open", j, bt_be->servers[j].active);
		ck_assert_uint_eq(bt_be->servers[j].fails, 0);
		sum += bt_be->servers[j].current_weight;
	}
	ck_assert_int_eq(sum, 0);
}

/*
 * Round robin: the lock makes the picks of both threads one smooth
 * sequence, so their sum is exactly the first 2 * BT_THREAD_ROUNDS
 * picks of nginx's 5, 1, 1 sequence, and the next ones go on with it.
 */
START_TEST(test_backend_threads_round_robin)
{
	static const unsigned	 weights[] = { 5, 1, 1 };
	static const char	 period[] = "aabacaa";
	unsigned		 picked[BT_MAX_SERVERS], want[3] = { 0 };
	unsigned		 counts[3] = { 0 };
	size_t			 i, plen = sizeof(period) - 1;
	size_t			 n = BT_THREADS * BT_THREAD_ROUNDS;

	bt_pool("round_robin", weights, 3, NULL);
	bt_threads_run(picked);
	for (i = 0; i < 3; i++)
		want[i] = weights[i] * (unsigned)(n / plen);
	for (i = 0; i < n % plen; i++)
		want[period[i] - 'a']++;
	for (i = 0; i < 3; i++)
		ck_assert_msg(picked[i] == want[i], "server %zu: %u picks, "
		    "want %u", i, picked[i], want[i]);
	for (i = 0; i < 100 * plen; i++) {
		ck_assert_int_eq(bt_pick_one(NULL, 1000),
		    period[(n + i) % plen] - 'a');
		counts[period[(n + i) % plen] - 'a']++;
	}
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(counts[i], weights[i] * 100);
}
END_TEST

/*
 * least_conn: which server each pick gets depends on the interleaving,
 * but not the counts: afterwards, sessions that stay open still spread
 * exactly by weight.
 */
START_TEST(test_backend_threads_least_conn)
{
	static const unsigned	 weights[] = { 1, 2, 3 };
	unsigned		 picked[BT_MAX_SERVERS];
	int			 i;

	bt_pool("least_conn", weights, 3, NULL);
	bt_threads_run(picked);
	ck_assert_uint_eq(picked[0] + picked[1] + picked[2],
	    BT_THREADS * BT_THREAD_ROUNDS);
	for (i = 0; i < 60; i++)
		backend_session_open(bt_be,
		    &bt_be->servers[bt_pick_one(NULL, 1000)]);
	ck_assert_uint_eq(bt_be->servers[0].active, 10);
	ck_assert_uint_eq(bt_be->servers[1].active, 20);
	ck_assert_uint_eq(bt_be->servers[2].active, 30);
}
END_TEST

/*
 * Run time, over a real event loop.
 */

/* Keeps EVLOOP_ONCE returning, so that the deadline is checked. */
static void
bt_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Runs bt_base until done(arg) or BT_DEADLINE_MS; returns done(arg). */
static bool
bt_run_until(bool (*done)(void *), void *arg)
{
	struct event	*tick;
	struct timeval	 tv = { 0, 10000 };
	uint64_t	 deadline = backend_now() + BT_DEADLINE_MS;

	tick = event_new(bt_base, -1, EV_PERSIST, bt_tick_cb, NULL);
	ck_assert_ptr_nonnull(tick);
	event_add(tick, &tv);
	while (!done(arg) && backend_now() < deadline)
		event_base_loop(bt_base, EVLOOP_ONCE);
	event_free(tick);
	return done(arg);
}

/* Runs bt_base for ms milliseconds. */
static void
bt_run_for(uint64_t ms)
{
	struct timeval	tv = { 0, (suseconds_t)(ms * 1000) };

	event_base_loopexit(bt_base, &tv);
	event_base_dispatch(bt_base);
}

struct bt_wait_failed {
	const struct backend_server	*srv;
	bool				 want;
};

static bool
bt_check_failed_is(void *arg)
{
	const struct bt_wait_failed	*w = arg;

	return w->srv->check_failed == w->want;
}

static void
bt_expect_check_failed(const struct backend_server *srv, bool want)
{
	struct bt_wait_failed	w = { srv, want };

	ck_assert_msg(bt_run_until(bt_check_failed_is, &w),
	    "server %s: check_failed stayed %d", srv->address, !want);
}

/* A listening loopback TCP socket; its port in *port. */
static int
bt_listen_tcp(unsigned *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	bt_sin(&sin, INADDR_LOOPBACK, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* A loopback port nothing listens on (bound, then closed). */
static unsigned
bt_closed_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	bt_sin(&sin, INADDR_LOOPBACK, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
bt_runtime_setup(void)
{
	bt_setup();
	bt_base = event_base_new();
	ck_assert_ptr_nonnull(bt_base);
}

/* tcp: a connect that succeeds (TCP and unix) or is refused. */
enum bt_tcp_kind {
	BT_TCP_LISTENING,
	BT_TCP_CLOSED,
	BT_UNIX_LISTENING,
	BT_UNIX_MISSING
};

static const enum bt_tcp_kind bt_tcp_vectors[] = {
	BT_TCP_LISTENING, BT_TCP_CLOSED, BT_UNIX_LISTENING, BT_UNIX_MISSING
};

static int
bt_listen_unix(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(fd, -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	unlink(path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	return fd;
}

START_TEST(test_backend_check_tcp)
{
	enum bt_tcp_kind	 kind = bt_tcp_vectors[_i];
	char			 addr[128];
	unsigned		 port;
	int			 fd = -1;
	bool			 up;

	switch (kind) {
	case BT_TCP_LISTENING:
		fd = bt_listen_tcp(&port);
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
		break;
	case BT_TCP_CLOSED:
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", bt_closed_port());
		break;
	case BT_UNIX_LISTENING:
	case BT_UNIX_MISSING:
		snprintf(addr, sizeof(addr), "/tmp/check_backend.%ld.sock",
		    (long)getpid());
		if (kind == BT_UNIX_LISTENING)
			fd = bt_listen_unix(addr);
		else
			unlink(addr);
		memmove(addr + 5, addr, strlen(addr) + 1);
		memcpy(addr, "unix:", 5);
		break;
	}
	up = kind == BT_TCP_LISTENING || kind == BT_UNIX_LISTENING;
	bt_config("    type: tcp\n"
	    "    servers: [\"%s\", \"127.0.0.1:%u\"]\n"
	    "    health_check: { interval: 1s, timeout: 1s }\n", addr,
	    bt_closed_port());
	/* Start from the opposite verdict, so that a change is seen. */
	bt_be->servers[0].check_failed = up;
	ck_assert_int_eq(backend_runtime_start(bt_cfg, bt_base, NULL), 0);
	ck_assert_ptr_nonnull(bt_be->runtime);
	bt_expect_check_failed(&bt_be->servers[0], !up);
	bt_expect_check_failed(&bt_be->servers[1], true);
	backend_runtime_stop(bt_cfg);
	ck_assert_ptr_null(bt_be->runtime);
	if (fd != -1)
		close(fd);
	if (kind == BT_UNIX_LISTENING)
		unlink(addr + 5);
}
END_TEST

/* An accepted connection that never answers: the timeout decides. */
START_TEST(test_backend_check_timeout)
{
	unsigned	port;
	int		fd;
	uint64_t	start;

	fd = bt_listen_tcp(&port);
	bt_config("    type: websocket\n"
	    "    servers: [\"127.0.0.1:%u\"]\n"
	    "    health_check: { interval: 1s, timeout: 100ms }\n", port);
	start = backend_now();
	ck_assert_int_eq(backend_runtime_start(bt_cfg, bt_base, NULL), 0);
	bt_expect_check_failed(&bt_be->servers[0], true);
	/* libevent's clock is coarse: a few ms of slack. */
	ck_assert_uint_ge(backend_now() - start, 90);
	close(fd);
}
END_TEST

/*
 * websocket: a small server on the event loop answers the check's
 * opening handshake as the vector says.
 */
enum bt_ws_reply {
	BT_WS_GOOD,		/* a correct 101 */
	BT_WS_BAD_ACCEPT,	/* 101 with the wrong Sec-WebSocket-Accept */
	BT_WS_NO_ACCEPT,
	BT_WS_NO_UPGRADE,
	BT_WS_FORBIDDEN,	/* 403 */
	BT_WS_GARBAGE,		/* not HTTP */
	BT_WS_CLOSE		/* closes without answering */
};

struct bt_ws_vector {
	enum bt_ws_reply	 reply;
	bool			 up;
};

static const struct bt_ws_vector bt_ws_vectors[] = {
	{ BT_WS_GOOD, true },
	{ BT_WS_BAD_ACCEPT, false },
	{ BT_WS_NO_ACCEPT, false },
	{ BT_WS_NO_UPGRADE, false },
	{ BT_WS_FORBIDDEN, false },
	{ BT_WS_GARBAGE, false },
	{ BT_WS_CLOSE, false },
};

struct bt_ws_server {
	enum bt_ws_reply	 reply;
	int			 lfd;
	struct event		*accept_ev;
	struct bufferevent	*bev;
	bool			 answered;
	bool			 got_close;	/* the check's close frame */
	char			 target[64];
	char			 host[64];
	bool			 upgrade_ok;
	bool			 version_ok;
	bool			 key_ok;
};

static void
bt_ws_respond(struct bt_ws_server *ws, const struct http_request *req)
{
	struct evbuffer			*out = bufferevent_get_output(ws->bev);
	const struct http_header	*h;
	char				 accept[HANDSHAKE_ACCEPT_LEN + 1];

	snprintf(ws->target, sizeof(ws->target), "%.*s",
	    (int)req->target_len, req->target);
	if ((h = http_find_header(&req->fields, "Host", NULL)) != NULL)
		snprintf(ws->host, sizeof(ws->host), "%.*s",
		    (int)h->value_len, h->value);
	ws->upgrade_ok = http_header_has_token(&req->fields, "Upgrade",
	    "websocket") && http_header_has_token(&req->fields,
	    "Connection", "upgrade");
	h = http_find_header(&req->fields, "Sec-WebSocket-Version", NULL);
	ws->version_ok = h != NULL && h->value_len == 2 &&
	    memcmp(h->value, "13", 2) == 0;
	h = http_find_header(&req->fields, "Sec-WebSocket-Key", NULL);
	ws->key_ok = h != NULL && handshake_key_valid(h->value, h->value_len);
	if (h != NULL)
		handshake_accept_key(h->value, h->value_len, accept);
	else
		strcpy(accept, "x");
	if (ws->reply == BT_WS_BAD_ACCEPT)
		accept[0] = accept[0] == 'A' ? 'B' : 'A';
	switch (ws->reply) {
	case BT_WS_GOOD:
	case BT_WS_BAD_ACCEPT:
		evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
		break;
	case BT_WS_NO_ACCEPT:
		evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
		    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
		break;
	case BT_WS_NO_UPGRADE:
		evbuffer_add_printf(out, "HTTP/1.1 101 Switching Protocols\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
		break;
	case BT_WS_FORBIDDEN:
		evbuffer_add_printf(out, "HTTP/1.1 403 Forbidden\r\n"
		    "Content-Length: 0\r\n\r\n");
		break;
	case BT_WS_GARBAGE:
		evbuffer_add_printf(out, "SSH-2.0-OpenSSH_9.2\r\n");
		break;
	case BT_WS_CLOSE:
		break;
	}
}

static void
bt_ws_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bt_ws_server	*ws = arg;

	(void)bev;
	(void)what;
	bufferevent_free(ws->bev);
	ws->bev = NULL;
}

static void
bt_ws_read_cb(struct bufferevent *bev, void *arg)
{
	struct bt_ws_server	*ws = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct http_request	 req;
	const char		*errstr;
	const uint8_t		*p;
	size_t			 len = evbuffer_get_length(in);
	int			 status;

	p = evbuffer_pullup(in, -1);
	if (ws->answered) {
		/* RFC 6455 §5.5.1: a masked close frame, code 1001. */
		if (len >= 8 && p[0] == 0x88 && p[1] == 0x82 &&
		    (p[6] ^ p[2]) == 0x03 && (p[7] ^ p[3]) == 0xe9)
			ws->got_close = true;
		evbuffer_drain(in, len);
		return;
	}
	switch (http_parse_request((const char *)p, len, 8192, &req, &status,
	    &errstr)) {
	case HTTP_PARSE_NEED_MORE:
		return;
	case HTTP_PARSE_ERROR:
		ck_abort_msg("health check request: %s", errstr);
		return;
	case HTTP_PARSE_OK:
		break;
	}
	ws->answered = true;
	bt_ws_respond(ws, &req);
	evbuffer_drain(in, req.head_len);
	if (ws->reply == BT_WS_CLOSE) {
		bufferevent_free(ws->bev);
		ws->bev = NULL;
	}
}

static void
bt_ws_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct bt_ws_server	*ws = arg;
	int			 fd;

	(void)what;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1)
		return;
	if (ws->bev != NULL)
		bufferevent_free(ws->bev);
	ws->answered = false;
	ws->bev = bufferevent_socket_new(bt_base, fd, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(ws->bev);
	bufferevent_setcb(ws->bev, bt_ws_read_cb, NULL, bt_ws_event_cb, ws);
	bufferevent_enable(ws->bev, EV_READ);
}

static bool
bt_ws_closed(void *arg)
{
	const struct bt_ws_server	*ws = arg;

	return ws->got_close;
}

START_TEST(test_backend_check_websocket)
{
	const struct bt_ws_vector	*v = &bt_ws_vectors[_i];
	struct bt_ws_server		 ws;
	unsigned			 port;
	char				 want_host[32];

	memset(&ws, 0, sizeof(ws));
	ws.reply = v->reply;
	ws.lfd = bt_listen_tcp(&port);
	ws.accept_ev = event_new(bt_base, ws.lfd, EV_READ | EV_PERSIST,
	    bt_ws_accept_cb, &ws);
	ck_assert_ptr_nonnull(ws.accept_ev);
	event_add(ws.accept_ev, NULL);
	bt_config("    type: websocket\n"
	    "    servers: [\"127.0.0.1:%u\"]\n"
	    "    health_check: { interval: 1s, timeout: 1s, path: /health }\n",
	    port);
	bt_be->servers[0].check_failed = v->up;
	ck_assert_int_eq(backend_runtime_start(bt_cfg, bt_base, NULL), 0);
	bt_expect_check_failed(&bt_be->servers[0], !v->up);
	ck_assert(ws.answered);
	ck_assert_str_eq(ws.target, "/health");
	snprintf(want_host, sizeof(want_host), "127.0.0.1:%u", port);
	ck_assert_str_eq(ws.host, want_host);
	ck_assert(ws.upgrade_ok);
	ck_assert(ws.version_ok);
	ck_assert(ws.key_ok);
	if (v->up)
		ck_assert_msg(bt_run_until(bt_ws_closed, &ws),
		    "no close frame after a passed check");
	backend_runtime_stop(bt_cfg);
	if (ws.bev != NULL)
		bufferevent_free(ws.bev);
	event_free(ws.accept_ev);
	close(ws.lfd);
}
END_TEST

/* The backend's host, when set, is the Host of the check. */
START_TEST(test_backend_check_websocket_host)
{
	struct bt_ws_server	ws;
	unsigned		port;

	memset(&ws, 0, sizeof(ws));
	ws.reply = BT_WS_GOOD;
	ws.lfd = bt_listen_tcp(&port);
	ws.accept_ev = event_new(bt_base, ws.lfd, EV_READ | EV_PERSIST,
	    bt_ws_accept_cb, &ws);
	event_add(ws.accept_ev, NULL);
	bt_config("    type: websocket\n"
	    "    servers: [\"127.0.0.1:%u\"]\n"
	    "    host: app.internal\n"
	    "    health_check: { interval: 1s }\n", port);
	bt_be->servers[0].check_failed = true;
	ck_assert_int_eq(backend_runtime_start(bt_cfg, bt_base, NULL), 0);
	bt_expect_check_failed(&bt_be->servers[0], false);
	ck_assert_str_eq(ws.host, "app.internal");
	ck_assert_str_eq(ws.target, "/");		/* the default path */
	backend_runtime_stop(bt_cfg);
	if (ws.bev != NULL)
		bufferevent_free(ws.bev);
	event_free(ws.accept_ev);
	close(ws.lfd);
}
END_TEST

/* Nothing to run: no runtime, nothing to free; twice is harmless. */
START_TEST(test_backend_runtime_without_checks)
{
	struct evdns_base	*dns;
	size_t			 i;

	bt_config("    type: tcp\n"
	    "    servers: [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]\n");
	dns = evdns_base_new(bt_base, 0);
	ck_assert_ptr_nonnull(dns);
	ck_assert_int_eq(backend_runtime_start(bt_cfg, bt_base, dns), 0);
	for (i = 0; i < bt_cfg->nbackends; i++)
		ck_assert_ptr_null(bt_cfg->backends[i].runtime);
	bt_run_for(20);
	backend_runtime_stop(bt_cfg);
	backend_runtime_stop(bt_cfg);
	evdns_base_free(dns, 0);
}
END_TEST

START_TEST(test_backend_runtime_echo_only)
{
	char	*errors = NULL;
	static const char yaml[] =
	    "listen:\n"
	    "  - address: 127.0.0.1:8080\n"
	    "routes:\n"
	    "  - match: { path: / }\n"
	    "    backend: echo\n";

	bt_cfg = config_parse("echo.yaml", yaml, sizeof(yaml) - 1, &errors);
	ck_assert_ptr_nonnull(bt_cfg);
	ck_assert_int_eq(backend_runtime_start(bt_cfg, bt_base, NULL), 0);
	ck_assert_ptr_null(bt_cfg->backends[0].runtime);
	bt_run_for(10);
	backend_runtime_stop(bt_cfg);
}
END_TEST

/*
 * Re-resolution: server 0's name is in evdns's hosts file and now points
 * elsewhere; server 1's name goes to a nameserver that never answers, so
 * its look-up is still pending when the runtime stops and must be
 * cancelled without its callback touching freed memory.
 */
static bool
bt_resolved(void *arg)
{
	const struct backend_server	*srv = arg;
	const struct sockaddr_in	*sin;

	sin = (const struct sockaddr_in *)(const void *)&srv->ss;
	return sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
}

static void
bt_set_name(struct backend_server *srv, const char *host, unsigned port)
{
	char	buf[16];

	snprintf(buf, sizeof(buf), "%u", port);
	free(srv->host);
	free(srv->port);
	srv->host = strdup(host);
	srv->port = strdup(buf);
	ck_assert(srv->host != NULL && srv->port != NULL);
}

START_TEST(test_backend_resolve)
{
	struct evdns_base	*dns;
	struct sockaddr_in	 sin, *cur;
	socklen_t		 len = sizeof(sin);
	char			 hosts[] = "/tmp/check_backend.hosts.XXXXXX";
	char			 ns[32];
	FILE			*fp;
	int			 fd, udp;

	/* A nameserver that never answers. */
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(udp, -1);
	bt_sin(&sin, INADDR_LOOPBACK, 0);
	ck_assert_int_eq(bind(udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(udp, (struct sockaddr *)&sin, &len), 0);
	snprintf(ns, sizeof(ns), "127.0.0.1:%u", ntohs(sin.sin_port));
	ck_assert_int_ne(fd = mkstemp(hosts), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fprintf(fp, "127.0.0.1 a.wsgate.test\n");
	fclose(fp);
	dns = evdns_base_new(bt_base, 0);
	ck_assert_ptr_nonnull(dns);
	ck_assert_int_eq(evdns_base_nameserver_ip_add(dns, ns), 0);
	ck_assert_int_eq(evdns_base_load_hosts(dns, hosts), 0);
	unlink(hosts);

	bt_config("    type: tcp\n"
	    "    servers: [\"127.0.0.1:9001\", \"127.0.0.1:9002\"]\n"
	    "    resolve_interval: 1s\n");
	bt_set_name(&bt_be->servers[0], "a.wsgate.test", 9001);
	bt_set_name(&bt_be->servers[1], "b.wsgate.test", 9002);
	/* Where a.wsgate.test used to point. */
	cur = (struct sockaddr_in *)&bt_be->servers[0].ss;
	bt_sin(cur, 0x7f000009, 9001);
	ck_assert_int_eq(backend_runtime_start(bt_cfg, bt_base, dns), 0);
	ck_assert_msg(bt_run_until(bt_resolved, &bt_be->servers[0]),
	    "a.wsgate.test was not re-resolved");
	ck_assert_int_eq(cur->sin_family, AF_INET);
	ck_assert_uint_eq(ntohs(cur->sin_port), 9001);
	ck_assert_uint_eq(bt_be->servers[0].sslen, sizeof(*cur));
	/* Server 1 kept its address while its look-up is pending. */
	ck_assert(bt_resolved(&bt_be->servers[1]));

	backend_runtime_stop(bt_cfg);
	ck_assert_ptr_null(bt_be->runtime);
	/* Let the cancelled look-up's callback run (and free its state). */
	bt_run_for(50);
	evdns_base_free(dns, 0);
	close(udp);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("backend");

	tc = tcase_create("balance");
	tcase_add_checked_fixture(tc, bt_setup, bt_teardown);
	tcase_add_loop_test(tc, test_backend_round_robin_sequence, 0,
	    BT_NELEM(bt_rr_vectors));
	tcase_add_test(tc, test_backend_round_robin_skips_down);
	tcase_add_loop_test(tc, test_backend_least_conn_least_loaded, 0,
	    BT_NELEM(bt_lc_vectors));
	tcase_add_test(tc, test_backend_least_conn_ties_alternate);
	tcase_add_test(tc, test_backend_least_conn_open_sessions_by_weight);
	tcase_add_test(tc, test_backend_ip_hash_same_address_same_server);
	tcase_add_loop_test(tc, test_backend_ip_hash_spreads, 0,
	    BT_NELEM(bt_spread_vectors));
	tcase_add_test(tc, test_backend_ip_hash_walks_forward);
	tcase_add_loop_test(tc, test_backend_retries_bound, 0,
	    BT_NELEM(bt_walk_vectors));
	tcase_add_test(tc, test_backend_session_count);
	suite_add_tcase(s, tc);

	tc = tcase_create("passive health");
	tcase_add_checked_fixture(tc, bt_setup, bt_teardown);
	tcase_add_test(tc, test_backend_passive_health);
	tcase_add_test(tc, test_backend_passive_health_off);
	tcase_add_test(tc, test_backend_single_server_never_rests);
	tcase_add_test(tc, test_backend_none_healthy);
	tcase_add_test(tc, test_backend_check_failed_excluded);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, bt_setup, bt_teardown);
	tcase_add_test(tc, test_backend_socket);
	suite_add_tcase(s, tc);

	/* Generous: sanitizers and valgrind slow contended locks a lot. */
	tc = tcase_create("threads");
	tcase_add_checked_fixture(tc, bt_setup, bt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_backend_threads_round_robin);
	tcase_add_test(tc, test_backend_threads_least_conn);
	suite_add_tcase(s, tc);

	tc = tcase_create("runtime");
	tcase_add_checked_fixture(tc, bt_runtime_setup, bt_teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_backend_check_tcp, 0,
	    BT_NELEM(bt_tcp_vectors));
	tcase_add_test(tc, test_backend_check_timeout);
	tcase_add_loop_test(tc, test_backend_check_websocket, 0,
	    BT_NELEM(bt_ws_vectors));
	tcase_add_test(tc, test_backend_check_websocket_host);
	tcase_add_test(tc, test_backend_runtime_without_checks);
	tcase_add_test(tc, test_backend_runtime_echo_only);
	tcase_add_test(tc, test_backend_resolve);
	suite_add_tcase(s, tc);

	return s;
}
