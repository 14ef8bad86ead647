/*
 * check_utf8 — unit tests for the incremental UTF-8 validator.
 *
 * Vectors run whole, split at every offset and one byte at a time, and
 * must give the same verdict, the same offset of the first bad byte and
 * the same open-sequence count each way.  Exhaustive tests then cover
 * every code point, every overlong form and every pair of first two
 * bytes against a reference written from RFC 3629 §4 independently of
 * the validator's table.  Each piece is fed from its own heap copy of
 * exactly its size, so ASan catches any read past the end (the ASCII fast
 * path reads whole words).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "check_main.h"

/*
 * ck_assert records a mark point (a write to the test runner) on every
 * call, which adds up over millions of cases: the exhaustive loops test
 * quietly and only call into Check to fail.
 */
#define QUIET_ASSERT(cond, ...) do {					\
	if (!(cond))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)

struct utf8_vec {
	const char	*name;
	const char	*in;
	size_t		 len;
	int		 rv;	/* 0: valid so far, -1: invalid */
	size_t		 bad;	/* offset of the first invalid byte */
	uint8_t		 have;	/* valid: bytes of the sequence left open */
};

#define UTF8_OK(name, s, have)	{ name, s, sizeof(s) - 1, 0, 0, have }
#define UTF8_BAD(name, s, bad)	{ name, s, sizeof(s) - 1, -1, bad, 0 }

static const struct utf8_vec utf8_vecs[] = {
	UTF8_OK("empty", "", 0),
	UTF8_OK("ascii", "Hello, world", 0),
	UTF8_OK("ascii nul and del", "a\0b\x7f", 0),
	UTF8_OK("ascii long", "The quick brown fox jumps over the lazy dog", 0),
	UTF8_OK("2-byte min", "\xc2\x80", 0),
	UTF8_OK("2-byte max", "\xdf\xbf", 0),
	UTF8_OK("3-byte min", "\xe0\xa0\x80", 0),
	UTF8_OK("3-byte before surrogates", "\xed\x9f\xbf", 0),
	UTF8_OK("3-byte after surrogates", "\xee\x80\x80", 0),
	UTF8_OK("3-byte max", "\xef\xbf\xbf", 0),
	UTF8_OK("euro sign", "\xe2\x82\xac", 0),
	UTF8_OK("4-byte min", "\xf0\x90\x80\x80", 0),
	UTF8_OK("4-byte max", "\xf4\x8f\xbf\xbf", 0),
	UTF8_OK("4-byte middle plane", "\xf2\x80\x80\x80", 0),
	UTF8_OK("greek kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
	    0),
	UTF8_OK("mixed long", "0123456789\xc3\xa9" "0123456789\xf0\x9f\x98\x80"
	    "0123456789", 0),
	UTF8_OK("bom", "\xef\xbb\xbf" "abc", 0),
	UTF8_OK("truncated 2 of 2", "ab\xc3", 1),
	UTF8_OK("truncated 1 of 3", "\xe2", 1),
	UTF8_OK("truncated 2 of 3", "\xe2\x82", 2),
	UTF8_OK("truncated 3 of 4", "abcdefghij\xf0\x9f\x98", 3),
	UTF8_BAD("lone continuation", "\x80", 0),
	UTF8_BAD("continuation after ascii", "abc\xbf", 3),
	UTF8_BAD("overlong c0 80", "\xc0\x80", 0),
	UTF8_BAD("overlong c1 bf", "\xc1\xbf", 0),
	UTF8_BAD("overlong e0 80 80", "\xe0\x80\x80", 1),
	UTF8_BAD("overlong e0 9f bf", "\xe0\x9f\xbf", 1),
	UTF8_BAD("overlong f0 80 80 80", "\xf0\x80\x80\x80", 1),
	UTF8_BAD("overlong f0 8f bf bf", "\xf0\x8f\xbf\xbf", 1),
	UTF8_BAD("surrogate min", "\xed\xa0\x80", 1),
	UTF8_BAD("surrogate max", "\xed\xbf\xbf", 1),
	UTF8_BAD("surrogate pair", "\xed\xa0\x80\xed\xb0\x80", 1),
	UTF8_BAD("above max f4 90", "\xf4\x90\x80\x80", 1),
	UTF8_BAD("above max f5", "\xf5\x80\x80\x80", 0),
	UTF8_BAD("above max f7", "\xf7\xbf\xbf\xbf", 0),
	UTF8_BAD("5-byte lead f8", "\xf8\x88\x80\x80\x80", 0),
	UTF8_BAD("6-byte lead fc", "\xfc\x84\x80\x80\x80\x80", 0),
	UTF8_BAD("fe", "\xfe", 0),
	UTF8_BAD("ff", "ab\xff", 2),
	UTF8_BAD("2-byte cut by ascii", "\xc3" "A", 1),
	UTF8_BAD("3-byte cut by ascii", "\xe2\x82" "A", 2),
	UTF8_BAD("4-byte cut by lead", "\xf0\x9f\x98\xc3\xa9", 3),
	UTF8_BAD("3-byte too long", "\xe2\x82\xac\xac", 3),
	UTF8_BAD("bad after long ascii", "0123456789abcdef0123\xff" "0123", 20),
	UTF8_BAD("bad after valid multibyte", "\xce\xba\xe1\xbd\xb9\xcf\x83"
	    "\xce\xbc\xce\xb5\xed\xa0\x80", 12)
};

