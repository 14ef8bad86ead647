/*
 * benchws — what wsgate-bench and echo-backend share: the RFC 6455 pieces
 * both ends of a benchmark connection need (accept key §4.2.2, request and
 * response head fields, frame headers §5.2, masking §5.3), non-blocking
 * send, epoll registration, the clock and fatal errors.
 */
#ifndef WSGATE_BENCHWS_H
#define WSGATE_BENCHWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCHWS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define BENCHWS_OP_CONT		0x0
#define BENCHWS_OP_TEXT		0x1
#define BENCHWS_OP_BINARY	0x2
#define BENCHWS_OP_CLOSE	0x8
#define BENCHWS_OP_PING		0x9
#define BENCHWS_OP_PONG		0xa
#define BENCHWS_CLOSE_NORMAL	1000
#define BENCHWS_CLOSE_PROTOCOL	1002
#define BENCHWS_NS		1000000000ULL

/* Names the program in benchws_fatalx() and sets its exit status. */
void	 benchws_init(const char *progname, int fatal_status);
/* "PROGNAME: message" on stderr, then exit with the status of init. */
void	 benchws_fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* CLOCK_MONOTONIC in ns. */
uint64_t benchws_clock(void);
/* epoll_ctl(ep, op, fd) for events and ptr; fatal on failure. */
void	 benchws_epoll(int ep, int fd, int op, uint32_t events, void *ptr);
/*
 * Sends buf[*off, len) until all is out (0), the socket is full (1) or
 * send fails (-1, errno set); *off advances by what went out.
 */
int	 benchws_send(int fd, const uint8_t *buf, size_t *off, size_t len);

/*
 * Appends what fits of p[0, n) to head (max bytes, *head_len so far);
 * *take is how much was taken.  The head's length with its CRLF CRLF once
 * complete, else 0.
 */
size_t	 benchws_head_add(char *head, size_t *head_len, size_t max,
	    const uint8_t *p, size_t n, size_t *take);
/*
 * Steps *line to the next line of a head that ends at end, its length
 * without CRLF in *llen; false after the last line.
 */
bool	 benchws_next_line(const char **line, size_t *llen, const char *end);
/* A "name: value" line: the value without surrounding whitespace. */
bool	 benchws_field(const char *line, size_t len, const char *name,
	    const char **v, size_t *vlen);
/* Sec-WebSocket-Accept (NUL-terminated) for a key of keylen <= 64. */
void	 benchws_accept_key(const char *key, size_t keylen, char out[32]);

/* Frame header bytes before the mask key for a payload of len: 2, 4, 10. */
size_t	 benchws_frame_hlen(uint64_t len);
/*
 * Writes the header of a frame of len bytes at p, up to the mask key:
 * first byte b0, mask bit mask (0 or 0x80).  Returns its length.
 */
size_t	 benchws_frame_header(uint8_t *p, uint8_t b0, uint8_t mask,
	    uint64_t len);
/* Bytes of the header in hdr[0, hdr_len) up to the mask key: 2 at first. */
size_t	 benchws_header_need(const uint8_t *hdr, size_t hdr_len);
/*
 * Gathers header bytes from *p (*n of them) into hdr until *hdr_len
 * reaches need(hdr, *hdr_len); true when the header is complete.
 */
bool	 benchws_header_fill(uint8_t *hdr, size_t *hdr_len,
	    size_t (*need)(const uint8_t *, size_t), const uint8_t **p,
	    size_t *n);
/*
 * Steps past k bytes of a frame's payload: *p, *n and *left (the bytes
 * of it still due).  true when the payload is complete.
 */
bool	 benchws_payload_step(uint64_t *left, size_t k, const uint8_t **p,
	    size_t *n);
/* The payload length of a complete header (7, 16 or 64 bits). */
uint64_t benchws_frame_len(const uint8_t *hdr);
/* dst = src XOR key, starting at key[phase], eight bytes at a time. */
void	 benchws_mask(uint8_t *dst, const uint8_t *src, size_t n,
	    const uint8_t key[4], unsigned phase);

#endif
