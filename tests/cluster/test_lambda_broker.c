/* Unit tests of lambda-cntr's broker mode (issue 8): --mode and $LAMBDA_CNTR_MODE, and the
 * session's request path to the broker's connect subresource. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/lambda_broker.h"
#include "cli/lambda_capsule_internal.h"
#include "cli/lambda_opts.h"
#include "common/err.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

static int parse(char **argv, struct lambda_opts *o, struct cntr_err *err)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(err, 0, sizeof(*err));
	return lambda_opts_parse(argc, argv, o, err);
}

static void test_mode_is_auto_unless_the_flag_or_the_environment_says(void **state)
{
	struct lambda_opts o;
	struct cntr_err err;

	(void)state;
	unsetenv("LAMBDA_CNTR_MODE");
	assert_int_equal(parse(ARGV("lambda-cntr", "attach", "web"), &o, &err), LAMBDA_PARSE_RUN);
	assert_int_equal(o.api_mode, LAMBDA_API_AUTO);
	assert_int_equal(parse(ARGV("lambda-cntr", "--mode", "broker", "attach", "web"), &o, &err), LAMBDA_PARSE_RUN);
	assert_int_equal(o.api_mode, LAMBDA_API_BROKER);
	setenv("LAMBDA_CNTR_MODE", "pod", 1);
	assert_int_equal(parse(ARGV("lambda-cntr", "attach", "web"), &o, &err), LAMBDA_PARSE_RUN);
	assert_int_equal(o.api_mode, LAMBDA_API_POD);
	/* The flag wins over the environment. */
	assert_int_equal(parse(ARGV("lambda-cntr", "attach", "--mode=auto", "web"), &o, &err), LAMBDA_PARSE_RUN);
	assert_int_equal(o.api_mode, LAMBDA_API_AUTO);
	setenv("LAMBDA_CNTR_MODE", "vm", 1);
	assert_int_equal(parse(ARGV("lambda-cntr", "attach", "web"), &o, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_USAGE);
	assert_string_equal(err.msg, "LAMBDA_CNTR_MODE: \"vm\" is not auto, pod or broker");
	unsetenv("LAMBDA_CNTR_MODE");
	assert_int_equal(parse(ARGV("lambda-cntr", "--mode", "Broker", "attach", "web"), &o, &err), -1);
	assert_string_equal(err.msg, "--mode: \"Broker\" is not auto, pod or broker");
}

static void test_pod_session_path_carries_container_profile_and_command(void **state)
{
	struct kube_exec_opts eopts;
	char *path;

	(void)state;
	kube_exec_opts_init(&eopts);
	eopts.tty = true;
	path = lambda_broker_path(&(struct lambda_broker_request){ LAMBDA_BROKER_POD, "shop", "web-1", "app",
								   "restricted", "xterm-256color",
								   ARGV("sh", "-c", "echo a&b=c") },
				  &eopts);
	assert_string_equal(path, "/apis/debug.lambda-cntr.io/v1alpha1/namespaces/shop/pods/web-1/attach"
				  "?command=sh&command=-c&command=echo%20a%26b%3Dc&container=app&stdin=true"
				  "&stdout=true&stderr=false&tty=true&profile=restricted&term=xterm-256color");
	free(path);
	/* A TERM that is not a terminfo name is not sent; without a tty none is. */
	path = lambda_broker_path(&(struct lambda_broker_request){ LAMBDA_BROKER_POD, "shop", "web-1", NULL, NULL,
								   "xterm;reboot", NULL },
				  &eopts);
	assert_null(strstr(path, "term="));
	free(path);
	eopts.tty = false;
	path = lambda_broker_path(&(struct lambda_broker_request){ LAMBDA_BROKER_POD, "shop", "web-1", NULL, NULL,
								   "xterm", NULL },
				  &eopts);
	assert_null(strstr(path, "term="));
	free(path);
}

static void test_default_shell_and_node_sessions_leave_out_what_they_lack(void **state)
{
	struct kube_exec_opts eopts;
	char *path;

	(void)state;
	kube_exec_opts_init(&eopts);
	path = lambda_broker_path(&(struct lambda_broker_request){ LAMBDA_BROKER_POD, "default", "web", NULL, NULL,
								   NULL, NULL },
				  &eopts);
	assert_string_equal(path, "/apis/debug.lambda-cntr.io/v1alpha1/namespaces/default/pods/web/attach"
				  "?stdin=true&stdout=true&stderr=true&tty=false");
	free(path);
	/* A node has no container: one given is not sent. */
	path = lambda_broker_path(&(struct lambda_broker_request){ LAMBDA_BROKER_NODE, NULL, "node-1", "app",
								   "sysadmin", NULL, ARGV("ps") },
				  &eopts);
	assert_string_equal(path, "/apis/debug.lambda-cntr.io/v1alpha1/nodes/node-1/attach"
				  "?command=ps&stdin=true&stdout=true&stderr=true&tty=false&profile=sysadmin");
	free(path);
}

static void test_capsule_run_path_names_the_node_image_targets_flags_and_command(void **state)
{
	struct capsule_container c[2] = { { .name = "a/web/main" }, { .name = "a/api-0/app" } };
	struct capsule_container *list[2] = { &c[0], &c[1] };
	struct capsule_node node = { .name = "node-1", .targets = list, .n = 2 };
	struct capsule_request req = { .image = "capsules.example/marker:1", .pull_policy = "Never",
				       .command = ARGV("sh", "-c", "cat /capsule-marker; hostname"), .parallel = 3,
				       .fail_fast = true, .timeout_s = 90, .profile = "netadmin", .share = "net,pid",
				       .seccomp_profile = "unconfined" };
	char *path;

	(void)state;
	path = capsule_broker_path(&req, &node);
	assert_string_equal(path, "/apis/debug.lambda-cntr.io/v1alpha1/nodes/node-1/capsule"
				  "?image=capsules.example%2Fmarker%3A1&target=a%2Fweb%2Fmain&target=a%2Fapi-0%2Fapp"
				  "&imagePullPolicy=Never&parallel=3&failFast=true&timeout=90&profile=netadmin"
				  "&share=net%2Cpid&seccompProfile=unconfined&command=sh&command=-c"
				  "&command=cat%20%2Fcapsule-marker%3B%20hostname&stdin=false&stdout=true&stderr=true&tty=false");
	free(path);
	/* Only what was asked: --iterative instead of a parallel count, no defaults sent. */
	req = (struct capsule_request){ .image = "cap", .command = ARGV("true"), .iterative = true, .parallel = 3 };
	node.n = 1;
	path = capsule_broker_path(&req, &node);
	assert_string_equal(path, "/apis/debug.lambda-cntr.io/v1alpha1/nodes/node-1/capsule?image=cap"
				  "&target=a%2Fweb%2Fmain&iterative=true&command=true&stdin=false&stdout=true"
				  "&stderr=true&tty=false");
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mode_is_auto_unless_the_flag_or_the_environment_says),
		cmocka_unit_test(test_pod_session_path_carries_container_profile_and_command),
		cmocka_unit_test(test_default_shell_and_node_sessions_leave_out_what_they_lack),
		cmocka_unit_test(test_capsule_run_path_names_the_node_image_targets_flags_and_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
