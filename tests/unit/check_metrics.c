/*
 * check_metrics — unit tests of the metrics module: the Prometheus text
 * exposition (label values with backslash, double quote and newline
 * escaped; HELP and TYPE before every family), histogram accounting
 * (cumulative le buckets with bounds inclusive, +Inf, _sum, _count),
 * connections counted per route and without one, and counters written
 * by several worker threads at once.
 *
 * metrics keeps process-wide state, so each test runs in its own child
 * (Check's default fork mode) and uses labels of its own.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config.h"
#include "metrics.h"
#include "check_main.h"

#define MT_NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MT_THREADS	4
#define MT_ROUNDS	20000

/* The whole exposition as a string; the caller frees it. */
static char *
mt_render(struct config *cfg)
{
	struct evbuffer	*out = evbuffer_new();
	size_t		 len;
	char		*text;

	ck_assert_ptr_nonnull(out);
	metrics_render(out, cfg);
	len = evbuffer_get_length(out);
	text = malloc(len + 1);
	ck_assert_ptr_nonnull(text);
	evbuffer_remove(out, text, len);
	text[len] = '\0';
	evbuffer_free(out);
	return text;
}

/*
 * The value of the sample whose name and labels are exactly series, as
 * written; -1 when there is no such line.
 */
static double
mt_value(const char *text, const char *series)
{
	size_t		 n = strlen(series);
	const char	*line;

	for (line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
		if (strncmp(line, series, n) == 0 && line[n] == ' ')
			return strtod(line + n + 1, NULL);
		if (strchr(line, '\n') == NULL)
			break;
	}
	return -1;
}

static struct config *
mt_config(void)
{
	static const char yaml[] =
	    "listen: [{ address: \"127.0.0.1:0\" }]\n"
	    "routes:\n"
	    "  - { match: { path: /mt }, backend: echo }\n"
	    "  - { match: { host: example.com }, backend: echo }\n";
	struct config	*cfg;
	char		*errors;

	cfg = config_parse("mt.yaml", yaml, sizeof(yaml) - 1, &errors);
	ck_assert_msg(cfg != NULL, "config: %s", errors);
	return cfg;
}

/* exposition ---------------------------------------------------------- */

START_TEST(test_metrics_label_escaping)
{
	char	*text;

	ck_assert_int_eq(metrics_init(1), 0);
	metrics_backend_connect("a\\b\"c\nd", 1000);
	text = mt_render(NULL);
	ck_assert_double_eq(mt_value(text, "wsgate_backend_connect_seconds_"
	    "count{backend=\"a\\\\b\\\"c\\nd\"}"), 1);
	/* No raw newline inside the label: every line is a whole sample. */
	ck_assert_ptr_null(strstr(text, "a\\b\"c\nd"));
	free(text);
}
END_TEST

START_TEST(test_metrics_help_and_type)
{
	static const char *const families[] = {
		"wsgate_connections_active gauge",
		"wsgate_connections_total counter",
		"wsgate_handshakes_total counter",
		"wsgate_closes_total counter",
		"wsgate_bytes_total counter",
		"wsgate_messages_total counter",
		"wsgate_backend_server_up gauge",
		"wsgate_backend_connect_seconds histogram",
		"wsgate_session_duration_seconds histogram",
		"wsgate_config_generation gauge",
		"wsgate_reloads_total counter",
		"wsgate_build_info gauge",
		"wsgate_start_time_seconds gauge"
	};
	char	*text, type[128], help[128];
	size_t	 i;

	ck_assert_int_eq(metrics_init(1), 0);
	text = mt_render(NULL);
	for (i = 0; i < MT_NELEM(families); i++) {
		snprintf(type, sizeof(type), "\n# TYPE %s\n", families[i]);
		snprintf(help, sizeof(help), "# HELP %.*s ",
		    (int)strcspn(families[i], " "), families[i]);
		ck_assert_msg(strstr(text, type) != NULL, "no %s", type);
		ck_assert_msg(strstr(text, help) != NULL, "no %s", help);
	}
	ck_assert_double_eq(mt_value(text, "wsgate_config_generation"), 1);
	metrics_note_reload(true);
	metrics_note_reload(false);
	metrics_note_reload(false);
	free(text);
	text = mt_render(NULL);
	ck_assert_double_eq(mt_value(text, "wsgate_config_generation"), 2);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_reloads_total{result=\"success\"}"), 1);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_reloads_total{result=\"failure\"}"), 2);
	free(text);
}
END_TEST

/* histograms ---------------------------------------------------------- */

START_TEST(test_metrics_histogram_buckets)
{
	/* In microseconds; a bound belongs to its own bucket (le). */
	static const uint64_t	 seen[] = { 500, 1000, 3000, 70000, 7000000 };
	static const struct {
		const char	*le;
		double		 count;
	} want[] = {
		{ "0.001", 2 }, { "0.005", 3 }, { "0.01", 3 }, { "0.05", 3 },
		{ "0.1", 4 }, { "0.5", 4 }, { "1", 4 }, { "5", 4 },
		{ "+Inf", 5 }
	};
	char	*text, series[128];
	size_t	 i;

	ck_assert_int_eq(metrics_init(1), 0);
	for (i = 0; i < MT_NELEM(seen); i++)
		metrics_backend_connect("hist", seen[i]);
	text = mt_render(NULL);
	for (i = 0; i < MT_NELEM(want); i++) {
		snprintf(series, sizeof(series), "wsgate_backend_connect_"
		    "seconds_bucket{backend=\"hist\",le=\"%s\"}", want[i].le);
		ck_assert_msg(mt_value(text, series) == want[i].count,
		    "%s: %g, not %g", series, mt_value(text, series),
		    want[i].count);
	}
	ck_assert_double_eq(mt_value(text, "wsgate_backend_connect_seconds_"
	    "count{backend=\"hist\"}"), 5);
	ck_assert_double_eq_tol(mt_value(text, "wsgate_backend_connect_"
	    "seconds_sum{backend=\"hist\"}"), 7.0745, 1e-9);
	free(text);
}
END_TEST