#define UTF8_NVECS	(sizeof(utf8_vecs) / sizeof(utf8_vecs[0]))

/* Validates one piece from a heap copy of exactly n bytes. */
static int
utf8_feed_piece(struct utf8_state *st, const uint8_t *p, size_t n,
    size_t *bad)
{
	uint8_t	*copy;
	int	 rv;

	copy = malloc(n > 0 ? n : 1);
	ck_assert_ptr_nonnull(copy);
	if (n > 0)
		memcpy(copy, p, n);
	rv = utf8_validate(st, copy, n, bad);
	free(copy);
	return rv;
}

/*
 * Feeds in[0..len) cut at the offsets in cuts (ascending, ncuts of them)
 * and returns the verdict; *bad is the offset in the whole input.
 */
static int
utf8_run(struct utf8_state *st, const uint8_t *in, size_t len,
    const size_t *cuts, size_t ncuts, size_t *bad)
{
	size_t	 start = 0, end, i, off;

	utf8_init(st);
	for (i = 0; i <= ncuts; i++) {
		end = i < ncuts ? cuts[i] : len;
		if (utf8_feed_piece(st, in + start, end - start, &off) == -1) {
			*bad = start + off;
			return -1;
		}
		start = end;
	}
	return 0;
}

static void
utf8_expect(const struct utf8_vec *v, const size_t *cuts, size_t ncuts,
    const char *how)
{
	struct utf8_state	 st;
	size_t			 bad = (size_t)-1;
	int			 rv;

	rv = utf8_run(&st, (const uint8_t *)v->in, v->len, cuts, ncuts, &bad);
	ck_assert_msg(rv == v->rv, "%s (%s): returned %d, want %d", v->name,
	    how, rv, v->rv);
	if (rv == -1) {
		ck_assert_msg(bad == v->bad, "%s (%s): bad at %zu, want %zu",
		    v->name, how, bad, v->bad);
		return;
	}
	ck_assert_msg(st.have == v->have, "%s (%s): have %u, want %u",
	    v->name, how, (unsigned)st.have, (unsigned)v->have);
	ck_assert_msg(utf8_complete(&st) == (v->have == 0),
	    "%s (%s): complete is wrong", v->name, how);
}

