/*
 * main — options, startup, signals and shutdown.
 *
 * wsgate runs in the foreground (systemd style) and logs to stderr.
 * SIGTERM and SIGINT start a graceful shutdown: stop accepting, close
 * 1001 to every client, wait for the close handshakes (bounded), exit 0;
 * a second signal exits at once.
 */
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

#include "backend.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "session.h"

#define MAIN_DEFAULT_CONFIG	"/etc/wsgate/wsgate.yaml"

static struct event_base	*main_base;
static struct listener		*main_listener;
static struct event		*main_deadline;
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

static void
main_all_closed(void)
{
	log_info("all sessions closed, exiting");
	event_base_loopexit(main_base, NULL);
}

static void
main_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_info("shutdown: %zu sessions still open, exiting",
	    session_count());
	event_base_loopexit(main_base, NULL);
}

static void
main_stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct config	*cfg = arg;
	struct timeval	 tv;
	uint64_t	 ms = cfg->limits.close_timeout + 1000;

	(void)what;
	if (main_stopping) {
		log_info("signal %d again: exiting now", (int)sig);
		event_base_loopbreak(main_base);
		return;
	}
	main_stopping = true;
	log_info("signal %d: shutting down, %zu sessions open", (int)sig,
	    session_count());
	listener_free(main_listener);
	main_listener = NULL;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(main_deadline, &tv);
	session_shutdown_all(main_all_closed);
}

static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	/* Reload arrives with the operations work (issue 6). */
	log_warnx("SIGHUP: configuration reload is not implemented yet, "
	    "ignored");
}

int
main(int argc, char *argv[])
{
	const char	*path = MAIN_DEFAULT_CONFIG;
	struct config	*cfg;
	struct evdns_base *dns;
	struct event	*ev_term, *ev_int, *ev_hup;
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
	if (check_only) {
		fprintf(stderr, "%s: configuration is valid\n", path);
		config_unref(cfg);
		return 0;
	}
	log_set_level(cfg->log_level);
	signal(SIGPIPE, SIG_IGN);

	if ((main_base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	/* For re-resolving backend server names; /etc/resolv.conf. */
	if ((dns = evdns_base_new(main_base,
	    EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL)
		log_warnx("evdns: no name servers, backend names will not be "
		    "re-resolved");
	if (backend_runtime_start(cfg, main_base, dns) == -1)
		fatalx("cannot start backend health checks");
	ev_term = evsignal_new(main_base, SIGTERM, main_stop_cb, cfg);
	ev_int = evsignal_new(main_base, SIGINT, main_stop_cb, cfg);
	ev_hup = evsignal_new(main_base, SIGHUP, main_hup_cb, NULL);
	main_deadline = evtimer_new(main_base, main_deadline_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    main_deadline == NULL || evsignal_add(ev_term, NULL) == -1 ||
	    evsignal_add(ev_int, NULL) == -1 ||
	    evsignal_add(ev_hup, NULL) == -1)
		fatalx("cannot install signal handlers");
	/* After the handlers: a SIGTERM once we listen must be graceful. */
	if ((main_listener = listener_open(main_base, cfg)) == NULL)
		fatalx("cannot listen, exiting");
	log_info("wsgate %s started with %s (%zu routes)", WSGATE_VERSION,
	    path, cfg->nroutes);

	event_base_dispatch(main_base);

	listener_free(main_listener);
	backend_runtime_stop(cfg);
	if (dns != NULL)
		evdns_base_free(dns, 1);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(main_deadline);
	event_base_free(main_base);
	config_unref(cfg);
	return 0;
}
