/*
 * frame — WebSocket frame codec (RFC 6455 §5).
 *
 * The reader is a push parser with three phases: collect the header
 * (2 to 14 bytes, §5.2) in r->hdr, then hand out the payload, then start
 * over.  Rules that the first two header bytes decide (masking, RSV bits,
 * opcode, control frame shape, fragment sequencing) are checked as soon as
 * those two bytes are in; the length rules once the whole header is.  Data
 * payload is unmasked in place and given to the caller chunk by chunk, so
 * a message of any size costs no copy; text is UTF-8 checked as it goes.
 * Control payloads are at most 125 bytes (§5.5) and are always gathered
 * in r->ctl, so a control event never points into a buffer the caller
 * may already have drained.
 *
 * Every call yields exactly one event, which keeps the caller's loop and
 * its backpressure decisions simple.
 */
#include <string.h>

#include "frame.h"

/* First header byte (§5.2). */
#define FRAME_FIN		0x80
#define FRAME_RSV		0x70
#define FRAME_OPCODE		0x0f
/* Second header byte. */
#define FRAME_MASKED		0x80
#define FRAME_LEN7		0x7f
#define FRAME_LEN_16BIT		126
#define FRAME_LEN_64BIT		127

static bool
frame_is_control(uint8_t opcode)
{
	/* §5.5: control opcodes have the most significant bit set. */
	return (opcode & 0x08) != 0;
}

void
frame_reader_init(struct frame_reader *r, enum frame_role role,
    uint64_t max_message)
{
	memset(r, 0, sizeof(*r));
	r->role = role;
	r->max_message = max_message;
	r->phase = FRAME_READ_HEADER;
	utf8_init(&r->utf8);
}

/* Fails the reader for good; returns -1 for the caller to pass on. */
static int
frame_fail(struct frame_reader *r, struct frame_event *ev, uint16_t code,
    const char *reason)
{
	r->phase = FRAME_READ_FAILED;
	r->error_code = code;
	memset(ev, 0, sizeof(*ev));
	r->error = reason;
	ev->type = FRAME_ERROR;
	ev->close_code = code;
	ev->reason = reason;
	ev->reason_len = strlen(reason);
	return -1;
}

/* Checks what the first two header bytes alone decide. */
static int
frame_check_start(struct frame_reader *r, struct frame_event *ev)
{
	uint8_t	 b0 = r->hdr[0], b1 = r->hdr[1];
	uint8_t	 opcode = b0 & FRAME_OPCODE;
	bool	 masked = (b1 & FRAME_MASKED) != 0;

	/* §5.1: a client masks every frame, a server masks none. */
	if (r->role == FRAME_FROM_CLIENT && !masked)
		return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
		    "unmasked client frame");
	if (r->role == FRAME_FROM_SERVER && masked)
		return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
		    "masked server frame");
	/* §5.2: RSV1-3 mean an extension, and wsgate negotiates none. */
	if ((b0 & FRAME_RSV) != 0)
		return frame_fail(r, ev, WS_CLOSE_PROTOCOL, "reserved bit set");
	switch (opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		/* §5.2: 3-7 and B-F are reserved. */
		return frame_fail(r, ev, WS_CLOSE_PROTOCOL, "unknown opcode");
	}
	if (frame_is_control(opcode)) {
		/* §5.5: never fragmented, payload of 125 bytes or less. */
		if ((b0 & FRAME_FIN) == 0)
			return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
			    "fragmented control frame");
		if ((b1 & FRAME_LEN7) > FRAME_MAX_CONTROL)
			return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
			    "control frame too long");
	} else if (opcode == WS_OP_CONT) {
		/* §5.4: continuations only follow a non-final data frame. */
		if (!r->in_message)
			return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
			    "continuation without a message");
	} else if (r->in_message) {
		/* §5.4: fragments of two messages never interleave. */
		return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
		    "data frame inside a fragmented message");
	}
	return 0;
}

/* Length of the whole header, from its second byte (§5.2). */
static size_t
frame_header_size(uint8_t b1)
{
	size_t	 n = 2;

	if ((b1 & FRAME_LEN7) == FRAME_LEN_16BIT)
		n += 2;
	else if ((b1 & FRAME_LEN7) == FRAME_LEN_64BIT)
		n += 8;
	if ((b1 & FRAME_MASKED) != 0)
		n += 4;
	return n;
}

