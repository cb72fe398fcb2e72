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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_podman_auto_userns_map_translates_host_ids),
		cmocka_unit_test(test_several_ranges_are_all_searched),
		cmocka_unit_test(test_malformed_map_is_an_error_naming_the_line),
		cmocka_unit_test(test_apparmor_label_drops_the_mode),
		cmocka_unit_test(test_unconfined_apparmor_label_means_nothing_to_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
