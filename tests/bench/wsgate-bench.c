/*
 * wsgate-bench: a WebSocket load generator for comparing proxies.
 *
 * One thread, epoll, non-blocking sockets, one shared read buffer: the
 * tool's own cost per message is a recv(), a send() and a pass over the
 * payload.  It is a complete RFC 6455 client:
 *
 *   §4.1    the opening handshake with a fresh random key; the 101, its
 *           Upgrade and Connection fields and Sec-WebSocket-Accept are
 *           checked, and an extension or subprotocol nobody offered fails
 *   §5.1-3  every frame masked with a fresh key from OpenSSL's DRBG; frames
 *           from the server must be unmasked, with no RSV bits, a known
 *           opcode and the shortest length encoding
 *   §5.4-5  fragmented messages reassembled (counted, never buffered);
 *           control frames at most 125 bytes and never fragmented
 *   §5.5.2  every ping answered with a pong carrying its payload
 *   §7      the close handshake: close 1000, the server's close (1000 or
 *           no code, a valid reason), then the server's FIN
 *
 * Modes:
 *   echo     C connections each keep W binary messages of S bytes in
 *            flight; throughput and round-trip latency of each message.
 *            The echo must have the same length, and sampled bytes (the
 *            message number at both ends, every 256th byte) must match.
 *   bytes    the same through a route to a TCP echo service: what comes
 *            back is a byte stream in messages of any size, so a message
 *            is complete when the stream has returned its last byte.
 *   connect  C connectors each connect, upgrade and close cleanly in a
 *            loop: handshakes per second and handshake latency.  With
 *            -e N each session first echoes N messages of S bytes, one
 *            at a time (checked as in echo; their latency not counted).
 *   idle     open C connections (at most 256 upgrading at once), hold
 *            them D seconds answering pings, count how many stayed open.
 *
 * TLS (--tls, or a wss:// URL): every connection first makes a TLS
 * handshake (OpenSSL, non-blocking, in the same loop), offering SNI
 * (--sni, "localhost" by default) and ALPN http/1.1; everything after is
 * SSL_read and SSL_write.  Certificates are not verified: the tool
 * measures the server's cost, not the trust in it.  With --tls-resume
 * each new connection offers a session ticket the server issued to an
 * earlier one, and each ticket is offered once (RFC 8446 §C.4; OpenSSL
 * spends a TLS 1.3 ticket when it resumes): the tickets go to a pool of
 * the tool (which is one thread), so that connect measures resumed
 * handshakes.
 *
 * With -p PID the proxy's CPU time (utime + stime of PID and its
 * children, from /proc/PID/stat) is read at both ends of the measured
 * window, and its resident memory before the first connection and at the
 * end of the idle hold.
 *
 * Output: one line of key=value pairs on stdout, a human summary on
 * stderr.  The exit status is 1 after any protocol error, failed check or
 * timeout, 2 on a usage error.  Targets are limited to 127.0.0.0/8.
 */

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "benchws.h"

#define BENCH_RBUF_SIZE		(256 * 1024)
#define BENCH_HEAD_MAX		8192	/* response head of the 101 */
#define BENCH_MAX_OPENING	256	/* connections upgrading at once */
#define BENCH_MAX_EVENTS	256
#define BENCH_TICK_NS		(50 * 1000 * 1000ULL)
#define BENCH_MAX_ERRORS_SHOWN	10
#define BENCH_MAX_PIDS		8
#define BENCH_SAMPLE_STRIDE	256	/* sampled bytes of big messages */
#define BENCH_MAX_SIZE		(64 * 1024 * 1024)
#define BENCH_TLS_TICKETS	256	/* unspent sessions kept */

/* Latency histogram: 128 linear sub-buckets per power of two (< 0.8%). */
#define HIST_SUB_BITS	7
#define HIST_SUB	(1U << HIST_SUB_BITS)
#define HIST_OCTAVES	40		/* values up to 2^40 ns, 18 minutes */
#define HIST_BUCKETS	((HIST_OCTAVES + 1) * HIST_SUB)

enum bench_mode {
	BENCH_ECHO,
	BENCH_BYTES,
	BENCH_CONNECT,
	BENCH_IDLE,
	BENCH_NMODES
};

static const char *const bench_mode_names[] = {
	[BENCH_ECHO] = "echo",
	[BENCH_BYTES] = "bytes",
	[BENCH_CONNECT] = "connect",
	[BENCH_IDLE] = "idle",
};
_Static_assert(sizeof(bench_mode_names) / sizeof(bench_mode_names[0]) ==
    BENCH_NMODES, "bench_mode_names out of step with enum bench_mode");

enum bench_state {
	BENCH_FREE,		/* no socket: not started, finished or failed */
	BENCH_CONNECTING,	/* TCP connect in progress */
	BENCH_TLS,		/* TLS handshake in progress */
	BENCH_UPGRADING,	/* request sent, reading the 101 */
	BENCH_OPEN,		/* frames flowing */
	BENCH_CLOSING,		/* close frame sent, waiting for the reply */
	BENCH_DRAINING,		/* close reply received, waiting for the FIN */
	BENCH_NSTATES
};

static const char *const bench_state_names[] = {
	[BENCH_FREE] = "free",
	[BENCH_CONNECTING] = "connecting",
	[BENCH_TLS] = "tls handshake",
	[BENCH_UPGRADING] = "upgrading",
	[BENCH_OPEN] = "open",
	[BENCH_CLOSING] = "closing",
	[BENCH_DRAINING] = "draining",
};
_Static_assert(sizeof(bench_state_names) / sizeof(bench_state_names[0]) ==
    BENCH_NSTATES, "bench_state_names out of step with enum bench_state");

enum bench_phase {
	BENCH_SETUP,		/* opening the connections */
	BENCH_RUN,		/* load running: warm-up, then measuring */
	BENCH_FINISH,		/* closing every connection */
	BENCH_NPHASES
};

struct bench_conn {
	int			 fd;
	SSL			*ssl;		/* with TLS, else NULL */
	unsigned		 id;
	enum bench_state	 state;
	bool			 want_out;	/* EPOLLOUT registered */
	bool			 read_wants_out; /* SSL_read must write */
	bool			 tls_closed;	/* TLS ended: the FIN next */
	bool			 quiesce;	/* close when echoes are in */
	uint64_t		 t_start;	/* connect() of this cycle */
	uint64_t		 deadline;	/* of the state; 0 = none */

	char			*head;		/* 101 head so far, or NULL */
	size_t			 head_len;
	char			 accept[32];	/* Sec-WebSocket-Accept due */

	uint8_t			*out;		/* frames not yet sent */
	size_t			 out_off;
	size_t			 out_len;
	size_t			 out_cap;

	uint8_t			 hdr[14];	/* partial frame header */
	size_t			 hdr_len;
	bool			 in_frame;	/* header read, payload due */
	uint8_t			 op;
	bool			 fin;
	uint64_t		 left;		/* payload bytes of the frame */
	bool			 in_msg;	/* fragmented message open */
	uint8_t			 ctl[125];	/* control frame payload */
	size_t			 ctl_len;

	uint64_t		*ring;		/* send times of messages out */
	unsigned		 ring_head;
	unsigned		 ring_count;
	uint64_t		 tx_seq;	/* number of the next message */
	uint64_t		 rx_seq;	/* message being received */
	size_t			 rx_off;	/* bytes of it received */
};

struct bench_hist {
	uint64_t		 count[HIST_BUCKETS];
	uint64_t		 total;
	uint64_t		 max;
};

struct bench_proc {
	uint64_t		 ticks;		/* utime + stime */
	uint64_t		 rss_kib;
};

struct bench {
	/* options */
	enum bench_mode		 mode;
	struct sockaddr_in	 sin;
	char			 hostport[64];	/* Host field */
	char			 path[1024];
	unsigned		 conns;
	unsigned		 inflight;
	size_t			 size;
	double			 duration;
	double			 warmup;
	double			 timeout;
	unsigned		 echoes;	/* -e: per connect session */
	uint64_t		 limit;		/* -n; 0 = none */
	pid_t			 pids[BENCH_MAX_PIDS];
	size_t			 npids;
	pid_t			 backend_pid;
	bool			 quiet;
	bool			 tls;
	bool			 tls_resume;
	const char		*sni;

