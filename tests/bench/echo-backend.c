/*
 * echo-backend: the fast echo server behind the proxies in tests/bench.
 *
 * One thread, epoll, non-blocking sockets, one shared read buffer and one
 * shared output buffer; a connection holds memory of its own only while
 * its peer is slow to read, so thousands of idle connections cost little.
 *
 *   -w ADDR:PORT   WebSocket echo (RFC 6455 server side): checks the
 *                  opening handshake (§4.2.1) and answers 101 with the
 *                  accept key (§4.2.2); every client frame must be masked
 *                  (§5.1), with no RSV bits, a known opcode and, for
 *                  control frames, FIN and at most 125 bytes (§5.5);
 *                  frames are echoed as they arrive, unmasked, with the
 *                  same FIN, opcode and length, so no message is ever
 *                  buffered whole; pings get pongs, a close gets its code
 *                  back, then the server sends its FIN first (§7.1.1) and
 *                  waits (bounded) for the client's.  A violation gets
 *                  close 1002.  Text is not checked for UTF-8: the bench
 *                  sends binary messages only.
 *   -t ADDR:PORT   plain TCP echo: every byte back as it arrives.
 *
 * Port 0 lets the kernel choose; each listener prints one line,
 * "ws listening on 127.0.0.1:PORT" or "tcp listening on ...", on stdout.
 * Runs until SIGTERM or SIGINT, then exits 0.  Loopback addresses only.
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "benchws.h"

#define ECHO_BUF_SIZE		(256 * 1024)
#define ECHO_HEAD_MAX		8192
#define ECHO_TIMEOUT_S		10	/* handshake, close: then dropped */
#define ECHO_MAX_EVENTS		256
#define ECHO_BACKLOG		4096

enum echo_kind {
	ECHO_WS,
	ECHO_TCP
};

enum echo_state {
	ECHO_HANDSHAKE,		/* reading the request head */
	ECHO_OPEN,		/* echoing */
	ECHO_CLOSING,		/* close sent and FIN after it: wait for EOF */
	ECHO_NSTATES
};

struct echo_listener {
	int			 fd;
	enum echo_kind		 kind;
	bool			 paused;	/* out of descriptors */
};

struct echo_conn {
	int			 fd;
	enum echo_kind		 kind;
	enum echo_state		 state;
	bool			 want_out;	/* EPOLLOUT, not EPOLLIN */
	bool			 shut_after;	/* FIN once the output is out */
	time_t			 deadline;	/* 0: none */

	char			*head;		/* request head so far */
	size_t			 head_len;

	uint8_t			*out;		/* not yet written */
	size_t			 out_off;
	size_t			 out_len;

	uint8_t			 hdr[14];	/* partial frame header */
	size_t			 hdr_len;
	bool			 in_frame;
	bool			 in_msg;	/* fragmented message open */
	uint8_t			 op;
	uint8_t			 key[4];
	unsigned		 phase;		/* payload offset mod 4 */
	uint64_t		 left;
	uint8_t			 ctl[125];
	size_t			 ctl_len;
};

static int			 echo_ep;
static uint8_t			*echo_rbuf;
static uint8_t			*echo_obuf;	/* output being built */
static size_t			 echo_olen;
static struct echo_conn		**echo_conns;	/* by descriptor */
static size_t			 echo_nconns;	/* slots in echo_conns */
static struct echo_listener	 echo_listeners[2];
static size_t			 echo_nlisteners;

static time_t
echo_now(void)
{
	return (time_t)(benchws_clock() / BENCHWS_NS);
}

static void
echo_epoll(int fd, int op, uint32_t events, void *ptr)
{
	benchws_epoll(echo_ep, fd, op, events, ptr);
}

static void
echo_close(struct echo_conn *c)
{
	close(c->fd);
	echo_conns[c->fd] = NULL;
	free(c->head);
	free(c->out);
	free(c);
}

/*
 * Output: built in echo_obuf while a read is handled, then written at
 * once; only what the socket does not take is copied to the connection.
 * Reading stops while a connection has output left (backpressure).
 */

static uint8_t *
echo_out(size_t n)
{
	if (echo_olen + n > ECHO_BUF_SIZE + 1024)
		benchws_fatalx("output buffer overflow");
	echo_olen += n;
	return echo_obuf + echo_olen - n;
}

/* Writes c->out; 0 when all is out, 1 when some is left, -1 on error. */
static int
echo_write_pending(struct echo_conn *c)
{
	int	rv;

	if ((rv = benchws_send(c->fd, c->out, &c->out_off, c->out_len)) != 0)
		return rv;
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = 0;
	return 0;
}

