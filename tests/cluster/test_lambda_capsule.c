/* Unit tests of lambda-cntr capsule's decisions without I/O: the capsule pod's manifest, the
 * reasons it will not run, the Capsule's schedules and selectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/lambda_caplet.h"
#include "cli/lambda_capsule_internal.h"
#include "cli/lambda_cron.h"
#include "common/err.h"
#include "cli/lambda_json.h"

static const struct capsule_request request = {
	.image = "registry.example/check:1", .pull_policy = "Always", .agent_image = "lambda-cntr-agent:0.1.0",
	.agent_pull_policy = "IfNotPresent",
};

static void test_manifest_pins_the_node_and_runs_cntr_idle_from_the_empty_dir(void **state)
{
	json_t *pod = capsule_pod_manifest(&request, "ops", "lambda-cntr-capsule-bcdfghjk", "node-2");
	const json_t *spec = json_object_get(pod, "spec");
	const json_t *capsule = json_array_get(json_object_get(spec, "containers"), 0);
	const json_t *init = json_array_get(json_object_get(spec, "initContainers"), 0);
	const json_t *mount = json_array_get(json_object_get(capsule, "volumeMounts"), 0);
	char *command;

	assert_string_equal(json_str(spec, "nodeName"), "node-2");
	assert_string_equal(json_str(json_object_get(pod, "metadata"), "namespace"), "ops");
	assert_null(json_object_get(spec, "hostPID"));
	assert_true(json_is_false(json_object_get(spec, "automountServiceAccountToken")));
	assert_string_equal(json_str(spec, "restartPolicy"), "Never");
	assert_string_equal(json_str(capsule, "image"), "registry.example/check:1");
	assert_string_equal(json_str(capsule, "imagePullPolicy"), "Always");
	command = json_dumps(json_object_get(capsule, "command"), JSON_COMPACT);
	assert_string_equal(command, "[\"/.lambda-cntr/cntr\",\"agent\",\"idle\"]");
	free(command);
	assert_null(json_object_get(json_object_get(capsule, "securityContext"), "privileged"));
	assert_string_equal(json_str(mount, "mountPath"), "/.lambda-cntr");
	assert_true(json_is_true(json_object_get(mount, "readOnly")));
	assert_string_equal(json_str(init, "image"), "lambda-cntr-agent:0.1.0");
	command = json_dumps(json_object_get(init, "command"), JSON_COMPACT);
	assert_string_equal(command, "[\"cntr\",\"agent\",\"install\",\"/.lambda-cntr\"]");
	free(command);
	json_decref(pod);
}

static void test_manifest_leaves_the_pull_policy_to_the_kubelet_when_none_is_given(void **state)
{
	struct capsule_request r = request;
	json_t *pod;

	r.pull_policy = NULL;
	pod = capsule_pod_manifest(&r, "ops", "x", "node-1");
	assert_null(json_object_get(json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0),
				    "imagePullPolicy"));
	json_decref(pod);
}

static json_t *pod_with(const char *status_json)
{
	json_t *pod = json_loads(status_json, 0, NULL);

	assert_non_null(pod);
	return pod;
}

static void test_a_pull_failure_names_the_image_reason_and_message(void **state)
{
	json_t *pod = pod_with("{\"status\":{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"capsule\","
			       "\"image\":\"registry.example/check:1\",\"state\":{\"waiting\":{\"reason\":\"ErrImagePull\","
			       "\"message\":\"not found \\u001b[31m\"}}}]}}");
	char *why = capsule_pod_failure(pod);

	assert_non_null(why);
	assert_non_null(strstr(why, "capsule image registry.example/check:1: Waiting: ErrImagePull: not found"));
	assert_null(strchr(why, '\x1b')); /* server text is escaped */
	free(why);
	json_decref(pod);
}

static void test_a_failed_init_container_is_the_agent_image(void **state)
{
	json_t *pod = pod_with("{\"status\":{\"phase\":\"Failed\",\"initContainerStatuses\":[{\"name\":\"install-cntr\","
			       "\"image\":\"lambda-cntr-agent:0.1.0\",\"state\":{\"terminated\":{\"exitCode\":125,"
			       "\"reason\":\"Error\"}}}]}}");
	char *why = capsule_pod_failure(pod);

	assert_non_null(why);
	assert_non_null(strstr(why, "agent image lambda-cntr-agent:0.1.0: Terminated: Error (exit code 125)"));
	free(why);
	json_decref(pod);
}