	/* run */
	int			 ep;
	struct bench_conn	*c;
	enum bench_phase	 phase;
	uint64_t		 now;
	uint64_t		 t0;
	uint64_t		 t_warm_end;	/* measuring starts */
	uint64_t		 t_run_end;	/* measuring ends */
	uint64_t		 t_setup_end;	/* deadline of SETUP */
	uint64_t		 t_finish_end;	/* deadline of FINISH */
	uint64_t		 t_next_tick;
	bool			 measuring;
	bool			 measured;
	bool			 abort;		/* a failure while opening */
	unsigned		 nstarted;	/* started in setup */
	unsigned		 nopening;	/* CONNECTING to UPGRADING */
	unsigned		 nopen;		/* reached OPEN (setup) */
	unsigned		 nactive;	/* not FREE */
	uint8_t			*tmpl;		/* payload template */
	uint8_t			*rbuf;
	SSL_CTX			*tls_ctx;
	SSL_SESSION		*tickets[BENCH_TLS_TICKETS]; /* newest last */
	size_t			 ntickets;

	/* results */
	uint64_t		 errors;
	uint64_t		 msgs;
	uint64_t		 bytes;
	uint64_t		 handshakes;
	uint64_t		 resumed;	/* of them, TLS resumed */
	const char		*tls_version;	/* of the last TLS handshake */
	const char		*tls_cipher;
	const char		*tls_group;
	uint64_t		 pings;
	uint64_t		 frames;	/* data frames, measured */
	uint64_t		 open_at_end;
	struct bench_hist	 hist;
	uint64_t		 m_start;	/* measured window */
	uint64_t		 m_end;
	struct bench_proc	 proxy_start;
	struct bench_proc	 proxy_end;
	uint64_t		 rss_before;
	uint64_t		 backend_start;
	uint64_t		 backend_end;
	uint64_t		 self_start;	/* our CPU, µs */
	uint64_t		 self_end;
};

static struct bench	bench;
static volatile sig_atomic_t bench_interrupted;

static void	bench_conn_start(struct bench_conn *);
static void	bench_conn_fail(struct bench_conn *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	bench_frames(struct bench_conn *, const uint8_t *, size_t);
static void	bench_close_start(struct bench_conn *);

static void
bench_usage(void)
{
	fprintf(stderr,
	    "usage: wsgate-bench [-q] [-m echo|bytes|connect|idle] "
	    "-u ws[s]://127.x.x.x:PORT/PATH\n"
	    "           [-c conns] [-w inflight] [-s size] [-d seconds] "
	    "[-n count]\n"
	    "           [-e echoes] [-W warmup] [-t timeout] [-p proxy_pid] "
	    "[-b backend_pid]\n"
	    "           [--tls] [--tls-resume] [--sni name]\n"
	    "--tls (or wss://): TLS 1.2 or 1.3 with SNI (--sni, default "
	    "localhost) and ALPN\n"
	    "http/1.1; the server's certificate is NOT verified (the tool "
	    "measures the\n"
	    "server's cost).  --tls-resume: each connection offers a session "
	    "ticket that\n"
	    "the server issued to an earlier one, once (implies --tls).\n");
	exit(2);
}

static uint64_t
bench_secs(double s)
{
	return (uint64_t)(s * 1e9);
}

/*
 * Options
 */

static double
bench_parse_double(const char *s, const char *what, double min, double max)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max))
		benchws_fatalx("%s: must be a number between %g and %g", what,
		    min, max);
	return v;
}

/* A size: 64, 4k, 64KiB, 1M, 1MiB. */
static size_t
bench_parse_size(const char *s)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		benchws_fatalx("-s: bad size %s", s);
	if (strcasecmp(end, "k") == 0 || strcasecmp(end, "kib") == 0)
		v *= 1024;
	else if (strcasecmp(end, "m") == 0 || strcasecmp(end, "mib") == 0)
		v *= 1024 * 1024;
	else if (*end != '\0')
		benchws_fatalx("-s: bad size %s", s);
	if (v < 1 || v > BENCH_MAX_SIZE)
		benchws_fatalx("-s: must be between 1 and %d bytes",
		    BENCH_MAX_SIZE);
	return (size_t)v;
}

/* ws://HOST:PORT/PATH where HOST is 127.x.x.x or localhost. */
static void
bench_parse_url(const char *url)
{
	const char	*p, *colon, *slash;
	char		 host[INET_ADDRSTRLEN];
	unsigned long	 port;
	char		*end;
	size_t		 n;

	if (strncmp(url, "wss://", 6) == 0) {
		bench.tls = true;
		p = url + 6;
	} else if (strncmp(url, "ws://", 5) == 0)
		p = url + 5;
	else
		benchws_fatalx("-u: only ws:// and wss:// URLs: %s", url);
	slash = strchr(p, '/');
	if (slash == NULL)
		slash = p + strlen(p);
	colon = memchr(p, ':', (size_t)(slash - p));
	if (colon == NULL)
		benchws_fatalx("-u: the port is required: %s", url);
	n = (size_t)(colon - p);
	if (n == 0 || n >= sizeof(host))
		benchws_fatalx("-u: bad host: %s", url);
	memcpy(host, p, n);
	host[n] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	memset(&bench.sin, 0, sizeof(bench.sin));
	bench.sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, host, &bench.sin.sin_addr) != 1)
		benchws_fatalx("-u: the host must be an IPv4 address: %s", url);
	if ((ntohl(bench.sin.sin_addr.s_addr) >> 24) != 127)
		benchws_fatalx("-u: only 127.0.0.0/8 targets: %s", url);
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end != slash || port == 0 || port > 65535)
		benchws_fatalx("-u: bad port: %s", url);
	bench.sin.sin_port = htons((uint16_t)port);
	snprintf(bench.hostport, sizeof(bench.hostport), "%s:%lu", host,
	    port);
	if (*slash == '\0')
		strcpy(bench.path, "/");
	else if (strlen(slash) >= sizeof(bench.path))
		benchws_fatalx("-u: path too long");
	else
		strcpy(bench.path, slash);
	for (p = bench.path; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			benchws_fatalx("-u: the path may not hold spaces or "
			    "control characters");
}

enum bench_long_option {
	BENCH_OPT_TLS = 256,
	BENCH_OPT_TLS_RESUME,
	BENCH_OPT_SNI
};

static const struct option bench_long_options[] = {
	{ "tls", no_argument, NULL, BENCH_OPT_TLS },
	{ "tls-resume", no_argument, NULL, BENCH_OPT_TLS_RESUME },
	{ "sni", required_argument, NULL, BENCH_OPT_SNI },
	{ NULL, 0, NULL, 0 }
};

static void
bench_options(int argc, char *argv[])
{
	const char	*url = NULL;
	int		 ch, m;

	bench.mode = BENCH_ECHO;
	bench.conns = 50;
	bench.inflight = 1;
	bench.size = 64;
	bench.duration = 5;
	bench.timeout = 5;
	bench.sni = "localhost";
	while ((ch = getopt_long(argc, argv, "b:c:d:e:m:n:p:qs:t:u:w:W:",
	    bench_long_options, NULL)) != -1) {
		switch (ch) {
		case BENCH_OPT_TLS:
			bench.tls = true;
			break;
		case BENCH_OPT_TLS_RESUME:
			bench.tls = bench.tls_resume = true;
			break;
		case BENCH_OPT_SNI:
			/* RFC 6066 §3: a DNS name, at most 255 bytes */
			if (*optarg == '\0' || strlen(optarg) > 255)
				benchws_fatalx("--sni: 1 to 255 bytes");
			bench.sni = optarg;
			break;
		case 'b':
			bench.backend_pid = (pid_t)bench_parse_double(optarg,
			    "-b", 1, INT_MAX);
			break;
		case 'c':
			bench.conns = (unsigned)bench_parse_double(optarg,
			    "-c", 1, 1000000);
			break;
		case 'd':
			bench.duration = bench_parse_double(optarg, "-d",
			    0.1, 3600);
			break;
		case 'e':
			bench.echoes = (unsigned)bench_parse_double(optarg,
			    "-e", 0, 1000000);
			break;
		case 'm':
			for (m = 0; m < BENCH_NMODES; m++)
				if (strcmp(optarg, bench_mode_names[m]) == 0)
					break;
			if (m == BENCH_NMODES)
				benchws_fatalx("-m: echo, bytes, connect or "
				    "idle");
			bench.mode = (enum bench_mode)m;
			break;
		case 'n':
			bench.limit = (uint64_t)bench_parse_double(optarg,
			    "-n", 1, 1e15);
			break;
		case 'p':
			if (bench.npids == BENCH_MAX_PIDS)
				benchws_fatalx("-p: at most %d",
				    BENCH_MAX_PIDS);
			bench.pids[bench.npids++] = (pid_t)bench_parse_double(
			    optarg, "-p", 1, INT_MAX);
			break;
		case 'q':
			bench.quiet = true;
			break;
		case 's':
			bench.size = bench_parse_size(optarg);
			break;
		case 't':
			bench.timeout = bench_parse_double(optarg, "-t",
			    0.1, 600);
			break;
		case 'u':
			url = optarg;
			break;
		case 'w':
			bench.inflight = (unsigned)bench_parse_double(optarg,
			    "-w", 1, 65536);
			break;
		case 'W':
			bench.warmup = bench_parse_double(optarg, "-W", 0,
			    600);
			break;
		default:
			bench_usage();
		}
	}
	if (optind != argc || url == NULL)
		bench_usage();
	if (bench.echoes > 0 && bench.mode != BENCH_CONNECT)
		benchws_fatalx("-e: only with -m connect");
	if (bench.mode == BENCH_CONNECT)
		bench.inflight = 1;	/* the echoes go one at a time */
	bench_parse_url(url);
}

