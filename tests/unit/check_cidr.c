/*
 * check_cidr — unit tests of CIDR parsing and matching: valid blocks of
 * both families with prefixes from 0 to the maximum, every parse error,
 * matches on both sides of the boundary bit for prefixes /0, /1, /9,
 * /31, /32 (IPv4) and /0, /1, /65, /127, /128 (IPv6), IPv4-mapped IPv6
 * addresses against entries of either form, and families that never
 * match.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "check_main.h"

#define CIDR_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* Fills ss from a numeric address of either family; port 4242. */
static void
cidr_test_sockaddr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(4242);
		return;
	}
	ck_assert_msg(inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1,
	    "test address %s", s);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(4242);
}

/*
 * Parsing.
 */
struct cidr_valid_vector {
	const char	*s;
	int		 family;
	const char	*addr;		/* the network address */
	unsigned	 prefix;
};

static const struct cidr_valid_vector cidr_valid_vectors[] = {
	{ "10.0.0.0/8", AF_INET, "10.0.0.0", 8 },
	{ "192.0.2.7", AF_INET, "192.0.2.7", 32 },
	{ "192.0.2.7/32", AF_INET, "192.0.2.7", 32 },
	{ "192.0.2.6/31", AF_INET, "192.0.2.6", 31 },
	{ "0.0.0.0/0", AF_INET, "0.0.0.0", 0 },
	{ "128.0.0.0/1", AF_INET, "128.0.0.0", 1 },
	{ "10.128.0.0/9", AF_INET, "10.128.0.0", 9 },
	{ "255.255.255.255", AF_INET, "255.255.255.255", 32 },
	{ "2001:db8::/32", AF_INET6, "2001:db8::", 32 },
	{ "::1", AF_INET6, "::1", 128 },
	{ "::1/128", AF_INET6, "::1", 128 },
	{ "::/0", AF_INET6, "::", 0 },
	{ "8000::/1", AF_INET6, "8000::", 1 },
	{ "2001:db8:0:0:8000::/65", AF_INET6, "2001:db8::8000:0:0:0", 65 },
	{ "2001:db8::/127", AF_INET6, "2001:db8::", 127 },
	{ "fe80::/10", AF_INET6, "fe80::", 10 },
	{ "::ffff:10.0.0.0/104", AF_INET6, "::ffff:10.0.0.0", 104 },
	{ "2001:DB8::/32", AF_INET6, "2001:db8::", 32 },
	/* The longest text an IPv6 address has, 45 bytes. */
	{ "0000:0000:0000:0000:0000:ffff:255.255.255.255/128", AF_INET6,
	  "::ffff:255.255.255.255", 128 },
};

START_TEST(test_cidr_parse_valid)
{
	const struct cidr_valid_vector	*v = &cidr_valid_vectors[_i];
	struct cidr			 c;
	uint8_t				 want[16];
	const char			*errstr = NULL;

	memset(&c, 0xa5, sizeof(c));
	ck_assert_msg(cidr_parse(v->s, &c, &errstr) == 0, "%s: %s", v->s,
	    errstr);
	ck_assert_int_eq(c.family, v->family);
	ck_assert_uint_eq(c.prefix, v->prefix);
	memset(want, 0, sizeof(want));
	ck_assert_int_eq(inet_pton(v->family, v->addr, want), 1);
	ck_assert_msg(memcmp(c.addr, want, sizeof(want)) == 0,
	    "%s: address bytes", v->s);
}
END_TEST

struct cidr_invalid_vector {
	const char	*s;
	const char	*errstr;
};

#define NOTADDR	"not an address"
#define RANGE	"prefix out of range"
#define HOST	"host bits set"

static const struct cidr_invalid_vector cidr_invalid_vectors[] = {
	{ "", NOTADDR },
	{ "/8", NOTADDR },
	{ "10.0.0.0/", NOTADDR },
	{ "10.0.0.0/08", NOTADDR },
	{ "10.0.0.0/00", NOTADDR },
	{ "10.0.0.0/-1", NOTADDR },
	{ "10.0.0.0/+8", NOTADDR },
	{ "10.0.0.0/8 ", NOTADDR },
	{ " 10.0.0.0/8", NOTADDR },
	{ "10.0.0.0/8/8", NOTADDR },
	{ "10.0.0.0/1x", NOTADDR },
	{ "10.0.0.0/999x", NOTADDR },
	{ "10.0.0.0 /8", NOTADDR },
	{ "10.0.0", NOTADDR },
	{ "010.0.0.0/8", NOTADDR },
	{ "10.0.0.256", NOTADDR },
	{ "example.com", NOTADDR },
	{ "example.com/8", NOTADDR },
	{ "fe80::1%eth0", NOTADDR },
	{ "[::1]", NOTADDR },
	{ "[::1]/128", NOTADDR },
	{ "2001:db8:::/32", NOTADDR },
	{ "0000:0000:0000:0000:0000:0000:ffff:255.255.255.255", NOTADDR },
	{ "10.0.0.0/33", RANGE },
	{ "0.0.0.0/100", RANGE },
	{ "10.0.0.0/999999999999999999999", RANGE },
	{ "::/129", RANGE },
	{ "::/1000", RANGE },
	{ "10.0.0.1/8", HOST },
	{ "192.0.2.7/31", HOST },
	{ "10.192.0.0/9", HOST },
	{ "1.2.3.4/0", HOST },
	{ "2001:db8::1/32", HOST },
	{ "::1/127", HOST },
	{ "2001:db8::4000:0:0:0/65", HOST },
	{ "::1/0", HOST },
};

