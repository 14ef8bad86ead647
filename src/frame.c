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
 *
 * The relay calls the reader once per frame for small messages and runs
 * every payload byte through it for large ones, so both ends are kept
 * short: a header that lies whole in the caller's buffer is parsed there
 * (only a header cut by the end of a read is gathered in r->hdr), each
 * event is written once, and masking, re-masking and the ASCII check of
 * text go a word at a time.
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

/*
 * Events are written whole, once, by compound literal: every field a type
 * does not use reads as zero, without clearing the event first.
 */
static void
frame_event_need_more(struct frame_event *ev)
{
	*ev = (struct frame_event){ .type = FRAME_NEED_MORE };
}

/* The verdict of a failed reader. */
static void
frame_event_error(const struct frame_reader *r, struct frame_event *ev)
{
	*ev = (struct frame_event){
		.type = FRAME_ERROR,
		.close_code = r->error_code,
		.reason = r->error,
		.reason_len = strlen(r->error)
	};
}

/* Fails the reader for good; returns -1 for the caller to pass on. */
static int
frame_fail(struct frame_reader *r, struct frame_event *ev, uint16_t code,
    const char *reason)
{
	r->phase = FRAME_READ_FAILED;
	r->error_code = code;
	r->error = reason;
	frame_event_error(r, ev);
	return -1;
}