/*
 * Small pure helpers: random bytes, masking, base64, latency histogram,
 * UTF-8 of close reasons, the expected payload.
 */

/* Random bytes from OpenSSL's DRBG, fetched 4 KiB at a time. */
static void
bench_random(void *buf, size_t n)
{
	static uint8_t	pool[4096];
	static size_t	off = sizeof(pool);

	if (off + n > sizeof(pool)) {
		if (RAND_bytes(pool, sizeof(pool)) != 1)
			benchws_fatalx("RAND_bytes failed");
		off = 0;
	}
	memcpy(buf, pool + off, n);
	off += n;
}

static size_t
bench_hist_index(uint64_t v)
{
	unsigned	shift;
	size_t		i;

	if (v < HIST_SUB)
		return (size_t)v;
	shift = (unsigned)(63 - __builtin_clzll(v)) - HIST_SUB_BITS;
	i = (size_t)(shift + 1) * HIST_SUB + (size_t)((v >> shift) - HIST_SUB);
	return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* The middle of bucket i. */
static uint64_t
bench_hist_value(size_t i)
{
	unsigned	shift;
	uint64_t	sub;

	if (i < HIST_SUB)
		return i;
	shift = (unsigned)(i / HIST_SUB) - 1;
	sub = i % HIST_SUB + HIST_SUB;
	return (sub << shift) + ((1ULL << shift) >> 1);
}

static void
bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->count[bench_hist_index(v)]++;
	h->total++;
	if (v > h->max)
		h->max = v;
}