START_TEST(test_cidr_parse_invalid)
{
	const struct cidr_invalid_vector	*v = &cidr_invalid_vectors[_i];
	struct cidr				 c, before;
	const char				*errstr = NULL;

	memset(&c, 0xa5, sizeof(c));
	before = c;
	ck_assert_msg(cidr_parse(v->s, &c, &errstr) == -1, "\"%s\" accepted",
	    v->s);
	ck_assert_ptr_nonnull(errstr);
	ck_assert_msg(strcmp(errstr, v->errstr) == 0, "\"%s\": got \"%s\", "
	    "want \"%s\"", v->s, errstr, v->errstr);
	ck_assert_msg(memcmp(&c, &before, sizeof(c)) == 0,
	    "\"%s\": *c written on error", v->s);
}
END_TEST

/*
 * Matching.
 */
struct cidr_match_vector {
	const char	*cidr;
	const char	*addr;
	bool		 match;
};

static const struct cidr_match_vector cidr_match_vectors[] = {
	/* IPv4 /0 holds every IPv4 address, mapped ones too, and no other. */
	{ "0.0.0.0/0", "0.0.0.0", true },
	{ "0.0.0.0/0", "255.255.255.255", true },
	{ "0.0.0.0/0", "::ffff:1.2.3.4", true },
	{ "0.0.0.0/0", "::1", false },
	{ "0.0.0.0/0", "::", false },
	{ "0.0.0.0/0", "::1.2.3.4", false },
	/* /1: the top bit. */
	{ "128.0.0.0/1", "128.0.0.0", true },
	{ "128.0.0.0/1", "255.255.255.255", true },
	{ "128.0.0.0/1", "127.255.255.255", false },
	{ "0.0.0.0/1", "127.255.255.255", true },
	{ "0.0.0.0/1", "128.0.0.0", false },
	/* /9: the first bit of the second byte. */
	{ "10.128.0.0/9", "10.128.0.0", true },
	{ "10.128.0.0/9", "10.255.255.255", true },
	{ "10.128.0.0/9", "10.127.255.255", false },
	{ "10.128.0.0/9", "11.128.0.0", false },
	{ "10.128.0.0/9", "138.128.0.0", false },
	{ "10.0.0.0/9", "10.127.255.255", true },
	{ "10.0.0.0/9", "10.128.0.0", false },
	/* /31 and /32: the last bits. */
	{ "192.0.2.6/31", "192.0.2.6", true },
	{ "192.0.2.6/31", "192.0.2.7", true },
	{ "192.0.2.6/31", "192.0.2.5", false },
	{ "192.0.2.6/31", "192.0.2.8", false },
	{ "192.0.2.7/32", "192.0.2.7", true },
	{ "192.0.2.7/32", "192.0.2.6", false },
	{ "192.0.2.7/32", "192.0.2.135", false },
	{ "192.0.2.7/32", "::ffff:192.0.2.7", true },
	{ "192.0.2.7/32", "::ffff:192.0.2.6", false },
	{ "192.0.2.7/32", "::192.0.2.7", false },
	{ "192.0.2.7/32", "64:ff9b::192.0.2.7", false },
	{ "192.0.2.7/32", "::fffe:192.0.2.7", false },
	/* Mapped addresses against IPv4 entries. */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", true },
	{ "10.0.0.0/8", "::ffff:11.1.2.3", false },
	{ "10.0.0.0/8", "::ffff:0:0", false },
	/* An entry in mapped form holds the IPv4 address too. */
	{ "::ffff:10.0.0.0/104", "10.1.2.3", true },
	{ "::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true },
	{ "::ffff:10.0.0.0/104", "11.0.0.0", false },
	{ "::ffff:0:0/96", "1.2.3.4", true },
	{ "::ffff:0:0/96", "::1.2.3.4", false },
	/* IPv6 /0 holds every address, IPv4 ones as their mapped form. */
	{ "::/0", "::", true },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "::/0", "1.2.3.4", true },
	/* /1. */
	{ "8000::/1", "8000::", true },
	{ "8000::/1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false },
	{ "::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true },
	{ "::/1", "8000::", false },
	{ "::/1", "1.2.3.4", true },
	/* /65: the first bit of the ninth byte. */
	{ "2001:db8:0:0:8000::/65", "2001:db8::8000:0:0:0", true },
	{ "2001:db8:0:0:8000::/65", "2001:db8::ffff:ffff:ffff:ffff", true },
	{ "2001:db8:0:0:8000::/65", "2001:db8::7fff:ffff:ffff:ffff", false },
	{ "2001:db8:0:0:8000::/65", "2001:db8:0:1:8000::", false },
	{ "2001:db8::/65", "2001:db8::7fff:ffff:ffff:ffff", true },
	{ "2001:db8::/65", "2001:db8::8000:0:0:0", false },
	/* /127 and /128: the last bits. */
	{ "2001:db8::/127", "2001:db8::", true },
	{ "2001:db8::/127", "2001:db8::1", true },
	{ "2001:db8::/127", "2001:db8::2", false },
	{ "2001:db8::/127", "2001:db9::", false },
	{ "::1", "::1", true },
	{ "::1", "::", false },
	{ "::1", "::3", false },
	{ "::1", "8000::1", false },
	{ "::1", "127.0.0.1", false },
	{ "::1", "0.0.0.1", false },
	/* An IPv6 entry never holds an IPv4 address outside ::ffff:0:0/96. */
	{ "2001:db8::/32", "32.1.13.184", false },
};

START_TEST(test_cidr_match)
{
	const struct cidr_match_vector	*v = &cidr_match_vectors[_i];
	struct sockaddr_storage		 ss;
	struct cidr			 c;
	const char			*errstr;

	ck_assert_msg(cidr_parse(v->cidr, &c, &errstr) == 0, "%s: %s",
	    v->cidr, errstr);
	cidr_test_sockaddr(v->addr, &ss);
	ck_assert_msg(cidr_match(&c, (struct sockaddr *)&ss) == v->match,
	    "%s in %s: want %s", v->addr, v->cidr, v->match ? "yes" : "no");
	ck_assert_msg(cidr_list_match(&c, 1, (struct sockaddr *)&ss) ==
	    v->match, "%s in [%s]", v->addr, v->cidr);
}
END_TEST

/* Entries that hold everything of their family, and then some. */
static const char *const cidr_wide[] = {
	"0.0.0.0/0", "::/0", "::ffff:0:0/96", "127.0.0.1", "::"
};

START_TEST(test_cidr_other_families)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)&ss;
	struct cidr		 c;
	const char		*errstr;

	ck_assert_int_eq(cidr_parse(cidr_wide[_i], &c, &errstr), 0);

	memset(&ss, 0, sizeof(ss));
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, "/run/wsgate.sock");
	ck_assert(!cidr_match(&c, (struct sockaddr *)&ss));
	ck_assert(!cidr_list_match(&c, 1, (struct sockaddr *)&ss));

	/* All zeros: AF_UNSPEC, which would be 0.0.0.0 or :: if misread. */
	memset(&ss, 0, sizeof(ss));
	ck_assert(!cidr_match(&c, (struct sockaddr *)&ss));

	ck_assert(!cidr_match(&c, NULL));
	ck_assert(!cidr_list_match(&c, 1, NULL));
}
END_TEST

