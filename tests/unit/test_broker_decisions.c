/* The broker's pure decisions: who the front proxy says the user is (and when it may say it),
 * the Status bodies, the SubjectAccessReview it sends and how it reads the answer, profiles per
 * namespace, the target container and its ID, which agent pod is trusted, the paths it serves,
 * the commands it runs in the agent, and the audit records. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "broker/broker_agent.h"
#include "broker/broker_argv.h"
#include "broker/broker_audit.h"
#include "broker/broker_frontproxy.h"
#include "broker/broker_profiles.h"
#include "broker/broker_route.h"
#include "broker/broker_sar.h"
#include "broker/broker_session.h"
#include "broker/broker_status.h"
#include "broker/broker_target.h"
#include "cli/lambda_cntr_argv.h"
#include "common/cleanup.h"
#include "common/err.h"

#define CA "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static json_t *auth_configmap(const char *allowed)
{
	return json_pack("{s:{s:s, s:s, s:s, s:s, s:s}}", "data", "requestheader-client-ca-file", CA,
			 "requestheader-allowed-names", allowed, "requestheader-username-headers", "[\"X-Remote-User\"]",
			 "requestheader-group-headers", "[\"X-Remote-Group\"]", "requestheader-extra-headers-prefix",
			 "[\"X-Remote-Extra-\"]");
}

static void test_frontproxy_settings_and_allowed_names(void **state)
{
	struct broker_frontproxy fp;
	struct cntr_err err = { 0 };
	json_t *cm = auth_configmap("[\"front-proxy-client\"]");

	assert_int_equal(broker_frontproxy_from_configmap(cm, &fp, &err), 0);
	assert_true(broker_frontproxy_name_allowed(&fp, "front-proxy-client"));
	assert_false(broker_frontproxy_name_allowed(&fp, "alice"));
	assert_false(broker_frontproxy_name_allowed(&fp, NULL));
	broker_frontproxy_free(&fp);
	json_decref(cm);

	/* An empty list: any certificate of that CA may act as the front proxy. */
	cm = auth_configmap("[]");
	assert_int_equal(broker_frontproxy_from_configmap(cm, &fp, &err), 0);
	assert_true(broker_frontproxy_name_allowed(&fp, "anything"));
	broker_frontproxy_free(&fp);
	json_decref(cm);
}

static void test_frontproxy_without_ca_or_user_header_is_refused(void **state)
{
	struct broker_frontproxy fp;
	struct cntr_err err = { 0 };
	json_t *cm = json_pack("{s:{s:s}}", "data", "requestheader-username-headers", "[\"X-Remote-User\"]");

	assert_int_equal(broker_frontproxy_from_configmap(cm, &fp, &err), -1);
	assert_non_null(strstr(err.msg, "requestheader-client-ca-file"));
	json_decref(cm);
	cm = json_pack("{s:{s:s, s:s}}", "data", "requestheader-client-ca-file", CA, "requestheader-username-headers", "[]");
	assert_int_equal(broker_frontproxy_from_configmap(cm, &fp, &err), -1);
	assert_non_null(strstr(err.msg, "requestheader-username-headers is empty"));
	json_decref(cm);
	cm = json_pack("{s:{s:s, s:s}}", "data", "requestheader-client-ca-file", CA, "requestheader-username-headers",
		       "X-Remote-User");
	assert_int_equal(broker_frontproxy_from_configmap(cm, &fp, &err), -1);
	assert_non_null(strstr(err.msg, "not a JSON array"));
	json_decref(cm);
}

static void test_identity_from_headers(void **state)
{
	struct broker_frontproxy fp;
	struct broker_identity id;
	struct cntr_err err = { 0 };
	json_t *cm = auth_configmap("[]");
	const struct broker_header h[] = {
		{ "x-remote-group", "system:authenticated" }, { "X-Remote-User", "alice" },
		{ "X-Remote-Group", "dev, ops" },	      { "X-Remote-Extra-Scopes", "a" },
		{ "X-Remote-Extra-Scopes", "b" },	      { "X-Remote-User", "mallory" },
		{ "X-Remote-Extra-Example.org%2fTeam", "t1" },
	};

	assert_int_equal(broker_frontproxy_from_configmap(cm, &fp, &err), 0);
	assert_int_equal(broker_identity_from_headers(&fp, h, 7, &id), 0);
	assert_string_equal(id.user, "alice"); /* the first one */
	assert_string_equal(id.groups[0], "system:authenticated");
	assert_string_equal(id.groups[1], "dev, ops"); /* one header, one group */
	assert_null(id.groups[2]);
	assert_int_equal(json_array_size(json_object_get(id.extra, "scopes")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(id.extra, "example.org/team"), 0)), "t1");
	broker_identity_free(&id);
	/* No user: no identity (401), whatever else is there. */
	assert_int_equal(broker_identity_from_headers(&fp, h, 1, &id), -1);
	{
		const struct broker_header empty[] = { { "X-Remote-User", "" } };
		assert_int_equal(broker_identity_from_headers(&fp, empty, 1, &id), -1);
	}
	broker_frontproxy_free(&fp);
	json_decref(cm);
}