/* The value at quantile q (0..1), in ns; 0 when empty. */
static uint64_t
bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t	rank, seen = 0;
	size_t		i;

	if (h->total == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->total);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank) {
			uint64_t v = bench_hist_value(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

/* RFC 3629 well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static bool
bench_utf8_valid(const uint8_t *p, size_t n)
{
	size_t	i = 0, k, len;
	uint8_t	lo, hi;

	while (i < n) {
		uint8_t	b = p[i];

		lo = 0x80;
		hi = 0xbf;
		if (b < 0x80) {
			i++;
			continue;
		} else if (b >= 0xc2 && b <= 0xdf)
			len = 2;
		else if (b >= 0xe0 && b <= 0xef) {
			len = 3;
			if (b == 0xe0)
				lo = 0xa0;
			else if (b == 0xed)
				hi = 0x9f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			len = 4;
			if (b == 0xf0)
				lo = 0x90;
			else if (b == 0xf4)
				hi = 0x8f;
		} else
			return false;
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			uint8_t c = p[i + k];

			if (c < (k == 1 ? lo : 0x80) ||
			    c > (k == 1 ? hi : 0xbf))
				return false;
		}
		i += len;
	}
	return true;
}

/* RFC 6455 §7.4: codes a peer may send. */
static bool
bench_close_code_valid(unsigned code)
{
	if (code >= 1000 && code <= 1003)
		return true;
	if (code >= 1007 && code <= 1011)
		return true;
	return code >= 3000 && code <= 4999;
}

/*
 * Byte pos of message seq: the message number (little endian) in the
 * first and in the last eight bytes, a fixed pattern between them.
 */
static uint8_t
bench_expected(uint64_t seq, size_t size, size_t pos)
{
	if (pos < 8)
		return (uint8_t)(seq >> (8 * pos));
	if (size >= 16 && pos >= size - 8)
		return (uint8_t)(seq >> (8 * (pos - (size - 8))));
	return bench.tmpl[pos];
}

/*
 * Checks bytes [off, off + n) of message seq: both ends, and the rest
 * whole in messages up to 4 KiB, every 256th byte in larger ones.
 */
static bool
bench_check(uint64_t seq, size_t off, const uint8_t *p, size_t n)
{
	size_t	size = bench.size, pos, end = off + n, lo, hi;

	if (size <= 4096) {
		lo = off > 8 ? off : 8;
		hi = size >= 16 ? size - 8 : size;
		hi = hi < end ? hi : end;
		if (lo < hi && memcmp(p + (lo - off), bench.tmpl + lo,
		    hi - lo) != 0)
			return false;
	}

	for (pos = off; pos < end && pos < 8; pos++)
		if (p[pos - off] != bench_expected(seq, size, pos))
			return false;
	pos = size >= 16 ? size - 8 : size;
	for (pos = pos > off ? pos : off; pos < end; pos++)
		if (p[pos - off] != bench_expected(seq, size, pos))
			return false;
	pos = (off + BENCH_SAMPLE_STRIDE - 1) / BENCH_SAMPLE_STRIDE *
	    BENCH_SAMPLE_STRIDE;
	for (; pos < end; pos += BENCH_SAMPLE_STRIDE)
		if (p[pos - off] != bench_expected(seq, size, pos))
			return false;
	return true;
}

/*
 * /proc: CPU time and resident memory of the proxy (a PID and its
 * children, so nginx's master and workers) and of the backend.
 */

/* utime + stime (ticks), ppid and rss (KiB) from /proc/PID/stat. */
static int
bench_proc_stat(pid_t pid, pid_t *ppid, uint64_t *ticks, uint64_t *rss_kib)
{
	char			 path[64], buf[1024], *p, *save = NULL;
	FILE			*f;
	size_t			 n;
	int			 field;
	unsigned long long	 v, ut = 0, st = 0, rss = 0;
	long			 pp = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -1;
	field = 2;
	for (p = strtok_r(p + 1, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		field++;
		v = strtoull(p, NULL, 10);
		if (field == 4)
			pp = (long)v;
		else if (field == 14)
			ut = v;
		else if (field == 15)
			st = v;
		else if (field == 24) {
			rss = v;
			break;
		}
	}
	if (field != 24)
		return -1;
	*ppid = (pid_t)pp;
	*ticks = ut + st;
	*rss_kib = rss * (unsigned long long)sysconf(_SC_PAGESIZE) / 1024;
	return 0;
}

static void
bench_proc_sample(struct bench_proc *pr)
{
	DIR		*d;
	struct dirent	*de;
	pid_t		 pid, ppid;
	uint64_t	 ticks, rss;
	size_t		 i;

	memset(pr, 0, sizeof(*pr));
	if (bench.npids == 0 || (d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		pid = (pid_t)strtol(de->d_name, NULL, 10);
		if (bench_proc_stat(pid, &ppid, &ticks, &rss) == -1)
			continue;
		for (i = 0; i < bench.npids; i++) {
			if (pid == bench.pids[i] || ppid == bench.pids[i]) {
				pr->ticks += ticks;
				pr->rss_kib += rss;
				break;
			}
		}
	}
	closedir(d);
}

static uint64_t
bench_backend_ticks(void)
{
	pid_t		ppid;
	uint64_t	ticks = 0, rss;

	if (bench.backend_pid != 0)
		bench_proc_stat(bench.backend_pid, &ppid, &ticks, &rss);
	return ticks;
}

static uint64_t
bench_self_us(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/*
 * Connections: output, state changes, failure
 */

/* Connecting, in the TLS handshake or upgrading. */
static bool
bench_state_opening(enum bench_state state)
{
	return state == BENCH_CONNECTING || state == BENCH_TLS ||
	    state == BENCH_UPGRADING;
}

static void
bench_set_state(struct bench_conn *c, enum bench_state state)
{
	if (bench_state_opening(c->state) && !bench_state_opening(state))
		bench.nopening--;
	if (c->state == BENCH_FREE && state != BENCH_FREE)
		bench.nactive++;
	else if (c->state != BENCH_FREE && state == BENCH_FREE)
		bench.nactive--;
	c->state = state;
	switch (state) {
	case BENCH_CONNECTING:
		bench.nopening++;
		/* FALLTHROUGH */
	case BENCH_TLS:
	case BENCH_UPGRADING:
	case BENCH_CLOSING:
	case BENCH_DRAINING:
		c->deadline = bench.now + bench_secs(bench.timeout);
		break;
	default:
		c->deadline = 0;
		break;
	}
}

static void
bench_epoll_out(struct bench_conn *c, bool on)
{
	if (c->want_out == on)
		return;
	benchws_epoll(bench.ep, c->fd, EPOLL_CTL_MOD,
	    EPOLLIN | (on ? EPOLLOUT : 0), c);
	c->want_out = on;
}

/* The socket is closed; the slot is free for the next cycle. */
static void
bench_conn_release(struct bench_conn *c)
{
	/*
	 * No close_notify of ours: the server has closed (or failed) by
	 * now, and bytes to a closed socket would only draw a reset.
	 */
	SSL_free(c->ssl);
	c->ssl = NULL;
	c->read_wants_out = c->tls_closed = false;
	if (c->fd != -1)
		close(c->fd);	/* also removes it from the epoll set */
	c->fd = -1;
	free(c->head);
	c->head = NULL;
	c->want_out = false;
	bench_set_state(c, BENCH_FREE);
}

static void
bench_conn_fail(struct bench_conn *c, const char *fmt, ...)
{
	va_list	ap;

	if (bench.errors++ < BENCH_MAX_ERRORS_SHOWN) {
		fprintf(stderr, "wsgate-bench: connection %u (%s): ", c->id,
		    bench_state_names[c->state]);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, "\n");
	} else if (bench.errors == BENCH_MAX_ERRORS_SHOWN + 1)
		fprintf(stderr, "wsgate-bench: further errors not shown\n");
	bench_conn_release(c);
	/* A failure while opening ends the run: the load would be wrong. */
	if (bench.phase == BENCH_SETUP)
		bench.abort = true;
}

/* Room for n more bytes of output; the buffer grows as needed. */
static uint8_t *
bench_out_reserve(struct bench_conn *c, size_t n)
{
	size_t	cap;

	if (c->out_off > 0 && c->out_len + n > c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > c->out_cap) {
		cap = c->out_cap > 0 ? c->out_cap : 512;
		while (cap < c->out_len + n)
			cap *= 2;
		if ((c->out = realloc(c->out, cap)) == NULL)
			benchws_fatalx("out of memory");
		c->out_cap = cap;
	}
	c->out_len += n;
	return c->out + c->out_len - n;
}

/*
 * TLS: fails c with what and OpenSSL's reason for err (from
 * SSL_get_error), and leaves the thread's error queue empty.
 */
static void
bench_tls_fail(struct bench_conn *c, const char *what, int err)
{
	char		why[256];
	unsigned long	e = ERR_peek_last_error();

	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else if (err == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(why, sizeof(why), "%s", strerror(errno));
	else
		snprintf(why, sizeof(why), "SSL_get_error %d", err);
	ERR_clear_error();
	bench_conn_fail(c, "%s: %s", what, why);
}

/*
 * SSL_write of the output, a record (16 KiB at most) a call: 0 when all
 * is out, 1 when the socket is full, 2 when OpenSSL must read first, -1
 * when c failed.
 */
static int
bench_tls_send(struct bench_conn *c)
{
	size_t	n;
	int	r, err;

	while (c->out_off < c->out_len) {
		n = c->out_len - c->out_off;
		ERR_clear_error();
		r = SSL_write(c->ssl, c->out + c->out_off,
		    n > INT_MAX ? INT_MAX : (int)n);
		if (r > 0) {
			c->out_off += (size_t)r;
			continue;
		}
		err = SSL_get_error(c->ssl, r);
		if (err == SSL_ERROR_WANT_WRITE)
			return 1;
		if (err == SSL_ERROR_WANT_READ)
			return 2;
		bench_tls_fail(c, "SSL_write", err);
		return -1;
	}
	return 0;
}

static void
bench_flush(struct bench_conn *c)
{
	int	r;

	if (c->ssl != NULL)
		r = bench_tls_send(c);
	else if ((r = benchws_send(c->fd, c->out, &c->out_off,
	    c->out_len)) == -1)
		bench_conn_fail(c, "send: %s", strerror(errno));
	switch (r) {
	case -1:
		return;
	case 1:
		bench_epoll_out(c, true);
		return;
	case 2:
		/* the next input flushes; EPOLLIN is always on */
		bench_epoll_out(c, c->read_wants_out);
		return;
	}
	c->out_off = c->out_len = 0;
	bench_epoll_out(c, c->read_wants_out);
}

/*
 * Queues one masked frame header for len bytes of payload; returns where
 * the payload goes and the mask key in key.
 */
static uint8_t *
bench_frame_start(struct bench_conn *c, uint8_t op, size_t len,
    uint8_t key[4])
{
	size_t	 hlen = benchws_frame_hlen(len) + 4;
	uint8_t	*p = bench_out_reserve(c, hlen + len);

	benchws_frame_header(p, 0x80 | op, 0x80, len);
	bench_random(key, 4);
	memcpy(p + hlen - 4, key, 4);
	return p + hlen;
}

static void
bench_send_control(struct bench_conn *c, uint8_t op, const uint8_t *payload,
    size_t len)
{
	uint8_t	 key[4];
	uint8_t	*p = bench_frame_start(c, op, len, key);

	benchws_mask(p, payload, len, key, 0);
}

/* Queues the next binary message and notes when it left. */
static void
bench_send_message(struct bench_conn *c)
{
	size_t	 size = bench.size, pos;
	uint64_t seq = c->tx_seq++;
	uint8_t	 key[4];
	uint8_t	*p = bench_frame_start(c, BENCHWS_OP_BINARY, size, key);

	benchws_mask(p, bench.tmpl, size, key, 0);
	for (pos = 0; pos < size && pos < 8; pos++)
		p[pos] = bench_expected(seq, size, pos) ^ key[pos & 3];
	for (pos = size >= 16 ? size - 8 : size; pos < size; pos++)
		p[pos] = bench_expected(seq, size, pos) ^ key[pos & 3];
	c->ring[(c->ring_head + c->ring_count) % bench.inflight] = bench.now;
	c->ring_count++;
}

/*
 * Opening: connect, request, the 101
 */

static void
bench_conn_start(struct bench_conn *c)
{
	int	one = 1;

	c->out_off = c->out_len = 0;
	c->hdr_len = 0;
	c->in_frame = c->in_msg = false;
	c->ctl_len = 0;
	c->ring_head = c->ring_count = 0;
	c->tx_seq = c->rx_seq = 0;
	c->rx_off = 0;
	c->quiesce = false;
	c->t_start = bench.now;
	bench_set_state(c, BENCH_CONNECTING);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (c->fd == -1) {
		bench_conn_fail(c, "socket: %s", strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&bench.sin,
	    sizeof(bench.sin)) == -1 && errno != EINPROGRESS) {
		bench_conn_fail(c, "connect %s: %s", bench.hostport,
		    strerror(errno));
		return;
	}
	benchws_epoll(bench.ep, c->fd, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT, c);
	c->want_out = true;
}

/* RFC 6455 §4.1: the client's opening handshake. */
static void
bench_request(struct bench_conn *c)
{
	uint8_t		 nonce[16];
	char		 key[32], req[1400];
	int		 n;

	bench_random(nonce, sizeof(nonce));
	EVP_EncodeBlock((uint8_t *)key, nonce, sizeof(nonce));
	benchws_accept_key(key, strlen(key), c->accept);
	n = snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n", bench.path, bench.hostport, key);
	if (n < 0 || (size_t)n >= sizeof(req))
		benchws_fatalx("request too long");
	memcpy(bench_out_reserve(c, (size_t)n), req, (size_t)n);
	if ((c->head = malloc(BENCH_HEAD_MAX)) == NULL)
		benchws_fatalx("out of memory");
	c->head_len = 0;
	bench_set_state(c, BENCH_UPGRADING);
	bench_flush(c);
}

/*
 * TLS
 */

/* --tls-resume: a session the server issued (a ticket) into the pool. */
static int
bench_tls_new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	if (bench.ntickets == BENCH_TLS_TICKETS) {
		SSL_SESSION_free(bench.tickets[0]);	/* the oldest */
		memmove(bench.tickets, bench.tickets + 1,
		    (BENCH_TLS_TICKETS - 1) * sizeof(bench.tickets[0]));
		bench.ntickets--;
	}
	bench.tickets[bench.ntickets++] = sess;
	return 1;		/* the reference is ours */
}

static void
bench_tls_init(void)
{
	static const uint8_t	alpn[] = "\x08http/1.1";
	SSL_CTX			*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		benchws_fatalx("SSL_CTX_new failed");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0)
		benchws_fatalx("TLS client settings refused");
	/* Not verified: the benchmark measures the server, not the PKI. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* Whole socket reads: fewer system calls for the load generator. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* Output is written from a buffer that grows and moves. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * A server may close after the WebSocket close without close_notify
	 * (WebSocket ends its own stream).  OpenSSL 3 would call that a
	 * fatal error and spoil the session for --tls-resume.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (bench.tls_resume) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, bench_tls_new_session_cb);
	} else
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	bench.tls_ctx = ctx;
}

/* The handshake is done: what was agreed, then the upgrade request. */
static void
bench_tls_established(struct bench_conn *c)
{
	const uint8_t	*proto;
	unsigned	 plen;
	int		 nid;

	/* RFC 7301 §3.2: the server picks one of the protocols offered */
	SSL_get0_alpn_selected(c->ssl, &proto, &plen);
	if (plen != 0 && (plen != 8 || memcmp(proto, "http/1.1", 8) != 0)) {
		bench_conn_fail(c, "ALPN: the server chose %.*s", (int)plen,
		    (const char *)proto);
		return;
	}
	bench.tls_version = SSL_get_version(c->ssl);
	bench.tls_cipher = SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl));
	nid = (int)SSL_get_negotiated_group(c->ssl);
	bench.tls_group = nid > 0 ? OBJ_nid2sn(nid) : NULL;
	bench_request(c);
}

/* One step of the TLS handshake, on any event of the socket. */
static void
bench_tls_handshake(struct bench_conn *c)
{
	int	r, err;

	ERR_clear_error();
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		bench_tls_established(c);
		return;
	}
	err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ)
		bench_epoll_out(c, false);
	else if (err == SSL_ERROR_WANT_WRITE)
		bench_epoll_out(c, true);
	else
		bench_tls_fail(c, "TLS handshake", err);
}

