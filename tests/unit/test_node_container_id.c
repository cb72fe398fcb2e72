/* The runtime cgroup-name table: every runtime's path forms, conmon exclusion, whole-component
 * matching and the prefix rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "node/container_id.h"

#include <string.h>

#define ID "4f3e2d1c0b0a99887766554433221100ffeeddccbbaa99887766554433221100"

static const struct {
	const char *path;
	const char *runtime; /* NULL: undecorated */
} runtime_paths[] = {
	{ "/" ID, NULL },                                                   /* runc */
	{ "/default/" ID, NULL },                                           /* containerd (ctr) */
	{ "/libpod_parent/libpod-" ID, "podman" },                          /* podman cgroupfs */
	{ "/machine.slice/libpod-" ID ".scope", "podman" },                 /* podman systemd */
	{ "/docker/" ID, NULL },                                            /* docker cgroupfs */
	{ "/system.slice/docker-" ID ".scope", "docker" },                  /* docker systemd */
	{ "/kubepods/besteffort/pod0c8e2a7e-1d2b-4f5e-9a3b-1234567890ab/" ID, NULL },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0c8e.slice/"
	  "cri-containerd-" ID ".scope", "containerd" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/crio-" ID ".scope",
	  "crio" },
	{ "/../../kubepods/besteffort/pod42/" ID, NULL },                   /* own cgroup ns */
	{ "/../../kubepods.slice/crio-" ID ".scope", "crio" },
	{ "/docker/" ID "/", NULL },                                        /* trailing slash */
};

static void test_every_runtime_path_form_yields_the_id(void **state)
{
	for (size_t i = 0; i < sizeof(runtime_paths) / sizeof(runtime_paths[0]); i++) {
		char id[128] = "";
		const char *runtime = "unset";
		assert_true(cgroup_path_container_id(runtime_paths[i].path, id, sizeof(id), &runtime));
		assert_string_equal(id, ID);
		if (runtime_paths[i].runtime)
			assert_string_equal(runtime, runtime_paths[i].runtime);
		else
			assert_null(runtime);
		assert_true(cgroup_path_matches_id(runtime_paths[i].path, ID, false));
		assert_true(cgroup_path_matches_id(runtime_paths[i].path, "4f3e2d", true));
	}
}

static void test_conmon_cgroups_are_not_containers(void **state)
{
	static const char *const conmon[] = {
		"/libpod_parent/libpod-conmon-" ID,
		"/machine.slice/libpod-conmon-" ID ".scope",
		"/kubepods.slice/kubepods-pod1.slice/crio-conmon-" ID ".scope",
	};
	for (size_t i = 0; i < sizeof(conmon) / sizeof(conmon[0]); i++) {
		char id[128];
		assert_false(cgroup_path_container_id(conmon[i], id, sizeof(id), NULL));
		assert_false(cgroup_path_matches_id(conmon[i], ID, true));
		assert_false(cgroup_path_matches_id(conmon[i], "4f3e2d1c", true));
	}
}

static void test_non_container_cgroups_are_not_ids(void **state)
{
	static const char *const others[] = {
		"/", "", "/user.slice/user-0.slice/session-3.scope", "/system.slice/docker.service",
		"/process_api/3673dde91c88a4cc296d0cdaa86ffe4d", /* short bare hex: a session */
		"/docker/" ID "0",                               /* 65 chars */
		"/docker/4F3E2D1C0B0A99887766554433221100FFEEDDCCBBAA99887766554433221100",
		"/system.slice/docker-abc.scope",                /* too short when decorated */
		"/kubepods/besteffort/pod0c8e2a7e-1d2b-4f5e-9a3b-1234567890ab",
	};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char id[128];
		assert_false(cgroup_path_container_id(others[i], id, sizeof(id), NULL));
	}
}

static void test_id_only_in_last_component(void **state)
{
	char id[128];
	assert_false(cgroup_path_container_id("/docker/" ID "/init", id, sizeof(id), NULL));
	assert_false(cgroup_path_matches_id("/docker/" ID "/init", ID, true));
	assert_false(cgroup_path_matches_id("/" ID "/child", "4f3e2d", true));
}

static void test_whole_components_only(void **state)
{
	assert_true(cgroup_path_matches_id("/mytest", "mytest", false));
	assert_false(cgroup_path_matches_id("/xmytest", "mytest", true));
	assert_false(cgroup_path_matches_id("/mytestx", "mytest", true));
	assert_false(cgroup_path_matches_id("/mytest/sub", "mytest", true));
	assert_false(cgroup_path_matches_id("/x" ID, ID, true));
	/* runc with an arbitrary name: exact only, never a prefix */
	assert_false(cgroup_path_matches_id("/mytest", "mytes", true));
}

static void test_prefix_rules(void **state)
{
	/* at least six characters */
	assert_false(cgroup_path_matches_id("/docker/" ID, "4f3e2", true));
	assert_true(cgroup_path_matches_id("/docker/" ID, "4f3e2d", true));
	/* only when prefixes are allowed */
	assert_false(cgroup_path_matches_id("/docker/" ID, "4f3e2d", false));
	/* lowercase hex only */
	assert_false(cgroup_path_matches_id("/docker/" ID, "4F3E2D", true));
	/* a prefix of a short bare hex name (not a container ID) never matches */
	assert_false(cgroup_path_matches_id("/process_api/3673dde91c88a4cc296d0cdaa86ffe4d",
					    "3673dde9", true));
	/* ... but its exact name does */
	assert_true(cgroup_path_matches_id("/process_api/3673dde91c88a4cc296d0cdaa86ffe4d",
					   "3673dde91c88a4cc296d0cdaa86ffe4d", true));
	/* decorated with a short (>= 12) ID */
	assert_true(cgroup_path_matches_id("/x/libpod-0123456789abcd", "0123456789", true));
	/* a prefix that diverges */
	assert_false(cgroup_path_matches_id("/docker/" ID, "4f3e2e", true));
	/* the decoration is not part of the ID */
	assert_false(cgroup_path_matches_id("/machine.slice/libpod-" ID ".scope", "libpod-4f3e", true));
}

static void test_id_buffer_too_small_is_no_match(void **state)
{
	char id[16];
	assert_false(cgroup_path_container_id("/docker/" ID, id, sizeof(id), NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_runtime_path_form_yields_the_id),
		cmocka_unit_test(test_conmon_cgroups_are_not_containers),
		cmocka_unit_test(test_non_container_cgroups_are_not_ids),
		cmocka_unit_test(test_id_only_in_last_component),
		cmocka_unit_test(test_whole_components_only),
		cmocka_unit_test(test_prefix_rules),
		cmocka_unit_test(test_id_buffer_too_small_is_no_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
