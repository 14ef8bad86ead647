/*
 * check_frame — unit tests for the WebSocket frame codec (RFC 6455 §5).
 *
 * Parser vectors are wire bytes plus the outcome they must produce: the
 * messages (DATA chunks joined per message), the control frames and the
 * error with its close code and reason, in order.  Each vector runs whole,
 * split at every offset (two feeds) and one byte at a time, and all three
 * must give that same outcome.  Each piece is fed from a heap copy of
 * exactly its size, so ASan catches reads past it.
 *
 * Client vectors are written with plain payloads after a real masking key
 * (VEC_KEY); the runner masks them before feeding, with its own byte-wise
 * code, so the tables stay readable and frame_mask is still exercised.
 * Vectors marked raw (the RFC 6455 §5.7 examples) are fed as written.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "utf8.h"
#include "check_main.h"

/*
 * ck_assert records a mark point (a write to the test runner) on every
 * call, which adds up when 64 KiB frames are fed a byte at a time: the
 * feeding loop tests quietly and only calls into Check to fail.
 */
#define QUIET_ASSERT(cond, ...) do {					\
	if (!(cond))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)

#define VEC_MAX_EVENTS	8

/* The RFC 6455 §5.7 masking key, used by every plain client vector. */
#define VEC_KEY		"\x37\xfa\x21\x3d"

struct want {
	char		 kind;	/* 'T'/'B' message, 'C' close, 'P' ping,
				   'O' pong, 'E' error, 'p' message still
				   open at the end of the input */
	uint16_t	 code;	/* 'C', 'E' */
	const char	*data;	/* payload, close reason; 'E': reason */
	size_t		 len;
};

#define W_TEXT(s)	{ 'T', 0, s, sizeof(s) - 1 }
#define W_BIN(s)	{ 'B', 0, s, sizeof(s) - 1 }
#define W_PING(s)	{ 'P', 0, s, sizeof(s) - 1 }
#define W_PONG(s)	{ 'O', 0, s, sizeof(s) - 1 }
#define W_CLOSE(c, s)	{ 'C', c, s, sizeof(s) - 1 }
#define W_OPEN(s)	{ 'p', 0, s, sizeof(s) - 1 }
#define W_ERR(c, s)	{ 'E', c, s, sizeof(s) - 1 }

struct frame_vec {
	const char	*name;
	enum frame_role	 role;
	uint64_t	 max_message;
	bool		 raw;	/* fed as written, no masking by the runner */
	const char	*in;
	size_t		 len;
	struct want	 want[VEC_MAX_EVENTS];
};

#define C	FRAME_FROM_CLIENT
#define S	FRAME_FROM_SERVER
#define IN(s)	s, sizeof(s) - 1