static void
bench_tls_start(struct bench_conn *c)
{
	SSL_SESSION	*sess;

	if ((c->ssl = SSL_new(bench.tls_ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, bench.sni) != 1)
		benchws_fatalx("SSL_new or SNI refused");
	if (bench.tls_resume && bench.ntickets > 0) {
		/* the newest ticket; SSL_set_session takes a reference */
		sess = bench.tickets[--bench.ntickets];
		if (SSL_set_session(c->ssl, sess) != 1)
			benchws_fatalx("SSL_set_session failed");
		SSL_SESSION_free(sess);
	}
	SSL_set_connect_state(c->ssl);
	bench_set_state(c, BENCH_TLS);
	bench_tls_handshake(c);
}

/* The TCP connection is up (or failed): TLS or the request next. */
static void
bench_connected(struct bench_conn *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		bench_conn_fail(c, "connect %s: %s", bench.hostport,
		    strerror(err));
		return;
	}
	if (bench.tls)
		bench_tls_start(c);
	else
		bench_request(c);
}

/* Does the comma-separated list hold token (case-insensitive)? */
static bool
bench_has_token(const char *v, size_t len, const char *token)
{
	size_t	tlen = strlen(token), i = 0, s, e;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tlen && strncasecmp(v + s, token, tlen) == 0)
			return true;
	}
	return false;
}

/* Checks the response head (without its final CRLF CRLF); NULL if good. */
static const char *
bench_check_101(struct bench_conn *c, const char *head, size_t len)
{
	const char	*line = head, *end = head + len, *v;
	size_t		 llen, vlen;
	bool		 upgrade = false, connection = false, accept = false;

	if (len < 13 || strncmp(head, "HTTP/1.1 101", 12) != 0 ||
	    (head[12] != ' ' && head[12] != '\r'))
		return "status is not HTTP/1.1 101";
	while (benchws_next_line(&line, &llen, end)) {
		if (benchws_field(line, llen, "upgrade", &v, &vlen)) {
			if (vlen != 9 || strncasecmp(v, "websocket", 9) != 0)
				return "Upgrade is not websocket";
			upgrade = true;
		} else if (benchws_field(line, llen, "connection", &v, &vlen)) {
			if (bench_has_token(v, vlen, "upgrade"))
				connection = true;
		} else if (benchws_field(line, llen, "sec-websocket-accept", &v,
		    &vlen)) {
			if (accept || vlen != strlen(c->accept) ||
			    memcmp(v, c->accept, vlen) != 0)
				return "wrong Sec-WebSocket-Accept";
			accept = true;
		} else if (benchws_field(line, llen, "sec-websocket-extensions",
		    &v, &vlen)) {
			if (vlen > 0)
				return "extension not offered";
		} else if (benchws_field(line, llen, "sec-websocket-protocol",
		    &v, &vlen)) {
			if (vlen > 0)
				return "subprotocol not offered";
		}
	}
	if (!upgrade)
		return "no Upgrade: websocket";
	if (!connection)
		return "no Connection: upgrade";
	if (!accept)
		return "no Sec-WebSocket-Accept";
	return NULL;
}

static void
bench_count_handshake(struct bench_conn *c, uint64_t lat)
{
	bench.handshakes++;
	if (c->ssl != NULL && SSL_session_reused(c->ssl))
		bench.resumed++;
	bench_hist_add(&bench.hist, lat);
}

static void
bench_opened(struct bench_conn *c)
{
	uint64_t	lat = bench.now - c->t_start;

	free(c->head);
	c->head = NULL;
	bench_set_state(c, BENCH_OPEN);
	if (bench.phase == BENCH_FINISH) {
		bench_close_start(c);	/* the run ended while it opened */
		return;
	}
	switch (bench.mode) {
	case BENCH_CONNECT:
		if (bench.measuring)
			bench_count_handshake(c, lat);
		if (bench.echoes > 0)
			bench_send_message(c);
		else
			bench_close_start(c);
		break;
	case BENCH_IDLE:
		bench_count_handshake(c, lat);
		/* FALLTHROUGH */
	default:
		bench.nopen++;
		break;
	}
}

static void
bench_upgrade_input(struct bench_conn *c, const uint8_t *p, size_t n)
{
	size_t		 take, hlen;
	const char	*err;

	hlen = benchws_head_add(c->head, &c->head_len, BENCH_HEAD_MAX, p, n,
	    &take);
	if (hlen == 0) {
		if (c->head_len == BENCH_HEAD_MAX)
			bench_conn_fail(c, "response head over %d bytes",
			    BENCH_HEAD_MAX);
		return;
	}
	if ((err = bench_check_101(c, c->head, hlen - 4)) != NULL) {
		const char *eol = memchr(c->head, '\r', hlen);

		bench_conn_fail(c, "handshake: %s (%.*s)", err,
		    (int)(eol - c->head), c->head);
		return;
	}
	/* Bytes behind the head are the server's first frames. */
	take -= c->head_len - hlen;
	p += take;
	n -= take;
	bench_opened(c);
	if (c->state != BENCH_FREE && n > 0)
		bench_frames(c, p, n);
}

/*
 * Frames from the server
 */

static void
bench_close_start(struct bench_conn *c)
{
	static const uint8_t	code[2] = { BENCHWS_CLOSE_NORMAL >> 8,
				    BENCHWS_CLOSE_NORMAL & 0xff };

	c->quiesce = false;
	bench_send_control(c, BENCHWS_OP_CLOSE, code, sizeof(code));
	bench_set_state(c, BENCH_CLOSING);
}

/* A message has come back whole: record it, send the next one. */
static void
bench_message_done(struct bench_conn *c)
{
	uint64_t	sent;

	if (c->ring_count == 0) {
		bench_conn_fail(c, "echo of a message never sent");
		return;
	}
	sent = c->ring[c->ring_head];
	c->ring_head = (c->ring_head + 1) % bench.inflight;
	c->ring_count--;
	c->rx_seq++;
	c->rx_off = 0;
	if (bench.measuring) {
		bench.msgs++;
		bench.bytes += bench.size;
		/* connect: the histogram is that of the handshakes */
		if (bench.mode != BENCH_CONNECT)
			bench_hist_add(&bench.hist, bench.now - sent);
	}
	if (c->state != BENCH_OPEN)
		return;
	if (bench.mode == BENCH_CONNECT && (c->rx_seq >= bench.echoes ||
	    bench.phase != BENCH_RUN))
		bench_close_start(c);
	else if (bench.phase == BENCH_RUN)
		bench_send_message(c);
	else if (c->quiesce && c->ring_count == 0)
		bench_close_start(c);
}

