/* Unit tests of lambda-cntr's own parsing and decisions: the command line, the target pod's
 * container/state checks, the agent manifest and the reasons an agent cannot start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli/lambda_agent.h"
#include "cli/lambda_agent_spec.h"
#include "cli/lambda_cntr_argv.h"
#include "cli/lambda_events.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_opts.h"
#include "cli/lambda_target.h"
#include "common/cleanup.h"
#include "common/err.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

static int parse(char **argv, int argc, struct lambda_opts *o, struct cntr_err *err)
{
	memset(err, 0, sizeof(*err));
	return lambda_opts_parse(argc, argv, o, err);
}

static void test_attach_pod_container_and_command(void **state)
{
	char **argv = ARGV("lambda-cntr", "attach", "web", "-n", "shop", "sidecar", "--", "ls", "-la", "--", "x");
	struct lambda_opts o;
	struct cntr_err err;

	assert_int_equal(parse(argv, 11, &o, &err), LAMBDA_PARSE_RUN);
	assert_int_equal(o.mode, LAMBDA_ATTACH);
	assert_string_equal(o.pod, "web");
	assert_string_equal(o.container, "sidecar");
	assert_string_equal(o.namespace, "shop");
	assert_string_equal(o.command[0], "ls");
	assert_string_equal(o.command[1], "-la"); /* the command's flags are not ours */
	assert_string_equal(o.command[2], "--");
	assert_null(o.command[4]);
	assert_int_equal(o.timeout_s, 120);
	assert_int_equal(o.idle_timeout_s, 600);
	assert_string_equal(o.program, "lambda-cntr");
}

static void test_flags_durations_and_environment(void **state)
{
	char **argv = ARGV("/usr/local/bin/kubectl-cntr", "execute", "--timeout", "90s", "--idle-timeout", "1h",
			   "--keep", "-vv", "-c", "app", "--context", "prod", "--kubeconfig", "/k", "web", "--", "true");
	struct lambda_opts o;
	struct cntr_err err;

	setenv("CNTR_IMAGE", "registry.example/agent:9", 1);
	setenv("SOCKET_PATH", "/run/containerd/containerd.sock", 1);
	assert_int_equal(parse(argv, 17, &o, &err), LAMBDA_PARSE_RUN);
	unsetenv("CNTR_IMAGE");
	unsetenv("SOCKET_PATH");
	assert_string_equal(o.program, "kubectl cntr");
	assert_int_equal(o.mode, LAMBDA_EXECUTE);
	assert_int_equal(o.timeout_s, 90);
	assert_int_equal(o.idle_timeout_s, 3600);
	assert_true(o.keep);
	assert_int_equal(o.verbose, 2);
	assert_string_equal(o.container, "app");
	assert_string_equal(o.context, "prod");
	assert_string_equal(o.kubeconfig, "/k");
	assert_string_equal(o.image, "registry.example/agent:9");
	assert_string_equal(o.socket_path, "/run/containerd/containerd.sock");
	assert_string_equal(o.pull_policy, "IfNotPresent");
	assert_int_equal(parse(ARGV("lambda-cntr", "attach", "--image-pull-policy", "Always", "web"), 5, &o, &err),
			 LAMBDA_PARSE_RUN);
	assert_string_equal(o.pull_policy, "Always");
}

static void test_default_image_is_the_versioned_agent(void **state)
{
	char **argv = ARGV("lambda-cntr", "attach", "web");
	struct lambda_opts o;
	struct cntr_err err;

	unsetenv("CNTR_IMAGE");
	assert_int_equal(parse(argv, 3, &o, &err), LAMBDA_PARSE_RUN);
	assert_string_equal(o.image, "lambda-cntr-agent:" CNTR_VERSION);
	assert_null(o.command);
	assert_null(o.container);
}

static void test_usage_errors(void **state)
{
	/* Writable: getopt permutes argv. */
	struct {
		char *argv[8];
		const char *msg;
	} cases[] = {
		{ { "lambda-cntr", NULL }, "missing command" },
		{ { "lambda-cntr", "attach", NULL }, "missing POD" },
		{ { "lambda-cntr", "execute", "web", NULL }, "needs a command" },
		{ { "lambda-cntr", "execute", "web", "--", NULL }, "needs a command" },
		{ { "lambda-cntr", "attach", "--keep", "--rm", "web", NULL }, "contradict" },
		{ { "lambda-cntr", "attach", "--timeout", "-5s", "web", NULL }, "--timeout" },
		{ { "lambda-cntr", "attach", "--timeout", "0", "web", NULL }, "more than 0s" },
		{ { "lambda-cntr", "attach", "-c", "a", "web", "b", NULL }, "container given twice" },
		{ { "lambda-cntr", "attach", "web", "a", "b", NULL }, "unexpected argument" },
		{ { "lambda-cntr", "attach", "web", "-n", NULL }, "missing value" },
		{ { "lambda-cntr", "debug", "web", NULL }, "unknown command" },
		{ { "lambda-cntr", "attach", "--image-pull-policy", "always", "web", NULL }, "not Always, IfNotPresent or Never" },
		{ { "lambda-cntr", "node", NULL }, "missing NODE" },
		{ { "lambda-cntr", "node", "n1", "n2", NULL }, "unexpected argument \"n2\"" },
		{ { "lambda-cntr", "node", "-c", "app", "n1", NULL }, "node takes no container" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lambda_opts o;
		struct cntr_err err;
		int argc = 0;

		while (cases[i].argv[argc])
			argc++;
		assert_int_equal(parse(cases[i].argv, argc, &o, &err), -1);
		assert_int_equal(err.code, CNTR_EXIT_USAGE);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, err.msg, cases[i].msg);
	}
}