static void test_a_pod_still_starting_or_initialised_has_no_failure(void **state)
{
	json_t *pod = pod_with("{\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"install-cntr\","
			       "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}],"
			       "\"containerStatuses\":[{\"name\":\"capsule\",\"state\":{\"waiting\":{\"reason\":"
			       "\"ContainerCreating\"}}}]}}");

	assert_null(capsule_pod_failure(pod));
	json_decref(pod);
}

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi };
	return timegm(&tm);
}

static time_t next_of(const char *text, time_t after)
{
	struct cron_schedule s;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_cron_parse(text, &s, &err), 0);
	return lambda_cron_next(&s, after);
}

static void test_cron_next_times(void **state)
{
	/* 2026-12-05 is a Saturday: business hours resume Monday 09:00. */
	assert_int_equal(next_of("*/15 9-17 * * 1-5", utc(2026, 12, 5, 10, 0)), utc(2026, 12, 7, 9, 0));
	assert_int_equal(next_of("*/15 9-17 * * 1-5", utc(2026, 12, 7, 9, 0)), utc(2026, 12, 7, 9, 15));
	assert_int_equal(next_of("@hourly", utc(2026, 12, 3, 10, 42)), utc(2026, 12, 3, 11, 0));
	assert_int_equal(next_of("@yearly", utc(2026, 12, 3, 10, 42)), utc(2027, 1, 1, 0, 0));
	assert_int_equal(next_of("5/20 * * * *", utc(2026, 12, 3, 10, 26)), utc(2026, 12, 3, 10, 45));
	assert_int_equal(next_of("0 0 * * 7", utc(2026, 12, 3, 10, 0)), utc(2026, 12, 6, 0, 0)); /* 7: Sunday */
	/* Both day fields restricted: either matches (the 13th, or a Friday). */
	assert_int_equal(next_of("0 12 13 * 5", utc(2026, 12, 3, 13, 0)), utc(2026, 12, 4, 12, 0));
	assert_int_equal(next_of("@every 30s", 1000), 1030);
	assert_int_equal(next_of("0 0 30 2 *", utc(2026, 1, 1, 0, 0)), (time_t)-1); /* never */
}

static void test_cron_refuses_what_is_not_a_schedule(void **state)
{
	static const char *const bad[] = { "60 * * * *", "* * *", "* * * * * *", "5/0 * * * *", "* 24 * * *",
					   "a * * * *", "@every", "@every 0s", "@sometimes", "3-1 * * * *" };
	struct cron_schedule s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cntr_err err = { 0 };
		assert_int_equal(lambda_cron_parse(bad[i], &s, &err), -1);
		assert_non_null(strstr(err.msg, "schedule"));
	}
}

static void test_label_selector_text(void **state)
{
	json_t *sel = json_loads("{\"matchLabels\":{\"tier\":\"web\"},\"matchExpressions\":["
				 "{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
				 "{\"key\":\"x\",\"operator\":\"DoesNotExist\"},{\"key\":\"y\",\"operator\":\"Exists\"}]}",
				 0, NULL);
	struct cntr_err err = { 0 };
	char *text = caplet_selector_text(sel, &err);

	assert_string_equal(text, "tier=web,env in (a,b),!x,y");
	free(text);
	json_decref(sel);
	sel = json_loads("{}", 0, NULL);
	assert_null(caplet_selector_text(sel, &err));
	assert_non_null(strstr(err.msg, "selects nothing"));
	json_decref(sel);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_pins_the_node_and_runs_cntr_idle_from_the_empty_dir),
		cmocka_unit_test(test_manifest_leaves_the_pull_policy_to_the_kubelet_when_none_is_given),
		cmocka_unit_test(test_a_pull_failure_names_the_image_reason_and_message),
		cmocka_unit_test(test_a_failed_init_container_is_the_agent_image),
		cmocka_unit_test(test_a_pod_still_starting_or_initialised_has_no_failure),
		cmocka_unit_test(test_cron_next_times),
		cmocka_unit_test(test_cron_refuses_what_is_not_a_schedule),
		cmocka_unit_test(test_label_selector_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