/* Payload of data frames: checked against what was sent. */
static void
bench_data(struct bench_conn *c, const uint8_t *p, size_t n)
{
	size_t	m;

	while (n > 0) {
		if (c->ring_count == 0) {
			bench_conn_fail(c, "data but no message in flight");
			return;
		}
		m = bench.size - c->rx_off;
		if (m > n) {
			m = n;
		} else if (bench.mode != BENCH_BYTES && m < n) {
			bench_conn_fail(c, "echo longer than %zu bytes",
			    bench.size);
			return;
		}
		if (!bench_check(c->rx_seq, c->rx_off, p, m)) {
			bench_conn_fail(c, "message %" PRIu64 ": wrong bytes "
			    "at %zu..%zu", c->rx_seq, c->rx_off,
			    c->rx_off + m);
			return;
		}
		c->rx_off += m;
		p += m;
		n -= m;
		/* bytes: a message is complete when its last byte is back */
		if (bench.mode == BENCH_BYTES && c->rx_off == bench.size) {
			bench_message_done(c);
			if (c->state == BENCH_FREE)
				return;
		}
	}
}

/* The last byte of a data message (FIN) has arrived. */
static void
bench_data_end(struct bench_conn *c)
{
	if (bench.mode == BENCH_BYTES)
		return;
	if (c->rx_off != bench.size) {
		bench_conn_fail(c, "echo of %zu bytes instead of %zu",
		    c->rx_off, bench.size);
		return;
	}
	bench_message_done(c);
}

/* RFC 6455 §5.5.1: a close frame from the server. */
static void
bench_close_frame(struct bench_conn *c)
{
	unsigned	code = 0;

	if (c->ctl_len == 1) {
		bench_conn_fail(c, "close frame with a 1-byte payload");
		return;
	}
	if (c->ctl_len >= 2) {
		code = (unsigned)c->ctl[0] << 8 | c->ctl[1];
		if (!bench_close_code_valid(code)) {
			bench_conn_fail(c, "close code %u is invalid", code);
			return;
		}
		if (!bench_utf8_valid(c->ctl + 2, c->ctl_len - 2)) {
			bench_conn_fail(c, "close reason is not UTF-8");
			return;
		}
	}
	if (c->state == BENCH_CLOSING) {
		if (code != 0 && code != BENCHWS_CLOSE_NORMAL) {
			bench_conn_fail(c, "close reply %u \"%.*s\"", code,
			    (int)(c->ctl_len - 2), c->ctl + 2);
			return;
		}
		if (c->ring_count != 0 || c->rx_off != 0) {
			bench_conn_fail(c, "%u messages never echoed",
			    c->ring_count);
			return;
		}
		bench_set_state(c, BENCH_DRAINING);
		return;
	}
	/* The server closed first: answer (§5.5.1), but it is an error. */
	bench_send_control(c, BENCHWS_OP_CLOSE, c->ctl,
	    c->ctl_len >= 2 ? 2 : 0);
	bench_flush(c);
	if (c->state != BENCH_FREE)
		bench_conn_fail(c, "server closed with %u \"%.*s\"", code,
		    c->ctl_len >= 2 ? (int)(c->ctl_len - 2) : 0,
		    c->ctl + (c->ctl_len >= 2 ? 2 : 0));
}

static void
bench_control(struct bench_conn *c)
{
	switch (c->op) {
	case BENCHWS_OP_PING:
		bench.pings++;
		if (c->state == BENCH_OPEN)
			bench_send_control(c, BENCHWS_OP_PONG, c->ctl,
			    c->ctl_len);
		break;
	case BENCHWS_OP_PONG:
		break;		/* §5.5.3: an unsolicited pong is allowed */
	case BENCHWS_OP_CLOSE:
		bench_close_frame(c);
		break;
	}
}

/* Checks the complete header in c->hdr; -1 (and failed) when invalid. */
static int
bench_frame_header(struct bench_conn *c)
{
	const uint8_t	*h = c->hdr;
	uint64_t	 len = benchws_frame_len(h);

	if (c->state == BENCH_DRAINING) {
		bench_conn_fail(c, "frame after the close frame");
		return -1;
	}
	if (h[1] & 0x80) {
		bench_conn_fail(c, "masked frame from the server (RFC 6455 "
		    "§5.1)");
		return -1;
	}
	if (h[0] & 0x70) {
		bench_conn_fail(c, "RSV bits without an extension");
		return -1;
	}
	if ((h[1] & 0x7f) == 126 && len < 126) {
		bench_conn_fail(c, "length not minimally encoded");
		return -1;
	}
	if ((h[1] & 0x7f) == 127 && (len < 65536 || len >> 63)) {
		bench_conn_fail(c, "bad 64-bit length");
		return -1;
	}
	c->op = h[0] & 0x0f;
	c->fin = (h[0] & 0x80) != 0;
	c->left = len;
	switch (c->op) {
	case BENCHWS_OP_CONT:
		if (!c->in_msg) {
			bench_conn_fail(c, "continuation outside a message");
			return -1;
		}
		break;
	case BENCHWS_OP_BINARY:
		if (c->in_msg) {
			bench_conn_fail(c, "new message inside a message");
			return -1;
		}
		break;
	case BENCHWS_OP_TEXT:
		bench_conn_fail(c, "text frame in reply to binary");
		return -1;
	case BENCHWS_OP_CLOSE:
	case BENCHWS_OP_PING:
	case BENCHWS_OP_PONG:
		/* RFC 6455 §5.5: control frames are never fragmented */
		if (!c->fin || len > 125) {
			bench_conn_fail(c, "control frame fragmented or over "
			    "125 bytes");
			return -1;
		}
		c->ctl_len = 0;
		break;
	default:
		bench_conn_fail(c, "unknown opcode %u", c->op);
		return -1;
	}
	if (c->op < BENCHWS_OP_CLOSE) {
		c->in_msg = !c->fin;
		if (bench.measuring)
			bench.frames++;
	}
	c->in_frame = true;
	c->hdr_len = 0;
	return 0;
}

/* Everything the server sent after the 101, in arrival order. */
static void
bench_frames(struct bench_conn *c, const uint8_t *p, size_t n)
{
	size_t	k;

	while (c->state != BENCH_FREE) {
		if (!c->in_frame) {
			if (!benchws_header_fill(c->hdr, &c->hdr_len,
			    benchws_header_need, &p, &n))
				return;
			if (bench_frame_header(c) == -1)
				return;
		}
		k = c->left < n ? (size_t)c->left : n;
		if (c->op >= BENCHWS_OP_CLOSE) {
			memcpy(c->ctl + c->ctl_len, p, k);
			c->ctl_len += k;
		} else if (k > 0) {
			bench_data(c, p, k);
			if (c->state == BENCH_FREE)
				return;
		}
		if (!benchws_payload_step(&c->left, k, &p, &n))
			return;
		c->in_frame = false;
		if (c->op >= BENCHWS_OP_CLOSE)
			bench_control(c);
		else if (c->fin)
			bench_data_end(c);
	}
}

/* The server's FIN. */
static void
bench_eof(struct bench_conn *c)
{
	if (c->state == BENCH_DRAINING) {
		/*
		 * A clean close.  OpenSSL takes a connection freed before
		 * its shutdown for a failed one, and makes its session (the
		 * newest ticket) unusable: say the shutdown is done.
		 */
		if (c->ssl != NULL)
			SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN |
			    SSL_RECEIVED_SHUTDOWN);
		bench_conn_release(c);
	} else
		bench_conn_fail(c, "connection closed by the server");
}

static void
bench_input(struct bench_conn *c, const uint8_t *p, size_t n)
{
	bench.now = benchws_clock();
	if (c->state == BENCH_UPGRADING)
		bench_upgrade_input(c, p, n);
	else
		bench_frames(c, p, n);
}

/*
 * SSL_read until OpenSSL needs the socket again: with read-ahead it may
 * hold records the socket no longer signals.  A record at a time.
 */
static void
bench_tls_read(struct bench_conn *c)
{
	int	r, err;

	c->read_wants_out = false;
	while (c->state != BENCH_FREE) {
		ERR_clear_error();
		r = SSL_read(c->ssl, bench.rbuf, BENCH_RBUF_SIZE);
		if (r > 0) {
			bench_input(c, bench.rbuf, (size_t)r);
			continue;
		}
		err = SSL_get_error(c->ssl, r);
		switch (err) {
		case SSL_ERROR_WANT_READ:
			return;
		case SSL_ERROR_WANT_WRITE:
			c->read_wants_out = true;
			bench_epoll_out(c, true);
			return;
		case SSL_ERROR_ZERO_RETURN:
			/*
			 * RFC 8446 §6.1: close_notify, or a FIN without it;
			 * the socket says which (EOF stays readable).
			 */
			if (c->state != BENCH_DRAINING) {
				bench_conn_fail(c, "connection closed by the "
				    "server");
				return;
			}
			c->tls_closed = true;
			return;
		}
		bench_tls_fail(c, "SSL_read", err);
		return;
	}
}

