/* The docker API answer handling (HTTP split, JSON field extraction), runc state.json and the
 * CLI engines' "PID ID NAME" answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/engine_cli.h"
#include "node/engine_docker.h"
#include "node/engine_json.h"
#include "node/engine_runc.h"
#include "node/resolve.h"

#include <stdio.h>
#include <string.h>

#define ID "8d3b57a1c6e0f2d4b9a7c5e3f1d2b4a6c8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8"

/* Shaped like dockerd 20.10's /containers/NAME/json: nested objects and arrays before State,
 * keys named Pid elsewhere, strings holding braces, quotes and escapes. */
static const char docker_body[] =
	"{\"Id\":\"" ID "\",\"Created\":\"2026-11-27T23:01:02.5Z\",\"Path\":\"/srv\","
	"\"Args\":[\"-p\",\"{not\\\"json}\",[1,2,{\"Pid\":7}]],"
	"\"Config\":{\"Labels\":{\"Pid\":\"99\",\"x}\":\"]\"},\"Env\":[\"A=\\u00e9\\n\"]},"
	"\"State\":{\"Status\":\"running\",\"Running\":true,\"Paused\":false,\"Pid\":4242,"
	"\"ExitCode\":0,\"Error\":\"\",\"Health\":null},"
	"\"Name\":\"/web-1\",\"RestartCount\":0}";

static const char http_response_head[] =
	"HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\n"
	"Docker-Experimental: false\r\nServer: Docker/20.10.24+dfsg1 (linux)\r\n\r\n";

