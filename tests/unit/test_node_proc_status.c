/* proc_status_parse on status texts captured from this machine and from a container. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/proc_status.h"

#include <string.h>

/* `cat /proc/self/status` as root on the Debian 12 host (trimmed of memory lines). */
static const char host_status[] =
	"Name:\tcat\n"
	"Umask:\t0022\n"
	"State:\tR (running)\n"
	"Tgid:\t5840\n"
	"Ngid:\t0\n"
	"Pid:\t5840\n"
	"PPid:\t5837\n"
	"TracerPid:\t0\n"
	"Uid:\t0\t0\t0\t0\n"
	"Gid:\t0\t0\t0\t0\n"
	"FDSize:\t256\n"
	"Groups:\t \n"
	"NStgid:\t5840\n"
	"NSpid:\t5840\n"
	"NSpgid:\t5837\n"
	"NSsid:\t3596\n"
	"Kthread:\t0\n"
	"VmPeak:\t    3060 kB\n"
	"Threads:\t1\n"
	"SigQ:\t0/96365\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t000001fffeffffff\n"
	"CapEff:\t000001fffeffffff\n"
	"CapBnd:\t000001fffeffffff\n"
	"CapAmb:\t0000000000000000\n"
	"NoNewPrivs:\t0\n"
	"Seccomp:\t0\n"
	"Seccomp_filters:\t0\n"
	"Speculation_Store_Bypass:\tvulnerable\n"
	"Cpus_allowed_list:\t0-1\n";

/* A process in a container's pid namespace running as uid 1000 with a seccomp filter. */
static const char container_status[] =
	"Name:\tmy server: v2\n"
	"Pid:\t48213\n"
	"PPid:\t48190\n"
	"Uid:\t1000\t1000\t1000\t1000\n"
	"Gid:\t1000\t1001\t1002\t1003\n"
	"Groups:\t10 1000 65534 \n"
	"NSpid:\t48213\t7\t1\n"
	"CapInh:\t0000000000000000\n"
	"CapPrm:\t0000000000000000\n"
	"CapEff:\t0000000000000000\n"
	"CapBnd:\t00000000a80425fb\n"
	"CapAmb:\t0000000000000000\n"
	"NoNewPrivs:\t1\n"
	"Seccomp:\t2\n";

static void test_status_parses_root_host_process(void **state)
{
	struct proc_status st;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_status_parse(host_status, &st, &err), 0);
	assert_string_equal(st.name, "cat");
	assert_int_equal(st.pid, 5840);
	assert_int_equal(st.ppid, 5837);
	assert_int_equal(st.nspid_inner, 5840);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(st.uid[i], 0);
		assert_int_equal(st.gid[i], 0);
	}
	assert_int_equal(st.ngroups, 0);
	assert_true(st.cap_eff == 0x1fffeffffffULL);
	assert_true(st.cap_bnd == 0x1fffeffffffULL);
	assert_true(st.cap_inh == 0 && st.cap_amb == 0);
	assert_int_equal(st.no_new_privs, 0);
	assert_int_equal(st.seccomp, 0);
	proc_status_release(&st);
}

static void test_status_parses_unprivileged_container_process(void **state)
{
	struct proc_status st;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_status_parse(container_status, &st, &err), 0);
	assert_string_equal(st.name, "my server: v2");
	assert_int_equal(st.nspid_inner, 1);
	assert_int_equal(st.uid[ID_EFFECTIVE], 1000);
	assert_int_equal(st.gid[ID_REAL], 1000);
	assert_int_equal(st.gid[ID_EFFECTIVE], 1001);
	assert_int_equal(st.gid[ID_SAVED], 1002);
	assert_int_equal(st.gid[ID_FS], 1003);
	assert_int_equal(st.ngroups, 3);
	assert_int_equal(st.groups[0], 10);
	assert_int_equal(st.groups[2], 65534);
	assert_true(st.cap_bnd == 0xa80425fbULL);
	assert_int_equal(st.no_new_privs, 1);
	assert_int_equal(st.seccomp, 2);
	proc_status_release(&st);
}

static void test_status_without_optional_lines_reports_unknown(void **state)
{
	struct proc_status st;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_status_parse("Pid:\t9\nUid:\t1 2 3 4\nGid:\t5 6 7 8\n", &st, &err), 0);
	assert_int_equal(st.no_new_privs, -1);
	assert_int_equal(st.seccomp, -1);
	assert_int_equal(st.nspid_inner, 9); /* no NSpid: same pid namespace */
	assert_int_equal(st.uid[ID_FS], 4);
	proc_status_release(&st);
}

static void test_status_missing_uid_is_an_error(void **state)
{
	struct proc_status st;
	struct cntr_err err = { 0 };

	assert_int_equal(proc_status_parse("Name:\tx\nPid:\t9\nGid:\t0\t0\t0\t0\n", &st, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "Uid"));
}

static void test_status_malformed_values_are_errors(void **state)
{
	static const char *const bad[] = {
		"Pid:\t9\nUid:\t0\t0\t0\nGid:\t0\t0\t0\t0\n",        /* three uids */
		"Pid:\t9\nUid:\t0\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",  /* five uids */
		"Pid:\tx9\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
		"Pid:\t9\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\tzz\n",
		"Pid:\t9\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nSeccomp:\t3\n",
		"Pid:\t9\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t1 x\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proc_status st;
		struct cntr_err err = { 0 };
		assert_int_equal(proc_status_parse(bad[i], &st, &err), -1);
		assert_true(strstr(err.msg, "malformed") != NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_parses_root_host_process),
		cmocka_unit_test(test_status_parses_unprivileged_container_process),
		cmocka_unit_test(test_status_without_optional_lines_reports_unknown),
		cmocka_unit_test(test_status_missing_uid_is_an_error),
		cmocka_unit_test(test_status_malformed_values_are_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
