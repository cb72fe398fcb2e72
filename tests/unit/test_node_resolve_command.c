/* `-t command`: substring of a command line; cntr itself, its ancestors and its children never
 * match; several matches are an error listing the PIDs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/resolve.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

/* A unique number sleep(1) accepts as an extra argument: "0.000<digits>". */
static void unique_token(char *out, size_t size)
{
	unsigned int r;
	assert_int_equal(getrandom(&r, sizeof(r), 0), (ssize_t)sizeof(r));
	snprintf(out, size, "0.000%010u", r);
}

static bool cmdline_contains(pid_t pid, const char *needle)
{
	char path[64], buf[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void wait_for_cmdline(pid_t pid, const char *token)
{
	for (int i = 0; i < 5000 && !cmdline_contains(pid, token); i++)
		usleep(1000);
	assert_true(cmdline_contains(pid, token));
}

/* `sleep 600 TOKEN` that is NOT our descendant: double fork, the middle process exits so the
 * sleeper is re-parented away from us. With a launcher script, the orphan is `sh -c SCRIPT`. */
static pid_t start_orphan(const char *token, const char *script)
{
	int p[2];
	pid_t middle, sleeper = 0;

	assert_int_equal(pipe(p), 0);
	middle = fork();
	assert_true(middle >= 0);
	if (middle == 0) {
		pid_t child = fork();
		if (child == 0) {
			close(p[0]);
			close(p[1]);
			setsid();
			if (script)
				execl("/bin/sh", "sh", "-c", script, (char *)NULL);
			else
				execl("/bin/sleep", "sleep", "600", token, (char *)NULL);
			_exit(127);
		}
		if (write(p[1], &child, sizeof(child)) != sizeof(child))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &sleeper, sizeof(sleeper)), (ssize_t)sizeof(sleeper));
	close(p[0]);
	waitpid(middle, NULL, 0);
	wait_for_cmdline(sleeper, token);
	return sleeper;
}

static pid_t start_orphan_sleep(const char *token)
{
	return start_orphan(token, NULL);
}

/* The one child of pid, from /proc/PID/task/PID/children; 0 until it has one. */
static pid_t only_child_of(pid_t pid)
{
	char path[96];
	int child = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%d", &child) != 1)
			child = 0;
		fclose(f);
	}
	return child;
}

static void stop_orphan(pid_t pid)
{
	kill(pid, SIGKILL);
	/* Reaped by whoever adopted it; wait until it is gone or a zombie. */
	for (int i = 0; i < 5000 && cmdline_contains(pid, "sleep"); i++)
		usleep(1000);
}

static void test_command_substring_finds_the_process(void **state)
{
	char token[32];
	struct container_ref ref;
	struct cntr_err err = { 0 };
	pid_t pid;

	unique_token(token, sizeof(token));
	pid = start_orphan_sleep(token);
	assert_int_equal(resolve_target(token, RESOLVE_COMMAND, &ref, &err), 0);
	assert_int_equal(ref.pid, pid);
	assert_string_equal(ref.runtime, "command");
	stop_orphan(pid);
}

static void test_command_prefers_the_launched_process_over_its_launcher(void **state)
{
	char token[32], script[96];
	struct container_ref ref;
	struct cntr_err err = { 0 };
	pid_t shell, sleeper = 0;

	unique_token(token, sizeof(token));
	/* `; exit` keeps sh from exec'ing sleep: both command lines hold the token */
	snprintf(script, sizeof(script), "sleep 600 %s; exit 0", token);
	shell = start_orphan(token, script);
	for (int i = 0; i < 5000 && !(sleeper = only_child_of(shell)); i++)
		usleep(1000);
	assert_true(sleeper > 0);
	wait_for_cmdline(sleeper, token);
	assert_int_equal(resolve_target(token, RESOLVE_COMMAND, &ref, &err), 0);
	assert_int_equal(ref.pid, sleeper);
	stop_orphan(sleeper);
	stop_orphan(shell);
}

static void test_command_several_matches_is_an_error_listing_pids(void **state)
{
	char token[32], pid_a[80], pid_b[80];
	struct container_ref ref;
	struct cntr_err err = { 0 };
	pid_t a, b;

	unique_token(token, sizeof(token));
	a = start_orphan_sleep(token);
	b = start_orphan_sleep(token);
	assert_int_equal(resolve_target(token, RESOLVE_COMMAND, &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "matches 2 processes"));
	snprintf(pid_a, sizeof(pid_a), "%d (sleep 600 %s)", (int)a, token);
	snprintf(pid_b, sizeof(pid_b), "%d (sleep 600 %s)", (int)b, token);
	assert_non_null(strstr(err.msg, pid_a));
	assert_non_null(strstr(err.msg, pid_b));
	stop_orphan(a);
	stop_orphan(b);
}

static void test_command_never_matches_own_children(void **state)
{
	char token[32];
	struct container_ref ref;
	struct cntr_err err = { 0 };
	pid_t child;

	unique_token(token, sizeof(token));
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execl("/bin/sleep", "sleep", "600", token, (char *)NULL);
		_exit(127);
	}
	wait_for_cmdline(child, token);
	assert_int_equal(resolve_target(token, RESOLVE_COMMAND, &ref, &err), -1);
	assert_non_null(strstr(err.msg, "no container or process matches"));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

/* Re-executed as `sh -c 'SELF --probe TOKEN'`: the token is in our own command line and in
 * our parent's; neither may match. */
static int probe(const char *token)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };
	int r = resolve_target(token, RESOLVE_COMMAND, &ref, &err);
	return r == -1 && strstr(err.msg, "no container or process matches") ? 0 : 1;
}

static void test_command_never_matches_self_or_ancestors(void **state)
{
	char token[32], self[4096], script[4200];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int status;
	pid_t child;

	assert_true(n > 0);
	self[n] = '\0';
	unique_token(token, sizeof(token));
	/* `; exit $?` keeps sh from exec'ing the probe directly: the ancestor must exist */
	snprintf(script, sizeof(script), "'%s' --probe %s; exit $?", self, token);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_substring_finds_the_process),
		cmocka_unit_test(test_command_prefers_the_launched_process_over_its_launcher),
		cmocka_unit_test(test_command_several_matches_is_an_error_listing_pids),
		cmocka_unit_test(test_command_never_matches_own_children),
		cmocka_unit_test(test_command_never_matches_self_or_ancestors),
	};
	if (argc == 3 && strcmp(argv[1], "--probe") == 0)
		return probe(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
