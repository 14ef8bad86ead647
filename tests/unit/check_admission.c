/*
 * check_admission — unit tests of the connection limits: max_connections
 * over every address, max_connections_per_ip, the handshake token bucket
 * (burst, refill, Retry-After), IPv6 clients counted by /64 and IPv4-
 * mapped ones as IPv4, trusted proxies not counted per address, and
 * entries that go once nothing needs them.  Time is passed in, so the
 * bucket is tested to the millisecond.  Each test runs in its own
 * process (Check forks): the module's state starts empty.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "admission.h"
#include "check_main.h"

static struct sockaddr_storage
admission_test_addr(const char *s)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return ss;
	}
	ck_assert_msg(inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1, "%s", s);
	sin6->sin6_family = AF_INET6;
	return ss;
}

static struct config_limits
admission_test_limits(uint64_t max, uint64_t per_ip, uint64_t rate,
    uint64_t burst)
{
	struct config_limits	l;

	memset(&l, 0, sizeof(l));
	l.max_connections = max;
	l.max_connections_per_ip = per_ip;
	l.handshake_rate = rate;
	l.handshake_burst = burst;
	return l;
}

/* One admission of addr at now: its verdict; *t is what it holds. */
static enum admission_verdict
admission_test_enter(const char *addr, const struct config_limits *l,
    uint64_t now, struct admission_ticket *t, unsigned *retry)
{
	struct sockaddr_storage	ss = admission_test_addr(addr);
	unsigned		dummy;

	return admission_enter((struct sockaddr *)&ss, true, l, now, t,
	    retry != NULL ? retry : &dummy);
}

START_TEST(test_admission_max_connections)
{
	struct config_limits	l = admission_test_limits(3, 0, 0, 0);
	struct admission_ticket	t[4];
	int			i;

	for (i = 0; i < 3; i++)
		ck_assert_int_eq(admission_test_enter(i == 1 ? "10.0.0.2" :
		    "10.0.0.1", &l, 0, &t[i], NULL), ADMISSION_OK);
	ck_assert_uint_eq(admission_count(), 3);
	ck_assert_int_eq(admission_test_enter("10.0.0.3", &l, 0, &t[3],
	    NULL), ADMISSION_FULL);
	ck_assert(!t[3].admitted);
	ck_assert_uint_eq(admission_count(), 3);
	admission_leave(&t[0], 0);
	ck_assert(!t[0].admitted);
	ck_assert_int_eq(admission_test_enter("10.0.0.3", &l, 0, &t[3],
	    NULL), ADMISSION_OK);
	for (i = 1; i < 4; i++)
		admission_leave(&t[i], 0);
	ck_assert_uint_eq(admission_count(), 0);
	/* Without a per-address limit no address is tracked. */
	ck_assert_uint_eq(admission_addresses(), 0);
}
END_TEST

START_TEST(test_admission_per_ip)
{
	struct config_limits	l = admission_test_limits(100, 2, 0, 0);
	struct admission_ticket	a, b, c, d;
	struct sockaddr_storage	ss = admission_test_addr("10.0.0.1");
	unsigned		retry;

	ck_assert_int_eq(admission_test_enter("10.0.0.1", &l, 0, &a, NULL),
	    ADMISSION_OK);
	ck_assert_int_eq(admission_test_enter("10.0.0.1", &l, 0, &b, NULL),
	    ADMISSION_OK);
	ck_assert_int_eq(admission_test_enter("10.0.0.1", &l, 0, &c, NULL),
	    ADMISSION_IP_FULL);
	ck_assert_uint_eq(admission_count(), 2);
	/* Another address is not affected. */
	ck_assert_int_eq(admission_test_enter("10.0.0.2", &l, 0, &c, NULL),
	    ADMISSION_OK);
	/* A trusted proxy naming nobody is not counted per address. */
	ck_assert_int_eq(admission_enter((struct sockaddr *)&ss, false, &l, 0,
	    &d, &retry), ADMISSION_OK);
	ck_assert_ptr_null(d.entry);
	admission_leave(&d, 0);
	admission_leave(&a, 0);
	ck_assert_int_eq(admission_test_enter("10.0.0.1", &l, 0, &a, NULL),
	    ADMISSION_OK);
	admission_leave(&a, 0);
	admission_leave(&b, 0);
	admission_leave(&c, 0);
	ck_assert_uint_eq(admission_count(), 0);
	ck_assert_uint_eq(admission_addresses(), 0);
}
END_TEST

