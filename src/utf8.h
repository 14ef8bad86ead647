/*
 * utf8 — incremental UTF-8 validator (RFC 3629, as RFC 6455 §5.6 and
 * §8.1 require for text messages and close reasons).
 *
 * The state survives between calls, so a message can be checked chunk by
 * chunk and across fragments; validation fails at the first byte that
 * cannot start or continue a well-formed sequence (overlong forms,
 * surrogates U+D800..U+DFFF and code points above U+10FFFF included).
 * Pure: no I/O, no allocation.
 */
#ifndef WSGATE_UTF8_H
#define WSGATE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct utf8_state {
	uint8_t	need;		/* continuation bytes still expected */
	uint8_t	have;		/* bytes of the open sequence seen so far */
	uint8_t	lo;		/* bounds of the next continuation byte */
	uint8_t	hi;
};

/* Starts a new text (no open sequence). */
void	utf8_init(struct utf8_state *st);

/*
 * Feeds n bytes.  Returns 0 when every byte is valid so far (a sequence
 * may still be open at the end), -1 at the first invalid byte; *bad, when
 * not NULL, receives its offset in p.
 */
int	utf8_validate(struct utf8_state *st, const uint8_t *p, size_t n,
	    size_t *bad);

/* True when no sequence is open: the text fed so far is complete. */
bool	utf8_complete(const struct utf8_state *st);

#endif
