/*
 * check_config — unit tests of the wsgate.yaml loader (DESIGN.md
 * "Configuration", STYLE.md §6): every parsed field of a valid file, the
 * defaults, the bounds of every limit, backend pools (websocket backends,
 * weights, unix servers, balancing, retries, health), workers, the
 * reference count from two threads, and every error message, each as
 * the exact "file:line:col: path: message" lines an operator reads.
 * A file with several errors must report all of them.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <check.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "config.h"
#include "check_main.h"

#define NAME	"test.yaml"

/* A listener and a route, for vectors about the other sections. */
#define CFG_LISTEN	"listen:\n  - address: 127.0.0.1:8080\n"
#define CFG_ROUTES	"routes:\n  - match: { path: / }\n    backend: echo\n"
#define CFG_BACKEND_B	"backends:\n" \
			"  b: { type: tcp, servers: [\"127.0.0.1:9000\"] }\n"

/* A backend b, then its keys under test from line 10, column 5. */
#define CFG_B_TCP	CFG_LISTEN CFG_ROUTES "backends:\n  b:\n" \
			"    type: tcp\n    servers: [\"127.0.0.1:1\"]\n"
#define CFG_B_WS	CFG_LISTEN CFG_ROUTES "backends:\n  b:\n" \
			"    type: websocket\n    servers: [\"127.0.0.1:1\"]\n"

/* A list of trusted proxies, and the error of a listener without one. */
#define CFG_TRUSTED	"trusted_proxies: [10.0.0.0/8]\n"
#define PP_NEEDS	"proxy_protocol needs trusted_proxies: the addresses " \
			"of the load balancers allowed to send it"

#define KiB	(1024ULL)
#define MiB	(1024ULL * 1024)
#define GiB	(1024ULL * 1024 * 1024)
#define SEC	(1000ULL)

static char	config_test_unset[] = "unset";

/* Parses text: a config and no errors, or errors and no config. */
static struct config *
config_test_parse(const char *text, char **errors)
{
	struct config	*cfg;

	*errors = config_test_unset;
	cfg = config_parse(NAME, text, strlen(text), errors);
	if (cfg != NULL)
		ck_assert_msg(*errors == NULL, "errors with a config: %s",
		    *errors == config_test_unset ? "(unset)" : *errors);
	else
		ck_assert_msg(*errors != NULL && *errors != config_test_unset,
		    "no errors without a config");
	return cfg;
}

/* Parses text that must be valid. */
static struct config *
config_test_valid(const char *text)
{
	struct config	*cfg;
	char		*errors;

	cfg = config_test_parse(text, &errors);
	ck_assert_msg(cfg != NULL, "unexpected errors:\n%s", errors);
	return cfg;
}

static size_t
config_test_lines(const char *text)
{
	size_t	n = 0;

	for (; *text != '\0'; text++)
		if (*text == '\n')
			n++;
	return n;
}

static void
config_check_inet(const struct sockaddr_storage *ss, socklen_t sslen,
    const char *addr, unsigned port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	struct in_addr			 want;

	ck_assert_int_eq(ss->ss_family, AF_INET);
	ck_assert_uint_eq(sslen, sizeof(struct sockaddr_in));
	ck_assert_int_eq(inet_pton(AF_INET, addr, &want), 1);
	ck_assert_msg(sin->sin_addr.s_addr == want.s_addr, "address of %s",
	    addr);
	ck_assert_uint_eq(ntohs(sin->sin_port), port);
}

static void
config_check_inet6(const struct sockaddr_storage *ss, socklen_t sslen,
    const char *addr, unsigned port)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr			 want;

	ck_assert_int_eq(ss->ss_family, AF_INET6);
	ck_assert_uint_eq(sslen, sizeof(struct sockaddr_in6));
	ck_assert_int_eq(inet_pton(AF_INET6, addr, &want), 1);
	ck_assert_msg(memcmp(&sin6->sin6_addr, &want, sizeof(want)) == 0,
	    "address of %s", addr);
	ck_assert_uint_eq(ntohs(sin6->sin6_port), port);
}

/*
 * Valid files.
 */
static const char config_full_yaml[] =
	"# every section, every key\n"
	"listen:\n"
	"  - address: 127.0.0.1:8080\n"
	"  - address: \"[::1]:8443\"\n"
	"workers: 3\n"
	"log:\n"
	"  level: debug\n"
	"limits:\n"
	"  handshake_timeout: 250ms\n"
	"  max_request_head: 16KiB\n"
	"  max_message: 1MiB\n"
	"  buffer_high_watermark: 64KiB\n"
	"  ping_interval: 1m\n"
	"  pong_timeout: 20s\n"
	"  idle_timeout: 1h\n"
	"  close_timeout: 2s\n"
	"backends:\n"
	"  vnc:\n"
	"    type: tcp\n"
	"    servers: [\"127.0.0.1:5900\", \"[::1]:5901\"]\n"
	"    balance: round_robin\n"
	"    connect_timeout: 3s\n"
	"  chat:\n"
	"    type: tcp\n"
	"    servers:\n"
	"      - 10.0.0.5:8080\n"
	"routes:\n"
	"  - match: { host: chat.example.com, path: /ws }\n"
	"    origins: [\"https://chat.example.com\", "
	    "\"https://www.chat.example.com\"]\n"
	"    backend: chat\n"
	"  - match: { path_exact: /vnc, subprotocol: binary }\n"
	"    subprotocols: [binary, base64]\n"
	"    frames: text\n"
	"    backend: vnc\n"
	"  - match:\n"
	"      path: /echo\n"
	"    backend: echo\n"
	"  - match: { path: /raw }\n"
	"    frames: binary\n"
	"    backend: vnc\n";

START_TEST(test_config_full)
{
	struct config		*cfg;
	const struct backend	*echo, *vnc, *chat;
	const struct route	*rt;

	cfg = config_test_valid(config_full_yaml);
	ck_assert_uint_eq(atomic_load(&cfg->refcnt), 1);
	ck_assert_str_eq(cfg->path, NAME);

	ck_assert_uint_eq(cfg->nlistens, 2);
	ck_assert_str_eq(cfg->listens[0].address, "127.0.0.1:8080");
	config_check_inet(&cfg->listens[0].ss, cfg->listens[0].sslen,
	    "127.0.0.1", 8080);
	ck_assert_str_eq(cfg->listens[1].address, "[::1]:8443");
	config_check_inet6(&cfg->listens[1].ss, cfg->listens[1].sslen,
	    "::1", 8443);

	ck_assert_uint_eq(cfg->workers, 3);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_DEBUG);

	ck_assert_uint_eq(cfg->limits.handshake_timeout, 250);
	ck_assert_uint_eq(cfg->limits.max_request_head, 16 * KiB);
	ck_assert_uint_eq(cfg->limits.max_message, 1 * MiB);
	ck_assert_uint_eq(cfg->limits.buffer_high_watermark, 64 * KiB);
	ck_assert_uint_eq(cfg->limits.ping_interval, 60 * SEC);
	ck_assert_uint_eq(cfg->limits.pong_timeout, 20 * SEC);
	ck_assert_uint_eq(cfg->limits.idle_timeout, 3600 * SEC);
	ck_assert_uint_eq(cfg->limits.close_timeout, 2 * SEC);

	/* The built-in echo first, then the file's in file order. */
	ck_assert_uint_eq(cfg->nbackends, 3);
	echo = &cfg->backends[0];
	ck_assert_str_eq(echo->name, CONFIG_ECHO_BACKEND);
	ck_assert_int_eq(echo->type, BACKEND_ECHO);
	ck_assert_uint_eq(echo->nservers, 0);
	vnc = &cfg->backends[1];
	ck_assert_str_eq(vnc->name, "vnc");
	ck_assert_int_eq(vnc->type, BACKEND_TCP);
	ck_assert_uint_eq(vnc->connect_timeout, 3 * SEC);
	ck_assert_uint_eq(vnc->retries, 1);
	ck_assert_uint_eq(vnc->fail_threshold, 1);
	ck_assert_uint_eq(vnc->fail_timeout, 10 * SEC);
	ck_assert_uint_eq(vnc->handshake_timeout, 3 * SEC);
	ck_assert_int_eq(vnc->balance, BALANCE_ROUND_ROBIN);
	ck_assert_uint_eq(vnc->nservers, 2);
	ck_assert_str_eq(vnc->servers[0].address, "127.0.0.1:5900");
	config_check_inet(&vnc->servers[0].ss, vnc->servers[0].sslen,
	    "127.0.0.1", 5900);
	ck_assert_str_eq(vnc->servers[1].address, "[::1]:5901");
	config_check_inet6(&vnc->servers[1].ss, vnc->servers[1].sslen,
	    "::1", 5901);
	chat = &cfg->backends[2];
	ck_assert_str_eq(chat->name, "chat");
	ck_assert_int_eq(chat->type, BACKEND_TCP);
	ck_assert_uint_eq(chat->connect_timeout, 5 * SEC);
	ck_assert_uint_eq(chat->nservers, 1);
	ck_assert_str_eq(chat->servers[0].address, "10.0.0.5:8080");
	config_check_inet(&chat->servers[0].ss, chat->servers[0].sslen,
	    "10.0.0.5", 8080);

	ck_assert_ptr_eq(config_find_backend(cfg, "echo"), echo);
	ck_assert_ptr_eq(config_find_backend(cfg, "vnc"), vnc);
	ck_assert_ptr_eq(config_find_backend(cfg, "chat"), chat);
	ck_assert_ptr_null(config_find_backend(cfg, "Chat"));
	ck_assert_ptr_null(config_find_backend(cfg, "nope"));

	ck_assert_uint_eq(cfg->nroutes, 4);
	rt = &cfg->routes[0];
	ck_assert_str_eq(rt->host, "chat.example.com");
	ck_assert_str_eq(rt->path, "/ws");
	ck_assert(!rt->path_exact);
	ck_assert_ptr_null(rt->subprotocol);
	ck_assert_uint_eq(rt->norigins, 2);
	ck_assert_str_eq(rt->origins[0], "https://chat.example.com");
	ck_assert_str_eq(rt->origins[1], "https://www.chat.example.com");
	ck_assert_ptr_null(rt->subprotocols);
	ck_assert_uint_eq(rt->nsubprotocols, 0);
	ck_assert_ptr_eq(rt->be, chat);
	ck_assert_int_eq(rt->frames, ROUTE_FRAMES_BINARY);

	rt = &cfg->routes[1];
	ck_assert_ptr_null(rt->host);
	ck_assert_str_eq(rt->path, "/vnc");
	ck_assert(rt->path_exact);
	ck_assert_str_eq(rt->subprotocol, "binary");
	ck_assert_ptr_null(rt->origins);
	ck_assert_uint_eq(rt->norigins, 0);
	ck_assert_uint_eq(rt->nsubprotocols, 2);
	ck_assert_str_eq(rt->subprotocols[0], "binary");
	ck_assert_str_eq(rt->subprotocols[1], "base64");
	ck_assert_ptr_eq(rt->be, vnc);
	ck_assert_int_eq(rt->frames, ROUTE_FRAMES_TEXT);

	rt = &cfg->routes[2];
	ck_assert_ptr_null(rt->host);
	ck_assert_str_eq(rt->path, "/echo");
	ck_assert(!rt->path_exact);
	ck_assert_ptr_eq(rt->be, echo);
	ck_assert_int_eq(rt->frames, ROUTE_FRAMES_BINARY);

	rt = &cfg->routes[3];
	ck_assert_str_eq(rt->path, "/raw");
	ck_assert_ptr_eq(rt->be, vnc);
	ck_assert_int_eq(rt->frames, ROUTE_FRAMES_BINARY);

	config_unref(cfg);
}
END_TEST

START_TEST(test_config_defaults)
{
	struct config	*cfg;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES);
	ck_assert_int_eq(cfg->listens[0].proxy_protocol, CONFIG_PROXY_OFF);
	ck_assert_ptr_null(cfg->trusted_proxies);
	ck_assert_uint_eq(cfg->ntrusted_proxies, 0);
	ck_assert_uint_eq(cfg->workers, CONFIG_WORKERS_AUTO);
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(cfg->limits.handshake_timeout, 10 * SEC);
	ck_assert_uint_eq(cfg->limits.tls_handshake_timeout, 5 * SEC);
	ck_assert_uint_eq(cfg->limits.max_request_head, 8 * KiB);
	ck_assert_uint_eq(cfg->limits.max_message, 16 * MiB);
	ck_assert_uint_eq(cfg->limits.buffer_high_watermark, 1 * MiB);
	ck_assert_uint_eq(cfg->limits.ping_interval, 30 * SEC);
	ck_assert_uint_eq(cfg->limits.pong_timeout, 15 * SEC);
	ck_assert_uint_eq(cfg->limits.idle_timeout, 0);
	ck_assert_uint_eq(cfg->limits.close_timeout, 5 * SEC);
	ck_assert_uint_eq(cfg->nbackends, 1);
	ck_assert_str_eq(cfg->backends[0].name, CONFIG_ECHO_BACKEND);
	ck_assert_int_eq(cfg->backends[0].type, BACKEND_ECHO);
	ck_assert_uint_eq(cfg->nroutes, 1);
	ck_assert_ptr_null(cfg->routes[0].host);
	ck_assert_str_eq(cfg->routes[0].path, "/");
	ck_assert_ptr_eq(cfg->routes[0].be, &cfg->backends[0]);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_empty_sections)
{
	struct config	*cfg;

	/* Empty mappings keep every default; an empty match is any. */
	cfg = config_test_valid(CFG_LISTEN "log: {}\nlimits: {}\n"
	    "backends: {}\nroutes:\n  - match: {}\n    backend: echo\n");
	ck_assert_int_eq(cfg->log_level, LOG_LEVEL_INFO);
	ck_assert_uint_eq(cfg->limits.handshake_timeout, 10 * SEC);
	ck_assert_uint_eq(cfg->nbackends, 1);
	ck_assert_ptr_null(cfg->routes[0].host);
	ck_assert_ptr_null(cfg->routes[0].path);
	ck_assert_ptr_null(cfg->routes[0].subprotocol);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_section_order)
{
	struct config	*cfg;

	/* Routes may name a backend defined further down. */
	cfg = config_test_valid("routes:\n  - match: { path: / }\n"
	    "    backend: b\n" CFG_BACKEND_B CFG_LISTEN);
	ck_assert_uint_eq(cfg->nbackends, 2);
	ck_assert_ptr_eq(cfg->routes[0].be, &cfg->backends[1]);
	ck_assert_str_eq(cfg->routes[0].be->name, "b");
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_listen_port_zero)
{
	struct config	*cfg;

	/* Port 0: the kernel picks one (listener.c logs it; tests use it). */
	cfg = config_test_valid("listen:\n  - address: 127.0.0.1:0\n"
	    CFG_ROUTES);
	ck_assert_uint_eq(cfg->nlistens, 1);
	config_check_inet(&cfg->listens[0].ss, cfg->listens[0].sslen,
	    "127.0.0.1", 0);
	config_unref(cfg);
}
END_TEST

struct config_workers_vector {
	const char	*value;
	unsigned	 workers;
};

static const struct config_workers_vector config_workers_vectors[] = {
	{ "auto", CONFIG_WORKERS_AUTO },
	{ "\"auto\"", CONFIG_WORKERS_AUTO },
	{ "1", 1 },
	{ "4", 4 },
	{ "\"8\"", 8 },
	{ "64", 64 },
};

START_TEST(test_config_workers)
{
	const struct config_workers_vector	*v;
	struct config				*cfg;
	char					 text[256];

	v = &config_workers_vectors[_i];
	snprintf(text, sizeof(text), CFG_LISTEN CFG_ROUTES "workers: %s\n",
	    v->value);
	cfg = config_test_valid(text);
	ck_assert_msg(cfg->workers == v->workers, "workers: %s: %u, want %u",
	    v->value, cfg->workers, v->workers);
	config_unref(cfg);
}
END_TEST

/* Reload: what a route does, and which routes a new file keeps. */
START_TEST(test_config_on_reload)
{
	struct config	*a, *b;
	const char	*base = CFG_LISTEN "backends:\n"
	    "  t: { type: tcp, servers: [\"127.0.0.1:1\"] }\n"
	    "routes:\n"
	    "  - match: { path: /a }\n    backend: echo\n"
	    "  - match: { path: /b }\n    backend: t\n"
	    "    on_reload: drain\n    drain_timeout: 2s\n";
	const char	*changed = CFG_LISTEN "backends:\n"
	    "  t: { type: tcp, servers: [\"127.0.0.1:2\"] }\n"
	    "routes:\n"
	    "  - match: { path: /b }\n    backend: t\n"
	    "    on_reload: drain\n    drain_timeout: 2s\n"
	    "  - match: { path: /a }\n    backend: echo\n";

	a = config_test_valid(base);
	ck_assert_int_eq(a->routes[0].on_reload, ROUTE_RELOAD_KEEP);
	ck_assert_uint_eq(a->routes[0].drain_timeout, CONFIG_DRAIN_TIMEOUT);
	ck_assert_int_eq(a->routes[1].on_reload, ROUTE_RELOAD_DRAIN);
	ck_assert_uint_eq(a->routes[1].drain_timeout, 2000);
	/* The same text: every route kept, wherever it is in the list. */
	b = config_test_valid(base);
	ck_assert(config_has_route(b, a->routes[0].fingerprint));
	ck_assert(config_has_route(b, a->routes[1].fingerprint));
	config_unref(b);
	/* /a moved but unchanged; /b's backend changed: /b is not kept. */
	b = config_test_valid(changed);
	ck_assert(config_has_route(b, a->routes[0].fingerprint));
	ck_assert(!config_has_route(b, a->routes[1].fingerprint));
	config_unref(b);
	config_unref(a);
}
END_TEST

START_TEST(test_config_log)
{
	struct config	*cfg;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES);
	ck_assert_int_eq(cfg->log_format, LOG_FORMAT_TEXT);
	ck_assert(cfg->log_access);
	ck_assert(!cfg->log_query);
	config_unref(cfg);
	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES
	    "log: { format: json, access: false, query: true }\n");
	ck_assert_int_eq(cfg->log_format, LOG_FORMAT_JSON);
	ck_assert(!cfg->log_access);
	ck_assert(cfg->log_query);
	config_unref(cfg);
}
END_TEST

