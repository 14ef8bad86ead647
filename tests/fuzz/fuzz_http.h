/*
 * fuzz_http.h — checks shared by fuzz_http_request.c and
 * fuzz_http_response.c: what every parsed head must look like.
 */
#ifndef WSGATE_FUZZ_HTTP_H
#define WSGATE_FUZZ_HTTP_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "http.h"

/* RFC 9110 §5.6.2 tchar. */
static bool
fuzz_http_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* p .. p + n lies inside buf .. buf + len. */
static void
fuzz_http_inside(const char *p, size_t n, const char *buf, size_t len)
{
	assert(p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

/* The fields of an OK head of head_len bytes at buf. */
static void
fuzz_http_check_fields(const struct http_fields *f, const char *buf,
    size_t head_len)
{
	const struct http_header *h;
	size_t			 i, j;

	assert(f->n <= HTTP_MAX_HEADERS);
	for (i = 0; i < f->n; i++) {
		h = &f->h[i];
		assert(h->name_len > 0);
		fuzz_http_inside(h->name, h->name_len, buf, head_len);
		fuzz_http_inside(h->value, h->value_len, buf, head_len);
		for (j = 0; j < h->name_len; j++)
			assert(fuzz_http_tchar((unsigned char)h->name[j]));
		/* The name is followed directly by ':'. */
		assert(h->name[h->name_len] == ':');
		for (j = 0; j < h->value_len; j++)
			assert(h->value[j] != '\r' && h->value[j] != '\n' &&
			    h->value[j] != '\0');
		if (h->value_len > 0) {
			assert(h->value[0] != ' ' && h->value[0] != '\t');
			assert(h->value[h->value_len - 1] != ' ' &&
			    h->value[h->value_len - 1] != '\t');
		}
	}
	/* Names are looked up case-insensitively. */
	assert((http_find_header(f, "Upgrade", NULL) == NULL) ==
	    (http_find_header(f, "uPGRADE", NULL) == NULL));
}

/* An OK head ends with the blank line and stays within its bounds. */
static void
fuzz_http_check_head(const char *buf, size_t len, size_t max_head,
    size_t head_len)
{
	assert(head_len >= 4 && head_len <= len && head_len <= max_head);
	assert(memcmp(buf + head_len - 4, "\r\n\r\n", 4) == 0);
}

/* Where to split: a position from 0 to size taken from the input. */
static size_t
fuzz_http_split(const unsigned char *data, size_t size)
{
	if (size == 0)
		return 0;
	return (size_t)data[size - 1] * (size + 1) / 256;
}

#endif
