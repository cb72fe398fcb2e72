/* Name resolution through engine command-line tools, against stand-in tools placed first in
 * PATH (the real ones answer the same way): argv passed without a shell, answers parsed,
 * unknown names, stopped containers, ambiguous names, absent tools, option-looking names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAKE_ID "5e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f"

static char tooldir[] = "/tmp/cntr-engine-cli-XXXXXX";
static char calls[sizeof(tooldir) + 16];

/* Each tool appends its argv to $FAKE_CALLS, so tests can tell whether it ran. */
static const struct {
	const char *name;
	const char *body;
} tools[] = {
	{ "machinectl",
	  "[ \"$*\" = \"show --property=Leader --value box1\" ] && { echo \"$FAKE_PID\"; exit 0; }\n"
	  "echo \"No machine '$4' known\" >&2; exit 1\n" },
	{ "lxc-info",
	  "[ \"$*\" = \"-n web -p -H\" ] && { echo \"$FAKE_PID\"; exit 0; }\n"
	  "echo \"$3 doesn't exist\" >&2; exit 1\n" },
	{ "podman",
	  "[ \"$1 $2 $3\" = \"container inspect --format\" ] || exit 2\n"
	  "[ \"$4\" = '{{.State.Pid}} {{.Id}} {{.Name}}' ] || exit 3\n"
	  "case \"$5\" in\n"
	  "  web) echo \"$FAKE_PID " FAKE_ID " web\" ;;\n"
	  "  stopped) echo \"0 " FAKE_ID " stopped\" ;;\n"
	  "  *) echo \"Error: no such container $5\" >&2; exit 125 ;;\n"
	  "esac\n" },
	{ "crictl",
	  "[ \"$1 $2 $3\" = \"ps --quiet --name\" ] || exit 2\n"
	  "case \"$4\" in\n"
	  "  '^dup$') printf '%s\\n%s\\n%s\\n' aaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbb cccccccccccccccc ;;\n"
	  "esac\n" },
};

static int setup(void **state)
{
	char pid[32];

	if (!mkdtemp(tooldir))
		return -1;
	snprintf(calls, sizeof(calls), "%s/calls", tooldir);
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		char path[128];
		FILE *f;
		snprintf(path, sizeof(path), "%s/%s", tooldir, tools[i].name);
		f = fopen(path, "w");
		if (!f)
			return -1;
		fprintf(f, "#!/bin/sh\necho \"$0 $*\" >> \"$FAKE_CALLS\"\n%s", tools[i].body);
		fclose(f);
		chmod(path, 0755);
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("FAKE_PID", pid, 1);
	setenv("FAKE_CALLS", calls, 1);
	setenv("PATH", tooldir, 1); /* only the stand-ins; they use /bin/sh by absolute path */
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), "%s/%s", tooldir, tools[i].name);
		unlink(path);
	}
	unlink(calls);
	rmdir(tooldir);
	return 0;
}

static void test_nspawn_name_gives_the_leader(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(resolve_target("box1", RESOLVE_NSPAWN, &ref, &err), 0);
	assert_int_equal(ref.pid, getpid());
	assert_string_equal(ref.runtime, "nspawn");
	assert_string_equal(ref.name, "box1");
	assert_int_equal(resolve_target("box2", RESOLVE_NSPAWN, &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "(tried: nspawn)"));
}

static void test_lxc_name_gives_the_init(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(resolve_target("web", RESOLVE_LXC, &ref, &err), 0);
	assert_int_equal(ref.pid, getpid());
	assert_string_equal(ref.runtime, "lxc");
}

static void test_podman_name_gives_pid_and_id(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(resolve_target("web", RESOLVE_PODMAN, &ref, &err), 0);
	assert_int_equal(ref.pid, getpid());
	assert_string_equal(ref.id, FAKE_ID);
	assert_string_equal(ref.runtime, "podman");
	assert_int_equal(resolve_target("nope", RESOLVE_PODMAN, &ref, &err), -1);
	assert_non_null(strstr(err.msg, "no container or process matches 'nope'"));
}

static void test_stopped_container_is_an_error_not_a_miss(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(resolve_target("stopped", RESOLVE_PODMAN | RESOLVE_LXC, &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_string_equal(err.msg, "podman container 'stopped' is not running; start it first");
}

static void test_crio_ambiguous_name_lists_containers(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	assert_int_equal(resolve_target("dup", RESOLVE_CRIO, &ref, &err), -1);
	assert_non_null(strstr(err.msg, "'dup' is ambiguous: 3 containers (aaaaaaaaaaaa, "
					"bbbbbbbbbbbb, ...)"));
	assert_int_equal(resolve_target("single", RESOLVE_CRIO, &ref, &err), -1);
	assert_non_null(strstr(err.msg, "no container or process matches 'single'"));
}

static void test_option_looking_names_never_reach_the_tools(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	unlink(calls);
	assert_int_equal(resolve_target("-box1", RESOLVE_NSPAWN | RESOLVE_LXC | RESOLVE_PODMAN |
					RESOLVE_CRIO, &ref, &err), -1);
	assert_int_equal(access(calls, F_OK), -1);
	assert_int_equal(resolve_target("box1", RESOLVE_NSPAWN, &ref, &err), 0);
	assert_int_equal(access(calls, F_OK), 0); /* the probe itself works */
}

static void test_absent_tool_is_skipped(void **state)
{
	struct container_ref ref;
	struct cntr_err err = { 0 };

	setenv("PATH", "/nonexistent-dir", 1);
	assert_int_equal(resolve_target("box1", RESOLVE_NSPAWN | RESOLVE_LXC, &ref, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "(tried: nspawn, lxc)"));
	setenv("PATH", tooldir, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nspawn_name_gives_the_leader),
		cmocka_unit_test(test_lxc_name_gives_the_init),
		cmocka_unit_test(test_podman_name_gives_pid_and_id),
		cmocka_unit_test(test_stopped_container_is_an_error_not_a_miss),
		cmocka_unit_test(test_crio_ambiguous_name_lists_containers),
		cmocka_unit_test(test_option_looking_names_never_reach_the_tools),
		cmocka_unit_test(test_absent_tool_is_skipped),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