/* Takes in the complete header in r->hdr and enters the payload phase. */
static int
frame_begin(struct frame_reader *r, struct frame_event *ev)
{
	const uint8_t	*h = r->hdr;
	uint64_t	 len = h[1] & FRAME_LEN7;
	size_t		 i = 2, k;

	/*
	 * §5.2 says the minimal number of bytes MUST be used for the length
	 * but gives the receiver no rule; like most servers we accept a
	 * longer form (say 5 in 16 bits): the length means the same, and a
	 * peer sending it is clumsy, not hostile.
	 */
	if (len == FRAME_LEN_16BIT) {
		len = (uint64_t)h[2] << 8 | h[3];
		i = 4;
	} else if (len == FRAME_LEN_64BIT) {
		len = 0;
		for (k = 0; k < 8; k++)
			len = len << 8 | h[2 + k];
		i = 10;
		/* §5.2: the most significant bit MUST be 0. */
		if ((len >> 63) != 0)
			return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
			    "frame length top bit set");
	}

	r->fin = (h[0] & FRAME_FIN) != 0;
	r->opcode = h[0] & FRAME_OPCODE;
	r->masked = (h[1] & FRAME_MASKED) != 0;
	if (r->masked)
		memcpy(r->mask, h + i, sizeof(r->mask));
	r->remaining = len;
	r->offset = 0;
	r->ctl_len = 0;
	r->hdr_len = 0;
	r->phase = FRAME_READ_PAYLOAD;

	if (frame_is_control(r->opcode))
		return 0;
	if (r->opcode != WS_OP_CONT) {
		r->in_message = true;
		r->msg_opcode = r->opcode;
		r->msg_len = 0;
		utf8_init(&r->utf8);
	}
	/*
	 * The header announces the size, so refuse now rather than after
	 * buffering or relaying bytes that will be refused anyway.  msg_len
	 * never exceeds max_message, so the subtraction cannot wrap.
	 */
	if (r->max_message != 0 && len > r->max_message - r->msg_len)
		return frame_fail(r, ev, WS_CLOSE_TOO_BIG, "message too big");
	r->msg_len += len;
	return 0;
}

/*
 * Collects header bytes from p (n bytes, *used of them taken).  Returns 1
 * with the header complete, 0 with FRAME_NEED_MORE or -1 with
 * FRAME_ERROR in *ev.
 */
static int
frame_read_header(struct frame_reader *r, const uint8_t *p, size_t n,
    size_t *used, struct frame_event *ev)
{
	size_t	 want, take;

	*used = 0;
	if (r->hdr_len < 2) {
		take = 2 - r->hdr_len;
		if (take > n)
			take = n;
		memcpy(r->hdr + r->hdr_len, p, take);
		r->hdr_len += take;
		*used = take;
		if (r->hdr_len < 2) {
			ev->type = FRAME_NEED_MORE;
			return 0;
		}
		if (frame_check_start(r, ev) == -1)
			return -1;
	}
	want = frame_header_size(r->hdr[1]);
	take = want - r->hdr_len;
	if (take > n - *used)
		take = n - *used;
	memcpy(r->hdr + r->hdr_len, p + *used, take);
	r->hdr_len += take;
	*used += take;
	if (r->hdr_len < want) {
		ev->type = FRAME_NEED_MORE;
		return 0;
	}
	return frame_begin(r, ev) == -1 ? -1 : 1;
}

/* Hands out the next chunk of a data frame from p; returns bytes taken. */
/*
 * Unmasks a payload chunk and checks the UTF-8 of text; with remask, the
 * chunk is left masked with that key instead (from offset 0), in the
 * same pass: binary with the combined key, text block by block so that
 * each byte is unmasked, checked and masked again while in cache.
 * Returns -1 at invalid UTF-8 (§8.1: fail at the first invalid byte, and
 * a final fragment must not end inside a character).
 */
