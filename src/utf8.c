/*
 * utf8 — incremental UTF-8 validator (RFC 3629 §4), for the text
 * messages of RFC 6455 §5.6 and the close reasons of §5.5.1; §8.1 makes
 * invalid UTF-8 fatal to the connection.
 *
 * A lead byte fixes how many continuation bytes follow and which range
 * the first of them may take.  That first range is what rules out the
 * overlong forms (after E0 and F0), the UTF-16 surrogates U+D800..U+DFFF
 * (after ED) and code points above U+10FFFF (after F4); every later
 * continuation byte is 80..BF.  C0, C1 and F5..FF never start a sequence.
 * Those few numbers are the whole state, so checking can stop after any
 * byte and resume with the next chunk or fragment.
 */
#include <string.h>

#include "utf8.h"

/* A high bit in any of the eight bytes of a word: not plain ASCII. */
#define UTF8_HIGH_BITS	0x8080808080808080ULL

/*
 * RFC 3629 §4, UTF8-2 to UTF8-4: which lead bytes open a sequence, how
 * many continuation bytes follow, and the range of the first of them;
 * any byte 80..FF not listed is invalid.  Every later continuation byte
 * is 80..BF.
 */
static inline int
utf8_lead(uint8_t c, uint8_t *need, uint8_t *lo, uint8_t *hi)
{
	uint8_t	 n, l = 0x80, h = 0xbf;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		if (c == 0xe0)
			l = 0xa0;	/* below A0: overlong */
		else if (c == 0xed)
			h = 0x9f;	/* above 9F: surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		if (c == 0xf0)
			l = 0x90;	/* below 90: overlong */
		else if (c == 0xf4)
			h = 0x8f;	/* above 8F: beyond U+10FFFF */
	} else {
		return -1;
	}
	*need = n;
	*lo = l;
	*hi = h;
	return 0;
}

void
utf8_init(struct utf8_state *st)
{
	st->need = 0;
	st->have = 0;
	st->lo = 0x80;
	st->hi = 0xbf;
}

bool
utf8_complete(const struct utf8_state *st)
{
	return st->need == 0;
}

static uint64_t
utf8_load(const uint8_t *p)
{
	uint64_t	 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Returns the offset of the first byte at or after i that is not ASCII,
 * or n.  Text on the wire is mostly ASCII, so 32 bytes are tested at a
 * time, then 8; memcpy keeps the loads legal at any alignment.  Mixed
 * text has many runs of one or two bytes (a space between two words of
 * another script), so the next byte is looked at first.
 */
static size_t
utf8_skip_ascii(const uint8_t *p, size_t i, size_t n)
{
	if (i < n && p[i] >= 0x80)
		return i;
	while (n - i >= 32 && ((utf8_load(p + i) | utf8_load(p + i + 8) |
	    utf8_load(p + i + 16) | utf8_load(p + i + 24)) &
	    UTF8_HIGH_BITS) == 0)
		i += 32;
	for (; n - i >= 8; i += 8) {
		if ((utf8_load(p + i) & UTF8_HIGH_BITS) != 0) {
			/* It is in this word: no need to watch for n. */
			while (p[i] < 0x80)
				i++;
			return i;
		}
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

/*
 * Length of the valid sequence that starts at p (a byte 80..FF) and lies
 * whole within its n bytes, or 0: invalid, or cut by the end of p.
 */
static size_t
utf8_whole(const uint8_t *p, size_t n)
{
	uint8_t	 need, lo, hi;

	if (utf8_lead(p[0], &need, &lo, &hi) == -1 || n <= need)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	if (need >= 2 && (p[2] & 0xc0) != 0x80)
		return 0;
	if (need == 3 && (p[3] & 0xc0) != 0x80)
		return 0;
	return (size_t)need + 1;
}

/* Takes byte c into the state; -1 when it cannot come next. */
static int
utf8_step(struct utf8_state *s, uint8_t c)
{
	if (s->need == 0) {
		if (c < 0x80)
			return 0;
		if (utf8_lead(c, &s->need, &s->lo, &s->hi) == -1)
			return -1;
		s->have = 1;
		return 0;
	}
	if (c < s->lo || c > s->hi)
		return -1;
	s->need--;
	s->have = s->need == 0 ? 0 : s->have + 1;
	/* Only the first continuation byte is narrowed. */
	s->lo = 0x80;
	s->hi = 0xbf;
	return 0;
}

/*
 * Outside a sequence, ASCII runs are skipped by the word and a sequence
 * that lies whole in p is checked at once.  The state machine of
 * utf8_step() takes the rest: a sequence left open by the last chunk,
 * one cut by the end of this one, and invalid bytes, so that the state
 * and the offset it reports are exact.  On failure the state is left as
 * it was before the bad byte; the text is invalid whatever follows, so
 * callers stop there.
 */
int
utf8_validate(struct utf8_state *st, const uint8_t *p, size_t n,
    size_t *bad)
{
	struct utf8_state	 s = *st;
	size_t			 i = 0, len;

	for (; i < n && s.need > 0; i++)
		if (utf8_step(&s, p[i]) == -1)
			goto fail;
	while (i < n) {
		if (p[i] < 0x80)
			i = utf8_skip_ascii(p, i + 1, n);
		else if ((len = utf8_whole(p + i, n - i)) > 0)
			i += len;
		else
			break;
	}
	/*
	 * If anything is left, p[i] opens a sequence that is invalid or cut
	 * by the end of p: byte by byte, for the exact offset or state.
	 */
	for (; i < n; i++)
		if (utf8_step(&s, p[i]) == -1)
			goto fail;
	*st = s;
	return 0;

fail:
	*st = s;
	if (bad != NULL)
		*bad = i;
	return -1;
}