/* Checks what the first two header bytes alone decide. */
static inline int
frame_check_start(struct frame_reader *r, uint8_t b0, uint8_t b1,
    struct frame_event *ev)
{
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

/* Takes in the complete header h and enters the payload phase. */
static inline int
frame_begin(struct frame_reader *r, const uint8_t *h, struct frame_event *ev)
{
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
		/* Binary messages never look at the UTF-8 state. */
		if (r->opcode == WS_OP_TEXT)
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

	/* The usual case: the whole header is in p, so read it there. */
	if (r->hdr_len == 0 && n >= 2 && (want = frame_header_size(p[1])) <=
	    n) {
		*used = 2;
		if (frame_check_start(r, p[0], p[1], ev) == -1)
			return -1;
		*used = want;
		return frame_begin(r, p, ev) == -1 ? -1 : 1;
	}

	*used = 0;
	if (r->hdr_len < 2) {
		take = 2 - r->hdr_len;
		if (take > n)
			take = n;
		memcpy(r->hdr + r->hdr_len, p, take);
		r->hdr_len += take;
		*used = take;
		if (r->hdr_len < 2) {
			frame_event_need_more(ev);
			return 0;
		}
		if (frame_check_start(r, r->hdr[0], r->hdr[1], ev) == -1)
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
		frame_event_need_more(ev);
		return 0;
	}
	return frame_begin(r, r->hdr, ev) == -1 ? -1 : 1;
}

/*
 * Masking (§5.3) works on 8-byte key patterns: byte j of the pattern, in
 * memory order, goes with payload bytes j, j + 8, j + 16 and so on from
 * where the pattern starts.  Eight is a multiple of four, so one pattern
 * serves a whole chunk, and two keys combine into one by XOR.  Words are
 * moved with memcpy, which keeps any alignment and byte order legal and
 * lets the compiler use vector registers for the 64-byte steps.
 */
#define FRAME_WORD		sizeof(uint64_t)
#define FRAME_STEP		(8 * FRAME_WORD)
/* Bits that are 0 in every byte of ASCII text. */
#define FRAME_HIGH_BITS		0x8080808080808080ULL

/*
 * Text is unmasked, checked and masked again a block at a time, so each
 * byte is still in cache for the next pass.  A multiple of FRAME_WORD,
 * so that a pattern stays in step from block to block.
 */
#define FRAME_TEXT_BLOCK	2048

/* The pattern of key for payload starting at offset. */
static uint64_t
frame_key_pattern(const uint8_t key[4], uint64_t offset)
{
	uint8_t		 rep[12];
	uint64_t	 w;

	memcpy(rep, key, 4);
	memcpy(rep + 4, key, 4);
	memcpy(rep + 8, key, 4);
	memcpy(&w, rep + (offset & 3), sizeof(w));
	return w;
}

static uint64_t
frame_load(const uint8_t *p)
{
	uint64_t	 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
frame_store(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* XORs n bytes with pattern w; a zero pattern changes nothing. */
static void
frame_xor(uint8_t *p, size_t n, uint64_t w)
{
	uint8_t		 k[FRAME_WORD];
	size_t		 i = 0;

	if (w == 0)
		return;
	for (; n - i >= FRAME_STEP; i += FRAME_STEP) {
		frame_store(p + i, frame_load(p + i) ^ w);
		frame_store(p + i + 8, frame_load(p + i + 8) ^ w);
		frame_store(p + i + 16, frame_load(p + i + 16) ^ w);
		frame_store(p + i + 24, frame_load(p + i + 24) ^ w);
		frame_store(p + i + 32, frame_load(p + i + 32) ^ w);
		frame_store(p + i + 40, frame_load(p + i + 40) ^ w);
		frame_store(p + i + 48, frame_load(p + i + 48) ^ w);
		frame_store(p + i + 56, frame_load(p + i + 56) ^ w);
	}
	for (; n - i >= FRAME_WORD; i += FRAME_WORD)
		frame_store(p + i, frame_load(p + i) ^ w);
	/* i is a multiple of 8 here, so the pattern starts over. */
	memcpy(k, &w, sizeof(k));
	for (; i < n; i++)
		p[i] ^= k[i % FRAME_WORD];
}

/*
 * XORs n bytes with pattern w, notes whether the result is all ASCII,
 * then XORs it with pattern rw: unmasking, the ASCII check of text and
 * re-masking in one pass.  Returns true when every byte was ASCII.
 */
static bool
frame_xor_ascii(uint8_t *p, size_t n, uint64_t w, uint64_t rw)
{
	uint64_t	 a, b, c, d, e, f, g, h;
	uint64_t	 acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
	uint8_t		 k[FRAME_WORD], rk[FRAME_WORD], acc8 = 0, v;
	size_t		 i = 0;

	/* Four accumulators: independent lanes the compiler can vectorise. */
	for (; n - i >= FRAME_STEP; i += FRAME_STEP) {
		a = frame_load(p + i) ^ w;
		b = frame_load(p + i + 8) ^ w;
		c = frame_load(p + i + 16) ^ w;
		d = frame_load(p + i + 24) ^ w;
		e = frame_load(p + i + 32) ^ w;
		f = frame_load(p + i + 40) ^ w;
		g = frame_load(p + i + 48) ^ w;
		h = frame_load(p + i + 56) ^ w;
		acc0 |= a | e;
		acc1 |= b | f;
		acc2 |= c | g;
		acc3 |= d | h;
		frame_store(p + i, a ^ rw);
		frame_store(p + i + 8, b ^ rw);
		frame_store(p + i + 16, c ^ rw);
		frame_store(p + i + 24, d ^ rw);
		frame_store(p + i + 32, e ^ rw);
		frame_store(p + i + 40, f ^ rw);
		frame_store(p + i + 48, g ^ rw);
		frame_store(p + i + 56, h ^ rw);
	}
	for (; n - i >= FRAME_WORD; i += FRAME_WORD) {
		a = frame_load(p + i) ^ w;
		acc0 |= a;
		frame_store(p + i, a ^ rw);
	}
	memcpy(k, &w, sizeof(k));
	memcpy(rk, &rw, sizeof(rk));
	for (; i < n; i++) {
		v = p[i] ^ k[i % FRAME_WORD];
		acc8 |= v;
		p[i] = v ^ rk[i % FRAME_WORD];
	}
	return ((acc0 | acc1 | acc2 | acc3) & FRAME_HIGH_BITS) == 0 &&
	    (acc8 & 0x80) == 0;
}

/*
 * Text from p (n bytes), which lies masked with pattern w and is to be
 * left masked with pattern rw; -1 at invalid UTF-8.  While the blocks are
 * ASCII one pass does everything, and ASCII with no sequence open needs
 * no validator.  A block that is not ASCII is made plain again for the
 * validator, and the next one is taken in separate passes until a block
 * is ASCII again, so mixed text does not pay for guessing wrong twice.
 */
static int
frame_text_chunk(struct utf8_state *st, uint8_t *p, size_t n, uint64_t w,
    uint64_t rw)
{
	uint8_t	*q;
	size_t	 off, block;
	bool	 ascii, fused = true;

	if (w == 0 && rw == 0)
		return utf8_validate(st, p, n, NULL);
	for (off = 0; off < n; off += block) {
		block = n - off < FRAME_TEXT_BLOCK ? n - off :
		    FRAME_TEXT_BLOCK;
		q = p + off;
		ascii = frame_xor_ascii(q, block, w, fused ? rw : 0);
		if (ascii && utf8_complete(st)) {
			if (!fused)
				frame_xor(q, block, rw);
			fused = true;
			continue;
		}
		if (fused)
			frame_xor(q, block, rw);	/* plain again */
		if (utf8_validate(st, q, block, NULL) == -1)
			return -1;
		frame_xor(q, block, rw);
		fused = ascii;
	}
	return 0;
}

/*
 * Unmasks a payload chunk and checks the UTF-8 of text; with remask, the
 * chunk is left masked with that key instead (from offset 0), in the
 * same pass: binary with the combined key, text as frame_text_chunk()
 * says.  Returns -1 at invalid UTF-8 (§8.1: fail at the first invalid
 * byte, and a final fragment must not end inside a character).
 */
static int
frame_unmask_checked(struct frame_reader *r, uint8_t *p, size_t n,
    const uint8_t *remask)
{
	uint64_t	 w = 0, rw = 0;

	if (r->masked)
		w = frame_key_pattern(r->mask, r->offset);
	if (remask != NULL)
		rw = frame_key_pattern(remask, 0);
	if (r->msg_opcode != WS_OP_TEXT) {
		frame_xor(p, n, w ^ rw);
		return 0;
	}
	if (frame_text_chunk(&r->utf8, p, n, w, rw) == -1)
		return -1;
	if (r->fin && n == r->remaining && !utf8_complete(&r->utf8))
		return -1;
	return 0;
}

/* Hands out the next chunk of a data frame from p; returns bytes taken. */
static size_t
frame_read_data(struct frame_reader *r, uint8_t *p, size_t n,
    const uint8_t *remask, struct frame_event *ev)
{
	size_t	 take = n;
	bool	 first, last;

	if (r->remaining < take)
		take = (size_t)r->remaining;
	if (take == 0 && r->remaining != 0) {
		frame_event_need_more(ev);
		return 0;
	}
	if (frame_unmask_checked(r, p, take, remask) == -1) {
		frame_fail(r, ev, WS_CLOSE_INVALID_DATA,
		    "invalid utf-8 in text message");
		return take;
	}

	first = r->opcode != WS_OP_CONT && r->offset == 0;
	r->offset += take;
	r->remaining -= take;
	last = r->remaining == 0 && r->fin;
	if (r->remaining == 0) {
		r->phase = FRAME_READ_HEADER;
		if (r->fin)
			r->in_message = false;
	}
	*ev = (struct frame_event){
		.type = FRAME_DATA,
		.opcode = r->msg_opcode,
		.data = p,
		.len = take,
		.first = first,
		.last = last
	};
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
		frame_event_need_more(ev);
		return take;
	}

	r->phase = FRAME_READ_HEADER;
	*ev = (struct frame_event){
		.type = FRAME_CONTROL,
		.opcode = r->opcode,
		.data = r->ctl,
		.len = r->ctl_len
	};
	if (r->opcode == WS_OP_CLOSE)
		frame_parse_close(r, ev);
	return take;
}

size_t
frame_reader_feed_masked(struct frame_reader *r, uint8_t *buf, size_t len,
    const uint8_t *remask, struct frame_event *ev)
{
	size_t	 used = 0, n;

	if (r->phase == FRAME_READ_FAILED) {
		frame_event_error(r, ev);
		return 0;
	}
	/*
	 * Between calls the reader always waits for bytes: a header that
	 * completes with nothing left to read yields its event at once.
	 * This also keeps NULL + 0 away from the pointer arithmetic below.
	 */
	if (len == 0) {
		frame_event_need_more(ev);
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

/* §5.3: octet i of the payload is XORed with mask[i % 4]. */
void
frame_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
	frame_xor(p, n, frame_key_pattern(mask, offset));
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
