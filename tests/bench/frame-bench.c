/*
 * frame-bench: the frame reader alone, fed the way the relay feeds it.
 *
 *   frame-bench CASE MESSAGES
 *
 * One buffer holds whole masked client frames (16 of 64 bytes, or one of
 * 64 KiB) and is fed to frame_reader_feed_masked() from its start until
 * nothing is left, as session_relay.c does with what one read gave; with
 * "-remask" in CASE every call also gets a key towards a backend.  The
 * reader unmasks in place, so the buffer is restored from a pristine copy
 * before each pass, and every DATA chunk is checked against the plain
 * payload (after taking the new key off), so a fast path that cheats
 * fails here too.
 *
 * Not built by the Makefile.  Wall time on a shared machine is noisy;
 * count instructions in the reader instead:
 *
 *   cc -O2 -Isrc tests/bench/frame-bench.c src/frame.c src/utf8.c \
 *       -o /tmp/frame-bench
 *   valgrind --tool=callgrind --toggle-collect=frame_reader_feed_masked \
 *       --callgrind-out-file=/dev/null /tmp/frame-bench bin64 400000
 *
 * and divide the "Collected" count by MESSAGES.
 */
#define _POSIX_C_SOURCE 200809L	/* clock_gettime() under -std=c11 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"

#define BENCH_SMALL		64
#define BENCH_SMALL_PER_BUF	16
#define BENCH_LARGE		(64 * 1024)

enum bench_text {
	BENCH_ASCII,		/* printable ASCII (and binary payload) */
	BENCH_SPARSE,		/* ASCII with an accented letter now and then */
	BENCH_DENSE		/* words of four scripts, 1 to 4 bytes each */
};

struct bench_case {
	const char	*name;
	uint8_t		 opcode;
	size_t		 size;		/* payload bytes per message */
	size_t		 per_buf;	/* messages per buffer fed */
	enum bench_text	 text;
	bool		 remask;
};

static const struct bench_case bench_cases[] = {
	{ "bin64", WS_OP_BINARY, BENCH_SMALL, BENCH_SMALL_PER_BUF,
	    BENCH_ASCII, false },
	{ "bin64-remask", WS_OP_BINARY, BENCH_SMALL, BENCH_SMALL_PER_BUF,
	    BENCH_ASCII, true },
	{ "text64", WS_OP_TEXT, BENCH_SMALL, BENCH_SMALL_PER_BUF,
	    BENCH_ASCII, false },
	{ "text64-remask", WS_OP_TEXT, BENCH_SMALL, BENCH_SMALL_PER_BUF,
	    BENCH_ASCII, true },
	{ "bin64k", WS_OP_BINARY, BENCH_LARGE, 1, BENCH_ASCII, false },
	{ "bin64k-remask", WS_OP_BINARY, BENCH_LARGE, 1, BENCH_ASCII, true },
	{ "text64k-ascii", WS_OP_TEXT, BENCH_LARGE, 1, BENCH_ASCII, false },
	{ "text64k-ascii-remask", WS_OP_TEXT, BENCH_LARGE, 1, BENCH_ASCII,
	    true },
	{ "text64k-sparse", WS_OP_TEXT, BENCH_LARGE, 1, BENCH_SPARSE,
	    false },
	{ "text64k-sparse-remask", WS_OP_TEXT, BENCH_LARGE, 1, BENCH_SPARSE,
	    true },
	{ "text64k-utf8", WS_OP_TEXT, BENCH_LARGE, 1, BENCH_DENSE, false },
	{ "text64k-utf8-remask", WS_OP_TEXT, BENCH_LARGE, 1, BENCH_DENSE,
	    true }
};

#define BENCH_NCASES	(sizeof(bench_cases) / sizeof(bench_cases[0]))

static const uint8_t bench_client_key[4] = { 0x37, 0xfa, 0x21, 0x3d };
static const uint8_t bench_backend_key[4] = { 0xde, 0xad, 0xbe, 0xef };

