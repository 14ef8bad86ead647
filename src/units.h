/*
 * units — durations ("250ms", "30s", "5m", "1h") and sizes ("512",
 * "64KiB", "16MiB", "1GiB") and counts as written in wsgate.yaml.  Pure.
 */
#ifndef WSGATE_UNITS_H
#define WSGATE_UNITS_H

#include <stdint.h>

/*
 * Parses a duration into milliseconds.  A unit is required except for a
 * bare "0".  Returns 0, or -1 with *errstr set (static text).
 */
int	units_parse_duration(const char *s, uint64_t *ms, const char **errstr);

/* Parses a size into bytes; no unit means bytes.  Returns 0 or -1. */
int	units_parse_size(const char *s, uint64_t *bytes, const char **errstr);

/* Parses a whole number (digits only, no sign).  Returns 0 or -1. */
int	units_parse_count(const char *s, uint64_t *n, const char **errstr);

#endif
