#include "kube/duration.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "common/err.h"

/* Units in the only order Go's time.Duration prints them; each may appear once. */
static const struct {
	char unit;
	uint64_t seconds;
} duration_units[] = {
	{ 'h', 3600 },
	{ 'm', 60 },
	{ 's', 1 },
};

static int fail_duration(const char *text, const char *why, struct cntr_err *err)
{
	return cntr_fail(err, CNTR_EXIT_USAGE, 0,
			 "invalid duration \"%s\": %s (use e.g. 90s, 2m, 1h30m or plain seconds)",
			 text, why);
}

/* Read a run of digits at *p into *value, advancing *p. */
static int read_number(const char **p, uint64_t *value)
{
	uint64_t v = 0;
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*value = v;
	return 0;
}

int kube_parse_duration(const char *text, uint64_t *seconds, struct cntr_err *err)
{
	const char *p = text;
	size_t next_unit = 0;
	uint64_t total = 0;

	if (!text || !*text)
		return fail_duration(text ? text : "", "empty", err);
	while (*p) {
		uint64_t value;
		size_t u;

		if (read_number(&p, &value) < 0)
			return fail_duration(text, *p == '-' ? "negative" : "expected a number", err);
		if (!*p) {
			/* A bare number is seconds, but only on its own: "1h30" is ambiguous. */
			if (p != text && next_unit == 0 && strspn(text, "0123456789") == strlen(text)) {
				*seconds = value;
				return 0;
			}
			return fail_duration(text, "number without a unit", err);
		}
		for (u = next_unit; u < sizeof(duration_units) / sizeof(duration_units[0]); u++)
			if (duration_units[u].unit == *p)
				break;
		if (u == sizeof(duration_units) / sizeof(duration_units[0]))
			return fail_duration(text, "unknown or repeated unit (h, m, s in that order)", err);
		if (value > (UINT64_MAX - total) / duration_units[u].seconds)
			return fail_duration(text, "too large", err);
		total += value * duration_units[u].seconds;
		next_unit = u + 1;
		p++;
	}
	*seconds = total;
	return 0;
}
