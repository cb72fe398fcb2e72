/* Durations for --timeout / --idle-timeout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "kube/duration.h"

static void test_accepts_units_combinations_and_plain_seconds(void **state)
{
	static const struct {
		const char *text;
		uint64_t seconds;
	} ok[] = {
		{ "90s", 90 }, { "2m", 120 }, { "1h", 3600 }, { "1h30m", 5400 }, { "1m30s", 90 },
		{ "1h0m5s", 3605 }, { "45", 45 }, { "0", 0 }, { "0s", 0 }, { "10m", 600 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t s = 12345;
		struct cntr_err err = { 0 };
		if (kube_parse_duration(ok[i].text, &s, &err) != 0)
			fail_msg("%s rejected: %s", ok[i].text, err.msg);
		assert_int_equal(s, ok[i].seconds);
	}
}

static void test_rejects_malformed_durations_as_usage_errors(void **state)
{
	static const char *const bad[] = {
		"", "s", "-5s", "1.5h", "5x", "1h30", "30s1m", "1m1m", "5 s", " 5s", "2ms", "h1",
		"99999999999999999999s", "18446744073709551615h",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t s = 0;
		struct cntr_err err = { 0 };
		if (kube_parse_duration(bad[i], &s, &err) != -1)
			fail_msg("\"%s\" accepted as %llu", bad[i], (unsigned long long)s);
		assert_int_equal(err.code, CNTR_EXIT_USAGE);
		assert_non_null(strstr(err.msg, "invalid duration"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_units_combinations_and_plain_seconds),
		cmocka_unit_test(test_rejects_malformed_durations_as_usage_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