static void test_node_takes_a_node_and_an_optional_command(void **state)
{
	struct lambda_opts o;
	struct cntr_err err;

	assert_int_equal(parse(ARGV("lambda-cntr", "node", "--profile", "sysadmin", "worker-3"), 5, &o, &err),
			 LAMBDA_PARSE_RUN);
	assert_int_equal(o.mode, LAMBDA_NODE);
	assert_string_equal(o.node, "worker-3");
	assert_string_equal(o.profile, "sysadmin");
	assert_null(o.pod);
	assert_null(o.command);
	assert_int_equal(parse(ARGV("lambda-cntr", "node", "worker-3", "--", "ps", "-e"), 6, &o, &err),
			 LAMBDA_PARSE_RUN);
	assert_string_equal(o.command[0], "ps");
	assert_string_equal(o.command[1], "-e");
}

static void test_help_and_version(void **state)
{
	struct lambda_opts o;
	struct cntr_err err;

	assert_int_equal(parse(ARGV("lambda-cntr", "--help"), 2, &o, &err), LAMBDA_PARSE_HELP);
	assert_int_equal(parse(ARGV("lambda-cntr", "attach", "-h"), 3, &o, &err), LAMBDA_PARSE_HELP);
	assert_int_equal(parse(ARGV("lambda-cntr", "--version"), 2, &o, &err), LAMBDA_PARSE_VERSION);
	/* "--help" after "--" belongs to the command. */
	assert_int_equal(parse(ARGV("lambda-cntr", "attach", "web", "--", "ls", "--help"), 6, &o, &err),
			 LAMBDA_PARSE_RUN);
}

/* --- target lookup on pod objects --- */

static json_t *pod(const char *json)
{
	json_error_t e;
	json_t *p = json_loads(json, 0, &e);

	if (!p)
		fail_msg("bad fixture: %s", e.text);
	return p;
}

#define META "\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"}"
/* Container IDs as the runtimes report them: 64 lowercase hex digits. */
#define ID_A "abc1230000000000000000000000000000000000000000000000000000000000"
#define ID_1 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID_2 "2222222222222222222222222222222222222222222222222222222222222222"
#define ID_3 "3333333333333333333333333333333333333333333333333333333333333333"
#define ID_4 "4444444444444444444444444444444444444444444444444444444444444444"
#define ID_5 "5555555555555555555555555555555555555555555555555555555555555555"
#define ID_7 "7777777777777777777777777777777777777777777777777777777777777777"
#define ID_9 "9999999999999999999999999999999999999999999999999999999999999999"
#define RUNNING(name, id) \
	"{\"name\":\"" name "\",\"containerID\":\"" id "\",\"state\":{\"running\":{}}}"

static void test_target_single_running_container(void **state)
{
	json_t *p = pod("{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "cri-o://" ID_A) "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), 0);
	assert_string_equal(t.container, "app");
	assert_string_equal(t.runtime, "cri-o");
	assert_string_equal(t.container_id, ID_A);
	assert_string_equal(t.node, "n1");
	assert_string_equal(t.namespace, "shop");
	lambda_target_clear(&t);
	json_decref(p);
}

static void test_target_ambiguous_and_unknown_container(void **state)
{
	json_t *p = pod("{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"},{\"name\":\"log\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "containerd://" ID_1)
			"," RUNNING("log", "containerd://" ID_2) "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_string_equal(err.msg, "pod \"web\" in namespace \"shop\" has 2 containers, choose one with -c: app, log");
	assert_int_equal(lambda_target_from_pod(p, "db", &t, &err), -1);
	assert_non_null(strstr(err.msg, "has no container \"db\"; its containers: app, log"));
	assert_int_equal(lambda_target_from_pod(p, "log", &t, &err), 0);
	assert_string_equal(t.container_id, ID_2);
	lambda_target_clear(&t);
	json_decref(p);
}

static void test_target_not_running_states(void **state)
{
	static const struct {
		const char *status;
		const char *msg;
	} cases[] = {
		{ "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
		  "\"reason\":\"Unschedulable\",\"message\":\"0/3 nodes are available\"}]}",
		  "is not running: Pending: Unschedulable: 0/3 nodes are available" },
		{ "{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"terminated\":"
		  "{\"reason\":\"Completed\",\"exitCode\":0}}}]}",
		  "is not running: Succeeded; container \"app\": Terminated: Completed (exit code 0)" },
		{ "{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"waiting\":"
		  "{\"reason\":\"CrashLoopBackOff\",\"message\":\"back-off 10s\"}}}]}",
		  "container \"app\" of pod \"web\" in namespace \"shop\" is not running: Waiting: CrashLoopBackOff: back-off 10s" },
		{ "{\"phase\":\"Failed\",\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"terminated\":"
		  "{\"reason\":\"Error\",\"exitCode\":1,\"message\":\"panic: boom\\n\\tat main.go:3\\n\"}}}]}",
		  "container \"app\": Terminated: Error (exit code 1): panic: boom  at main.go:3" },
		{ "{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"app\",\"containerID\":\"\","
		  "\"state\":{\"running\":{}}}]}",
		  "has an invalid containerID \"\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		struct lambda_target t;
		struct cntr_err err = { 0 };
		json_t *p;

		assert_true(asprintf(&text, "{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"}]},"
				     "\"status\":%s}", cases[i].status) > 0);
		p = pod(text);
		assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err.msg, cases[i].msg);
		json_decref(p);
		free(text);
	}
}

