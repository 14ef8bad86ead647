/*
 * conn — non-blocking stream sockets with batched, mostly copy-free
 * output (see conn.h for why wsgate does not use bufferevents here).
 *
 * One edge-triggered event per conn watches both directions, registered
 * once and never changed (as nginx does): pausing, resuming and waiting
 * to write cost no epoll_ctl(2).  The conn remembers what the edges said
 * (read_ready) and what it still has to do.
 *
 * Reading: one recv(2) of up to CONN_READ_SIZE bytes into the thread's
 * read buffer per turn; the owner consumes the bytes in its callback, in
 * place.  A short read drained the socket; a full one means another turn
 * (queued behind the other ready conns, for fairness).
 *
 * Writing: while a read is handled (a batch), what a conn is given goes
 * to a staging area of the thread: small pieces (frame headers, control
 * frames) are copied into it, payload still in the read buffer is only
 * pointed at.  When the batch ends each conn written to makes one
 * send(2) or sendmsg(2) of its staged pieces; whatever the kernel does
 * not take is copied into the conn's own evbuffer, sent on the next
 * writable edge.  Outside a batch a write is tried at once.  So a
 * relayed message is copied by the kernel only, and a conn's memory
 * while idle is the struct and its event.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "tls_client.h"

/* Pieces and copied bytes one staging area holds before it spills. */
#define CONN_STAGE_IOV		64
#define CONN_STAGE_ARENA	16384
/*
 * Payload shorter than this is copied to the arena even when it could be
 * pointed at: the kernel copies one long piece much faster than many
 * short ones (a 64 B message pointed at makes two iovecs per frame).
 */
#define CONN_STAGE_REF_MIN	2048
/* Conns that can stage in one batch; more spill to their evbuffers. */
#define CONN_STAGES		2

struct conn_stage {
	struct conn	*owner;		/* NULL: free */
	struct iovec	 iov[CONN_STAGE_IOV];
	int		 niov;
	size_t		 bytes;		/* staged in all */
	size_t		 arena_used;
	uint8_t		 arena[CONN_STAGE_ARENA];
};

struct conn {
	int			 fd;
	struct event		*ev;		/* in the same allocation */
	struct evbuffer		*out;		/* what the kernel refused;
						   allocated on first need */
	struct conn_stage	*stage;		/* during a batch, or NULL */
	struct conn		*next_dirty;	/* written to in this batch */
	conn_read_cb		*read_cb;
	conn_drain_cb		*drain_cb;
	conn_event_cb		*event_cb;
	void			*arg;
	size_t			 lowat;
	int			 error;		/* a write failed: errno */
	bool			 error_reported;
	bool			 dirty;
	bool			 connecting;
	bool			 want_read;
	bool			 registered;	/* ev added */
	bool			 read_ready;	/* bytes (or EOF) may wait */
	bool			 rdhup;		/* the peer's FIN is in */
	bool			 drain_wanted;	/* output went past lowat */
	bool			 stopped;	/* conn_stop() */
	SSL			*ssl;		/* TLS, or NULL */
	struct evbuffer		*clear;		/* written before TLS started
						   (a PROXY header): sent in
						   the clear, first */
	bool			 tls_handshaking;
	bool			 connect_pending; /* CONN_CONNECTED waits for
						   the TLS handshake */
	bool			 peek;		/* reads leave the bytes */
	size_t			 peeked;	/* what the last peek saw */
	bool			 eof;		/* read gave 0: nothing more */
};

static _Thread_local uint8_t		 conn_rbuf[CONN_READ_SIZE];
static _Thread_local struct conn_stage	 conn_stages[CONN_STAGES];
static _Thread_local struct conn	*conn_dirty;
static _Thread_local unsigned		 conn_batching;
static _Thread_local char		 conn_tls_why[160];

static void	conn_ev_cb(evutil_socket_t, short, void *);
static int	conn_tls_handshake(struct conn *);
static bool	conn_tls_turn(struct conn *);
static int	conn_tls_write_out(struct conn *);
static void	conn_tls_on_readable(struct conn *);

