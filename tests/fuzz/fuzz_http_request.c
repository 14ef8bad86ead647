/*
 * fuzz_http_request — libFuzzer target for http_parse_request().
 *
 * The parser keeps no state between calls: the caller hands it the whole
 * buffer again as bytes arrive, and once a prefix has a verdict every
 * longer prefix has the same one.  So besides the invariants of an OK
 * request (pointers inside the head, head ending with CRLF CRLF, token
 * names, trimmed values, bounds), this checks that the verdict on the
 * input split in two (its first part, then all of it) agrees with the
 * verdict on the whole; that an OK head parses the same from exactly
 * its own bytes and needs more one byte short; and that a smaller
 * max_head changes nothing but a too-large verdict.  Every parse reads
 * a buffer of exactly the bytes given, so ASan sees any read past it.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_http.h"

#define FUZZ_MAX_HEAD	8192

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_req_result {
	enum http_parse_result	 r;
	int			 status;
	const char		*errstr;
	struct http_request	 req;
};

/* Parses a private copy of the first len bytes of data. */
static void
fuzz_req_parse(const uint8_t *data, size_t len, size_t max_head,
    struct fuzz_req_result *out)
{
	char	*copy;

	copy = malloc(len > 0 ? len : 1);
	assert(copy != NULL);
	memcpy(copy, data, len);
	memset(out, 0, sizeof(*out));
	out->r = http_parse_request(copy, len, max_head, &out->req,
	    &out->status, &out->errstr);
	switch (out->r) {
	case HTTP_PARSE_OK:
		fuzz_http_check_head(copy, len, max_head, out->req.head_len);
		assert(out->req.method_len > 0);
		fuzz_http_inside(out->req.method, out->req.method_len, copy,
		    out->req.head_len);
		assert(out->req.method == copy);
		assert(out->req.target_len > 0 && out->req.target[0] == '/');
		fuzz_http_inside(out->req.target, out->req.target_len, copy,
		    out->req.head_len);
		assert(out->req.version_minor >= 0 &&
		    out->req.version_minor <= 9);
		fuzz_http_check_fields(&out->req.fields, copy,
		    out->req.head_len);
		break;
	case HTTP_PARSE_ERROR:
		assert(out->errstr != NULL);
		assert(out->status == 400 || out->status == 431 ||
		    out->status == 505);
		break;
	case HTTP_PARSE_NEED_MORE:
		assert(len < max_head);
		break;
	}
	/* Pointers into copy are not used past this point. */
	free(copy);
}

/* Two verdicts are the same (fields compared by offset and length). */
static void
fuzz_req_same(const struct fuzz_req_result *a,
    const struct fuzz_req_result *b)
{
	assert(a->r == b->r);
	if (a->r == HTTP_PARSE_ERROR) {
		assert(a->status == b->status);
		assert(strcmp(a->errstr, b->errstr) == 0);
	}
	if (a->r == HTTP_PARSE_OK) {
		assert(a->req.head_len == b->req.head_len);
		assert(a->req.method_len == b->req.method_len);
		assert(a->req.target_len == b->req.target_len);
		assert(a->req.target - a->req.method ==
		    b->req.target - b->req.method);
		assert(a->req.version_minor == b->req.version_minor);
		assert(a->req.fields.n == b->req.fields.n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_req_result	 whole, part, again;
	size_t			 k, small;

	fuzz_req_parse(data, size, FUZZ_MAX_HEAD, &whole);

	/* Split in two: the first part alone, then the whole. */
	k = fuzz_http_split(data, size);
	fuzz_req_parse(data, k, FUZZ_MAX_HEAD, &part);
	if (part.r != HTTP_PARSE_NEED_MORE)
		fuzz_req_same(&part, &whole);
	else
		assert(whole.r != HTTP_PARSE_OK || k < whole.req.head_len);

	if (whole.r == HTTP_PARSE_OK) {
		fuzz_req_parse(data, whole.req.head_len, FUZZ_MAX_HEAD,
		    &again);
		fuzz_req_same(&whole, &again);
		fuzz_req_parse(data, whole.req.head_len - 1, FUZZ_MAX_HEAD,
		    &again);
		assert(again.r == HTTP_PARSE_NEED_MORE);
	}

	/* A smaller limit: the same verdict if reached within it, else 431. */
	small = size / 2 + 1;
	fuzz_req_parse(data, size, small, &again);
	if (whole.r == HTTP_PARSE_OK && whole.req.head_len <= small)
		fuzz_req_same(&whole, &again);
	else if (again.r == HTTP_PARSE_OK)
		assert(0);
	else if (again.r == HTTP_PARSE_ERROR && again.status != 431)
		fuzz_req_same(&whole, &again);
	return 0;
}