static void test_target_sidecar_init_and_ephemeral_containers_by_name(void **state)
{
	/* A 1.29+ sidecar (init container with restartPolicy Always) and an ephemeral debug
	 * container are reported outside containerStatuses; both are attachable by name. */
	json_t *p = pod("{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"},{\"name\":\"log\"}],"
			"\"initContainers\":[{\"name\":\"setup\"},{\"name\":\"proxy\",\"restartPolicy\":\"Always\"}],"
			"\"ephemeralContainers\":[{\"name\":\"debugger-x\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "containerd://" ID_1)
			"," RUNNING("log", "containerd://" ID_2) "],\"initContainerStatuses\":[{\"name\":\"setup\","
			"\"containerID\":\"containerd://" ID_3 "\",\"state\":{\"terminated\":{\"reason\":\"Completed\",\"exitCode\":0}}},"
			RUNNING("proxy", "containerd://" ID_4) "],\"ephemeralContainerStatuses\":["
			RUNNING("debugger-x", "containerd://" ID_5) "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, "proxy", &t, &err), 0);
	assert_string_equal(t.container_id, ID_4);
	lambda_target_clear(&t);
	assert_int_equal(lambda_target_from_pod(p, "debugger-x", &t, &err), 0);
	assert_string_equal(t.container_id, ID_5);
	lambda_target_clear(&t);
	assert_int_equal(lambda_target_from_pod(p, "setup", &t, &err), -1);
	assert_non_null(strstr(err.msg, "container \"setup\" of pod \"web\" in namespace \"shop\" is not running: "
				       "Terminated: Completed (exit code 0)"));
	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
	assert_non_null(strstr(err.msg, "has 2 containers, choose one with -c: app, log, setup (init), "
				       "proxy (sidecar), debugger-x (ephemeral)"));
	json_decref(p);
}

static void test_target_running_init_container_of_a_pending_pod(void **state)
{
	json_t *p = pod("{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"}],"
			"\"initContainers\":[{\"name\":\"migrate\"}]},"
			"\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":[" RUNNING("migrate", "containerd://" ID_9)
			"],\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, "migrate", &t, &err), 0);
	assert_string_equal(t.container_id, ID_9);
	lambda_target_clear(&t);
	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
	assert_non_null(strstr(err.msg, "is not running: Pending; container \"app\": Waiting: PodInitializing"));
	json_decref(p);
}

static void test_target_default_container_annotation(void **state)
{
	json_t *p = pod("{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\",\"annotations\":"
			"{\"kubectl.kubernetes.io/default-container\":\"log\"}},"
			"\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"},{\"name\":\"log\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "containerd://" ID_1)
			"," RUNNING("log", "containerd://" ID_2) "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), 0);
	assert_string_equal(t.container, "log");
	lambda_target_clear(&t);
	assert_int_equal(lambda_target_from_pod(p, "app", &t, &err), 0); /* -c wins */
	assert_string_equal(t.container, "app");
	lambda_target_clear(&t);
	/* An annotation naming no container is ignored: the usual choice applies. */
	json_object_set_new(json_object_get(json_object_get(p, "metadata"), "annotations"),
			    "kubectl.kubernetes.io/default-container", json_string("gone"));
	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
	assert_non_null(strstr(err.msg, "choose one with -c: app, log"));
	json_decref(p);
}

static void test_target_terminating_pod_is_attachable_while_its_container_runs(void **state)
{
	json_t *p = pod("{\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\",\"deletionTimestamp\":\"2024-01-01T00:00:00Z\"},"
			"\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "docker://" ID_7) "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), 0);
	assert_string_equal(t.runtime, "docker");
	lambda_target_clear(&t);
	json_object_set_new(json_array_get(json_object_get(json_object_get(p, "status"), "containerStatuses"), 0),
			    "state", json_pack("{s:{s:s, s:i}}", "terminated", "reason", "Error", "exitCode", 143));
	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
	assert_non_null(strstr(err.msg, "is terminating; container \"app\": Terminated: Error (exit code 143)"));
	json_decref(p);
}

static void test_target_crash_loop_names_the_last_termination(void **state)
{
	json_t *p = pod("{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"app\",\"restartCount\":4,"
			"\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\",\"message\":\"back-off 40s\"}},"
			"\"lastState\":{\"terminated\":{\"reason\":\"OOMKilled\",\"exitCode\":137}}}]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
	assert_non_null(strstr(err.msg, "is not running: Waiting: CrashLoopBackOff: back-off 40s; last "
				       "Terminated: OOMKilled (exit code 137); restarts: 4"));
	json_decref(p);
}

/* --- the agent --- */

static void test_agent_manifest(void **state)
{
	struct lambda_agent_params params = { .name = "lambda-cntr-n1-abcde", .namespace = "shop", .node = "n1",
					      .image = "img:1", .socket_path = "/run/containerd/containerd.sock",
					      .idle_timeout_s = 90 };
	json_t *m = lambda_agent_manifest(&params);
	json_t *spec = json_object_get(m, "spec");
	json_t *c = json_array_get(json_object_get(spec, "containers"), 0);
	json_t *env = json_object_get(c, "env");

	assert_true(json_is_true(json_object_get(spec, "hostPID")));
	assert_string_equal(json_string_value(json_object_get(spec, "nodeName")), "n1");
	assert_string_equal(json_string_value(json_object_get(spec, "restartPolicy")), "Never");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(spec, "tolerations"), 0),
								  "operator")), "Exists");
	assert_true(json_is_true(json_object_get(json_object_get(c, "securityContext"), "privileged")));
	/* The agent writes nothing: a read-only root leaves nothing to plant for the next user. */
	assert_true(json_is_true(json_object_get(json_object_get(c, "securityContext"), "readOnlyRootFilesystem")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "securityContext"), "runAsUser")), 0);
	assert_string_equal(json_string_value(json_object_get(c, "image")), "img:1");
	assert_string_equal(json_string_value(json_object_get(c, "imagePullPolicy")), "IfNotPresent");
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 0), "value")), "lambda-cntr-n1-abcde");
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 1), "value")), "90");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(m, "metadata"), "labels"),
							      LAMBDA_AGENT_MANAGED_BY_LABEL)), "lambda-cntr");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
		json_object_get(spec, "volumes"), 0), "hostPath"), "path")), "/run/containerd/containerd.sock");
	/* ...mounted at a fixed path under /run, which no session's tree contains, and named to the
	 * clients that look for it. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(c, "volumeMounts"), 0),
							      "mountPath")), "/run/lambda-cntr/runtime.sock");
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 2), "name")), "DOCKER_HOST");
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 2), "value")),
			    "unix:///run/lambda-cntr/runtime.sock");
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 3), "name")),
			    "CONTAINER_RUNTIME_ENDPOINT");
	/* No service-mesh sidecar in the agent: it would outlive the agent's command. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(m, "metadata"), "labels"),
							      "sidecar.istio.io/inject")), "false");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(m, "metadata"), "annotations"),
							      "linkerd.io/inject")), "disabled");
	json_decref(m);

	params.socket_path = NULL;
	m = lambda_agent_manifest(&params);
	assert_null(json_object_get(json_object_get(m, "spec"), "volumes"));
	assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(json_object_get(m, "spec"),
											  "containers"), 0), "env")), 2);
	json_decref(m);
}

static void test_session_argv_marks_the_session_and_runs_cntr_itself(void **state)
{
	char *cntr_argv[] = { "cntr", "attach", "abc123", "--", "ls", NULL };
	char *id = lambda_agent_session_id();
	char **argv = lambda_agent_session_argv(id, NULL, cntr_argv);
	char **with_term = lambda_agent_session_argv(id, "xterm-256color", cntr_argv);
	char **odd_term = lambda_agent_session_argv(id, "x; rm -rf /", cntr_argv);
	char **count = lambda_agent_count_others_argv(id);
	char **end = lambda_agent_end_session_argv(id);
	char *marker = NULL;

	assert_int_equal(strlen(id), 16);
	assert_true(asprintf(&marker, "LAMBDA_CNTR_SESSION=%s", id) > 0);
	assert_string_equal(argv[0], "env"); /* not a shell: env execs cntr in its place */
	assert_string_equal(argv[1], marker);
	for (int i = 0; cntr_argv[i]; i++)
		assert_string_equal(argv[i + 2], cntr_argv[i]);
	assert_null(argv[7]);
	assert_string_equal(with_term[2], "TERM=xterm-256color");
	assert_string_equal(with_term[3], "cntr");
	assert_string_equal(odd_term[2], "cntr");
	strv_free(with_term);
	strv_free(odd_term);
	/* the agent's programs are cntr's own: no shell in the agent */
	assert_string_equal(count[0], "cntr");
	assert_string_equal(count[1], "agent");
	assert_string_equal(count[2], "count-others");
	assert_string_equal(count[3], id);
	assert_null(count[4]);
	assert_string_equal(end[2], "end-session");
	assert_string_equal(end[3], id);
	free(marker);
	free(id);
	strv_free(argv);
	strv_free(count);
	strv_free(end);
}

