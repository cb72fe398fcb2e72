/* Running an engine's CLI: stdout captured, exit status, deadline, no inherited fds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "node/engine_exec.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_program_lookup_in_path(void **state)
{
	assert_true(engine_program_exists("sh"));
	assert_true(engine_program_exists("/bin/sh"));
	assert_false(engine_program_exists("no-such-engine-cli-4711"));
	assert_false(engine_program_exists("/nonexistent/sh"));
}

static void test_run_captures_stdout_and_status(void **state)
{
	char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	_cleanup_free_ char *out = NULL;
	struct cntr_err err = { 0 };
	int status = -2;

	assert_int_equal(engine_run(argv, ENGINE_EXEC_TIMEOUT_MS, &out, &status, &err), 0);
	assert_string_equal(out, "out\n"); /* stderr is not captured */
	assert_int_equal(status, 3);
}

static void test_run_passes_no_extra_descriptors(void **state)
{
	char *argv[] = { "sh", "-c", "ls /proc/self/fd | wc -l", NULL };
	_cleanup_free_ char *out = NULL;
	_cleanup_close_ int leaked = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
	struct cntr_err err = { 0 };
	int status;

	assert_true(leaked > 2);
	assert_int_equal(engine_run(argv, ENGINE_EXEC_TIMEOUT_MS, &out, &status, &err), 0);
	/* 0, 1, 2 and the directory fd of ls itself */
	assert_int_equal(atoi(out), 4);
}

static void test_run_missing_program_exits_127(void **state)
{
	char *argv[] = { "no-such-engine-cli-4711", NULL };
	_cleanup_free_ char *out = NULL;
	struct cntr_err err = { 0 };
	int status;

	assert_int_equal(engine_run(argv, ENGINE_EXEC_TIMEOUT_MS, &out, &status, &err), 0);
	assert_int_equal(status, 127);
}

static void test_run_kills_a_hung_engine(void **state)
{
	char *argv[] = { "sleep", "600", NULL };
	char *out = NULL;
	struct cntr_err err = { 0 };
	int status;

	assert_int_equal(engine_run(argv, 100, &out, &status, &err), -1);
	assert_null(out);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "sleep did not answer"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_program_lookup_in_path),
		cmocka_unit_test(test_run_captures_stdout_and_status),
		cmocka_unit_test(test_run_passes_no_extra_descriptors),
		cmocka_unit_test(test_run_missing_program_exits_127),
		cmocka_unit_test(test_run_kills_a_hung_engine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
