/*
 * notify — sd_notify(3) without libsystemd: the protocol is one datagram
 * per state change, so a dependency is not worth it (nginx and HAProxy
 * do the same).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

/* Longest message: a STATUS= line and a few short keys. */
#define NOTIFY_MAX	512

static int			 notify_fd = -1;
static struct sockaddr_un	 notify_sun;
static socklen_t		 notify_sunlen;

int
notify_init(void)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	size_t		 len;

	if (path == NULL || *path == '\0')
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    len >= sizeof(notify_sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET=%s: not a unix socket path, systemd "
		    "will not hear from wsgate", path);
		return -1;
	}
	memset(&notify_sun, 0, sizeof(notify_sun));
	notify_sun.sun_family = AF_UNIX;
	memcpy(notify_sun.sun_path, path, len);
	if (path[0] == '@')
		notify_sun.sun_path[0] = '\0';	/* abstract namespace */
	notify_sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (notify_fd == -1) {
		log_warn("NOTIFY_SOCKET: socket");
		return -1;
	}
	return 0;
}

bool
notify_active(void)
{
	return notify_fd != -1;
}

static void
notify_send(const char *msg)
{
	static int	warned;

	if (notify_fd == -1)
		return;
	if (sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_sun, notify_sunlen) == -1 && !warned) {
		warned = 1;
		log_debug("NOTIFY_SOCKET: %s", strerror(errno));
	}
}

/* One "STATUS=" line: no newline may end it early. */
static void
notify_status_line(char *buf, size_t size, const char *fmt, va_list ap)
{
	int	n;
	char	*p;

	n = snprintf(buf, size, "STATUS=");
	vsnprintf(buf + n, size - (size_t)n, fmt, ap);
	for (p = buf; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
}

void
notify_ready(const char *status)
{
	char	msg[NOTIFY_MAX];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	notify_send(msg);
}

void
notify_ready_status(const char *fmt, ...)
{
	char	msg[NOTIFY_MAX];
	va_list	ap;
	int	n;

	if (notify_fd == -1)
		return;
	n = snprintf(msg, sizeof(msg), "READY=1\n");
	va_start(ap, fmt);
	notify_status_line(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	notify_send(msg);
}

void
notify_reloading(void)
{
	struct timespec	ts;
	char		msg[NOTIFY_MAX];

	/* systemd >= 253 (Type=notify-reload) wants the reload's start. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void
notify_status(const char *fmt, ...)
{
	char	msg[NOTIFY_MAX];
	va_list	ap;

	if (notify_fd == -1)
		return;
	va_start(ap, fmt);
	notify_status_line(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	notify_send(msg);
}
