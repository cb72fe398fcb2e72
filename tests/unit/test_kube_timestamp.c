/* RFC 3339 timestamps (exec credential expirationTimestamp). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kube/timestamp.h"

static void test_utc_fraction_and_offsets(void **state)
{
	time_t t = 0;

	assert_int_equal(kube_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(kube_parse_rfc3339("2024-05-01T12:00:00Z", &t), 0);
	assert_int_equal(t, 1714564800);
	assert_int_equal(kube_parse_rfc3339("2024-05-01T12:00:00.987654321Z", &t), 0);
	assert_int_equal(t, 1714564800);
	assert_int_equal(kube_parse_rfc3339("2024-05-01T14:30:00+02:30", &t), 0);
	assert_int_equal(t, 1714564800);
	assert_int_equal(kube_parse_rfc3339("2024-05-01T07:00:00-05:00", &t), 0);
	assert_int_equal(t, 1714564800);
}

static void test_malformed_timestamps_are_refused(void **state)
{
	static const char *const bad[] = {
		"", "2024-05-01", "2024-05-01T12:00:00", "2024-05-01T12:00Z", "2024-13-01T12:00:00Z",
		"2024-05-01T25:00:00Z", "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00Zjunk",
		"2024-05-01T12:00:00+0200", "24-05-01T12:00:00Z", "soon",
	};
	time_t t = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (kube_parse_rfc3339(bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(kube_parse_rfc3339(NULL, &t), -1);
	assert_int_equal(t, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utc_fraction_and_offsets),
		cmocka_unit_test(test_malformed_timestamps_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