/* After a read: the output built in echo_obuf goes out, or waits. */
static void
echo_flush(struct echo_conn *c)
{
	size_t	off = 0;

	if (benchws_send(c->fd, echo_obuf, &off, echo_olen) == -1) {
		echo_olen = 0;
		echo_close(c);
		return;
	}
	if (off < echo_olen) {
		c->out_len = echo_olen - off;
		c->out_off = 0;
		if ((c->out = malloc(c->out_len)) == NULL)
			benchws_fatalx("out of memory");
		memcpy(c->out, echo_obuf + off, c->out_len);
		echo_olen = 0;
		c->want_out = true;
		echo_epoll(c->fd, EPOLL_CTL_MOD, EPOLLOUT, c);
		return;
	}
	echo_olen = 0;
	if (c->shut_after) {
		c->shut_after = false;
		shutdown(c->fd, SHUT_WR);
	}
}

static void
echo_writable(struct echo_conn *c)
{
	switch (echo_write_pending(c)) {
	case -1:
		echo_close(c);
		return;
	case 1:
		return;
	}
	if (c->shut_after) {
		c->shut_after = false;
		shutdown(c->fd, SHUT_WR);
	}
	c->want_out = false;
	echo_epoll(c->fd, EPOLL_CTL_MOD, EPOLLIN, c);
}

/*
 * WebSocket: handshake, frames
 */

/* Appends an unmasked frame header. */
static void
echo_frame_header(uint8_t b0, uint64_t len)
{
	benchws_frame_header(echo_out(benchws_frame_hlen(len)), b0, 0, len);
}

/* Close with code, then FIN (RFC 6455 §7.1.1: the server closes first). */
static void
echo_ws_close(struct echo_conn *c, unsigned code)
{
	uint8_t	*p;

	echo_frame_header(0x80 | BENCHWS_OP_CLOSE, code != 0 ? 2 : 0);
	if (code != 0) {
		p = echo_out(2);
		p[0] = (uint8_t)(code >> 8);
		p[1] = (uint8_t)code;
	}
	c->state = ECHO_CLOSING;
	c->shut_after = true;
	c->deadline = echo_now() + ECHO_TIMEOUT_S;
}

/* RFC 6455 §4.2.1 in short; the accept value in accept, or -1. */
static int
echo_check_request(const char *head, size_t len, char accept[32])
{
	const char	*line = head, *end = head + len, *v;
	const char	*key = NULL;
	size_t		 llen, vlen, keylen = 0;
	bool		 upgrade = false, version = false;

	if (len < 4 || memcmp(head, "GET ", 4) != 0)
		return -1;
	while (benchws_next_line(&line, &llen, end)) {
		if (benchws_field(line, llen, "upgrade", &v, &vlen))
			upgrade = vlen == 9 && strncasecmp(v, "websocket",
			    9) == 0;
		else if (benchws_field(line, llen, "sec-websocket-version",
		    &v, &vlen))
			version = vlen == 2 && memcmp(v, "13", 2) == 0;
		else if (benchws_field(line, llen, "sec-websocket-key", &v,
		    &vlen)) {
			key = v;
			keylen = vlen;
		}
	}
	if (!upgrade || !version || key == NULL || keylen != 24)
		return -1;
	benchws_accept_key(key, keylen, accept);
	return 0;
}

static void	echo_ws_frames(struct echo_conn *, const uint8_t *, size_t);

