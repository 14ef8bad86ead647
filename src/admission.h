/*
 * admission — whether a new connection gets a session: the process's
 * max_connections, max_connections_per_ip, and a token bucket of
 * handshakes per client address (handshake_rate, handshake_burst).
 *
 * Shared by every worker thread: a client's connections land on any of
 * them (SO_REUSEPORT).  An IPv6 client is counted by its /64, the
 * smallest block a host is given (RFC 6177): counting single addresses
 * would let one host take as many as it likes.
 */
#ifndef WSGATE_ADMISSION_H
#define WSGATE_ADMISSION_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

enum admission_verdict {
	ADMISSION_OK,
	ADMISSION_FULL,		/* max_connections reached: 503 */
	ADMISSION_IP_FULL,	/* max_connections_per_ip reached: 429 */
	ADMISSION_RATE		/* handshake_rate exceeded: 429 */
};

/* What a session holds while admitted; zeroed: holds nothing. */
struct admission_ticket {
	struct admission_entry	*entry;		/* its address's counts */
	bool			 admitted;	/* in the process's count */
};

/*
 * Admits a connection from sa (counted per address when per_ip) under
 * the limits l, at now_ms (a monotonic clock).  ADMISSION_OK fills in
 * *t, which admission_leave() gives back; any other verdict holds
 * nothing, and ADMISSION_RATE sets *retry_after to the seconds until the
 * bucket has a token again.
 */
enum admission_verdict admission_enter(const struct sockaddr *sa, bool per_ip,
	    const struct config_limits *l, uint64_t now_ms,
	    struct admission_ticket *t, unsigned *retry_after);

/* Gives back what admission_enter() counted; then *t holds nothing. */
void	admission_leave(struct admission_ticket *t, uint64_t now_ms);

/* Connections admitted and not yet left, in the whole process. */
uint64_t admission_count(void);

/* Addresses in the table (with connections, or a bucket refilling). */
uint64_t admission_addresses(void);

/* The monotonic clock admission_enter() wants, in milliseconds. */
uint64_t admission_now(void);

#endif
