/*
 * log — diagnostics on stderr, in the spirit of OpenBSD's log.c:
 * log_warn() appends strerror(errno), log_warnx() does not; fatal()
 * and fatalx() exit.  Lines carry a timestamp (or, to the journal, a
 * "<N>" priority) and the level, as text or as JSON objects.
 * log_access() writes the one line each connection leaves.
 */
#ifndef WSGATE_LOG_H
#define WSGATE_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

enum log_format {
	LOG_FORMAT_TEXT,	/* "2026-11-24T06:21:53.819Z info: message" */
	LOG_FORMAT_JSON		/* {"time":..., "level":..., "msg":...} */
};

/* What a connection did, for its access line; strings never NULL. */
struct log_access {
	const char	*client;	/* address:port */
	const char	*target;	/* path, query redacted or not */
	const char	*route;
	const char	*backend;
	const char	*server;
	int		 status;	/* HTTP status sent; 0: none */
	unsigned	 close_code;	/* WebSocket close code; 0: none */
	const char	*closed_by;	/* client, backend, wsgate */
	const char	*reason;
	uint64_t	 bytes_in, msgs_in;	/* from the client */
	uint64_t	 bytes_out, msgs_out;	/* to the client */
	unsigned long long duration_ms;
};

/* Checks $JOURNAL_STREAM against stderr; call once at startup. */
void	log_init(void);
void	log_set_level(enum log_level level);
void	log_set_format(enum log_format format);
int	log_level_from_name(const char *name, enum log_level *level);
int	log_enabled(enum log_level level);

void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_access(const struct log_access *a);
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
