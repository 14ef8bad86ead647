/*
 * fuzz_frame — libFuzzer target for the WebSocket frame reader (and the
 * UTF-8 validator it runs over text messages and close reasons).
 *
 * Input: byte 0 picks max_message (0: no limit, else 1-255 bytes, so
 * that 1009 is reached), byte 1 seeds the chunking and the re-masking
 * key, the rest is the byte stream a client sends.  The stream goes
 * through three readers of FRAME_FROM_CLIENT: all of it in one call, in
 * chunks whose sizes are read from the input, and in the same chunks
 * through frame_reader_feed_masked().  Each reader's events must obey
 * the frame.h contract (NEED_MORE consumes everything, DATA chunks of a
 * message come first .. last with one opcode, text is valid UTF-8,
 * messages stay within max_message, control payloads within 125 bytes,
 * close codes valid, a failed reader stays failed with the same code),
 * and the three must agree on every whole message, every control frame
 * and the final error: chunking must not change a verdict.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "utf8.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What a reader saw: whole messages, control frames, the error. */
struct fuzz_log {
	uint8_t		*p;
	size_t		 len, size;
};

struct fuzz_frame_run {
	struct frame_reader	 r;
	uint64_t		 max_message;
	bool			 in_msg;
	uint8_t			 msg_op;
	struct utf8_state	 utf8;
	struct fuzz_log		 msg;	/* the message being assembled */
	struct fuzz_log		 out;
	bool			 failed;
};

static void
fuzz_log_add(struct fuzz_log *l, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (l->len + n > l->size) {
		l->size = (l->len + n) * 2;
		l->p = realloc(l->p, l->size);
		assert(l->p != NULL);
	}
	memcpy(l->p + l->len, p, n);
	l->len += n;
}

static void
fuzz_log_record(struct fuzz_log *l, uint8_t tag, uint32_t a, uint32_t b,
    const void *p, size_t n)
{
	uint32_t	 hdr[3] = { a, b, (uint32_t)n };

	fuzz_log_add(l, &tag, 1);
	fuzz_log_add(l, hdr, sizeof(hdr));
	fuzz_log_add(l, p, n);
}

static bool
fuzz_frame_utf8_ok(const uint8_t *p, size_t n)
{
	struct utf8_state st;

	utf8_init(&st);
	return utf8_validate(&st, p, n, NULL) == 0 && utf8_complete(&st);
}

static void
fuzz_frame_event(struct fuzz_frame_run *fr, const struct frame_event *ev)
{
	switch (ev->type) {
	case FRAME_NEED_MORE:
		break;
	case FRAME_DATA:
		assert(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY);
		assert(ev->first == !fr->in_msg);
		if (ev->first) {
			fr->in_msg = true;
			fr->msg_op = ev->opcode;
			fr->msg.len = 0;
			utf8_init(&fr->utf8);
		}
		assert(ev->opcode == fr->msg_op);
		assert(ev->len == 0 || ev->data != NULL);
		if (ev->opcode == WS_OP_TEXT)
			assert(utf8_validate(&fr->utf8, ev->data, ev->len,
			    NULL) == 0);
		fuzz_log_add(&fr->msg, ev->data, ev->len);
		assert(fr->max_message == 0 ||
		    fr->msg.len <= fr->max_message);
		if (ev->last) {
			if (ev->opcode == WS_OP_TEXT)
				assert(utf8_complete(&fr->utf8));
			fuzz_log_record(&fr->out, 'M', fr->msg_op, 0,
			    fr->msg.p, fr->msg.len);
			fr->in_msg = false;
		}
		break;
	case FRAME_CONTROL:
		assert(ev->opcode == WS_OP_CLOSE || ev->opcode == WS_OP_PING ||
		    ev->opcode == WS_OP_PONG);
		assert(ev->len <= FRAME_MAX_CONTROL);
		if (ev->opcode == WS_OP_CLOSE) {
			if (ev->close_code == WS_CLOSE_NO_STATUS)
				assert(ev->len == 0);
			else
				assert(frame_close_code_valid(
				    ev->close_code) && ev->len >= 2);
			assert(ev->reason_len <= FRAME_MAX_CONTROL - 2);
			assert(ev->reason_len == 0 || fuzz_frame_utf8_ok(
			    (const uint8_t *)ev->reason, ev->reason_len));
		}
		fuzz_log_record(&fr->out, 'C', ev->opcode, ev->close_code,
		    ev->data, ev->len);
		break;
	case FRAME_ERROR:
		assert(ev->reason != NULL);
		assert(ev->close_code == WS_CLOSE_PROTOCOL ||
		    ev->close_code == WS_CLOSE_INVALID_DATA ||
		    ev->close_code == WS_CLOSE_TOO_BIG);
		assert(ev->close_code != WS_CLOSE_TOO_BIG ||
		    fr->max_message != 0);
		fuzz_log_record(&fr->out, 'E', ev->close_code, 0, NULL, 0);
		fr->failed = true;
		break;
	}
}