static void assert_dns_label(const char *name)
{
	assert_in_range(strlen(name), 1, 63);
	assert_true(name[0] != '-' && name[strlen(name) - 1] != '-');
	for (const char *p = name; *p; p++)
		assert_non_null(strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *p));
}

static void test_agent_name_is_a_valid_pod_name(void **state)
{
	char *a = lambda_agent_name("Worker_1.Example.com");
	char *b = lambda_agent_name("Worker_1.Example.com");
	/* Node names may be 253 characters long; a cut must not leave "-." or "--x" behind. */
	char *c = lambda_agent_name("ip-10-0-1-2.eu-west-1.compute.internal.very-long-domain.example.com");
	char *d = lambda_agent_name("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbb");

	assert_int_equal(strncmp(a, "lambda-cntr-worker-1-example-com-", 33), 0);
	assert_int_equal(strlen(a), 33 + 5);
	assert_dns_label(a);
	assert_string_not_equal(a, b); /* random suffix: two clients do not clash */
	assert_int_equal(strncmp(c, "lambda-cntr-ip-10-0-1-2-eu-west-1-compute-internal-", 51), 0);
	assert_dns_label(c);
	assert_dns_label(d);
	assert_null(strstr(d, "--"));
	free(a);
	free(b);
	free(c);
	free(d);
}

static void test_agent_failure_reasons(void **state)
{
	static const struct {
		const char *status;
		const char *failure; /* NULL: still starting */
		int ready;
	} cases[] = {
		{ "{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"agent\",\"state\":{\"waiting\":"
		  "{\"reason\":\"ContainerCreating\"}}}]}", NULL, 0 },
		{ "{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"agent\",\"state\":{\"waiting\":"
		  "{\"reason\":\"ErrImagePull\",\"message\":\"not found\"}}}]}", "Waiting: ErrImagePull: not found", 0 },
		{ "{\"phase\":\"Pending\",\"containerStatuses\":[{\"name\":\"agent\",\"state\":{\"waiting\":"
		  "{\"reason\":\"ImagePullBackOff\",\"message\":\"Back-off\"}}}]}", "Waiting: ImagePullBackOff: Back-off", 0 },
		{ "{\"phase\":\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
		  "\"reason\":\"Unschedulable\",\"message\":\"taint\"}]}", "Pending: Unschedulable: taint", 0 },
		{ "{\"phase\":\"Failed\",\"reason\":\"OutOfcpu\",\"message\":\"Node didn't have enough\"}",
		  "Failed: OutOfcpu: Node didn't have enough", 0 },
		{ "{\"phase\":\"Failed\",\"reason\":\"NodeAffinity\",\"message\":\"Pod was rejected: Predicate "
		  "NodeAffinity failed\"}", "Failed: NodeAffinity: Pod was rejected: Predicate NodeAffinity failed", 0 },
		{ "{\"phase\":\"Failed\",\"containerStatuses\":[{\"name\":\"agent\",\"state\":{\"terminated\":"
		  "{\"reason\":\"StartError\",\"exitCode\":128,\"message\":\"exec: \\\"/bin/sh\\\": no such file\"}}}]}",
		  "Failed; container agent: Terminated: StartError (exit code 128): exec: \"/bin/sh\": no such file", 0 },
		{ "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}],"
		  "\"containerStatuses\":[{\"name\":\"agent\",\"ready\":false,\"state\":{\"running\":{}}}]}", NULL, 0 },
		{ "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}", NULL, 1 },
		{ "{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}", NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL, *failure;
		json_t *p;

		assert_true(asprintf(&text, "{\"metadata\":{\"name\":\"a\"},\"status\":%s}", cases[i].status) > 0);
		p = pod(text);
		failure = lambda_agent_failure(p);
		if (cases[i].failure) {
			assert_non_null(failure);
			assert_string_equal(failure, cases[i].failure);
		} else {
			assert_null(failure);
		}
		assert_int_equal(lambda_agent_pod_ready(p), cases[i].ready);
		free(failure);
		free(text);
		json_decref(p);
	}
}

static json_t *agent_container(json_t *pod)
{
	return json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0);
}