static void assert_status(json_t *st, int code, const char *reason, const char *message)
{
	assert_string_equal(json_string_value(json_object_get(st, "kind")), "Status");
	assert_string_equal(json_string_value(json_object_get(st, "apiVersion")), "v1");
	assert_string_equal(json_string_value(json_object_get(st, "status")), "Failure");
	assert_int_equal(json_integer_value(json_object_get(st, "code")), code);
	assert_string_equal(json_string_value(json_object_get(st, "reason")), reason);
	assert_string_equal(json_string_value(json_object_get(st, "message")), message);
	json_decref(st);
}

static void test_status_bodies_use_the_api_servers_words(void **state)
{
	json_t *st = broker_status_forbidden_pod("alice", "team-b", "web", NULL);
	assert_string_equal(json_string_value(json_object_get(json_object_get(st, "details"), "kind")), "pods");
	assert_status(st, 403, "Forbidden",
		      "pods \"web\" is forbidden: User \"alice\" cannot create resource \"pods/exec\" in API group \"\" "
		      "in the namespace \"team-b\"");
	assert_status(broker_status_forbidden_node("bob", "n1", "no rule"), 403, "Forbidden",
		      "nodes \"n1\" is forbidden: User \"bob\" cannot create resource \"nodes/attach\" in API group "
		      "\"debug.lambda-cntr.io\" at the cluster scope: no rule");
	assert_status(broker_status_unauthorized(), 401, "Unauthorized", "Unauthorized");
	assert_string_equal(broker_status_reason(503), "ServiceUnavailable");
	assert_string_equal(broker_status_reason(400), "BadRequest");
}

static void test_sar_asks_for_exactly_kubectl_exec_rights(void **state)
{
	char *groups[] = { "dev", NULL };
	struct broker_identity id = { .user = "alice", .groups = groups, .extra = json_object() };
	json_t *sar = broker_sar_pod_exec(&id, "ns1", "web");
	json_t *want = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "namespace", "ns1", "verb", "create", "group", "",
				 "resource", "pods", "subresource", "exec", "name", "web");
	const char *reason;
	json_t *answer;

	assert_true(json_equal(json_object_get(json_object_get(sar, "spec"), "resourceAttributes"), want));
	assert_string_equal(json_string_value(json_object_get(json_object_get(sar, "spec"), "user")), "alice");
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(sar, "spec"), "groups"), 0)), "dev");
	json_decref(sar);
	json_decref(want);
	sar = broker_sar_node_attach(&id, "n1");
	want = json_pack("{s:s, s:s, s:s, s:s, s:s}", "verb", "create", "group", "debug.lambda-cntr.io", "resource",
			 "nodes", "subresource", "attach", "name", "n1");
	assert_true(json_equal(json_object_get(json_object_get(sar, "spec"), "resourceAttributes"), want));
	json_decref(sar);
	json_decref(want);
	json_decref(id.extra);

	answer = json_pack("{s:{s:b}}", "status", "allowed", 1);
	assert_true(broker_sar_allowed(answer, &reason));
	json_decref(answer);
	answer = json_pack("{s:{s:b, s:b, s:s}}", "status", "allowed", 1, "denied", 1, "reason", "deny rule");
	assert_false(broker_sar_allowed(answer, &reason)); /* denied wins */
	assert_string_equal(reason, "deny rule");
	json_decref(answer);
	answer = json_pack("{s:{}}", "status");
	assert_false(broker_sar_allowed(answer, &reason)); /* absent = not allowed */
	json_decref(answer);
}