static void
echo_ws_handshake(struct echo_conn *c, const uint8_t *p, size_t n)
{
	static const char	bad[] = "HTTP/1.1 400 Bad Request\r\n"
				    "Connection: close\r\n"
				    "Content-Length: 0\r\n\r\n";
	size_t			take, hlen;
	char			accept[32];
	int			len;

	if (c->head == NULL && (c->head = malloc(ECHO_HEAD_MAX)) == NULL)
		benchws_fatalx("out of memory");
	hlen = benchws_head_add(c->head, &c->head_len, ECHO_HEAD_MAX, p, n,
	    &take);
	if (hlen == 0) {
		if (c->head_len == ECHO_HEAD_MAX)
			goto refuse;
		return;
	}
	if (echo_check_request(c->head, hlen - 4, accept) == -1)
		goto refuse;
	len = snprintf((char *)echo_out(160), 160,
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	echo_olen -= 160 - (size_t)len;
	take -= c->head_len - hlen;
	free(c->head);
	c->head = NULL;
	c->state = ECHO_OPEN;
	c->deadline = 0;
	if (n > take)
		echo_ws_frames(c, p + take, n - take);
	return;
refuse:
	memcpy(echo_out(sizeof(bad) - 1), bad, sizeof(bad) - 1);
	c->state = ECHO_CLOSING;
	c->shut_after = true;
	c->deadline = echo_now() + ECHO_TIMEOUT_S;
}

/* Bytes of a client frame header: the length, then the mask key. */
static size_t
echo_header_need(const uint8_t *hdr, size_t hdr_len)
{
	size_t	need = benchws_header_need(hdr, hdr_len);

	return hdr_len >= 2 && (hdr[1] & 0x80) ? need + 4 : need;
}

/* Checks a complete header; echoes a data frame's header.  -1: invalid. */
static int
echo_ws_header(struct echo_conn *c)
{
	const uint8_t	*h = c->hdr;
	uint64_t	 len = benchws_frame_len(h);
	size_t		 at = benchws_header_need(h, c->hdr_len);
	bool		 fin = (h[0] & 0x80) != 0;

	if (!(h[1] & 0x80) || (h[0] & 0x70))
		return -1;	/* §5.1 unmasked client frame; RSV bits */
	if (len >> 63)
		return -1;
	memcpy(c->key, h + at, 4);
	c->op = h[0] & 0x0f;
	c->left = len;
	c->phase = 0;
	c->hdr_len = 0;
	c->in_frame = true;
	switch (c->op) {
	case BENCHWS_OP_CONT:
		if (!c->in_msg)
			return -1;
		break;
	case BENCHWS_OP_TEXT:
	case BENCHWS_OP_BINARY:
		if (c->in_msg)
			return -1;
		break;
	case BENCHWS_OP_CLOSE:
	case BENCHWS_OP_PING:
	case BENCHWS_OP_PONG:
		c->ctl_len = 0;
		return fin && len <= 125 ? 0 : -1;
	default:
		return -1;
	}
	c->in_msg = !fin;
	echo_frame_header(h[0], len);
	return 0;
}

static void
echo_ws_control(struct echo_conn *c)
{
	unsigned	code = 0;

	switch (c->op) {
	case BENCHWS_OP_PING:
		echo_frame_header(0x80 | BENCHWS_OP_PONG, c->ctl_len);
		memcpy(echo_out(c->ctl_len), c->ctl, c->ctl_len);
		break;
	case BENCHWS_OP_CLOSE:
		if (c->ctl_len == 1) {
			echo_ws_close(c, BENCHWS_CLOSE_PROTOCOL);
			break;
		}
		if (c->ctl_len >= 2)
			code = (unsigned)c->ctl[0] << 8 | c->ctl[1];
		echo_ws_close(c, code);
		break;
	default:
		break;		/* pong */
	}
}

static void
echo_ws_frames(struct echo_conn *c, const uint8_t *p, size_t n)
{
	size_t	k;

	while (c->state == ECHO_OPEN) {
		if (!c->in_frame) {
			if (!benchws_header_fill(c->hdr, &c->hdr_len,
			    echo_header_need, &p, &n))
				return;
			if (echo_ws_header(c) == -1) {
				echo_ws_close(c, BENCHWS_CLOSE_PROTOCOL);
				return;
			}
		}
		k = c->left < n ? (size_t)c->left : n;
		if (c->op >= BENCHWS_OP_CLOSE) {
			benchws_mask(c->ctl + c->ctl_len, p, k, c->key,
			    c->phase);
			c->ctl_len += k;
		} else
			benchws_mask(echo_out(k), p, k, c->key, c->phase);
		c->phase = (c->phase + (unsigned)k) & 3;
		if (!benchws_payload_step(&c->left, k, &p, &n))
			return;
		c->in_frame = false;
		if (c->op >= BENCHWS_OP_CLOSE)
			echo_ws_control(c);
	}
}

/*
 * Connections
 */

static void
echo_readable(struct echo_conn *c)
{
	ssize_t	n;

	n = recv(c->fd, echo_rbuf, ECHO_BUF_SIZE, 0);
	if (n == -1) {
		if (errno != EAGAIN && errno != EINTR)
			echo_close(c);
		return;
	}
	if (n == 0) {
		echo_close(c);	/* the client's FIN, or it went away */
		return;
	}
	echo_olen = 0;
	if (c->kind == ECHO_TCP)
		memcpy(echo_out((size_t)n), echo_rbuf, (size_t)n);
	else if (c->state == ECHO_HANDSHAKE)
		echo_ws_handshake(c, echo_rbuf, (size_t)n);
	else if (c->state == ECHO_OPEN)
		echo_ws_frames(c, echo_rbuf, (size_t)n);
	/* ECHO_CLOSING: what the client sends after the close is dropped */
	if (echo_olen > 0 || c->shut_after)
		echo_flush(c);
}

static void
echo_accept(struct echo_listener *l)
{
	struct echo_conn	*c;
	int			 fd, one = 1;

	for (;;) {
		fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				fprintf(stderr, "echo-backend: accept: %s, "
				    "pausing 1s\n", strerror(errno));
				echo_epoll(l->fd, EPOLL_CTL_DEL, 0, NULL);
				l->paused = true;
			}
			return;
		}
		if ((size_t)fd >= echo_nconns)
			benchws_fatalx("descriptor %d over the limit", fd);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL)
			benchws_fatalx("out of memory");
		c->fd = fd;
		c->kind = l->kind;
		c->state = l->kind == ECHO_WS ? ECHO_HANDSHAKE : ECHO_OPEN;
		if (l->kind == ECHO_WS)
			c->deadline = echo_now() + ECHO_TIMEOUT_S;
		echo_conns[fd] = c;
		echo_epoll(fd, EPOLL_CTL_ADD, EPOLLIN, c);
	}
}

