/* The ephemeral-container fallback's pure parts: the container and the patch body kubectl debug
 * sends, failure reasons, and the exit code read from the container's status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/lambda_ephemeral.h"
#include "common/err.h"

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_patch_keeps_existing_ephemeral_containers_and_appends_ours(void **state)
{
	char *cmd[] = { "sh", "-c", "exit 7", NULL };
	struct lambda_ephemeral_spec spec = { .name = "lambda-cntr-bcd24", .target_container = "main",
					      .image = "agent:1", .pull_policy = "IfNotPresent", .command = cmd };
	json_t *pod = parse("{\"spec\":{\"containers\":[{\"name\":\"main\"}],\"ephemeralContainers\":"
			    "[{\"name\":\"debugger-x\",\"image\":\"busybox\"}]}}");
	json_t *c = lambda_ephemeral_container(&spec);
	json_t *patch = lambda_ephemeral_patch(pod, c);
	json_t *expected = parse("{\"spec\":{\"ephemeralContainers\":[{\"name\":\"debugger-x\",\"image\":\"busybox\"},"
				 "{\"name\":\"lambda-cntr-bcd24\",\"image\":\"agent:1\",\"command\":[\"sh\",\"-c\",\"exit 7\"],"
				 "\"stdin\":true,\"stdinOnce\":true,\"tty\":false,\"targetContainerName\":\"main\","
				 "\"terminationMessagePolicy\":\"File\",\"resources\":{},\"imagePullPolicy\":\"IfNotPresent\"}]}}");

	(void)state;
	assert_true(json_equal(patch, expected));
	json_decref(expected);
	json_decref(patch);
	json_decref(c);
	json_decref(pod);
}

static void test_container_defaults_to_the_shell_with_a_tty(void **state)
{
	struct lambda_ephemeral_spec spec = { .name = "n", .target_container = "main", .image = "i", .tty = true };
	json_t *c = lambda_ephemeral_container(&spec);

	(void)state;
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "command"), 0)), "sh");
	assert_int_equal(json_array_size(json_object_get(c, "command")), 1);
	assert_true(json_is_true(json_object_get(c, "tty")));
	assert_null(json_object_get(c, "imagePullPolicy"));
	json_decref(c);
}

static void test_name_is_lambda_cntr_and_five_generate_name_characters(void **state)
{
	char *name = lambda_ephemeral_name();

	(void)state;
	assert_int_equal(strlen(name), strlen("lambda-cntr-") + 5);
	assert_int_equal(strncmp(name, "lambda-cntr-", 12), 0);
	assert_int_equal(strspn(name + 12, "bcdfghjklmnpqrstvwxz2456789"), 5);
	free(name);
}

#define POD_WITH(state) \
	"{\"status\":{\"ephemeralContainerStatuses\":[{\"name\":\"other\",\"state\":{\"terminated\":{\"exitCode\":9}}}," \
	"{\"name\":\"e\",\"state\":" state "}]}}"

static void test_exit_code_is_read_from_the_terminated_state(void **state)
{
	json_t *running = parse(POD_WITH("{\"running\":{\"startedAt\":\"x\"}}"));
	json_t *done = parse(POD_WITH("{\"terminated\":{\"exitCode\":7,\"reason\":\"Error\"}}"));
	json_t *killed = parse(POD_WITH("{\"terminated\":{\"exitCode\":137,\"reason\":\"Error\"}}"));
	json_t *notfound = parse(POD_WITH("{\"terminated\":{\"exitCode\":128,\"reason\":\"StartError\",\"message\":"
					  "\"exec: \\\"x\\\": executable file not found in $PATH: unknown\"}}"));
	json_t *denied = parse(POD_WITH("{\"terminated\":{\"exitCode\":128,\"reason\":\"StartError\",\"message\":"
					"\"exec: \\\"/x\\\": permission denied: unknown\"}}"));
	int code = -1;

	(void)state;
	assert_int_equal(lambda_ephemeral_exit_code(running, "e", &code), 0);
	assert_int_equal(lambda_ephemeral_exit_code(running, "absent", &code), 0);
	assert_int_equal(lambda_ephemeral_exit_code(done, "e", &code), 1);
	assert_int_equal(code, 7);
	assert_int_equal(lambda_ephemeral_exit_code(killed, "e", &code), 1);
	assert_int_equal(code, 137);
	assert_int_equal(lambda_ephemeral_exit_code(notfound, "e", &code), 1);
	assert_int_equal(code, CNTR_EXIT_NOTFOUND);
	assert_int_equal(lambda_ephemeral_exit_code(denied, "e", &code), 1);
	assert_int_equal(code, CNTR_EXIT_NOEXEC);
	json_decref(running);
	json_decref(done);
	json_decref(killed);
	json_decref(notfound);
	json_decref(denied);
}

static void test_image_pull_failures_end_the_wait_creating_does_not(void **state)
{
	json_t *pull = parse(POD_WITH("{\"waiting\":{\"reason\":\"ErrImagePull\",\"message\":\"not found\"}}"));
	json_t *creating = parse(POD_WITH("{\"waiting\":{\"reason\":\"ContainerCreating\"}}"));
	char *why = lambda_ephemeral_failure(pull, "e");

	(void)state;
	assert_non_null(why);
	assert_non_null(strstr(why, "ErrImagePull"));
	assert_non_null(strstr(why, "not found"));
	assert_null(lambda_ephemeral_failure(creating, "e"));
	free(why);
	json_decref(pull);
	json_decref(creating);
}

static void test_notice_says_what_the_mode_cannot_provide_in_one_line(void **state)
{
	(void)state;
	assert_null(strchr(lambda_ephemeral_notice, '\n'));
	assert_non_null(strstr(lambda_ephemeral_notice, "/var/lib/cntr"));
	assert_non_null(strstr(lambda_ephemeral_notice, "/proc/1/root"));
	assert_non_null(strstr(lambda_ephemeral_notice, "cannot be removed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_keeps_existing_ephemeral_containers_and_appends_ours),
		cmocka_unit_test(test_container_defaults_to_the_shell_with_a_tty),
		cmocka_unit_test(test_name_is_lambda_cntr_and_five_generate_name_characters),
		cmocka_unit_test(test_exit_code_is_read_from_the_terminated_state),
		cmocka_unit_test(test_image_pull_failures_end_the_wait_creating_does_not),
		cmocka_unit_test(test_notice_says_what_the_mode_cannot_provide_in_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
