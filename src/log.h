/*
 * log — diagnostics on stderr, in the spirit of OpenBSD's log.c:
 * log_warn() appends strerror(errno), log_warnx() does not; fatal()
 * and fatalx() exit.  Lines carry a timestamp and the level.
 */
#ifndef WSGATE_LOG_H
#define WSGATE_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

void	log_set_level(enum log_level level);
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
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
