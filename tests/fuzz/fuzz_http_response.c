/*
 * fuzz_http_response — libFuzzer target for http_parse_response(), the
 * parser of a WebSocket backend's answer.
 *
 * The same checks as fuzz_http_request: invariants of an OK response
 * (status 100-599, reason and fields inside the head, CRLF CRLF at its
 * end), the verdict on the input split in two agreeing with the verdict
 * on the whole, an OK head parsing the same from exactly its own bytes,
 * and a smaller max_head changing nothing but a too-large verdict.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_http.h"

#define FUZZ_MAX_HEAD	8192

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_resp_result {
	enum http_parse_result	 r;
	const char		*errstr;
	size_t			 reason_off;
	struct http_response	 resp;
};

/* Parses a private copy of the first len bytes of data. */
static void
fuzz_resp_parse(const uint8_t *data, size_t len, size_t max_head,
    struct fuzz_resp_result *out)
{
	char	*copy;
	size_t	 i;

	copy = malloc(len > 0 ? len : 1);
	assert(copy != NULL);
	memcpy(copy, data, len);
	memset(out, 0, sizeof(*out));
	out->r = http_parse_response(copy, len, max_head, &out->resp,
	    &out->errstr);
	switch (out->r) {
	case HTTP_PARSE_OK:
		fuzz_http_check_head(copy, len, max_head, out->resp.head_len);
		assert(memcmp(copy, "HTTP/1.", 7) == 0);
		assert(out->resp.version_minor >= 0 &&
		    out->resp.version_minor <= 9);
		assert(out->resp.status >= 100 && out->resp.status <= 599);
		if (out->resp.reason_len > 0) {
			fuzz_http_inside(out->resp.reason,
			    out->resp.reason_len, copy, out->resp.head_len);
			for (i = 0; i < out->resp.reason_len; i++)
				assert(out->resp.reason[i] != '\r' &&
				    out->resp.reason[i] != '\n');
			out->reason_off = (size_t)(out->resp.reason - copy);
		}
		fuzz_http_check_fields(&out->resp.fields, copy,
		    out->resp.head_len);
		break;
	case HTTP_PARSE_ERROR:
		assert(out->errstr != NULL);
		break;
	case HTTP_PARSE_NEED_MORE:
		assert(len < max_head);
		break;
	}
	free(copy);
}

static void
fuzz_resp_same(const struct fuzz_resp_result *a,
    const struct fuzz_resp_result *b)
{
	assert(a->r == b->r);
	if (a->r == HTTP_PARSE_ERROR)
		assert(strcmp(a->errstr, b->errstr) == 0);
	if (a->r == HTTP_PARSE_OK) {
		assert(a->resp.head_len == b->resp.head_len);
		assert(a->resp.status == b->resp.status);
		assert(a->resp.version_minor == b->resp.version_minor);
		assert(a->resp.reason_len == b->resp.reason_len);
		assert(a->reason_off == b->reason_off);
		assert(a->resp.fields.n == b->resp.fields.n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_resp_result	 whole, part, again;
	size_t			 k, small;

	fuzz_resp_parse(data, size, FUZZ_MAX_HEAD, &whole);

	k = fuzz_http_split(data, size);
	fuzz_resp_parse(data, k, FUZZ_MAX_HEAD, &part);
	if (part.r != HTTP_PARSE_NEED_MORE)
		fuzz_resp_same(&part, &whole);
	else
		assert(whole.r != HTTP_PARSE_OK || k < whole.resp.head_len);

	if (whole.r == HTTP_PARSE_OK) {
		fuzz_resp_parse(data, whole.resp.head_len, FUZZ_MAX_HEAD,
		    &again);
		fuzz_resp_same(&whole, &again);
		fuzz_resp_parse(data, whole.resp.head_len - 1, FUZZ_MAX_HEAD,
		    &again);
		assert(again.r == HTTP_PARSE_NEED_MORE);
	}

	small = size / 2 + 1;
	fuzz_resp_parse(data, size, small, &again);
	if (whole.r == HTTP_PARSE_OK && whole.resp.head_len <= small)
		fuzz_resp_same(&whole, &again);
	else
		assert(again.r != HTTP_PARSE_OK);
	return 0;
}