static int
frame_unmask_checked(struct frame_reader *r, uint8_t *p, size_t n,
    const uint8_t *remask)
{
	static const uint8_t	 zero[4];
	const uint8_t		*key = r->masked ? r->mask : zero;
	uint8_t			 both[4];
	size_t			 off, block;
	int			 i;

	if (r->msg_opcode != WS_OP_TEXT) {
		if (remask == NULL) {
			if (r->masked)
				frame_mask(p, n, key, r->offset);
			return 0;
		}
		for (i = 0; i < 4; i++)
			both[i] = key[(r->offset + (uint64_t)i) % 4] ^ remask[i];
		frame_mask(p, n, both, 0);
		return 0;
	}
	for (off = 0; off < n; off += block) {
		block = n - off < 4096 ? n - off : 4096;
		if (r->masked)
			frame_mask(p + off, block, key, r->offset + off);
		if (utf8_validate(&r->utf8, p + off, block, NULL) == -1)
			return -1;
		if (remask != NULL)
			frame_mask(p + off, block, remask, off);
	}
	if (r->fin && n == r->remaining && !utf8_complete(&r->utf8))
		return -1;
	return 0;
}

static size_t
frame_read_data(struct frame_reader *r, uint8_t *p, size_t n,
    const uint8_t *remask, struct frame_event *ev)
{
	size_t	 take = n;

	if (r->remaining < take)
		take = (size_t)r->remaining;
	if (take == 0 && r->remaining != 0) {
		ev->type = FRAME_NEED_MORE;
		return 0;
	}
	if (frame_unmask_checked(r, p, take, remask) == -1) {
		frame_fail(r, ev, WS_CLOSE_INVALID_DATA,
		    "invalid utf-8 in text message");
		return take;
	}

	ev->type = FRAME_DATA;
	ev->opcode = r->msg_opcode;
	ev->data = p;
	ev->len = take;
	ev->first = r->opcode != WS_OP_CONT && r->offset == 0;
	r->offset += take;
	r->remaining -= take;
	if (r->remaining != 0)
		return take;

	r->phase = FRAME_READ_HEADER;
	if (r->fin) {
		r->in_message = false;
		ev->last = true;
	}
	return take;
}

/* §5.5.1: an optional 2-byte code, then an optional UTF-8 reason. */
static int
frame_parse_close(struct frame_reader *r, struct frame_event *ev)
{
	struct utf8_state	 st;
	unsigned		 code;

	if (r->ctl_len == 0) {
		ev->close_code = WS_CLOSE_NO_STATUS;
		ev->reason = "";
		ev->reason_len = 0;
		return 0;
	}
	if (r->ctl_len == 1)
		return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
		    "close payload of 1 byte");
	code = (unsigned)r->ctl[0] << 8 | r->ctl[1];
	if (!frame_close_code_valid(code))
		return frame_fail(r, ev, WS_CLOSE_PROTOCOL,
		    "invalid close code");
	utf8_init(&st);
	if (utf8_validate(&st, r->ctl + 2, r->ctl_len - 2, NULL) == -1 ||
	    !utf8_complete(&st))
		return frame_fail(r, ev, WS_CLOSE_INVALID_DATA,
		    "invalid utf-8 in close reason");
	ev->close_code = (uint16_t)code;
	ev->reason = (const char *)(r->ctl + 2);
	ev->reason_len = r->ctl_len - 2;
	return 0;
}

/* Gathers a control payload from p; returns bytes taken. */
static size_t
frame_read_control(struct frame_reader *r, const uint8_t *p, size_t n,
    struct frame_event *ev)
{
	size_t	 take = n;

	if (r->remaining < take)
		take = (size_t)r->remaining;
	memcpy(r->ctl + r->ctl_len, p, take);
	if (r->masked)
		frame_mask(r->ctl + r->ctl_len, take, r->mask, r->offset);
	r->ctl_len += take;
	r->offset += take;
	r->remaining -= take;
	if (r->remaining != 0) {
		ev->type = FRAME_NEED_MORE;
		return take;
	}

	r->phase = FRAME_READ_HEADER;
	ev->type = FRAME_CONTROL;
	ev->opcode = r->opcode;
	ev->data = r->ctl;
	ev->len = r->ctl_len;
	if (r->opcode == WS_OP_CLOSE)
		frame_parse_close(r, ev);
	return take;
}