/* connections --------------------------------------------------------- */

START_TEST(test_metrics_connection_without_route)
{
	struct metrics_conn	 mc;
	char			*text;

	ck_assert_int_eq(metrics_init(1), 0);
	metrics_conn_open(&mc, 0);
	text = mt_render(NULL);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_active{route=\"-\"}"), 1);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_total{route=\"-\"}"), 0);
	free(text);
	/* Ended before any answer: status 0, no close, no duration. */
	metrics_conn_close(&mc, 0, 0, "client", 5000);
	text = mt_render(NULL);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_active{route=\"-\"}"), 0);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_total{route=\"-\"}"), 1);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_handshakes_total{status=\"0\"}"), 1);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_session_duration_seconds_count"), 0);
	free(text);
}
END_TEST

START_TEST(test_metrics_route_labels)
{
	struct config		*cfg = mt_config();
	struct metrics_conn	 mc;
	char			*text;

	ck_assert_int_eq(metrics_init(1), 0);
	metrics_register(cfg);
	text = mt_render(cfg);
	/* Registered: shown at 0 before the first connection. */
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_total{route=\"/mt\"}"), 0);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_total{route=\"routes[1]\"}"), 0);
	free(text);
	metrics_conn_open(&mc, 0);
	metrics_conn_route(&mc, cfg, &cfg->routes[1]);
	ck_assert_str_eq(mc.route, "routes[1]");
	metrics_conn_traffic(&mc, 10, 2, 0, 0);
	metrics_conn_traffic(&mc, 15, 3, 15, 3);
	text = mt_render(cfg);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_active{route=\"routes[1]\"}"), 1);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_active{route=\"-\"}"), 0);
	ck_assert_double_eq(mt_value(text, "wsgate_bytes_total{route="
	    "\"routes[1]\",direction=\"in\"}"), 15);
	ck_assert_double_eq(mt_value(text, "wsgate_messages_total{route="
	    "\"routes[1]\",direction=\"out\"}"), 3);
	free(text);
	config_unref(cfg);
}
END_TEST

/* threads ------------------------------------------------------------- */

struct mt_worker {
	pthread_t		 thread;
	unsigned		 id;
	struct config		*cfg;
};

/* A worker's sessions: 10 bytes in one message each way, closed 1000. */
static void *
mt_worker_main(void *arg)
{
	struct mt_worker	*w = arg;
	struct metrics_conn	 mc;
	int			 i;

	for (i = 0; i < MT_ROUNDS; i++) {
		metrics_conn_open(&mc, w->id);
		metrics_conn_route(&mc, w->cfg, &w->cfg->routes[0]);
		metrics_handshake(101);
		metrics_conn_traffic(&mc, 10, 1, 10, 1);
		metrics_conn_close(&mc, 101, 1000, "client", 2000000);
	}
	return NULL;
}

START_TEST(test_metrics_threads)
{
	struct mt_worker	 w[MT_THREADS];
	struct config		*cfg = mt_config();
	double			 n = (double)MT_THREADS * MT_ROUNDS;
	char			*text;
	unsigned		 i;

	ck_assert_int_eq(metrics_init(MT_THREADS), 0);
	for (i = 0; i < MT_THREADS; i++) {
		w[i].id = i;
		w[i].cfg = cfg;
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL,
		    mt_worker_main, &w[i]), 0);
	}
	for (i = 0; i < MT_THREADS; i++)
		pthread_join(w[i].thread, NULL);
	text = mt_render(cfg);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_total{route=\"/mt\"}"), n);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_connections_active{route=\"/mt\"}"), 0);
	ck_assert_double_eq(mt_value(text, "wsgate_bytes_total{route=\"/mt\","
	    "direction=\"in\"}"), 10 * n);
	ck_assert_double_eq(mt_value(text, "wsgate_messages_total{route="
	    "\"/mt\",direction=\"out\"}"), n);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_handshakes_total{status=\"101\"}"), n);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_closes_total{code=\"1000\",by=\"client\"}"), n);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_session_duration_seconds_bucket{le=\"1\"}"), 0);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_session_duration_seconds_bucket{le=\"10\"}"), n);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_session_duration_seconds_count"), n);
	ck_assert_double_eq(mt_value(text,
	    "wsgate_session_duration_seconds_sum"), 2 * n);
	free(text);
	config_unref(cfg);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc;

	tc = tcase_create("exposition");
	tcase_add_test(tc, test_metrics_label_escaping);
	tcase_add_test(tc, test_metrics_help_and_type);
	suite_add_tcase(s, tc);
	tc = tcase_create("histograms");
	tcase_add_test(tc, test_metrics_histogram_buckets);
	suite_add_tcase(s, tc);
	tc = tcase_create("connections");
	tcase_add_test(tc, test_metrics_connection_without_route);
	tcase_add_test(tc, test_metrics_route_labels);
	suite_add_tcase(s, tc);
	tc = tcase_create("threads");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_metrics_threads);
	suite_add_tcase(s, tc);
	return s;
}
