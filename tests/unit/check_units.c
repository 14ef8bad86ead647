/*
 * check_units — unit tests of the duration and size parsers of
 * wsgate.yaml (DESIGN.md "Configuration": "250ms", "30s", "5m", "1h";
 * "512", "64KiB", "16MiB").
 *
 * Each vector is one input and either its exact value or the exact
 * reason (errstr) it is rejected with: the reason ends up in the config
 * error line the operator reads.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "check_main.h"

#define UNITS_NEED_NUMBER	"must start with a number"
#define UNITS_TOO_LARGE		"number too large"
#define UNITS_BAD_DURATION	"needs a unit: ms, s, m or h (e.g. 30s)"
#define UNITS_BAD_SIZE		"unit must be B, KiB, MiB or GiB (e.g. 64KiB)"

struct units_vector {
	const char	*in;
	int		 rc;		/* 0 or -1 */
	uint64_t	 value;		/* rc 0: expected result */
	const char	*errstr;	/* rc -1: expected reason */
};

static const struct units_vector units_duration_vectors[] = {
	{ "0", 0, 0, NULL },
	{ "0ms", 0, 0, NULL },
	{ "0s", 0, 0, NULL },
	{ "1ms", 0, 1, NULL },
	{ "250ms", 0, 250, NULL },
	{ "30s", 0, 30 * 1000ULL, NULL },
	{ "5m", 0, 5 * 60 * 1000ULL, NULL },
	{ "1h", 0, 60 * 60 * 1000ULL, NULL },
	{ "168h", 0, 168 * 60 * 60 * 1000ULL, NULL },
	{ "007s", 0, 7000, NULL },
	{ "60000ms", 0, 60000, NULL },
	/* The largest hour count whose milliseconds fit in 64 bits. */
	{ "5124095576030h", 0, 5124095576030ULL * 3600000ULL, NULL },
	{ "", -1, 0, UNITS_NEED_NUMBER },
	{ "s", -1, 0, UNITS_NEED_NUMBER },
	{ "ms", -1, 0, UNITS_NEED_NUMBER },
	{ "-1s", -1, 0, UNITS_NEED_NUMBER },
	{ "+1s", -1, 0, UNITS_NEED_NUMBER },
	{ " 1s", -1, 0, UNITS_NEED_NUMBER },
	{ "5", -1, 0, UNITS_BAD_DURATION },
	{ "30", -1, 0, UNITS_BAD_DURATION },
	{ "1.5s", -1, 0, UNITS_BAD_DURATION },
	{ "30 s", -1, 0, UNITS_BAD_DURATION },
	{ "30s ", -1, 0, UNITS_BAD_DURATION },
	{ "30sec", -1, 0, UNITS_BAD_DURATION },
	{ "30S", -1, 0, UNITS_BAD_DURATION },
	{ "1d", -1, 0, UNITS_BAD_DURATION },
	{ "1us", -1, 0, UNITS_BAD_DURATION },
	{ "1m30s", -1, 0, UNITS_BAD_DURATION },
	{ "0x10s", -1, 0, UNITS_BAD_DURATION },
	{ "99999999999999999999s", -1, 0, UNITS_TOO_LARGE },
	{ "99999999999999999999", -1, 0, UNITS_TOO_LARGE },
	/* Fits as a number, overflows once multiplied by the unit. */
	{ "5124095576031h", -1, 0, UNITS_TOO_LARGE },
	{ "18446744073709551ms", 0, 18446744073709551ULL, NULL },
	{ "18446744073709552s", -1, 0, UNITS_TOO_LARGE },
};

