/* proc_cgroup_parse on hybrid (this machine), pure v2 and cgroup-namespaced inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/proc_cgroup.h"

#include <string.h>

/* `cat /proc/self/cgroup` on this hybrid host. */
static const char hybrid[] =
	"9:name=systemd:/\n"
	"8:pids:/\n"
	"7:blkio:/\n"
	"6:freezer:/\n"
	"5:devices:/\n"
	"4:memory:/process_api/3673dde91c88a4cc296d0cdaa86ffe4d\n"
	"3:cpuset:/\n"
	"2:cpuacct:/\n"
	"1:cpu:/\n"
	"0::/\n";

static const char v2_kubepods[] =
	"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c.slice/"
	"cri-containerd-4f3e2d1c0b0a99887766554433221100ffeeddccbbaa99887766554433221100.scope\n";

/* Read from inside a pod's cgroup namespace: the target sits outside it. */
static const char v2_relative[] = "0::/../../kubepods/besteffort/pod42/abc\n";

static void test_cgroup_hybrid_has_every_hierarchy(void **state)
{
	struct cgroup_list l;
	struct cntr_err err = { 0 };
	const struct cgroup_entry *u;

	assert_int_equal(proc_cgroup_parse(hybrid, &l, &err), 0);
	assert_int_equal(l.n, 10);
	assert_int_equal(l.entries[0].hierarchy_id, 9);
	assert_string_equal(l.entries[0].controllers, "name=systemd");
	assert_string_equal(l.entries[5].path, "/process_api/3673dde91c88a4cc296d0cdaa86ffe4d");
	assert_string_equal(l.entries[5].controllers, "memory");
	u = cgroup_list_unified(&l);
	assert_non_null(u);
	assert_string_equal(u->controllers, "");
	assert_string_equal(u->path, "/");
	cgroup_list_release(&l);
	assert_int_equal(l.n, 0);
}

static void test_cgroup_v2_only(void **state)
{
	struct cgroup_list l;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_cgroup_parse(v2_kubepods, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_ptr_equal(cgroup_list_unified(&l), &l.entries[0]);
	assert_true(strstr(l.entries[0].path, "/cri-containerd-4f3e") != NULL);
	cgroup_list_release(&l);
}

static void test_cgroup_relative_path_kept_as_printed(void **state)
{
	struct cgroup_list l;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_cgroup_parse(v2_relative, &l, &err), 0);
	assert_string_equal(l.entries[0].path, "/../../kubepods/besteffort/pod42/abc");
	cgroup_list_release(&l);
}

static void test_cgroup_v1_only_has_no_unified(void **state)
{
	struct cgroup_list l;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_cgroup_parse("2:cpu,cpuacct:/docker/x\n1:name=systemd:/docker/x", &l,
					   &err), 0);
	assert_int_equal(l.n, 2); /* last line without newline is kept */
	assert_string_equal(l.entries[0].controllers, "cpu,cpuacct");
	assert_null(cgroup_list_unified(&l));
	cgroup_list_release(&l);
}

static void test_cgroup_path_may_contain_colons(void **state)
{
	struct cgroup_list l;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_cgroup_parse("0::/a:b/c\n", &l, &err), 0);
	assert_string_equal(l.entries[0].path, "/a:b/c");
	cgroup_list_release(&l);
}

static void test_cgroup_malformed_lines_are_errors(void **state)
{
	struct cgroup_list l;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_cgroup_parse("0::/\ngarbage\n", &l, &err), -1);
	assert_non_null(strstr(err.msg, "garbage"));
	assert_int_equal(l.n, 0);
	assert_int_equal(proc_cgroup_parse("x:cpu:/\n", &l, &err), -1);
	assert_non_null(strstr(err.msg, "not a number"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_hybrid_has_every_hierarchy),
		cmocka_unit_test(test_cgroup_v2_only),
		cmocka_unit_test(test_cgroup_relative_path_kept_as_printed),
		cmocka_unit_test(test_cgroup_v1_only_has_no_unified),
		cmocka_unit_test(test_cgroup_path_may_contain_colons),
		cmocka_unit_test(test_cgroup_malformed_lines_are_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