START_TEST(test_utf8_vectors)
{
	const struct utf8_vec	*v = &utf8_vecs[_i];
	size_t			*cuts;
	size_t			 at, i;

	utf8_expect(v, NULL, 0, "whole");
	for (at = 0; at <= v->len; at++)
		utf8_expect(v, &at, 1, "split");
	cuts = malloc((v->len + 1) * sizeof(*cuts));
	ck_assert_ptr_nonnull(cuts);
	for (i = 0; i < v->len; i++)
		cuts[i] = i + 1;
	utf8_expect(v, cuts, v->len > 0 ? v->len - 1 : 0, "bytes");
	free(cuts);
}
END_TEST

/*
 * Reference from RFC 3629 §4, written as conditions rather than a table:
 * how many continuation bytes lead c announces (-1 when c is not a lead
 * byte) and the range of the first one.
 */
static int
ref_lead(unsigned c, unsigned *lo, unsigned *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c <= 0x7f)
		return 0;
	if (c >= 0xc2 && c <= 0xdf)
		return 1;
	if (c == 0xe0)
		*lo = 0xa0;
	if (c == 0xed)
		*hi = 0x9f;
	if (c >= 0xe0 && c <= 0xef)
		return 2;
	if (c == 0xf0)
		*lo = 0x90;
	if (c == 0xf4)
		*hi = 0x8f;
	if (c >= 0xf0 && c <= 0xf4)
		return 3;
	return -1;
}

/* Every first byte (the loop index) against every second byte. */
START_TEST(test_utf8_first_two_bytes)
{
	struct utf8_state	 st;
	unsigned		 b0 = (unsigned)_i, b1, lo, hi, lo1, hi1;
	uint8_t			 p[2];
	size_t			 bad;
	int			 need, need1, rv;

	need = ref_lead(b0, &lo, &hi);
	for (b1 = 0; b1 < 256; b1++) {
		p[0] = (uint8_t)b0;
		p[1] = (uint8_t)b1;
		bad = 99;
		utf8_init(&st);
		rv = utf8_validate(&st, p, 2, &bad);
		if (need == -1) {
			QUIET_ASSERT(rv == -1 && bad == 0,
			    "%02x %02x: lead accepted", b0, b1);
		} else if (need == 0) {
			/* The second byte starts a sequence of its own. */
			need1 = ref_lead(b1, &lo1, &hi1);
			if (need1 == -1) {
				QUIET_ASSERT(rv == -1 && bad == 1,
				    "%02x %02x: second lead accepted", b0, b1);
			} else {
				QUIET_ASSERT(rv == 0, "%02x %02x: refused",
				    b0, b1);
				QUIET_ASSERT(st.have == (need1 > 0 ? 1 : 0),
				    "%02x %02x: have %u", b0, b1,
				    (unsigned)st.have);
			}
		} else if (b1 < lo || b1 > hi) {
			QUIET_ASSERT(rv == -1 && bad == 1,
			    "%02x %02x: continuation accepted", b0, b1);
		} else {
			QUIET_ASSERT(rv == 0, "%02x %02x: refused", b0, b1);
			QUIET_ASSERT(st.have == (need == 1 ? 0 : 2) &&
			    utf8_complete(&st) == (need == 1),
			    "%02x %02x: have %u", b0, b1, (unsigned)st.have);
		}
	}
}
END_TEST

/* Encodes cp in exactly width bytes, overlong or not; returns width. */
static size_t
ref_encode(uint32_t cp, size_t width, uint8_t *out)
{
	static const uint8_t	 marks[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	size_t			 i;

	if (width == 1) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	for (i = width - 1; i > 0; i--) {
		out[i] = (uint8_t)(0x80 | (cp & 0x3f));
		cp >>= 6;
	}
	out[0] = (uint8_t)(marks[width] | cp);
	return width;
}

static size_t
ref_width(uint32_t cp)
{
	if (cp < 0x80)
		return 1;
	if (cp < 0x800)
		return 2;
	if (cp < 0x10000)
		return 3;
	return 4;
}

/* Every scalar value is accepted; every surrogate refused at byte 1. */
START_TEST(test_utf8_all_code_points)
{
	struct utf8_state	 st;
	uint8_t			 p[4];
	uint32_t		 cp;
	size_t			 n, bad;
	int			 rv;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		n = ref_encode(cp, ref_width(cp), p);
		utf8_init(&st);
		bad = 99;
		rv = utf8_validate(&st, p, n, &bad);
		if (cp >= 0xd800 && cp <= 0xdfff)
			QUIET_ASSERT(rv == -1 && bad == 1,
			    "surrogate U+%04X accepted", (unsigned)cp);
		else
			QUIET_ASSERT(rv == 0 && utf8_complete(&st),
			    "U+%04X refused", (unsigned)cp);
	}
}
END_TEST

