/*
 * frame — WebSocket frame codec (RFC 6455 §5).
 *
 * The reader is an incremental push parser for one direction of one
 * connection: it takes bytes as they arrive, in chunks of any size, and
 * yields one event per call: a chunk of unmasked message payload, a whole
 * control frame, or a protocol error with the close code to send (§7.4.1).
 * Payload is unmasked in place in the caller's buffer and never copied;
 * only header bytes and control payloads (at most 14 and 125 bytes) are
 * kept in the reader when a chunk ends inside them.  It enforces every
 * rule of the frame table in DESIGN.md: masking by role, RSV bits, opcodes,
 * control frame size and fragmentation, continuation sequencing, the
 * 64-bit length top bit, close payload and code validity, UTF-8 of text
 * messages and close reasons, and the message size limit.
 *
 * The writer side is a handful of pure encoders.  Pure: no I/O.
 */
#ifndef WSGATE_FRAME_H
#define WSGATE_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "utf8.h"

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa
};

/* RFC 6455 §7.4.1 status codes used by wsgate. */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005,	/* never sent: "no code in the frame" */
	WS_CLOSE_ABNORMAL = 1006,	/* never sent: "no close frame" */
	WS_CLOSE_INVALID_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011
};

#define FRAME_MAX_HEADER	14
#define FRAME_MAX_CONTROL	125

/* Who sends the frames a reader parses: decides the masking rule (§5.1). */
enum frame_role {
	FRAME_FROM_CLIENT,	/* every frame must be masked */
	FRAME_FROM_SERVER	/* no frame may be masked */
};

enum frame_event_type {
	FRAME_NEED_MORE,	/* everything given was consumed; feed more */
	FRAME_DATA,		/* a chunk of a text or binary message */
	FRAME_CONTROL,		/* a whole close, ping or pong frame */
	FRAME_ERROR		/* protocol violation: fail with close_code */
};

struct frame_event {
	enum frame_event_type type;
	uint8_t		 opcode;	/* DATA: TEXT/BINARY of the message;
					   CONTROL: CLOSE, PING or PONG */
	uint8_t		*data;		/* DATA: unmasked chunk, inside the
					   caller's buffer; CONTROL: whole
					   payload, inside the reader */
	size_t		 len;
	bool		 first;		/* DATA: first chunk of the message */
	bool		 last;		/* DATA: last chunk of the message */
	uint16_t	 close_code;	/* CONTROL close: the peer's code, or
					   1005 when the frame had none;
					   ERROR: the code to send */
	const char	*reason;	/* CONTROL close: the peer's reason
					   (reason_len bytes, valid UTF-8);
					   ERROR: static text, NUL-ended */
	size_t		 reason_len;
};

enum frame_reader_phase {
	FRAME_READ_HEADER,
	FRAME_READ_PAYLOAD,
	FRAME_READ_FAILED	/* sticky after an error */
};

/* Reader state of one direction; plain value, no resources to free. */
struct frame_reader {
	enum frame_role	 role;
	uint64_t	 max_message;	/* 0: no limit */
	enum frame_reader_phase phase;

	/* The frame being read. */
	uint8_t		 hdr[FRAME_MAX_HEADER];
	size_t		 hdr_len;
	bool		 fin;
	uint8_t		 opcode;
	bool		 masked;
	uint8_t		 mask[4];
	uint64_t	 remaining;	/* payload bytes still to come */
	uint64_t	 offset;	/* payload bytes already seen */

	/* Control payload collected when it arrives split. */
	uint8_t		 ctl[FRAME_MAX_CONTROL];
	size_t		 ctl_len;

	/* The message being read (data frames only). */
	bool		 in_message;
	uint8_t		 msg_opcode;
	uint64_t	 msg_len;
	struct utf8_state utf8;

	/* The verdict, given again by every call once the reader failed. */
	uint16_t	 error_code;
	const char	*error;
};

void	frame_reader_init(struct frame_reader *r, enum frame_role role,
	    uint64_t max_message);

/*
 * Consumes bytes from buf (at most len) and describes one event in *ev;
 * returns the number of bytes consumed.  Payload bytes are unmasked in
 * place.  FRAME_NEED_MORE always consumes all of len.  After FRAME_ERROR
 * the reader stays failed.  Call again with the rest of the buffer until
 * FRAME_NEED_MORE.  A DATA event may have len 0 (an empty frame).
 */
size_t	frame_reader_feed(struct frame_reader *r, uint8_t *buf, size_t len,
	    struct frame_event *ev);

/*
 * The same, for a relay that re-masks (RFC 6455 §5.3, §10.3): a DATA
 * event's chunk is left masked with remask (4 bytes, from offset 0 at
 * ev->data) instead of plain, in the same pass as the unmasking.
 * Control payloads are still given plain.
 */
size_t	frame_reader_feed_masked(struct frame_reader *r, uint8_t *buf,
	    size_t len, const uint8_t *remask, struct frame_event *ev);

/*
 * Writes a frame header into out (FRAME_MAX_HEADER bytes) and returns its
 * length.  mask NULL means unmasked (server to client).
 */
size_t	frame_encode_header(uint8_t *out, bool fin, uint8_t opcode,
	    uint64_t len, const uint8_t mask[4]);

/*
 * XORs n bytes with the masking key; offset is the position of p[0] in the
 * frame payload (§5.3: octet i uses mask[i % 4]).
 */
void	frame_mask(uint8_t *p, size_t n, const uint8_t mask[4],
	    uint64_t offset);

/* True for a code an endpoint may send in a close frame (§7.4). */
bool	frame_close_code_valid(unsigned code);

/*
 * Builds a close payload (code, then reason cut to fit 125 bytes at a
 * UTF-8 boundary) in out (FRAME_MAX_CONTROL bytes); returns its length.
 * code 1005 gives an empty payload.
 */
size_t	frame_close_payload(uint8_t *out, uint16_t code, const char *reason,
	    size_t reason_len);

#endif
