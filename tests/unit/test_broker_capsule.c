/* The broker's capsule run (nodes/NODE/capsule), its pure parts: the query it accepts (every
 * value that reaches the capsule pod or the agent's command line is checked first), the command
 * it runs in the agent (the pod mode's, exactly), and its audit messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "broker/broker_audit.h"
#include "broker/broker_capsule.h"
#include "cli/lambda_capsule_argv.h"
#include "cli/lambda_capsule_internal.h"
#include "common/cleanup.h"
#include "common/err.h"

#define CID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define CAPSULE_ID "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char *no_targets[] = { NULL };
static char *one_target[] = { "a/web/main", NULL };
static char *command[] = { "sh", "-c", "cat /capsule-marker", NULL };

static struct broker_capsule_query query(void)
{
	return (struct broker_capsule_query){ .image = "capsules.example/marker:1", .targets = one_target,
					      .command = command };
}

/* The 400 message of a query, or NULL when it is accepted. */
static char *refusal(const struct broker_capsule_query *q)
{
	struct broker_capsule_run run;
	struct cntr_err err = { 0 };
	int r = broker_capsule_parse(q, &run, &err);

	broker_capsule_run_free(&run);
	return r < 0 ? strdup(err.msg) : NULL;
}

static void assert_refused(const struct broker_capsule_query *q, const char *words)
{
	_cleanup_free_ char *msg = refusal(q);

	assert_non_null(msg);
	if (!strstr(msg, words))
		fail_msg("\"%s\" does not say \"%s\"", msg, words);
}

static void test_a_full_query_fills_the_request_the_agent_command_is_built_from(void **state)
{
	char *targets[] = { "a/web/main", "b/db/pg", NULL };
	struct broker_capsule_query q = { .image = "reg/cap:2", .pull_policy = "Always", .profile = "restricted",
					  .share = "net,pid", .seccomp_profile = "unconfined", .parallel = "4",
					  .timeout = "30", .fail_fast = true, .targets = targets, .command = command };
	struct broker_capsule_run run;
	struct cntr_err err = { 0 };

	assert_int_equal(broker_capsule_parse(&q, &run, &err), 0);
	assert_int_equal(run.ntargets, 2);
	assert_string_equal(run.targets[1].ns, "b");
	assert_string_equal(run.targets[1].pod, "db");
	assert_string_equal(run.targets[1].container, "pg");
	assert_string_equal(run.req.image, "reg/cap:2");
	assert_string_equal(run.req.pull_policy, "Always");
	assert_string_equal(run.req.profile, "restricted");
	assert_string_equal(run.req.share, "net,pid");
	assert_string_equal(run.req.seccomp_profile, "unconfined");
	assert_int_equal(run.req.parallel, 4);
	assert_int_equal(run.req.timeout_s, 30);
	assert_true(run.req.fail_fast);
	assert_false(run.req.iterative);
	assert_string_equal(run.req.command[2], "cat /capsule-marker");
	assert_null(run.req.command[3]);
	broker_capsule_run_free(&run);
}

static void test_the_profile_defaults_to_general_and_is_always_named(void **state)
{
	struct broker_capsule_query q = query();
	struct broker_capsule_run run;
	struct cntr_err err = { 0 };

	assert_int_equal(broker_capsule_parse(&q, &run, &err), 0);
	assert_string_equal(run.req.profile, "general");
	assert_null(run.req.pull_policy);
	assert_int_equal(run.req.parallel, 0);
	broker_capsule_run_free(&run);
}

static void test_every_bad_value_is_refused_with_what_was_wrong(void **state)
{
	struct broker_capsule_query q;
	char *bad_targets[][2] = { { "a/web", NULL }, { "a/web/main/x", NULL }, { "A/web/main", NULL },
				   { "a//main", NULL }, { "a/web/ma.in", NULL }, { "../web/main", NULL } };
	char *twice[] = { "a/web/main", "a/web/main", NULL };
	char *no_command[] = { NULL };

	q = query(), q.image = NULL;
	assert_refused(&q, "image");
	q = query(), q.command = no_command;
	assert_refused(&q, "command");
	q = query(), q.targets = no_targets;
	assert_refused(&q, "no target");
	for (size_t i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++) {
		q = query(), q.targets = bad_targets[i];
		assert_refused(&q, "is not NAMESPACE/POD/CONTAINER");
	}
	q = query(), q.targets = twice;
	assert_refused(&q, "given twice");
	q = query(), q.pull_policy = "Sometimes";
	assert_refused(&q, "imagePullPolicy \"Sometimes\"");
	q = query(), q.profile = "root";
	assert_refused(&q, "profile \"root\"");
	q = query(), q.share = "net,mnt";
	assert_refused(&q, "share \"net,mnt\"");
	q = query(), q.seccomp_profile = "none";
	assert_refused(&q, "seccompProfile \"none\"");
	q = query(), q.parallel = "0";
	assert_refused(&q, "parallel \"0\"");
	q = query(), q.parallel = "2x";
	assert_refused(&q, "parallel \"2x\"");
	q = query(), q.timeout = "-1";
	assert_refused(&q, "timeout");
	q = query(), q.iterative = true, q.parallel = "2";
	assert_refused(&q, "iterative and parallel");
}