/* Every overlong form of every code point is refused where it shows. */
START_TEST(test_utf8_overlong)
{
	struct utf8_state	 st;
	uint8_t			 p[4];
	uint32_t		 cp;
	size_t			 width, bad;

	for (width = 2; width <= 4; width++) {
		for (cp = 0; ref_width(cp) < width; cp++) {
			ref_encode(cp, width, p);
			utf8_init(&st);
			bad = 99;
			/* C0/C1 are never leads; E0 and F0 say so at byte 1. */
			QUIET_ASSERT(utf8_validate(&st, p, width, &bad) == -1 &&
			    bad == (width == 2 ? 0 : 1),
			    "U+%04X in %zu bytes accepted", (unsigned)cp,
			    width);
		}
	}
}
END_TEST

/* Everything from U+110000 up to what 4 bytes can hold is refused. */
START_TEST(test_utf8_above_max)
{
	struct utf8_state	 st;
	uint8_t			 p[4];
	uint32_t		 cp;
	size_t			 bad;

	for (cp = 0x110000; cp <= 0x1fffff; cp++) {
		ref_encode(cp, 4, p);
		utf8_init(&st);
		bad = 99;
		/* F4 fails at its continuation, F5..F7 at once. */
		QUIET_ASSERT(utf8_validate(&st, p, 4, &bad) == -1 &&
		    bad == (p[0] == 0xf4 ? 1 : 0), "U+%06X accepted",
		    (unsigned)cp);
	}
}
END_TEST

/*
 * The word-at-a-time path: ASCII runs of every length at every alignment
 * with one non-ASCII byte (the loop index is its position) that is either
 * invalid or starts a valid character.  Each buffer ends exactly where
 * the input does, so ASan sees any word read past it.
 */
START_TEST(test_utf8_fast_path)
{
	struct utf8_state	 st;
	uint8_t			*buf, *p;
	size_t			 pos = (size_t)_i, align, len, bad;
	int			 rv;

	for (align = 0; align < 8; align++) {
		for (len = pos + 2; len <= 66; len++) {
			buf = malloc(align + len);
			ck_assert_ptr_nonnull(buf);
			p = buf + align;
			memset(p, 'a', len);
			p[pos] = 0xff;
			utf8_init(&st);
			bad = 99;
			rv = utf8_validate(&st, p, len, &bad);
			QUIET_ASSERT(rv == -1 && bad == pos,
			    "align %zu len %zu: rv %d bad %zu", align, len, rv,
			    bad);

			p[pos] = 0xc3;
			p[pos + 1] = 0xa9;
			utf8_init(&st);
			rv = utf8_validate(&st, p, len, NULL);
			QUIET_ASSERT(rv == 0 && utf8_complete(&st),
			    "align %zu len %zu: refused", align, len);
			/* Cut after the lead byte: the sequence stays open. */
			utf8_init(&st);
			rv = utf8_validate(&st, p, pos + 1, NULL);
			QUIET_ASSERT(rv == 0 && st.have == 1,
			    "align %zu len %zu: cut refused", align, len);
			free(buf);
		}
	}
}
END_TEST

/*
 * The byte-at-a-time reference of RFC 3629 §4, from ref_lead(): the
 * verdict, the offset of the first bad byte, and what is left open.
 */