/* An agent pod as its creator leaves it: Ready, its container running image_id, and that
 * imageID recorded in its annotation when record is true. Takes pod. */
static json_t *running_agent(json_t *pod, const char *image_id, bool record)
{
	json_object_set_new(pod, "status", json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "phase", "Running",
						     "containerStatuses", "name", "agent", "image",
						     json_string_value(json_object_get(agent_container(pod), "image")), "imageID", image_id));
	if (record)
		json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
				    LAMBDA_AGENT_IMAGE_ID_ANNOTATION, json_string(image_id));
	return pod;
}

#define IMAGE_ID_A "docker.io/library/img@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define IMAGE_ID_B "docker.io/library/img@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_warm_agent_fits_only_with_the_same_image_and_the_socket_asked_for(void **state)
{
	struct lambda_agent_params with_socket = { .name = "a", .namespace = "ns", .node = "n1", .image = "img:1",
						   .socket_path = "/run/containerd/containerd.sock", .idle_timeout_s = 60 };
	struct lambda_agent_params plain = with_socket, other_image = with_socket;
	json_t *socket_agent, *plain_agent;

	plain.socket_path = NULL;
	other_image.image = "img:2";
	socket_agent = running_agent(lambda_agent_manifest(&with_socket), IMAGE_ID_A, true);
	plain_agent = running_agent(lambda_agent_manifest(&plain), IMAGE_ID_A, true);
	assert_null(lambda_agent_mismatch(socket_agent, &with_socket));
	assert_null(lambda_agent_mismatch(socket_agent, &plain)); /* more than needed is fine */
	assert_null(lambda_agent_mismatch(plain_agent, &plain));
	assert_non_null(strstr(lambda_agent_mismatch(plain_agent, &with_socket), "-s"));
	assert_non_null(strstr(lambda_agent_mismatch(socket_agent, &other_image), "another image"));
	plain.pull_policy = "Always";
	assert_non_null(strstr(lambda_agent_mismatch(socket_agent, &plain), "Always"));
	json_decref(plain_agent);
	plain_agent = running_agent(lambda_agent_manifest(&plain), IMAGE_ID_A, true);
	assert_null(lambda_agent_mismatch(plain_agent, &plain));
	json_decref(socket_agent);
	json_decref(plain_agent);
}


static void test_warm_agent_is_trusted_only_with_this_versions_spec(void **state)
{
	struct lambda_agent_params params = { .name = "lambda-cntr-n1-abcde", .namespace = "ns", .node = "n1",
					      .image = "img:1", .socket_path = "/run/containerd/containerd.sock",
					      .idle_timeout_s = 60 };
	json_t *agent = running_agent(lambda_agent_manifest(&params), IMAGE_ID_A, true);
	json_t *sc = json_object_get(agent_container(agent), "securityContext");
	json_t *mount = json_array_get(json_object_get(agent_container(agent), "volumeMounts"), 0);

	assert_null(lambda_agent_mismatch(agent, &params));
	/* A webhook may add fields; ours must keep their values. */
	json_object_set_new(sc, "seLinuxOptions", json_pack("{s:s}", "type", "spc_t"));
	assert_null(lambda_agent_mismatch(agent, &params));
	/* An agent of an older version (or edited): a writable root is not reused. */
	json_object_del(sc, "readOnlyRootFilesystem");
	assert_non_null(strstr(lambda_agent_mismatch(agent, &params), "read-only root filesystem"));
	json_object_set_new(sc, "readOnlyRootFilesystem", json_false());
	assert_non_null(strstr(lambda_agent_mismatch(agent, &params), "securityContext"));
	json_object_set_new(sc, "readOnlyRootFilesystem", json_true());
	assert_null(lambda_agent_mismatch(agent, &params));
	/* Another program, or arguments added to ours. */
	json_object_set_new(agent_container(agent), "args", json_pack("[s]", "x"));
	assert_non_null(strstr(lambda_agent_mismatch(agent, &params), "another program"));
	json_object_del(agent_container(agent), "args");
	json_array_set_new(json_object_get(agent_container(agent), "command"), 2, json_string("sleep 1d"));
	assert_non_null(strstr(lambda_agent_mismatch(agent, &params), "another program"));
	json_decref(agent);

	/* The socket where older versions mounted it (its node path, maybe inside /usr or /etc). */
	agent = running_agent(lambda_agent_manifest(&params), IMAGE_ID_A, true);
	mount = json_array_get(json_object_get(agent_container(agent), "volumeMounts"), 0);
	json_object_set_new(mount, "mountPath", json_string("/run/containerd/containerd.sock"));
	assert_string_equal(lambda_agent_mismatch(agent, &params), "it mounts volumes this version's agent does not");
	json_decref(agent);
}

/* RFC 7386 merge patch of target, in place (arrays and scalars replace). */
static void merge_patch(json_t *target, const json_t *patch)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)patch, key, value) {
		json_t *old = json_object_get(target, key);

		if (json_is_null(value))
			json_object_del(target, key);
		else if (json_is_object(value) && json_is_object(old))
			merge_patch(old, value);
		else
			json_object_set(target, key, value);
	}
}

/* A look-alike: our labels on a pod whose spec, owner, creator or image is not what this
 * version creates for this user. Each is ignored with the reason -v prints. */