START_TEST(test_cidr_list)
{
	struct cidr		 list[3];
	struct sockaddr_storage	 ss;
	const char		*errstr;

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &list[0], &errstr), 0);
	ck_assert_int_eq(cidr_parse("2001:db8::/32", &list[1], &errstr), 0);
	ck_assert_int_eq(cidr_parse("192.0.2.7", &list[2], &errstr), 0);

	cidr_test_sockaddr("10.9.8.7", &ss);
	ck_assert(cidr_list_match(list, 3, (struct sockaddr *)&ss));
	ck_assert(!cidr_list_match(list, 0, (struct sockaddr *)&ss));
	ck_assert(!cidr_list_match(NULL, 0, (struct sockaddr *)&ss));
	cidr_test_sockaddr("2001:db8:1::1", &ss);
	ck_assert(cidr_list_match(list, 3, (struct sockaddr *)&ss));
	/* The last entry counts too. */
	cidr_test_sockaddr("::ffff:192.0.2.7", &ss);
	ck_assert(cidr_list_match(list, 3, (struct sockaddr *)&ss));
	ck_assert(!cidr_list_match(list, 2, (struct sockaddr *)&ss));
	cidr_test_sockaddr("192.0.2.8", &ss);
	ck_assert(!cidr_list_match(list, 3, (struct sockaddr *)&ss));
	cidr_test_sockaddr("2001:db9::1", &ss);
	ck_assert(!cidr_list_match(list, 3, (struct sockaddr *)&ss));
}
END_TEST

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("cidr");

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_cidr_parse_valid, 0,
	    CIDR_NELEM(cidr_valid_vectors));
	tcase_add_loop_test(tc, test_cidr_parse_invalid, 0,
	    CIDR_NELEM(cidr_invalid_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("match");
	tcase_add_loop_test(tc, test_cidr_match, 0,
	    CIDR_NELEM(cidr_match_vectors));
	tcase_add_loop_test(tc, test_cidr_other_families, 0,
	    CIDR_NELEM(cidr_wide));
	tcase_add_test(tc, test_cidr_list);
	suite_add_tcase(s, tc);

	return s;
}
