/* API errors to one-line messages, and the exec channel-3 Status to an exit code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kube/exec_status.h"
#include "kube/status.h"

static void check_message(long code, const char *body, const char *expected)
{
	char *msg = kube_status_message(code, body, body ? strlen(body) : 0);
	assert_string_equal(msg, expected);
	free(msg);
}

static void test_status_body_gives_its_message(void **state)
{
	check_message(403,
		      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		      "\"message\":\"pods \\\"web\\\" is forbidden: User \\\"x\\\" cannot create resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"default\\\"\","
		      "\"reason\":\"Forbidden\",\"details\":{\"name\":\"web\",\"kind\":\"pods\"},\"code\":403}",
		      "pods \"web\" is forbidden: User \"x\" cannot create resource \"pods\" in API group \"\" in the namespace \"default\"");
	check_message(404, "{\"kind\":\"Status\",\"message\":\"pods \\\"nope\\\" not found\",\"reason\":\"NotFound\",\"code\":404}",
		      "pods \"nope\" not found");
}

static void test_multiline_message_is_folded_to_one_line(void **state)
{
	check_message(500, "{\"kind\":\"Status\",\"message\":\"first\\nsecond\\n\"}", "first second");
}

static void test_status_without_message_uses_reason(void **state)
{
	check_message(409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\"}", "AlreadyExists (HTTP 409)");
}

static void test_non_status_bodies_give_first_line_or_code(void **state)
{
	check_message(502, "\n<html>Bad gateway</html>\nmore", "HTTP 502: <html>Bad gateway</html>");
	check_message(401, "Unauthorized", "HTTP 401: Unauthorized");
	check_message(503, "", "HTTP 503");
	check_message(503, NULL, "HTTP 503");
	/* JSON that is not a Status is shown as text, not mistaken for one */
	check_message(400, "{\"message\":\"x\"}", "HTTP 400: {\"message\":\"x\"}");
}

static int exit_code_of(const char *json, int *code, struct cntr_err *err)
{
	return kube_exec_status_exit_code(json, strlen(json), code, err);
}

static void test_exec_success_is_exit_0(void **state)
{
	int code = -1;
	struct cntr_err err = { 0 };
	assert_int_equal(exit_code_of("{\"metadata\":{},\"status\":\"Success\"}", &code, &err), 0);
	assert_int_equal(code, 0);
}

static void test_exec_nonzero_exit_code_comes_from_causes(void **state)
{
	int code = -1;
	struct cntr_err err = { 0 };
	assert_int_equal(exit_code_of("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3\","
				      "\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"Other\",\"message\":\"x\"},{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}",
				      &code, &err),
			 0);
	assert_int_equal(code, 3);
	assert_int_equal(exit_code_of("{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"137\"}]}}",
				      &code, &err),
			 0);
	assert_int_equal(code, 137);
}

static void test_exec_nonzero_without_exit_cause_is_an_error(void **state)
{
	int code = -1;
	struct cntr_err err = { 0 };
	assert_int_equal(exit_code_of("{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"abc\"}]}}",
				      &code, &err),
			 -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_int_equal(code, -1);
}

static void test_exec_start_failures_map_to_126_127(void **state)
{
	int code = -1;
	struct cntr_err err = { 0 };
	assert_int_equal(exit_code_of("{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"OCI runtime exec failed: exec failed: unable to start container process: exec: \\\"nope\\\": executable file not found in $PATH: unknown\"}",
				      &code, &err),
			 -1);
	assert_int_equal(err.code, CNTR_EXIT_NOTFOUND);
	assert_non_null(strstr(err.msg, "executable file not found"));
	assert_int_equal(exit_code_of("{\"status\":\"Failure\",\"message\":\"exec: \\\"/etc/passwd\\\": permission denied\"}", &code, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_NOEXEC);
	assert_int_equal(exit_code_of("{\"status\":\"Failure\",\"message\":\"container not found (\\\"web\\\")\"}", &code, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_string_equal(err.msg, "exec: container not found (\"web\")");
}

static void test_exec_malformed_status_is_an_error(void **state)
{
	int code = -1;
	struct cntr_err err = { 0 };
	assert_int_equal(exit_code_of("not json", &code, &err), -1);
	assert_int_equal(exit_code_of("[1]", &code, &err), -1);
	assert_int_equal(exit_code_of("{\"status\":\"Weird\"}", &code, &err), -1);
	assert_int_equal(code, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_body_gives_its_message),
		cmocka_unit_test(test_multiline_message_is_folded_to_one_line),
		cmocka_unit_test(test_status_without_message_uses_reason),
		cmocka_unit_test(test_non_status_bodies_give_first_line_or_code),
		cmocka_unit_test(test_exec_success_is_exit_0),
		cmocka_unit_test(test_exec_nonzero_exit_code_comes_from_causes),
		cmocka_unit_test(test_exec_nonzero_without_exit_cause_is_an_error),
		cmocka_unit_test(test_exec_start_failures_map_to_126_127),
		cmocka_unit_test(test_exec_malformed_status_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