struct ref_result {
	int	 rv;
	size_t	 bad;
	unsigned need;
	unsigned have;
};

static void
ref_validate(const uint8_t *p, size_t n, struct ref_result *res)
{
	unsigned	 lo = 0x80, hi = 0xbf, need = 0, have = 0;
	size_t		 i;
	int		 k;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < n; i++) {
		if (need == 0) {
			if ((k = ref_lead(p[i], &lo, &hi)) == -1)
				break;
			need = (unsigned)k;
			have = k > 0 ? 1 : 0;
			continue;
		}
		if (p[i] < lo || p[i] > hi)
			break;
		need--;
		have = need > 0 ? have + 1 : 0;
		lo = 0x80;
		hi = 0xbf;
	}
	if (i < n) {
		res->rv = -1;
		res->bad = i;
	}
	res->need = need;
	res->have = have;
}

/*
 * Checks p (n bytes) fed in pieces cut at the ascending offsets in cuts
 * against the reference; each piece from a heap copy of exactly its
 * size.  On success the open sequence must match too.
 */
static bool
utf8_matches_ref(const uint8_t *p, size_t n, const size_t *cuts,
    size_t ncuts)
{
	struct utf8_state	 st;
	struct ref_result	 ref;
	size_t			 bad = 0;
	int			 rv;

	ref_validate(p, n, &ref);
	rv = utf8_run(&st, p, n, cuts, ncuts, &bad);
	if (rv != ref.rv)
		return false;
	if (rv == -1)
		return bad == ref.bad;
	return st.need == ref.need && st.have == ref.have;
}

/* What can come after ASCII: valid characters and ways to be invalid. */
static const struct {
	const char	*bytes;
	size_t		 len;
} utf8_items[] = {
#define ITEM(s)	{ s, sizeof(s) - 1 }
	ITEM("\xc3\xa9"),		/* 2 bytes */
	ITEM("\xe2\x82\xac"),		/* 3 bytes */
	ITEM("\xe0\xa0\x80"),		/* 3 bytes, lowest after E0 */
	ITEM("\xed\x9f\xbf"),		/* 3 bytes, highest after ED */
	ITEM("\xf0\x9f\x98\x80"),	/* 4 bytes */
	ITEM("\xf4\x8f\xbf\xbf"),	/* U+10FFFF */
	ITEM("\x80"),			/* lone continuation */
	ITEM("\xbf"),
	ITEM("\xc0\x80"),		/* overlong */
	ITEM("\xc1\xbf"),
	ITEM("\xe0\x9f\xbf"),		/* overlong, caught at byte 1 */
	ITEM("\xf0\x8f\xbf\xbf"),
	ITEM("\xed\xa0\x80"),		/* surrogate */
	ITEM("\xf4\x90\x80\x80"),	/* above U+10FFFF */
	ITEM("\xf5\x80\x80\x80"),
	ITEM("\xff"),
	ITEM("\xc3" "a"),		/* cut by ASCII */
	ITEM("\xe2\x82" "a"),
	ITEM("\xf0\x9f\x98" "a"),
	ITEM("\xe2\x82\xc3\xa9"),	/* cut by a lead byte */
	ITEM("\xf0\x9f\xc3\xa9"),
	ITEM("\xf0\x9f\x98\xf0\x9f\x98\x80"),
	ITEM("\xe2\x82\xac\xac"),	/* one continuation too many */
	ITEM("\xc3"),			/* open at the end */
	ITEM("\xf0\x9f\x98")
#undef ITEM
};

#define UTF8_NITEMS	(sizeof(utf8_items) / sizeof(utf8_items[0]))

/*
 * Loop index: where the first non-ASCII byte goes in a 40-byte buffer of
 * ASCII (the rest ASCII again), for every item and every alignment; the
 * verdict, bad offset and open sequence must be the reference's, whole
 * and cut in two just before, inside and after the item.
 */