/* The allocation: the struct, then the event, as libevent sizes it. */
static size_t
conn_struct_size(void)
{
	return (sizeof(struct conn) + 15) & ~(size_t)15;
}

struct conn *
conn_new(struct event_base *base, int fd)
{
	size_t		 evsize = (event_get_struct_event_size() + 15) &
			    ~(size_t)15;
	struct conn	*c;
	char		*mem;

	if ((mem = calloc(1, conn_struct_size() + evsize)) == NULL)
		return NULL;
	c = (struct conn *)(void *)mem;
	c->fd = fd;
	c->lowat = SIZE_MAX;		/* no drain callbacks until asked */
	c->ev = (struct event *)(void *)(mem + conn_struct_size());
	if (event_assign(c->ev, base, fd, EV_READ | EV_WRITE | EV_CLOSED |
	    EV_ET | EV_PERSIST, conn_ev_cb, c) == -1) {
		free(mem);
		return NULL;
	}
	return c;
}

void
conn_setcb(struct conn *c, conn_read_cb *read_cb, conn_drain_cb *drain_cb,
    conn_event_cb *event_cb, void *arg)
{
	c->read_cb = read_cb;
	c->drain_cb = drain_cb;
	c->event_cb = event_cb;
	c->arg = arg;
}

/*
 * Watches the socket from now on.  Not before: a socket that is not yet
 * connecting polls as hung up, which would look like a finished connect.
 */
static void
conn_register(struct conn *c)
{
	if (c->registered || c->stopped)
		return;
	c->registered = true;
	event_add(c->ev, NULL);
}

/* Runs the handler from the loop, once, for what (EV_READ, EV_WRITE). */
static void
conn_activate(struct conn *c, short what)
{
	if (!c->stopped)
		event_active(c->ev, what, 1);
}

static bool
conn_can_read(const struct conn *c)
{
	return c->want_read && !c->connecting && !c->stopped && !c->eof;
}

void
conn_read(struct conn *c, bool on)
{
	c->want_read = on;
	if (c->connecting)
		return;			/* conn_connect registers */
	conn_register(c);
	if (c->read_ready && conn_can_read(c))
		conn_activate(c, EV_READ);	/* no edge will come again */
}

int
conn_connect(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	c->connecting = true;
	if (connect(c->fd, sa, salen) == 0) {
		/* Done at once (unix sockets): still reported from the loop. */
		conn_register(c);
		conn_activate(c, EV_WRITE);
		return 0;
	}
	if (errno != EINPROGRESS)
		return -1;
	conn_register(c);
	return 0;
}

/* staging ------------------------------------------------------------- */

static size_t
conn_stage_len(const struct conn *c)
{
	return c->stage != NULL ? c->stage->bytes : 0;
}

static bool
conn_out_pending(const struct conn *c)
{
	return c->out != NULL && evbuffer_get_length(c->out) > 0;
}

size_t
conn_outlen(const struct conn *c)
{
	return conn_stage_len(c) + (c->out != NULL ?
	    evbuffer_get_length(c->out) : 0) + (c->clear != NULL ?
	    evbuffer_get_length(c->clear) : 0);
}

static void
conn_stage_release(struct conn *c)
{
	struct conn_stage	*st = c->stage;

	if (st == NULL)
		return;
	st->owner = NULL;
	st->niov = 0;
	st->bytes = 0;
	st->arena_used = 0;
	c->stage = NULL;
}

static struct conn_stage *
conn_stage_get(struct conn *c)
{
	size_t	i;

	if (c->stage != NULL)
		return c->stage;
	for (i = 0; i < CONN_STAGES; i++) {
		if (conn_stages[i].owner == NULL) {
			conn_stages[i].owner = c;
			c->stage = &conn_stages[i];
			return c->stage;
		}
	}
	return NULL;
}

static int
conn_out_alloc(struct conn *c)
{
	if (c->out == NULL && (c->out = evbuffer_new()) == NULL)
		return -1;
	return 0;
}

