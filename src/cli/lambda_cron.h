/* Schedules of the Capsule resource: the five cron fields (minute hour day-of-month month
 * day-of-week, in UTC; numbers, *, ranges a-b, steps /n, lists), the macros @yearly @annually
 * @monthly @weekly @daily @midnight @hourly, and `@every DURATION` (an interval from the
 * previous scheduled time, e.g. @every 30s; not in CronJob's syntax). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct cntr_err;

struct cron_schedule {
	uint64_t minutes;     /* bit m: minute m matches */
	uint32_t hours, days, months;  /* days: bit 1..31; months: bit 1..12 */
	uint8_t weekdays;     /* bit 0..6, Sunday 0 (7 is Sunday too) */
	bool any_day, any_weekday;
	uint64_t every_s;     /* @every: the interval; then the fields above are unused */
};

int lambda_cron_parse(const char *text, struct cron_schedule *s, struct cntr_err *err);

/* The first scheduled time strictly after t (UTC), or (time_t)-1 when none within 5 years. */
time_t lambda_cron_next(const struct cron_schedule *s, time_t t);