START_TEST(test_utf8_first_non_ascii)
{
	struct utf8_state	 st;
	struct ref_result	 ref;
	uint8_t			 in[40], *buf;
	size_t			 pos = (size_t)_i, it, len, align, cut, bad;
	int			 rv;

	for (it = 0; it < UTF8_NITEMS; it++) {
		len = utf8_items[it].len;
		if (pos + len > sizeof(in))
			continue;
		memset(in, 'q', sizeof(in));
		memcpy(in + pos, utf8_items[it].bytes, len);
		ref_validate(in, sizeof(in), &ref);
		for (align = 0; align < 8; align++) {
			buf = malloc(align + sizeof(in));
			ck_assert_ptr_nonnull(buf);
			memcpy(buf + align, in, sizeof(in));
			utf8_init(&st);
			bad = 99;
			rv = utf8_validate(&st, buf + align, sizeof(in), &bad);
			QUIET_ASSERT(rv == ref.rv && (rv == 0 ?
			    st.need == ref.need && st.have == ref.have :
			    bad == ref.bad), "item %zu at %zu, align %zu: "
			    "rv %d bad %zu", it, pos, align, rv, bad);
			free(buf);
		}
		for (cut = pos > 0 ? pos - 1 : 0; cut <= pos + len + 1 &&
		    cut <= sizeof(in); cut++)
			QUIET_ASSERT(utf8_matches_ref(in, sizeof(in), &cut, 1),
			    "item %zu at %zu, cut at %zu", it, pos, cut);
	}
}
END_TEST

/*
 * Loop index: the length of an ASCII run (0 to 199) before each item,
 * then more ASCII, so the word-at-a-time skip ends on the item at every
 * distance from a word boundary; fed whole and cut inside the run.
 */
START_TEST(test_utf8_item_after_ascii)
{
	uint8_t	 in[256];
	size_t	 run = (size_t)_i, it, n, cut;

	for (it = 0; it < UTF8_NITEMS; it++) {
		memset(in, 'z', sizeof(in));
		memcpy(in + run, utf8_items[it].bytes, utf8_items[it].len);
		n = run + utf8_items[it].len + 17;
		QUIET_ASSERT(utf8_matches_ref(in, n, NULL, 0),
		    "item %zu after %zu ascii", it, run);
		/* The item open at the very end. */
		n = run + utf8_items[it].len;
		QUIET_ASSERT(utf8_matches_ref(in, n, NULL, 0),
		    "item %zu ending %zu bytes", it, n);
		cut = run / 2;
		QUIET_ASSERT(utf8_matches_ref(in, n, &cut, 1),
		    "item %zu after %zu ascii, cut at %zu", it, run, cut);
	}
}
END_TEST

/*
 * Text with ASCII runs shorter and longer than a word step and every
 * width of character, cut into two pieces at every offset and into
 * three at every pair of offsets: the same verdict and open sequence as
 * in one piece, for the valid text and with a bad byte put at each
 * position in turn.
 */
START_TEST(test_utf8_split_everywhere)
{
	static const char	 text[] = "ab\xc3\xa9" "cdefghijklmnopqrstuvwxyz"
	    "0123456789ABCDEF\xe2\x82\xac\xf0\x9f\x98\x80" "x\xce\xba\xe1\xbd"
	    "\xb9\xcf\x83\xce\xbc\xce\xb5" "0123456789012345678901234567890123"
	    "\xf4\x8f\xbf\xbf" "end\xe2\x82";
	uint8_t			 in[sizeof(text) - 1];
	size_t			 n = sizeof(in), cuts[2], bad;

	for (bad = 0; bad <= n; bad++) {
		memcpy(in, text, n);
		if (bad < n)
			in[bad] = bad % 2 == 0 ? 0xff : 0x80;
		QUIET_ASSERT(utf8_matches_ref(in, n, NULL, 0), "bad at %zu "
		    "whole", bad);
		for (cuts[0] = 0; cuts[0] <= n; cuts[0]++) {
			QUIET_ASSERT(utf8_matches_ref(in, n, cuts, 1),
			    "bad at %zu, cut at %zu", bad, cuts[0]);
			/* Three pieces are quadratic: the valid text only. */
			if (bad < n)
				continue;
			for (cuts[1] = cuts[0]; cuts[1] <= n; cuts[1]++)
				QUIET_ASSERT(utf8_matches_ref(in, n, cuts, 2),
				    "cut at %zu and %zu", cuts[0], cuts[1]);
		}
	}
}
END_TEST

