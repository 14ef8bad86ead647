/*
 * benchws — what wsgate-bench and echo-backend share (see benchws.h):
 * RFC 6455 §4.2.2 accept key, head fields, §5.2 frame headers, §5.3
 * masking, non-blocking send, epoll registration, clock, fatal errors.
 */

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "benchws.h"

static const char	*benchws_progname = "benchws";
static int		 benchws_fatal_status = 1;

void
benchws_init(const char *progname, int fatal_status)
{
	benchws_progname = progname;
	benchws_fatal_status = fatal_status;
}

void
benchws_fatalx(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", benchws_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(benchws_fatal_status);
}

uint64_t
benchws_clock(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * BENCHWS_NS + (uint64_t)ts.tv_nsec;
}

void
benchws_epoll(int ep, int fd, int op, uint32_t events, void *ptr)
{
	struct epoll_event	ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = ptr;
	if (epoll_ctl(ep, op, fd, &ev) == -1)
		benchws_fatalx("epoll_ctl: %s", strerror(errno));
}

int
benchws_send(int fd, const uint8_t *buf, size_t *off, size_t len)
{
	ssize_t	n;

	while (*off < len) {
		n = send(fd, buf + *off, len - *off, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : -1;
		}
		*off += (size_t)n;
	}
	return 0;
}

size_t
benchws_head_add(char *head, size_t *head_len, size_t max,
    const uint8_t *p, size_t n, size_t *take)
{
	size_t		 from;
	const char	*end;

	from = *head_len > 3 ? *head_len - 3 : 0;
	*take = max - *head_len;
	if (*take > n)
		*take = n;
	memcpy(head + *head_len, p, *take);
	*head_len += *take;
	end = memmem(head + from, *head_len - from, "\r\n\r\n", 4);
	return end != NULL ? (size_t)(end - head) + 4 : 0;
}

bool
benchws_next_line(const char **line, size_t *llen, const char *end)
{
	const char	*eol;

	eol = memmem(*line, (size_t)(end - *line), "\r\n", 2);
	if (eol == NULL)
		return false;
	*line = eol + 2;
	eol = memmem(*line, (size_t)(end - *line), "\r\n", 2);
	*llen = eol != NULL ? (size_t)(eol - *line) : (size_t)(end - *line);
	return true;
}

bool
benchws_field(const char *line, size_t len, const char *name,
    const char **v, size_t *vlen)
{
	size_t	nlen = strlen(name);

	if (len <= nlen || line[nlen] != ':' ||
	    strncasecmp(line, name, nlen) != 0)
		return false;
	line += nlen + 1;
	len -= nlen + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*v = line;
	*vlen = len;
	return true;
}

void
benchws_accept_key(const char *key, size_t keylen, char out[32])
{
	char	buf[64 + sizeof(BENCHWS_GUID) - 1];
	uint8_t	digest[SHA_DIGEST_LENGTH];

	if (keylen > 64)
		benchws_fatalx("Sec-WebSocket-Key over 64 bytes");
	memcpy(buf, key, keylen);
	memcpy(buf + keylen, BENCHWS_GUID, sizeof(BENCHWS_GUID) - 1);
	SHA1((const uint8_t *)buf, keylen + sizeof(BENCHWS_GUID) - 1, digest);
	EVP_EncodeBlock((uint8_t *)out, digest, sizeof(digest));
}

size_t
benchws_frame_hlen(uint64_t len)
{
	return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

size_t
benchws_frame_header(uint8_t *p, uint8_t b0, uint8_t mask, uint64_t len)
{
	int	i;

	p[0] = b0;
	if (len < 126) {
		p[1] = mask | (uint8_t)len;
		return 2;
	}
	if (len < 65536) {
		p[1] = mask | 126;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		return 4;
	}
	p[1] = mask | 127;
	for (i = 0; i < 8; i++)
		p[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

size_t
benchws_header_need(const uint8_t *hdr, size_t hdr_len)
{
	uint8_t	len7;

	if (hdr_len < 2)
		return 2;
	len7 = hdr[1] & 0x7f;
	return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
}

bool
benchws_header_fill(uint8_t *hdr, size_t *hdr_len,
    size_t (*need)(const uint8_t *, size_t), const uint8_t **p, size_t *n)
{
	size_t	want, k;

	while (*hdr_len < (want = need(hdr, *hdr_len))) {
		if (*n == 0)
			return false;
		k = want - *hdr_len;
		if (k > *n)
			k = *n;
		memcpy(hdr + *hdr_len, *p, k);
		*hdr_len += k;
		*p += k;
		*n -= k;
	}
	return true;
}

bool
benchws_payload_step(uint64_t *left, size_t k, const uint8_t **p, size_t *n)
{
	*p += k;
	*n -= k;
	*left -= k;
	return *left == 0;
}

uint64_t
benchws_frame_len(const uint8_t *hdr)
{
	uint64_t	len = hdr[1] & 0x7f;
	int		i;

	if (len == 126)
		len = (uint64_t)hdr[2] << 8 | hdr[3];
	else if (len == 127)
		for (len = 0, i = 2; i < 10; i++)
			len = len << 8 | hdr[i];
	return len;
}

void
benchws_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4],
    unsigned phase)
{
	uint8_t		k8[8];
	uint64_t	k, w;
	size_t		i;

	for (i = 0; i < 8; i++)
		k8[i] = key[(phase + i) & 3];
	memcpy(&k, k8, 8);
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, src + i, 8);
		w ^= k;
		memcpy(dst + i, &w, 8);
	}
	for (; i < n; i++)
		dst[i] = src[i] ^ k8[i & 7];
}