static void test_look_alike_agents_are_ignored_with_the_reason(void **state)
{
	struct lambda_agent_params params = { .name = "lambda-cntr-n1-abcde", .namespace = "ns", .node = "n1",
					      .image = "img:1", .creator = "alice", .idle_timeout_s = 60 };
	struct lambda_agent_params bob = params, pinned = params;
	static const struct {
		const char *what;
		const char *edit; /* a merge patch of the agent as created */
		const char *reason;
	} cases[] = {
		{ "not privileged", "{\"spec\":{\"containers\":[{\"name\":\"agent\",\"image\":\"img:1\","
		  "\"command\":[\"cntr\",\"agent\",\"idle\"],\"securityContext\":{\"readOnlyRootFilesystem\":true}}]}}",
		  "its securityContext is not this version's (privileged, read-only root filesystem)" },
		{ "no hostPID", "{\"spec\":{\"hostPID\":false}}", "it does not share the node's PID namespace" },
		{ "another command", "{\"spec\":{\"containers\":[{\"name\":\"agent\",\"image\":\"img:1\","
		  "\"command\":[\"sh\",\"-c\",\"sleep 1d\"],\"securityContext\":{\"privileged\":true,"
		  "\"runAsUser\":0,\"readOnlyRootFilesystem\":true}}]}}",
		  "it runs another program than this version's agent" },
		{ "no scheme label", "{\"metadata\":{\"labels\":{\"lambda-cntr.io/agent-scheme\":null}}}",
		  "it is not owned by lambda-cntr's agent pods (labels or ownerReferences differ)" },
		{ "a controller's pod", "{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
		  "\"kind\":\"DaemonSet\",\"name\":\"x\",\"uid\":\"1\",\"controller\":true}]}}",
		  "it is not owned by lambda-cntr's agent pods (labels or ownerReferences differ)" },
		{ "another creator", "{\"metadata\":{\"annotations\":{\"lambda-cntr.io/created-by\":\"mallory\"}}}",
		  "it was created by another user" },
		{ "no creator", "{\"metadata\":{\"annotations\":{\"lambda-cntr.io/created-by\":null}}}",
		  "it was created by another user" },
		{ "a re-tagged image", "{\"metadata\":{\"annotations\":{\"lambda-cntr.io/image-id\":\"" IMAGE_ID_B "\"}}}",
		  "image digest differs" },
		{ "no recorded digest", "{\"metadata\":{\"annotations\":{\"lambda-cntr.io/image-id\":null}}}",
		  "its image digest was not recorded by its creator" },
		{ "a sidecar", "{\"spec\":{\"initContainers\":[{\"name\":\"x\",\"image\":\"img:1\"}]}}",
		  "it runs other containers than this version's agent" },
		{ "an ephemeral container added later",
		  "{\"spec\":{\"ephemeralContainers\":[{\"name\":\"debugger\",\"image\":\"img:1\"}]}}",
		  "it runs other containers than this version's agent" },
		{ "in a sandbox", "{\"spec\":{\"runtimeClassName\":\"gvisor\"}}", "it runs under a RuntimeClass" },
		{ "no imageID", "{\"status\":{\"containerStatuses\":[{\"name\":\"agent\",\"imageID\":\"\"}]}}",
		  "its image digest is unknown (no imageID in its status)" },
	};
	json_t *agent;

	agent = running_agent(lambda_agent_manifest(&params), IMAGE_ID_A, true);
	assert_null(lambda_agent_mismatch(agent, &params));
	bob.creator = "bob";
	assert_string_equal(lambda_agent_mismatch(agent, &bob), "it was created by another user");
	json_decref(agent);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *patch = json_loads(cases[i].edit, 0, NULL);
		json_t *pod = running_agent(lambda_agent_manifest(&params), IMAGE_ID_A, true);

		assert_non_null(patch);
		merge_patch(pod, patch);
		print_message("look-alike: %s\n", cases[i].what);
		assert_string_equal(lambda_agent_mismatch(pod, &params), cases[i].reason);
		json_decref(patch);
		json_decref(pod);
	}
	/* A hook or an exec probe runs as root next to every session; the defaults the API server
	 * fills in do not count. */
	agent = running_agent(lambda_agent_manifest(&params), IMAGE_ID_A, true);
	json_object_set_new(agent_container(agent), "terminationMessagePath", json_string("/dev/termination-log"));
	json_object_set_new(agent_container(agent), "terminationMessagePolicy", json_string("File"));
	assert_null(lambda_agent_mismatch(agent, &params));
	json_object_set_new(agent_container(agent), "readinessProbe",
			    json_pack("{s:{s:[s, s, s]}}", "exec", "command", "sh", "-c", "true"));
	assert_string_equal(lambda_agent_mismatch(agent, &params),
			    "its container has fields this version's agent does not (hooks, probes...)");
	json_object_del(agent_container(agent), "readinessProbe");
	json_object_set_new(agent_container(agent), "lifecycle",
			    json_pack("{s:{s:{s:[s]}}}", "postStart", "exec", "command", "/evil"));
	assert_string_equal(lambda_agent_mismatch(agent, &params),
			    "its container has fields this version's agent does not (hooks, probes...)");
	json_decref(agent);
	/* An added variable (LD_PRELOAD, PATH) or volume changes what runs when a session starts. */
	agent = running_agent(lambda_agent_manifest(&params), IMAGE_ID_A, true);
	json_array_append_new(json_object_get(agent_container(agent), "env"),
			      json_pack("{s:s, s:s}", "name", "LD_PRELOAD", "value", "/x.so"));
	assert_string_equal(lambda_agent_mismatch(agent, &params), "its environment is not this version's");
	json_decref(agent);
	agent = running_agent(lambda_agent_manifest(&params), IMAGE_ID_A, true);
	json_object_set_new(agent_container(agent), "volumeMounts",
			    json_pack("[{s:s, s:s}]", "name", "tools", "mountPath", "/usr/bin"));
	assert_string_equal(lambda_agent_mismatch(agent, &params), "it mounts volumes this version's agent does not");
	json_decref(agent);

	/* A reference by digest pins the image: the running imageID must carry that digest, whatever
	 * was recorded. */
	pinned.image = "registry.example/img@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	agent = running_agent(lambda_agent_manifest(&pinned), "registry.example/img@sha256:"
			      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false);
	assert_null(lambda_agent_mismatch(agent, &pinned));
	json_decref(agent);
	agent = running_agent(lambda_agent_manifest(&pinned), IMAGE_ID_B, true);
	assert_string_equal(lambda_agent_mismatch(agent, &pinned), "image digest differs");
	json_decref(agent);
	/* "sha256:HEX" alone (an image loaded on the node) counts; a digest inside a name does not. */
	agent = running_agent(lambda_agent_manifest(&pinned), "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			      false);
	assert_null(lambda_agent_mismatch(agent, &pinned));
	json_decref(agent);
	agent = running_agent(lambda_agent_manifest(&pinned), "evil-sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			      false);
	assert_string_equal(lambda_agent_mismatch(agent, &pinned), "image digest differs");
	json_decref(agent);
}

static void test_container_id_must_be_a_known_runtime_and_64_hex_digits(void **state)
{
	static const char *const refused[] = {
		"containerd://1",            /* would be PID 1 of the hostPID agent: the node */
		"containerd://-v",           /* would be an option */
		"containerd://-" ID_1,
		"containerd://" "ABC1230000000000000000000000000000000000000000000000000000000000", /* upper case */
		"containerd://" "111111111111111111111111111111111111111111111111111111111111111",  /* 63 */
		"containerd://" ID_1 "1",    /* 65 */
		"containerd://" ID_1 "\n",
		"containerd://" ID_1 "/x",
		"containerd://../../" ID_1,
		"containerd:/" ID_1,
		"podman://" ID_1,
		"://" ID_1,
		ID_1,
		"",
	};
	static const char *const accepted[][2] = {
		{ "containerd://" ID_1, "containerd" },
		{ "cri-o://" ID_A, "cri-o" },
		{ "docker://" ID_7, "docker" },
	};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char *runtime = NULL, *id = NULL;
		if (lambda_container_id_parse(refused[i], &runtime, &id) != -1)
			fail_msg("accepted \"%s\"", refused[i]);
		assert_null(runtime);
		assert_null(id);
	}
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		char *runtime = NULL, *id = NULL;
		assert_int_equal(lambda_container_id_parse(accepted[i][0], &runtime, &id), 0);
		assert_string_equal(runtime, accepted[i][1]);
		assert_string_equal(id, strstr(accepted[i][0], "://") + 3);
		free(runtime);
		free(id);
	}
}

