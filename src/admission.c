/*
 * admission — connection limits shared by the workers.
 *
 * The process's count is one atomic counter.  Per-address state lives
 * in a hash table under one mutex, taken twice in a connection's life
 * (admitted, gone): an entry per client address (IPv4) or /64 (IPv6)
 * with its open connections and its token bucket.  An entry goes when
 * it has no connection and its bucket is full again, found either then
 * or by a sweep of a few buckets on every admission, so the table holds
 * only addresses that are connected or were just refused or busy.
 *
 * The table is bounded: past ADMISSION_MAX_IDLE addresses beyond the
 * connected ones, a new address is admitted without per-address limits
 * (max_connections still holds) and a warning says so: turning everyone
 * new away because an attacker owns many addresses would be worse.
 *
 * Buckets count micro-tokens, so that rates of a few per second refill
 * smoothly without floating point.
 */
#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission.h"
#include "entropy.h"
#include "log.h"

#define ADMISSION_BUCKETS	65536		/* hash buckets, a power of 2 */
#define ADMISSION_MAX_IDLE	65536		/* entries with no connection */
#define ADMISSION_SWEEP		4		/* buckets looked at per call */
#define ADMISSION_TOKEN		1000000ULL	/* micro-tokens in a token */
#define ADMISSION_WARN_EVERY	60000		/* ms between table warnings */

struct admission_entry {
	struct admission_entry	*next;
	uint8_t			 key[17];	/* family, then the address */
	uint64_t		 conns;
	uint64_t		 tokens;	/* micro-tokens */
	uint64_t		 refilled;	/* ms, when tokens was right */
	uint64_t		 full_at;	/* ms, the bucket full again */
};

static pthread_mutex_t		 admission_lock = PTHREAD_MUTEX_INITIALIZER;
static struct admission_entry	**admission_table;
static uint64_t			 admission_seed[2];
static uint64_t			 admission_entries;
static size_t			 admission_cursor;	/* of the sweep */
static uint64_t			 admission_warned;	/* ms */
static atomic_uint_fast64_t	 admission_admitted;

uint64_t
admission_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The key of a client: IPv4 (an IPv4-mapped IPv6 address too) or the
 * /64 of an IPv6 address.  False for other families (not counted).
 */
static bool
admission_key(const struct sockaddr *sa, uint8_t key[17])
{
	static const uint8_t	 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				    0xff, 0xff };
	const uint8_t		*a;

	memset(key, 0, 17);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
		key[0] = 4;
		memcpy(key + 1, a + 12, 4);
	} else {
		key[0] = 6;
		memcpy(key + 1, a, 8);
	}
	return true;
}

/* Seeded, so that nobody can choose addresses that share a bucket. */
static size_t
admission_hash(const uint8_t key[17])
{
	uint64_t	w0, w1, h;

	memcpy(&w0, key + 1, 8);
	memcpy(&w1, key + 9, 8);
	h = (w0 ^ admission_seed[0] ^ key[0]) * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	h = (h ^ w1 ^ admission_seed[1]) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h & (ADMISSION_BUCKETS - 1);
}

static bool
admission_table_ready(void)
{
	if (admission_table != NULL)
		return true;
	if ((admission_table = calloc(ADMISSION_BUCKETS,
	    sizeof(*admission_table))) == NULL) {
		log_warn("admission: calloc");
		return false;
	}
	entropy_bytes(admission_seed, sizeof(admission_seed));
	return true;
}

/* Tops the bucket up for the time gone by, up to the burst. */
static void
admission_refill(struct admission_entry *e, const struct config_limits *l,
    uint64_t now)
{
	uint64_t	cap = l->handshake_burst * ADMISSION_TOKEN;
	uint64_t	ms = now > e->refilled ? now - e->refilled : 0;

	e->refilled = now;
	if (l->handshake_rate == 0 || e->tokens >= cap) {
		e->tokens = cap;
		return;
	}
	/* rate tokens a second is rate * 1000 micro-tokens a ms. */
	if (ms >= (cap - e->tokens) / (l->handshake_rate * 1000) + 1)
		e->tokens = cap;
	else
		e->tokens += ms * l->handshake_rate * 1000;
	if (e->tokens > cap)
		e->tokens = cap;
}

/* When the bucket is full again: an entry without connections may go. */
static void
admission_note_full_at(struct admission_entry *e,
    const struct config_limits *l, uint64_t now)
{
	uint64_t	cap = l->handshake_burst * ADMISSION_TOKEN;

	e->full_at = now;
	if (l->handshake_rate != 0 && e->tokens < cap)
		e->full_at += (cap - e->tokens + l->handshake_rate * 1000 - 1) /
		    (l->handshake_rate * 1000);
}

static struct admission_entry *
admission_find(const uint8_t key[17], size_t h)
{
	struct admission_entry	*e;

	for (e = admission_table[h]; e != NULL; e = e->next)
		if (memcmp(e->key, key, sizeof(e->key)) == 0)
			return e;
	return NULL;
}

