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
#include "cli/lambda_events.h"
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
#define RUNNING(name, id) \
	"{\"name\":\"" name "\",\"containerID\":\"" id "\",\"state\":{\"running\":{}}}"

static void test_target_single_running_container(void **state)
{
	json_t *p = pod("{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "cri-o://abc123") "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), 0);
	assert_string_equal(t.container, "app");
	assert_string_equal(t.runtime, "cri-o");
	assert_string_equal(t.container_id, "abc123");
	assert_string_equal(t.node, "n1");
	assert_string_equal(t.namespace, "shop");
	lambda_target_clear(&t);
	json_decref(p);
}

static void test_target_ambiguous_and_unknown_container(void **state)
{
	json_t *p = pod("{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"},{\"name\":\"log\"}]},"
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "containerd://1")
			"," RUNNING("log", "containerd://2") "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, NULL, &t, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_string_equal(err.msg, "pod \"web\" in namespace \"shop\" has 2 containers, choose one with -c: app, log");
	assert_int_equal(lambda_target_from_pod(p, "db", &t, &err), -1);
	assert_non_null(strstr(err.msg, "has no container \"db\"; its containers: app, log"));
	assert_int_equal(lambda_target_from_pod(p, "log", &t, &err), 0);
	assert_string_equal(t.container_id, "2");
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
		  "has no usable containerID" },
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
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "containerd://1")
			"," RUNNING("log", "containerd://2") "],\"initContainerStatuses\":[{\"name\":\"setup\","
			"\"containerID\":\"containerd://3\",\"state\":{\"terminated\":{\"reason\":\"Completed\",\"exitCode\":0}}},"
			RUNNING("proxy", "containerd://4") "],\"ephemeralContainerStatuses\":["
			RUNNING("debugger-x", "containerd://5") "]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, "proxy", &t, &err), 0);
	assert_string_equal(t.container_id, "4");
	lambda_target_clear(&t);
	assert_int_equal(lambda_target_from_pod(p, "debugger-x", &t, &err), 0);
	assert_string_equal(t.container_id, "5");
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
			"\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":[" RUNNING("migrate", "containerd://9")
			"],\"containerStatuses\":[{\"name\":\"app\",\"state\":{\"waiting\":{\"reason\":\"PodInitializing\"}}}]}}");
	struct lambda_target t;
	struct cntr_err err = { 0 };

	assert_int_equal(lambda_target_from_pod(p, "migrate", &t, &err), 0);
	assert_string_equal(t.container_id, "9");
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
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "containerd://1")
			"," RUNNING("log", "containerd://2") "]}}");
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
			"\"status\":{\"phase\":\"Running\",\"containerStatuses\":[" RUNNING("app", "docker://77") "]}}");
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
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "securityContext"), "runAsUser")), 0);
	assert_string_equal(json_string_value(json_object_get(c, "image")), "img:1");
	assert_string_equal(json_string_value(json_object_get(c, "imagePullPolicy")), "IfNotPresent");
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 0), "value")), "lambda-cntr-n1-abcde");
	assert_string_equal(json_string_value(json_object_get(json_array_get(env, 1), "value")), "90");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(m, "metadata"), "labels"),
							      LAMBDA_AGENT_MANAGED_BY_LABEL)), "lambda-cntr");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(
		json_object_get(spec, "volumes"), 0), "hostPath"), "path")), "/run/containerd/containerd.sock");
	/* No service-mesh sidecar in the agent: it would outlive the agent's command. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(m, "metadata"), "labels"),
							      "sidecar.istio.io/inject")), "false");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(m, "metadata"), "annotations"),
							      "linkerd.io/inject")), "disabled");
	json_decref(m);

	params.socket_path = NULL;
	m = lambda_agent_manifest(&params);
	assert_null(json_object_get(json_object_get(m, "spec"), "volumes"));
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
	assert_string_equal(count[0], "/bin/sh");
	assert_string_equal(count[4], id); /* $1 of the script */
	assert_null(count[5]);
	assert_string_equal(end[4], id);
	assert_string_not_equal(count[2], end[2]);
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

static void test_warm_agent_fits_only_with_the_same_image_and_the_socket_asked_for(void **state)
{
	struct lambda_agent_params with_socket = { .name = "a", .namespace = "ns", .node = "n1", .image = "img:1",
						   .socket_path = "/run/containerd/containerd.sock", .idle_timeout_s = 60 };
	struct lambda_agent_params plain = with_socket, other_image = with_socket;
	json_t *socket_agent, *plain_agent;

	plain.socket_path = NULL;
	other_image.image = "img:2";
	socket_agent = lambda_agent_manifest(&with_socket);
	plain_agent = lambda_agent_manifest(&plain);
	assert_null(lambda_agent_mismatch(socket_agent, &with_socket));
	assert_null(lambda_agent_mismatch(socket_agent, &plain)); /* more than needed is fine */
	assert_null(lambda_agent_mismatch(plain_agent, &plain));
	assert_non_null(strstr(lambda_agent_mismatch(plain_agent, &with_socket), "-s"));
	assert_non_null(strstr(lambda_agent_mismatch(socket_agent, &other_image), "another image"));
	plain.pull_policy = "Always";
	assert_non_null(strstr(lambda_agent_mismatch(socket_agent, &plain), "Always"));
	json_decref(plain_agent);
	plain_agent = lambda_agent_manifest(&plain);
	assert_null(lambda_agent_mismatch(plain_agent, &plain));
	json_decref(socket_agent);
	json_decref(plain_agent);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