/* Feeds buf[0..len) as one chunk until the reader needs more or fails. */
static void
fuzz_frame_chunk(struct fuzz_frame_run *fr, uint8_t *buf, size_t len,
    const uint8_t *remask)
{
	struct frame_event	 ev, again;
	uint8_t			 dummy = 0;
	size_t			 n, guard, total = len;

	for (guard = 0; !fr->failed; guard++) {
		/* Each call makes progress: bounded by bytes plus events. */
		assert(guard <= 2 * total + 2);
		if (remask != NULL)
			n = frame_reader_feed_masked(&fr->r, buf, len, remask,
			    &ev);
		else
			n = frame_reader_feed(&fr->r, buf, len, &ev);
		assert(n <= len);
		if (ev.type == FRAME_DATA && remask != NULL)
			frame_mask(ev.data, ev.len, remask, 0);
		if (ev.type == FRAME_DATA && ev.len > 0)
			assert(ev.data >= buf && ev.data + ev.len <= buf + n);
		fuzz_frame_event(fr, &ev);
		if (ev.type == FRAME_NEED_MORE) {
			assert(n == len);
			return;
		}
		if (ev.type == FRAME_ERROR) {
			/* Sticky: the same verdict, whatever comes next. */
			frame_reader_feed(&fr->r, &dummy, 1, &again);
			assert(again.type == FRAME_ERROR &&
			    again.close_code == ev.close_code);
		}
		buf += n;
		len -= n;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_frame_run	 whole, chunked, masked;
	uint8_t			*a, *b, *c, remask[4];
	uint64_t		 max_message;
	size_t			 len, off, n, cursor;
	uint8_t			 seed;

	if (size < 2)
		return 0;
	max_message = data[0];
	seed = data[1];
	data += 2;
	len = size - 2;
	remask[0] = seed;
	remask[1] = (uint8_t)(seed * 7 + 1);
	remask[2] = (uint8_t)(seed ^ 0x5a);
	remask[3] = (uint8_t)~seed;

	/* Private copies, exactly len bytes: unmasking is in place. */
	a = malloc(len + 1);
	b = malloc(len + 1);
	c = malloc(len + 1);
	assert(a != NULL && b != NULL && c != NULL);
	memcpy(a, data, len);
	memcpy(b, data, len);
	memcpy(c, data, len);

	memset(&whole, 0, sizeof(whole));
	memset(&chunked, 0, sizeof(chunked));
	memset(&masked, 0, sizeof(masked));
	whole.max_message = chunked.max_message = masked.max_message =
	    max_message;
	frame_reader_init(&whole.r, FRAME_FROM_CLIENT, max_message);
	frame_reader_init(&chunked.r, FRAME_FROM_CLIENT, max_message);
	frame_reader_init(&masked.r, FRAME_FROM_CLIENT, max_message);

	fuzz_frame_chunk(&whole, a, len, NULL);

	/* Chunk sizes: input bytes read from the end backwards. */
	cursor = len;
	for (off = 0; off < len; off += n) {
		cursor = cursor > 0 ? cursor - 1 : len - 1;
		n = (size_t)((data[cursor] ^ seed) % 19) + 1;
		if (n > len - off)
			n = len - off;
		fuzz_frame_chunk(&chunked, b + off, n, NULL);
		fuzz_frame_chunk(&masked, c + off, n, remask);
	}

	assert(whole.out.len == chunked.out.len &&
	    whole.out.len == masked.out.len);
	assert(whole.out.len == 0 ||
	    (memcmp(whole.out.p, chunked.out.p, whole.out.len) == 0 &&
	    memcmp(whole.out.p, masked.out.p, whole.out.len) == 0));
	assert(whole.failed == chunked.failed &&
	    whole.failed == masked.failed);

	free(whole.out.p);
	free(whole.msg.p);
	free(chunked.out.p);
	free(chunked.msg.p);
	free(masked.out.p);
	free(masked.msg.p);
	free(a);
	free(b);
	free(c);
	return 0;
}
