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

struct utf8_lead {
	uint8_t	first;		/* range of lead bytes */
	uint8_t	last;
	uint8_t	need;		/* continuation bytes that follow */
	uint8_t	lo;		/* range of the first continuation byte */
	uint8_t	hi;
};

/* RFC 3629 §4, UTF8-2 to UTF8-4; any byte 80..FF not listed is invalid. */
static const struct utf8_lead utf8_leads[] = {
	{ 0xc2, 0xdf, 1, 0x80, 0xbf },
	{ 0xe0, 0xe0, 2, 0xa0, 0xbf },	/* below A0: overlong */
	{ 0xe1, 0xec, 2, 0x80, 0xbf },
	{ 0xed, 0xed, 2, 0x80, 0x9f },	/* above 9F: surrogates */
	{ 0xee, 0xef, 2, 0x80, 0xbf },
	{ 0xf0, 0xf0, 3, 0x90, 0xbf },	/* below 90: overlong */
	{ 0xf1, 0xf3, 3, 0x80, 0xbf },
	{ 0xf4, 0xf4, 3, 0x80, 0x8f }	/* above 8F: beyond U+10FFFF */
};

#define UTF8_NLEADS	(sizeof(utf8_leads) / sizeof(utf8_leads[0]))

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

/*
 * Returns the offset of the first byte at or after i that is not ASCII,
 * or n.  Text on the wire is mostly ASCII, so whole words are tested
 * first; memcpy keeps the loads legal at any alignment.
 */
static size_t
utf8_skip_ascii(const uint8_t *p, size_t i, size_t n)
{
	uint64_t	 w;

	while (n - i >= sizeof(w)) {
		memcpy(&w, p + i, sizeof(w));
		if ((w & UTF8_HIGH_BITS) != 0)
			break;
		i += sizeof(w);
	}
	while (i < n && p[i] < 0x80)
		i++;
	return i;
}

/* Opens a sequence at lead byte c (80..FF); -1 when c cannot lead. */
static int
utf8_start(struct utf8_state *st, uint8_t c)
{
	const struct utf8_lead	*l;
	size_t			 i;

	for (i = 0; i < UTF8_NLEADS; i++) {
		l = &utf8_leads[i];
		if (c < l->first || c > l->last)
			continue;
		st->need = l->need;
		st->have = 1;
		st->lo = l->lo;
		st->hi = l->hi;
		return 0;
	}
	return -1;
}

/*
 * On failure the state is left as it was before the bad byte; the text is
 * invalid whatever follows, so callers stop there.
 */
int
utf8_validate(struct utf8_state *st, const uint8_t *p, size_t n,
    size_t *bad)
{
	struct utf8_state	 s = *st;
	size_t			 i = 0;

	while (i < n) {
		if (s.need == 0) {
			i = utf8_skip_ascii(p, i, n);
			if (i == n)
				break;
			if (utf8_start(&s, p[i]) == -1)
				goto fail;
		} else {
			if (p[i] < s.lo || p[i] > s.hi)
				goto fail;
			s.need--;
			s.have = s.need == 0 ? 0 : s.have + 1;
			/* Only the first continuation byte is narrowed. */
			s.lo = 0x80;
			s.hi = 0xbf;
		}
		i++;
	}
	*st = s;
	return 0;

fail:
	*st = s;
	if (bad != NULL)
		*bad = i;
	return -1;
}
