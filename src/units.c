/*
 * units — durations and sizes of the configuration file.
 *
 * Only binary size units are accepted (KiB, MiB, GiB): "KB" would leave
 * the reader guessing between 1000 and 1024.
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "units.h"

struct units_suffix {
	const char	*name;
	uint64_t	 factor;
};

static const struct units_suffix units_durations[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ NULL, 0 }
};

static const struct units_suffix units_counts[] = {
	{ "", 1 },
	{ NULL, 0 }
};

static const struct units_suffix units_sizes[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "KiB", 1024 },
	{ "MiB", 1024 * 1024 },
	{ "GiB", 1024 * 1024 * 1024 },
	{ NULL, 0 }
};

/*
 * Parses decimal digits then a suffix from table.  Returns 0 with the
 * product, -1 with errstr.
 */
static int
units_parse(const char *s, const struct units_suffix *table, uint64_t *out,
    const char **errstr, const char *bad_unit)
{
	uint64_t	 n = 0;
	const char	*p = s;

	if (!isdigit((unsigned char)*p)) {
		*errstr = "must start with a number";
		return -1;
	}
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10) {
			*errstr = "number too large";
			return -1;
		}
		n = n * 10 + (uint64_t)(*p - '0');
	}
	for (; table->name != NULL; table++) {
		if (strcmp(p, table->name) != 0)
			continue;
		if (table->factor != 0 && n > UINT64_MAX / table->factor) {
			*errstr = "number too large";
			return -1;
		}
		*out = n * table->factor;
		return 0;
	}
	*errstr = bad_unit;
	return -1;
}

int
units_parse_duration(const char *s, uint64_t *ms, const char **errstr)
{
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	return units_parse(s, units_durations, ms, errstr,
	    "needs a unit: ms, s, m or h (e.g. 30s)");
}

int
units_parse_size(const char *s, uint64_t *bytes, const char **errstr)
{
	return units_parse(s, units_sizes, bytes, errstr,
	    "unit must be B, KiB, MiB or GiB (e.g. 64KiB)");
}

int
units_parse_count(const char *s, uint64_t *n, const char **errstr)
{
	return units_parse(s, units_counts, n, errstr,
	    "must be a whole number");
}