static void test_profiles_per_namespace(void **state)
{
	json_t *cm = json_pack("{s:{s:s, s:s}}", "data", "prod", "restricted", "*", "general, netadmin");

	assert_true(broker_profile_allowed(NULL, "prod", "sysadmin")); /* no ConfigMap: all */
	assert_true(broker_profile_allowed(cm, "prod", "restricted"));
	assert_false(broker_profile_allowed(cm, "prod", "general"));
	assert_true(broker_profile_allowed(cm, "dev", "netadmin")); /* "*" */
	assert_false(broker_profile_allowed(cm, "dev", "sysadmin"));
	assert_false(broker_profile_allowed(cm, "dev", "net")); /* whole items only */
	json_decref(cm);
	cm = json_pack("{s:{s:s}}", "data", "prod", "restricted");
	assert_true(broker_profile_allowed(cm, "dev", "sysadmin")); /* no key and no "*" */
	json_decref(cm);
	assert_true(broker_profile_known("netadmin"));
	assert_false(broker_profile_known("root"));
	assert_false(broker_profile_known(NULL));
}

static json_t *pod_json(const char *annotation_default)
{
	json_t *pod = json_pack(
		"{s:{s:s, s:{}}, s:{s:s, s:[{s:s}, {s:s}]}, s:{s:[{s:s, s:s, s:{s:{}}}, {s:s, s:s, s:{s:{}}}]}}",
		"metadata", "name", "web", "annotations", "spec", "nodeName", "n1", "containers", "name", "app", "name",
		"sidecar", "status", "containerStatuses", "name", "app", "containerID", "containerd://" CID, "state",
		"running", "name", "sidecar", "containerID", "containerd://1", "state", "running");
	if (annotation_default)
		json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
				    "kubectl.kubernetes.io/default-container", json_string(annotation_default));
	return pod;
}

static void test_target_container_and_id(void **state)
{
	struct broker_target t;
	struct cntr_err err = { 0 };
	int code = 0;
	json_t *pod = pod_json(NULL);

	assert_int_equal(broker_target_from_pod(pod, "app", &t, &code, &err), 0);
	assert_string_equal(t.node, "n1");
	assert_string_equal(t.container, "app");
	assert_string_equal(t.container_id, CID);
	broker_target_free(&t);
	assert_int_equal(broker_target_from_pod(pod, NULL, &t, &code, &err), -1);
	assert_int_equal(code, 400);
	assert_string_equal(err.msg, "a container name must be specified for pod web, choose one of: [app sidecar]");
	assert_int_equal(broker_target_from_pod(pod, "db", &t, &code, &err), -1);
	assert_string_equal(err.msg, "container db is not valid for pod web");
	/* "containerd://1" would name PID 1 of the hostPID agent: refused. */
	assert_int_equal(broker_target_from_pod(pod, "sidecar", &t, &code, &err), -1);
	assert_int_equal(code, 500);
	json_decref(pod);

	pod = pod_json("app");
	assert_int_equal(broker_target_from_pod(pod, NULL, &t, &code, &err), 0);
	assert_string_equal(t.container, "app");
	broker_target_free(&t);
	json_object_set_new(json_array_get(json_object_get(json_object_get(pod, "status"), "containerStatuses"), 0),
			    "state", json_pack("{s:{}}", "waiting"));
	assert_int_equal(broker_target_from_pod(pod, "app", &t, &code, &err), -1);
	assert_int_equal(code, 400);
	assert_string_equal(err.msg, "container app of pod web is not running");
	json_decref(pod);
}

static json_t *agent_json(const char *ns, const char *owner_kind, const char *uid, bool controller, const char *node,
			  const char *ready)
{
	return json_pack("{s:{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:b}]}, s:{s:s}, s:{s:s, s:[{s:s, s:s}]}}", "metadata",
			 "name", "agent-x", "namespace", ns, "ownerReferences", "apiVersion", "apps/v1", "kind", owner_kind,
			 "name", BROKER_AGENT_DAEMONSET, "uid", uid, "controller", controller, "spec", "nodeName", node,
			 "status", "phase", "Running", "conditions", "type", "Ready", "status", ready);
}

