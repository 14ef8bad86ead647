/*
 * entropy — buffered RAND_bytes().
 *
 * The pool is per thread, so event-loop threads never share it or lock.
 * A failing DRBG is a broken invariant (the process cannot mask frames
 * safely any more), hence fatal.
 */
#include <string.h>

#include <openssl/rand.h>

#include "entropy.h"
#include "log.h"

#define ENTROPY_POOL	4096

static _Thread_local unsigned char	entropy_pool[ENTROPY_POOL];
static _Thread_local size_t		entropy_left;

void
entropy_bytes(void *buf, size_t n)
{
	unsigned char	*out = buf;
	size_t		 take;

	while (n > 0) {
		if (entropy_left == 0) {
			if (RAND_bytes(entropy_pool, ENTROPY_POOL) != 1)
				fatalx("RAND_bytes failed");
			entropy_left = ENTROPY_POOL;
		}
		take = n < entropy_left ? n : entropy_left;
		/* Handed out once; not wiped: every use (masking keys,
		 * handshake keys, ping tokens) puts them on the wire. */
		memcpy(out, entropy_pool + ENTROPY_POOL - entropy_left, take);
		entropy_left -= take;
		out += take;
		n -= take;
	}
}