/* Copies the staged pieces from byte skip on into the evbuffer. */
static int
conn_stage_spill(struct conn *c, size_t skip)
{
	struct conn_stage	*st = c->stage;
	int			 i, rc = 0;

	if (st == NULL)
		return 0;
	if (conn_out_alloc(c) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < st->niov; i++) {
		size_t	len = st->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		if (evbuffer_add(c->out, (uint8_t *)st->iov[i].iov_base +
		    skip, len - skip) == -1)
			rc = -1;
		skip = 0;
	}
	conn_stage_release(c);
	return rc;
}

static bool
conn_in_rbuf(const void *data, size_t len)
{
	const uint8_t	*p = data;

	return conn_batching > 0 && p >= conn_rbuf &&
	    p < conn_rbuf + CONN_READ_SIZE &&
	    len <= (size_t)(conn_rbuf + CONN_READ_SIZE - p);
}

/* Adds a piece to c's staging area; -1 when it does not fit. */
static int
conn_stage_add(struct conn *c, const void *data, size_t len)
{
	struct conn_stage	*st;
	struct iovec		*last;
	void			*p = (void *)(uintptr_t)data;

	if ((st = conn_stage_get(c)) == NULL)
		return -1;
	if (len < CONN_STAGE_REF_MIN || !conn_in_rbuf(data, len)) {
		if (len > CONN_STAGE_ARENA - st->arena_used)
			return -1;
		p = st->arena + st->arena_used;
		memcpy(p, data, len);
		st->arena_used += len;
	}
	last = st->niov > 0 ? &st->iov[st->niov - 1] : NULL;
	if (last != NULL && (uint8_t *)last->iov_base + last->iov_len == p) {
		last->iov_len += len;	/* adjacent: one piece */
	} else {
		if (st->niov == CONN_STAGE_IOV)
			return -1;
		st->iov[st->niov].iov_base = p;
		st->iov[st->niov].iov_len = len;
		st->niov++;
	}
	st->bytes += len;
	return 0;
}

/* writing ------------------------------------------------------------- */

/* A write failed: nothing more goes out, the owner hears of it later. */
static void
conn_fail(struct conn *c, int err)
{
	c->error = err;
	c->eof = true;			/* nothing more is read from it */
	conn_stage_release(c);
	if (c->out != NULL)
		evbuffer_drain(c->out, evbuffer_get_length(c->out));
	if (c->clear != NULL) {
		evbuffer_free(c->clear);
		c->clear = NULL;
	}
	conn_activate(c, EV_WRITE);
}

static bool
conn_errno_fatal(int err)
{
	return err != EAGAIN && err != EWOULDBLOCK && err != EINTR;
}

/* Writes *bufp (c->out or c->clear) to the socket; -1 after conn_fail(). */
static int
conn_buffer_send(struct conn *c, struct evbuffer **bufp)
{
	if (*bufp == NULL)
		return 0;
	/* Until the kernel refuses: only then will an edge say when to
	 * go on (evbuffer_write sends at most 128 chains a call). */
	while (evbuffer_get_length(*bufp) > 0) {
		int	n = evbuffer_write(*bufp, c->fd);

		if (n > 0)
			continue;
		if (n == -1 && conn_errno_fatal(errno)) {
			conn_fail(c, errno);
			return -1;
		}
		break;
	}
	/* Kept only while it holds bytes: idle conns keep no buffer, and
	 * the steady state never looks at one. */
	if (evbuffer_get_length(*bufp) == 0) {
		evbuffer_free(*bufp);
		*bufp = NULL;
	}
	return 0;
}

static int
conn_write_out(struct conn *c)
{
	return conn_buffer_send(c, &c->out);
}

/*
 * send(2) for one piece, sendmsg(2) for more: both skip the file layer
 * that write(2) and writev(2) go through, which shows in profiles at
 * 64 B messages.
 */
