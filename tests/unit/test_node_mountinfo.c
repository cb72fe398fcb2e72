/* mountinfo_parse on lines from this machine plus escapes and propagation fields. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/mountinfo.h"

#include <string.h>

static const char sample[] =
	"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict\n"
	"22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	"28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs "
	"model_tools_unavailable ro,size=4k,mode=755\n"
	"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:7 master:2 - cgroup2 cgroup2 rw\n"
	"90 27 254:0 /srv/my\\040data /mnt/with\\040space\\011tab rw,relatime shared:1 - ext4 "
	"/dev/vda rw\n"
	"91 27 0:50 / /empty\\134source rw - tmpfs  rw\n"
	"92 27 0:51 / /proc ro - proc proc rw\n";

static void test_mountinfo_parses_every_field(void **state)
{
	struct mount_table t;
	struct cntr_err err = { 0 };
	const struct mount_entry *e;

	assert_int_equal(mountinfo_parse(sample, &t, &err), 0);
	assert_int_equal(t.n, 7);
	e = &t.entries[0];
	assert_int_equal(e->mount_id, 27);
	assert_int_equal(e->parent_id, 1);
	assert_int_equal(e->major, 254);
	assert_int_equal(e->minor, 0);
	assert_string_equal(e->root, "/");
	assert_string_equal(e->mount_point, "/");
	assert_string_equal(e->mount_options, "rw,relatime");
	assert_string_equal(e->optional, "");
	assert_string_equal(e->fstype, "ext4");
	assert_string_equal(e->source, "/dev/vda");
	assert_string_equal(e->super_options, "rw,discard,resv_strict");
	mount_table_release(&t);
}

static void test_mountinfo_joins_optional_fields(void **state)
{
	struct mount_table t;
	struct cntr_err err = { 0 };

	assert_int_equal(mountinfo_parse(sample, &t, &err), 0);
	assert_string_equal(t.entries[3].optional, "shared:7 master:2");
	assert_string_equal(t.entries[3].fstype, "cgroup2");
	assert_string_equal(t.entries[4].optional, "shared:1");
	mount_table_release(&t);
}

static void test_mountinfo_decodes_octal_escapes(void **state)
{
	struct mount_table t;
	struct cntr_err err = { 0 };

	assert_int_equal(mountinfo_parse(sample, &t, &err), 0);
	assert_string_equal(t.entries[4].root, "/srv/my data");
	assert_string_equal(t.entries[4].mount_point, "/mnt/with space\ttab");
	assert_string_equal(t.entries[5].mount_point, "/empty\\source");
	assert_string_equal(t.entries[5].source, ""); /* empty source: two adjacent spaces */
	assert_non_null(mount_table_find(&t, "/mnt/with space\ttab"));
	mount_table_release(&t);
}

static void test_mountinfo_find_returns_topmost_mount(void **state)
{
	struct mount_table t;
	struct cntr_err err = { 0 };
	const struct mount_entry *e;

	assert_int_equal(mountinfo_parse(sample, &t, &err), 0);
	e = mount_table_find(&t, "/proc");
	assert_non_null(e);
	assert_int_equal(e->mount_id, 92); /* stacked over 22: the later line wins */
	assert_null(mount_table_find(&t, "/nonexistent"));
	assert_null(mount_table_find(&t, "/pro"));
	mount_table_release(&t);
}

static void test_mountinfo_rejects_malformed_lines(void **state)
{
	static const char *const bad[] = {
		"27 1 254:0 / / rw,relatime ext4 /dev/vda rw\n",       /* no separator */
		"27 1 254:0 / / rw - ext4 /dev/vda\n",                 /* missing super options */
		"x 1 254:0 / / rw - ext4 /dev/vda rw\n",               /* bad id */
		"27 1 254 / / rw - ext4 /dev/vda rw\n",                /* bad device */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mount_table t;
		struct cntr_err err = { 0 };
		assert_int_equal(mountinfo_parse(bad[i], &t, &err), -1);
		assert_non_null(strstr(err.msg, "mountinfo line 1"));
		assert_int_equal(t.n, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mountinfo_parses_every_field),
		cmocka_unit_test(test_mountinfo_joins_optional_fields),
		cmocka_unit_test(test_mountinfo_decodes_octal_escapes),
		cmocka_unit_test(test_mountinfo_find_returns_topmost_mount),
		cmocka_unit_test(test_mountinfo_rejects_malformed_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