START_TEST(test_admission_rate)
{
	struct config_limits	l = admission_test_limits(100, 0, 2, 3);
	struct admission_ticket	t[8];
	unsigned		retry = 0;
	int			i;

	/* The burst at once, then one every 500 ms (2 a second). */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(admission_test_enter("192.0.2.7", &l, 1000,
		    &t[i], NULL), ADMISSION_OK);
	ck_assert_int_eq(admission_test_enter("192.0.2.7", &l, 1000, &t[3],
	    &retry), ADMISSION_RATE);
	ck_assert_uint_eq(retry, 1);
	ck_assert_int_eq(admission_test_enter("192.0.2.7", &l, 1499, &t[3],
	    NULL), ADMISSION_RATE);
	ck_assert_int_eq(admission_test_enter("192.0.2.7", &l, 1500, &t[3],
	    NULL), ADMISSION_OK);
	ck_assert_int_eq(admission_test_enter("192.0.2.7", &l, 1500, &t[4],
	    NULL), ADMISSION_RATE);
	/* Leaving gives no token back: the rate counts handshakes. */
	for (i = 0; i < 4; i++)
		admission_leave(&t[i], 1500);
	ck_assert_int_eq(admission_test_enter("192.0.2.7", &l, 1500, &t[4],
	    NULL), ADMISSION_RATE);
	/* Another address has its own bucket. */
	ck_assert_int_eq(admission_test_enter("192.0.2.8", &l, 1500, &t[5],
	    NULL), ADMISSION_OK);
	admission_leave(&t[5], 1500);
	/* Refilled, but never past the burst. */
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(admission_test_enter("192.0.2.7", &l, 100000,
		    &t[i], NULL), ADMISSION_OK);
	ck_assert_int_eq(admission_test_enter("192.0.2.7", &l, 100000, &t[3],
	    NULL), ADMISSION_RATE);
	for (i = 0; i < 3; i++)
		admission_leave(&t[i], 100000);
	ck_assert_uint_eq(admission_count(), 0);
}
END_TEST

START_TEST(test_admission_entry_lifetime)
{
	struct config_limits	l = admission_test_limits(100, 0, 1, 1);
	struct admission_ticket	t;

	ck_assert_int_eq(admission_test_enter("10.1.1.1", &l, 0, &t, NULL),
	    ADMISSION_OK);
	ck_assert_uint_eq(admission_addresses(), 1);
	/* Gone early: the empty bucket is remembered until it is full. */
	admission_leave(&t, 10);
	ck_assert_uint_eq(admission_addresses(), 1);
	ck_assert_int_eq(admission_test_enter("10.1.1.1", &l, 999, &t, NULL),
	    ADMISSION_RATE);
	ck_assert_int_eq(admission_test_enter("10.1.1.1", &l, 1000, &t, NULL),
	    ADMISSION_OK);
	/* Gone once the bucket is full again: forgotten at once. */
	admission_leave(&t, 2000);
	ck_assert_uint_eq(admission_addresses(), 0);
}
END_TEST

START_TEST(test_admission_ipv6_prefix)
{
	struct config_limits	l = admission_test_limits(100, 2, 0, 0);
	struct admission_ticket	t[5];
	int			i;

	/* One /64 is one client, whatever its interface identifiers. */
	ck_assert_int_eq(admission_test_enter("2001:db8::1", &l, 0, &t[0],
	    NULL), ADMISSION_OK);
	ck_assert_int_eq(admission_test_enter("2001:db8::ffff:1", &l, 0,
	    &t[1], NULL), ADMISSION_OK);
	ck_assert_int_eq(admission_test_enter("2001:db8::2", &l, 0, &t[2],
	    NULL), ADMISSION_IP_FULL);
	ck_assert_int_eq(admission_test_enter("2001:db8:0:1::1", &l, 0,
	    &t[2], NULL), ADMISSION_OK);
	/* An IPv4-mapped address is its IPv4 client. */
	ck_assert_int_eq(admission_test_enter("10.9.9.9", &l, 0, &t[3], NULL),
	    ADMISSION_OK);
	ck_assert_int_eq(admission_test_enter("::ffff:10.9.9.9", &l, 0,
	    &t[4], NULL), ADMISSION_OK);
	ck_assert_ptr_eq(t[3].entry, t[4].entry);
	for (i = 0; i < 5; i++)
		admission_leave(&t[i], 0);
	ck_assert_uint_eq(admission_addresses(), 0);
	ck_assert_uint_eq(admission_count(), 0);
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s = suite_create("admission");
	TCase	*tc = tcase_create("limits");

	tcase_add_test(tc, test_admission_max_connections);
	tcase_add_test(tc, test_admission_per_ip);
	tcase_add_test(tc, test_admission_rate);
	tcase_add_test(tc, test_admission_entry_lifetime);
	tcase_add_test(tc, test_admission_ipv6_prefix);
	suite_add_tcase(s, tc);
	return s;
}