static ssize_t
conn_send_stage(int fd, struct conn_stage *st)
{
	struct msghdr	msg;

	if (st->niov == 1)
		return send(fd, st->iov[0].iov_base, st->iov[0].iov_len,
		    MSG_NOSIGNAL);
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = st->iov;
	msg.msg_iovlen = (size_t)st->niov;
	return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

/* Sends what c has queued, without waiting and without callbacks. */
static void
conn_flush(struct conn *c)
{
	struct conn_stage	*st = c->stage;
	ssize_t			 n;

	if (c->error != 0)
		return;
	if (c->connecting) {
		/* Sent when connected; the staging area is the batch's. */
		if (conn_stage_spill(c, 0) == -1)
			conn_fail(c, ENOMEM);
		return;
	}
	if (c->ssl != NULL) {
		if (conn_tls_write_out(c) == -1)
			return;
	} else if (st != NULL) {
		n = conn_send_stage(c->fd, st);
		if (n == -1 && conn_errno_fatal(errno)) {
			conn_fail(c, errno);
			return;
		}
		if (conn_stage_spill(c, n > 0 ? (size_t)n : 0) == -1) {
			conn_fail(c, ENOMEM);
			return;
		}
	} else if (conn_write_out(c) == -1) {
		return;
	}
	if (conn_outlen(c) > 0)
		conn_register(c);	/* the writable edge sends the rest */
	else if (c->drain_wanted)
		/* Someone waits for the drain: tell them from the loop. */
		conn_activate(c, EV_WRITE);
}

static void
conn_mark_dirty(struct conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = conn_dirty;
	conn_dirty = c;
}

static void
conn_unmark_dirty(struct conn *c)
{
	struct conn	**pp;

	if (!c->dirty)
		return;
	for (pp = &conn_dirty; *pp != NULL; pp = &(*pp)->next_dirty) {
		if (*pp == c) {
			*pp = c->next_dirty;
			break;
		}
	}
	c->dirty = false;
}

void
conn_batch_begin(void)
{
	conn_batching++;
}

void
conn_batch_end(void)
{
	struct conn	*c;

	if (--conn_batching > 0)
		return;
	while ((c = conn_dirty) != NULL) {
		conn_dirty = c->next_dirty;
		c->dirty = false;
		conn_flush(c);
	}
}

/*
 * Outside a batch, with nothing queued: straight to the kernel.  Returns
 * the bytes it did not take.
 */
static size_t
conn_send_now(struct conn *c, const void *data, size_t len)
{
	ssize_t	n;

	if (conn_batching > 0 || c->connecting || c->out != NULL ||
	    c->stage != NULL || c->ssl != NULL)
		return len;
	n = send(c->fd, data, len, MSG_NOSIGNAL);
	if (n == -1) {
		if (conn_errno_fatal(errno))
			conn_fail(c, errno);
		return c->error != 0 ? 0 : len;
	}
	return len - (size_t)n;
}

int
conn_write(struct conn *c, const void *data, size_t len)
{
	size_t	left;

	if (c->error != 0 || c->stopped)
		return -1;
	if (len == 0 || (left = conn_send_now(c, data, len)) == 0)
		return 0;
	data = (const uint8_t *)data + (len - left);
	len = left;
	/* Staged only while nothing older waits in the evbuffer. */
	if (conn_batching == 0 || c->connecting || c->ssl != NULL ||
	    conn_out_pending(c) || conn_stage_add(c, data, len) == -1) {
		if (conn_stage_spill(c, 0) == -1 || conn_out_alloc(c) == -1 ||
		    evbuffer_add(c->out, data, len) == -1) {
			conn_fail(c, ENOMEM);
			return -1;
		}
	}
	if (!c->drain_wanted && conn_outlen(c) > c->lowat)
		c->drain_wanted = true;
	if (conn_batching > 0)
		conn_mark_dirty(c);
	else
		conn_flush(c);
	return 0;
}

void
conn_set_lowat(struct conn *c, size_t lowat)
{
	c->lowat = lowat;
	if (conn_outlen(c) > lowat)
		c->drain_wanted = true;
}

void
conn_shutdown(struct conn *c)
{
	if (c->ssl != NULL && !c->tls_handshaking) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);	/* close_notify, best effort */
	}
	(void)shutdown(c->fd, SHUT_WR);
}