/*
 * Payload of n bytes: a sample repeated, cut at a character boundary,
 * the rest padded with ASCII.  The dense sample is German, Greek and
 * Japanese words and an emoji, so 1- to 4-byte characters with short
 * ASCII runs between them; the sparse one is JSON-like ASCII with an
 * accented letter every 150 bytes or so.
 */
static void
bench_payload(uint8_t *p, size_t n, const struct bench_case *c)
{
	static const char	 dense[] = "Grüße aus Köln, καλημέρα κόσμε, "
	    "こんにちは世界, naïve café \xf0\x9f\x98\x80 — über alles. ";
	static const char	 sparse[] = "{\"id\": 421337, \"user\": "
	    "\"jdoe\", \"status\": \"online\", \"text\": \"see you at the "
	    "café at eight, bring the slides\", \"tags\": [\"a\", \"b\"]}\n";
	const char		*sample = c->text == BENCH_DENSE ? dense :
				    sparse;
	size_t			 i, len = strlen(sample);

	if (c->text == BENCH_ASCII) {
		for (i = 0; i < n; i++)
			p[i] = (uint8_t)(' ' + i % 95);
		return;
	}
	for (i = 0; i + len <= n; i += len)
		memcpy(p + i, sample, len);
	memset(p + i, 'x', n - i);
}

static void __attribute__((noreturn))
bench_fail(const char *what)
{
	fprintf(stderr, "frame-bench: %s\n", what);
	exit(1);
}

int
main(int argc, char *argv[])
{
	const struct bench_case	*c = NULL;
	struct frame_reader	 r;
	struct frame_event	 ev;
	struct timespec		 t0, t1;
	uint8_t			*plain, *wire, *buf, *p;
	size_t			 i, k, hl, frame, total, len, used, off;
	unsigned long		 msgs, done = 0;
	double			 secs;

	if (argc != 3) {
		fprintf(stderr, "usage: frame-bench case messages\ncases:");
		for (i = 0; i < BENCH_NCASES; i++)
			fprintf(stderr, " %s", bench_cases[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	for (i = 0; i < BENCH_NCASES; i++)
		if (strcmp(argv[1], bench_cases[i].name) == 0)
			c = &bench_cases[i];
	if (c == NULL)
		bench_fail("unknown case");
	msgs = strtoul(argv[2], NULL, 10);
	if (msgs == 0 || msgs % c->per_buf != 0)
		bench_fail("messages must be a multiple of the frames per "
		    "buffer");

	plain = malloc(c->size);
	frame = FRAME_MAX_HEADER + c->size;
	wire = malloc(frame * c->per_buf);
	buf = malloc(frame * c->per_buf);
	if (plain == NULL || wire == NULL || buf == NULL)
		bench_fail("out of memory");
	bench_payload(plain, c->size, c);
	total = 0;
	for (k = 0; k < c->per_buf; k++) {
		hl = frame_encode_header(wire + total, true, c->opcode,
		    c->size, bench_client_key);
		memcpy(wire + total + hl, plain, c->size);
		frame_mask(wire + total + hl, c->size, bench_client_key, 0);
		total += hl + c->size;
	}

	frame_reader_init(&r, FRAME_FROM_CLIENT, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < msgs) {
		memcpy(buf, wire, total);
		p = buf;
		len = total;
		off = 0;
		while (len > 0) {
			used = frame_reader_feed_masked(&r, p, len,
			    c->remask ? bench_backend_key : NULL, &ev);
			p += used;
			len -= used;
			if (ev.type != FRAME_DATA)
				bench_fail("unexpected event");
			if (c->remask)
				frame_mask(ev.data, ev.len, bench_backend_key,
				    0);
			if (ev.len > c->size - off ||
			    memcmp(ev.data, plain + off, ev.len) != 0)
				bench_fail("payload differs");
			off += ev.len;
			if (ev.last) {
				if (off != c->size)
					bench_fail("short message");
				off = 0;
				done++;
			}
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%s: %lu messages of %zu bytes, %.3f s, %.1f ns/message "
	    "(including the copy and the check)\n", c->name, done, c->size,
	    secs, secs * 1e9 / (double)done);
	free(buf);
	free(wire);
	free(plain);
	return 0;
}