/* The query parameters as the API server passes them on: each lands in its own field, the
 * booleans are "true" or "1", and anything else is not a capsule parameter. */
static void test_query_parameters_land_in_their_fields(void **state)
{
	static const char *pairs[][2] = { { "image", "i" }, { "imagePullPolicy", "p" }, { "profile", "r" },
					  { "share", "s" }, { "seccompProfile", "c" }, { "parallel", "4" },
					  { "timeout", "30s" }, { "iterative", "1" }, { "failFast", "true" } };
	struct broker_capsule_query q = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		assert_true(broker_capsule_query_set(&q, pairs[i][0], pairs[i][1]));
	assert_string_equal(q.image, "i");
	assert_string_equal(q.pull_policy, "p");
	assert_string_equal(q.profile, "r");
	assert_string_equal(q.share, "s");
	assert_string_equal(q.seccomp_profile, "c");
	assert_string_equal(q.parallel, "4");
	assert_string_equal(q.timeout, "30s");
	assert_true(q.iterative && q.fail_fast);
	assert_true(broker_capsule_query_set(&q, "iterative", "yes"));
	assert_false(q.iterative);
	assert_false(broker_capsule_query_set(&q, "target", "a/b/c"));
	assert_false(broker_capsule_query_set(&q, "tty", "true"));
	assert_false(broker_query_is_true(NULL));
}

static void test_the_agent_runs_the_pod_modes_command_line(void **state)
{
	char *targets[] = { "a/web/main", "a/api/app", NULL };
	struct broker_capsule_query q = { .image = "reg/cap:2", .parallel = "2", .timeout = "5", .targets = targets,
					  .command = command };
	struct broker_capsule_run run;
	struct cntr_err err = { 0 };
	struct capsule_container c[2] = { { .name = "a/web/main", .container_id = CID_A },
					  { .name = "a/api/app", .container_id = CID_B } };
	struct capsule_container *list[2] = { &c[0], &c[1] };
	struct capsule_node node = { .name = "node-1", .targets = list, .n = 2 };
	const char *want[] = { "cntr", "capsule", "run", "-t", "id", "--json", "--from-container=" CAPSULE_ID,
			       "--parallel=2", "--timeout=5s", "--profile=general", "--name=" CID_A "=a/web/main",
			       "--name=" CID_B "=a/api/app", "--", CID_A, CID_B, "--", "sh", "-c",
			       "cat /capsule-marker", NULL };
	_cleanup_strv_ char **argv = NULL;
	size_t i;

	assert_int_equal(broker_capsule_parse(&q, &run, &err), 0);
	argv = capsule_cntr_argv(&run.req, CAPSULE_ID, &node);
	assert_non_null(argv);
	for (i = 0; want[i]; i++)
		assert_string_equal(argv[i], want[i]);
	assert_null(argv[i]);
	/* Nothing but container IDs where IDs go. */
	assert_null(capsule_cntr_argv(&run.req, "../../bin/sh", &node));
	c[1].container_id = "not-an-id";
	assert_null(capsule_cntr_argv(&run.req, CAPSULE_ID, &node));
	broker_capsule_run_free(&run);
}

static void test_audit_names_the_user_image_and_container(void **state)
{
	struct broker_session_info s = { .user = "erin", .ns = "a", .pod = "web", .node = "node-1",
					 .container = "main", .profile = "general" };
	_cleanup_free_ char *start = broker_audit_capsule_start_message(&s, "reg/cap:2");
	_cleanup_free_ char *end = broker_audit_capsule_end_message(&s, "reg/cap:2", 1, NULL, 2.25);
	_cleanup_free_ char *cut = broker_audit_capsule_end_message(&s, "reg/cap:2", -1, "the client disconnected", 1);

	assert_string_equal(start, "user \"erin\" started capsule image \"reg/cap:2\" in container \"main\" with profile "
				   "\"general\"");
	assert_string_equal(end, "capsule run of user \"erin\" (image \"reg/cap:2\") in container \"main\" ended: the "
				 "node's run exited 1 after 2.2s");
	assert_non_null(strstr(cut, "ended without an exit status (the client disconnected)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_full_query_fills_the_request_the_agent_command_is_built_from),
		cmocka_unit_test(test_the_profile_defaults_to_general_and_is_always_named),
		cmocka_unit_test(test_every_bad_value_is_refused_with_what_was_wrong),
		cmocka_unit_test(test_query_parameters_land_in_their_fields),
		cmocka_unit_test(test_the_agent_runs_the_pod_modes_command_line),
		cmocka_unit_test(test_audit_names_the_user_image_and_container),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