void
conn_stop(struct conn *c)
{
	c->stopped = true;
	/* What this batch queued stays unsent too. */
	conn_unmark_dirty(c);
	conn_stage_release(c);
	event_del(c->ev);		/* an activation pending too */
}

void
conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	conn_unmark_dirty(c);
	conn_stage_release(c);
	event_del(c->ev);
	if (c->out != NULL)
		evbuffer_free(c->out);
	if (c->clear != NULL)
		evbuffer_free(c->clear);
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

/* TLS ----------------------------------------------------------------- */

/*
 * TLS runs over the same socket and the same edge-triggered event: the
 * handshake moves on with either edge, SSL_read fills the read buffer
 * with as many records as are in, and output goes through the evbuffer
 * (pieces coalesced into records of up to 16 KiB) to SSL_write, which
 * may also wait for either edge.
 */

/* The reason of the last TLS failure of this thread, for the logs. */
const char *
conn_tls_reason(void)
{
	return conn_tls_why[0] != '\0' ? conn_tls_why : "unknown";
}

/*
 * Why the handshake or a record failed (tls_client_error: OpenSSL's
 * reason, and the verification error when that was it).
 */
static void
conn_tls_note(const struct conn *c, int err)
{
	unsigned long	e = ERR_peek_last_error();

	if (e == 0 && (err == SSL_ERROR_SYSCALL ||
	    err == SSL_ERROR_ZERO_RETURN))
		snprintf(conn_tls_why, sizeof(conn_tls_why), "%s",
		    err == SSL_ERROR_SYSCALL && errno != 0 ? strerror(errno) :
		    "connection closed");
	else
		tls_client_error(c->ssl, e, conn_tls_why, sizeof(conn_tls_why));
	ERR_clear_error();
}

/* c speaks TLS over ssl from now on; ssl is c's, even on failure. */
static int
conn_tls_start(struct conn *c, SSL *ssl)
{
	if (SSL_set_fd(ssl, c->fd) != 1 ||
	    conn_stage_spill(c, 0) == -1) {
		SSL_free(ssl);
		ERR_clear_error();
		errno = ENOMEM;
		return -1;
	}
	c->ssl = ssl;
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* A peer that closes without close_notify has closed, not failed:
	 * WebSocket frames its own end (OpenSSL 3 would say SSL_ERROR_SSL). */
	SSL_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	c->tls_handshaking = true;
	/* Bytes queued so far are not for TLS: they go first, as they are
	 * (conn_tls_handshake). */
	c->clear = c->out;
	c->out = NULL;
	return 0;
}

int
conn_tls_accept(struct conn *c, SSL_CTX *ctx)
{
	SSL	*ssl;

	if ((ssl = SSL_new(ctx)) == NULL) {
		ERR_clear_error();
		errno = ENOMEM;
		return -1;
	}
	SSL_set_accept_state(ssl);
	if (conn_tls_start(c, ssl) == -1)
		return -1;
	if (c->registered)
		/* The ClientHello may be in already: no edge will say so. */
		conn_activate(c, EV_READ);
	return 0;
}

void
conn_peek(struct conn *c, bool on)
{
	c->peek = on;
}

int
conn_consume(struct conn *c, size_t n)
{
	uint8_t	buf[512];
	ssize_t	r;

	while (n > 0) {
		r = recv(c->fd, buf, n < sizeof(buf) ? n : sizeof(buf), 0);
		if (r <= 0)
			return -1;	/* they were peeked: they are there */
		n -= (size_t)r;
	}
	return 0;
}

bool
conn_tls_handshaking(const struct conn *c)
{
	return c->ssl != NULL && c->tls_handshaking;
}