static const struct frame_vec frame_vecs[] = {
	/* RFC 6455 §5.7 examples. */
	{ "rfc masked hello", C, 0, true,
	    IN("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
	    { W_TEXT("Hello") } },
	{ "rfc unmasked hello", S, 0, true,
	    IN("\x81\x05\x48\x65\x6c\x6c\x6f"),
	    { W_TEXT("Hello") } },
	{ "rfc fragmented hello", S, 0, true,
	    IN("\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f"),
	    { W_TEXT("Hello") } },
	{ "rfc unmasked ping", S, 0, true,
	    IN("\x89\x05\x48\x65\x6c\x6c\x6f"),
	    { W_PING("Hello") } },
	{ "rfc masked pong", C, 0, true,
	    IN("\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
	    { W_PONG("Hello") } },

	/* Valid traffic. */
	{ "binary", C, 0, false,
	    IN("\x82\x84" VEC_KEY "\x00\xff\x80\x01"),
	    { W_BIN("\x00\xff\x80\x01") } },
	{ "binary need not be utf-8", S, 0, false,
	    IN("\x82\x03\xc0\xed\xa0"),
	    { W_BIN("\xc0\xed\xa0") } },
	{ "two messages", C, 0, false,
	    IN("\x81\x82" VEC_KEY "hi" "\x82\x81" VEC_KEY "\x07"),
	    { W_TEXT("hi"), W_BIN("\x07") } },
	{ "16-bit length, non-minimal", C, 0, false,
	    IN("\x81\xfe\x00\x05" VEC_KEY "Hello"),
	    { W_TEXT("Hello") } },
	{ "64-bit length, non-minimal", C, 0, false,
	    IN("\x82\xff\x00\x00\x00\x00\x00\x00\x00\x03" VEC_KEY "abc"),
	    { W_BIN("abc") } },
	{ "fragments with interleaved ping", C, 0, false,
	    IN("\x01\x83" VEC_KEY "Hel" "\x89\x84" VEC_KEY "ping"
	    "\x8a\x80" VEC_KEY "\x80\x82" VEC_KEY "lo"),
	    { W_PING("ping"), W_PONG(""), W_TEXT("Hello") } },
	{ "binary fragments", S, 0, false,
	    IN("\x02\x01\x01\x00\x02\x02\x03\x80\x01\x04"),
	    { W_BIN("\x01\x02\x03\x04") } },
	{ "empty text frame", C, 0, false,
	    IN("\x81\x80" VEC_KEY),
	    { W_TEXT("") } },
	{ "empty binary frame", S, 0, false,
	    IN("\x82\x00"),
	    { W_BIN("") } },
	{ "empty first fragment", C, 0, false,
	    IN("\x01\x80" VEC_KEY "\x80\x82" VEC_KEY "hi"),
	    { W_TEXT("hi") } },
	{ "empty middle and last fragments", C, 0, false,
	    IN("\x01\x82" VEC_KEY "ab" "\x00\x80" VEC_KEY "\x80\x80" VEC_KEY),
	    { W_TEXT("ab") } },
	{ "all fragments empty", S, 0, false,
	    IN("\x02\x00\x00\x00\x80\x00"),
	    { W_BIN("") } },
	{ "close with code and reason", C, 0, false,
	    IN("\x88\x85" VEC_KEY "\x03\xe8" "bye"),
	    { W_CLOSE(1000, "bye") } },
	{ "close with code only", S, 0, false,
	    IN("\x88\x02\x03\xe9"),
	    { W_CLOSE(1001, "") } },
	{ "close empty", C, 0, false,
	    IN("\x88\x80" VEC_KEY),
	    { W_CLOSE(1005, "") } },
	{ "close utf-8 reason", C, 0, false,
	    IN("\x88\x87" VEC_KEY "\x0f\xa0" "\xe2\x82\xac" "ok"),
	    { W_CLOSE(4000, "\xe2\x82\xac" "ok") } },
	{ "close code 1003", S, 0, false, IN("\x88\x02\x03\xeb"),
	    { W_CLOSE(1003, "") } },
	{ "close code 1007", S, 0, false, IN("\x88\x02\x03\xef"),
	    { W_CLOSE(1007, "") } },
	{ "close code 1014", S, 0, false, IN("\x88\x02\x03\xf6"),
	    { W_CLOSE(1014, "") } },
	{ "close code 3000", S, 0, false, IN("\x88\x02\x0b\xb8"),
	    { W_CLOSE(3000, "") } },
	{ "close code 4999", S, 0, false, IN("\x88\x02\x13\x87"),
	    { W_CLOSE(4999, "") } },
	{ "ping empty", C, 0, false,
	    IN("\x89\x80" VEC_KEY),
	    { W_PING("") } },
	{ "frames after close still parse", S, 0, false,
	    IN("\x88\x00\x81\x01" "x"),
	    { W_CLOSE(1005, ""), W_TEXT("x") } },
	{ "incomplete header", C, 0, false,
	    IN("\x81\xfe\x00"),
	    { { 0, 0, NULL, 0 } } },
	{ "incomplete payload", C, 0, false,
	    IN("\x81\x85" VEC_KEY "He"),
	    { W_OPEN("He") } },
	{ "incomplete control payload", C, 0, false,
	    IN("\x89\x85" VEC_KEY "He"),
	    { { 0, 0, NULL, 0 } } },

	/* UTF-8 of text messages (RFC 6455 §8.1). */
	{ "utf-8 kosme", C, 0, false,
	    IN("\x81\x8b" VEC_KEY "\xce\xba\xe1\xbd\xb9\xcf\x83"
	    "\xce\xbc\xce\xb5"),
	    { W_TEXT("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5") } },
	{ "utf-8 4-byte split 1+3 across fragments", C, 0, false,
	    IN("\x01\x81" VEC_KEY "\xf0" "\x80\x83" VEC_KEY "\x9f\x98\x80"),
	    { W_TEXT("\xf0\x9f\x98\x80") } },
	{ "utf-8 4-byte split 2+2 across fragments", S, 0, false,
	    IN("\x01\x02\xf0\x9f" "\x80\x02\x98\x80"),
	    { W_TEXT("\xf0\x9f\x98\x80") } },
	{ "utf-8 4-byte split over three fragments", C, 0, false,
	    IN("\x01\x82" VEC_KEY "a\xf0" "\x00\x82" VEC_KEY "\x9f\x98"
	    "\x89\x80" VEC_KEY "\x80\x81" VEC_KEY "\x80"),
	    { W_PING(""), W_TEXT("a\xf0\x9f\x98\x80") } },
	{ "utf-8 2-byte split with empty fragment between", S, 0, false,
	    IN("\x01\x01\xc3\x00\x00\x80\x01\xa9"),
	    { W_TEXT("\xc3\xa9") } },
	{ "utf-8 invalid byte", C, 0, false,
	    IN("\x81\x83" VEC_KEY "ab\xff"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 overlong c0 80", C, 0, false,
	    IN("\x81\x82" VEC_KEY "\xc0\x80"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 overlong e0 80 80", C, 0, false,
	    IN("\x81\x83" VEC_KEY "\xe0\x80\x80"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 overlong f0 80 80 80", C, 0, false,
	    IN("\x81\x84" VEC_KEY "\xf0\x80\x80\x80"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 surrogate", C, 0, false,
	    IN("\x81\x83" VEC_KEY "\xed\xa0\x80"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 above U+10FFFF", C, 0, false,
	    IN("\x81\x84" VEC_KEY "\xf4\x90\x80\x80"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 f5", S, 0, false,
	    IN("\x81\x04\xf5\x80\x80\x80"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 ff", S, 0, false,
	    IN("\x81\x01\xff"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 truncated at end of message", C, 0, false,
	    IN("\x81\x84" VEC_KEY "ab\xe2\x82"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 truncated, empty final fragment", C, 0, false,
	    IN("\x01\x82" VEC_KEY "\xe2\x82" "\x80\x80" VEC_KEY),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 invalid across fragments", C, 0, false,
	    IN("\x01\x81" VEC_KEY "\xe2" "\x80\x82" VEC_KEY "\x28\xa1"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 invalid after interleaved ping", S, 0, false,
	    IN("\x01\x02" "ab" "\x89\x01" "p" "\x80\x02\xc0\xaf"),
	    { W_PING("p"), W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 failure before the payload is complete", C, 0, false,
	    IN("\x81\x85" VEC_KEY "a\xff"),
	    { W_ERR(1007, "invalid utf-8 in text message") } },
	{ "utf-8 error after a good message", S, 0, false,
	    IN("\x81\x02" "ok" "\x81\x01\x80"),
	    { W_TEXT("ok"), W_ERR(1007, "invalid utf-8 in text message") } },

	/* Masking by role (§5.1). */
	{ "unmasked client frame", C, 0, true,
	    IN("\x81\x05" "Hello"),
	    { W_ERR(1002, "unmasked client frame") } },
	{ "unmasked client control frame", C, 0, true,
	    IN("\x89\x00"),
	    { W_ERR(1002, "unmasked client frame") } },
	{ "masked server frame", S, 0, false,
	    IN("\x81\x85" VEC_KEY "Hello"),
	    { W_ERR(1002, "masked server frame") } },

	/* RSV bits and opcodes (§5.2). */
	{ "rsv1", C, 0, false, IN("\xc1\x80" VEC_KEY),
	    { W_ERR(1002, "reserved bit set") } },
	{ "rsv2", C, 0, false, IN("\xa1\x80" VEC_KEY),
	    { W_ERR(1002, "reserved bit set") } },
	{ "rsv3", S, 0, false, IN("\x91\x00"),
	    { W_ERR(1002, "reserved bit set") } },
	{ "rsv on control frame", S, 0, false, IN("\xc9\x00"),
	    { W_ERR(1002, "reserved bit set") } },
	{ "opcode 3", C, 0, false, IN("\x83\x80" VEC_KEY),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode 4", C, 0, false, IN("\x84\x80" VEC_KEY),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode 5", S, 0, false, IN("\x85\x00"),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode 6", S, 0, false, IN("\x86\x00"),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode 7", S, 0, false, IN("\x07\x00"),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode b", C, 0, false, IN("\x8b\x80" VEC_KEY),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode c", C, 0, false, IN("\x8c\x80" VEC_KEY),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode d", S, 0, false, IN("\x8d\x00"),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode e", S, 0, false, IN("\x8e\x00"),
	    { W_ERR(1002, "unknown opcode") } },
	{ "opcode f", C, 0, false, IN("\x8f\x80" VEC_KEY),
	    { W_ERR(1002, "unknown opcode") } },
	{ "unknown opcode after a message", C, 0, false,
	    IN("\x82\x81" VEC_KEY "z" "\x83\x80" VEC_KEY),
	    { W_BIN("z"), W_ERR(1002, "unknown opcode") } },

	/* Control frames (§5.5). */
	{ "fragmented ping", C, 0, false, IN("\x09\x80" VEC_KEY),
	    { W_ERR(1002, "fragmented control frame") } },
	{ "fragmented close", S, 0, false, IN("\x08\x00"),
	    { W_ERR(1002, "fragmented control frame") } },
	{ "fragmented pong", S, 0, false, IN("\x0a\x00"),
	    { W_ERR(1002, "fragmented control frame") } },
	{ "ping with 16-bit length", C, 0, true, IN("\x89\xfe"),
	    { W_ERR(1002, "control frame too long") } },
	{ "close with 64-bit length", S, 0, true, IN("\x88\x7f"),
	    { W_ERR(1002, "control frame too long") } },
	{ "ping of 126 bytes, 16-bit", S, 0, true,
	    IN("\x89\x7e\x00\x7e"),
	    { W_ERR(1002, "control frame too long") } },

	/* Fragment sequencing (§5.4). */
	{ "continuation without a message", C, 0, false,
	    IN("\x80\x81" VEC_KEY "a"),
	    { W_ERR(1002, "continuation without a message") } },
	{ "non-final continuation without a message", S, 0, false,
	    IN("\x00\x00"),
	    { W_ERR(1002, "continuation without a message") } },
	{ "continuation after a finished message", C, 0, false,
	    IN("\x01\x81" VEC_KEY "a" "\x80\x81" VEC_KEY "b"
	    "\x80\x81" VEC_KEY "c"),
	    { W_TEXT("ab"),
	    W_ERR(1002, "continuation without a message") } },
	{ "text inside a fragmented message", C, 0, false,
	    IN("\x01\x81" VEC_KEY "a" "\x81\x81" VEC_KEY "b"),
	    { W_ERR(1002, "data frame inside a fragmented message") } },
	{ "binary inside a fragmented text message", S, 0, false,
	    IN("\x01\x01" "a" "\x89\x00" "\x02\x01" "b"),
	    { W_PING(""),
	    W_ERR(1002, "data frame inside a fragmented message") } },

	/* Lengths (§5.2). */
	{ "64-bit length top bit", C, 0, false,
	    IN("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00" VEC_KEY),
	    { W_ERR(1002, "frame length top bit set") } },
	{ "64-bit length all ones", S, 0, false,
	    IN("\x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff"),
	    { W_ERR(1002, "frame length top bit set") } },

	/* Close payloads (§5.5.1, §7.4). */
	{ "close payload of 1 byte", C, 0, false,
	    IN("\x88\x81" VEC_KEY "\x03"),
	    { W_ERR(1002, "close payload of 1 byte") } },
	{ "close code 0", S, 0, false, IN("\x88\x02\x00\x00"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 999", S, 0, false, IN("\x88\x02\x03\xe7"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 1004", C, 0, false,
	    IN("\x88\x82" VEC_KEY "\x03\xec"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 1005", C, 0, false,
	    IN("\x88\x82" VEC_KEY "\x03\xed"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 1006", C, 0, false,
	    IN("\x88\x82" VEC_KEY "\x03\xee"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 1015", S, 0, false, IN("\x88\x02\x03\xf7"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 1016", S, 0, false, IN("\x88\x02\x03\xf8"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 2999", S, 0, false, IN("\x88\x02\x0b\xb7"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 5000", S, 0, false, IN("\x88\x02\x13\x88"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close code 65535", S, 0, false, IN("\x88\x05\xff\xff" "bye"),
	    { W_ERR(1002, "invalid close code") } },
	{ "close reason invalid utf-8", C, 0, false,
	    IN("\x88\x83" VEC_KEY "\x03\xe8\xff"),
	    { W_ERR(1007, "invalid utf-8 in close reason") } },
	{ "close reason truncated utf-8", S, 0, false,
	    IN("\x88\x04\x03\xe8\xe2\x82"),
	    { W_ERR(1007, "invalid utf-8 in close reason") } },
	{ "close reason surrogate", S, 0, false,
	    IN("\x88\x05\x03\xe8\xed\xb0\x80"),
	    { W_ERR(1007, "invalid utf-8 in close reason") } },

	/* max_message (1009), decided from the headers. */
	{ "message at the limit", C, 5, false,
	    IN("\x81\x85" VEC_KEY "Hello"),
	    { W_TEXT("Hello") } },
	{ "message over the limit in one frame", C, 4, false,
	    IN("\x81\x85" VEC_KEY "Hello"),
	    { W_ERR(1009, "message too big") } },
	{ "message over the limit, header only", S, 1000, false,
	    IN("\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00"),
	    { W_ERR(1009, "message too big") } },
	{ "message over the limit across fragments", C, 5, false,
	    IN("\x01\x83" VEC_KEY "abc" "\x80\x83" VEC_KEY "def"),
	    { W_ERR(1009, "message too big") } },
	{ "message over the limit in a later fragment", S, 5, false,
	    IN("\x02\x02" "ab" "\x00\x02" "cd" "\x80\x02" "ef"),
	    { W_ERR(1009, "message too big") } },
	{ "limit counts per message", S, 3, false,
	    IN("\x82\x03" "abc" "\x01\x02" "de" "\x80\x01" "f"),
	    { W_BIN("abc"), W_TEXT("def") } },
	{ "control frames do not count", C, 5, false,
	    IN("\x01\x83" VEC_KEY "abc" "\x89\x88" VEC_KEY "pingping"
	    "\x80\x82" VEC_KEY "de"),
	    { W_PING("pingping"), W_TEXT("abcde") } },
	{ "limit checked before utf-8", C, 2, false,
	    IN("\x81\x83" VEC_KEY "\xff\xff\xff"),
	    { W_ERR(1009, "message too big") } }
};

#undef C
#undef S

#define FRAME_NVECS	(sizeof(frame_vecs) / sizeof(frame_vecs[0]))

/* One event of an outcome; data is heap memory owned by the outcome. */
struct got {
	char		 kind;
	uint16_t	 code;
	uint8_t		*data;
	size_t		 len;
	const char	*reason;	/* 'E' */
};

struct outcome {
	struct got	 ev[VEC_MAX_EVENTS];
	size_t		 n;
	bool		 failed;
	uint16_t	 code;		/* of the error, to check it sticks */
	const char	*reason;

	bool		 open;		/* a message is being assembled */
	uint8_t		 op;
	uint8_t		*msg;
	size_t		 msg_len;
	size_t		 msg_cap;
};

/* Byte-wise reference of §5.3, kept apart from frame_mask on purpose. */
static void
ref_mask(uint8_t *p, size_t n, const uint8_t key[4], uint64_t offset)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		p[i] ^= key[(offset + i) % 4];
}

/*
 * Masks the payloads of the masked frames of a plain vector with the key
 * in their headers.  Stops at the first header it cannot size, which only
 * invalid vectors contain; the reader fails on that header before it
 * reaches any payload.
 */
static void
vec_mask(uint8_t *w, size_t len)
{
	size_t		 pos = 0, hl, k;
	uint64_t	 plen, avail;

	while (len - pos >= 2) {
		plen = w[pos + 1] & 0x7f;
		hl = 2;
		if (plen == 126) {
			if (len - pos < 4)
				return;
			plen = (uint64_t)w[pos + 2] << 8 | w[pos + 3];
			hl = 4;
		} else if (plen == 127) {
			if (len - pos < 10)
				return;
			for (plen = 0, k = 0; k < 8; k++)
				plen = plen << 8 | w[pos + 2 + k];
			hl = 10;
		}
		if ((w[pos + 1] & 0x80) != 0) {
			if (len - pos < hl + 4)
				return;
			hl += 4;
		}
		avail = len - pos - hl;
		if (plen > avail) {
			plen = avail;
			len = pos + hl + (size_t)avail;
		}
		if ((w[pos + 1] & 0x80) != 0)
			ref_mask(w + pos + hl, (size_t)plen, w + pos + hl - 4,
			    0);
		pos += hl + (size_t)plen;
	}
}

static void
outcome_push(struct outcome *o, char kind, uint16_t code,
    const uint8_t *data, size_t len, const char *reason)
{
	struct got	*g;

	QUIET_ASSERT(o->n < VEC_MAX_EVENTS, "too many events");
	g = &o->ev[o->n++];
	g->kind = kind;
	g->code = code;
	g->data = malloc(len > 0 ? len : 1);
	QUIET_ASSERT(g->data != NULL, "out of memory");
	if (len > 0)
		memcpy(g->data, data, len);
	g->len = len;
	g->reason = reason;
}

static void
outcome_append(struct outcome *o, const uint8_t *data, size_t len)
{
	if (len == 0)
		return;
	/* Doubling: byte-at-a-time runs append 64 KiB one byte at a time. */
	if (o->msg_len + len > o->msg_cap) {
		o->msg_cap = 2 * (o->msg_len + len);
		o->msg = realloc(o->msg, o->msg_cap);
		QUIET_ASSERT(o->msg != NULL, "out of memory");
	}
	memcpy(o->msg + o->msg_len, data, len);
	o->msg_len += len;
}

static void
outcome_free(struct outcome *o)
{
	size_t	 i;

	for (i = 0; i < o->n; i++)
		free(o->ev[i].data);
	free(o->msg);
	memset(o, 0, sizeof(*o));
}

static void
outcome_data(struct outcome *o, const struct frame_event *ev)
{
	QUIET_ASSERT(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY,
	    "data event with opcode %u", (unsigned)ev->opcode);
	if (ev->first) {
		QUIET_ASSERT(!o->open, "first chunk inside a message");
		o->open = true;
		o->op = ev->opcode;
		o->msg_len = 0;
	} else {
		QUIET_ASSERT(o->open, "chunk without a first one");
		QUIET_ASSERT(ev->opcode == o->op, "opcode changed to %u",
		    (unsigned)ev->opcode);
	}
	outcome_append(o, ev->data, ev->len);
	if (ev->last) {
		outcome_push(o, o->op == WS_OP_TEXT ? 'T' : 'B', 0, o->msg,
		    o->msg_len, NULL);
		o->open = false;
	}
}

static void
outcome_control(struct outcome *o, const struct frame_event *ev)
{
	switch (ev->opcode) {
	case WS_OP_CLOSE:
		QUIET_ASSERT(ev->len == 0 || ev->len == ev->reason_len + 2,
		    "close reason of %zu bytes in %zu", ev->reason_len,
		    ev->len);
		outcome_push(o, 'C', ev->close_code,
		    (const uint8_t *)ev->reason, ev->reason_len, NULL);
		break;
	case WS_OP_PING:
		outcome_push(o, 'P', 0, ev->data, ev->len, NULL);
		break;
	case WS_OP_PONG:
		outcome_push(o, 'O', 0, ev->data, ev->len, NULL);
		break;
	default:
		ck_abort_msg("control event with opcode %u",
		    (unsigned)ev->opcode);
	}
}

/*
 * Feeds one piece the way a caller would: from a heap copy of exactly n
 * bytes, again and again with what is left, until FRAME_NEED_MORE or
 * FRAME_ERROR.  A failed reader must keep failing the same way.
 */
static void
frame_feed_piece(struct frame_reader *r, const uint8_t *p, size_t n,
    struct outcome *o)
{
	struct frame_event	 ev;
	uint8_t			*buf;
	size_t			 off = 0, used;

	buf = malloc(n > 0 ? n : 1);
	QUIET_ASSERT(buf != NULL, "out of memory");
	if (n > 0)
		memcpy(buf, p, n);
	for (;;) {
		used = frame_reader_feed(r, buf + off, n - off, &ev);
		QUIET_ASSERT(used <= n - off, "consumed %zu of %zu", used,
		    n - off);
		if (o->failed) {
			QUIET_ASSERT(ev.type == FRAME_ERROR &&
			    ev.close_code == o->code && used == 0 &&
			    strcmp(ev.reason, o->reason) == 0,
			    "failed reader gave event %d code %u", ev.type,
			    (unsigned)ev.close_code);
			break;
		}
		off += used;
		if (ev.type == FRAME_NEED_MORE) {
			QUIET_ASSERT(off == n, "need more with %zu bytes left",
			    n - off);
			break;
		}
		if (ev.type == FRAME_ERROR) {
			QUIET_ASSERT(ev.reason != NULL &&
			    ev.reason_len == strlen(ev.reason),
			    "error without a reason");
			outcome_push(o, 'E', ev.close_code, NULL, 0,
			    ev.reason);
			o->failed = true;
			o->code = ev.close_code;
			o->reason = ev.reason;
			continue;
		}
		/* Every other event takes bytes: no endless loop. */
		QUIET_ASSERT(used > 0, "event %d consumed nothing", ev.type);
		if (ev.type == FRAME_DATA) {
			/* Unmasked in place: the chunk lies in the buffer. */
			QUIET_ASSERT(ev.len == 0 || (ev.data >= buf &&
			    ev.data + ev.len <= buf + off),
			    "chunk outside the buffer");
			outcome_data(o, &ev);
		} else {
			QUIET_ASSERT(ev.type == FRAME_CONTROL, "event type %d",
			    ev.type);
			outcome_control(o, &ev);
		}
	}
	free(buf);
}

enum split {
	SPLIT_WHOLE,		/* one feed */
	SPLIT_AT,		/* two feeds, cut at a given offset */
	SPLIT_BYTES		/* one feed per byte */
};

/* Runs wire (already masked) through a fresh reader, cut as told. */
static void
frame_run(enum frame_role role, uint64_t max_message, const uint8_t *wire,
    size_t len, enum split how, size_t at, struct outcome *o)
{
	struct frame_reader	 r;
	size_t			 i;

	memset(o, 0, sizeof(*o));
	frame_reader_init(&r, role, max_message);
	switch (how) {
	case SPLIT_WHOLE:
		frame_feed_piece(&r, wire, len, o);
		break;
	case SPLIT_AT:
		frame_feed_piece(&r, wire, at, o);
		frame_feed_piece(&r, wire + at, len - at, o);
		break;
	case SPLIT_BYTES:
		for (i = 0; i < len; i++)
			frame_feed_piece(&r, wire + i, 1, o);
		break;
	}
	if (!o->failed && o->open)
		outcome_push(o, 'p', 0, o->msg, o->msg_len, NULL);
}

/* Describes the first difference from want in msg; false when none. */
static bool
outcome_differs(const struct outcome *o, const struct want *want,
    char *msg, size_t msgsz)
{
	const struct got	*g;
	const struct want	*w;
	size_t			 i, nwant;

	for (nwant = 0; nwant < VEC_MAX_EVENTS && want[nwant].kind != 0;
	    nwant++)
		;
	for (i = 0; i < o->n || i < nwant; i++) {
		if (i >= o->n) {
			snprintf(msg, msgsz, "event %zu: missing '%c'", i,
			    want[i].kind);
			return true;
		}
		g = &o->ev[i];
		if (i >= nwant) {
			snprintf(msg, msgsz, "event %zu: extra '%c' code %u",
			    i, g->kind, (unsigned)g->code);
			return true;
		}
		w = &want[i];
		if (g->kind != w->kind || g->code != w->code) {
			snprintf(msg, msgsz, "event %zu: got '%c' %u, want "
			    "'%c' %u", i, g->kind, (unsigned)g->code, w->kind,
			    (unsigned)w->code);
			return true;
		}
		if (g->kind == 'E') {
			if (strcmp(g->reason, w->data) != 0) {
				snprintf(msg, msgsz, "event %zu: reason "
				    "\"%s\", want \"%s\"", i, g->reason,
				    w->data);
				return true;
			}
			continue;
		}
		if (g->len != w->len || memcmp(g->data, w->data, w->len) != 0) {
			snprintf(msg, msgsz, "event %zu '%c': payload of %zu "
			    "bytes differs (want %zu)", i, g->kind, g->len,
			    w->len);
			return true;
		}
	}
	return false;
}

static void
frame_expect(const char *name, enum frame_role role, uint64_t max_message,
    const uint8_t *wire, size_t len, enum split how, size_t at,
    const struct want *want)
{
	static const char	*hows[] = { "whole", "split", "bytes" };
	struct outcome		 o;
	char			 msg[160];
	bool			 differs;

	frame_run(role, max_message, wire, len, how, at, &o);
	differs = outcome_differs(&o, want, msg, sizeof(msg));
	outcome_free(&o);
	QUIET_ASSERT(!differs, "%s (%s at %zu): %s", name, hows[how], at,
	    msg);
}

/*
 * The three ways.  Inputs over 4 KiB are split at every offset near both
 * ends and at a stride between, which still crosses every header and
 * chunk boundary kind without making the test quadratic in 64 KiB.
 */
static void
frame_expect_all_ways(const char *name, enum frame_role role,
    uint64_t max_message, const uint8_t *wire, size_t len,
    const struct want *want)
{
	size_t	 at;

	frame_expect(name, role, max_message, wire, len, SPLIT_WHOLE, 0, want);
	for (at = 0; at <= len; at++) {
		if (len > 4096 && at > 300 && at + 300 < len && at % 997 != 0)
			continue;
		frame_expect(name, role, max_message, wire, len, SPLIT_AT, at,
		    want);
	}
	frame_expect(name, role, max_message, wire, len, SPLIT_BYTES, 0, want);
}

START_TEST(test_frame_vectors)
{
	const struct frame_vec	*v = &frame_vecs[_i];
	uint8_t			*wire;

	wire = malloc(v->len);
	ck_assert_ptr_nonnull(wire);
	memcpy(wire, v->in, v->len);
	if (!v->raw)
		vec_mask(wire, v->len);
	frame_expect_all_ways(v->name, v->role, v->max_message, wire, v->len,
	    v->want);
	free(wire);
}
END_TEST

/* Payload lengths around every encoding boundary, built at run time. */
static const uint64_t frame_lengths[] = {
	0, 1, 125, 126, 127, 200, 65535, 65536, 70000
};

#define FRAME_NLENGTHS	(sizeof(frame_lengths) / sizeof(frame_lengths[0]))

/*
 * Loop index: length, role and opcode.  Each frame is followed by a ping
 * so the reader must also find the next header after a long payload.
 */
START_TEST(test_frame_lengths)
{
	static const uint8_t	 key[4] = { 0xa5, 0x01, 0xff, 0x3c };
	uint64_t		 len = frame_lengths[_i / 4];
	enum frame_role		 role = (_i & 1) ? FRAME_FROM_SERVER :
				    FRAME_FROM_CLIENT;
	uint8_t			 op = (_i & 2) ? WS_OP_BINARY : WS_OP_TEXT;
	const uint8_t		*mask = role == FRAME_FROM_CLIENT ? key : NULL;
	struct want		 want[3];
	uint8_t			*payload, *wire;
	size_t			 hl, n, i;
	char			 name[64];

	payload = malloc(len + 1);
	wire = malloc(len + 2 * FRAME_MAX_HEADER + 1);
	ck_assert(payload != NULL && wire != NULL);
	for (i = 0; i < len; i++)
		payload[i] = (uint8_t)('a' + i % 26);
	hl = frame_encode_header(wire, true, op, len, mask);
	memcpy(wire + hl, payload, len);
	if (mask != NULL)
		ref_mask(wire + hl, len, mask, 0);
	n = hl + len;
	n += frame_encode_header(wire + n, true, WS_OP_PING, 1, mask);
	wire[n] = (uint8_t)('!' ^ (mask != NULL ? mask[0] : 0));
	n++;

	memset(want, 0, sizeof(want));
	want[0].kind = op == WS_OP_TEXT ? 'T' : 'B';
	want[0].data = (const char *)payload;
	want[0].len = len;
	want[1].kind = 'P';
	want[1].data = "!";
	want[1].len = 1;
	snprintf(name, sizeof(name), "length %ju", (uintmax_t)len);
	frame_expect_all_ways(name, role, 0, wire, n, want);
	free(wire);
	free(payload);
}
END_TEST

/* Control payloads of every size, split or not, arrive whole. */
START_TEST(test_frame_control_sizes)
{
	static const uint8_t	 key[4] = { 1, 2, 3, 4 };
	size_t			 len = (size_t)_i;
	uint8_t			 wire[FRAME_MAX_HEADER + FRAME_MAX_CONTROL];
	uint8_t			 payload[FRAME_MAX_CONTROL];
	struct want		 want[2];
	size_t			 hl, i;

	for (i = 0; i < len; i++)
		payload[i] = (uint8_t)i;
	hl = frame_encode_header(wire, true, WS_OP_PONG, len, key);
	memcpy(wire + hl, payload, len);
	ref_mask(wire + hl, len, key, 0);
	memset(want, 0, sizeof(want));
	want[0].kind = 'O';
	want[0].data = (const char *)payload;
	want[0].len = len;
	frame_expect_all_ways("pong", FRAME_FROM_CLIENT, 0, wire, hl + len,
	    want);
}
END_TEST

/* Chunk events: flags, pointers into the buffer, one event per call. */
START_TEST(test_frame_data_chunks)
{
	struct frame_reader	 r;
	struct frame_event	 ev;
	uint8_t			 a[] = { 0x01, 0x03, 'a', 'b' };
	uint8_t			 b[] = { 'c', 0x80, 0x00, 0x89, 0x00 };

	frame_reader_init(&r, FRAME_FROM_SERVER, 0);
	ck_assert_uint_eq(frame_reader_feed(&r, a, sizeof(a), &ev), 4);
	ck_assert_int_eq(ev.type, FRAME_DATA);
	ck_assert_int_eq(ev.opcode, WS_OP_TEXT);
	ck_assert_ptr_eq(ev.data, a + 2);
	ck_assert_uint_eq(ev.len, 2);
	ck_assert(ev.first && !ev.last);
	ck_assert_uint_eq(frame_reader_feed(&r, a + 4, 0, &ev), 0);
	ck_assert_int_eq(ev.type, FRAME_NEED_MORE);

	ck_assert_uint_eq(frame_reader_feed(&r, b, sizeof(b), &ev), 1);
	ck_assert_int_eq(ev.type, FRAME_DATA);
	ck_assert_ptr_eq(ev.data, b);
	ck_assert_uint_eq(ev.len, 1);
	ck_assert(!ev.first && !ev.last);
	/* The empty final fragment still says where the message ends. */
	ck_assert_uint_eq(frame_reader_feed(&r, b + 1, 4, &ev), 2);
	ck_assert_int_eq(ev.type, FRAME_DATA);
	ck_assert_int_eq(ev.opcode, WS_OP_TEXT);
	ck_assert_uint_eq(ev.len, 0);
	ck_assert(!ev.first && ev.last);
	ck_assert_uint_eq(frame_reader_feed(&r, b + 3, 2, &ev), 2);
	ck_assert_int_eq(ev.type, FRAME_CONTROL);
	ck_assert_int_eq(ev.opcode, WS_OP_PING);
	ck_assert_uint_eq(ev.len, 0);
}
END_TEST

/* Masked payload is unmasked in place, with the key carried over. */
START_TEST(test_frame_unmask_in_place)
{
	struct frame_reader	 r;
	struct frame_event	 ev;
	uint8_t			 w[] = { 0x82, 0x87, 0x10, 0x20, 0x30, 0x40,
				    0x10, 0x20, 0x30, 0x40, 0x10, 0x20, 0x30 };

	frame_reader_init(&r, FRAME_FROM_CLIENT, 0);
	ck_assert_uint_eq(frame_reader_feed(&r, w, 9, &ev), 9);
	ck_assert_int_eq(ev.type, FRAME_DATA);
	ck_assert_mem_eq(w + 6, "\0\0\0", 3);
	ck_assert_uint_eq(r.offset, 3);
	ck_assert_uint_eq(frame_reader_feed(&r, w + 9, 4, &ev), 4);
	ck_assert_int_eq(ev.type, FRAME_DATA);
	ck_assert(ev.last);
	ck_assert_mem_eq(w + 9, "\0\0\0\0", 4);
}
END_TEST

/* After an error the reader repeats it and consumes nothing. */
START_TEST(test_frame_error_sticks)
{
	struct frame_reader	 r;
	struct frame_event	 ev;
	uint8_t			 w[] = { 0x82, 0x05, 'a', 'b', 'c', 'd', 'e' };
	uint8_t			 ok[] = { 0x82, 0x00 };

	frame_reader_init(&r, FRAME_FROM_SERVER, 3);
	ck_assert_uint_eq(frame_reader_feed(&r, w, sizeof(w), &ev), 2);
	ck_assert_int_eq(ev.type, FRAME_ERROR);
	ck_assert_uint_eq(ev.close_code, WS_CLOSE_TOO_BIG);
	ck_assert_str_eq(ev.reason, "message too big");
	ck_assert_int_eq(r.phase, FRAME_READ_FAILED);
	ck_assert_uint_eq(frame_reader_feed(&r, ok, sizeof(ok), &ev), 0);
	ck_assert_int_eq(ev.type, FRAME_ERROR);
	ck_assert_uint_eq(ev.close_code, WS_CLOSE_TOO_BIG);
	ck_assert_str_eq(ev.reason, "message too big");
	ck_assert_uint_eq(ev.reason_len, strlen("message too big"));
	ck_assert_uint_eq(frame_reader_feed(&r, ok, 0, &ev), 0);
	ck_assert_int_eq(ev.type, FRAME_ERROR);
}
END_TEST

/*
 * Loop index: offset 0..7; every length 0..40 at every alignment, each
 * in a buffer that ends where the bytes do, so ASan sees a word written
 * past the end.
 */
START_TEST(test_frame_mask_offsets)
{
	static const uint8_t	 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	uint64_t		 offset = (uint64_t)_i;
	uint8_t			 want[40], *buf, *p;
	size_t			 len, align, i;

	for (len = 0; len <= 40; len++) {
		for (align = 0; align < 8; align++) {
			buf = malloc(align + len > 0 ? align + len : 1);
			QUIET_ASSERT(buf != NULL, "out of memory");
			p = buf + align;
			for (i = 0; i < len; i++)
				p[i] = want[i] = (uint8_t)(i * 7 + len);
			ref_mask(want, len, key, offset);
			frame_mask(p, len, key, offset);
			QUIET_ASSERT(memcmp(p, want, len) == 0,
			    "offset %ju len %zu align %zu", (uintmax_t)offset,
			    len, align);
			/* Masking twice gives the input back. */
			frame_mask(p, len, key, offset);
			for (i = 0; i < len; i++)
				QUIET_ASSERT(p[i] == (uint8_t)(i * 7 + len),
				    "offset %ju len %zu align %zu: round trip",
				    (uintmax_t)offset, len, align);
			free(buf);
		}
	}
}
END_TEST

/* Masking in two pieces at any cut equals masking at once. */
START_TEST(test_frame_mask_pieces)
{
	static const uint8_t	 key[4] = { 0xde, 0xad, 0xbe, 0xef };
	uint8_t			 a[67], b[67];
	size_t			 cut, i;

	for (cut = 0; cut <= sizeof(a); cut++) {
		for (i = 0; i < sizeof(a); i++)
			a[i] = b[i] = (uint8_t)i;
		frame_mask(a, sizeof(a), key, 5);
		frame_mask(b, cut, key, 5);
		frame_mask(b + cut, sizeof(b) - cut, key, 5 + cut);
		ck_assert_mem_eq(a, b, sizeof(a));
	}
	/* Offsets past 32 bits still pick the key byte by offset % 4. */
	a[0] = 0;
	frame_mask(a, 1, key, ((uint64_t)1 << 40) + 3);
	ck_assert_uint_eq(a[0], 0xef);
}
END_TEST

struct header_case {
	uint64_t	 len;
	size_t		 size;		/* unmasked header size */
	uint8_t		 len7;		/* low 7 bits of the second byte */
};

static const struct header_case header_cases[] = {
	{ 0, 2, 0 },
	{ 1, 2, 1 },
	{ 125, 2, 125 },
	{ 126, 4, 126 },
	{ 127, 4, 126 },
	{ 65535, 4, 126 },
	{ 65536, 10, 127 },
	{ 0xffffffffULL, 10, 127 },
	{ 0x100000000ULL, 10, 127 },
	{ 0x7fffffffffffffffULL, 10, 127 }
};

#define FRAME_NHEADERS	(sizeof(header_cases) / sizeof(header_cases[0]))

/*
 * Loop index: case and masking.  The header is minimal, big-endian, and
 * the reader takes it back to the same frame.
 */
START_TEST(test_frame_encode_header)
{
	static const uint8_t		 key[4] = { 9, 8, 7, 6 };
	const struct header_case	*c = &header_cases[_i / 2];
	const uint8_t			*mask = (_i & 1) ? key : NULL;
	struct frame_reader		 r;
	struct frame_event		 ev;
	uint8_t				 h[FRAME_MAX_HEADER + 1];
	size_t				 n, i;
	uint64_t			 len = 0;

	memset(h, 0xee, sizeof(h));
	n = frame_encode_header(h, _i % 4 < 2, WS_OP_BINARY, c->len, mask);
	ck_assert_uint_eq(n, c->size + (mask != NULL ? 4 : 0));
	ck_assert_uint_eq(h[n], 0xee);
	ck_assert_uint_eq(h[0], (_i % 4 < 2 ? 0x80 : 0) | WS_OP_BINARY);
	ck_assert_uint_eq(h[1], (mask != NULL ? 0x80 : 0) | c->len7);
	for (i = 2; i < c->size; i++)
		len = len << 8 | h[i];
	if (c->size > 2)
		ck_assert_uint_eq(len, c->len);
	if (mask != NULL)
		ck_assert_mem_eq(h + c->size, key, 4);

	frame_reader_init(&r, mask != NULL ? FRAME_FROM_CLIENT :
	    FRAME_FROM_SERVER, 0);
	ck_assert_uint_eq(frame_reader_feed(&r, h, n, &ev), n);
	if (c->len == 0) {
		ck_assert_int_eq(ev.type, FRAME_DATA);
		ck_assert_uint_eq(ev.len, 0);
	} else {
		ck_assert_int_eq(ev.type, FRAME_NEED_MORE);
		ck_assert_int_eq(r.phase, FRAME_READ_PAYLOAD);
		ck_assert_uint_eq(r.remaining, c->len);
	}
	ck_assert(r.fin == (_i % 4 < 2));
	ck_assert_uint_eq(r.opcode, WS_OP_BINARY);
	ck_assert(r.masked == (mask != NULL));
	if (mask != NULL)
		ck_assert_mem_eq(r.mask, key, 4);
}
END_TEST

/* Reference of §7.4: the codes an endpoint may put in a close frame. */
static bool
ref_close_code_valid(unsigned code)
{
	if (code < 1000 || code >= 5000)
		return false;
	if (code == 1004 || code == 1005 || code == 1006)
		return false;
	if (code >= 1015 && code < 3000)
		return false;
	return true;
}

START_TEST(test_frame_close_code_valid)
{
	unsigned	 code;

	for (code = 0; code <= 0x10000; code++)
		QUIET_ASSERT(frame_close_code_valid(code) ==
		    ref_close_code_valid(code), "code %u", code);
	ck_assert(!frame_close_code_valid(0xffffffffu));
}
END_TEST

START_TEST(test_frame_close_payload_basic)
{
	uint8_t	 out[FRAME_MAX_CONTROL];

	ck_assert_uint_eq(frame_close_payload(out, 1000, "bye", 3), 5);
	ck_assert_mem_eq(out, "\x03\xe8" "bye", 5);
	ck_assert_uint_eq(frame_close_payload(out, 4999, NULL, 0), 2);
	ck_assert_mem_eq(out, "\x13\x87", 2);
	ck_assert_uint_eq(frame_close_payload(out, WS_CLOSE_NO_STATUS, "x",
	    1), 0);
}
END_TEST

/*
 * Loop index: width of the repeated character (1-4) and how many ASCII
 * bytes come first (0-3), so the 123-byte cut lands on every position
 * inside a character.  The reason kept must be the longest prefix that
 * ends between characters, and must come back whole through the reader.
 */
START_TEST(test_frame_close_payload_truncation)
{
	static const char	*chars[] = { "x", "\xc3\xa9", "\xe2\x82\xac",
				    "\xf0\x9f\x98\x80" };
	static const uint8_t	 key[4] = { 0x55, 0xaa, 0x0f, 0xf0 };
	size_t			 width = (size_t)_i / 4 + 1;
	size_t			 lead = (size_t)_i % 4;
	struct frame_reader	 r;
	struct frame_event	 ev;
	struct utf8_state	 st;
	char			 reason[300];
	uint8_t			 out[FRAME_MAX_CONTROL + 1];
	uint8_t			 wire[FRAME_MAX_HEADER + FRAME_MAX_CONTROL];
	size_t			 len = 0, n, kept, want, hl;

	memset(reason, 'a', lead);
	len = lead;
	while (len + width <= sizeof(reason)) {
		memcpy(reason + len, chars[width - 1], width);
		len += width;
	}
	out[FRAME_MAX_CONTROL] = 0xee;
	n = frame_close_payload(out, 1001, reason, len);
	ck_assert_uint_le(n, FRAME_MAX_CONTROL);
	ck_assert_uint_eq(out[FRAME_MAX_CONTROL], 0xee);
	ck_assert_mem_eq(out, "\x03\xe9", 2);
	kept = n - 2;
	want = lead + (FRAME_MAX_CONTROL - 2 - lead) / width * width;
	ck_assert_uint_eq(kept, want);
	ck_assert_mem_eq(out + 2, reason, kept);
	utf8_init(&st);
	ck_assert_int_eq(utf8_validate(&st, out + 2, kept, NULL), 0);
	ck_assert(utf8_complete(&st));

	hl = frame_encode_header(wire, true, WS_OP_CLOSE, n, key);
	memcpy(wire + hl, out, n);
	frame_mask(wire + hl, n, key, 0);
	frame_reader_init(&r, FRAME_FROM_CLIENT, 0);
	ck_assert_uint_eq(frame_reader_feed(&r, wire, hl + n, &ev), hl + n);
	ck_assert_int_eq(ev.type, FRAME_CONTROL);
	ck_assert_uint_eq(ev.close_code, 1001);
	ck_assert_uint_eq(ev.reason_len, kept);
	ck_assert_mem_eq(ev.reason, reason, kept);
}
END_TEST


/*
 * frame_reader_feed_masked: a relay's chunks come out masked with the
 * new key from their own offset 0, whatever the split; text is still
 * checked, and invalid UTF-8 still fails with 1007.
 */
static const uint8_t frame_remask_key[4] = { 0xde, 0xad, 0xbe, 0xef };

static void
frame_remask_run(uint8_t opcode, const char *plain, size_t len,
    size_t split, bool valid)
{
	static const uint8_t	 cmask[4] = { 0x11, 0x22, 0x33, 0x44 };
	struct frame_reader	 r;
	struct frame_event	 ev;
	uint8_t			 wire[256], got[256];
	size_t			 n, off = 0, used, gotlen = 0, i, end;
	bool			 failed = false;

	ck_assert(len + 6 <= sizeof(wire) && len < 126);
	n = frame_encode_header(wire, true, opcode, len, cmask);
	memcpy(wire + n, plain, len);
	frame_mask(wire + n, len, cmask, 0);
	n += len;
	frame_reader_init(&r, FRAME_FROM_CLIENT, 0);
	while (off < n && !failed) {
		end = off < split && split < n ? split : n;
		used = frame_reader_feed_masked(&r, wire + off, end - off,
		    frame_remask_key, &ev);
		if (ev.type == FRAME_ERROR) {
			ck_assert_uint_eq(ev.close_code, WS_CLOSE_INVALID_DATA);
			failed = true;
		} else if (ev.type == FRAME_DATA) {
			/* Each chunk is masked from its own offset 0. */
			for (i = 0; i < ev.len; i++)
				got[gotlen + i] = ev.data[i] ^
				    frame_remask_key[i % 4];
			gotlen += ev.len;
		}
		off += used;
	}
	ck_assert(failed == !valid);
	if (valid) {
		ck_assert_uint_eq(gotlen, len);
		ck_assert(memcmp(got, plain, len) == 0);
	}
}

START_TEST(test_frame_remask)
{
	static const char	 text[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93";
	static const char	 bad[] = "abc\xc3\x28" "def";
	size_t			 split;

	for (split = 0; split <= sizeof(text) + 6; split++) {
		frame_remask_run(WS_OP_BINARY, text, sizeof(text) - 1, split,
		    true);
		frame_remask_run(WS_OP_TEXT, text, sizeof(text) - 1, split,
		    true);
		frame_remask_run(WS_OP_TEXT, bad, sizeof(bad) - 1, split,
		    false);
	}
}
END_TEST

/*
 * Relays one message the way session_relay.c does: a final frame from a
 * client (masked) or a server, cut at the given payload offsets (cut 0
 * leaves the header alone in the first piece), each piece fed from a
 * heap copy of exactly its size until the reader wants more.  With
 * remask every chunk comes out masked with that key from its own offset
 * 0; the key is taken off here byte by byte, so the output must be the
 * plain payload whichever way the reader combined the two keys.
 * Returns the close code of an error, or 0 with the message in out.
 */
static uint16_t
relay_message(enum frame_role role, uint8_t opcode, const uint8_t *plain,
    size_t len, const size_t *cuts, size_t ncuts, const uint8_t *remask,
    uint8_t *out, size_t *outlen)
{
	static const uint8_t	 ckey[4] = { 0x5a, 0x0f, 0xc3, 0x81 };
	const uint8_t		*key = role == FRAME_FROM_CLIENT ? ckey : NULL;
	struct frame_reader	 r;
	struct frame_event	 ev;
	uint8_t			*wire, *piece;
	size_t			 hl, n, start = 0, end, off, used, i;
	bool			 last = false;

	wire = malloc(FRAME_MAX_HEADER + len);
	QUIET_ASSERT(wire != NULL, "out of memory");
	hl = frame_encode_header(wire, true, opcode, len, key);
	memcpy(wire + hl, plain, len);
	if (key != NULL)
		ref_mask(wire + hl, len, key, 0);
	n = hl + len;
	frame_reader_init(&r, role, 0);
	*outlen = 0;
	for (i = 0; i <= ncuts; i++, start = end) {
		end = i < ncuts ? hl + cuts[i] : n;
		piece = malloc(end - start > 0 ? end - start : 1);
		QUIET_ASSERT(piece != NULL, "out of memory");
		memcpy(piece, wire + start, end - start);
		for (off = 0;; off += used) {
			used = frame_reader_feed_masked(&r, piece + off,
			    end - start - off, remask, &ev);
			if (ev.type == FRAME_NEED_MORE)
				break;
			if (ev.type == FRAME_ERROR) {
				free(piece);
				free(wire);
				return ev.close_code;
			}
			QUIET_ASSERT(ev.type == FRAME_DATA, "event %d",
			    ev.type);
			memcpy(out + *outlen, ev.data, ev.len);
			if (remask != NULL)
				ref_mask(out + *outlen, ev.len, remask, 0);
			*outlen += ev.len;
			last = ev.last;
		}
		free(piece);
	}
	free(wire);
	QUIET_ASSERT(last, "message not finished");
	return 0;
}

static const uint8_t relay_remask_key[4] = { 0x9e, 0x37, 0x79, 0xb9 };

/*
 * Relays plain (len bytes) cut as told from a client and from a server,
 * with and without a new key: a valid message must come through intact,
 * an invalid one fail with 1007.  what names the case in a failure.
 */
static void
relay_expect(uint8_t opcode, const uint8_t *plain, size_t len,
    const size_t *cuts, size_t ncuts, bool valid, const char *what)
{
	static const enum frame_role roles[] = { FRAME_FROM_CLIENT,
				    FRAME_FROM_SERVER };
	static const uint8_t	*remasks[] = { NULL, relay_remask_key };
	uint8_t			*out;
	size_t			 k, m, outlen;
	uint16_t		 code;

	out = malloc(len > 0 ? len : 1);
	QUIET_ASSERT(out != NULL, "out of memory");
	for (k = 0; k < 2; k++) {
		for (m = 0; m < 2; m++) {
			code = relay_message(roles[k], opcode, plain, len,
			    cuts, ncuts, remasks[m], out, &outlen);
			QUIET_ASSERT(valid ? code == 0 && outlen == len &&
			    memcmp(out, plain, len) == 0 :
			    code == WS_CLOSE_INVALID_DATA,
			    "%s, %s, %s: code %u", what, k == 0 ? "client" :
			    "server", m == 0 ? "no new key" : "new key",
			    code);
		}
	}
	free(out);
}

/*
 * Loop index: payload length 0 to 136 (none, one and two 64-byte steps,
 * then words and a tail of every size).  Each message is cut at payload
 * offset 0 to 3, so the second chunk starts at every rotation of the
 * client's key: unmasking and re-masking in one pass must equal
 * unmasking, then masking byte by byte.
 */
START_TEST(test_frame_remask_offsets)
{
	static const uint8_t	 ops[] = { WS_OP_BINARY, WS_OP_TEXT };
	size_t			 len = (size_t)_i, cut, i, o;
	uint8_t			 plain[136];
	char			 what[64];

	for (o = 0; o < 2; o++) {
		for (i = 0; i < len; i++)
			plain[i] = ops[o] == WS_OP_TEXT ?
			    (uint8_t)('A' + i % 26) : (uint8_t)(i * 37 + len);
		for (cut = 0; cut <= 3 && cut <= len; cut++) {
			snprintf(what, sizeof(what), "opcode %u, cut at %zu",
			    ops[o], cut);
			relay_expect(ops[o], plain, len, &cut, 1, true, what);
		}
	}
}
END_TEST

/* Non-ASCII items for text payloads, and whether each is valid there. */
static const struct relay_item {
	const char	*bytes;
	size_t		 len;
	bool		 valid;
} relay_items[] = {
#define ITEM(s, ok)	{ s, sizeof(s) - 1, ok }
	ITEM("\xc3\xa9", true),
	ITEM("\xe2\x82\xac", true),
	ITEM("\xf0\x9f\x98\x80", true),
	ITEM("\xff", false),
	ITEM("\x80", false),
	ITEM("\xed\xa0\x80", false),		/* surrogate */
	ITEM("\xe0\x80\x80", false),		/* overlong */
	ITEM("\xc3", false)			/* cut by ASCII, or by the end */
#undef ITEM
};

#define RELAY_NITEMS	(sizeof(relay_items) / sizeof(relay_items[0]))

/*
 * Loop index: where the first non-ASCII byte sits in a 40-byte text
 * message.  Every item there, whole and cut at every payload offset.
 */
START_TEST(test_frame_text_first_non_ascii)
{
	size_t			 pos = (size_t)_i, it, cut;
	const struct relay_item	*item;
	uint8_t			 plain[40];
	char			 what[64];

	for (it = 0; it < RELAY_NITEMS; it++) {
		item = &relay_items[it];
		if (pos + item->len > sizeof(plain))
			continue;
		memset(plain, 'k', sizeof(plain));
		memcpy(plain + pos, item->bytes, item->len);
		snprintf(what, sizeof(what), "item %zu at %zu whole", it, pos);
		relay_expect(WS_OP_TEXT, plain, sizeof(plain), NULL, 0,
		    item->valid, what);
		for (cut = 0; cut <= sizeof(plain); cut++) {
			snprintf(what, sizeof(what), "item %zu at %zu, cut at "
			    "%zu", it, pos, cut);
			relay_expect(WS_OP_TEXT, plain, sizeof(plain), &cut, 1,
			    item->valid, what);
		}
	}
}
END_TEST

/*
 * Loop index: the item.  Text of several blocks (the reader checks text
 * 2 KiB at a time, in one pass while it stays ASCII): the item goes after
 * long ASCII runs and across block and word boundaries, on plain ASCII
 * and on text with a 2-byte character every 700 bytes (so blocks go back
 * and forth between the one-pass and the checked way), fed whole and cut
 * near the item and the block boundaries.
 */
START_TEST(test_frame_text_blocks)
{
	static const size_t	 at[] = { 31, 32, 33, 63, 64, 65, 100, 2040,
				    2044, 2045, 2046, 2047, 2048, 2049, 2050,
				    2056, 4093, 4094, 4095, 4096, 4097, 4100 };
	const struct relay_item	*item = &relay_items[_i];
	size_t			 len = 5000, p, bg, c, i;
	size_t			 cuts[6];
	uint8_t			*plain;
	char			 what[80];

	plain = malloc(len);
	ck_assert_ptr_nonnull(plain);
	for (p = 0; p < sizeof(at) / sizeof(at[0]); p++) {
		for (bg = 0; bg < 2; bg++) {
			for (i = 0; i < len; i++)
				plain[i] = (uint8_t)('a' + i % 23);
			/* Away from every position in at[]. */
			for (i = 350; bg == 1 && i + 1 < len; i += 700)
				memcpy(plain + i, "\xc3\xa9", 2);
			memcpy(plain + at[p], item->bytes, item->len);
			snprintf(what, sizeof(what), "item at %zu, bg %zu, "
			    "whole", at[p], bg);
			relay_expect(WS_OP_TEXT, plain, len, NULL, 0,
			    item->valid, what);
			cuts[0] = 1;
			cuts[1] = 2047;
			cuts[2] = 2048;
			cuts[3] = 2049;
			cuts[4] = at[p];
			cuts[5] = at[p] + 1;
			for (c = 0; c < 6; c++) {
				snprintf(what, sizeof(what), "item at %zu, bg "
				    "%zu, cut at %zu", at[p], bg, cuts[c]);
				relay_expect(WS_OP_TEXT, plain, len, &cuts[c],
				    1, item->valid, what);
			}
		}
	}
	free(plain);
}
END_TEST

/*
 * A character left open at the end of a block (or of a chunk) must not
 * be finished by continuation bytes after a whole block of ASCII: an
 * ASCII block is only skipped when no sequence is open.
 */
START_TEST(test_frame_text_open_across_ascii)
{
	static const size_t	 leads[] = { 2047, 2046, 1000 };
	size_t			 len = 5000, l, cut;
	uint8_t			*plain;
	char			 what[64];

	plain = malloc(len);
	ck_assert_ptr_nonnull(plain);
	for (l = 0; l < sizeof(leads) / sizeof(leads[0]); l++) {
		memset(plain, 'a', len);
		/* The one byte that would finish it, 2 KiB or more later. */
		plain[leads[l]] = 0xc3;
		plain[4096] = 0xa9;
		snprintf(what, sizeof(what), "lead at %zu whole", leads[l]);
		relay_expect(WS_OP_TEXT, plain, len, NULL, 0, false, what);
		cut = leads[l] + 1;
		snprintf(what, sizeof(what), "lead at %zu, cut after it",
		    leads[l]);
		relay_expect(WS_OP_TEXT, plain, len, &cut, 1, false, what);
	}
	free(plain);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("frame");

	tc = tcase_create("reader");
	tcase_add_loop_test(tc, test_frame_vectors, 0, (int)FRAME_NVECS);
	tcase_add_loop_test(tc, test_frame_lengths, 0,
	    (int)(FRAME_NLENGTHS * 4));
	tcase_add_loop_test(tc, test_frame_control_sizes, 0,
	    FRAME_MAX_CONTROL + 1);
	tcase_add_test(tc, test_frame_data_chunks);
	tcase_add_test(tc, test_frame_unmask_in_place);
	tcase_add_test(tc, test_frame_error_sticks);
	tcase_add_test(tc, test_frame_remask);
	tcase_add_loop_test(tc, test_frame_remask_offsets, 0, 137);
	tcase_add_loop_test(tc, test_frame_text_first_non_ascii, 0, 40);
	tcase_add_loop_test(tc, test_frame_text_blocks, 0,
	    (int)RELAY_NITEMS);
	tcase_add_test(tc, test_frame_text_open_across_ascii);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);

	tc = tcase_create("mask");
	tcase_add_loop_test(tc, test_frame_mask_offsets, 0, 8);
	tcase_add_test(tc, test_frame_mask_pieces);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_loop_test(tc, test_frame_encode_header, 0,
	    (int)(FRAME_NHEADERS * 2));
	tcase_add_test(tc, test_frame_close_code_valid);
	tcase_add_test(tc, test_frame_close_payload_basic);
	tcase_add_loop_test(tc, test_frame_close_payload_truncation, 0, 16);
	suite_add_tcase(s, tc);

	return s;
}