size_t
frame_reader_feed_masked(struct frame_reader *r, uint8_t *buf, size_t len,
    const uint8_t *remask, struct frame_event *ev)
{
	size_t	 used = 0, n;

	memset(ev, 0, sizeof(*ev));
	if (r->phase == FRAME_READ_FAILED) {
		ev->type = FRAME_ERROR;
		ev->close_code = r->error_code;
		ev->reason = r->error;
		ev->reason_len = strlen(r->error);
		return 0;
	}
	/*
	 * Between calls the reader always waits for bytes: a header that
	 * completes with nothing left to read yields its event at once.
	 * This also keeps NULL + 0 away from the pointer arithmetic below.
	 */
	if (len == 0) {
		ev->type = FRAME_NEED_MORE;
		return 0;
	}
	if (r->phase == FRAME_READ_HEADER) {
		if (frame_read_header(r, buf, len, &used, ev) != 1)
			return used;
	}
	if (frame_is_control(r->opcode))
		n = frame_read_control(r, buf + used, len - used, ev);
	else
		n = frame_read_data(r, buf + used, len - used, remask, ev);
	return used + n;
}

size_t
frame_reader_feed(struct frame_reader *r, uint8_t *buf, size_t len,
    struct frame_event *ev)
{
	return frame_reader_feed_masked(r, buf, len, NULL, ev);
}

size_t
frame_encode_header(uint8_t *out, bool fin, uint8_t opcode, uint64_t len,
    const uint8_t mask[4])
{
	uint8_t	 masked = mask != NULL ? FRAME_MASKED : 0;
	size_t	 n, k;

	out[0] = (fin ? FRAME_FIN : 0) | (opcode & FRAME_OPCODE);
	/* §5.2: the minimal length encoding. */
	if (len < FRAME_LEN_16BIT) {
		out[1] = masked | (uint8_t)len;
		n = 2;
	} else if (len <= 0xffff) {
		out[1] = masked | FRAME_LEN_16BIT;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] = masked | FRAME_LEN_64BIT;
		for (k = 0; k < 8; k++)
			out[2 + k] = (uint8_t)(len >> (56 - 8 * k));
		n = 10;
	}
	if (mask != NULL) {
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

/*
 * §5.3: octet i of the payload is XORed with mask[i % 4].  The bulk goes
 * eight bytes at a time against the key repeated and rotated to where the
 * first aligned word starts in the payload; single bytes before that word
 * (to reach alignment) and after the last one are done one by one.
 */
void
frame_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
	uint8_t		 key[8];
	uint64_t	 w, v;
	size_t		 i = 0, k;

	while (i < n && ((uintptr_t)(p + i) & (sizeof(w) - 1)) != 0) {
		p[i] ^= mask[(offset + i) & 3];
		i++;
	}
	if (n - i >= sizeof(w)) {
		for (k = 0; k < sizeof(key); k++)
			key[k] = mask[(offset + i + k) & 3];
		memcpy(&w, key, sizeof(w));
		/* Steps of 8 keep the rotation: 8 is a multiple of 4. */
		for (; n - i >= sizeof(w); i += sizeof(w)) {
			memcpy(&v, p + i, sizeof(v));
			v ^= w;
			memcpy(p + i, &v, sizeof(v));
		}
	}
	for (; i < n; i++)
		p[i] ^= mask[(offset + i) & 3];
}

/*
 * §7.4.1 defines 1000-1003 and 1007-1011, and IANA registered 1012-1014
 * since; 1004 is reserved and 1005, 1006 and 1015 MUST NOT be sent.
 * §7.4.2: 0-999 and 1016-2999 are reserved, 3000-3999 are for libraries
 * and frameworks, 4000-4999 for private use, nothing above.
 */
bool
frame_close_code_valid(unsigned code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999);
}

size_t
frame_close_payload(uint8_t *out, uint16_t code, const char *reason,
    size_t reason_len)
{
	size_t	 room = FRAME_MAX_CONTROL - 2;

	/* §7.1.5: 1005 stands for "no code", so the body stays empty. */
	if (code == WS_CLOSE_NO_STATUS)
		return 0;
	out[0] = (uint8_t)(code >> 8);
	out[1] = (uint8_t)code;
	if (reason_len > room) {
		/*
		 * §5.5.1: the reason is UTF-8.  If the byte just past the
		 * cut continues a sequence, back up to that sequence's lead
		 * byte so the whole character goes.
		 */
		reason_len = room;
		while (reason_len > 0 &&
		    ((uint8_t)reason[reason_len] & 0xc0) == 0x80)
			reason_len--;
	}
	if (reason_len > 0)
		memcpy(out + 2, reason, reason_len);
	return 2 + reason_len;
}