static const struct units_vector units_size_vectors[] = {
	{ "0", 0, 0, NULL },
	{ "0B", 0, 0, NULL },
	{ "1", 0, 1, NULL },
	{ "512", 0, 512, NULL },
	{ "1B", 0, 1, NULL },
	{ "512B", 0, 512, NULL },
	{ "1KiB", 0, 1024, NULL },
	{ "64KiB", 0, 64 * 1024ULL, NULL },
	{ "16MiB", 0, 16 * 1024 * 1024ULL, NULL },
	{ "1GiB", 0, 1024 * 1024 * 1024ULL, NULL },
	{ "3GiB", 0, 3 * 1024 * 1024 * 1024ULL, NULL },
	/* 2^34 - 1 GiB is the largest GiB count that fits in 64 bits. */
	{ "17179869183GiB", 0, 17179869183ULL << 30, NULL },
	{ "", -1, 0, UNITS_NEED_NUMBER },
	{ "KiB", -1, 0, UNITS_NEED_NUMBER },
	{ "-1", -1, 0, UNITS_NEED_NUMBER },
	{ " 1", -1, 0, UNITS_NEED_NUMBER },
	{ "16MB", -1, 0, UNITS_BAD_SIZE },
	{ "1k", -1, 0, UNITS_BAD_SIZE },
	{ "1K", -1, 0, UNITS_BAD_SIZE },
	{ "1KB", -1, 0, UNITS_BAD_SIZE },
	{ "1kib", -1, 0, UNITS_BAD_SIZE },
	{ "1 KiB", -1, 0, UNITS_BAD_SIZE },
	{ "1.5MiB", -1, 0, UNITS_BAD_SIZE },
	{ "1b", -1, 0, UNITS_BAD_SIZE },
	{ "1TiB", -1, 0, UNITS_BAD_SIZE },
	{ "64KiB ", -1, 0, UNITS_BAD_SIZE },
	{ "99999999999999999999", -1, 0, UNITS_TOO_LARGE },
	{ "99999999999999999999KiB", -1, 0, UNITS_TOO_LARGE },
	{ "17179869184GiB", -1, 0, UNITS_TOO_LARGE },
	{ "18014398509481984KiB", -1, 0, UNITS_TOO_LARGE },
};

#define UNITS_BAD_COUNT	"must be a whole number"

static const struct units_vector units_count_vectors[] = {
	{ "0", 0, 0, NULL },
	{ "256", 0, 256, NULL },
	{ "100000", 0, 100000, NULL },
	{ "18446744073709551609", 0, 18446744073709551609ULL, NULL },
	{ "", -1, 0, UNITS_NEED_NUMBER },
	{ "-1", -1, 0, UNITS_NEED_NUMBER },
	{ "+1", -1, 0, UNITS_NEED_NUMBER },
	{ " 1", -1, 0, UNITS_NEED_NUMBER },
	{ "1 ", -1, 0, UNITS_BAD_COUNT },
	{ "1.5", -1, 0, UNITS_BAD_COUNT },
	{ "1k", -1, 0, UNITS_BAD_COUNT },
	{ "1KiB", -1, 0, UNITS_BAD_COUNT },
	{ "0x10", -1, 0, UNITS_BAD_COUNT },
	{ "18446744073709551616", -1, 0, UNITS_TOO_LARGE },
};

/* Runs one vector through parse (a duration or size parser). */
static void
units_check(const struct units_vector *v, const char *what,
    int (*parse)(const char *, uint64_t *, const char **))
{
	const char	*errstr = NULL;
	uint64_t	 value = 0xdeadbeefULL;
	int		 rc;

	rc = parse(v->in, &value, &errstr);
	ck_assert_msg(rc == v->rc, "%s \"%s\": rc %d, want %d (%s)", what,
	    v->in, rc, v->rc, errstr != NULL ? errstr : "no errstr");
	if (rc == 0) {
		ck_assert_msg(value == v->value,
		    "%s \"%s\": %llu, want %llu", what, v->in,
		    (unsigned long long)value, (unsigned long long)v->value);
		return;
	}
	ck_assert_msg(errstr != NULL, "%s \"%s\": errstr not set", what,
	    v->in);
	ck_assert_msg(strcmp(errstr, v->errstr) == 0,
	    "%s \"%s\": errstr \"%s\", want \"%s\"", what, v->in, errstr,
	    v->errstr);
}

START_TEST(test_units_duration)
{
	units_check(&units_duration_vectors[_i], "duration",
	    units_parse_duration);
}
END_TEST

START_TEST(test_units_size)
{
	units_check(&units_size_vectors[_i], "size", units_parse_size);
}
END_TEST

START_TEST(test_units_count)
{
	units_check(&units_count_vectors[_i], "count", units_parse_count);
}
END_TEST

#define UNITS_NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

Suite *
check_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("units");

	tc = tcase_create("durations");
	tcase_add_loop_test(tc, test_units_duration, 0,
	    UNITS_NELEM(units_duration_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("sizes");
	tcase_add_loop_test(tc, test_units_size, 0,
	    UNITS_NELEM(units_size_vectors));
	suite_add_tcase(s, tc);

	tc = tcase_create("counts");
	tcase_add_loop_test(tc, test_units_count, 0,
	    UNITS_NELEM(units_count_vectors));
	suite_add_tcase(s, tc);

	return s;
}
