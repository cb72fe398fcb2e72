/* uid_map/gid_map translation and LSM label parsing (no LSM is active on the CI hosts, so
 * the parsing is checked on captured labels). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/idmap.h"
#include "node/lsm.h"
#include "node/target.h"

#include <errno.h>
#include <stdlib.h>

static void test_podman_auto_userns_map_translates_host_ids(void **state)
{
	struct id_map map;
	struct cntr_err err;
	assert_int_equal(id_map_parse("         0     100000      65536\n", &map, &err), 0);
	assert_int_equal(map.n, 1);
	assert_int_equal(id_map_to_inner(&map, 100000), 0);
	assert_int_equal(id_map_to_inner(&map, 101000), 1000);
	assert_int_equal(id_map_to_inner(&map, 165535), 65535);
	assert_int_equal(id_map_to_inner(&map, 165536), -1);
	assert_int_equal(id_map_to_inner(&map, 0), -1);
}

static void test_several_ranges_are_all_searched(void **state)
{
	struct id_map map;
	struct cntr_err err;
	assert_int_equal(id_map_parse("0 1000 1\n1 200000 65535\n", &map, &err), 0);
	assert_int_equal(map.n, 2);
	assert_int_equal(id_map_to_inner(&map, 1000), 0);
	assert_int_equal(id_map_to_inner(&map, 200000), 1);
}

static void test_malformed_map_is_an_error_naming_the_line(void **state)
{
	struct id_map map;
	struct cntr_err err;
	assert_int_equal(id_map_parse("0 x 1\n", &map, &err), -1);
	assert_non_null(strstr(err.msg, "malformed id map line"));
}

static void test_apparmor_label_drops_the_mode(void **state)
{
	char enforce[] = "docker-default (enforce)\n";
	char complain[] = "cri-containerd.apparmor.d (complain)";
	char bare[] = "my-profile";
	assert_string_equal(apparmor_profile_from_label(enforce), "docker-default");
	assert_string_equal(apparmor_profile_from_label(complain), "cri-containerd.apparmor.d");
	assert_string_equal(apparmor_profile_from_label(bare), "my-profile");
}

static void test_unconfined_apparmor_label_means_nothing_to_apply(void **state)
{
	char unconfined[] = "unconfined\n";
	char empty[] = "";
	assert_null(apparmor_profile_from_label(unconfined));
	assert_null(apparmor_profile_from_label(empty));
	assert_null(apparmor_profile_from_label(NULL));
}

static void test_lsm_request_per_lsm(void **state)
{
	struct target t = { .pid = 42, .lsm_label = "docker-default (enforce)" };
	struct cntr_err err = { 0 };
	char *request = NULL;

	assert_int_equal(lsm_exec_request(LSM_APPARMOR, &t, &request, &err), 0);
	assert_string_equal(request, "exec docker-default");
	free(request);
	t.lsm_label = "system_u:system_r:container_t:s0:c1,c2";
	assert_int_equal(lsm_exec_request(LSM_SELINUX, &t, &request, &err), 0);
	assert_string_equal(request, "system_u:system_r:container_t:s0:c1,c2");
	free(request);
	assert_int_equal(lsm_exec_request(LSM_NONE, &t, &request, &err), 0);
	assert_null(request);
}

static void test_unreadable_label_is_an_error_not_unconfined(void **state)
{
	struct target t = { .pid = 42, .lsm_errnum = EACCES };
	struct cntr_err err = { 0 };
	char *request = NULL;

	assert_int_equal(lsm_exec_request(LSM_APPARMOR, &t, &request, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "/proc/42/attr"));
	assert_null(request);
	/* no LSM on the host: nothing to apply, the unreadable attribute does not matter */
	assert_int_equal(lsm_exec_request(LSM_NONE, &t, &request, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_podman_auto_userns_map_translates_host_ids),
		cmocka_unit_test(test_several_ranges_are_all_searched),
		cmocka_unit_test(test_malformed_map_is_an_error_naming_the_line),
		cmocka_unit_test(test_apparmor_label_drops_the_mode),
		cmocka_unit_test(test_unconfined_apparmor_label_means_nothing_to_apply),
		cmocka_unit_test(test_lsm_request_per_lsm),
		cmocka_unit_test(test_unreadable_label_is_an_error_not_unconfined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
