/*
 * log — diagnostics on stderr.
 *
 * Each line is formatted whole into a buffer and written with one
 * fputs under stdio's lock, so lines from the threads never interleave.
 *
 * Two decorations: a timestamp (UTC, milliseconds) when stderr is a
 * terminal or a file, or the "<N>" priority prefix of sd-daemon(3) when
 * stderr is the journal's stream ($JOURNAL_STREAM names the very device
 * and inode of fd 2): journald keeps its own timestamps and turns the
 * prefix into the PRIORITY field.  And two formats: text, "level:
 * message", or one JSON object per line for log shippers.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* A line: a message of up to 1 KiB, escaped (x6 at worst), and fields. */
#define LOG_LINE_MAX	8192

static enum log_level log_current = LOG_LEVEL_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static bool log_journal;

static const char *const log_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug"
};

/* syslog(3) priorities, as journald reads them from "<N>". */
static const int log_priorities[] = {
	[LOG_LEVEL_ERROR] = 3,
	[LOG_LEVEL_WARN] = 4,
	[LOG_LEVEL_INFO] = 6,
	[LOG_LEVEL_DEBUG] = 7
};
void
log_set_level(enum log_level level)
{
	log_current = level;
}

int
log_level_from_name(const char *name, enum log_level *level)
{
	size_t	i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(name, log_names[i]) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int
log_enabled(enum log_level level)
{
	return level <= log_current;
}

void
log_set_format(enum log_format format)
{
	log_fmt = format;
}

/* Whether fd 2 is the stream systemd connected to the journal. */
static bool
log_stderr_is_journal(void)
{
	const char		*v = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (v == NULL || sscanf(v, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(2, &st) == -1)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(void)
{
	log_journal = log_stderr_is_journal();
}

/* A bounded appender: what does not fit is cut, never overflows. */
struct log_buf {
	char	*p;
	size_t	 len, size;
};

static void
log_add(struct log_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_add(struct log_buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (b->len + 1 >= b->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n < b->size - b->len ? (size_t)n :
		    b->size - b->len - 1;
}

/*
 * s as the inside of a JSON string: quotes, backslashes and every byte
 * outside printable ASCII escaped (the request parser lets none of the
 * latter into a target, and wsgate's own messages are ASCII).
 */
static void
log_add_json_string(struct log_buf *b, const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			log_add(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			log_add(b, "\\u%04x", *p);
		else
			log_add(b, "%c", *p);
	}
}

/* The start of every line: "<N>" or a timestamp, then the level. */
static void
log_add_prefix(struct log_buf *b, enum log_level level)
{
	char		 stamp[32];
	struct timespec	 ts;
	struct tm	 tm;

	if (log_journal)
		log_add(b, "<%d>", log_priorities[level]);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (log_fmt == LOG_FORMAT_JSON)
		log_add(b, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\"", stamp,
		    ts.tv_nsec / 1000000, log_names[level]);
	else if (log_journal)
		log_add(b, "%s: ", log_names[level]);
	else
		log_add(b, "%s.%03ldZ %s: ", stamp, ts.tv_nsec / 1000000,
		    log_names[level]);
}

static void
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char		msg[1024], line[LOG_LINE_MAX];
	struct log_buf	b = { line, 0, sizeof(line) };

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_add_prefix(&b, level);
	if (log_fmt == LOG_FORMAT_JSON) {
		log_add(&b, ",\"msg\":\"");
		log_add_json_string(&b, msg);
		if (errnum != 0) {
			log_add(&b, ": ");
			log_add_json_string(&b, strerror(errnum));
		}
		log_add(&b, "\"}");
	} else if (errnum != 0)
		log_add(&b, "%s: %s", msg, strerror(errnum));
	else
		log_add(&b, "%s", msg);
	log_add(&b, "\n");
	if (b.len > 0 && line[b.len - 1] != '\n')
		line[b.len - 1] = '\n';	/* cut short: still a line */
	fputs(line, stderr);
}

/* "key":"value" or key=value / key="value" by format. */
static void
log_add_str(struct log_buf *b, const char *key, const char *v, bool quote)
{
	if (log_fmt == LOG_FORMAT_JSON) {
		log_add(b, ",\"%s\":\"", key);
		log_add_json_string(b, v);
		log_add(b, "\"");
	} else if (quote)
		log_add(b, " %s=\"%s\"", key, v);
	else
		log_add(b, " %s=%s", key, v);
}

void
log_access(const struct log_access *a)
{
	char		line[LOG_LINE_MAX];
	struct log_buf	b = { line, 0, sizeof(line) };

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	log_add_prefix(&b, LOG_LEVEL_INFO);
	if (log_fmt == LOG_FORMAT_JSON) {
		log_add(&b, ",\"msg\":\"access\"");
		log_add_str(&b, "client", a->client, false);
		log_add_str(&b, "target", a->target, false);
	} else
		log_add(&b, "access: %s \"%s\"", a->client, a->target);
	log_add_str(&b, "route", a->route, false);
	log_add_str(&b, "backend", a->backend, false);
	log_add_str(&b, "server", a->server, false);
	if (log_fmt == LOG_FORMAT_JSON)
		log_add(&b, ",\"status\":%d,\"close\":%u", a->status,
		    a->close_code);
	else
		log_add(&b, " status=%d close=%u", a->status, a->close_code);
	log_add_str(&b, "by", a->closed_by, false);
	log_add_str(&b, "reason", a->reason, true);
	if (log_fmt == LOG_FORMAT_JSON)
		log_add(&b, ",\"bytes_in\":%" PRIu64 ",\"msgs_in\":%" PRIu64
		    ",\"bytes_out\":%" PRIu64 ",\"msgs_out\":%" PRIu64
		    ",\"duration\":%llu.%03llu}\n", a->bytes_in, a->msgs_in,
		    a->bytes_out, a->msgs_out, a->duration_ms / 1000,
		    a->duration_ms % 1000);
	else
		log_add(&b, " in=%" PRIu64 "B/%" PRIu64 "msg out=%" PRIu64
		    "B/%" PRIu64 "msg time=%llu.%03llus\n", a->bytes_in,
		    a->msgs_in, a->bytes_out, a->msgs_out, a->duration_ms / 1000,
		    a->duration_ms % 1000);
	if (b.len > 0 && line[b.len - 1] != '\n')
		line[b.len - 1] = '\n';
	fputs(line, stderr);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
