#include "kube/timestamp.h"

#include <ctype.h>
#include <string.h>

/* n decimal digits at *p into *value; advances *p. */
static int digits(const char **p, int n, int *value)
{
	*value = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		*value = *value * 10 + (**p - '0');
	}
	return 0;
}

static int expect(const char **p, const char *chars)
{
	if (!**p || !strchr(chars, **p))
		return -1;
	(*p)++;
	return 0;
}

/* "Z", "+hh:mm" or "-hh:mm" into seconds east of UTC. */
static int zone_offset(const char **p, long *offset)
{
	int sign, hours, minutes;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*offset = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (digits(p, 2, &hours) < 0 || expect(p, ":") < 0 || digits(p, 2, &minutes) < 0 || hours > 23 ||
	    minutes > 59)
		return -1;
	*offset = sign * (hours * 3600L + minutes * 60L);
	return 0;
}

int kube_parse_rfc3339(const char *text, time_t *out)
{
	const char *p = text;
	struct tm tm = { 0 };
	int year, month, day, hour, minute, second;
	long offset;
	time_t t;

	if (!text || digits(&p, 4, &year) < 0 || expect(&p, "-") < 0 || digits(&p, 2, &month) < 0 ||
	    expect(&p, "-") < 0 || digits(&p, 2, &day) < 0 || expect(&p, "Tt ") < 0 ||
	    digits(&p, 2, &hour) < 0 || expect(&p, ":") < 0 || digits(&p, 2, &minute) < 0 ||
	    expect(&p, ":") < 0 || digits(&p, 2, &second) < 0)
		return -1;
	if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (zone_offset(&p, &offset) < 0 || *p)
		return -1;
	tm.tm_year = year - 1900;
	tm.tm_mon = month - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = minute;
	tm.tm_sec = second;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = t - offset;
	return 0;
}