static void
bench_read(struct bench_conn *c)
{
	ssize_t	n;

	if (c->ssl != NULL && !c->tls_closed) {
		bench_tls_read(c);
		if (c->state != BENCH_FREE && c->out_len > c->out_off)
			bench_flush(c);
		return;
	}
	n = recv(c->fd, bench.rbuf, BENCH_RBUF_SIZE, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		bench_conn_fail(c, "recv: %s", strerror(errno));
		return;
	}
	if (n == 0) {
		bench.now = benchws_clock();
		bench_eof(c);
		return;
	}
	if (c->tls_closed) {
		bench_conn_fail(c, "bytes after the end of TLS");
		return;
	}
	bench_input(c, bench.rbuf, (size_t)n);
	if (c->state != BENCH_FREE && c->out_len > c->out_off)
		bench_flush(c);
}

static void
bench_conn_event(struct bench_conn *c, uint32_t events)
{
	if (c->state == BENCH_CONNECTING || c->state == BENCH_TLS)
		bench.now = benchws_clock();
	if (c->state == BENCH_CONNECTING) {
		bench_connected(c);
		return;
	}
	if (c->state == BENCH_TLS) {
		bench_tls_handshake(c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) ||
	    ((events & EPOLLOUT) && c->read_wants_out)) {
		bench_read(c);
		if (c->state == BENCH_FREE)
			return;
	}
	if (events & EPOLLOUT)
		bench_flush(c);
}

/*
 * Phases of the run
 */

static void
bench_measure_begin(void)
{
	bench.measuring = true;
	bench.m_start = bench.now;
	bench_proc_sample(&bench.proxy_start);
	bench.backend_start = bench_backend_ticks();
	bench.self_start = bench_self_us();
}

static void
bench_measure_end(void)
{
	unsigned	i;

	bench.measuring = false;
	bench.measured = true;
	bench.m_end = bench.now;
	bench_proc_sample(&bench.proxy_end);
	bench.backend_end = bench_backend_ticks();
	bench.self_end = bench_self_us();
	for (i = 0; i < bench.conns; i++)
		if (bench.c[i].state == BENCH_OPEN)
			bench.open_at_end++;
}

/* Every connection is open: start the load. */
static void
bench_run_start(void)
{
	unsigned	i, k;

	bench.phase = BENCH_RUN;
	bench.t_warm_end = bench.now + bench_secs(bench.warmup);
	bench.t_run_end = bench.t_warm_end + bench_secs(bench.duration);
	if (bench.mode == BENCH_IDLE) {
		if (!bench.quiet)
			fprintf(stderr, "wsgate-bench: %u connections open, "
			    "holding them %gs\n", bench.nopen,
			    bench.duration);
		return;
	}
	for (i = 0; i < bench.conns; i++) {
		for (k = 0; k < bench.inflight; k++)
			bench_send_message(&bench.c[i]);
		bench_flush(&bench.c[i]);
	}
}

/* Stop the load; close every connection once its echoes are in. */
static void
bench_finish(void)
{
	unsigned		 i;
	struct bench_conn	*c;

	bench.phase = BENCH_FINISH;
	bench.t_finish_end = bench.now + 3 * bench_secs(bench.timeout) +
	    BENCHWS_NS;
	for (i = 0; i < bench.conns; i++) {
		c = &bench.c[i];
		if (c->state != BENCH_OPEN)
			continue;
		if (c->ring_count == 0) {
			bench_close_start(c);
			bench_flush(c);
		} else {
			c->quiesce = true;
			c->deadline = bench.now + bench_secs(bench.timeout);
		}
	}
}

/* Connections whose state has outlived its timer fail. */
static void
bench_timers(void)
{
	static const char *const what[] = {
		[BENCH_CONNECTING] = "connect timeout",
		[BENCH_TLS] = "no TLS handshake in time",
		[BENCH_UPGRADING] = "no 101 in time",
		[BENCH_OPEN] = "echo timeout",
		[BENCH_CLOSING] = "no close reply in time",
		[BENCH_DRAINING] = "no FIN after the close reply in time",
	};
	uint64_t		 limit = bench_secs(bench.timeout);
	struct bench_conn	*c;
	unsigned		 i;

	for (i = 0; i < bench.conns; i++) {
		c = &bench.c[i];
		if (c->state == BENCH_FREE)
			continue;
		if (c->state == BENCH_OPEN && c->ring_count > 0 &&
		    bench.now - c->ring[c->ring_head] > limit)
			bench_conn_fail(c, "%s", what[c->state]);
		else if (c->deadline != 0 && bench.now >= c->deadline)
			bench_conn_fail(c, "%s", what[c->state]);
	}
}

/* Starts connections: all of them, at most BENCH_MAX_OPENING at once. */
static void
bench_open_more(void)
{
	unsigned	i;

	if (bench.mode == BENCH_CONNECT) {
		if (bench.phase != BENCH_RUN)
			return;
		for (i = 0; i < bench.conns; i++)
			if (bench.c[i].state == BENCH_FREE)
				bench_conn_start(&bench.c[i]);
		return;
	}
	while (bench.phase == BENCH_SETUP && bench.nstarted < bench.conns &&
	    bench.nopening < BENCH_MAX_OPENING)
		bench_conn_start(&bench.c[bench.nstarted++]);
}

/* Moves the run along after a batch of events or a timeout. */
static void
bench_step(void)
{
	unsigned	i;

	if (bench.now >= bench.t_next_tick) {
		bench_timers();
		bench.t_next_tick = bench.now + BENCH_TICK_NS;
	}
	if ((bench_interrupted || bench.abort) &&
	    bench.phase != BENCH_FINISH) {
		if (bench_interrupted) {
			fprintf(stderr, "wsgate-bench: interrupted\n");
			bench.errors++;
		}
		if (bench.measuring)
			bench_measure_end();
		bench_finish();
	}
	switch (bench.phase) {
	case BENCH_SETUP:
		bench_open_more();
		if (bench.nopen == bench.conns)
			bench_run_start();
		else if (bench.now >= bench.t_setup_end) {
			fprintf(stderr, "wsgate-bench: only %u of %u "
			    "connections open in time\n", bench.nopen,
			    bench.conns);
			bench.errors++;
			bench_finish();
		}
		break;
	case BENCH_RUN:
		if (!bench.measuring && !bench.measured &&
		    bench.now >= bench.t_warm_end)
			bench_measure_begin();
		if (bench.measuring && (bench.now >= bench.t_run_end ||
		    (bench.limit != 0 && (bench.mode == BENCH_CONNECT ?
		    bench.handshakes : bench.msgs) >= bench.limit))) {
			bench_measure_end();
			bench_finish();
		} else
			bench_open_more();
		break;
	case BENCH_FINISH:
		if (bench.now >= bench.t_finish_end) {
			for (i = 0; i < bench.conns; i++)
				if (bench.c[i].state != BENCH_FREE)
					bench_conn_fail(&bench.c[i], "still "
					    "open at the final deadline");
		}
		break;
	default:
		break;
	}
}

static int
bench_wait_ms(void)
{
	uint64_t	until = bench.t_next_tick, d;

	if (bench.phase == BENCH_RUN) {
		if (!bench.measuring && !bench.measured &&
		    bench.t_warm_end < until)
			until = bench.t_warm_end;
		if (bench.t_run_end < until)
			until = bench.t_run_end;
	}
	if (until <= bench.now)
		return 0;
	d = until - bench.now;
	return (int)((d + 999999) / 1000000);
}

