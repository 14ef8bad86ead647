/*
 * config — wsgate.yaml, loaded with libyaml into an immutable,
 * reference-counted struct config.
 *
 * The whole file is checked and every error is reported as
 * "file:line:col: yaml.path: message", so an operator fixes a file in one
 * round.  A config generation is shared by every worker thread and never
 * modified after loading, except for its reference count (atomic) and
 * the run-time state of each backend's servers (balancing and health),
 * which backend.c changes under the backend's lock.
 */
#ifndef WSGATE_CONFIG_H
#define WSGATE_CONFIG_H

#include <sys/socket.h>
#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "log.h"

#define CONFIG_ECHO_BACKEND	"echo"

enum backend_type {
	BACKEND_ECHO,		/* built in: echoes every message */
	BACKEND_TCP,		/* payload bytes to and from a TCP stream */
	BACKEND_WEBSOCKET	/* a WebSocket server: frames relayed */
};

enum backend_balance {
	BALANCE_ROUND_ROBIN,	/* smooth weighted round robin */
	BALANCE_LEAST_CONN,	/* fewest open sessions, by weight */
	BALANCE_IP_HASH		/* the client address picks the server */
};

#define BACKEND_MAX_SERVERS	64	/* a tried-set is one 64-bit word */

/* workers: 0 is "auto", one per online CPU (main resolves it). */
#define CONFIG_WORKERS_AUTO	0
#define CONFIG_MAX_WORKERS	64

/* How bytes from a tcp backend are framed towards the client. */
enum route_frames {
	ROUTE_FRAMES_BINARY,
	ROUTE_FRAMES_TEXT	/* text messages, validated as UTF-8 */
};

/*
 * PROXY protocol headers read by a listener or sent to a tcp backend.
 * The values equal enum proxyproto_version's, so they can be passed
 * to proxyproto_parse() as they are (config.c asserts it).
 */
enum config_proxy_protocol {
	CONFIG_PROXY_OFF = 0,	/* none: the default */
	CONFIG_PROXY_V1 = 1,
	CONFIG_PROXY_V2 = 2,
	CONFIG_PROXY_AUTO = 3	/* listeners only: either version */
};

/*
 * listen[].tls.  The config module does not open these files: tls.c
 * loads and checks them (at startup, on reload and for "wsgate -t").
 * Relative paths were resolved against the configuration file's
 * directory.
 */
struct config_tls_cert {
	char	*certificate;		/* PEM chain file */
	char	*key;			/* PEM key file */
};

struct config_tls {
	struct config_tls_cert	*certs;		/* ncerts >= 1; certs[0] is
						   the default (no or
						   unknown SNI) */
	size_t			 ncerts;
	int			 min_version;	/* TLS1_2_VERSION (default)
						   or TLS1_3_VERSION, from
						   <openssl/ssl.h> */
	char			*ciphers;	/* TLS 1.2 cipher list, or
						   NULL: tls.c's default */
	char			*ciphersuites;	/* TLS 1.3 suites, or NULL:
						   OpenSSL's default */
};

struct config_listen {
	char			*address;	/* as written */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	enum config_proxy_protocol proxy_protocol; /* not OFF: the config
						   has trusted_proxies */
	struct config_tls	*tls;		/* NULL: plain TCP */
	char		       **allowed_hosts;	/* Host must match one (tls.h
						   tls_name_matches()); IPv6
						   as "[addr]", canonical;
						   NULL: any host */
	size_t			 nallowed_hosts;
};

/*
 * admin: the HTTP listener of /metrics, /healthz and /sessions (admin.c),
 * on an IP address and port like a listen address.
 */
struct config_admin {
	char			*address;	/* as written */
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
};

/*
 * backends.NAME.tls: the servers of the backend speak TLS.  As for
 * listen[].tls, the files are not opened here: backend_tls_init()
 * builds the context at startup and for "wsgate -t".
 */
struct config_backend_tls {
	bool	 verify;		/* the chain and the name are checked
					   (default true) */
	char	*ca;			/* PEM bundle, or NULL: the system's
					   CA store */
	char	*server_name;		/* SNI and the name checked, or NULL:
					   each server's host */
	char	*certificate;		/* client certificate and key, both */
	char	*key;			/* or neither */
	int	 min_version;		/* TLS1_2_VERSION (default) or
					   TLS1_3_VERSION */
};

struct backend_runtime;
struct tls_client;

struct backend_server {
	char			*address;	/* as written: "host:port",
						   "[v6]:port", "unix:/path" */
	char			*host;		/* a name to re-resolve, or NULL
						   (numeric address, unix) */
	char			*port;
	unsigned		 weight;	/* 1-100, default 1 */
	char			*tls_name;	/* tls: SNI and the name
						   checked: server_name, else
						   the host or IP, or NULL */

	/*
	 * Run-time state of this generation, guarded by the backend's
	 * lock (backend.c): the address, which re-resolution may change,
	 * balancing and health.  Worker threads pick, count and report;
	 * the control thread runs the health checks and re-resolution.
	 */
	struct sockaddr_storage	 ss;		/* resolved at load time */
	socklen_t		 sslen;
	int			 current_weight;  /* smooth round robin */
	unsigned		 active;	  /* open sessions */
	unsigned		 fails;		  /* consecutive failures */
	uint64_t		 down_until;	  /* ms, monotonic; passive */
	bool			 check_failed;	  /* active health check */
};

struct backend_health_check {
	uint64_t		 interval;	/* ms; 0: no active checks */
	uint64_t		 timeout;	/* ms */
	char			*path;		/* websocket: handshake path */
};