static void test_only_the_daemonsets_own_ready_pod_on_the_node_is_trusted(void **state)
{
	static const struct {
		const char *ns, *kind, *uid;
		bool controller;
		const char *node, *ready;
		bool trusted;
	} cases[] = {
		{ "lambda-cntr-system", "DaemonSet", "u1", true, "n1", "True", true },
		{ "default", "DaemonSet", "u1", true, "n1", "True", false },	       /* planted elsewhere */
		{ "lambda-cntr-system", "DaemonSet", "u0", true, "n1", "True", false },  /* another DaemonSet */
		{ "lambda-cntr-system", "ReplicaSet", "u1", true, "n1", "True", false }, /* other kind */
		{ "lambda-cntr-system", "DaemonSet", "u1", false, "n1", "True", false }, /* not the controller */
		{ "lambda-cntr-system", "DaemonSet", "u1", true, "n2", "True", false },  /* another node */
		{ "lambda-cntr-system", "DaemonSet", "u1", true, "n1", "False", false }, /* not Ready */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *pod = agent_json(cases[i].ns, cases[i].kind, cases[i].uid, cases[i].controller, cases[i].node,
					 cases[i].ready);
		const char *why = NULL;
		assert_int_equal(broker_agent_trusted(pod, "lambda-cntr-system", "u1", "n1", &why), cases[i].trusted);
		assert_true(cases[i].trusted || why);
		json_decref(pod);
	}
	{
		json_t *list = json_pack("{s:[o, o]}", "items", agent_json("lambda-cntr-system", "DaemonSet", "u0", true, "n1", "True"),
					 agent_json("lambda-cntr-system", "DaemonSet", "u1", true, "n1", "True"));
		const json_t *chosen = broker_agent_choose(list, "lambda-cntr-system", "u1", "n1");
		assert_ptr_equal(chosen, json_array_get(json_object_get(list, "items"), 1));
		assert_null(broker_agent_choose(list, "lambda-cntr-system", "u2", "n1"));
		json_decref(list);
	}
}

static void test_routes(void **state)
{
	struct broker_route r;

	broker_route_parse("/apis/debug.lambda-cntr.io/v1alpha1/namespaces/ns1/pods/web/attach", &r);
	assert_int_equal(r.kind, BROKER_ROUTE_POD_ATTACH);
	assert_string_equal(r.ns, "ns1");
	assert_string_equal(r.name, "web");
	broker_route_free(&r);
	broker_route_parse("/apis/debug.lambda-cntr.io/v1alpha1/nodes/node-1/attach", &r);
	assert_int_equal(r.kind, BROKER_ROUTE_NODE_ATTACH);
	assert_string_equal(r.name, "node-1");
	broker_route_free(&r);
	broker_route_parse("/apis/debug.lambda-cntr.io/v1alpha1/nodes/node-1/capsule", &r);
	assert_int_equal(r.kind, BROKER_ROUTE_NODE_CAPSULE);
	assert_string_equal(r.name, "node-1");
	broker_route_free(&r);
	broker_route_parse("/apis/debug.lambda-cntr.io/v1alpha1", &r);
	assert_int_equal(r.kind, BROKER_ROUTE_VERSION);
	broker_route_parse("/apis/debug.lambda-cntr.io", &r);
	assert_int_equal(r.kind, BROKER_ROUTE_GROUP);
	broker_route_parse("/healthz", &r);
	assert_int_equal(r.kind, BROKER_ROUTE_HEALTH);
	static const char *const not_found[] = {
		"/apis/debug.lambda-cntr.io/v1alpha1/namespaces/NS/pods/web/attach", /* not a valid name */
		"/apis/debug.lambda-cntr.io/v1alpha1/namespaces/ns/pods/web/exec",
		"/apis/debug.lambda-cntr.io/v1alpha1/namespaces/ns/pods/web/attach/x",
		"/apis/debug.lambda-cntr.io/v1alpha1/namespaces/ns/pods//attach",
		"/apis/debug.lambda-cntr.io/v1alpha1/nodes/../attach",
		"/apis/debug.lambda-cntr.io/v1alpha1/nodes/Node/capsule",
		"/apis/debug.lambda-cntr.io/v1alpha1/namespaces/ns/pods/web/capsule",
		"/apis/debug.lambda-cntr.io/v1alpha2",
		"/api/v1/pods",
	};
	for (size_t i = 0; i < sizeof(not_found) / sizeof(not_found[0]); i++) {
		broker_route_parse(not_found[i], &r);
		assert_int_equal(r.kind, BROKER_ROUTE_NOT_FOUND);
		broker_route_free(&r);
	}
	{
		json_t *doc = json_loads(broker_api_resources_json, 0, NULL);
		assert_non_null(doc);
		assert_int_equal(json_array_size(json_object_get(doc, "resources")), 3);
		assert_string_equal(json_string_value(json_object_get(
					    json_array_get(json_object_get(doc, "resources"), 2), "name")), "nodes/capsule");
		json_decref(doc);
	}
}

