/*
 * main — options, startup, signals and shutdown.
 *
 * wsgate runs in the foreground (systemd style) and logs to stderr.  The
 * main thread binds the listening sockets, starts the workers
 * (worker.c), and then runs the control loop: signals, backend health
 * checks and name re-resolution.  SIGTERM and SIGINT start a graceful
 * shutdown: every worker stops accepting, closes 1001 to each client and
 * waits for the close handshakes (bounded); the process exits 0 when all
 * workers are done.  A second signal stops them at once.
 *
 * SIGHUP reloads the configuration file: parsed and checked as at
 * startup (certificates and keys included); an invalid file changes
 * nothing and every error is logged.  A valid one becomes a new
 * generation: listeners that remain are kept open and moved over, new
 * ones are bound, removed ones closed; new connections get the new
 * generation, while every running session keeps the one it started with
 * (reference counted) unless its route asks to be drained.
 *
 * The admin listener (admin.c: /healthz, /metrics, /sessions), when
 * configured, is bound with the other sockets, before privileges are
 * dropped, and served from the main thread's loop; /healthz turns to 503
 * as soon as a shutdown begins, so that load balancers stop sending
 * clients while the workers close theirs.
 *
 * Under systemd (Type=notify) the main thread reports READY=1 once every
 * listener is bound and the workers run, RELOADING=1 and READY=1 around
 * a reload, STOPPING=1 at shutdown, and the connection counts in STATUS=
 * every few seconds while they change.
 */
#include <sys/resource.h>

#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <yaml.h>

#include "admin.h"
#include "backend.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "privdrop.h"
#include "session.h"
#include "tls.h"
#include "worker.h"

#define MAIN_DEFAULT_CONFIG	"/etc/wsgate/wsgate.yaml"
/* Certificates closer to their end than this are warned of. */
#define MAIN_CERT_WARN_DAYS	14
/* How often the connection counts in systemd's STATUS= may change. */
#define MAIN_STATUS_INTERVAL	5

static struct event_base	*main_base;
static const char		*main_path;	/* the configuration file */
static struct config		*main_cfg;	/* the current generation */
static unsigned			 main_generation = 1;
static struct evdns_base	*main_dns;
static struct listener_set	*main_old_listeners; /* until reloaded */
static unsigned			 main_reloading;	/* workers to answer */
static bool			 main_reload_again;	/* SIGHUP meanwhile */
static struct worker		**main_workers;
static struct listener_set	*main_listeners;
static struct admin		*main_admin;	/* NULL: no admin listener */
static unsigned			 main_nworkers;
static unsigned			 main_running;	/* workers not done yet */
static bool			 main_stopping;

static void
main_usage(FILE *fp)
{
	fprintf(fp, "usage: wsgate [-tVh] [-c file]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -t       check the configuration and exit\n"
	    "  -V       print version and library versions\n"
	    "  -h       print this help\n", MAIN_DEFAULT_CONFIG);
}

static void
main_version(void)
{
	printf("wsgate %s\n"
	    "libevent %s\n"
	    "%s\n"
	    "libyaml %s\n", WSGATE_VERSION, event_get_version(),
	    OpenSSL_version(OPENSSL_VERSION), yaml_get_version_string());
}