/* Once a second: drop connections past their deadline, resume accept. */
static void
echo_tick(void)
{
	time_t		now = echo_now();
	size_t		i;

	for (i = 0; i < echo_nconns; i++)
		if (echo_conns[i] != NULL && echo_conns[i]->deadline != 0 &&
		    now >= echo_conns[i]->deadline)
			echo_close(echo_conns[i]);
	for (i = 0; i < echo_nlisteners; i++) {
		if (echo_listeners[i].paused) {
			echo_listeners[i].paused = false;
			echo_epoll(echo_listeners[i].fd, EPOLL_CTL_ADD,
			    EPOLLIN, &echo_listeners[i]);
		}
	}
}

static void
echo_listen(const char *addr, enum echo_kind kind)
{
	struct echo_listener	*l = &echo_listeners[echo_nlisteners];
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 host[INET_ADDRSTRLEN];
	const char		*colon = strrchr(addr, ':');
	char			*end;
	unsigned long		 port;
	int			 one = 1;

	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		benchws_fatalx("%s: expected ADDR:PORT", addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	port = strtoul(colon + 1, &end, 10);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (*end != '\0' || port > 65535 ||
	    inet_pton(AF_INET, host, &sin.sin_addr) != 1 ||
	    (ntohl(sin.sin_addr.s_addr) >> 24) != 127)
		benchws_fatalx("%s: expected 127.x.x.x:PORT", addr);
	if ((l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		benchws_fatalx("socket: %s", strerror(errno));
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(l->fd, ECHO_BACKLOG) == -1 ||
	    getsockname(l->fd, (struct sockaddr *)&sin, &len) == -1)
		benchws_fatalx("listen on %s: %s", addr, strerror(errno));
	l->kind = kind;
	echo_nlisteners++;
	echo_epoll(l->fd, EPOLL_CTL_ADD, EPOLLIN, l);
	printf("%s listening on %s:%u\n", kind == ECHO_WS ? "ws" : "tcp", host,
	    ntohs(sin.sin_port));
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 ev[ECHO_MAX_EVENTS];
	struct rlimit		 rl;
	sigset_t		 mask;
	int			 sfd, ch, n, i;
	time_t			 next_tick = 0;
	const char		*ws = NULL, *tcp = NULL;
	void			*ptr;

	benchws_init("echo-backend", 1);
	while ((ch = getopt(argc, argv, "t:w:")) != -1) {
		switch (ch) {
		case 't':
			tcp = optarg;
			break;
		case 'w':
			ws = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || (ws == NULL && tcp == NULL))
		goto usage;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		benchws_fatalx("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	echo_nconns = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576 ?
	    1048576 : (size_t)rl.rlim_cur;
	if ((echo_conns = calloc(echo_nconns, sizeof(*echo_conns))) == NULL ||
	    (echo_rbuf = malloc(ECHO_BUF_SIZE)) == NULL ||
	    (echo_obuf = malloc(ECHO_BUF_SIZE + 1024)) == NULL)
		benchws_fatalx("out of memory");
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1 ||
	    (echo_ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		benchws_fatalx("signalfd, epoll: %s", strerror(errno));
	echo_epoll(sfd, EPOLL_CTL_ADD, EPOLLIN, &sfd);
	if (ws != NULL)
		echo_listen(ws, ECHO_WS);
	if (tcp != NULL)
		echo_listen(tcp, ECHO_TCP);

	for (;;) {
		n = epoll_wait(echo_ep, ev, ECHO_MAX_EVENTS, 1000);
		if (n == -1 && errno != EINTR)
			benchws_fatalx("epoll_wait: %s", strerror(errno));
		for (i = 0; i < n; i++) {
			ptr = ev[i].data.ptr;
			if (ptr == &sfd)
				return 0;
			if (ptr == &echo_listeners[0] ||
			    ptr == &echo_listeners[1]) {
				echo_accept(ptr);
				continue;
			}
			if (((struct echo_conn *)ptr)->want_out)
				echo_writable(ptr);
			else
				echo_readable(ptr);
		}
		if (echo_now() >= next_tick) {
			echo_tick();
			next_tick = echo_now() + 1;
		}
	}
usage:
	fprintf(stderr, "usage: echo-backend [-w ADDR:PORT] [-t ADDR:PORT]\n");
	return 2;
}