/* have counts the open sequence byte by byte, need what is missing. */
START_TEST(test_utf8_have_counts)
{
	static const uint8_t	 grin[] = { 0xf0, 0x9f, 0x98, 0x80 };
	struct utf8_state	 st;
	size_t			 i;

	utf8_init(&st);
	ck_assert(utf8_complete(&st));
	ck_assert_uint_eq(st.have, 0);
	for (i = 0; i < sizeof(grin); i++) {
		ck_assert_int_eq(utf8_validate(&st, grin + i, 1, NULL), 0);
		ck_assert_uint_eq(st.have, i + 1 < sizeof(grin) ? i + 1 : 0);
		ck_assert_uint_eq(st.need, sizeof(grin) - 1 - i);
		ck_assert(utf8_complete(&st) == (i + 1 == sizeof(grin)));
	}
}
END_TEST

START_TEST(test_utf8_init_resets)
{
	static const uint8_t	 open[] = { 'a', 0xe2, 0x82 };
	struct utf8_state	 st;

	utf8_init(&st);
	ck_assert_int_eq(utf8_validate(&st, open, sizeof(open), NULL), 0);
	ck_assert(!utf8_complete(&st));
	ck_assert_uint_eq(st.have, 2);
	utf8_init(&st);
	ck_assert(utf8_complete(&st));
	ck_assert_uint_eq(st.have, 0);
	/* A fresh text may not start with the continuation. */
	ck_assert_int_eq(utf8_validate(&st, open + 2, 1, NULL), -1);
}
END_TEST

/* Empty input changes nothing, even with a sequence open. */
START_TEST(test_utf8_empty_input)
{
	static const uint8_t	 lead[] = { 0xe2 };
	struct utf8_state	 st;
	size_t			 bad = 99;

	utf8_init(&st);
	ck_assert_int_eq(utf8_validate(&st, lead, 0, &bad), 0);
	ck_assert(utf8_complete(&st));
	ck_assert_int_eq(utf8_validate(&st, lead, 1, &bad), 0);
	ck_assert_int_eq(utf8_validate(&st, lead, 0, &bad), 0);
	ck_assert_uint_eq(st.have, 1);
	ck_assert_uint_eq(bad, 99);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("utf8");

	tc = tcase_create("vectors");
	tcase_add_loop_test(tc, test_utf8_vectors, 0, (int)UTF8_NVECS);
	suite_add_tcase(s, tc);

	tc = tcase_create("exhaustive");
	tcase_add_loop_test(tc, test_utf8_first_two_bytes, 0, 256);
	tcase_add_test(tc, test_utf8_all_code_points);
	tcase_add_test(tc, test_utf8_overlong);
	tcase_add_test(tc, test_utf8_above_max);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_add_loop_test(tc, test_utf8_fast_path, 0, 64);
	tcase_add_loop_test(tc, test_utf8_first_non_ascii, 0, 40);
	tcase_add_loop_test(tc, test_utf8_item_after_ascii, 0, 200);
	tcase_add_test(tc, test_utf8_split_everywhere);
	tcase_add_test(tc, test_utf8_have_counts);
	tcase_add_test(tc, test_utf8_init_resets);
	tcase_add_test(tc, test_utf8_empty_input);
	suite_add_tcase(s, tc);

	return s;
}