static void test_json_get_top_level_and_nested_members(void **state)
{
	struct json_span doc = json_span_of(docker_body), v;
	static const char *const pid_path[] = { "State", "Pid" };
	long long pid;
	char buf[128];

	assert_int_equal(json_span_member_path(doc, pid_path, 2, &v), 0);
	assert_int_equal(json_span_int(v, &pid), 0);
	assert_int_equal(pid, 4242);
	assert_int_equal(json_span_member(doc, "Id", &v), 0);
	assert_int_equal(json_span_string(v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, ID);
	/* "Pid" exists only nested: not a top-level member */
	assert_int_equal(json_span_member(doc, "Pid", &v), -1);
	assert_int_equal(json_span_member(doc, "Missing", &v), -1);
}

static void test_json_array_items_in_order(void **state)
{
	struct json_span arr = json_span_of("[ \"a\", {\"k\": [1, 2]}, 3 ]"), v;
	char buf[8];
	long long n;

	assert_int_equal(json_span_item(arr, 0, &v), 0);
	assert_int_equal(json_span_string(v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a");
	assert_int_equal(json_span_item(arr, 1, &v), 0);
	assert_int_equal(json_span_member(v, "k", &v), 0);
	assert_int_equal(json_span_item(v, 1, &v), 0);
	assert_int_equal(json_span_int(v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(json_span_item(arr, 2, &v), 0);
	assert_int_equal(json_span_item(arr, 3, &v), -1);
	assert_int_equal(json_span_item(json_span_of("[]"), 0, &v), -1);
	assert_int_equal(json_span_item(json_span_of("{}"), 0, &v), -1);
	assert_int_equal(json_span_item(json_span_of("[1,"), 1, &v), -1);
}

static void test_json_decodes_string_escapes(void **state)
{
	struct json_span v = json_span_of("\"a\\\"b\\\\c\\/d\\n\\u0041\\u00e9\"");
	char buf[32];

	assert_int_equal(json_span_string(v, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a\"b\\c/d\nA?");
	assert_int_equal(json_span_string(v, buf, 4), -1); /* too small */
	assert_int_equal(json_span_string(json_span_of("17"), buf, sizeof(buf)), -1);
}

static void test_json_rejects_malformed_and_wrong_types(void **state)
{
	struct json_span v;
	long long n;

	assert_int_equal(json_span_member(json_span_of("[1,2]"), "a", &v), -1);
	assert_int_equal(json_span_member(json_span_of("{\"a\" 1}"), "a", &v), -1);
	assert_int_equal(json_span_member(json_span_of("{\"a\":\"unterminated}"), "a", &v), -1);
	assert_int_equal(json_span_member(json_span_of("{\"b\":{\"c\":1}"), "z", &v), -1);
	assert_int_equal(json_span_member(json_span_of("{\"a\":\"1\"}"), "a", &v), 0);
	assert_int_equal(json_span_int(v, &n), -1); /* a string, not a number */
	assert_int_equal(json_span_member(json_span_of(" { \"a\" : -3 } "), "a", &v), 0);
	assert_int_equal(json_span_int(v, &n), 0);
	assert_int_equal(n, -3);
}

static void test_docker_http_split(void **state)
{
	char resp[4096];
	const char *body;
	size_t body_len;
	int status;

	snprintf(resp, sizeof(resp), "%s%s", http_response_head, docker_body);
	assert_int_equal(docker_http_split(resp, strlen(resp), &status, &body, &body_len), 0);
	assert_int_equal(status, 200);
	assert_int_equal(body_len, strlen(docker_body));
	assert_memory_equal(body, docker_body, body_len);

	snprintf(resp, sizeof(resp), "HTTP/1.1 404 Not Found\r\n\r\n{\"message\":\"No such container: x\"}");
	assert_int_equal(docker_http_split(resp, strlen(resp), &status, &body, &body_len), 0);
	assert_int_equal(status, 404);

	assert_int_equal(docker_http_split("SSH-2.0-x\r\n\r\n", 13, &status, &body, &body_len), -1);
	assert_int_equal(docker_http_split("HTTP/1.0 200 OK\r\n", 17, &status, &body, &body_len), -1);
}

static void test_docker_inspect_answer_gives_pid_id_and_name(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(docker_parse_inspect(docker_body, strlen(docker_body), "web-1", &ref, &err), 0);
	assert_int_equal(ref.pid, 4242);
	assert_string_equal(ref.id, ID);
	assert_string_equal(ref.name, "web-1"); /* leading '/' dropped */
	assert_string_equal(ref.runtime, "docker");
}

static void test_docker_stopped_container_is_an_error(void **state)
{
	static const char stopped[] = "{\"Id\":\"" ID "\",\"State\":{\"Running\":false,\"Pid\":0}}";
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(docker_parse_inspect(stopped, strlen(stopped), "web-1", &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "'web-1' is not running"));
	assert_int_equal(docker_parse_inspect("{\"Id\":\"x\"}", 10, "w", &ref, &err), -1);
	assert_non_null(strstr(err.msg, "State.Pid"));
}

static void test_runc_state_init_pid(void **state)
{
	static const char runc_state[] =
		"{\"id\":\"mytest\",\"init_process_pid\":31337,\"init_process_start\":1234,"
		"\"created\":\"2026-11-27T23:00:00Z\",\"config\":{\"rootfs\":\"/x\","
		"\"labels\":[\"bundle=/tmp/b\"]},\"rootless\":false,"
		"\"cgroup_paths\":{\"pids\":\"/sys/fs/cgroup/pids/mytest\"}}";
	assert_int_equal(runc_state_init_pid(runc_state), 31337);
	assert_int_equal(runc_state_init_pid("{\"id\":\"x\"}"), 0);
	assert_int_equal(runc_state_init_pid("not json"), 0);
}

static void test_cli_answers(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(engine_cli_parse_answer("812 " ID " web\n", "web", "podman", &ref, &err), 0);
	assert_int_equal(ref.pid, 812);
	assert_string_equal(ref.id, ID);
	assert_string_equal(ref.name, "web");
	assert_string_equal(ref.runtime, "podman");
	/* machinectl / lxc-info print the PID only */
	assert_int_equal(engine_cli_parse_answer("977\n", "box", "nspawn", &ref, &err), 0);
	assert_int_equal(ref.pid, 977);
	assert_string_equal(ref.id, "");
	assert_string_equal(ref.name, "box");
	assert_int_equal(engine_cli_parse_answer("0 " ID " web\n", "web", "podman", &ref, &err), -1);
	assert_non_null(strstr(err.msg, "not running"));
	assert_int_equal(engine_cli_parse_answer("Error: no such\n", "w", "podman", &ref, &err), -1);
	assert_non_null(strstr(err.msg, "unexpected answer"));
	assert_int_equal(engine_cli_parse_answer("", "w", "lxc", &ref, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_get_top_level_and_nested_members),
		cmocka_unit_test(test_json_decodes_string_escapes),
		cmocka_unit_test(test_json_array_items_in_order),
		cmocka_unit_test(test_json_rejects_malformed_and_wrong_types),
		cmocka_unit_test(test_docker_http_split),
		cmocka_unit_test(test_docker_inspect_answer_gives_pid_id_and_name),
		cmocka_unit_test(test_docker_stopped_container_is_an_error),
		cmocka_unit_test(test_runc_state_init_pid),
		cmocka_unit_test(test_cli_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
