/* Target resolution against real processes placed in real cgroups named like containers
 * (runs as root; skipped otherwise). Every cgroup and process is removed at the end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID_LEN 64

/* A cgroup hierarchy we may create cgroups in: v1 pids on hybrid hosts, else the v2 root. */
static const char *cgroup_base(void)
{
	static const char *const candidates[] = { "/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified",
						  "/sys/fs/cgroup" };
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		char probe[128];
		snprintf(probe, sizeof(probe), "%s/cgroup.procs", candidates[i]);
		if (access(probe, W_OK) == 0)
			return candidates[i];
	}
	return NULL;
}

struct fake_container {
	char id[ID_LEN + 1];
	char dir[256];
	pid_t pid; /* our child: its init */
};

/* Everything started, so a failed assertion (which longjmps out of a test) still leaves
 * nothing behind: the group teardown stops what the test could not. */
#define MAX_STARTED 16
static struct fake_container started[MAX_STARTED];

static void remember(const struct fake_container *c)
{
	for (size_t i = 0; i < MAX_STARTED; i++) {
		if (started[i].pid == 0) {
			started[i] = *c;
			return;
		}
	}
}

static void forget(pid_t pid)
{
	for (size_t i = 0; i < MAX_STARTED; i++)
		if (started[i].pid == pid)
			started[i].pid = 0;
}

static void random_hex(char *out, size_t n)
{
	unsigned char bytes[ID_LEN];
	assert_true(n <= sizeof(bytes));
	assert_int_equal(getrandom(bytes, n, 0), (ssize_t)n);
	for (size_t i = 0; i < n; i++)
		out[i] = "0123456789abcdef"[bytes[i] % 16];
	out[n] = '\0';
}

/* Start `sh -c script` inside a new cgroup named by id: forked, moved into the cgroup by us
 * (so its parent, this test, stays outside), then released to exec. */
static void start_container(struct fake_container *c, const char *id, const char *script)
{
	int gate[2];
	char procs[300], pid_text[32];
	int fd;

	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->dir, sizeof(c->dir), "%s/%s", cgroup_base(), id);
	assert_int_equal(mkdir(c->dir, 0755), 0);
	assert_int_equal(pipe(gate), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		char byte;
		close(gate[1]);
		if (read(gate[0], &byte, 1) != 1)
			_exit(1);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(gate[0]);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->dir);
	snprintf(pid_text, sizeof(pid_text), "%d", (int)c->pid);
	fd = open(procs, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pid_text, strlen(pid_text)), (ssize_t)strlen(pid_text));
	close(fd);
	assert_int_equal(write(gate[1], "x", 1), 1);
	close(gate[1]);
	remember(c);
}

/* Kill everything in the cgroup, reap our child, remove the cgroup. */
static void stop_container(struct fake_container *c)
{
	char procs[300];
	FILE *f;
	int pid;

	if (c->pid <= 0)
		return;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->dir);
	f = fopen(procs, "r");
	while (f && fscanf(f, "%d", &pid) == 1)
		kill(pid, SIGKILL);
	if (f)
		fclose(f);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	/* Orphaned grandchildren die asynchronously: retry until the cgroup is empty. */
	for (int i = 0; i < 1000 && rmdir(c->dir) < 0 && errno == EBUSY; i++)
		usleep(2000);
	forget(c->pid);
	c->pid = 0;
}

/* Wait until the shell script has started its own children (an exec after `&`). */
static void wait_for_process_count(struct fake_container *c, int n)
{
	char procs[300];
	for (int tries = 0; tries < 5000; tries++) {
		FILE *f;
		int pid, count = 0;
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", c->dir);
		f = fopen(procs, "r");
		while (f && fscanf(f, "%d", &pid) == 1)
			count++;
		if (f)
			fclose(f);
		if (count >= n)
			return;
		usleep(1000);
	}
	fail_msg("cgroup %s never reached %d processes", c->dir, n);
}

static int setup(void **state)
{
	if (geteuid() != 0 || !cgroup_base())
		print_message("skipping cgroup tests: needs root and a writable cgroup hierarchy\n");
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < MAX_STARTED; i++) {
		struct fake_container c = started[i];
		stop_container(&c);
	}
	return 0;
}

#define REQUIRE_CGROUPS()                                   \
	do {                                                \
		if (geteuid() != 0 || !cgroup_base())       \
			skip();                             \
	} while (0)

