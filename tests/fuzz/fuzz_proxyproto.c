/*
 * fuzz_proxyproto — libFuzzer target for the PROXY protocol parser.
 *
 * For every accept mode it checks what the listener will rely on: an
 * error has a reason; OK takes 0 < len <= size bytes, every shorter
 * prefix of them needs more, and those len bytes alone parse the same;
 * a header with addresses survives a trip through both writers.  Each
 * parse reads from a buffer of exactly the bytes given, so ASan sees any
 * read past the end.
 *
 *   clang -fsanitize=fuzzer,address -Isrc tests/fuzz/fuzz_proxyproto.c \
 *	src/proxyproto.c -o fuzz_proxyproto
 */
#include <sys/socket.h>

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Parses a private copy of the first len bytes of data. */
static enum proxyproto_result
fuzz_proxyproto_parse(const uint8_t *data, size_t len,
    enum proxyproto_version accept, struct proxyproto_header *h)
{
	enum proxyproto_result	 r;
	const char		*errstr = NULL;
	uint8_t			*copy;

	copy = malloc(len > 0 ? len : 1);
	assert(copy != NULL);
	memcpy(copy, data, len);
	r = proxyproto_parse(copy, len, accept, h, &errstr);
	free(copy);
	assert(r != PROXYPROTO_ERROR || errstr != NULL);
	return r;
}

static void
fuzz_proxyproto_same(const struct proxyproto_header *a,
    const struct proxyproto_header *b)
{
	assert(a->len == b->len && a->local == b->local);
	assert(a->srclen == b->srclen && a->dstlen == b->dstlen);
	assert(memcmp(&a->src, &b->src, a->srclen) == 0);
	assert(memcmp(&a->dst, &b->dst, a->dstlen) == 0);
}

/* The writers' output parses back to the same addresses. */
static void
fuzz_proxyproto_round_trip(const struct proxyproto_header *h)
{
	struct proxyproto_header back;
	char			 line[PROXYPROTO_FORMAT_MAX];
	uint8_t			 bin[PROXYPROTO_FORMAT_MAX];
	const struct sockaddr	*src, *dst;
	size_t			 n;

	src = (const struct sockaddr *)&h->src;
	dst = (const struct sockaddr *)&h->dst;
	n = proxyproto_format_v1(line, sizeof(line), src, dst);
	assert(n > 0);
	assert(fuzz_proxyproto_parse((const uint8_t *)line, n,
	    PROXYPROTO_V1, &back) == PROXYPROTO_OK);
	assert(back.len == n && !back.local);
	assert(memcmp(&back.src, &h->src, h->srclen) == 0);
	assert(memcmp(&back.dst, &h->dst, h->dstlen) == 0);

	n = proxyproto_format_v2(bin, sizeof(bin), src, dst);
	assert(n > 0);
	assert(fuzz_proxyproto_parse(bin, n, PROXYPROTO_V2, &back) ==
	    PROXYPROTO_OK);
	assert(back.len == n && !back.local);
	assert(memcmp(&back.src, &h->src, h->srclen) == 0);
	assert(memcmp(&back.dst, &h->dst, h->dstlen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum proxyproto_version modes[] = {
		PROXYPROTO_V1, PROXYPROTO_V2, PROXYPROTO_AUTO
	};
	struct proxyproto_header h, again;
	size_t			 i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (fuzz_proxyproto_parse(data, size, modes[i], &h) !=
		    PROXYPROTO_OK)
			continue;
		assert(h.len > 0 && h.len <= size);
		assert(fuzz_proxyproto_parse(data, h.len, modes[i], &again) ==
		    PROXYPROTO_OK);
		fuzz_proxyproto_same(&h, &again);
		assert(fuzz_proxyproto_parse(data, h.len - 1, modes[i],
		    &again) == PROXYPROTO_NEED_MORE);
		if (modes[i] != PROXYPROTO_AUTO) {
			assert(fuzz_proxyproto_parse(data, size,
			    PROXYPROTO_AUTO, &again) == PROXYPROTO_OK);
			fuzz_proxyproto_same(&h, &again);
		}
		if (!h.local)
			fuzz_proxyproto_round_trip(&h);
	}
	return 0;
}