/* Looked up at load: root is in every passwd and group file. */
START_TEST(test_config_user_group)
{
	struct config	*cfg;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES);
	ck_assert_ptr_null(cfg->user);
	ck_assert_ptr_null(cfg->group);
	config_unref(cfg);

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES "user: root\n");
	ck_assert_str_eq(cfg->user, "root");
	ck_assert_ptr_null(cfg->group);
	ck_assert_int_eq(cfg->uid, 0);
	ck_assert_int_eq(cfg->gid, 0);
	config_unref(cfg);

	/* group: before or after user:, it wins over the primary group. */
	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES
	    "group: daemon\nuser: root\n");
	ck_assert_str_eq(cfg->group, "daemon");
	ck_assert_int_eq(cfg->gid, getgrnam("daemon")->gr_gid);
	config_unref(cfg);
	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES
	    "user: root\ngroup: daemon\n");
	ck_assert_int_eq(cfg->gid, getgrnam("daemon")->gr_gid);
	config_unref(cfg);
}
END_TEST

struct config_level_vector {
	const char	*name;
	enum log_level	 level;
};

static const struct config_level_vector config_level_vectors[] = {
	{ "error", LOG_LEVEL_ERROR },
	{ "warn", LOG_LEVEL_WARN },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
};

START_TEST(test_config_log_level)
{
	const struct config_level_vector	*v = &config_level_vectors[_i];
	struct config				*cfg;
	char					 text[256];

	snprintf(text, sizeof(text), CFG_LISTEN CFG_ROUTES "log:\n"
	    "  level: %s\n", v->name);
	cfg = config_test_valid(text);
	ck_assert_int_eq(cfg->log_level, v->level);
	config_unref(cfg);
}
END_TEST

/*
 * Every limit at its bounds (and 0 where it means "off") is accepted.
 */
struct config_bound_vector {
	const char	*line;		/* "key: value" under limits */
	size_t		 offset;	/* in struct config_limits */
	uint64_t	 value;
};

#define LIMIT(f)	offsetof(struct config_limits, f)

static const struct config_bound_vector config_bound_vectors[] = {
	{ "handshake_timeout: 100ms", LIMIT(handshake_timeout), 100 },
	{ "handshake_timeout: 10m", LIMIT(handshake_timeout), 600 * SEC },
	{ "tls_handshake_timeout: 100ms", LIMIT(tls_handshake_timeout), 100 },
	{ "shutdown_timeout: 1h", LIMIT(shutdown_timeout), 3600 * SEC },
	{ "tls_handshake_timeout: 10m", LIMIT(tls_handshake_timeout),
	  600 * SEC },
	{ "max_request_head: 1KiB", LIMIT(max_request_head), 1 * KiB },
	{ "max_request_head: 1024", LIMIT(max_request_head), 1 * KiB },
	{ "max_request_head: 1MiB", LIMIT(max_request_head), 1 * MiB },
	{ "max_message: 1", LIMIT(max_message), 1 },
	{ "max_message: 1B", LIMIT(max_message), 1 },
	{ "max_message: 1GiB", LIMIT(max_message), 1 * GiB },
	{ "buffer_high_watermark: 4KiB", LIMIT(buffer_high_watermark),
	    4 * KiB },
	{ "buffer_high_watermark: 1GiB\n  max_connection_memory: 4GiB",
	    LIMIT(buffer_high_watermark), 1 * GiB },
	{ "max_connection_memory: 4GiB", LIMIT(max_connection_memory),
	    4 * GiB },
	{ "buffer_high_watermark: 4KiB\n  max_connection_memory: 272KiB\n"
	    "  max_request_head: 1KiB", LIMIT(max_connection_memory),
	    272 * KiB },
	{ "max_headers: 8", LIMIT(max_headers), 8 },
	{ "max_headers: 128", LIMIT(max_headers), 128 },
	{ "max_connections: 1", LIMIT(max_connections), 1 },
	{ "max_connections: 10000000", LIMIT(max_connections), 10000000 },
	{ "max_connections_per_ip: 0", LIMIT(max_connections_per_ip), 0 },
	{ "max_connections_per_ip: 1", LIMIT(max_connections_per_ip), 1 },
	{ "handshake_rate: 0", LIMIT(handshake_rate), 0 },
	{ "handshake_rate: 1000000", LIMIT(handshake_rate), 1000000 },
	{ "handshake_rate: 20", LIMIT(handshake_burst), 20 },
	{ "handshake_rate: 20\n  handshake_burst: 50", LIMIT(handshake_burst),
	    50 },
	{ "message_rate: 100", LIMIT(message_burst), 100 },
	{ "message_rate: 100\n  message_burst: 1", LIMIT(message_burst), 1 },
	{ "max_lifetime: 0", LIMIT(max_lifetime), 0 },
	{ "max_lifetime: 1s", LIMIT(max_lifetime), 1 * SEC },
	{ "max_lifetime: 8760h", LIMIT(max_lifetime), 8760 * 3600 * SEC },
	{ "ping_interval: 0", LIMIT(ping_interval), 0 },
	{ "ping_interval: 1s\n  pong_timeout: 10s", LIMIT(ping_interval),
	    1 * SEC },
	{ "ping_interval: 1h", LIMIT(ping_interval), 3600 * SEC },
	{ "ping_interval: 60m", LIMIT(ping_interval), 3600 * SEC },
	{ "pong_timeout: 100ms", LIMIT(pong_timeout), 100 },
	{ "pong_timeout: 5m", LIMIT(pong_timeout), 300 * SEC },
	{ "idle_timeout: 0", LIMIT(idle_timeout), 0 },
	{ "idle_timeout: 0s", LIMIT(idle_timeout), 0 },
	{ "idle_timeout: 1s", LIMIT(idle_timeout), 1 * SEC },
	{ "idle_timeout: 168h", LIMIT(idle_timeout), 168 * 3600 * SEC },
	{ "close_timeout: 100ms", LIMIT(close_timeout), 100 },
	{ "close_timeout: 1m", LIMIT(close_timeout), 60 * SEC },
};