static void test_resolve_full_id_and_prefix(void **state)
{
	struct fake_container c = { .pid = 0 };
	char id[ID_LEN + 1], prefix[9];
	struct container_ref ref;
	struct cntr_err err = { 0 };

	REQUIRE_CGROUPS();
	random_hex(id, ID_LEN);
	start_container(&c, id, "exec sleep 600");
	assert_int_equal(resolve_target(id, RESOLVE_DEFAULT, &ref, &err), 0);
	assert_int_equal(ref.pid, c.pid);
	assert_string_equal(ref.id, id);
	snprintf(prefix, sizeof(prefix), "%.8s", id);
	memset(&ref, 0, sizeof(ref));
	assert_int_equal(resolve_target(prefix, RESOLVE_ID, &ref, &err), 0);
	assert_int_equal(ref.pid, c.pid);
	assert_string_equal(ref.id, id);
	stop_container(&c);
	/* gone: no longer resolvable */
	assert_int_equal(resolve_target(id, RESOLVE_ID, &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
}

static void test_resolve_picks_the_process_whose_parent_is_outside(void **state)
{
	struct fake_container c = { .pid = 0 };
	char id[ID_LEN + 1];
	struct container_ref ref;
	struct cntr_err err = { 0 };

	REQUIRE_CGROUPS();
	random_hex(id, ID_LEN);
	/* The shell starts a child inside the container, then becomes `sleep` itself. */
	start_container(&c, id, "sleep 600 & exec sleep 601");
	wait_for_process_count(&c, 2);
	assert_int_equal(resolve_target(id, RESOLVE_ID, &ref, &err), 0);
	assert_int_equal(ref.pid, c.pid);
	stop_container(&c);
}

/* An `exec` into a container also has its parent outside the cgroup; the init is the older. */
static void test_resolve_prefers_init_over_later_exec(void **state)
{
	struct fake_container c = { .pid = 0 }, exec_session = { .pid = 0 };
	char id[ID_LEN + 1];
	struct container_ref ref;
	struct cntr_err err = { 0 };
	char procs[300], pid_text[32];
	int fd;

	REQUIRE_CGROUPS();
	random_hex(id, ID_LEN);
	start_container(&c, id, "exec sleep 600");
	/* a second process started by "the runtime" (us) later, straight into the cgroup */
	exec_session.pid = fork();
	assert_true(exec_session.pid >= 0);
	if (exec_session.pid == 0) {
		execl("/bin/sleep", "sleep", "600", (char *)NULL);
		_exit(127);
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", c.dir);
	snprintf(pid_text, sizeof(pid_text), "%d", (int)exec_session.pid);
	fd = open(procs, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pid_text, strlen(pid_text)), (ssize_t)strlen(pid_text));
	close(fd);
	assert_int_equal(resolve_target(id, RESOLVE_ID, &ref, &err), 0);
	assert_int_equal(ref.pid, c.pid);
	kill(exec_session.pid, SIGKILL);
	waitpid(exec_session.pid, NULL, 0);
	stop_container(&c);
}

static void test_ambiguous_prefix_lists_candidates(void **state)
{
	struct fake_container a = { .pid = 0 }, b = { .pid = 0 };
	char id_a[ID_LEN + 1], id_b[ID_LEN + 1], shared[11], longer[20];
	struct container_ref ref;
	struct cntr_err err = { 0 };
	char pid_a[32], pid_b[32];

	REQUIRE_CGROUPS();
	random_hex(id_a, ID_LEN);
	random_hex(id_b, ID_LEN);
	memcpy(id_b, id_a, 10);                        /* same first 10 characters */
	id_b[10] = id_a[10] == '0' ? '1' : '0';        /* and different from there */
	snprintf(shared, sizeof(shared), "%.10s", id_a);
	start_container(&a, id_a, "exec sleep 600");
	start_container(&b, id_b, "exec sleep 600");

	assert_int_equal(resolve_target(shared, RESOLVE_DEFAULT, &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "is ambiguous"));
	assert_non_null(strstr(err.msg, id_a));
	assert_non_null(strstr(err.msg, id_b));
	snprintf(pid_a, sizeof(pid_a), "(pid %d)", (int)a.pid);
	snprintf(pid_b, sizeof(pid_b), "(pid %d)", (int)b.pid);
	assert_non_null(strstr(err.msg, pid_a));
	assert_non_null(strstr(err.msg, pid_b));

	/* one more character settles it */
	snprintf(longer, sizeof(longer), "%.11s", id_b);
	assert_int_equal(resolve_target(longer, RESOLVE_DEFAULT, &ref, &err), 0);
	assert_int_equal(ref.pid, b.pid);
	stop_container(&a);
	stop_container(&b);
}

static void test_short_prefix_is_not_accepted(void **state)
{
	struct fake_container c = { .pid = 0 };
	char id[ID_LEN + 1], prefix[6];
	struct container_ref ref;
	struct cntr_err err = { 0 };

	REQUIRE_CGROUPS();
	random_hex(id, ID_LEN);
	start_container(&c, id, "exec sleep 600");
	snprintf(prefix, sizeof(prefix), "%.5s", id);
	assert_int_equal(resolve_target(prefix, RESOLVE_ID, &ref, &err), -1);
	assert_non_null(strstr(err.msg, "no container or process matches"));
	stop_container(&c);
}

static void test_exact_cgroup_name_resolves_like_plain_runc(void **state)
{
	struct fake_container c = { .pid = 0 };
	char id[ID_LEN + 1], name[80];
	struct container_ref ref;
	struct cntr_err err = { 0 };

	REQUIRE_CGROUPS();
	random_hex(id, 12);
	snprintf(name, sizeof(name), "cntr-test-%s", id); /* not hex: a runc-style name */
	start_container(&c, name, "exec sleep 600");
	assert_int_equal(resolve_target(name, RESOLVE_DEFAULT, &ref, &err), 0);
	assert_int_equal(ref.pid, c.pid);
	assert_string_equal(ref.id, name);
	/* names match exactly, never by prefix */
	name[strlen(name) - 1] = '\0';
	assert_int_equal(resolve_target(name, RESOLVE_ID, &ref, &err), -1);
	stop_container(&c);
}

static void test_list_shows_the_container_init(void **state)
{
	struct fake_container c = { .pid = 0 };
	char id[ID_LEN + 1];
	struct container_list list;
	struct cntr_err err = { 0 };
	bool seen = false;

	REQUIRE_CGROUPS();
	random_hex(id, ID_LEN);
	start_container(&c, id, "sleep 600 & exec sleep 601");
	wait_for_process_count(&c, 2);
	assert_int_equal(list_containers(RESOLVE_DEFAULT, &list, &err), 0);
	for (size_t i = 0; i < list.n; i++) {
		if (strcmp(list.items[i].id, id) != 0)
			continue;
		assert_false(seen); /* one entry per container, not per process */
		seen = true;
		assert_int_equal(list.items[i].pid, c.pid);
		assert_string_equal(list.items[i].runtime, "cgroup");
	}
	assert_true(seen);
	container_list_release(&list);

	/* -t docker: not a docker container */
	assert_int_equal(list_containers(RESOLVE_DOCKER, &list, &err), 0);
	for (size_t i = 0; i < list.n; i++)
		assert_string_not_equal(list.items[i].id, id);
	container_list_release(&list);
	stop_container(&c);
}

static void test_resolve_pid(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };
	char self[32];

	snprintf(self, sizeof(self), "%d", (int)getpid());
	assert_int_equal(resolve_target(self, RESOLVE_PID, &ref, &err), 0);
	assert_int_equal(ref.pid, getpid());
	assert_string_equal(ref.runtime, "pid");
	/* above any pid_max: no such process */
	assert_int_equal(resolve_target("2000000000", RESOLVE_PID | RESOLVE_ID, &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "no process has PID 2000000000"));
	assert_non_null(strstr(err.msg, "tried: pid, id"));
}

static void test_unknown_target_names_what_was_tried(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(resolve_target("no-such-container-4711", RESOLVE_ID | RESOLVE_CONTAINERD,
					&ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_string_equal(err.msg, "no container or process matches 'no-such-container-4711' "
				     "(tried: id, containerd); run `cntr list` to see what is visible");
	assert_int_equal(resolve_target("", RESOLVE_DEFAULT, &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_USAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_full_id_and_prefix),
		cmocka_unit_test(test_resolve_picks_the_process_whose_parent_is_outside),
		cmocka_unit_test(test_resolve_prefers_init_over_later_exec),
		cmocka_unit_test(test_ambiguous_prefix_lists_candidates),
		cmocka_unit_test(test_short_prefix_is_not_accepted),
		cmocka_unit_test(test_exact_cgroup_name_resolves_like_plain_runc),
		cmocka_unit_test(test_list_shows_the_container_init),
		cmocka_unit_test(test_resolve_pid),
		cmocka_unit_test(test_unknown_target_names_what_was_tried),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