/* Frees the entries of bucket h that nothing needs any more. */
static void
admission_sweep_bucket(size_t h, uint64_t now)
{
	struct admission_entry	**ep = &admission_table[h], *e;

	while ((e = *ep) != NULL) {
		if (e->conns == 0 && now >= e->full_at) {
			*ep = e->next;
			free(e);
			admission_entries--;
			continue;
		}
		ep = &e->next;
	}
}

static void
admission_sweep(uint64_t now)
{
	size_t	i;

	for (i = 0; i < ADMISSION_SWEEP; i++) {
		admission_sweep_bucket(admission_cursor, now);
		admission_cursor = (admission_cursor + 1) &
		    (ADMISSION_BUCKETS - 1);
	}
}

/* A new entry, or NULL when the table is full (or out of memory). */
static struct admission_entry *
admission_insert(const uint8_t key[17], size_t h,
    const struct config_limits *l, uint64_t now)
{
	struct admission_entry	*e;

	if (admission_entries >= atomic_load(&admission_admitted) +
	    ADMISSION_MAX_IDLE || (e = calloc(1, sizeof(*e))) == NULL) {
		if (admission_warned == 0 ||
		    now - admission_warned >= ADMISSION_WARN_EVERY) {
			admission_warned = now;
			log_warnx("admission: %llu client addresses tracked: "
			    "new ones are not limited per address for now",
			    (unsigned long long)admission_entries);
		}
		return NULL;
	}
	memcpy(e->key, key, sizeof(e->key));
	e->tokens = l->handshake_burst * ADMISSION_TOKEN;
	e->refilled = now;
	e->next = admission_table[h];
	admission_table[h] = e;
	admission_entries++;
	return e;
}

/* The per-address checks, under the lock. */
static enum admission_verdict
admission_check_address(const uint8_t key[17], const struct config_limits *l,
    uint64_t now, struct admission_entry **out, unsigned *retry_after)
{
	size_t			 h = admission_hash(key);
	struct admission_entry	*e;

	*out = NULL;
	admission_sweep(now);
	if ((e = admission_find(key, h)) == NULL &&
	    (e = admission_insert(key, h, l, now)) == NULL)
		return ADMISSION_OK;
	if (l->max_connections_per_ip != 0 &&
	    e->conns >= l->max_connections_per_ip)
		return ADMISSION_IP_FULL;
	admission_refill(e, l, now);
	if (l->handshake_rate != 0) {
		if (e->tokens < ADMISSION_TOKEN) {
			uint64_t	per_s = l->handshake_rate *
					    ADMISSION_TOKEN;

			*retry_after = (unsigned)((ADMISSION_TOKEN - e->tokens +
			    per_s - 1) / per_s);
			admission_note_full_at(e, l, now);
			return ADMISSION_RATE;
		}
		e->tokens -= ADMISSION_TOKEN;
	}
	admission_note_full_at(e, l, now);
	e->conns++;
	*out = e;
	return ADMISSION_OK;
}

enum admission_verdict
admission_enter(const struct sockaddr *sa, bool per_ip,
    const struct config_limits *l, uint64_t now_ms,
    struct admission_ticket *t, unsigned *retry_after)
{
	enum admission_verdict	 v = ADMISSION_OK;
	struct admission_entry	*e = NULL;
	uint8_t			 key[17];

	memset(t, 0, sizeof(*t));
	*retry_after = 0;
	if (atomic_fetch_add(&admission_admitted, 1) >= l->max_connections) {
		atomic_fetch_sub(&admission_admitted, 1);
		return ADMISSION_FULL;
	}
	if (per_ip && (l->max_connections_per_ip != 0 ||
	    l->handshake_rate != 0) && admission_key(sa, key)) {
		pthread_mutex_lock(&admission_lock);
		if (admission_table_ready())
			v = admission_check_address(key, l, now_ms, &e,
			    retry_after);
		pthread_mutex_unlock(&admission_lock);
	}
	if (v != ADMISSION_OK) {
		atomic_fetch_sub(&admission_admitted, 1);
		return v;
	}
	t->entry = e;
	t->admitted = true;
	return ADMISSION_OK;
}

void
admission_leave(struct admission_ticket *t, uint64_t now_ms)
{
	struct admission_entry	*e = t->entry;

	if (e != NULL) {
		pthread_mutex_lock(&admission_lock);
		if (--e->conns == 0 && now_ms >= e->full_at)
			admission_sweep_bucket(admission_hash(e->key), now_ms);
		pthread_mutex_unlock(&admission_lock);
	}
	if (t->admitted)
		atomic_fetch_sub(&admission_admitted, 1);
	memset(t, 0, sizeof(*t));
}

uint64_t
admission_count(void)
{
	return atomic_load(&admission_admitted);
}

uint64_t
admission_addresses(void)
{
	uint64_t	n;

	pthread_mutex_lock(&admission_lock);
	n = admission_entries;
	pthread_mutex_unlock(&admission_lock);
	return n;
}
