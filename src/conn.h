/*
 * conn — a non-blocking stream socket on an event_base, the I/O under a
 * session's endpoints.
 *
 * Why not bufferevents: a socket bufferevent costs five system calls per
 * message relayed (ioctl FIONREAD before every read, readv, epoll_ctl to
 * watch for writability as soon as output is queued, writev from the
 * next loop iteration, epoll_ctl to stop watching), where nginx and
 * HAProxy need two.  A conn reads into one buffer per thread and hands
 * the bytes to its owner, which parses them in place and queues what it
 * relays; everything queued while a read is handled goes out in one
 * write per destination when the handler returns.  One edge-triggered
 * event per socket is registered once and never changed, so in the
 * steady state a message costs a read and a write, and a connection
 * costs two epoll_ctl calls in its life.
 *
 * Callbacks never run from inside a conn_* call: errors found while
 * writing are reported from the event loop.
 */
#ifndef WSGATE_CONN_H
#define WSGATE_CONN_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct conn;

/* What conn_event_cb reports; one per call. */
enum conn_event {
	CONN_CONNECTED,		/* conn_connect() succeeded (and the TLS
				   handshake of conn_tls_connect()) */
	CONN_EOF,		/* the peer sent FIN; reading stopped */
	CONN_ERROR		/* connect, read or write failed; see errno */
};

/*
 * Bytes read, in the thread's read buffer: the owner may change them in
 * place (unmasking) and must consume them all before returning.
 */
typedef void	conn_read_cb(struct conn *, uint8_t *, size_t, void *);
/* The output went down to the low watermark (conn_set_lowat). */
typedef void	conn_drain_cb(struct conn *, void *);
typedef void	conn_event_cb(struct conn *, enum conn_event, void *);

/* Largest read: also bounds what a reader gets past its own backpressure. */
#define CONN_READ_SIZE	(64 * 1024)

/*
 * Wraps a socket (non-blocking); nothing is read before conn_read().
 * NULL on allocation failure, the socket left open.
 */
struct conn	*conn_new(struct event_base *base, int fd);

/*
 * Starts a non-blocking connect of fd to sa; CONN_CONNECTED or CONN_ERROR
 * follows.  Reading starts when the connect is done.  Returns -1 with
 * errno set when the connect failed at once (c is still to be freed).
 */
int	conn_connect(struct conn *c, const struct sockaddr *sa,
	    socklen_t salen);

void	conn_setcb(struct conn *c, conn_read_cb *read_cb,
	    conn_drain_cb *drain_cb, conn_event_cb *event_cb, void *arg);

/*
 * TLS on c from now on, as the server with a new SSL of ctx
 * (conn_tls_accept), or as a client with ssl, which tls_client_ssl()
 * made with the server's name and which c owns from the call on, even
 * when it fails (conn_tls_connect).  On a connecting conn the handshake
 * starts once connected, and CONN_CONNECTED comes when it is done: a
 * server that fails it was never connected.  Bytes read and written are
 * the plaintext; what is written before the handshake is done waits for
 * it, except what was written before these calls (a PROXY header),
 * which goes first, in the clear.  A failed handshake or record is
 * CONN_ERROR with errno EPROTO; conn_tls_reason() then says why, such
 * as "certificate verify failed (self-signed certificate)".  Returns -1
 * with errno set when TLS cannot start.
 */
struct ssl_ctx_st;
struct ssl_st;
int	conn_tls_accept(struct conn *c, struct ssl_ctx_st *ctx);
int	conn_tls_connect(struct conn *c, struct ssl_st *ssl);
const char *conn_tls_reason(void);
/* Whether TLS was started on c and its handshake is not done yet. */
bool	conn_tls_handshaking(const struct conn *c);

/*
 * Peeking: reads hand over the bytes but leave them in the socket, for a
 * header that must be taken off before TLS reads the rest (a PROXY
 * header); conn_consume() then removes the first n of them.
 */
void	conn_peek(struct conn *c, bool on);
int	conn_consume(struct conn *c, size_t n);

/* No more callbacks nor I/O; the conn waits to be freed. */
void	conn_stop(struct conn *c);

/* Closes the socket and frees everything; pending output is lost. */
void	conn_free(struct conn *c);

/* Reading on or off (backpressure); a connect in progress defers it. */
void	conn_read(struct conn *c, bool on);

/*
 * Bytes queued between these two calls go out together (they nest; the
 * read handler is such a batch).
 */
void	conn_batch_begin(void);
void	conn_batch_end(void);

/*
 * Queues bytes for sending: written at once, or with everything else
 * queued when the read handler that queued them returns.
 */
int	conn_write(struct conn *c, const void *data, size_t len);

/* Bytes queued and not yet accepted by the kernel. */
size_t	conn_outlen(const struct conn *c);

/*
 * drain_cb runs (from the event loop) when output that went past lowat
 * bytes is down to lowat again; lowat 0: when all of it is sent.  No
 * drain callbacks before the first call.
 */
void	conn_set_lowat(struct conn *c, size_t lowat);

/* Sends FIN (shutdown SHUT_WR); the caller waits for the output first. */
void	conn_shutdown(struct conn *c);

#endif
