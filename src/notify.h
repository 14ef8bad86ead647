/*
 * notify — the systemd service notification protocol (sd_notify(3)),
 * spoken directly: one datagram of "KEY=value" lines to the unix socket
 * named by $NOTIFY_SOCKET.  Without that variable (not run by systemd,
 * or Type= is not notify) every call does nothing.
 *
 * Messages are best effort: a full or vanished socket is logged once at
 * debug level and never stops the daemon.
 */
#ifndef WSGATE_NOTIFY_H
#define WSGATE_NOTIFY_H

#include <stdbool.h>

/*
 * Reads $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace)
 * and opens the socket.  0, or -1 after logging when the variable is set
 * but unusable.  Call once, from the main thread, before the workers.
 */
int	notify_init(void);

/* Whether systemd listens (notify_init found $NOTIFY_SOCKET). */
bool	notify_active(void);

/* Listeners bound, workers started: "READY=1" with a STATUS= line. */
void	notify_ready(const char *status);

/* The same with a formatted status (after a reload). */
void	notify_ready_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* A reload begins: "RELOADING=1" and "MONOTONIC_USEC=" now. */
void	notify_reloading(void);

/* Shutting down: "STOPPING=1". */
void	notify_stopping(void);

/* Free-form one-line state for "systemctl status": "STATUS=...". */
void	notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