static void test_agent_commands(void **state)
{
	char *cmd[] = { "ps", "-ef", NULL };
	_cleanup_strv_ char **node = broker_node_argv("sysadmin", cmd);
	_cleanup_strv_ char **shell = broker_node_argv(NULL, NULL);
	_cleanup_free_ char *path = broker_agent_exec_path("lambda-cntr-system", "agent-x", node, true, true, false, true);
	const char *want[] = { "cntr", "attach", "--host", "--profile", "sysadmin", "--", "ps", "-ef", NULL };

	for (size_t i = 0; want[i]; i++)
		assert_string_equal(node[i], want[i]);
	assert_null(node[8]);
	assert_string_equal(shell[2], "--host");
	assert_null(shell[3]);
	assert_string_equal(path, "/api/v1/namespaces/lambda-cntr-system/pods/agent-x/exec?command=cntr&command=attach&"
				  "command=--host&command=--profile&command=sysadmin&command=--&command=ps&command=-ef&"
				  "container=agent&stdin=true&stdout=true&stderr=false&tty=true");
}

static void test_agent_commands_carry_the_audit_line_after_term(void **state)
{
	char *cmd[] = { "true", NULL };
	char **argv = broker_node_argv(NULL, cmd);
	const char *plain[] = { "env", "LAMBDA_CNTR_AUDIT=user \"a\"", "cntr", "attach", "--host", "--", "true", NULL };
	const char *term[] = { "env", "TERM=xterm", "LAMBDA_CNTR_AUDIT=user \"a\"", "cntr", "attach", NULL };

	argv = lambda_argv_with_env(argv, "LAMBDA_CNTR_AUDIT", "user \"a\"");
	for (size_t i = 0; plain[i]; i++)
		assert_string_equal(argv[i], plain[i]);
	assert_null(argv[7]);
	strv_free(argv);
	argv = lambda_argv_with_term("xterm", broker_node_argv(NULL, cmd));
	argv = lambda_argv_with_env(argv, "LAMBDA_CNTR_AUDIT", "user \"a\"");
	for (size_t i = 0; term[i]; i++)
		assert_string_equal(argv[i], term[i]);
	strv_free(argv);
}

static void test_audit_records(void **state)
{
	struct broker_session_info s = { .user = "alice", .ns = "ns1", .pod = "web", .pod_uid = "uid-1", .node = "n1",
					 .container = "app", .profile = "general" };
	_cleanup_free_ char *start = broker_audit_start_message(&s);
	_cleanup_free_ char *end = broker_audit_end_message(&s, 3, NULL, 1.25);
	_cleanup_free_ char *cut = broker_audit_end_message(&s, -1, "the client disconnected", 2.0);
	json_t *ev = broker_audit_event(&s, "DebugSessionStarted", start, "broker-0");
	_cleanup_free_ char *agent_line = broker_audit_agent_line(&s, "broker-0");
	struct broker_session_info n = { .user = "bob", .node = "n1", .profile = "sysadmin" };
	_cleanup_free_ char *node_line = broker_audit_agent_line(&n, "broker-0");

	assert_string_equal(start, "user \"alice\" attached to container \"app\" with profile \"general\"");
	assert_string_equal(end, "session of user \"alice\" on container \"app\" with profile \"general\" ended: exit "
				 "status 3 after 1.2s");
	assert_non_null(strstr(cut, "ended without an exit status (the client disconnected)"));
	assert_string_equal(agent_line, "user \"alice\" on pod \"ns1/web\" container \"app\" with profile "
					"\"general\", broker \"broker-0\"");
	assert_string_equal(node_line, "user \"bob\" on node \"n1\" with profile \"sysadmin\", broker \"broker-0\"");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "involvedObject"), "uid")), "uid-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "metadata"), "namespace")), "ns1");
	assert_string_equal(json_string_value(json_object_get(ev, "reportingComponent")), "lambda-cntr-broker");
	assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "source"), "component")),
			    "lambda-cntr-broker");
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "Normal");
	json_decref(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frontproxy_settings_and_allowed_names),
		cmocka_unit_test(test_frontproxy_without_ca_or_user_header_is_refused),
		cmocka_unit_test(test_identity_from_headers),
		cmocka_unit_test(test_status_bodies_use_the_api_servers_words),
		cmocka_unit_test(test_sar_asks_for_exactly_kubectl_exec_rights),
		cmocka_unit_test(test_profiles_per_namespace),
		cmocka_unit_test(test_target_container_and_id),
		cmocka_unit_test(test_only_the_daemonsets_own_ready_pod_on_the_node_is_trusted),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_agent_commands),
		cmocka_unit_test(test_agent_commands_carry_the_audit_line_after_term),
		cmocka_unit_test(test_audit_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