int
conn_tls_connect(struct conn *c, SSL *ssl)
{
	SSL_set_connect_state(ssl);
	if (conn_tls_start(c, ssl) == -1)
		return -1;
	if (!c->connecting) {
		/* Already connected: the first flight goes from the loop. */
		conn_register(c);
		conn_activate(c, EV_WRITE);
	}
	return 0;
}

/*
 * One step of the handshake: 0 (done, or waiting for an edge), or -1
 * after conn_fail().
 */
static int
conn_tls_handshake(struct conn *c)
{
	int	r, err;

	/* What was written before TLS started goes first, in the clear. */
	if (conn_buffer_send(c, &c->clear) == -1)
		return -1;
	if (c->clear != NULL)
		return 0;		/* the writable edge sends the rest */
	ERR_clear_error();
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		c->tls_handshaking = false;
		return 0;
	}
	err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return 0;
	conn_tls_note(c, err);
	conn_fail(c, EPROTO);
	return -1;
}

/* SSL_write of the evbuffer, a record at a time; -1 after conn_fail(). */
static int
conn_tls_write_out(struct conn *c)
{
	size_t	len;
	int	r, err;

	while (!c->tls_handshaking && c->out != NULL &&
	    (len = evbuffer_get_length(c->out)) > 0) {
		if (len > 16384)
			len = 16384;
		ERR_clear_error();
		r = SSL_write(c->ssl, evbuffer_pullup(c->out, (ev_ssize_t)len),
		    (int)len);
		if (r > 0) {
			evbuffer_drain(c->out, (size_t)r);
			continue;
		}
		err = SSL_get_error(c->ssl, r);
		if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ)
			return 0;	/* an edge will come */
		conn_tls_note(c, err);
		conn_fail(c, err == SSL_ERROR_SYSCALL && errno != 0 ? errno :
		    EPROTO);
		return -1;
	}
	if (c->out != NULL && evbuffer_get_length(c->out) == 0) {
		evbuffer_free(c->out);
		c->out = NULL;
	}
	return 0;
}

static void
conn_tls_on_readable(struct conn *c)
{
	size_t	n = 0;
	int	r = 0, err = SSL_ERROR_NONE;

	/* As many records as are in, up to the read buffer. */
	while (n < sizeof(conn_rbuf)) {
		ERR_clear_error();
		r = SSL_read(c->ssl, conn_rbuf + n, (int)(sizeof(conn_rbuf) - n));
		if (r <= 0) {
			err = SSL_get_error(c->ssl, r);
			break;
		}
		n += (size_t)r;
	}
	if (n > 0) {
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			conn_activate(c, EV_READ);  /* more, or EOF, next */
		else
			c->read_ready = false;
		conn_batch_begin();
		c->read_cb(c, conn_rbuf, n, c->arg);
		conn_batch_end();		/* c may be gone */
		return;
	}
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->read_ready = false;
		return;
	}
	c->eof = true;
	c->read_ready = false;
	if (err == SSL_ERROR_ZERO_RETURN ||
	    (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && r == 0)) {
		ERR_clear_error();
		c->event_cb(c, CONN_EOF, c->arg);
		return;
	}
	conn_tls_note(c, err);
	errno = EPROTO;
	c->event_cb(c, CONN_ERROR, c->arg);
}

/* event handlers ------------------------------------------------------ */