/* A route's limits: its own keys, the global values for the others. */
START_TEST(test_config_route_limits)
{
	struct config		*cfg;
	const struct route	*a, *b;

	cfg = config_test_valid(CFG_LISTEN "routes:\n"
	    "  - match: { path: /a }\n    backend: echo\n"
	    "    limits: { max_message: 1KiB, message_rate: 5,"
	    " max_lifetime: 1h, idle_timeout: 30s }\n"
	    "  - match: { path: /b }\n    backend: echo\n"
	    "limits:\n  max_message: 2MiB\n  message_rate: 100\n"
	    "  message_burst: 300\n  ping_interval: 5s\n");
	a = &cfg->routes[0];
	b = &cfg->routes[1];
	ck_assert_uint_eq(a->limits.max_message, 1 * KiB);
	ck_assert_uint_eq(a->limits.message_rate, 5);
	/* Its own rate without a burst: one second of its rate. */
	ck_assert_uint_eq(a->limits.message_burst, 5);
	ck_assert_uint_eq(a->limits.max_lifetime, 3600 * SEC);
	ck_assert_uint_eq(a->limits.idle_timeout, 30 * SEC);
	ck_assert_uint_eq(a->limits.ping_interval, 5 * SEC);
	ck_assert_uint_eq(a->limits.max_connections, 100000);
	ck_assert_uint_eq(b->limits.max_message, 2 * MiB);
	ck_assert_uint_eq(b->limits.message_rate, 100);
	ck_assert_uint_eq(b->limits.message_burst, 300);
	ck_assert_uint_eq(b->limits.max_lifetime, 0);
	ck_assert(memcmp(&b->limits, &cfg->limits, sizeof(cfg->limits)) == 0);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_limit_bounds)
{
	const struct config_bound_vector	*v = &config_bound_vectors[_i];
	struct config				*cfg;
	char					 text[256];
	uint64_t				 got;

	snprintf(text, sizeof(text), CFG_LISTEN CFG_ROUTES "limits:\n"
	    "  %s\n", v->line);
	cfg = config_test_valid(text);
	memcpy(&got, (const char *)&cfg->limits + v->offset, sizeof(got));
	ck_assert_msg(got == v->value, "%s: %llu, want %llu", v->line,
	    (unsigned long long)got, (unsigned long long)v->value);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_connect_timeout_bounds)
{
	struct config	*cfg;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  lo: { type: tcp, servers: [\"127.0.0.1:1\"], "
	    "connect_timeout: 100ms }\n"
	    "  hi: { type: tcp, servers: [\"127.0.0.1:1\"], "
	    "connect_timeout: 5m }\n");
	ck_assert_uint_eq(config_find_backend(cfg, "lo")->connect_timeout,
	    100);
	ck_assert_uint_eq(config_find_backend(cfg, "hi")->connect_timeout,
	    300 * SEC);
	config_unref(cfg);
}
END_TEST

/*
 * WebSocket backends and pools: every key, and the defaults.
 */
static const char config_websocket_yaml[] =
	CFG_LISTEN
	"backends:\n"
	"  app:\n"
	"    type: websocket\n"
	"    servers:\n"
	"      - \"127.0.0.1:8081\"\n"
	"      - { address: \"[::1]:8082\", weight: 5 }\n"
	"      - address: unix:/run/app.sock\n"
	"        weight: 100\n"
	"    balance: least_conn\n"
	"    connect_timeout: 2s\n"
	"    handshake_timeout: 7s\n"
	"    retries: 1\n"
	"    fail_threshold: 3\n"
	"    fail_timeout: 30s\n"
	"    resolve_interval: 0\n"
	"    health_check:\n"
	"      interval: 1s\n"
	"      timeout: 500ms\n"
	"      path: /health?probe=1\n"
	"    host: app.internal:8081\n"
	"    path: /app\n"
	"routes:\n"
	"  - match: { path: /stomp }\n"
	"    strip_prefix: true\n"
	"    origins: same\n"
	"    subprotocols: [v12.stomp]\n"
	"    backend: app\n"
	"  - match: { path_exact: /x }\n"
	"    strip_prefix: false\n"
	"    origins: [\"https://a.example\"]\n"
	"    backend: app\n"
	"  - match: { path_exact: /y }\n"
	"    strip_prefix: true\n"
	"    backend: echo\n";

START_TEST(test_config_websocket_backend)
{
	struct config			*cfg;
	const struct backend		*be;
	const struct backend_server	*srv;
	const struct sockaddr_un	*sun;
	const struct route		*rt;

	cfg = config_test_valid(config_websocket_yaml);
	ck_assert_uint_eq(cfg->nbackends, 2);
	be = config_find_backend(cfg, "app");
	ck_assert_ptr_eq(be, &cfg->backends[1]);
	ck_assert_int_eq(be->type, BACKEND_WEBSOCKET);
	ck_assert_int_eq(be->balance, BALANCE_LEAST_CONN);
	ck_assert_uint_eq(be->connect_timeout, 2 * SEC);
	ck_assert_uint_eq(be->handshake_timeout, 7 * SEC);
	ck_assert_uint_eq(be->retries, 1);
	ck_assert_uint_eq(be->fail_threshold, 3);
	ck_assert_uint_eq(be->fail_timeout, 30 * SEC);
	ck_assert_uint_eq(be->resolve_interval, 0);
	ck_assert_uint_eq(be->health_check.interval, 1 * SEC);
	ck_assert_uint_eq(be->health_check.timeout, 500);
	ck_assert_str_eq(be->health_check.path, "/health?probe=1");
	ck_assert_str_eq(be->host, "app.internal:8081");
	ck_assert_str_eq(be->path, "/app");

	ck_assert_uint_eq(be->nservers, 3);
	srv = &be->servers[0];
	ck_assert_str_eq(srv->address, "127.0.0.1:8081");
	config_check_inet(&srv->ss, srv->sslen, "127.0.0.1", 8081);
	ck_assert_uint_eq(srv->weight, 1);
	ck_assert_ptr_null(srv->host);
	ck_assert_ptr_null(srv->port);
	srv = &be->servers[1];
	ck_assert_str_eq(srv->address, "[::1]:8082");
	config_check_inet6(&srv->ss, srv->sslen, "::1", 8082);
	ck_assert_uint_eq(srv->weight, 5);
	ck_assert_ptr_null(srv->host);
	ck_assert_ptr_null(srv->port);
	srv = &be->servers[2];
	ck_assert_str_eq(srv->address, "unix:/run/app.sock");
	sun = (const struct sockaddr_un *)&srv->ss;
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/run/app.sock");
	ck_assert_uint_eq(srv->sslen, sizeof(struct sockaddr_un));
	ck_assert_uint_eq(srv->weight, 100);
	ck_assert_ptr_null(srv->host);
	ck_assert_ptr_null(srv->port);

	ck_assert_uint_eq(cfg->nroutes, 3);
	rt = &cfg->routes[0];
	ck_assert_str_eq(rt->path, "/stomp");
	ck_assert(rt->strip_prefix);
	ck_assert(rt->origin_same);
	ck_assert_ptr_null(rt->origins);
	ck_assert_uint_eq(rt->norigins, 0);
	ck_assert_uint_eq(rt->nsubprotocols, 1);
	ck_assert_str_eq(rt->subprotocols[0], "v12.stomp");
	ck_assert_ptr_eq(rt->be, be);
	rt = &cfg->routes[1];
	ck_assert(rt->path_exact);
	ck_assert(!rt->strip_prefix);
	ck_assert(!rt->origin_same);
	ck_assert_uint_eq(rt->norigins, 1);
	ck_assert_str_eq(rt->origins[0], "https://a.example");
	rt = &cfg->routes[2];
	ck_assert(rt->path_exact);
	ck_assert(rt->strip_prefix);
	ck_assert_ptr_eq(rt->be, &cfg->backends[0]);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_backend_defaults)
{
	struct config		*cfg;
	const struct backend	*be;
	const struct route	*rt;
	size_t			 i;

	cfg = config_test_valid(CFG_LISTEN "backends:\n"
	    "  b:\n    type: websocket\n"
	    "    servers: [\"127.0.0.1:1\", \"127.0.0.1:2\", \"[::1]:3\"]\n"
	    "routes:\n  - match: { path: / }\n    backend: b\n");
	be = config_find_backend(cfg, "b");
	ck_assert_ptr_nonnull(be);
	ck_assert_int_eq(be->type, BACKEND_WEBSOCKET);
	ck_assert_int_eq(be->balance, BALANCE_ROUND_ROBIN);
	ck_assert_uint_eq(be->connect_timeout, 5 * SEC);
	/* handshake_timeout: connect_timeout; retries: every other server. */
	ck_assert_uint_eq(be->handshake_timeout, 5 * SEC);
	ck_assert_uint_eq(be->retries, 2);
	ck_assert_uint_eq(be->fail_threshold, 1);
	ck_assert_uint_eq(be->fail_timeout, 10 * SEC);
	ck_assert_uint_eq(be->resolve_interval, 60 * SEC);
	/* No health_check key: no active checks. */
	ck_assert_uint_eq(be->health_check.interval, 0);
	ck_assert_uint_eq(be->health_check.timeout, 0);
	ck_assert_ptr_null(be->health_check.path);
	ck_assert_ptr_null(be->host);
	ck_assert_ptr_null(be->path);
	ck_assert_int_eq(be->proxy_protocol, CONFIG_PROXY_OFF);
	ck_assert_uint_eq(be->nservers, 3);
	for (i = 0; i < be->nservers; i++)
		ck_assert_uint_eq(be->servers[i].weight, 1);
	rt = &cfg->routes[0];
	ck_assert(!rt->strip_prefix);
	ck_assert(!rt->origin_same);
	ck_assert_ptr_null(rt->origins);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_handshake_timeout_default)
{
	struct config	*cfg;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  a: { type: websocket, servers: [\"127.0.0.1:1\"], "
	    "connect_timeout: 250ms }\n"
	    "  b: { type: websocket, servers: [\"127.0.0.1:1\"], "
	    "connect_timeout: 250ms, handshake_timeout: 3s }\n"
	    "  c: { handshake_timeout: 4s, type: websocket, "
	    "servers: [\"127.0.0.1:1\"], connect_timeout: 1s }\n");
	ck_assert_uint_eq(config_find_backend(cfg, "a")->handshake_timeout,
	    250);
	ck_assert_uint_eq(config_find_backend(cfg, "b")->handshake_timeout,
	    3 * SEC);
	/* Key order does not matter. */
	ck_assert_uint_eq(config_find_backend(cfg, "c")->handshake_timeout,
	    4 * SEC);
	ck_assert_uint_eq(config_find_backend(cfg, "c")->connect_timeout,
	    1 * SEC);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_health_check_defaults)
{
	struct config		*cfg;
	const struct backend	*be;

	cfg = config_test_valid(CFG_B_WS "    health_check: {}\n");
	be = config_find_backend(cfg, "b");
	ck_assert_uint_eq(be->health_check.interval, 5 * SEC);
	ck_assert_uint_eq(be->health_check.timeout, 2 * SEC);
	ck_assert_str_eq(be->health_check.path, "/");
	config_unref(cfg);

	cfg = config_test_valid(CFG_B_WS "    health_check: { timeout: 1s }\n");
	be = config_find_backend(cfg, "b");
	ck_assert_uint_eq(be->health_check.interval, 5 * SEC);
	ck_assert_uint_eq(be->health_check.timeout, 1 * SEC);
	ck_assert_str_eq(be->health_check.path, "/");
	config_unref(cfg);

	/* tcp backends are checked by connecting: same keys. */
	cfg = config_test_valid(CFG_B_TCP "    health_check:\n"
	    "      interval: 10s\n");
	be = config_find_backend(cfg, "b");
	ck_assert_int_eq(be->type, BACKEND_TCP);
	ck_assert_uint_eq(be->health_check.interval, 10 * SEC);
	ck_assert_uint_eq(be->health_check.timeout, 2 * SEC);
	config_unref(cfg);
}
END_TEST

struct config_balance_vector {
	const char		*type;
	const char		*name;
	enum backend_balance	 balance;
};

static const struct config_balance_vector config_balance_vectors[] = {
	{ "tcp", "round_robin", BALANCE_ROUND_ROBIN },
	{ "tcp", "least_conn", BALANCE_LEAST_CONN },
	{ "tcp", "ip_hash", BALANCE_IP_HASH },
	{ "websocket", "round_robin", BALANCE_ROUND_ROBIN },
	{ "websocket", "least_conn", BALANCE_LEAST_CONN },
	{ "websocket", "ip_hash", BALANCE_IP_HASH },
};

START_TEST(test_config_balance)
{
	const struct config_balance_vector	*v;
	struct config				*cfg;
	const struct backend			*be;
	char					 text[512];

	v = &config_balance_vectors[_i];
	snprintf(text, sizeof(text), CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  b: { type: %s, servers: [\"127.0.0.1:1\"], balance: %s }\n",
	    v->type, v->name);
	cfg = config_test_valid(text);
	be = config_find_backend(cfg, "b");
	ck_assert_int_eq(be->type, strcmp(v->type, "tcp") == 0 ?
	    BACKEND_TCP : BACKEND_WEBSOCKET);
	ck_assert_int_eq(be->balance, v->balance);
	config_unref(cfg);
}
END_TEST

/*
 * Every new backend key at its bounds: "key: value" lines under
 * backends.b (a websocket backend with one server).
 */
struct config_backend_bound_vector {
	const char	*lines;
	size_t		 offset;	/* in struct backend */
	bool		 is_unsigned;	/* else uint64_t */
	uint64_t	 value;
};

#define BE(f)	offsetof(struct backend, f)

static const struct config_backend_bound_vector
    config_backend_bound_vectors[] = {
	{ "handshake_timeout: 100ms", BE(handshake_timeout), false, 100 },
	{ "handshake_timeout: 5m", BE(handshake_timeout), false, 300 * SEC },
	{ "retries: 0", BE(retries), true, 0 },
	{ "retries: 63", BE(retries), true, 63 },
	{ "retries: 007", BE(retries), true, 7 },
	{ "fail_threshold: 0", BE(fail_threshold), true, 0 },
	{ "fail_threshold: 100", BE(fail_threshold), true, 100 },
	{ "fail_timeout: 1s", BE(fail_timeout), false, 1 * SEC },
	{ "fail_timeout: 1h", BE(fail_timeout), false, 3600 * SEC },
	{ "resolve_interval: 0", BE(resolve_interval), false, 0 },
	{ "resolve_interval: 0s", BE(resolve_interval), false, 0 },
	{ "resolve_interval: 1s", BE(resolve_interval), false, 1 * SEC },
	{ "resolve_interval: 24h", BE(resolve_interval), false,
	    24 * 3600 * SEC },
	{ "health_check: { interval: 100ms }", BE(health_check.interval),
	    false, 100 },
	{ "health_check: { interval: 1h }", BE(health_check.interval),
	    false, 3600 * SEC },
	{ "health_check: { timeout: 100ms }", BE(health_check.timeout),
	    false, 100 },
	{ "health_check: { timeout: 1m }", BE(health_check.timeout), false,
	    60 * SEC },
};

START_TEST(test_config_backend_bounds)
{
	const struct config_backend_bound_vector *v =
	    &config_backend_bound_vectors[_i];
	struct config				*cfg;
	char					 text[512];
	const char				*field;
	uint64_t				 got;
	unsigned				 u;

	snprintf(text, sizeof(text), CFG_B_WS "    %s\n", v->lines);
	cfg = config_test_valid(text);
	field = (const char *)config_find_backend(cfg, "b") + v->offset;
	if (v->is_unsigned) {
		memcpy(&u, field, sizeof(u));
		got = u;
	} else
		memcpy(&got, field, sizeof(got));
	ck_assert_msg(got == v->value, "%s: %llu, want %llu", v->lines,
	    (unsigned long long)got, (unsigned long long)v->value);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_weight_bounds)
{
	struct config		*cfg;
	const struct backend	*be;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES "backends:\n  b:\n"
	    "    type: tcp\n    servers:\n"
	    "      - { address: 127.0.0.1:1, weight: 1 }\n"
	    "      - { weight: 100, address: 127.0.0.1:2 }\n"
	    "      - { address: 127.0.0.1:3 }\n"
	    "      - 127.0.0.1:4\n");
	be = config_find_backend(cfg, "b");
	ck_assert_uint_eq(be->nservers, 4);
	ck_assert_uint_eq(be->servers[0].weight, 1);
	ck_assert_uint_eq(be->servers[1].weight, 100);
	ck_assert_str_eq(be->servers[1].address, "127.0.0.1:2");
	ck_assert_uint_eq(be->servers[2].weight, 1);
	ck_assert_uint_eq(be->servers[3].weight, 1);
	ck_assert_uint_eq(be->retries, 3);
	config_unref(cfg);
}
END_TEST

/* A backend b of n servers 127.0.0.1:1..n, as a list of strings. */
static char *
config_test_pool(size_t n, const char *extra)
{
	char	*text;
	size_t	 i, len, size = 1024 + n * 32;

	text = malloc(size);
	ck_assert_ptr_nonnull(text);
	len = (size_t)snprintf(text, size, CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  b:\n    type: websocket\n%s    servers:\n", extra);
	for (i = 1; i <= n; i++)
		len += (size_t)snprintf(text + len, size - len,
		    "      - 127.0.0.1:%zu\n", i);
	ck_assert_uint_lt(len, size);
	return text;
}

/* retries defaults to every other server once: nservers - 1. */
static const size_t config_pool_sizes[] = { 1, 2, 3, 10, 63, 64 };

START_TEST(test_config_retries_default)
{
	struct config		*cfg;
	const struct backend	*be;
	char			*text;
	size_t			 n = config_pool_sizes[_i];

	text = config_test_pool(n, "");
	cfg = config_test_valid(text);
	free(text);
	be = config_find_backend(cfg, "b");
	ck_assert_uint_eq(be->nservers, n);
	ck_assert_uint_eq(be->retries, n - 1);
	config_check_inet(&be->servers[n - 1].ss, be->servers[n - 1].sslen,
	    "127.0.0.1", (unsigned)n);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_retries_explicit)
{
	struct config	*cfg;
	char		*text;

	/* An explicit value wins, even above nservers - 1. */
	text = config_test_pool(3, "    retries: 10\n");
	cfg = config_test_valid(text);
	free(text);
	ck_assert_uint_eq(config_find_backend(cfg, "b")->retries, 10);
	config_unref(cfg);
	text = config_test_pool(3, "    retries: 0\n");
	cfg = config_test_valid(text);
	free(text);
	ck_assert_uint_eq(config_find_backend(cfg, "b")->retries, 0);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_strip_prefix)
{
	struct config	*cfg;

	cfg = config_test_valid(CFG_LISTEN "routes:\n"
	    "  - match: { path: /a }\n    strip_prefix: true\n"
	    "    backend: echo\n"
	    "  - match: { path_exact: /b }\n    strip_prefix: true\n"
	    "    backend: echo\n"
	    "  - match: { host: c.example }\n    strip_prefix: false\n"
	    "    backend: echo\n");
	ck_assert(cfg->routes[0].strip_prefix);
	ck_assert(cfg->routes[1].strip_prefix);
	ck_assert(cfg->routes[1].path_exact);
	ck_assert(!cfg->routes[2].strip_prefix);
	config_unref(cfg);
}
END_TEST

/*
 * PROXY protocol and trusted_proxies.
 */
struct config_proxy_vector {
	const char			*value;		/* as written */
	enum config_proxy_protocol	 want;
	bool				 backend;	/* allowed there too */
};

static const struct config_proxy_vector config_proxy_vectors[] = {
	{ "false", CONFIG_PROXY_OFF, true },
	{ "\"false\"", CONFIG_PROXY_OFF, true },
	{ "'false'", CONFIG_PROXY_OFF, true },
	{ "v1", CONFIG_PROXY_V1, true },
	{ "\"v1\"", CONFIG_PROXY_V1, true },
	{ "v2", CONFIG_PROXY_V2, true },
	{ "auto", CONFIG_PROXY_AUTO, false },
};

START_TEST(test_config_listen_proxy_protocol)
{
	const struct config_proxy_vector	*v = &config_proxy_vectors[_i];
	struct config				*cfg;
	char					 text[512];

	snprintf(text, sizeof(text), "listen:\n"
	    "  - address: 127.0.0.1:8080\n    proxy_protocol: %s\n"
	    "  - address: 127.0.0.1:8081\n"
	    CFG_ROUTES "trusted_proxies: [10.0.0.0/8]\n", v->value);
	cfg = config_test_valid(text);
	ck_assert_int_eq(cfg->listens[0].proxy_protocol, v->want);
	ck_assert_int_eq(cfg->listens[1].proxy_protocol, CONFIG_PROXY_OFF);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_backend_proxy_protocol)
{
	const struct config_proxy_vector	*v = &config_proxy_vectors[_i];
	struct config				*cfg;
	char					 text[512];

	if (!v->backend)
		return;
	/* No trusted_proxies needed: a backend only sends the header. */
	snprintf(text, sizeof(text), CFG_B_TCP "    proxy_protocol: %s\n",
	    v->value);
	cfg = config_test_valid(text);
	ck_assert_int_eq(config_find_backend(cfg, "b")->proxy_protocol,
	    v->want);
	ck_assert_int_eq(cfg->listens[0].proxy_protocol, CONFIG_PROXY_OFF);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_websocket_proxy_protocol_off)
{
	struct config	*cfg;

	/* Off is the default: saying so is no error on any backend. */
	cfg = config_test_valid(CFG_B_WS "    proxy_protocol: false\n");
	ck_assert_int_eq(config_find_backend(cfg, "b")->proxy_protocol,
	    CONFIG_PROXY_OFF);
	config_unref(cfg);
}
END_TEST

static void
config_check_cidr(const struct cidr *c, int family, const char *addr,
    unsigned prefix)
{
	uint8_t	want[16];

	memset(want, 0, sizeof(want));
	ck_assert_int_eq(c->family, family);
	ck_assert_int_eq(inet_pton(family, addr, want), 1);
	ck_assert_msg(memcmp(c->addr, want, sizeof(want)) == 0, "%s", addr);
	ck_assert_uint_eq(c->prefix, prefix);
}

START_TEST(test_config_trusted_proxies)
{
	struct config	*cfg;

	/* Keys in any order: trusted_proxies may come after listen. */
	cfg = config_test_valid("listen:\n"
	    "  - { address: 127.0.0.1:8080, proxy_protocol: auto }\n"
	    CFG_ROUTES "trusted_proxies:\n"
	    "  - 10.0.0.0/8\n"
	    "  - 192.0.2.7\n"
	    "  - \"2001:db8::/32\"\n"
	    "  - \"::1\"\n"
	    "  - 0.0.0.0/0\n");
	ck_assert_int_eq(cfg->listens[0].proxy_protocol, CONFIG_PROXY_AUTO);
	ck_assert_uint_eq(cfg->ntrusted_proxies, 5);
	config_check_cidr(&cfg->trusted_proxies[0], AF_INET, "10.0.0.0", 8);
	config_check_cidr(&cfg->trusted_proxies[1], AF_INET, "192.0.2.7", 32);
	config_check_cidr(&cfg->trusted_proxies[2], AF_INET6, "2001:db8::",
	    32);
	config_check_cidr(&cfg->trusted_proxies[3], AF_INET6, "::1", 128);
	config_check_cidr(&cfg->trusted_proxies[4], AF_INET, "0.0.0.0", 0);
	config_unref(cfg);

	/* Before listen, in flow style. */
	cfg = config_test_valid("trusted_proxies: [\"fd00::/8\"]\n"
	    "listen:\n  - address: \"[::1]:8080\"\n    proxy_protocol: v2\n"
	    CFG_ROUTES);
	ck_assert_int_eq(cfg->listens[0].proxy_protocol, CONFIG_PROXY_V2);
	ck_assert_uint_eq(cfg->ntrusted_proxies, 1);
	config_check_cidr(&cfg->trusted_proxies[0], AF_INET6, "fd00::", 8);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_trusted_proxies_without_proxy_protocol)
{
	struct config	*cfg;

	/* Trusted for X-Forwarded-For only: no listener reads headers. */
	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES
	    "trusted_proxies: [10.1.0.0/16]\n");
	ck_assert_uint_eq(cfg->ntrusted_proxies, 1);
	config_unref(cfg);

	/* An empty list is allowed when no listener needs one. */
	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES "trusted_proxies: []\n");
	ck_assert_uint_eq(cfg->ntrusted_proxies, 0);
	config_unref(cfg);

	cfg = config_test_valid("listen:\n  - address: 127.0.0.1:8080\n"
	    "    proxy_protocol: false\n" CFG_ROUTES "trusted_proxies: []\n");
	ck_assert_int_eq(cfg->listens[0].proxy_protocol, CONFIG_PROXY_OFF);
	config_unref(cfg);
}
END_TEST

/*
 * Errors: the complete error text of a file, line by line.
 */
struct config_error_vector {
	const char	*name;
	const char	*text;
	const char	*errors;	/* every line, each ending in \n */
};

static const struct config_error_vector config_error_vectors[] = {
	/* Unknown keys. */
	{ "unknown key at top level",
	  CFG_LISTEN CFG_ROUTES "bogus: 1\n",
	  NAME ":6:1: bogus: unknown key (expected one of: listen, "
	  "trusted_proxies, workers, user, group, log, admin, limits, "
	  "backends, routes)\n" },
	{ "admin without an address",
	  CFG_LISTEN CFG_ROUTES "admin: { }\n",
	  NAME ":6:8: admin: missing key \"address\"\n" },
	{ "admin address not an IP address",
	  CFG_LISTEN CFG_ROUTES "admin: { address: \"localhost:9090\" }\n",
	  NAME ":6:19: admin.address: \"localhost:9090\": must be an IP "
	  "address and port, e.g. \"0.0.0.0:80\" or \"[::]:80\"\n" },
	{ "unknown user",
	  CFG_LISTEN CFG_ROUTES "user: no-such-user-wsgate\n",
	  NAME ":6:7: user: no such user \"no-such-user-wsgate\"\n" },
	{ "unknown group",
	  CFG_LISTEN CFG_ROUTES "user: root\ngroup: no-such-group-wsgate\n",
	  NAME ":7:8: group: no such group \"no-such-group-wsgate\"\n" },
	{ "group without user",
	  CFG_LISTEN CFG_ROUTES "group: root\n",
	  NAME ":6:8: group: needs user: the group is switched to together "
	  "with the user\n" },
	{ "unknown key in a listener",
	  "listen:\n  - address: 127.0.0.1:8080\n    backlog: 511\n"
	  CFG_ROUTES,
	  NAME ":3:5: listen[0].backlog: unknown key (expected one of: "
	  "address, tls, proxy_protocol, allowed_hosts)\n" },
	{ "unknown key in log",
	  CFG_LISTEN CFG_ROUTES "log: { level: info, colour: true }\n",
	  NAME ":6:21: log.colour: unknown key (expected one of: level, "
	  "format, access, query)\n" },
	{ "on_reload value",
	  CFG_LISTEN "routes:\n  - match: { path: /a }\n    backend: echo\n"
	  "    on_reload: close\n",
	  NAME ":6:16: routes[0].on_reload: \"close\" must be keep or "
	  "drain\n" },
	{ "drain_timeout bound",
	  CFG_LISTEN "routes:\n  - match: { path: /a }\n    backend: echo\n"
	  "    drain_timeout: 25h\n",
	  NAME ":6:20: routes[0].drain_timeout: must be between 0 and 24h\n" },
	{ "log format",
	  CFG_LISTEN CFG_ROUTES "log: { format: xml }\n",
	  NAME ":6:16: log.format: \"xml\" must be text or json\n" },
	{ "log access",
	  CFG_LISTEN CFG_ROUTES "log: { access: yes }\n",
	  NAME ":6:16: log.access: \"yes\" must be false or true\n" },
	{ "unknown limit",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_conns: 100\n",
	  NAME ":7:3: limits.max_conns: unknown key (expected one of: "
	  "handshake_timeout, tls_handshake_timeout, max_request_head, "
	  "max_headers, max_message, buffer_high_watermark, "
	  "max_connection_memory, max_connections, max_connections_per_ip, "
	  "handshake_rate, handshake_burst, message_rate, message_burst, "
	  "max_lifetime, ping_interval, pong_timeout, idle_timeout, "
	  "close_timeout, shutdown_timeout)\n" },
	{ "count with a unit",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_connections: 1k\n",
	  NAME ":7:20: limits.max_connections: \"1k\": must be a whole "
	  "number\n" },
	{ "max_connections 0",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_connections: 0\n",
	  NAME ":7:20: limits.max_connections: must be between 1 and "
	  "10000000\n" },
	{ "max_headers bound",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_headers: 129\n",
	  NAME ":7:16: limits.max_headers: must be between 8 and 128\n" },
	{ "memory below the watermark",
	  CFG_LISTEN CFG_ROUTES "limits:\n  buffer_high_watermark: 4MiB\n",
	  NAME ":7:26: limits.buffer_high_watermark: max_connection_memory "
	  "must be at least 2 x (buffer_high_watermark + 128KiB) + "
	  "max_request_head = 8658944 bytes here\n" },
	{ "memory set too low",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_connection_memory: 1MiB\n",
	  NAME ":7:26: limits.max_connection_memory: max_connection_memory "
	  "must be at least 2 x (buffer_high_watermark + 128KiB) + "
	  "max_request_head = 2367488 bytes here\n" },
	{ "route limit not per route",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    limits: { ping_interval: 1s }\n",
	  NAME ":6:15: routes[0].limits.ping_interval: unknown key (expected "
	  "one of: max_message, message_rate, message_burst, max_lifetime, "
	  "idle_timeout)\n" },
	{ "unknown key in a backend",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers: [\"127.0.0.1:1\"]\n    weight: 2\n",
	  NAME ":10:5: backends.b.weight: unknown key (expected one of: "
	  "type, servers, balance, connect_timeout, handshake_timeout, "
	  "retries, fail_threshold, fail_timeout, resolve_interval, "
	  "health_check, host, path, proxy_protocol, tls)\n" },
	{ "unknown key in a route",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    timeout: 5s\n",
	  NAME ":6:5: routes[0].timeout: unknown key (expected one of: "
	  "match, origins, backend, subprotocols, frames, strip_prefix, "
	  "on_reload, drain_timeout, limits)\n" },
	{ "unknown key in a match",
	  CFG_LISTEN "routes:\n  - match: { path: /, port: 80 }\n"
	  "    backend: echo\n",
	  NAME ":4:23: routes[0].match.port: unknown key (expected one of: "
	  "host, path, path_exact, subprotocol)\n" },
	{ "duplicate key",
	  CFG_LISTEN CFG_ROUTES "listen: []\n",
	  NAME ":6:1: listen: duplicate key\n" },
	{ "duplicate key in a match",
	  CFG_LISTEN "routes:\n  - match: { path: /a, path: /b }\n"
	  "    backend: echo\n",
	  NAME ":4:24: routes[0].match.path: duplicate key\n" },
	/* Same rule for limits, which have their own table. */
	{ "duplicate limit",
	  CFG_LISTEN CFG_ROUTES "limits:\n  ping_interval: 10s\n"
	  "  ping_interval: 20s\n",
	  NAME ":8:3: limits.ping_interval: duplicate key\n" },

	/* Wrong types. */
	{ "document is a scalar", "listen\n",
	  NAME ":1:1: must be a mapping, not a scalar\n" },
	{ "document is a list", "- listen\n- routes\n",
	  NAME ":1:1: must be a mapping, not a list\n" },
	{ "key is not a scalar",
	  CFG_LISTEN CFG_ROUTES "? [a]\n: b\n",
	  NAME ":6:3: must be a string, not a list\n" },
	{ "listen is a scalar",
	  "listen: 127.0.0.1:8080\n" CFG_ROUTES,
	  NAME ":1:9: listen: must be a list, not a scalar\n" },
	{ "listen is a mapping",
	  "listen:\n  address: 127.0.0.1:8080\n" CFG_ROUTES,
	  NAME ":2:3: listen: must be a list, not a mapping\n" },
	{ "listener is a scalar",
	  "listen:\n  - 127.0.0.1:8080\n" CFG_ROUTES,
	  NAME ":2:5: listen[0]: must be a mapping, not a scalar\n" },
	{ "listen address is a list",
	  "listen:\n  - address: [127.0.0.1:8080]\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: must be a string, not a list\n" },
	{ "log is a scalar",
	  CFG_LISTEN CFG_ROUTES "log: debug\n",
	  NAME ":6:6: log: must be a mapping, not a scalar\n" },
	{ "limits is a scalar",
	  CFG_LISTEN CFG_ROUTES "limits: 5\n",
	  NAME ":6:9: limits: must be a mapping, not a scalar\n" },
	{ "limits is empty",
	  CFG_LISTEN CFG_ROUTES "limits:\n",
	  NAME ":6:8: limits: must be a mapping, not a scalar\n" },
	{ "limit is a list",
	  CFG_LISTEN CFG_ROUTES "limits:\n  pong_timeout: [1s]\n",
	  NAME ":7:17: limits.pong_timeout: must be a string, not a list\n" },
	{ "backends is a list",
	  CFG_LISTEN CFG_ROUTES "backends: [b]\n",
	  NAME ":6:11: backends: must be a mapping of names to backends, "
	  "not a list\n" },
	{ "backend is a scalar",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b: tcp\n",
	  NAME ":7:6: backends.b: must be a mapping, not a scalar\n" },
	{ "servers is a scalar",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: 127.0.0.1:1 }\n",
	  NAME ":7:28: backends.b.servers: must be a list, not a scalar\n" },
	{ "routes is a mapping",
	  CFG_LISTEN "routes:\n  match: { path: / }\n  backend: echo\n",
	  NAME ":4:3: routes: must be a list, not a mapping\n" },
	{ "route is a scalar",
	  CFG_LISTEN "routes:\n  - /echo\n",
	  NAME ":4:5: routes[0]: must be a mapping, not a scalar\n" },
	{ "match is a scalar",
	  CFG_LISTEN "routes:\n  - match: /echo\n    backend: echo\n",
	  NAME ":4:12: routes[0].match: must be a mapping, not a scalar\n" },
	{ "route backend is a list",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: [echo]\n",
	  NAME ":5:14: routes[0].backend: must be a string, not a list\n" },
	{ "origins is a scalar",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    origins: https://a.example\n",
	  NAME ":6:14: routes[0].origins: must be \"same\" or a list of "
	  "origins such as [\"https://a.example\"]\n" },
	{ "origin is a mapping",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    origins: [\"https://a.example\", { x: 1 }]\n",
	  NAME ":6:36: routes[0].origins[1]: must be a string, not a "
	  "mapping\n" },

	/* Empty lists. */
	{ "empty listen",
	  "listen: []\n" CFG_ROUTES,
	  NAME ":1:9: listen: must not be empty\n" },
	{ "empty routes",
	  CFG_LISTEN "routes: []\n",
	  NAME ":3:9: routes: must not be empty\n" },
	{ "empty servers",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b: { type: tcp, servers: [] }\n",
	  NAME ":7:28: backends.b.servers: must not be empty\n" },
	{ "empty origins",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    origins: []\n",
	  NAME ":6:14: routes[0].origins: must not be empty\n" },
	{ "empty subprotocols",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    subprotocols: []\n",
	  NAME ":6:19: routes[0].subprotocols: must not be empty\n" },

	/* Missing required keys: reported at the mapping that lacks them. */
	{ "a second document", CFG_LISTEN CFG_ROUTES "---\nlisten: []\n",
	  NAME ":7:1: only one YAML document is allowed\n" },
	{ "a syntax error in a second document",
	  CFG_LISTEN CFG_ROUTES "---\nlisten: [\n",
	  NAME ":8:1: syntax error: did not find expected node content "
	  "while parsing a flow node\n" },
	{ "missing listen", CFG_ROUTES,
	  NAME ":1:1: missing key \"listen\"\n" },
	{ "missing routes after a comment", "# no routes\n" CFG_LISTEN,
	  NAME ":2:1: missing key \"routes\"\n" },
	{ "missing address",
	  "listen:\n  - { }\n" CFG_ROUTES,
	  NAME ":2:5: listen[0]: missing key \"address\"\n" },
	{ "missing match",
	  CFG_LISTEN "routes:\n  - backend: echo\n",
	  NAME ":4:5: routes[0]: missing key \"match\"\n" },
	{ "missing backend",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n",
	  NAME ":4:5: routes[0]: missing key \"backend\"\n" },
	{ "missing backend type",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n"
	  "    servers: [\"127.0.0.1:1\"]\n",
	  NAME ":8:5: backends.b: missing key \"type\"\n" },
	{ "missing servers",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n",
	  NAME ":8:5: backends.b: missing key \"servers\"\n" },

	/* Limits out of range, one row of the limits table each. */
	{ "handshake_timeout below its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  handshake_timeout: 99ms\n",
	  NAME ":7:22: limits.handshake_timeout: must be between 100ms and "
	  "10m\n" },
	{ "max_request_head above its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_request_head: 2MiB\n",
	  NAME ":7:21: limits.max_request_head: must be between 1KiB and "
	  "1MiB\n" },
	{ "max_request_head below its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_request_head: 1023\n",
	  NAME ":7:21: limits.max_request_head: must be between 1KiB and "
	  "1MiB\n" },
	{ "max_message of 0",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_message: 0\n",
	  NAME ":7:16: limits.max_message: must be between 1 and 1GiB\n" },
	{ "max_message above its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_message: 1025MiB\n",
	  NAME ":7:16: limits.max_message: must be between 1 and 1GiB\n" },
	{ "buffer_high_watermark below its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  buffer_high_watermark: 4095\n",
	  NAME ":7:26: limits.buffer_high_watermark: must be between 4KiB "
	  "and 1GiB\n" },
	{ "ping_interval below its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  ping_interval: 999ms\n",
	  NAME ":7:18: limits.ping_interval: must be 0 or between 1s and "
	  "1h\n" },
	{ "ping_interval above its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  ping_interval: 61m\n",
	  NAME ":7:18: limits.ping_interval: must be 0 or between 1s and "
	  "1h\n" },
	{ "pong_timeout below its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  pong_timeout: 0\n",
	  NAME ":7:17: limits.pong_timeout: must be between 100ms and 1h\n" },
	{ "idle_timeout below its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  idle_timeout: 500ms\n",
	  NAME ":7:17: limits.idle_timeout: must be 0 or between 1s and "
	  "168h\n" },
	{ "idle_timeout above its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  idle_timeout: 169h\n",
	  NAME ":7:17: limits.idle_timeout: must be 0 or between 1s and "
	  "168h\n" },
	{ "close_timeout above its range",
	  CFG_LISTEN CFG_ROUTES "limits:\n  close_timeout: 61s\n",
	  NAME ":7:18: limits.close_timeout: must be between 100ms and 1m\n" },
	{ "connect_timeout above its range",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers: [\"127.0.0.1:1\"]\n    connect_timeout: 301s\n",
	  NAME ":10:22: backends.b.connect_timeout: must be between 100ms "
	  "and 5m\n" },

	/* Bad units: the units module's reason, after the value. */
	{ "duration without a unit",
	  CFG_LISTEN CFG_ROUTES "limits:\n  ping_interval: 30\n",
	  NAME ":7:18: limits.ping_interval: \"30\": needs a unit: ms, s, m "
	  "or h (e.g. 30s)\n" },
	{ "decimal duration",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers: [\"127.0.0.1:1\"]\n    connect_timeout: 1.5s\n",
	  NAME ":10:22: backends.b.connect_timeout: \"1.5s\": needs a unit: "
	  "ms, s, m or h (e.g. 30s)\n" },
	{ "negative duration",
	  CFG_LISTEN CFG_ROUTES "limits:\n  handshake_timeout: -1s\n",
	  NAME ":7:22: limits.handshake_timeout: \"-1s\": must start with a "
	  "number\n" },
	{ "decimal size unit",
	  CFG_LISTEN CFG_ROUTES "limits:\n  max_message: 16MB\n",
	  NAME ":7:16: limits.max_message: \"16MB\": unit must be B, KiB, "
	  "MiB or GiB (e.g. 64KiB)\n" },
	{ "size too large",
	  CFG_LISTEN CFG_ROUTES "limits:\n"
	  "  max_message: 99999999999999999999\n",
	  NAME ":7:16: limits.max_message: \"99999999999999999999\": number "
	  "too large\n" },

	/* Backends. */
	{ "unknown backend",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: chatt\n",
	  NAME ":5:14: routes[0].backend: unknown backend \"chatt\"\n" },
	{ "empty backend name",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: \"\"\n",
	  NAME ":5:14: routes[0].backend: unknown backend \"\"\n" },
	{ "duplicate backend",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  a: { type: tcp, servers: [\"127.0.0.1:1\"] }\n"
	  "  a: { type: tcp, servers: [\"127.0.0.1:2\"] }\n",
	  NAME ":8:3: backends.a: duplicate key\n" },
	{ "echo redefined",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  echo: { type: tcp, servers: [\"127.0.0.1:1\"] }\n",
	  NAME ":7:3: backends.echo: \"echo\" is the built-in echo backend "
	  "and cannot be redefined\n" },
	/* Pools: server weights, unix sockets, balancing, retries. */
	{ "weight 0",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - address: 127.0.0.1:1\n        weight: 0\n",
	  NAME ":11:17: backends.b.servers[0].weight: \"0\" must be a number "
	  "from 1 to 100\n" },
	{ "weight 101",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - address: 127.0.0.1:1\n        weight: 101\n",
	  NAME ":11:17: backends.b.servers[0].weight: \"101\" must be a "
	  "number from 1 to 100\n" },
	{ "weight not a number",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - { address: 127.0.0.1:1, weight: x }\n",
	  NAME ":10:41: backends.b.servers[0].weight: \"x\" must be a number "
	  "from 1 to 100\n" },
	{ "negative weight",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - { address: 127.0.0.1:1, weight: -1 }\n",
	  NAME ":10:41: backends.b.servers[0].weight: \"-1\" must be a "
	  "number from 1 to 100\n" },
	{ "decimal weight",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - { address: 127.0.0.1:1, weight: 1.5 }\n",
	  NAME ":10:41: backends.b.servers[0].weight: \"1.5\" must be a "
	  "number from 1 to 100\n" },
	{ "weight is a list",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - { address: 127.0.0.1:1, weight: [2] }\n",
	  NAME ":10:41: backends.b.servers[0].weight: must be a string, not "
	  "a list\n" },
	/* A bad weight only: the server itself stays valid. */
	{ "bad weight after a good server",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - 127.0.0.1:1\n"
	  "      - { address: 127.0.0.1:2, weight: 0 }\n",
	  NAME ":11:41: backends.b.servers[1].weight: \"0\" must be a number "
	  "from 1 to 100\n" },
	{ "server mapping without address",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - { weight: 2 }\n",
	  NAME ":10:9: backends.b.servers[0]: missing key \"address\"\n" },
	{ "server mapping with an unknown key",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - { address: 127.0.0.1:1, backup: true }\n",
	  NAME ":10:33: backends.b.servers[0].backup: unknown key (expected "
	  "one of: address, weight)\n" },
	{ "server mapping with a bad address",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: tcp\n"
	  "    servers:\n      - { address: 127.0.0.1, weight: 2 }\n",
	  NAME ":10:20: backends.b.servers[0].address: \"127.0.0.1\": must "
	  "be host:port\n" },
	{ "server is a list",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [[\"127.0.0.1:1\"]] }\n",
	  NAME ":7:29: backends.b.servers[0]: must be a string, not a list\n" },
	{ "relative unix path",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"unix:run/app.sock\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"unix:run/app.sock\": must be "
	  "unix:/absolute/path (at most 107 bytes)\n" },
	{ "empty unix path",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"unix:\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"unix:\": must be "
	  "unix:/absolute/path (at most 107 bytes)\n" },
	{ "bad balance",
	  CFG_B_TCP "    balance: random\n",
	  NAME ":10:14: backends.b.balance: \"random\" must be one of: "
	  "round_robin, least_conn, ip_hash\n" },
	{ "balance in another case",
	  CFG_B_TCP "    balance: Round_Robin\n",
	  NAME ":10:14: backends.b.balance: \"Round_Robin\" must be one of: "
	  "round_robin, least_conn, ip_hash\n" },
	{ "retries above its range",
	  CFG_B_TCP "    retries: 64\n",
	  NAME ":10:14: backends.b.retries: \"64\" must be a number from 0 "
	  "to 63\n" },
	{ "negative retries",
	  CFG_B_TCP "    retries: -1\n",
	  NAME ":10:14: backends.b.retries: \"-1\" must be a number from 0 "
	  "to 63\n" },
	{ "retries with a unit",
	  CFG_B_TCP "    retries: 2x\n",
	  NAME ":10:14: backends.b.retries: \"2x\" must be a number from 0 "
	  "to 63\n" },
	{ "huge retries",
	  CFG_B_TCP "    retries: 99999999999999999999999\n",
	  NAME ":10:14: backends.b.retries: \"99999999999999999999999\" must "
	  "be a number from 0 to 63\n" },
	{ "fail_threshold above its range",
	  CFG_B_TCP "    fail_threshold: 101\n",
	  NAME ":10:21: backends.b.fail_threshold: \"101\" must be a number "
	  "from 0 to 100\n" },
	{ "fail_threshold not a number",
	  CFG_B_TCP "    fail_threshold: many\n",
	  NAME ":10:21: backends.b.fail_threshold: \"many\" must be a number "
	  "from 0 to 100\n" },
	{ "fail_timeout below its range",
	  CFG_B_TCP "    fail_timeout: 999ms\n",
	  NAME ":10:19: backends.b.fail_timeout: must be between 1s and 1h\n" },
	{ "fail_timeout of 0",
	  CFG_B_TCP "    fail_timeout: 0\n",
	  NAME ":10:19: backends.b.fail_timeout: must be between 1s and 1h\n" },
	{ "fail_timeout above its range",
	  CFG_B_TCP "    fail_timeout: 61m\n",
	  NAME ":10:19: backends.b.fail_timeout: must be between 1s and 1h\n" },
	{ "fail_timeout without a unit",
	  CFG_B_TCP "    fail_timeout: 10\n",
	  NAME ":10:19: backends.b.fail_timeout: \"10\": needs a unit: ms, s, "
	  "m or h (e.g. 30s)\n" },
	{ "resolve_interval below its range",
	  CFG_B_TCP "    resolve_interval: 500ms\n",
	  NAME ":10:23: backends.b.resolve_interval: must be 0 or between 1s "
	  "and 24h\n" },
	{ "resolve_interval above its range",
	  CFG_B_TCP "    resolve_interval: 25h\n",
	  NAME ":10:23: backends.b.resolve_interval: must be 0 or between 1s "
	  "and 24h\n" },
	{ "handshake_timeout below its range",
	  CFG_B_WS "    handshake_timeout: 99ms\n",
	  NAME ":10:24: backends.b.handshake_timeout: must be between 100ms "
	  "and 5m\n" },
	{ "handshake_timeout above its range",
	  CFG_B_WS "    handshake_timeout: 301s\n",
	  NAME ":10:24: backends.b.handshake_timeout: must be between 100ms "
	  "and 5m\n" },

	/* Active health checks. */
	{ "health_check with an unknown key",
	  CFG_B_WS "    health_check: { interval: 1s, port: 80 }\n",
	  NAME ":10:35: backends.b.health_check.port: unknown key (expected "
	  "one of: interval, timeout, path)\n" },
	{ "health_check path without a slash",
	  CFG_B_WS "    health_check: { path: health }\n",
	  NAME ":10:27: backends.b.health_check.path: \"health\" must be a "
	  "path starting with /, without spaces\n" },
	{ "health_check path with a space",
	  CFG_B_WS "    health_check: { path: \"/a b\" }\n",
	  NAME ":10:27: backends.b.health_check.path: \"/a b\" must be a "
	  "path starting with /, without spaces\n" },
	{ "health_check interval of 0",
	  CFG_B_WS "    health_check: { interval: 0 }\n",
	  NAME ":10:31: backends.b.health_check.interval: must be between "
	  "100ms and 1h\n" },
	{ "health_check interval above its range",
	  CFG_B_WS "    health_check: { interval: 2h }\n",
	  NAME ":10:31: backends.b.health_check.interval: must be between "
	  "100ms and 1h\n" },
	{ "health_check timeout above its range",
	  CFG_B_WS "    health_check: { timeout: 61s }\n",
	  NAME ":10:30: backends.b.health_check.timeout: must be between "
	  "100ms and 1m\n" },
	{ "health_check is a scalar",
	  CFG_B_WS "    health_check: on\n",
	  NAME ":10:19: backends.b.health_check: must be a mapping, not a "
	  "scalar\n" },

	/* Host and path: what wsgate sends to a websocket backend. */
	{ "host on a tcp backend",
	  CFG_B_TCP "    host: app.internal\n",
	  NAME ":8:5: backends.b: host and path apply to websocket backends "
	  "only\n" },
	{ "path on a tcp backend",
	  CFG_B_TCP "    path: /app\n",
	  NAME ":8:5: backends.b: host and path apply to websocket backends "
	  "only\n" },
	{ "host and path on a tcp backend",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"127.0.0.1:1\"], host: a, path: / }\n",
	  NAME ":7:6: backends.b: host and path apply to websocket backends "
	  "only\n" },
	{ "host with a space",
	  CFG_B_WS "    host: \"app internal\"\n",
	  NAME ":10:11: backends.b.host: \"app internal\" must be a host name, "
	  "with an optional :port\n" },
	{ "host with a path",
	  CFG_B_WS "    host: app.internal/ws\n",
	  NAME ":10:11: backends.b.host: \"app.internal/ws\" must be a host "
	  "name, with an optional :port\n" },
	{ "host with userinfo",
	  CFG_B_WS "    host: user@app.internal\n",
	  NAME ":10:11: backends.b.host: \"user@app.internal\" must be a host "
	  "name, with an optional :port\n" },
	{ "empty host",
	  CFG_B_WS "    host: \"\"\n",
	  NAME ":10:11: backends.b.host: \"\" must be a host name, with an "
	  "optional :port\n" },
	{ "backend path without a slash",
	  CFG_B_WS "    path: app\n",
	  NAME ":10:11: backends.b.path: \"app\" must be a path starting with "
	  "/, without spaces\n" },
	{ "backend path with a space",
	  CFG_B_WS "    path: \"/a b\"\n",
	  NAME ":10:11: backends.b.path: \"/a b\" must be a path starting "
	  "with /, without spaces\n" },
	{ "bad backend type",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: ws, servers: [\"127.0.0.1:1\"] }\n",
	  NAME ":7:14: backends.b.type: \"ws\" must be tcp or websocket\n" },
	{ "echo is not a type",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: echo, servers: [\"127.0.0.1:1\"] }\n",
	  NAME ":7:14: backends.b.type: \"echo\" must be tcp or websocket\n" },
	{ "empty type",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: \"\", servers: [\"127.0.0.1:1\"] }\n",
	  NAME ":7:14: backends.b.type: \"\" must be tcp or websocket\n" },
	{ "server without port",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"127.0.0.1\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"127.0.0.1\": must be "
	  "host:port\n" },
	{ "server without host",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\":80\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \":80\": must be host:port\n" },
	{ "server with an unclosed ipv6 bracket",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"[::1:80\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"[::1:80\": must be host:port "
	  "([addr]:port for IPv6)\n" },
	{ "server with a service name",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"127.0.0.1:http\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"127.0.0.1:http\": port must "
	  "be a number from 1 to 65535\n" },
	/* A server port must fit 16 bits; 0 cannot be connected to. */
	{ "server port above 65535",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"127.0.0.1:65536\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"127.0.0.1:65536\": port "
	  "must be a number from 1 to 65535\n" },
	{ "server port far above 65535",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"127.0.0.1:99999\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"127.0.0.1:99999\": port "
	  "must be a number from 1 to 65535\n" },
	{ "server port 0",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"127.0.0.1:0\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"127.0.0.1:0\": port must be "
	  "a number from 1 to 65535\n" },
	{ "negative server port",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { type: tcp, servers: [\"127.0.0.1:-1\"] }\n",
	  NAME ":7:29: backends.b.servers[0]: \"127.0.0.1:-1\": port must be "
	  "a number from 1 to 65535\n" },

	/* Routes. */
	{ "frames on an echo route",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    frames: text\n",
	  NAME ":6:13: routes[0].frames: frames applies to tcp backends "
	  "only\n" },
	{ "bad frames value",
	  CFG_LISTEN CFG_BACKEND_B "routes:\n  - match: { path: / }\n"
	  "    backend: b\n    frames: hex\n",
	  NAME ":8:13: routes[0].frames: \"hex\" must be binary or text\n" },
	{ "frames on a websocket route",
	  CFG_LISTEN "backends:\n"
	  "  ws: { type: websocket, servers: [\"127.0.0.1:1\"] }\n"
	  "routes:\n  - match: { path: /ws }\n    backend: ws\n"
	  "    frames: binary\n",
	  NAME ":8:13: routes[0].frames: frames applies to tcp backends "
	  "only\n" },
	{ "strip_prefix is not a bool",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    strip_prefix: yes\n",
	  NAME ":6:19: routes[0].strip_prefix: \"yes\" must be false or "
	  "true\n" },
	{ "strip_prefix in another case",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    strip_prefix: True\n",
	  NAME ":6:19: routes[0].strip_prefix: \"True\" must be false or "
	  "true\n" },
	{ "strip_prefix is a list",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    strip_prefix: [true]\n",
	  NAME ":6:19: routes[0].strip_prefix: must be a string, not a "
	  "list\n" },
	/* Reported where the route names its backend (config_link_routes). */
	{ "strip_prefix without a path",
	  CFG_LISTEN "routes:\n  - match: { host: a.example }\n"
	  "    backend: echo\n    strip_prefix: true\n",
	  NAME ":6:19: routes[0].strip_prefix: strip_prefix needs match.path or "
	  "match.path_exact\n" },
	{ "strip_prefix with an empty match",
	  CFG_LISTEN "routes:\n  - strip_prefix: true\n    match: {}\n"
	  "    backend: echo\n",
	  NAME ":4:19: routes[0].strip_prefix: strip_prefix needs match.path or "
	  "match.path_exact\n" },
	{ "origins is another scalar",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    origins: any\n",
	  NAME ":6:14: routes[0].origins: must be \"same\" or a list of "
	  "origins such as [\"https://a.example\"]\n" },
	{ "origins same in another case",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    origins: Same\n",
	  NAME ":6:14: routes[0].origins: must be \"same\" or a list of "
	  "origins such as [\"https://a.example\"]\n" },
	{ "origins is a mapping",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    origins: { same: true }\n",
	  NAME ":6:14: routes[0].origins: must be a list, not a mapping\n" },
	{ "bad subprotocol condition",
	  CFG_LISTEN "routes:\n  - match: { path: /, subprotocol: \"a b\" }\n"
	  "    backend: echo\n",
	  NAME ":4:36: routes[0].match.subprotocol: \"a b\" is not a valid "
	  "subprotocol token\n" },
	{ "bad subprotocols",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    subprotocols: [ok, \"x/y\", \"\", \"caf\xc3\xa9\"]\n",
	  NAME ":6:24: routes[0].subprotocols[1]: \"x/y\" is not a valid "
	  "subprotocol token\n"
	  NAME ":6:31: routes[0].subprotocols[2]: \"\" is not a valid "
	  "subprotocol token\n"
	  NAME ":6:35: routes[0].subprotocols[3]: \"caf\xc3\xa9\" is not a "
	  "valid subprotocol token\n" },
	{ "bad subprotocol after a list item",
	  CFG_LISTEN "routes:\n  - match: { path: / }\n    backend: echo\n"
	  "    subprotocols: [[a], \"b c\"]\n",
	  NAME ":6:20: routes[0].subprotocols[0]: must be a string, not a "
	  "list\n"
	  NAME ":6:25: routes[0].subprotocols[1]: \"b c\" is not a valid "
	  "subprotocol token\n" },
	{ "path without a slash",
	  CFG_LISTEN "routes:\n  - match: { path: ws }\n    backend: echo\n",
	  NAME ":4:20: routes[0].match.path: \"ws\" must start with /\n" },
	{ "path_exact without a slash",
	  CFG_LISTEN "routes:\n  - match: { path_exact: \"*\" }\n"
	  "    backend: echo\n",
	  NAME ":4:26: routes[0].match.path_exact: \"*\" must start with /\n" },
	{ "path and path_exact",
	  CFG_LISTEN "routes:\n  - match: { path: /a, path_exact: /b }\n"
	  "    backend: echo\n",
	  NAME ":4:36: routes[0].match.path_exact: path and path_exact are "
	  "mutually exclusive\n" },
	{ "host with port",
	  CFG_LISTEN "routes:\n  - match:\n      host: chat.example:80\n"
	  "    backend: echo\n",
	  NAME ":5:13: routes[0].match.host: \"chat.example:80\" must be a "
	  "host name without port\n" },
	{ "host with a path",
	  CFG_LISTEN "routes:\n  - match: { host: chat.example/ws }\n"
	  "    backend: echo\n",
	  NAME ":4:20: routes[0].match.host: \"chat.example/ws\" must be a "
	  "host name without port\n" },
	{ "empty host",
	  CFG_LISTEN "routes:\n  - match: { host: \"\" }\n    backend: echo\n",
	  NAME ":4:20: routes[0].match.host: \"\" must be a host name "
	  "without port\n" },

	/* Listen addresses: IP addresses only, port 0 allowed. */
	{ "listen without port",
	  "listen:\n  - address: 0.0.0.0\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: \"0.0.0.0\": must be host:port\n" },
	{ "listen on a host name",
	  "listen:\n  - address: localhost:80\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: \"localhost:80\": must be an IP "
	  "address and port, e.g. \"0.0.0.0:80\" or \"[::]:80\"\n" },
	{ "listen port above 65535",
	  "listen:\n  - address: 127.0.0.1:65536\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: \"127.0.0.1:65536\": port must be "
	  "a number from 0 to 65535\n" },
	{ "listen port with trailing junk",
	  "listen:\n  - address: 0.0.0.0:80x\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: \"0.0.0.0:80x\": port must be a "
	  "number from 0 to 65535\n" },
	{ "listen on ipv6 without port",
	  "listen:\n  - address: \"[::]\"\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: \"[::]\": port must be a number "
	  "from 0 to 65535\n" },
	{ "listen on a bare ipv6 address",
	  "listen:\n  - address: \"::1\"\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: \"::1\": must be an IP address and "
	  "port, e.g. \"0.0.0.0:80\" or \"[::]:80\"\n" },
	{ "listen on an unclosed ipv6 bracket",
	  "listen:\n  - address: \"[::1:80\"\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: \"[::1:80\": must be host:port "
	  "([addr]:port for IPv6)\n" },
	{ "unix listener",
	  "listen:\n  - address: unix:/run/wsgate.sock\n" CFG_ROUTES,
	  NAME ":2:14: listen[0].address: unix socket listeners are not "
	  "supported yet\n" },

	{ "unknown log level",
	  CFG_LISTEN CFG_ROUTES "log: { level: loud }\n",
	  NAME ":6:15: log.level: \"loud\" must be one of: error, warn, "
	  "info, debug\n" },

	/* workers: auto, or 1 to 64. */
	{ "zero workers",
	  CFG_LISTEN CFG_ROUTES "workers: 0\n",
	  NAME ":6:10: workers: \"0\" must be auto or a number from 1 to "
	  "64\n" },
	{ "too many workers",
	  CFG_LISTEN CFG_ROUTES "workers: 65\n",
	  NAME ":6:10: workers: \"65\" must be auto or a number from 1 to "
	  "64\n" },
	{ "workers in words",
	  CFG_LISTEN CFG_ROUTES "workers: two\n",
	  NAME ":6:10: workers: \"two\" must be auto or a number from 1 to "
	  "64\n" },
	{ "negative workers",
	  CFG_LISTEN CFG_ROUTES "workers: -1\n",
	  NAME ":6:10: workers: \"-1\" must be auto or a number from 1 to "
	  "64\n" },
	{ "workers far too many",
	  CFG_LISTEN CFG_ROUTES "workers: 99999999999999999999\n",
	  NAME ":6:10: workers: \"99999999999999999999\" must be auto or a "
	  "number from 1 to 64\n" },
	{ "workers auto is lower case",
	  CFG_LISTEN CFG_ROUTES "workers: Auto\n",
	  NAME ":6:10: workers: \"Auto\" must be auto or a number from 1 to "
	  "64\n" },
	{ "workers is a list",
	  CFG_LISTEN CFG_ROUTES "workers: [1]\n",
	  NAME ":6:10: workers: must be a string, not a list\n" },

	/* PROXY protocol and trusted_proxies. */
	{ "proxy_protocol without trusted_proxies",
	  "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: v1\n"
	  CFG_ROUTES,
	  NAME ":3:21: listen[0].proxy_protocol: " PP_NEEDS "\n" },
	{ "proxy_protocol with an empty trusted_proxies",
	  "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: auto\n"
	  CFG_ROUTES "trusted_proxies: []\n",
	  NAME ":3:21: listen[0].proxy_protocol: " PP_NEEDS "\n" },
	{ "proxy_protocol on two listeners of three",
	  "listen:\n  - { address: 127.0.0.1:1, proxy_protocol: v2 }\n"
	  "  - { address: 127.0.0.1:2, proxy_protocol: false }\n"
	  "  - address: 127.0.0.1:3\n    proxy_protocol: \"v1\"\n"
	  CFG_ROUTES,
	  NAME ":2:45: listen[0].proxy_protocol: " PP_NEEDS "\n"
	  NAME ":5:21: listen[2].proxy_protocol: " PP_NEEDS "\n" },
	{ "proxy_protocol true",
	  "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: true\n"
	  CFG_ROUTES,
	  NAME ":3:21: listen[0].proxy_protocol: \"true\" must be one of: "
	  "false, v1, v2, auto\n" },
	{ "proxy_protocol in upper case",
	  "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: V1\n"
	  CFG_ROUTES CFG_TRUSTED,
	  NAME ":3:21: listen[0].proxy_protocol: \"V1\" must be one of: "
	  "false, v1, v2, auto\n" },
	{ "proxy_protocol as a number",
	  "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: 2\n"
	  CFG_ROUTES CFG_TRUSTED,
	  NAME ":3:21: listen[0].proxy_protocol: \"2\" must be one of: "
	  "false, v1, v2, auto\n" },
	{ "proxy_protocol is a list",
	  "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: [v1]\n"
	  CFG_ROUTES CFG_TRUSTED,
	  NAME ":3:21: listen[0].proxy_protocol: must be a string, not a "
	  "list\n" },
	{ "trusted_proxies is a scalar",
	  CFG_LISTEN CFG_ROUTES "trusted_proxies: 10.0.0.0/8\n",
	  NAME ":6:18: trusted_proxies: must be a list, not a scalar\n" },
	{ "trusted_proxies is empty",
	  CFG_LISTEN CFG_ROUTES "trusted_proxies:\n",
	  NAME ":6:17: trusted_proxies: must be a list, not a scalar\n" },
	{ "trusted_proxies is a mapping",
	  CFG_LISTEN CFG_ROUTES "trusted_proxies: { lb: 10.0.0.0/8 }\n",
	  NAME ":6:18: trusted_proxies: must be a list, not a mapping\n" },
	/* Not a list: its error is enough, the listener's would repeat it. */
	{ "trusted_proxies is a scalar, with a proxy listener",
	  "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: v1\n"
	  CFG_ROUTES "trusted_proxies: 10.0.0.0/8\n",
	  NAME ":7:18: trusted_proxies: must be a list, not a scalar\n" },
	{ "trusted_proxies entries, every error",
	  CFG_LISTEN CFG_ROUTES "trusted_proxies:\n"
	  "  - 10.0.0.1/8\n"
	  "  - 10.0.0.0/33\n"
	  "  - lb.example.com\n"
	  "  - 192.0.2.7\n"
	  "  - [10.0.0.0/8]\n"
	  "  - \"2001:db8::1/32\"\n"
	  "  - \"::/129\"\n"
	  "  - 10.0.0.0/08\n"
	  "  - \"\"\n",
	  NAME ":7:5: trusted_proxies[0]: \"10.0.0.1/8\": host bits set\n"
	  NAME ":8:5: trusted_proxies[1]: \"10.0.0.0/33\": prefix out of "
	  "range\n"
	  NAME ":9:5: trusted_proxies[2]: \"lb.example.com\": not an "
	  "address\n"
	  NAME ":11:5: trusted_proxies[4]: must be a string, not a list\n"
	  NAME ":12:5: trusted_proxies[5]: \"2001:db8::1/32\": host bits "
	  "set\n"
	  NAME ":13:5: trusted_proxies[6]: \"::/129\": prefix out of range\n"
	  NAME ":14:5: trusted_proxies[7]: \"10.0.0.0/08\": not an "
	  "address\n"
	  NAME ":15:5: trusted_proxies[8]: \"\": not an address\n" },
	/* Entries were given: only their errors, not the listener's. */
	{ "trusted_proxies all wrong, with a proxy listener",
	  "listen:\n  - address: 127.0.0.1:8080\n    proxy_protocol: v2\n"
	  CFG_ROUTES "trusted_proxies: [10.0.0.1/8]\n",
	  NAME ":7:19: trusted_proxies[0]: \"10.0.0.1/8\": host bits set\n" },
	{ "duplicate trusted_proxies",
	  CFG_LISTEN CFG_ROUTES CFG_TRUSTED "trusted_proxies: [\"::1\"]\n",
	  NAME ":7:1: trusted_proxies: duplicate key\n" },
	{ "backend proxy_protocol auto",
	  CFG_B_TCP "    proxy_protocol: auto\n",
	  NAME ":10:21: backends.b.proxy_protocol: \"auto\" must be v1 or "
	  "v2: a sender picks one version\n" },
	{ "backend proxy_protocol true",
	  CFG_B_TCP "    proxy_protocol: true\n",
	  NAME ":10:21: backends.b.proxy_protocol: \"true\" must be one of: "
	  "false, v1, v2\n" },
	{ "backend proxy_protocol is a mapping",
	  CFG_B_TCP "    proxy_protocol: { version: 1 }\n",
	  NAME ":10:21: backends.b.proxy_protocol: must be a string, not a "
	  "mapping\n" },
	{ "proxy_protocol on a websocket backend",
	  CFG_B_WS "    proxy_protocol: v1\n",
	  NAME ":10:21: backends.b.proxy_protocol: proxy_protocol is for tcp "
	  "backends\n" },
	{ "proxy_protocol before the type of a websocket backend",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  b: { proxy_protocol: v2, type: websocket, "
	  "servers: [\"127.0.0.1:1\"] }\n",
	  NAME ":7:24: backends.b.proxy_protocol: proxy_protocol is for tcp "
	  "backends\n" },

	/* Files that are not a configuration. */
	{ "yaml syntax error", "listen: {a: 1\n",
	  NAME ":2:1: syntax error: did not find expected ',' or '}' while "
	  "parsing a flow mapping\n" },
	{ "bad indentation",
	  "listen:\n  - address: 127.0.0.1:8080\n  bad: [\n",
	  NAME ":3:3: syntax error: did not find expected '-' indicator "
	  "while parsing a block collection\n" },
	{ "mapping value in a scalar", "a: b: c\n",
	  NAME ":1:5: syntax error: mapping values are not allowed in this "
	  "context\n" },
	{ "tab indentation", "listen:\n\t- address: 127.0.0.1:8080\n",
	  NAME ":2:1: syntax error: found character that cannot start any "
	  "token while scanning for the next token\n" },
	{ "empty file", "", NAME ":1:1: the file is empty\n" },
	{ "only a comment", "# nothing yet\n",
	  NAME ":1:1: the file is empty\n" },
	{ "only blank lines", "\n\n  \n", NAME ":1:1: the file is empty\n" },
};

/* Compares errors with v->errors, line by line. */
static void
config_check_errors(const struct config_error_vector *v, const char *errors)
{
	const char	*got = errors, *want = v->errors, *gnl, *wnl;
	size_t		 glen, wlen, line = 1;

	ck_assert_msg(config_test_lines(errors) ==
	    config_test_lines(v->errors), "%s: got\n%swant\n%s", v->name,
	    errors, v->errors);
	for (; *want != '\0'; want = wnl + 1, got = gnl + 1, line++) {
		wnl = strchr(want, '\n');
		gnl = strchr(got, '\n');
		ck_assert_msg(wnl != NULL && gnl != NULL, "%s: line %zu "
		    "without a newline", v->name, line);
		wlen = (size_t)(wnl - want);
		glen = (size_t)(gnl - got);
		ck_assert_msg(glen == wlen && memcmp(got, want, wlen) == 0,
		    "%s: line %zu: got\n%.*s\nwant\n%.*s", v->name, line,
		    (int)glen, got, (int)wlen, want);
	}
	ck_assert_msg(*got == '\0', "%s: trailing text \"%s\"", v->name, got);
}

/*
 * Parses text that must be refused; returns its errors in buf, freed
 * before any assertion so that a failing vector leaks nothing under
 * CK_FORK=no.
 */
static void
config_test_refused(const char *name, const char *text, char *buf,
    size_t size)
{
	struct config	*cfg;
	char		*errors;
	size_t		 len;

	cfg = config_test_parse(text, &errors);
	if (cfg != NULL) {
		config_unref(cfg);
		ck_abort_msg("%s: accepted", name);
	}
	len = strlen(errors);
	snprintf(buf, size, "%s", errors);
	free(errors);
	ck_assert_msg(len < size, "%s: %zu bytes of errors", name, len);
}

START_TEST(test_config_error)
{
	const struct config_error_vector	*v = &config_error_vectors[_i];
	char					 errors[4096];

	config_test_refused(v->name, v->text, errors, sizeof(errors));
	config_check_errors(v, errors);
}
END_TEST

START_TEST(test_config_too_many_servers)
{
	static const struct config_error_vector	 v = {
		"65 servers", NULL,
		NAME ":10:7: backends.b.servers: at most 64 servers\n"
	};
	char					*text, errors[4096];

	text = config_test_pool(65, "");
	config_test_refused(v.name, text, errors, sizeof(errors));
	free(text);
	config_check_errors(&v, errors);
}
END_TEST

START_TEST(test_config_unix_path_length)
{
	struct config			*cfg;
	const struct sockaddr_un	*sun;
	struct config_error_vector	 v;
	char				 path[128], text[512], want[512];
	char				 errors[4096];

	/* sun_path holds 107 bytes and the NUL. */
	ck_assert_uint_eq(sizeof(sun->sun_path), 108);
	path[0] = '/';
	memset(path + 1, 'a', 106);
	path[107] = '\0';
	snprintf(text, sizeof(text), CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  b: { type: tcp, servers: [\"unix:%s\"] }\n", path);
	cfg = config_test_valid(text);
	sun = (const struct sockaddr_un *)
	    &config_find_backend(cfg, "b")->servers[0].ss;
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, path);
	config_unref(cfg);

	strcat(path, "a");
	ck_assert_uint_eq(strlen(path), 108);
	snprintf(text, sizeof(text), CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  b: { type: tcp, servers: [\"unix:%s\"] }\n", path);
	snprintf(want, sizeof(want), NAME ":7:29: backends.b.servers[0]: "
	    "\"unix:%s\": must be unix:/absolute/path (at most 107 bytes)\n",
	    path);
	v.name = "unix path of 108 bytes";
	v.text = text;
	v.errors = want;
	config_test_refused(v.name, text, errors, sizeof(errors));
	config_check_errors(&v, errors);
}
END_TEST

/* Names are resolved at load time and kept for re-resolution. */
START_TEST(test_config_server_name)
{
	struct config			*cfg;
	const struct backend_server	*srv;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  b: { type: websocket, servers: [\"localhost:8080\", "
	    "\"127.0.0.1:8081\"] }\n");
	srv = &config_find_backend(cfg, "b")->servers[0];
	ck_assert_str_eq(srv->address, "localhost:8080");
	ck_assert_str_eq(srv->host, "localhost");
	ck_assert_str_eq(srv->port, "8080");
	ck_assert(srv->ss.ss_family == AF_INET ||
	    srv->ss.ss_family == AF_INET6);
	srv = &config_find_backend(cfg, "b")->servers[1];
	ck_assert_ptr_null(srv->host);
	ck_assert_ptr_null(srv->port);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_error_unresolvable_server)
{
	static const char	 text[] = CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  b: { type: tcp, servers: [\"no-such-host.invalid:8080\"] }\n";
	static const char	 want[] = NAME ":7:29: backends.b.servers[0]: "
	    "\"no-such-host.invalid:8080\": ";
	char			 errors[4096];

	/*
	 * RFC 6761 §6.4: .invalid never resolves.  The reason is the
	 * resolver's (no such name, or no resolver at all).
	 */
	config_test_refused("unresolvable", text, errors, sizeof(errors));
	ck_assert_msg(strncmp(errors, want, sizeof(want) - 1) == 0 &&
	    strlen(errors) > sizeof(want), "got %s", errors);
	ck_assert_uint_eq(config_test_lines(errors), 1);
}
END_TEST

/*
 * One file, many mistakes: all are reported, in file order, with the
 * route references checked once the whole file is read.
 */
static const char config_many_yaml[] =
	"listen:\n"
	"  - address: 0.0.0.0\n"				/* 2 */
	"  - port: 80\n"					/* 3 */
	"log: { level: verbose }\n"				/* 4 */
	"limits:\n"
	"  ping_interval: 30\n"				/* 6 */
	"  max_message: 16MB\n"				/* 7 */
	"  pong_timeout: 1ms\n"				/* 8 */
	"backends:\n"
	"  echo: { type: tcp, servers: [\"127.0.0.1:1\"] }\n"	/* 10 */
	"  b:\n"
	"    type: udp\n"					/* 12 */
	"    servers: [\"127.0.0.1\", \"127.0.0.1:2\"]\n"	/* 13 */
	"routes:\n"
	"  - match: { path: ws }\n"				/* 15 */
	"    backend: nope\n"					/* 16 */
	"  - match: { path: /b, path_exact: /c }\n"		/* 17 */
	"    backend: b\n"
	"    subprotocols: [\"a,b\"]\n"				/* 19 */
	"  - backend: echo\n"					/* 20 */
	"    origins: []\n"					/* 21 */
	"    match: { host: \"a b\" }\n"			/* 22 */
	"extra: true\n";					/* 23 */

static const char config_many_errors[] =
	NAME ":2:14: listen[0].address: \"0.0.0.0\": must be host:port\n"
	NAME ":3:5: listen[1].port: unknown key (expected one of: address, "
	    "tls, proxy_protocol, allowed_hosts)\n"
	NAME ":3:5: listen[1]: missing key \"address\"\n"
	NAME ":4:15: log.level: \"verbose\" must be one of: error, warn, "
	    "info, debug\n"
	NAME ":6:18: limits.ping_interval: \"30\": needs a unit: ms, s, m or "
	    "h (e.g. 30s)\n"
	NAME ":7:16: limits.max_message: \"16MB\": unit must be B, KiB, MiB "
	    "or GiB (e.g. 64KiB)\n"
	NAME ":8:17: limits.pong_timeout: must be between 100ms and 1h\n"
	NAME ":10:3: backends.echo: \"echo\" is the built-in echo backend and "
	    "cannot be redefined\n"
	NAME ":12:11: backends.b.type: \"udp\" must be tcp or websocket\n"
	NAME ":13:15: backends.b.servers[0]: \"127.0.0.1\": must be "
	    "host:port\n"
	NAME ":15:20: routes[0].match.path: \"ws\" must start with /\n"
	NAME ":17:36: routes[1].match.path_exact: path and path_exact are "
	    "mutually exclusive\n"
	NAME ":19:20: routes[1].subprotocols[0]: \"a,b\" is not a valid "
	    "subprotocol token\n"
	NAME ":21:14: routes[2].origins: must not be empty\n"
	NAME ":22:20: routes[2].match.host: \"a b\" must be a host name "
	    "without port\n"
	NAME ":23:1: extra: unknown key (expected one of: listen, "
	    "trusted_proxies, workers, user, group, log, admin, limits, "
	    "backends, routes)\n"
	NAME ":16:14: routes[0].backend: unknown backend \"nope\"\n";

START_TEST(test_config_error_many)
{
	static const struct config_error_vector	 v = {
		"many errors", config_many_yaml, config_many_errors
	};
	char					 errors[4096];

	config_test_refused(v.name, config_many_yaml, errors, sizeof(errors));
	ck_assert_msg(config_test_lines(errors) == 17, "%zu errors:\n%s",
	    config_test_lines(errors), errors);
	config_check_errors(&v, errors);
}
END_TEST

/*
 * The proxy settings of one file: each error once, the listener's (which
 * needs the whole file) last.
 */
START_TEST(test_config_proxy_errors_many)
{
	static const struct config_error_vector	 v = {
		"many proxy errors",
		"listen:\n"
		"  - address: 127.0.0.1:1\n"
		"    proxy_protocol: v1\n"				/* 3 */
		"  - address: 127.0.0.1:2\n"
		"    proxy_protocol: v3\n"				/* 5 */
		"trusted_proxies: []\n"
		"backends:\n"
		"  w: { type: websocket, servers: [\"127.0.0.1:1\"], "
		"proxy_protocol: v2 }\n"				/* 8 */
		"  t: { type: tcp, servers: [\"127.0.0.1:1\"], "
		"proxy_protocol: auto }\n"				/* 9 */
		CFG_ROUTES,
		NAME ":5:21: listen[1].proxy_protocol: \"v3\" must be one of: "
		"false, v1, v2, auto\n"
		NAME ":8:67: backends.w.proxy_protocol: proxy_protocol is for "
		"tcp backends\n"
		NAME ":9:61: backends.t.proxy_protocol: \"auto\" must be v1 or "
		"v2: a sender picks one version\n"
		NAME ":3:21: listen[0].proxy_protocol: " PP_NEEDS "\n"
	};
	char					 errors[4096];

	config_test_refused(v.name, v.text, errors, sizeof(errors));
	config_check_errors(&v, errors);
}
END_TEST

/*
 * listen[].tls: the two forms, min_version, cipher strings, file names
 * relative to the configuration file, and each mistake at its node.
 */

/* A listener whose tls keys follow from line 7, column 7. */
#define CFG_TLS		CFG_ROUTES "listen:\n  - address: 127.0.0.1:8443\n" \
			"    tls:\n"

START_TEST(test_config_tls_pair)
{
	struct config			*cfg;
	const struct config_tls		*tls;

	cfg = config_test_valid(CFG_TLS
	    "      certificate: /etc/wsgate/tls/a.pem\n"
	    "      key: /etc/wsgate/tls/a.key\n"
	    "  - address: 127.0.0.1:8080\n");
	ck_assert_uint_eq(cfg->nlistens, 2);
	tls = cfg->listens[0].tls;
	ck_assert_ptr_nonnull(tls);
	ck_assert_uint_eq(tls->ncerts, 1);
	ck_assert_str_eq(tls->certs[0].certificate, "/etc/wsgate/tls/a.pem");
	ck_assert_str_eq(tls->certs[0].key, "/etc/wsgate/tls/a.key");
	ck_assert_int_eq(tls->min_version, TLS1_2_VERSION);
	ck_assert_ptr_null(tls->ciphers);
	ck_assert_ptr_null(tls->ciphersuites);
	/* No tls: plain TCP. */
	ck_assert_ptr_null(cfg->listens[1].tls);
	config_unref(cfg);

	/* Key first, in flow style, with a PROXY header before TLS. */
	cfg = config_test_valid(CFG_ROUTES CFG_TRUSTED "listen:\n"
	    "  - address: 127.0.0.1:8443\n    proxy_protocol: v2\n"
	    "    tls: { key: /k, certificate: /c, min_version: \"1.3\", "
	    "ciphers: \"ECDHE+AESGCM\", "
	    "ciphersuites: \"TLS_AES_256_GCM_SHA384\" }\n");
	tls = cfg->listens[0].tls;
	ck_assert_uint_eq(tls->ncerts, 1);
	ck_assert_str_eq(tls->certs[0].certificate, "/c");
	ck_assert_str_eq(tls->certs[0].key, "/k");
	ck_assert_int_eq(tls->min_version, TLS1_3_VERSION);
	ck_assert_str_eq(tls->ciphers, "ECDHE+AESGCM");
	ck_assert_str_eq(tls->ciphersuites, "TLS_AES_256_GCM_SHA384");
	ck_assert_int_eq(cfg->listens[0].proxy_protocol, CONFIG_PROXY_V2);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_tls_certificates)
{
	struct config			*cfg;
	const struct config_tls		*tls;

	cfg = config_test_valid(CFG_TLS
	    "      certificates:\n"
	    "        - { certificate: /tls/a.pem, key: /tls/a.key }\n"
	    "        - key: /tls/b.key\n"
	    "          certificate: /tls/b.pem\n"
	    "        - { certificate: /tls/c.pem, key: /tls/c.key }\n"
	    "      min_version: 1.2\n");
	tls = cfg->listens[0].tls;
	ck_assert_uint_eq(tls->ncerts, 3);
	ck_assert_str_eq(tls->certs[0].certificate, "/tls/a.pem");
	ck_assert_str_eq(tls->certs[0].key, "/tls/a.key");
	ck_assert_str_eq(tls->certs[1].certificate, "/tls/b.pem");
	ck_assert_str_eq(tls->certs[1].key, "/tls/b.key");
	ck_assert_str_eq(tls->certs[2].certificate, "/tls/c.pem");
	ck_assert_str_eq(tls->certs[2].key, "/tls/c.key");
	ck_assert_int_eq(tls->min_version, TLS1_2_VERSION);
	config_unref(cfg);

	/* One entry is fine too. */
	cfg = config_test_valid(CFG_TLS "      certificates: "
	    "[{ certificate: /a.pem, key: /a.key }]\n");
	ck_assert_uint_eq(cfg->listens[0].tls->ncerts, 1);
	ck_assert_str_eq(cfg->listens[0].tls->certs[0].key, "/a.key");
	config_unref(cfg);
}
END_TEST

struct config_tls_version_vector {
	const char	*value;		/* as written */
	int		 want;
};

static const struct config_tls_version_vector config_tls_version_vectors[] = {
	{ "1.2", TLS1_2_VERSION },	/* a YAML number */
	{ "\"1.2\"", TLS1_2_VERSION },
	{ "'1.2'", TLS1_2_VERSION },
	{ "1.3", TLS1_3_VERSION },
	{ "\"1.3\"", TLS1_3_VERSION },
};

START_TEST(test_config_tls_min_version)
{
	const struct config_tls_version_vector	*v =
	    &config_tls_version_vectors[_i];
	struct config				*cfg;
	char					 text[512];

	snprintf(text, sizeof(text), CFG_TLS "      certificate: /a.pem\n"
	    "      key: /a.key\n      min_version: %s\n", v->value);
	cfg = config_test_valid(text);
	ck_assert_int_eq(cfg->listens[0].tls->min_version, v->want);
	config_unref(cfg);
}
END_TEST

struct config_tls_path_vector {
	const char	*name;		/* of the configuration file */
	const char	*file;		/* as written */
	const char	*want;		/* as stored */
};

static const struct config_tls_path_vector config_tls_path_vectors[] = {
	{ "/etc/wsgate/wsgate.yaml", "tls/a.pem", "/etc/wsgate/tls/a.pem" },
	{ "/etc/wsgate/wsgate.yaml", "a.pem", "/etc/wsgate/a.pem" },
	{ "/etc/wsgate/wsgate.yaml", "../a.pem", "/etc/wsgate/../a.pem" },
	{ "/etc/wsgate/wsgate.yaml", "/srv/a.pem", "/srv/a.pem" },
	{ "/wsgate.yaml", "a.pem", "/a.pem" },
	{ "conf/wsgate.yaml", "a.pem", "conf/a.pem" },
	{ "./wsgate.yaml", "tls/a.pem", "./tls/a.pem" },
	/* In the current directory: the name as it is. */
	{ "wsgate.yaml", "tls/a.pem", "tls/a.pem" },
	{ "wsgate.yaml", "/a.pem", "/a.pem" },
};

START_TEST(test_config_tls_relative_paths)
{
	const struct config_tls_path_vector	*v =
	    &config_tls_path_vectors[_i];
	const struct config_tls			*tls;
	struct config				*cfg;
	char					 text[512], *errors;

	/* Both forms, and the key like the certificate. */
	snprintf(text, sizeof(text), CFG_TLS
	    "      certificate: %s\n      key: %s\n"
	    "  - address: 127.0.0.1:8444\n    tls:\n      certificates:\n"
	    "        - { certificate: %s, key: %s }\n",
	    v->file, v->file, v->file, v->file);
	cfg = config_parse(v->name, text, strlen(text), &errors);
	ck_assert_msg(cfg != NULL, "%s", errors);
	tls = cfg->listens[0].tls;
	ck_assert_str_eq(tls->certs[0].certificate, v->want);
	ck_assert_str_eq(tls->certs[0].key, v->want);
	tls = cfg->listens[1].tls;
	ck_assert_str_eq(tls->certs[0].certificate, v->want);
	ck_assert_str_eq(tls->certs[0].key, v->want);
	config_unref(cfg);
}
END_TEST

#define TLS_KEYS	"(expected one of: certificate, key, certificates, " \
			"min_version, ciphers, ciphersuites)"
#define TLS_BOTH	"certificate and key, or certificates, not both"
#define TLS_NONE	"missing key \"certificate\" and \"key\" (one pair) " \
			"or \"certificates\" (several)"

static const struct config_error_vector config_tls_error_vectors[] = {
	{ "tls: pair and certificates",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      certificates:\n"
	  "        - { certificate: /b.pem, key: /b.key }\n",
	  NAME ":9:7: listen[0].tls.certificates: " TLS_BOTH "\n" },
	{ "tls: certificates, then a key",
	  CFG_TLS "      certificates:\n"
	  "        - { certificate: /b.pem, key: /b.key }\n"
	  "      key: /a.key\n",
	  NAME ":9:7: listen[0].tls.key: " TLS_BOTH "\n" },
	{ "tls: certificates between certificate and key",
	  CFG_TLS "      certificate: /a.pem\n"
	  "      certificates: [{ certificate: /b.pem, key: /b.key }]\n"
	  "      key: /a.key\n",
	  NAME ":8:7: listen[0].tls.certificates: " TLS_BOTH "\n" },
	{ "tls: an empty certificates with a pair",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      certificates: []\n",
	  NAME ":9:21: listen[0].tls.certificates: must not be empty\n"
	  NAME ":9:7: listen[0].tls.certificates: " TLS_BOTH "\n" },
	{ "tls: neither form",
	  CFG_TLS "      min_version: \"1.3\"\n",
	  NAME ":7:7: listen[0].tls: " TLS_NONE "\n" },
	{ "tls: an empty mapping",
	  CFG_ROUTES "listen:\n  - address: 127.0.0.1:8443\n    tls: {}\n",
	  NAME ":6:10: listen[0].tls: " TLS_NONE "\n" },
	{ "tls: nothing",
	  CFG_TLS "  - address: 127.0.0.1:8080\n",
	  NAME ":6:9: listen[0].tls: must be a mapping, not a scalar\n" },
	{ "tls: a scalar",
	  CFG_ROUTES "listen:\n  - address: 127.0.0.1:8443\n"
	  "    tls: /etc/wsgate/a.pem\n",
	  NAME ":6:10: listen[0].tls: must be a mapping, not a scalar\n" },
	{ "tls: a certificate without a key",
	  CFG_TLS "      min_version: \"1.2\"\n      certificate: /a.pem\n",
	  NAME ":7:7: listen[0].tls: missing key \"key\"\n" },
	{ "tls: a key without a certificate",
	  CFG_ROUTES "listen:\n  - address: 127.0.0.1:8443\n"
	  "    tls: { key: /a.key }\n",
	  NAME ":6:10: listen[0].tls: missing key \"certificate\"\n" },
	{ "tls: certificates empty",
	  CFG_TLS "      certificates: []\n",
	  NAME ":7:21: listen[0].tls.certificates: must not be empty\n" },
	{ "tls: certificates a mapping",
	  CFG_TLS "      certificates: { certificate: /a.pem, key: /a.key }\n",
	  NAME ":7:21: listen[0].tls.certificates: must be a list, not a "
	  "mapping\n" },
	{ "tls: an entry without a key",
	  CFG_TLS "      certificates:\n"
	  "        - { certificate: /a.pem, key: /a.key }\n"
	  "        - { certificate: /b.pem }\n",
	  NAME ":9:11: listen[0].tls.certificates[1]: missing key \"key\"\n" },
	{ "tls: an entry without a certificate",
	  CFG_TLS "      certificates:\n"
	  "        - key: /a.key\n",
	  NAME ":8:11: listen[0].tls.certificates[0]: missing key "
	  "\"certificate\"\n" },
	{ "tls: an entry is a scalar",
	  CFG_TLS "      certificates:\n        - /a.pem\n",
	  NAME ":8:11: listen[0].tls.certificates[0]: must be a mapping, not "
	  "a scalar\n" },
	{ "tls: an unknown key in an entry",
	  CFG_TLS "      certificates:\n"
	  "        - { certificate: /a.pem, key: /a.key, sni: a.test }\n",
	  NAME ":8:47: listen[0].tls.certificates[0].sni: unknown key "
	  "(expected one of: certificate, key)\n" },
	{ "tls: min_version 1.1",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      min_version: 1.1\n",
	  NAME ":9:20: listen[0].tls.min_version: \"1.1\" must be 1.2 or "
	  "1.3\n" },
	{ "tls: min_version 1.0",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      min_version: \"1.0\"\n",
	  NAME ":9:20: listen[0].tls.min_version: \"1.0\" must be 1.2 or "
	  "1.3\n" },
	{ "tls: min_version TLSv1.2",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      min_version: TLSv1.2\n",
	  NAME ":9:20: listen[0].tls.min_version: \"TLSv1.2\" must be 1.2 or "
	  "1.3\n" },
	{ "tls: min_version a list",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      min_version: [1.2]\n",
	  NAME ":9:20: listen[0].tls.min_version: must be a string, not a "
	  "list\n" },
	{ "tls: an unknown key",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      verify_client: true\n",
	  NAME ":9:7: listen[0].tls.verify_client: unknown key " TLS_KEYS
	  "\n" },
	{ "tls: a duplicate key",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      key: /b.key\n",
	  NAME ":9:7: listen[0].tls.key: duplicate key\n" },
	{ "tls: empty ciphers",
	  CFG_TLS "      certificate: /a.pem\n      key: /a.key\n"
	  "      ciphers: \"\"\n      ciphersuites: ''\n",
	  NAME ":9:16: listen[0].tls.ciphers: must not be empty\n"
	  NAME ":10:21: listen[0].tls.ciphersuites: must not be empty\n" },
	{ "tls: an empty file name",
	  CFG_TLS "      certificate: \"\"\n      key: /a.key\n",
	  NAME ":7:20: listen[0].tls.certificate: must be a file name\n" },
	{ "tls: a file name is a list",
	  CFG_TLS "      certificate: [/a.pem, /b.pem]\n      key: /a.key\n",
	  NAME ":7:20: listen[0].tls.certificate: must be a string, not a "
	  "list\n" },
};

START_TEST(test_config_tls_error)
{
	const struct config_error_vector	*v =
	    &config_tls_error_vectors[_i];
	char					 errors[4096];

	config_test_refused(v->name, v->text, errors, sizeof(errors));
	config_check_errors(v, errors);
}
END_TEST

/* Every listener's mistakes, in file order. */
START_TEST(test_config_tls_errors_many)
{
	static const struct config_error_vector	 v = {
		"many tls errors",
		CFG_ROUTES
		"listen:\n"
		"  - address: 127.0.0.1:1\n"
		"    tls:\n"
		"      certificate: \"\"\n"			/* 7 */
		"      min_version: \"1.1\"\n"			/* 8 */
		"  - address: 127.0.0.1:2\n"
		"    tls:\n"
		"      certificates:\n"
		"        - { key: /a.key }\n"			/* 12 */
		"        - { certificate: /b.pem, key: /b.key, x: 1 }\n"	/* 13 */
		"      ciphers: \"\"\n"				/* 14 */
		"  - address: 127.0.0.1:3\n"
		"    tls: { certificate: /c.pem, key: /c.key }\n",
		NAME ":7:20: listen[0].tls.certificate: must be a file name\n"
		NAME ":8:20: listen[0].tls.min_version: \"1.1\" must be 1.2 "
		"or 1.3\n"
		NAME ":7:7: listen[0].tls: missing key \"key\"\n"
		NAME ":12:11: listen[1].tls.certificates[0]: missing key "
		"\"certificate\"\n"
		NAME ":13:47: listen[1].tls.certificates[1].x: unknown key "
		"(expected one of: certificate, key)\n"
		NAME ":14:16: listen[1].tls.ciphers: must not be empty\n"
	};
	char					 errors[4096];

	config_test_refused(v.name, v.text, errors, sizeof(errors));
	config_check_errors(&v, errors);
}
END_TEST

/*
 * backends.NAME.tls: defaults, every key, the name each server is
 * checked for, file names relative to the configuration file, and each
 * mistake at its node.
 */

/* Backend b's tls, from line 10, its keys from line 11, column 7. */
#define CFG_B_TLS	CFG_B_TCP "    tls:\n"

START_TEST(test_config_backend_tls_defaults)
{
	static const char *const	 forms[] = { "true", "{}", "\"true\"" };
	const struct config_backend_tls	*t;
	const struct backend		*be;
	struct config			*cfg;
	char				 text[512];

	snprintf(text, sizeof(text), CFG_LISTEN CFG_ROUTES "backends:\n"
	    "  b:\n    type: websocket\n"
	    "    servers: [\"127.0.0.1:1\", \"[::1]:2\", \"localhost:3\"]\n"
	    "    tls: %s\n"
	    "  c: { type: tcp, servers: [\"127.0.0.1:4\"] }\n", forms[_i]);
	cfg = config_test_valid(text);
	be = config_find_backend(cfg, "b");
	t = be->tls;
	ck_assert_ptr_nonnull(t);
	ck_assert(t->verify);
	ck_assert_ptr_null(t->ca);
	ck_assert_ptr_null(t->server_name);
	ck_assert_ptr_null(t->certificate);
	ck_assert_ptr_null(t->key);
	ck_assert_int_eq(t->min_version, TLS1_2_VERSION);
	ck_assert_ptr_null(be->tls_client);	/* built by backend.c */
	/* Each server is checked for its own host, IPs as IPs. */
	ck_assert_str_eq(be->servers[0].tls_name, "127.0.0.1");
	ck_assert_str_eq(be->servers[1].tls_name, "::1");
	ck_assert_str_eq(be->servers[2].tls_name, "localhost");
	/* No tls: plain TCP. */
	be = config_find_backend(cfg, "c");
	ck_assert_ptr_null(be->tls);
	ck_assert_ptr_null(be->servers[0].tls_name);
	ck_assert_ptr_null(config_find_backend(cfg, "echo")->tls);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_backend_tls_false)
{
	struct config	*cfg;

	cfg = config_test_valid(CFG_B_TCP "    tls: false\n");
	ck_assert_ptr_null(config_find_backend(cfg, "b")->tls);
	ck_assert_ptr_null(config_find_backend(cfg, "b")->servers[0].tls_name);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_backend_tls_full)
{
	const struct config_backend_tls	*t;
	const struct backend		*be;
	struct config			*cfg;
	char				*errors;
	static const char		 text[] = CFG_LISTEN CFG_ROUTES
	    "backends:\n"
	    "  b:\n"
	    "    type: tcp\n"
	    "    servers: [\"127.0.0.1:1\", \"unix:/run/b.sock\"]\n"
	    "    proxy_protocol: v2\n"
	    "    tls:\n"
	    "      verify: true\n"
	    "      ca: tls/backend-ca.pem\n"
	    "      server_name: app.internal\n"
	    "      certificate: /etc/ssl/client.pem\n"
	    "      key: client.key\n"
	    "      min_version: \"1.3\"\n"
	    "  u:\n"
	    "    type: websocket\n"
	    "    servers: [\"unix:/run/u.sock\"]\n"
	    "    tls: { verify: false }\n";

	cfg = config_parse("/etc/wsgate/wsgate.yaml", text, strlen(text),
	    &errors);
	ck_assert_msg(cfg != NULL, "%s", errors);
	be = config_find_backend(cfg, "b");
	t = be->tls;
	ck_assert(t->verify);
	ck_assert_str_eq(t->ca, "/etc/wsgate/tls/backend-ca.pem");
	ck_assert_str_eq(t->server_name, "app.internal");
	ck_assert_str_eq(t->certificate, "/etc/ssl/client.pem");
	ck_assert_str_eq(t->key, "/etc/wsgate/client.key");
	ck_assert_int_eq(t->min_version, TLS1_3_VERSION);
	ck_assert_int_eq(be->proxy_protocol, CONFIG_PROXY_V2);
	/* server_name for every server, unix ones included. */
	ck_assert_str_eq(be->servers[0].tls_name, "app.internal");
	ck_assert_str_eq(be->servers[1].tls_name, "app.internal");
	/* Without verification a unix server needs no name. */
	be = config_find_backend(cfg, "u");
	ck_assert(!be->tls->verify);
	ck_assert_ptr_null(be->servers[0].tls_name);
	config_unref(cfg);
}
END_TEST

struct config_server_name_vector {
	const char	*value;		/* as written */
	bool		 ok;
};

static const struct config_server_name_vector config_server_names[] = {
	{ "app.internal", true },
	{ "APP-1.example_x.test", true },
	{ "localhost", true },
	{ "10.0.0.5", true },
	{ "\"::1\"", true },
	{ "\"fd00::5\"", true },
	{ "\"\"", false },
	{ "\"app.internal:8443\"", false },
	{ "\"[::1]\"", false },
	{ "\"a b\"", false },
	{ "a/b", false },
	{ "user@host", false },
	{ "\"*.example.com\"", false },
};

START_TEST(test_config_backend_tls_server_name)
{
	const struct config_server_name_vector	*v = &config_server_names[_i];
	struct config				*cfg;
	char					 text[512], want[256];
	char					*errors, value[64];

	snprintf(text, sizeof(text), CFG_B_TLS "      server_name: %s\n",
	    v->value);
	cfg = config_test_parse(text, &errors);
	snprintf(value, sizeof(value), "%s", v->value);
	if (value[0] == '"') {
		memmove(value, value + 1, strlen(value));
		value[strlen(value) - 1] = '\0';
	}
	if (v->ok) {
		ck_assert_msg(cfg != NULL, "%s: %s", v->value, errors);
		ck_assert_str_eq(config_find_backend(cfg, "b")->servers[0].
		    tls_name, value);
		config_unref(cfg);
		return;
	}
	ck_assert_msg(cfg == NULL, "%s accepted", v->value);
	snprintf(want, sizeof(want), NAME ":11:20: backends.b.tls."
	    "server_name: \"%s\" must be a host name or an IP address, "
	    "without port\n", value);
	ck_assert_str_eq(errors, want);
	free(errors);
}
END_TEST

#define BTLS_KEYS	"(expected one of: verify, ca, server_name, " \
			"certificate, key, min_version)"

static const struct config_error_vector config_backend_tls_errors[] = {
	{ "backend tls: an unknown key",
	  CFG_B_TLS "      verify: true\n      ciphers: HIGH\n",
	  NAME ":12:7: backends.b.tls.ciphers: unknown key " BTLS_KEYS "\n" },
	{ "backend tls: a listener's key",
	  CFG_B_TLS "      certificates: []\n",
	  NAME ":11:7: backends.b.tls.certificates: unknown key " BTLS_KEYS
	  "\n" },
	{ "backend tls: a certificate without its key",
	  CFG_B_TLS "      certificate: /c.pem\n",
	  NAME ":11:7: backends.b.tls: missing key \"key\": a client "
	  "certificate needs its key\n" },
	{ "backend tls: a key without its certificate",
	  CFG_B_TCP "    tls: { verify: true, key: /c.key }\n",
	  NAME ":10:10: backends.b.tls: missing key \"certificate\": a key "
	  "needs its client certificate\n" },
	{ "backend tls: verify yes",
	  CFG_B_TLS "      verify: yes\n",
	  NAME ":11:15: backends.b.tls.verify: \"yes\" must be false or "
	  "true\n" },
	{ "backend tls: a scalar",
	  CFG_B_TCP "    tls: on\n",
	  NAME ":10:10: backends.b.tls: \"on\" must be true, false or a "
	  "mapping\n" },
	{ "backend tls: a list",
	  CFG_B_TCP "    tls: [true]\n",
	  NAME ":10:10: backends.b.tls: must be a mapping, not a list\n" },
	{ "backend tls: min_version 1.1",
	  CFG_B_TLS "      min_version: 1.1\n",
	  NAME ":11:20: backends.b.tls.min_version: \"1.1\" must be 1.2 or "
	  "1.3\n" },
	{ "backend tls: an empty ca",
	  CFG_B_TLS "      ca: \"\"\n",
	  NAME ":11:11: backends.b.tls.ca: must be a file name\n" },
	{ "backend tls: a duplicate key",
	  CFG_B_TLS "      ca: /a.pem\n      ca: /b.pem\n",
	  NAME ":12:7: backends.b.tls.ca: duplicate key\n" },
	{ "backend tls: a unix server to verify without server_name",
	  CFG_LISTEN CFG_ROUTES "backends:\n  b:\n    type: websocket\n"
	  "    servers: [\"127.0.0.1:1\", \"unix:/run/b.sock\"]\n"
	  "    tls: { ca: /ca.pem }\n",
	  NAME ":10:10: backends.b.tls: server_name is needed to verify "
	  "unix:/run/b.sock\n" },
	{ "backend tls: on the echo backend",
	  CFG_LISTEN CFG_ROUTES "backends:\n"
	  "  echo: { type: websocket, servers: [\"127.0.0.1:1\"], tls: true }\n",
	  NAME ":7:3: backends.echo: \"echo\" is the built-in echo backend "
	  "and cannot be redefined\n" },
};

START_TEST(test_config_backend_tls_error)
{
	const struct config_error_vector	*v =
	    &config_backend_tls_errors[_i];
	char					 errors[4096];

	config_test_refused(v->name, v->text, errors, sizeof(errors));
	config_check_errors(v, errors);
}
END_TEST

/*
 * Files, and the lifetime of a config.
 */
/*
 * listen[].allowed_hosts: names, wildcards and IP literals as written,
 * IPv6 in the canonical bracketed form the matcher compares; an empty
 * list is no list (any host).
 */
START_TEST(test_config_allowed_hosts)
{
	struct config	*cfg;
	const char	*want[] = {
		"chat.example.com", "*.Example.COM", "127.0.0.1", "[::1]",
		"[2001:db8::1]", "[::ffff:10.0.0.1]", "localhost", "a-b.c0"
	};
	size_t		 i, n = sizeof(want) / sizeof(want[0]);

	cfg = config_test_valid("listen:\n"
	    "  - address: 127.0.0.1:8080\n"
	    "    allowed_hosts: [chat.example.com, \"*.Example.COM\", "
	    "127.0.0.1, \"::1\",\n"
	    "        \"[2001:DB8:0::1]\", \"[::ffff:10.0.0.1]\", localhost, "
	    "a-b.c0]\n"
	    "  - address: 127.0.0.1:8081\n"
	    "  - address: 127.0.0.1:8082\n"
	    "    allowed_hosts: []\n"
	    CFG_ROUTES);
	ck_assert_uint_eq(cfg->listens[0].nallowed_hosts, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(cfg->listens[0].allowed_hosts[i], want[i]);
	ck_assert_ptr_null(cfg->listens[1].allowed_hosts);
	ck_assert_uint_eq(cfg->listens[1].nallowed_hosts, 0);
	ck_assert_ptr_null(cfg->listens[2].allowed_hosts);
	ck_assert_uint_eq(cfg->listens[2].nallowed_hosts, 0);
	config_unref(cfg);
}
END_TEST

/* Each entry is checked where it stands: line 3, from column 21. */
#define CFG_HOSTS(list)	"listen:\n  - address: 127.0.0.1:8080\n" \
			"    allowed_hosts: " list "\n" CFG_ROUTES
#define HOSTS_ERR(col, i, value, msg) \
	NAME ":3:" #col ": listen[0].allowed_hosts[" #i "]: \"" value \
	"\": " msg "\n"
#define HOSTS_WILD_ONLY	"a wildcard is only allowed as a leading \"*.\", " \
			"as in \"*.example.com\""
#define HOSTS_TWO	"\"*.\" must be followed by two labels or more, " \
			"as in \"*.example.com\""
#define HOSTS_NAME	"not a host name or IP address"

static const struct config_error_vector config_hosts_error_vectors[] = {
	{ "allowed_hosts not a list", CFG_HOSTS("chat.example.com"),
	  NAME ":3:20: listen[0].allowed_hosts: must be a list of host "
	  "names, not a scalar\n" },
	{ "allowed_hosts a mapping", CFG_HOSTS("{ a: b }"),
	  NAME ":3:20: listen[0].allowed_hosts: must be a list of host "
	  "names, not a mapping\n" },
	{ "allowed_hosts item not a string", CFG_HOSTS("[a.test, [b]]"),
	  NAME ":3:29: listen[0].allowed_hosts[1]: must be a string, not "
	  "a list\n" },
	{ "allowed_hosts with a port", CFG_HOSTS("[\"a.test:443\"]"),
	  HOSTS_ERR(21, 0, "a.test:443", "must be a host without port "
	  "(the port of Host is ignored)") },
	{ "allowed_hosts IPv6 with a port", CFG_HOSTS("[\"[::1]:443\"]"),
	  HOSTS_ERR(21, 0, "[::1]:443", "not an IPv6 address") },
	{ "allowed_hosts bad IPv6", CFG_HOSTS("[\"[::g]\"]"),
	  HOSTS_ERR(21, 0, "[::g]", "not an IPv6 address") },
	{ "allowed_hosts bad IPv4", CFG_HOSTS("[ok.test, 10.0.0.256]"),
	  HOSTS_ERR(30, 1, "10.0.0.256", "not an IPv4 address") },
	{ "allowed_hosts lone star", CFG_HOSTS("[\"*\"]"),
	  HOSTS_ERR(21, 0, "*", HOSTS_WILD_ONLY) },
	{ "allowed_hosts partial wildcard", CFG_HOSTS("[\"a*.test.com\"]"),
	  HOSTS_ERR(21, 0, "a*.test.com", HOSTS_WILD_ONLY) },
	{ "allowed_hosts inner wildcard", CFG_HOSTS("[\"a.*.test.com\"]"),
	  HOSTS_ERR(21, 0, "a.*.test.com", HOSTS_WILD_ONLY) },
	{ "allowed_hosts double wildcard", CFG_HOSTS("[\"*.*.test.com\"]"),
	  HOSTS_ERR(21, 0, "*.*.test.com", HOSTS_WILD_ONLY) },
	{ "allowed_hosts wildcard over a TLD", CFG_HOSTS("[\"*.com\"]"),
	  HOSTS_ERR(21, 0, "*.com", HOSTS_TWO) },
	{ "allowed_hosts wildcard over IPs", CFG_HOSTS("[\"*.0.0.1\"]"),
	  HOSTS_ERR(21, 0, "*.0.0.1", "a wildcard covers names, not IP "
	  "addresses") },
	{ "allowed_hosts empty string", CFG_HOSTS("[\"\"]"),
	  HOSTS_ERR(21, 0, "", HOSTS_NAME) },
	{ "allowed_hosts trailing dot", CFG_HOSTS("[a.test.]"),
	  HOSTS_ERR(21, 0, "a.test.", HOSTS_NAME) },
	{ "allowed_hosts empty label", CFG_HOSTS("[a..test]"),
	  HOSTS_ERR(21, 0, "a..test", HOSTS_NAME) },
	{ "allowed_hosts leading hyphen", CFG_HOSTS("[-a.test]"),
	  HOSTS_ERR(21, 0, "-a.test", HOSTS_NAME) },
	{ "allowed_hosts trailing hyphen", CFG_HOSTS("[a-.test]"),
	  HOSTS_ERR(21, 0, "a-.test", HOSTS_NAME) },
	{ "allowed_hosts underscore", CFG_HOSTS("[a_b.test]"),
	  HOSTS_ERR(21, 0, "a_b.test", HOSTS_NAME) },
	{ "allowed_hosts scheme", CFG_HOSTS("[\"https://a.test\"]"),
	  HOSTS_ERR(21, 0, "https://a.test", "must be a host without port "
	  "(the port of Host is ignored)") },
	{ "allowed_hosts path", CFG_HOSTS("[a.test/x]"),
	  HOSTS_ERR(21, 0, "a.test/x", HOSTS_NAME) },
	{ "allowed_hosts label of 64",
	  CFG_HOSTS("[a12345678912345678912345678912"
	  "3456789123456789123456789123456789.test]"),
	  HOSTS_ERR(21, 0, "a12345678912345678912345678912"
	  "3456789123456789123456789123456789.test", HOSTS_NAME) },
	{ "allowed_hosts two errors", CFG_HOSTS("[ok.test, \"*\", x:1]"),
	  HOSTS_ERR(30, 1, "*", HOSTS_WILD_ONLY)
	  HOSTS_ERR(35, 2, "x:1", "must be a host without port (the port "
	  "of Host is ignored)") },
};

START_TEST(test_config_hosts_error)
{
	const struct config_error_vector	*v =
	    &config_hosts_error_vectors[_i];
	char					 errors[4096];

	config_test_refused(v->name, v->text, errors, sizeof(errors));
	config_check_errors(v, errors);
}
END_TEST

/* 63-byte labels are fine, up to 253 bytes in all. */
START_TEST(test_config_allowed_hosts_lengths)
{
	struct config	*cfg;
	char		 label[64], name[300], text[512];
	char		*errors;

	memset(label, 'a', 63);
	label[63] = '\0';
	/* 4 x 63 + 3 dots = 255 bytes: too long; 3 x 63 + 3 + 61 = 253. */
	snprintf(name, sizeof(name), "%s.%s.%s.%s", label, label, label,
	    label);
	snprintf(text, sizeof(text), CFG_HOSTS("[%s]"), name);
	cfg = config_test_parse(text, &errors);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(errors, HOSTS_NAME) != NULL, "%s", errors);
	free(errors);
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label, label, label,
	    label);
	ck_assert_uint_eq(strlen(name), 253);
	snprintf(text, sizeof(text), CFG_HOSTS("[%s]"), name);
	cfg = config_test_valid(text);
	ck_assert_str_eq(cfg->listens[0].allowed_hosts[0], name);
	config_unref(cfg);
}
END_TEST

START_TEST(test_config_load_missing)
{
	static const char	 path[] = "/nonexistent/dir/wsgate.yaml";
	char			*errors = NULL, want[256];

	ck_assert_ptr_null(config_load(path, &errors));
	ck_assert_ptr_nonnull(errors);
	snprintf(want, sizeof(want), "%s: %s\n", path, strerror(ENOENT));
	ck_assert_str_eq(errors, want);
	free(errors);
}
END_TEST

/* Writes text to a new temporary file; returns its path (caller frees
 * the string and unlinks the file). */
static char *
config_test_file(const char *text)
{
	char	*path;
	int	 fd;

	path = strdup("/tmp/check_config.XXXXXX");
	ck_assert_ptr_nonnull(path);
	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
	return path;
}

START_TEST(test_config_load_file)
{
	struct config	*cfg;
	char		*path, *errors = NULL;

	path = config_test_file(config_full_yaml);
	cfg = config_load(path, &errors);
	ck_assert_msg(cfg != NULL, "%s", errors != NULL ? errors : "");
	ck_assert_ptr_null(errors);
	ck_assert_str_eq(cfg->path, path);
	ck_assert_uint_eq(cfg->nroutes, 4);
	ck_assert_uint_eq(cfg->nbackends, 3);
	config_unref(cfg);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
}
END_TEST

START_TEST(test_config_load_large_file)
{
	struct config	*cfg;
	char		*text, *path, *errors = NULL;
	size_t		 len, size = 64 * 1024;

	/* Longer than the loader's first read: comments fill it up. */
	text = malloc(size);
	ck_assert_ptr_nonnull(text);
	len = (size_t)snprintf(text, size, "%s", CFG_LISTEN);
	while (len < 40 * 1024)
		len += (size_t)snprintf(text + len, size - len,
		    "# %072zu\n", len);
	snprintf(text + len, size - len, "%s", CFG_ROUTES);
	path = config_test_file(text);
	cfg = config_load(path, &errors);
	ck_assert_msg(cfg != NULL, "%s", errors != NULL ? errors : "");
	ck_assert_uint_eq(cfg->nroutes, 1);
	config_unref(cfg);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	free(text);
}
END_TEST

START_TEST(test_config_load_errors_name_the_file)
{
	struct config	*cfg;
	char		*path, *errors = NULL, want[256];

	path = config_test_file(CFG_LISTEN "routes: []\n");
	cfg = config_load(path, &errors);
	ck_assert_ptr_null(cfg);
	snprintf(want, sizeof(want), "%s:3:9: routes: must not be empty\n",
	    path);
	ck_assert_str_eq(errors, want);
	free(errors);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
}
END_TEST

/* config_load: relative to the directory of the file it reads. */
START_TEST(test_config_tls_load_relative)
{
	struct config	*cfg;
	char		*path, *errors = NULL, want[64];

	path = config_test_file(CFG_TLS "      certificate: w.pem\n"
	    "      key: /k/w.key\n");
	ck_assert(strncmp(path, "/tmp/", 5) == 0);
	cfg = config_load(path, &errors);
	ck_assert_msg(cfg != NULL, "%s", errors != NULL ? errors : "");
	snprintf(want, sizeof(want), "/tmp/w.pem");
	ck_assert_str_eq(cfg->listens[0].tls->certs[0].certificate, want);
	ck_assert_str_eq(cfg->listens[0].tls->certs[0].key, "/k/w.key");
	config_unref(cfg);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
}
END_TEST

START_TEST(test_config_ref_unref)
{
	struct config	*cfg;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES);
	ck_assert_uint_eq(atomic_load(&cfg->refcnt), 1);
	ck_assert_ptr_eq(config_ref(cfg), cfg);
	ck_assert_uint_eq(atomic_load(&cfg->refcnt), 2);
	ck_assert_ptr_eq(config_ref(cfg), cfg);
	ck_assert_uint_eq(atomic_load(&cfg->refcnt), 3);
	config_unref(cfg);
	ck_assert_uint_eq(atomic_load(&cfg->refcnt), 2);
	config_unref(cfg);
	ck_assert_uint_eq(atomic_load(&cfg->refcnt), 1);
	/* Still whole: the last reference frees it (ASan checks). */
	ck_assert_str_eq(cfg->routes[0].path, "/");
	config_unref(cfg);
	config_unref(NULL);
}
END_TEST

/*
 * Sessions on every worker thread take and drop references: two threads
 * at once must leave the count where it was.  Only the test thread
 * asserts (Check's assertions are not thread-safe).
 */
#define CONFIG_THREAD_ROUNDS	100000

static void *
config_test_ref_thread(void *arg)
{
	struct config	*cfg = arg;
	int		 i;

	for (i = 0; i < CONFIG_THREAD_ROUNDS; i++)
		config_unref(config_ref(cfg));
	return NULL;
}

START_TEST(test_config_ref_threads)
{
	struct config	*cfg;
	pthread_t	 t[2];
	size_t		 i;

	cfg = config_test_valid(CFG_LISTEN CFG_ROUTES);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL,
		    config_test_ref_thread, cfg), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	ck_assert_uint_eq(atomic_load(&cfg->refcnt), 1);
	config_unref(cfg);
}
END_TEST

#define CONFIG_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("config");

	tc = tcase_create("valid");
	tcase_add_test(tc, test_config_full);
	tcase_add_test(tc, test_config_defaults);
	tcase_add_test(tc, test_config_empty_sections);
	tcase_add_test(tc, test_config_section_order);
	tcase_add_test(tc, test_config_listen_port_zero);
	tcase_add_test(tc, test_config_user_group);
	tcase_add_test(tc, test_config_log);
	tcase_add_test(tc, test_config_on_reload);
	tcase_add_loop_test(tc, test_config_workers, 0,
	    CONFIG_NELEM(config_workers_vectors));
	tcase_add_loop_test(tc, test_config_log_level, 0,
	    CONFIG_NELEM(config_level_vectors));
	tcase_add_test(tc, test_config_route_limits);
	tcase_add_loop_test(tc, test_config_limit_bounds, 0,
	    CONFIG_NELEM(config_bound_vectors));
	tcase_add_test(tc, test_config_connect_timeout_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("pools");
	tcase_add_test(tc, test_config_websocket_backend);
	tcase_add_test(tc, test_config_backend_defaults);
	tcase_add_test(tc, test_config_handshake_timeout_default);
	tcase_add_test(tc, test_config_health_check_defaults);
	tcase_add_loop_test(tc, test_config_balance, 0,
	    CONFIG_NELEM(config_balance_vectors));
	tcase_add_loop_test(tc, test_config_backend_bounds, 0,
	    CONFIG_NELEM(config_backend_bound_vectors));
	tcase_add_test(tc, test_config_weight_bounds);
	tcase_add_loop_test(tc, test_config_retries_default, 0,
	    CONFIG_NELEM(config_pool_sizes));
	tcase_add_test(tc, test_config_retries_explicit);
	tcase_add_test(tc, test_config_too_many_servers);
	tcase_add_test(tc, test_config_unix_path_length);
	tcase_add_test(tc, test_config_strip_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("proxy");
	tcase_add_loop_test(tc, test_config_listen_proxy_protocol, 0,
	    CONFIG_NELEM(config_proxy_vectors));
	tcase_add_loop_test(tc, test_config_backend_proxy_protocol, 0,
	    CONFIG_NELEM(config_proxy_vectors));
	tcase_add_test(tc, test_config_websocket_proxy_protocol_off);
	tcase_add_test(tc, test_config_trusted_proxies);
	tcase_add_test(tc, test_config_trusted_proxies_without_proxy_protocol);
	tcase_add_test(tc, test_config_proxy_errors_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("tls");
	tcase_add_test(tc, test_config_tls_pair);
	tcase_add_test(tc, test_config_tls_certificates);
	tcase_add_loop_test(tc, test_config_tls_min_version, 0,
	    CONFIG_NELEM(config_tls_version_vectors));
	tcase_add_loop_test(tc, test_config_tls_relative_paths, 0,
	    CONFIG_NELEM(config_tls_path_vectors));
	tcase_add_test(tc, test_config_tls_load_relative);
	tcase_add_loop_test(tc, test_config_tls_error, 0,
	    CONFIG_NELEM(config_tls_error_vectors));
	tcase_add_test(tc, test_config_tls_errors_many);
	tcase_add_loop_test(tc, test_config_backend_tls_defaults, 0, 3);
	tcase_add_test(tc, test_config_backend_tls_false);
	tcase_add_test(tc, test_config_backend_tls_full);
	tcase_add_loop_test(tc, test_config_backend_tls_server_name, 0,
	    (int)(sizeof(config_server_names) /
	    sizeof(config_server_names[0])));
	tcase_add_loop_test(tc, test_config_backend_tls_error, 0,
	    (int)(sizeof(config_backend_tls_errors) /
	    sizeof(config_backend_tls_errors[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("hosts");
	tcase_add_test(tc, test_config_allowed_hosts);
	tcase_add_test(tc, test_config_allowed_hosts_lengths);
	tcase_add_loop_test(tc, test_config_hosts_error, 0,
	    CONFIG_NELEM(config_hosts_error_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_config_error, 0,
	    CONFIG_NELEM(config_error_vectors));
	tcase_add_test(tc, test_config_error_many);
	suite_add_tcase(s, tc);

	/* A resolver that does not answer can take a while to say so. */
	tc = tcase_create("resolver");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_config_error_unresolvable_server);
	tcase_add_test(tc, test_config_server_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifetime");
	tcase_add_test(tc, test_config_load_missing);
	tcase_add_test(tc, test_config_load_file);
	tcase_add_test(tc, test_config_load_large_file);
	tcase_add_test(tc, test_config_load_errors_name_the_file);
	tcase_add_test(tc, test_config_ref_unref);
	tcase_add_test(tc, test_config_ref_threads);
	suite_add_tcase(s, tc);

	return s;
}