struct backend {
	char			*name;
	uint64_t		 fingerprint;	/* of its text in the file */
	enum backend_type	 type;
	struct backend_server	*servers;
	size_t			 nservers;
	enum backend_balance	 balance;
	uint64_t		 connect_timeout;	/* ms */
	uint64_t		 handshake_timeout;	/* ms, websocket: 101 */
	unsigned		 retries;	/* further servers to try */
	unsigned		 fail_threshold; /* 0: no passive health */
	uint64_t		 fail_timeout;	/* ms a failed server rests */
	uint64_t		 resolve_interval; /* ms; 0: resolve once */
	struct backend_health_check health_check;
	char			*host;		/* websocket: Host to send, or
						   NULL to pass the client's */
	char			*path;		/* websocket: prefix put before
						   the request path, or NULL */
	enum config_proxy_protocol proxy_protocol; /* tcp only: OFF, V1 or
						   V2, sent first */
	struct config_backend_tls *tls;		/* NULL: plain TCP */
	struct tls_client	*tls_client;	/* from tls, made by
						   backend_tls_init(), freed
						   with the config */
	struct backend_runtime	*runtime;	/* timers and DNS, backend.c;
						   control thread only */
	pthread_mutex_t		 lock;		/* the run-time state of
						   servers, backend.c */
};

/* What a reload does to the sessions of a route it changes or removes. */
enum route_reload {
	ROUTE_RELOAD_KEEP,	/* they go on with the old configuration */
	ROUTE_RELOAD_DRAIN	/* close 1001 after drain_timeout */
};

#define CONFIG_DRAIN_TIMEOUT	(30 * 1000)	/* ms */

/*
 * All durations in milliseconds, all sizes in bytes, rates per second;
 * 0 means "off".  A route has its own copy, with the keys it may change
 * (route_limit_keys in config.c) set from its limits: and the others
 * from the global ones.
 */
struct config_limits {
	uint64_t	handshake_timeout;	/* accept to the whole head */
	uint64_t	tls_handshake_timeout;	/* accept to TLS established */
	uint64_t	max_request_head;
	uint64_t	max_headers;		/* fields in a request head */
	uint64_t	max_message;
	uint64_t	buffer_high_watermark;
	uint64_t	max_connection_memory;	/* buffered by a session */
	uint64_t	max_connections;	/* the whole process */
	uint64_t	max_connections_per_ip;
	uint64_t	handshake_rate;		/* per client IP */
	uint64_t	handshake_burst;
	uint64_t	message_rate;		/* from a client, per session */
	uint64_t	message_burst;
	uint64_t	max_lifetime;		/* of a session */
	uint64_t	ping_interval;
	uint64_t	pong_timeout;
	uint64_t	idle_timeout;
	uint64_t	close_timeout;
	uint64_t	shutdown_timeout;	/* SIGTERM to exit, at most */
};

struct route {
	char			*host;		/* NULL: any host */
	char			*path;		/* NULL: any path */
	bool			 path_exact;
	char			*subprotocol;	/* NULL: no condition */
	char		       **origins;	/* NULL: any origin */
	size_t			 norigins;
	bool			 origin_same;	/* Origin host must be Host */
	bool			 strip_prefix;	/* drop match.path before
						   passing the path on */
	char		       **subprotocols;	/* selectable, in order */
	size_t			 nsubprotocols;
	struct backend		*be;
	enum route_frames	 frames;
	enum route_reload	 on_reload;
	uint64_t		 drain_timeout;	/* ms */
	uint64_t		 fingerprint;	/* its text and its backend's */
	struct config_limits	 limits;	/* the global ones, with the
						   route's own limits: */
};

struct config {
	atomic_uint		 refcnt;	/* sessions of every worker */
	char			*path;
	unsigned		 workers;	/* 1-64, or 0: auto */
	char			*user;		/* run as, once bound; NULL:
						   not set */
	char			*group;		/* NULL: user's primary one */
	uid_t			 uid;		/* of user */
	gid_t			 gid;		/* of group */
	struct config_listen	*listens;
	size_t			 nlistens;
	struct cidr		*trusted_proxies; /* peers whose PROXY
						   headers and X-Forwarded-For
						   are believed; NULL if none */
	size_t			 ntrusted_proxies;
	struct config_admin	*admin;		/* NULL: no admin listener */
	enum log_level		 log_level;
	enum log_format		 log_format;
	bool			 log_access;	/* a line per connection */
	bool			 log_query;	/* query strings in them */
	struct config_limits	 limits;
	struct backend		*backends;	/* backends[0] is echo */
	size_t			 nbackends;
	struct route		*routes;
	size_t			 nroutes;
};

/*
 * Parses and validates a configuration held in memory; name is used in
 * error messages.  Returns a config with one reference, or NULL with
 * every error, one per line, in *errors (caller frees).
 */
struct config	*config_parse(const char *name, const char *text, size_t len,
		    char **errors);

/* Same, for a file. */
struct config	*config_load(const char *path, char **errors);

/*
 * Takes and drops a reference; any thread may, the last one frees cfg.
 * config_unref(NULL) does nothing.
 */
struct config	*config_ref(struct config *cfg);
void		 config_unref(struct config *cfg);

/* Looks up a backend by name; NULL when there is none. */
struct backend	*config_find_backend(const struct config *cfg,
		    const char *name);

/*
 * Whether cfg has a route with this fingerprint: the same text, with a
 * backend of the same text (a reload keeps such a route's sessions).
 */
bool		 config_has_route(const struct config *cfg,
		    uint64_t fingerprint);

#endif