static void test_target_with_a_bad_container_id_is_refused_naming_it_escaped(void **state)
{
	static const struct {
		const char *id_json;
		const char *shown;
	} cases[] = {
		{ "containerd://1", "\"containerd://1\"" },
		{ "containerd://-v", "\"containerd://-v\"" },
		{ "containerd://\\u001b]0;pwned\\u0007", "\"containerd://\\x1b]0;pwned\\x07\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = NULL;
		struct lambda_target t;
		struct cntr_err err = { 0 };
		json_t *p;

		assert_true(asprintf(&text, "{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"}]},"
				     "\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "%s") "]}}",
				     cases[i].id_json) > 0);
		p = pod(text);
		assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
		assert_int_equal(err.code, CNTR_EXIT_FAILURE);
		if (!strstr(err.msg, "container \"app\" of pod \"web\" in namespace \"shop\" has an invalid containerID ") ||
		    !strstr(err.msg, cases[i].shown) || strchr(err.msg, '\x1b'))
			fail_msg("case %zu: %s", i, err.msg);
		assert_null(t.container_id);
		json_decref(p);
		free(text);
	}
}

static void test_target_names_must_be_kubernetes_names(void **state)
{
	json_t *p = pod("{" META ",\"spec\":{\"nodeName\":\"n1\\u009b2J\",\"containers\":[{\"name\":\"app\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "containerd://" ID_1) "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
	assert_string_equal(err.msg, "pod \"web\" has an invalid spec.nodeName \"n1\\u009b2J\"");
	assert_true(lambda_object_name_is_valid("ip-10-0-1-2.eu-west-1.compute.internal"));
	assert_false(lambda_object_name_is_valid("-v"));
	assert_false(lambda_object_name_is_valid("Web"));
	assert_false(lambda_object_name_is_valid(""));
	json_decref(p);
}

static void test_cntr_host_argv_is_attach_host_then_the_command_after_dashdash(void **state)
{
	char *command[] = { "ps", "-e", NULL };
	char **shell = lambda_cntr_host_argv(false, NULL, NULL);
	char **full = lambda_cntr_host_argv(true, "restricted", command);
	static const char *const expect_shell[] = { "cntr", "attach", "--host", NULL };
	static const char *const expect_full[] = { "cntr", "attach", "--host", "-v", "--profile", "restricted",
						    "--", "ps", "-e", NULL };

	for (size_t i = 0; i < sizeof(expect_shell) / sizeof(expect_shell[0]); i++) {
		if (expect_shell[i])
			assert_string_equal(shell[i], expect_shell[i]);
		else
			assert_null(shell[i]);
	}
	for (size_t i = 0; i < sizeof(expect_full) / sizeof(expect_full[0]); i++) {
		if (expect_full[i])
			assert_string_equal(full[i], expect_full[i]);
		else
			assert_null(full[i]);
	}
	strv_free(shell);
	strv_free(full);
}

static void test_cntr_argv_is_attach_type_id_then_the_id_after_dashdash(void **state)
{
	char *command[] = { "ls", "-la", "--", "x", NULL };
	char *empty[] = { NULL };
	char **shell = lambda_cntr_attach_argv(ID_1, false, NULL, NULL);
	char **no_command = lambda_cntr_attach_argv(ID_1, false, NULL, empty);
	char **with_command = lambda_cntr_attach_argv(ID_1, true, NULL, command);
	static const char *const expect_shell[] = { "cntr", "attach", "-t", "id", "--", ID_1, NULL };
	static const char *const expect_command[] = { "cntr", "attach", "-t", "id", "-v", "--", ID_1,
						       "--", "ls", "-la", "--", "x", NULL };

	for (size_t i = 0; i < sizeof(expect_shell) / sizeof(expect_shell[0]); i++) {
		if (expect_shell[i]) {
			assert_string_equal(shell[i], expect_shell[i]);
			assert_string_equal(no_command[i], expect_shell[i]);
		} else {
			assert_null(shell[i]);
			assert_null(no_command[i]);
		}
	}
	for (size_t i = 0; i < sizeof(expect_command) / sizeof(expect_command[0]); i++) {
		if (expect_command[i])
			assert_string_equal(with_command[i], expect_command[i]);
		else
			assert_null(with_command[i]);
	}
	/* A profile goes before the "--" that ends cntr's options. */
	{
		char **profiled = lambda_cntr_attach_argv(ID_1, false, "netadmin", NULL);
		assert_string_equal(profiled[4], "--profile");
		assert_string_equal(profiled[5], "netadmin");
		assert_string_equal(profiled[6], "--");
		assert_string_equal(profiled[7], ID_1);
		assert_null(profiled[8]);
		strv_free(profiled);
	}
	/* Never anything but an ID in the target's place. */
	assert_null(lambda_cntr_attach_argv("1", false, NULL, NULL));
	assert_null(lambda_cntr_attach_argv("-v", false, NULL, command));
	assert_null(lambda_cntr_attach_argv("", false, NULL, NULL));
	strv_free(shell);
	strv_free(no_command);
	strv_free(with_command);
}

static void test_server_text_in_states_and_events_is_escaped(void **state)
{
	json_t *waiting = pod("{\"waiting\":{\"reason\":\"CrashLoopBackOff\",\"message\":"
			      "\"\\u001b]0;pwned\\u0007 \\u009b31m caf\\u00e9 \\u65e5\\u672c\"}}");
	json_t *terminated = pod("{\"terminated\":{\"reason\":\"Error\\u001b[2J\",\"exitCode\":1,"
				 "\"message\":\"line1\\nline2\\u0007\"}}");
	json_t *events = pod("{\"items\":[{\"type\":\"Warning\",\"reason\":\"Failed\\u009b\","
			     "\"message\":\"pull \\u001b[8mhidden\"}]}");
	char *text;

	text = lambda_container_state_text(waiting);
	assert_string_equal(text, "Waiting: CrashLoopBackOff: \\x1b]0;pwned\\x07 \\u009b31m caf\xc3\xa9 "
				  "\xe6\x97\xa5\xe6\x9c\xac");
	free(text);
	text = lambda_container_state_text(terminated);
	assert_string_equal(text, "Terminated: Error\\x1b[2J (exit code 1): line1 line2\\x07");
	free(text);
	text = lambda_last_warning_of(events);
	assert_string_equal(text, "Failed\\u009b: pull \\x1b[8mhidden");
	free(text);
	json_decref(waiting);
	json_decref(terminated);
	json_decref(events);
}

static void test_last_warning_event_is_the_newest_warning(void **state)
{
	json_t *list = pod("{\"kind\":\"EventList\",\"items\":["
			   "{\"type\":\"Normal\",\"reason\":\"Scheduled\",\"message\":\"ok\",\"lastTimestamp\":\"2024-01-01T00:00:09Z\"},"
			   "{\"type\":\"Warning\",\"reason\":\"FailedMount\",\"message\":\"hostPath type check failed\","
			   "\"lastTimestamp\":\"2024-01-01T00:00:05Z\"},"
			   "{\"type\":\"Warning\",\"reason\":\"FailedCreatePodSandBox\",\"message\":\"no CNI\","
			   "\"lastTimestamp\":null,\"eventTime\":\"2024-01-01T00:00:03.123456Z\"},"
			   "{\"type\":\"Normal\",\"reason\":\"Pulling\",\"message\":\"x\"}]}");
	json_t *none = pod("{\"kind\":\"EventList\",\"items\":[{\"type\":\"Normal\",\"reason\":\"Pulled\"}]}");
	char *text = lambda_last_warning_of(list);

	assert_non_null(text);
	assert_string_equal(text, "FailedMount: hostPath type check failed");
	free(text);
	assert_null(lambda_last_warning_of(none));
	assert_null(lambda_last_warning_of(NULL));
	json_decref(list);
	json_decref(none);
}

static void test_terminating_agent_is_neither_ready_nor_usable(void **state)
{
	json_t *p = pod("{\"metadata\":{\"name\":\"a\",\"deletionTimestamp\":\"2024-01-01T00:00:00Z\"},"
			"\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
	char *failure = lambda_agent_failure(p);

	assert_false(lambda_agent_pod_ready(p));
	assert_non_null(failure);
	free(failure);
	json_decref(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attach_pod_container_and_command),
		cmocka_unit_test(test_flags_durations_and_environment),
		cmocka_unit_test(test_default_image_is_the_versioned_agent),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_target_single_running_container),
		cmocka_unit_test(test_target_ambiguous_and_unknown_container),
		cmocka_unit_test(test_target_not_running_states),
		cmocka_unit_test(test_target_sidecar_init_and_ephemeral_containers_by_name),
		cmocka_unit_test(test_target_running_init_container_of_a_pending_pod),
		cmocka_unit_test(test_target_default_container_annotation),
		cmocka_unit_test(test_target_terminating_pod_is_attachable_while_its_container_runs),
		cmocka_unit_test(test_target_crash_loop_names_the_last_termination),
		cmocka_unit_test(test_agent_manifest),
		cmocka_unit_test(test_agent_name_is_a_valid_pod_name),
		cmocka_unit_test(test_session_argv_marks_the_session_and_runs_cntr_itself),
		cmocka_unit_test(test_agent_failure_reasons),
		cmocka_unit_test(test_terminating_agent_is_neither_ready_nor_usable),
		cmocka_unit_test(test_last_warning_event_is_the_newest_warning),
		cmocka_unit_test(test_warm_agent_fits_only_with_the_same_image_and_the_socket_asked_for),
		cmocka_unit_test(test_warm_agent_is_trusted_only_with_this_versions_spec),
		cmocka_unit_test(test_look_alike_agents_are_ignored_with_the_reason),
		cmocka_unit_test(test_container_id_must_be_a_known_runtime_and_64_hex_digits),
		cmocka_unit_test(test_target_with_a_bad_container_id_is_refused_naming_it_escaped),
		cmocka_unit_test(test_target_names_must_be_kubernetes_names),
		cmocka_unit_test(test_cntr_argv_is_attach_type_id_then_the_id_after_dashdash),
		cmocka_unit_test(test_cntr_host_argv_is_attach_host_then_the_command_after_dashdash),
		cmocka_unit_test(test_node_takes_a_node_and_an_optional_command),
		cmocka_unit_test(test_server_text_in_states_and_events_is_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
