/* The docker resolver over a unix socket, against a stand-in API server: the request it sends,
 * 200/404/500 answers, a stopped container, a daemon that is not running. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/resolve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define FAKE_ID "c0ffee0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e"

static char dir[] = "/tmp/cntr-docker-XXXXXX";
static char sock_path[64];
static char request_log[64];

/* Serve exactly one connection: log the request, answer by the path asked for. */
static void serve_one(int listen_fd)
{
	char req[2048] = "", body[512], resp[1024];
	const char *status = "404 Not Found";
	ssize_t n, got = 0;
	int fd = accept(listen_fd, NULL, NULL);
	FILE *log;

	if (fd < 0)
		_exit(1);
	/* HTTP/1.0 request without a body: read until the blank line */
	while (!strstr(req, "\r\n\r\n") && (n = read(fd, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
		got += n;
		req[got] = '\0';
	}
	log = fopen(request_log, "w");
	if (log) {
		fputs(req, log);
		fclose(log);
	}
	snprintf(body, sizeof(body), "{\"message\":\"No such container\"}");
	if (strncmp(req, "GET /containers/web/json HTTP/1.0\r\n", 35) == 0) {
		status = "200 OK";
		snprintf(body, sizeof(body),
			 "{\"Id\":\"%s\",\"State\":{\"Running\":true,\"Pid\":%d},\"Name\":\"/web\"}",
			 FAKE_ID, (int)getppid());
	} else if (strncmp(req, "GET /containers/stopped/json ", 29) == 0) {
		status = "200 OK";
		snprintf(body, sizeof(body), "{\"Id\":\"%s\",\"State\":{\"Pid\":0},\"Name\":\"/stopped\"}",
			 FAKE_ID);
	} else if (strncmp(req, "GET /containers/broken/json ", 28) == 0) {
		status = "500 Internal Server Error";
	}
	snprintf(resp, sizeof(resp), "HTTP/1.0 %s\r\nContent-Type: application/json\r\n\r\n%s",
		 status, body);
	if (write(fd, resp, strlen(resp)) < 0)
		_exit(1);
	close(fd);
}

/* A server process for `connections` requests. */
static pid_t start_server(int connections)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	assert_true(fd >= 0);
	unlink(sock_path);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < connections; i++)
			serve_one(fd);
		_exit(0);
	}
	close(fd);
	return pid;
}

static void stop_server(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(sock_path);
}

static int setup(void **state)
{
	char host[96];
	if (!mkdtemp(dir))
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/docker.sock", dir);
	snprintf(request_log, sizeof(request_log), "%s/request", dir);
	snprintf(host, sizeof(host), "unix://%s", sock_path);
	setenv("DOCKER_HOST", host, 1);
	return 0;
}

static int teardown(void **state)
{
	unlink(sock_path);
	unlink(request_log);
	rmdir(dir);
	return 0;
}

static void test_docker_name_gives_pid_id_and_name(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };
	pid_t server = start_server(1);
	char logged[2048] = "";
	FILE *f;

	assert_int_equal(resolve_target("web", RESOLVE_DOCKER, &ref, &err), 0);
	assert_int_equal(ref.pid, getpid());
	assert_string_equal(ref.id, FAKE_ID);
	assert_string_equal(ref.name, "web");
	assert_string_equal(ref.runtime, "docker");
	stop_server(server);
	f = fopen(request_log, "r");
	assert_non_null(f);
	assert_true(fread(logged, 1, sizeof(logged) - 1, f) > 0);
	fclose(f);
	assert_true(strncmp(logged, "GET /containers/web/json HTTP/1.0\r\n", 35) == 0);
	assert_non_null(strstr(logged, "\r\nHost: docker\r\n"));
}

static void test_docker_unknown_name_is_a_miss(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };
	pid_t server = start_server(1);

	assert_int_equal(resolve_target("nope", RESOLVE_DOCKER, &ref, &err), -1);
	assert_string_equal(err.msg, "no container or process matches 'nope' (tried: docker); run "
				     "`cntr list` to see what is visible");
	stop_server(server);
}

static void test_docker_stopped_and_failing_daemon_are_errors(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };
	pid_t server = start_server(2);

	assert_int_equal(resolve_target("stopped", RESOLVE_DOCKER, &ref, &err), -1);
	assert_string_equal(err.msg, "docker container 'stopped' is not running; start it first");
	assert_int_equal(resolve_target("broken", RESOLVE_DOCKER, &ref, &err), -1);
	assert_string_equal(err.msg, "docker: GET /containers/broken/json answered HTTP 500");
	stop_server(server);
}

static void test_docker_not_running_is_skipped(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	unlink(sock_path);
	assert_int_equal(resolve_target("web", RESOLVE_DOCKER, &ref, &err), -1);
	assert_non_null(strstr(err.msg, "no container or process matches 'web' (tried: docker)"));
}

static void test_names_docker_cannot_have_never_reach_the_socket(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };
	pid_t server = start_server(1);

	unlink(request_log);
	assert_int_equal(resolve_target("web/../../version", RESOLVE_DOCKER, &ref, &err), -1);
	assert_int_equal(resolve_target("web json", RESOLVE_DOCKER, &ref, &err), -1);
	assert_int_equal(access(request_log, F_OK), -1);
	stop_server(server);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_name_gives_pid_id_and_name),
		cmocka_unit_test(test_docker_unknown_name_is_a_miss),
		cmocka_unit_test(test_docker_stopped_and_failing_daemon_are_errors),
		cmocka_unit_test(test_docker_not_running_is_skipped),
		cmocka_unit_test(test_names_docker_cannot_have_never_reach_the_socket),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