static void
bench_loop(void)
{
	struct epoll_event	ev[BENCH_MAX_EVENTS];
	int			n, i;

	for (;;) {
		bench.now = benchws_clock();
		bench_step();
		if (bench.phase == BENCH_FINISH && bench.nactive == 0)
			return;
		n = epoll_wait(bench.ep, ev, BENCH_MAX_EVENTS, bench_wait_ms());
		if (n == -1) {
			if (errno == EINTR)
				continue;
			benchws_fatalx("epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++)
			bench_conn_event(ev[i].data.ptr, ev[i].events);
	}
}

/*
 * Report
 */

static const char *
bench_or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

static void
bench_report(void)
{
	double		 secs, rate, mb, hs_rate, cpu_us = 0, per_op = 0;
	double		 cpu_pct = 0, self_pct = 0, be_pct = 0, kib = 0;
	double		 p50, p90, p99, p999, max, ticks_us;
	uint64_t	 ops, rss_after = 0;
	long		 hz = sysconf(_SC_CLK_TCK);

	secs = bench.measured ? (double)(bench.m_end - bench.m_start) / 1e9 :
	    0;
	ticks_us = 1e6 / (double)(hz > 0 ? hz : 100);
	rate = secs > 0 ? (double)bench.msgs / secs : 0;
	mb = secs > 0 ? (double)bench.bytes / secs / 1e6 : 0;
	hs_rate = secs > 0 && bench.mode == BENCH_CONNECT ?
	    (double)bench.handshakes / secs : 0;
	ops = bench.mode == BENCH_CONNECT ? bench.handshakes : bench.msgs;
	if (bench.npids > 0 && bench.measured) {
		cpu_us = (double)(bench.proxy_end.ticks -
		    bench.proxy_start.ticks) * ticks_us;
		per_op = ops > 0 ? cpu_us / (double)ops : 0;
		cpu_pct = secs > 0 ? cpu_us / (secs * 1e4) : 0;
		rss_after = bench.proxy_end.rss_kib;
		if (bench.mode == BENCH_IDLE && bench.open_at_end > 0)
			kib = ((double)rss_after - (double)bench.rss_before) /
			    (double)bench.open_at_end;
	}
	if (bench.measured && secs > 0) {
		self_pct = (double)(bench.self_end - bench.self_start) /
		    (secs * 1e4);
		if (bench.backend_pid != 0)
			be_pct = (double)(bench.backend_end -
			    bench.backend_start) * ticks_us / (secs * 1e4);
	}
	p50 = (double)bench_hist_quantile(&bench.hist, 0.5) / 1e3;
	p90 = (double)bench_hist_quantile(&bench.hist, 0.9) / 1e3;
	p99 = (double)bench_hist_quantile(&bench.hist, 0.99) / 1e3;
	p999 = (double)bench_hist_quantile(&bench.hist, 0.999) / 1e3;
	max = (double)bench.hist.max / 1e3;

	printf("mode=%s conns=%u inflight=%u size=%zu duration_s=%.3f "
	    "msgs=%" PRIu64 " frames=%" PRIu64 " msgs_per_s=%.0f "
	    "mb_per_s=%.2f "
	    "handshakes=%" PRIu64 " handshakes_per_s=%.0f "
	    "p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f "
	    "open=%" PRIu64 " pings=%" PRIu64 " errors=%" PRIu64 " "
	    "proxy_cpu_us=%.0f proxy_cpu_us_per_op=%.3f proxy_cpu_pct=%.1f "
	    "rss_before_kib=%" PRIu64 " rss_after_kib=%" PRIu64 " "
	    "kib_per_conn=%.2f self_cpu_pct=%.1f backend_cpu_pct=%.1f "
	    "tls=%d resumed=%" PRIu64 " tls_version=%s tls_cipher=%s "
	    "tls_group=%s echoes=%u\n",
	    bench_mode_names[bench.mode], bench.conns,
	    bench.mode == BENCH_ECHO || bench.mode == BENCH_BYTES ?
	    bench.inflight : 0,
	    bench.mode == BENCH_ECHO || bench.mode == BENCH_BYTES ||
	    bench.echoes > 0 ? bench.size : 0, secs, bench.msgs,
	    bench.frames, rate, mb, bench.handshakes, hs_rate, p50, p90, p99,
	    p999, max, bench.open_at_end, bench.pings, bench.errors, cpu_us,
	    per_op, cpu_pct, bench.rss_before, rss_after, kib, self_pct,
	    be_pct, bench.tls, bench.resumed,
	    bench_or_dash(bench.tls_version), bench_or_dash(bench.tls_cipher),
	    bench_or_dash(bench.tls_group), bench.echoes);
	fflush(stdout);
	if (bench.quiet)
		return;
	switch (bench.mode) {
	case BENCH_ECHO:
	case BENCH_BYTES:
		fprintf(stderr, "%s: %u conns x %u in flight x %zu B, %.2fs: "
		    "%.0f msgs/s, %.2f MB/s; rtt p50 %.1f p99 %.1f p99.9 "
		    "%.1f max %.1f us\n", bench_mode_names[bench.mode],
		    bench.conns, bench.inflight, bench.size, secs, rate, mb,
		    p50, p99, p999, max);
		break;
	case BENCH_CONNECT:
		fprintf(stderr, "connect: %u connectors", bench.conns);
		if (bench.echoes > 0)
			fprintf(stderr, " (%u echoes of %zu B each)",
			    bench.echoes, bench.size);
		fprintf(stderr, ", %.2fs: %.0f handshakes/s; latency p50 "
		    "%.1f p99 %.1f p99.9 %.1f us\n", secs, hs_rate, p50, p99,
		    p999);
		break;
	case BENCH_IDLE:
		fprintf(stderr, "idle: %" PRIu64 " of %u connections open "
		    "after %.2fs; handshake p50 %.1f p99 %.1f us\n",
		    bench.open_at_end, bench.conns, secs, p50, p99);
		break;
	default:
		break;
	}
	if (bench.npids > 0)
		fprintf(stderr, "proxy: %.0f us CPU (%.1f%%), %.3f us per %s; "
		    "RSS %" PRIu64 " -> %" PRIu64 " KiB\n", cpu_us, cpu_pct,
		    per_op, bench.mode == BENCH_CONNECT ? "handshake" :
		    "message", bench.rss_before, rss_after);
	if (bench.mode == BENCH_IDLE && bench.npids > 0)
		fprintf(stderr, "proxy: %.2f KiB per idle connection\n", kib);
	if (bench.tls)
		fprintf(stderr, "tls: %s %s %s, SNI %s; %" PRIu64 " of %"
		    PRIu64 " handshakes resumed\n",
		    bench_or_dash(bench.tls_version),
		    bench_or_dash(bench.tls_cipher),
		    bench_or_dash(bench.tls_group), bench.sni, bench.resumed,
		    bench.handshakes);
	fprintf(stderr, "load generator CPU %.1f%%%s; %" PRIu64 " pings "
	    "answered; %" PRIu64 " errors\n", self_pct,
	    self_pct > 90 ? " (saturated: the figures are its limit)" : "",
	    bench.pings, bench.errors);
}

static void
bench_signal(int sig)
{
	(void)sig;
	bench_interrupted = 1;
}

int
main(int argc, char *argv[])
{
	struct sigaction	 sa;
	struct rlimit		 rl;
	size_t			 i;
	unsigned		 k;

	benchws_init("wsgate-bench", 2);
	bench_options(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* One descriptor per connection, and a few more. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < bench.conns + 16)
		benchws_fatalx("-c %u needs %u descriptors, the limit is %llu "
		    "(ulimit -n)", bench.conns, bench.conns + 16,
		    (unsigned long long)rl.rlim_cur);

	if ((bench.rbuf = malloc(BENCH_RBUF_SIZE)) == NULL ||
	    (bench.tmpl = malloc(bench.size)) == NULL ||
	    (bench.c = calloc(bench.conns, sizeof(*bench.c))) == NULL)
		benchws_fatalx("out of memory");
	for (i = 0; i < bench.size; i++)
		bench.tmpl[i] = (uint8_t)(i * 131 + 17);
	for (k = 0; k < bench.conns; k++) {
		bench.c[k].fd = -1;
		bench.c[k].id = k;
		if (bench.mode != BENCH_IDLE) {
			bench.c[k].ring = calloc(bench.inflight,
			    sizeof(uint64_t));
			if (bench.c[k].ring == NULL)
				benchws_fatalx("out of memory");
		}
	}
	if ((bench.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		benchws_fatalx("epoll_create1: %s", strerror(errno));
	if (bench.tls)
		bench_tls_init();

	bench.now = bench.t0 = benchws_clock();
	if (bench.npids > 0) {
		struct bench_proc	pr;

		bench_proc_sample(&pr);
		if (pr.rss_kib == 0)
			benchws_fatalx("-p: no such process");
		bench.rss_before = pr.rss_kib;
	}
	/* Opening is bounded: the timeout, plus 10 ms per connection. */
	bench.t_setup_end = bench.t0 + 2 * bench_secs(bench.timeout) +
	    (uint64_t)bench.conns * 10 * 1000 * 1000;
	if (bench.mode == BENCH_CONNECT) {
		bench.phase = BENCH_RUN;
		bench.t_warm_end = bench.t0 + bench_secs(bench.warmup);
		bench.t_run_end = bench.t_warm_end +
		    bench_secs(bench.duration);
	} else
		bench.phase = BENCH_SETUP;
	bench.t_next_tick = bench.t0 + BENCH_TICK_NS;
	bench_loop();
	if (!bench.measured) {
		if (bench.errors == 0)
			bench.errors++;
		fprintf(stderr, "wsgate-bench: the run ended before its "
		    "measured window\n");
	}
	bench_report();
	while (bench.ntickets > 0)
		SSL_SESSION_free(bench.tickets[--bench.ntickets]);
	SSL_CTX_free(bench.tls_ctx);
	return bench.errors == 0 ? 0 : 1;
}