/* How main_check_certificates() speaks: stderr, or the log. */
struct main_say {
	void	(*error)(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
	void	(*warning)(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
};

static void	main_stderr_error(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static void	main_stderr_warning(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

static void
main_stderr_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
main_stderr_warning(const char *fmt, ...)
{
	va_list	ap;

	fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* -t and startup: on stderr, before the log is set up. */
static const struct main_say main_say_stderr = {
	main_stderr_error, main_stderr_warning
};
/* A reload: in the log. */
static const struct main_say main_say_log = { log_warnx, log_warnx };

/*
 * Every certificate/key pair of the TLS listeners loads, matches and is
 * valid now; one that expires within MAIN_CERT_WARN_DAYS is warned of.
 * For -t, at every start and at every certificate reload.
 */
static int
main_check_certificates(const struct config *cfg, const struct main_say *say)
{
	struct tls_cert	 c;
	char		 err[512];
	long		 days;
	size_t		 i, j;
	int		 rc = 0;

	for (i = 0; i < cfg->nlistens; i++) {
		const struct config_tls	*t = cfg->listens[i].tls;

		for (j = 0; t != NULL && j < t->ncerts; j++) {
			c.certificate = t->certs[j].certificate;
			c.key = t->certs[j].key;
			if (tls_check_pair(&c, &days, err, sizeof(err)) == -1) {
				say->error("listen %s: tls: %s",
				    cfg->listens[i].address, err);
				rc = -1;
			} else if (days < MAIN_CERT_WARN_DAYS) {
				say->warning("listen %s: tls: %s expires in "
				    "%ld days", cfg->listens[i].address,
				    c.certificate, days);
			}
		}
	}
	return rc;
}

/* A worker's loop ended (from the main loop); the last one ends ours. */
static void
main_worker_done(unsigned id, void *arg)
{
	(void)arg;
	log_debug("worker %u finished", id);
	if (--main_running == 0) {
		log_info("all workers finished, exiting");
		event_base_loopexit(main_base, NULL);
	}
}

static void
main_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	unsigned	i;

	(void)what;
	(void)arg;
	if (main_stopping) {
		log_info("signal %d again: exiting now", (int)sig);
		for (i = 0; i < main_nworkers; i++)
			worker_stop(main_workers[i]);
		return;
	}
	main_stopping = true;
	if (main_admin != NULL)
		admin_stopping(main_admin);
	log_info("signal %d: shutting down", (int)sig);
	notify_stopping();
	notify_status("shutting down: closing every connection with 1001");
	for (i = 0; i < main_nworkers; i++)
		worker_shutdown(main_workers[i]);
}

/*
 * The TLS client contexts of the backends with tls: their files load,
 * for -t and at every start.  verify: false is warned of each time: it
 * turns the servers' authentication off.
 */
static int
main_backend_tls(struct config *cfg, const struct main_say *say)
{
	struct backend	*be;
	char		 err[512];
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < cfg->nbackends; i++) {
		be = &cfg->backends[i];
		if (be->tls == NULL)
			continue;
		if (backend_tls_init(be, err, sizeof(err)) == -1) {
			say->error("backend %s: tls: %s", be->name, err);
			rc = -1;
		} else if (!be->tls->verify)
			log_warnx("backend %s: tls verify is off: the "
			    "certificates of its servers are not checked, "
			    "anyone on the path can pose as them", be->name);
	}
	return rc;
}

/* Logs each line of a configuration's error text at warn. */
static void
main_log_errors(char *errors)
{
	char	*line, *save = NULL;

	for (line = strtok_r(errors, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_warnx("%s", line);
}

static void
main_reload_failed(const char *why)
{
	log_warnx("reload failed: %s; generation %u stays in use", why,
	    main_generation);
	metrics_note_reload(false);
	notify_ready_status("reload failed (%s), generation %u stays in use; "
	    "see the log", why, main_generation);
}

/* What a reload cannot change in a running process, said once. */
static void
main_reload_fixed(const struct config *cfg)
{
	if (worker_count(cfg) != main_nworkers)
		log_warnx("reload: workers stays %u until a restart",
		    main_nworkers);
	if ((cfg->user == NULL) != (main_cfg->user == NULL) ||
	    (cfg->user != NULL && (cfg->uid != main_cfg->uid ||
	    cfg->gid != main_cfg->gid)))
		log_warnx("reload: user and group take effect at a restart");
}

/* The configuration file again, as a new generation; see the top. */
static void
main_reload(void)
{
	struct config		*cfg;
	struct listener_set	*set;
	char			*errors;
	unsigned		 i;

	if (main_reloading > 0) {
		main_reload_again = true;	/* after this one */
		return;
	}
	log_info("SIGHUP: reloading %s", main_path);
	notify_reloading();
	if ((cfg = config_load(main_path, &errors)) == NULL) {
		main_log_errors(errors);
		free(errors);
		main_reload_failed("the configuration is invalid");
		return;
	}
	if ((main_check_certificates(cfg, &main_say_log) |
	    main_backend_tls(cfg, &main_say_log)) == -1) {
		config_unref(cfg);
		main_reload_failed("certificates or keys cannot be used");
		return;
	}
	main_reload_fixed(cfg);
	if ((set = listener_bind(cfg, main_nworkers, main_listeners)) ==
	    NULL) {
		config_unref(cfg);
		main_reload_failed("cannot listen");
		return;
	}
	if (backend_runtime_start(cfg, main_base, main_dns) == -1) {
		listener_set_free(set);
		config_unref(cfg);
		main_reload_failed("cannot start health checks");
		return;
	}
	backend_runtime_stop(main_cfg);
	config_unref(main_cfg);
	main_cfg = cfg;
	log_set_level(cfg->log_level);
	log_set_format(cfg->log_format);
	main_generation++;
	metrics_register(cfg);
	metrics_note_reload(true);
	if (main_admin != NULL)
		admin_set_config(main_admin, cfg);
	main_old_listeners = main_listeners;
	main_listeners = set;
	main_reloading = main_nworkers;
	for (i = 0; i < main_nworkers; i++)
		worker_reload_to(main_workers[i], set, cfg);
}

/* A worker took the new generation; the last one completes the reload. */
static void
main_worker_reloaded(unsigned id, void *arg)
{
	(void)arg;
	log_debug("worker %u reloaded", id);
	if (--main_reloading > 0)
		return;
	listener_set_free(main_old_listeners);	/* every socket moved */
	main_old_listeners = NULL;
	log_info("reloaded %s: generation %u (%zu routes)", main_path,
	    main_generation, main_cfg->nroutes);
	notify_ready_status("configuration generation %u in use",
	    main_generation);
	if (main_reload_again && !main_stopping) {
		main_reload_again = false;
		main_reload();
	}
}

static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	if (main_stopping || main_listeners == NULL)
		return;
	main_reload();
}

/* STATUS= for "systemctl status", when the counts have changed. */
static void
main_status_cb(evutil_socket_t fd, short what, void *arg)
{
	static size_t	 last_open = SIZE_MAX;
	static uint64_t	 last_accepted;
	size_t		 open;
	uint64_t	 accepted;

	(void)fd;
	(void)what;
	(void)arg;
	session_totals(&open, &accepted);
	if (main_stopping || (open == last_open && accepted == last_accepted))
		return;
	last_open = open;
	last_accepted = accepted;
	notify_status("%zu connections open, %llu accepted since start", open,
	    (unsigned long long)accepted);
}

/*
 * A session takes two descriptors (client, backend); a soft limit of
 * 1024 would make max_connections a fiction.  Raised to the hard limit,
 * as HAProxy does; a hard limit still too low gets a warning (systemd's
 * LimitNOFILE= or ulimit -n raise it).  Running out anyway pauses
 * accepting (listener.c), it does not stop wsgate.
 */
#define MAIN_SPARE_FDS	64	/* listeners, logs, workers' pipes */

static void
main_raise_nofile(const struct config *cfg)
{
	struct rlimit	rl;
	uint64_t	want = 2 * cfg->limits.max_connections + MAIN_SPARE_FDS;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		log_warnx("max_connections %llu needs up to %llu descriptors, "
		    "the limit is %llu: past it accepting pauses (raise "
		    "LimitNOFILE= or ulimit -n)",
		    (unsigned long long)cfg->limits.max_connections,
		    (unsigned long long)want, (unsigned long long)rl.rlim_cur);
}

/*
 * Binds every listening socket (and loads the certificates) and the
 * admin listener, gives up root, then starts the workers on them.
 */
static void
main_start_workers(struct config *cfg)
{
	struct listener_set	*set;
	unsigned		 i, n = worker_count(cfg);

	if (metrics_init(n) == -1)
		fatalx("metrics: out of memory");
	metrics_register(cfg);
	main_raise_nofile(cfg);
	if ((set = listener_bind(cfg, n, NULL)) == NULL)
		fatalx("cannot listen, exiting");
	if (cfg->admin != NULL &&
	    (main_admin = admin_new(main_base, cfg)) == NULL)
		fatalx("cannot listen, exiting");
	if (privdrop(cfg) == -1)
		fatalx("exiting");
	if ((main_workers = calloc(n, sizeof(*main_workers))) == NULL)
		fatal("calloc");
	for (i = 0; i < n; i++) {
		main_workers[i] = worker_start(i, set, cfg, main_base,
		    main_worker_done, main_worker_reloaded, NULL);
		if (main_workers[i] == NULL)
			fatalx("cannot start worker %u, exiting", i);
		main_nworkers++;
		main_running++;
	}
	main_listeners = set;
	if (main_admin != NULL)
		admin_set_workers(main_admin, main_workers, main_nworkers);
}

static void
main_free_workers(void)
{
	unsigned	i;

	for (i = 0; i < main_nworkers; i++)
		worker_free(main_workers[i]);
	/* After the workers: questions to them refer to it. */
	admin_free(main_admin);
	free(main_workers);
	listener_set_free(main_listeners);
	listener_set_free(main_old_listeners);
}

int
main(int argc, char *argv[])
{
	const char	*path = MAIN_DEFAULT_CONFIG;
	struct config	*cfg;
	struct event	*ev_term, *ev_int, *ev_hup, *ev_status = NULL;
	struct timeval	 status_tv = { MAIN_STATUS_INTERVAL, 0 };
	char		*errors;
	bool		 check_only = false;
	int		 ch;

	while ((ch = getopt(argc, argv, "c:thV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'V':
			main_version();
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return 2;
	}

	if ((cfg = config_load(path, &errors)) == NULL) {
		fputs(errors ? errors : "out of memory\n", stderr);
		free(errors);
		if (check_only)
			fprintf(stderr, "%s: configuration is invalid\n", path);
		return 1;
	}
	main_path = path;
	main_cfg = cfg;
	log_init();
	log_set_level(cfg->log_level);
	log_set_format(cfg->log_format);
	/* Both, so that every file in error is reported at once. */
	if ((main_check_certificates(cfg, &main_say_stderr) |
	    main_backend_tls(cfg, &main_say_stderr)) == -1) {
		fprintf(stderr, "%s: configuration is invalid\n", path);
		config_unref(cfg);
		return 1;
	}
	if (check_only) {
		fprintf(stderr, "%s: configuration is valid\n", path);
		config_unref(cfg);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	(void)notify_init();

	if ((main_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	/* For re-resolving backend server names; /etc/resolv.conf. */
	if ((main_dns = evdns_base_new(main_base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		log_warnx("evdns: no name servers, backend names will not be "
		    "re-resolved");
	if (backend_runtime_start(cfg, main_base, main_dns) == -1)
		fatalx("cannot start backend health checks");
	ev_term = evsignal_new(main_base, SIGTERM, main_stop_cb, NULL);
	ev_int = evsignal_new(main_base, SIGINT, main_stop_cb, NULL);
	ev_hup = evsignal_new(main_base, SIGHUP, main_hup_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    evsignal_add(ev_term, NULL) == -1 ||
	    evsignal_add(ev_int, NULL) == -1 ||
	    evsignal_add(ev_hup, NULL) == -1)
		fatalx("cannot install signal handlers");
	/* After the handlers: a SIGTERM once we listen must be graceful. */
	main_start_workers(cfg);
	log_info("wsgate %s started with %s (%zu routes, %u workers)",
	    WSGATE_VERSION, path, cfg->nroutes, main_nworkers);
	notify_ready("accepting connections");
	if (notify_active() && ((ev_status = event_new(main_base, -1,
	    EV_PERSIST, main_status_cb, NULL)) == NULL ||
	    event_add(ev_status, &status_tv) == -1))
		log_warnx("systemd STATUS= updates unavailable");

	event_base_dispatch(main_base);

	main_free_workers();
	backend_runtime_stop(main_cfg);
	if (main_dns != NULL)
		evdns_base_free(main_dns, 1);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	if (ev_status != NULL)
		event_free(ev_status);
	event_base_free(main_base);
	config_unref(main_cfg);
	return 0;
}
