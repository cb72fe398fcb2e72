#include "cli/lambda_cron.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/duration.h"

static int field_error(struct cntr_err *err, const char *what, const char *text)
{
	return cntr_fail(err, CNTR_EXIT_USAGE, 0, "schedule: %s field \"%s\" is not a cron field (numbers, *, a-b, /n, lists)",
			 what, text);
}

static int parse_number(const char **p, long *out)
{
	char *end = NULL;

	if (**p < '0' || **p > '9')
		return -1;
	*out = strtol(*p, &end, 10);
	*p = end;
	return 0;
}

/* One field into a bit set of lo..hi. */
static int parse_field(const char *text, const char *what, long lo, long hi, uint64_t *bits, bool *any,
		       struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;

	*bits = 0;
	*any = strcmp(text, "*") == 0;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		const char *p = item;
		long a = lo, b = hi, step = 1;
		if (*p == '*') {
			p++;
		} else {
			if (parse_number(&p, &a) < 0)
				return field_error(err, what, text);
			b = a;
			if (*p == '-') {
				p++;
				if (parse_number(&p, &b) < 0)
					return field_error(err, what, text);
			}
		}
		if (*p == '/') {
			p++;
			if (parse_number(&p, &step) < 0 || step < 1)
				return field_error(err, what, text);
			if (item[0] != '*' && !strchr(item, '-'))
				b = hi; /* "5/15": from 5 to the end */
		}
		if (*p || a < lo || b > hi || a > b)
			return field_error(err, what, text);
		for (long v = a; v <= b; v += step)
			*bits |= 1ULL << v;
	}
	return *bits ? 0 : field_error(err, what, text);
}

static const struct {
	const char *name, *fields;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

int lambda_cron_parse(const char *text, struct cron_schedule *s, struct cntr_err *err)
{
	static const char *const names[] = { "minute", "hour", "day-of-month", "month", "day-of-week" };
	static const long limits[][2] = { { 0, 59 }, { 0, 23 }, { 1, 31 }, { 1, 12 }, { 0, 7 } };
	_cleanup_free_ char *copy = NULL;
	char *fields[6] = { 0 }, *save = NULL;
	uint64_t bits[5];
	bool any[5];
	int n = 0;

	memset(s, 0, sizeof(*s));
	if (strncmp(text, "@every ", 7) == 0) {
		if (kube_parse_duration(text + 7, &s->every_s, err) < 0 || s->every_s == 0)
			return cntr_fail(err, CNTR_EXIT_USAGE, 0, "schedule: \"%s\": @every needs a duration (30s, 5m)", text);
		return 0;
	}
	for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
		if (strcmp(text, macros[i].name) == 0)
			text = macros[i].fields;
	copy = xstrdup(text);
	for (char *f = strtok_r(copy, " \t", &save); f; f = strtok_r(NULL, " \t", &save)) {
		if (n == 5)
			return cntr_fail(err, CNTR_EXIT_USAGE, 0, "schedule: \"%s\" has more than five fields", text);
		fields[n++] = f;
	}
	if (n != 5)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "schedule: \"%s\" is not five cron fields or a macro", text);
	for (int i = 0; i < 5; i++)
		if (parse_field(fields[i], names[i], limits[i][0], limits[i][1], &bits[i], &any[i], err) < 0)
			return -1;
	s->minutes = bits[0];
	s->hours = (uint32_t)bits[1];
	s->days = (uint32_t)bits[2];
	s->months = (uint32_t)bits[3];
	s->weekdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
	s->any_day = any[2];
	s->any_weekday = any[4];
	return 0;
}

/* Cron's rule: when both day fields are restricted, either one matching is enough. */
static bool day_matches(const struct cron_schedule *s, const struct tm *tm)
{
	bool dom = s->days >> tm->tm_mday & 1, dow = s->weekdays >> tm->tm_wday & 1;

	if (s->any_day || s->any_weekday)
		return dom && dow;
	return dom || dow;
}

time_t lambda_cron_next(const struct cron_schedule *s, time_t t)
{
	time_t limit = t + 5 * 366 * 86400;

	if (s->every_s)
		return t + (time_t)s->every_s;
	/* Minute by minute, skipping whole hours and days that cannot match. */
	for (time_t c = t - t % 60 + 60; c <= limit;) {
		struct tm tm;
		gmtime_r(&c, &tm);
		if (!(s->months >> (tm.tm_mon + 1) & 1) || !day_matches(s, &tm)) {
			c += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60);
			continue;
		}
		if (!(s->hours >> tm.tm_hour & 1)) {
			c += 3600 - tm.tm_min * 60;
			continue;
		}
		if (s->minutes >> tm.tm_min & 1)
			return c;
		c += 60;
	}
	return (time_t)-1;
}