static void
conn_on_readable(struct conn *c)
{
	ssize_t	n;

	if (c->ssl != NULL) {
		conn_tls_on_readable(c);
		return;
	}
	n = recv(c->fd, conn_rbuf, sizeof(conn_rbuf), c->peek ? MSG_PEEK : 0);
	if (n > 0) {
		/* A full read may have left more; a short one drained the
		 * socket but for a FIN, which the same edge may carry.  A
		 * peek saw all there is: the next bytes bring an edge. */
		if (c->peek && c->rdhup && (size_t)n == c->peeked) {
			/* The FIN is in and nothing new came: the end. */
			c->eof = true;
			c->read_ready = false;
			c->event_cb(c, CONN_EOF, c->arg);
			return;
		}
		if (c->peek) {
			c->peeked = (size_t)n;
			if (c->rdhup)
				conn_activate(c, EV_READ);
			else
				c->read_ready = false;
		} else if ((size_t)n == sizeof(conn_rbuf) || c->rdhup)
			conn_activate(c, EV_READ);
		else
			c->read_ready = false;
		conn_batch_begin();
		c->read_cb(c, conn_rbuf, (size_t)n, c->arg);
		conn_batch_end();		/* c may be gone */
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->read_ready = false;
		return;
	}
	if (n == -1 && errno == EINTR) {
		conn_activate(c, EV_READ);
		return;
	}
	c->eof = true;			/* EOF or error: nothing more to read */
	c->read_ready = false;
	c->event_cb(c, n == 0 ? CONN_EOF : CONN_ERROR, c->arg);
}

static void
conn_connect_done(struct conn *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	c->connecting = false;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		/* Like a failed write: what was queued is dropped, later
		 * writes are refused. */
		c->error = err;
		c->error_reported = true;
		c->eof = true;
		if (c->out != NULL)
			evbuffer_drain(c->out, evbuffer_get_length(c->out));
		errno = err;
		c->event_cb(c, CONN_ERROR, c->arg);
		return;
	}
	if (c->ssl != NULL) {
		/* Connected once the TLS handshake is done too: a peer that
		 * fails it was no server to use. */
		c->connect_pending = true;
		(void)conn_tls_turn(c);
		return;
	}
	conn_flush(c);
	if (c->read_ready && conn_can_read(c))
		conn_activate(c, EV_READ);
	c->event_cb(c, CONN_CONNECTED, c->arg);
}

/* Whether a writable edge (or an activation) has anything to do. */
static bool
conn_write_work(const struct conn *c)
{
	return c->connecting || c->error != 0 || c->out != NULL ||
	    (c->drain_wanted && conn_outlen(c) <= c->lowat);
}

/*
 * The handshake is done: what waited for it goes out, reading starts,
 * and a conn_connect() is reported.
 */
static void
conn_tls_established(struct conn *c)
{
	/* Application data may have come with the last flight. */
	c->read_ready = true;
	conn_flush(c);
	if (conn_can_read(c))
		conn_activate(c, EV_READ);
	if (c->connect_pending) {
		c->connect_pending = false;
		c->event_cb(c, CONN_CONNECTED, c->arg);	/* c may be gone */
	}
}

/* A TLS handshake under way moves on with either edge. */
static bool
conn_tls_turn(struct conn *c)
{
	if (!c->tls_handshaking || c->connecting || c->error != 0)
		return false;
	if (conn_tls_handshake(c) == 0 && !c->tls_handshaking)
		conn_tls_established(c);
	return true;
}

static void
conn_on_writable(struct conn *c)
{
	if (c->connecting) {
		conn_connect_done(c);
		return;
	}
	if (c->error != 0) {
		if (!c->error_reported) {	/* once, whatever edges come */
			c->error_reported = true;
			errno = c->error;
			c->event_cb(c, CONN_ERROR, c->arg);
		}
		return;
	}
	if ((c->ssl != NULL ? conn_tls_write_out(c) : conn_write_out(c)) ==
	    -1)
		return;
	if (c->drain_wanted && conn_outlen(c) <= c->lowat) {
		c->drain_wanted = false;
		if (c->drain_cb != NULL)
			c->drain_cb(c, c->arg);
	}
}

static void
conn_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	if (what & EV_CLOSED)
		c->rdhup = true;
	if (what & (EV_READ | EV_CLOSED))
		c->read_ready = true;
	if (conn_tls_turn(c))
		return;
	if ((what & EV_WRITE) && conn_write_work(c)) {
		/* Its callbacks may free c: reading gets a turn of its own. */
		if (c->read_ready && conn_can_read(c))
			conn_activate(c, EV_READ);
		conn_on_writable(c);
		return;
	}
	if (c->read_ready && conn_can_read(c))
		conn_on_readable(c);
}
