/* What a Docker/OCI seccomp profile means (src/seccomp/oci_seccomp.c): actions and their
 * errno, argument conditions, includes/excludes by capability, architecture and kernel, the
 * architectures added, and one clear error per kind of mistake. Then the compiled programs,
 * built-in profile included, installed in a child and asked real system calls. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "common/fileio.h"
#include "node/seccomp_program.h"
#include "seccomp/oci_seccomp.h"
#include "seccomp/oci_seccomp_compile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CAP_BIT(n) (1ULL << (n))
enum { CAP_DAC_READ_SEARCH_ = 2, CAP_NET_ADMIN_ = 12, CAP_SYS_ADMIN_ = 21 };

static struct oci_seccomp_env env_with(uint64_t caps)
{
	struct oci_seccomp_env env = { .caps = caps, .goarch = "amd64", .kernel_major = 5, .kernel_minor = 10,
				       .native_arch = SCMP_ARCH_X86_64 };
	return env;
}

static int parse(const char *json, uint64_t caps, struct oci_seccomp_profile *p, struct cntr_err *err)
{
	struct oci_seccomp_env env = env_with(caps);
	return oci_seccomp_parse(json, strlen(json), "p.json", &env, p, err);
}

static const struct oci_seccomp_rule *rule_for(const struct oci_seccomp_profile *p, const char *name)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (!strcmp(p->rules[i].name, name))
			return &p->rules[i];
	return NULL;
}

static void test_actions_and_their_errno(void **state)
{
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;

	assert_int_equal(parse("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38, \"syscalls\": ["
			       "{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"
			       "{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},"
			       "{\"names\": [\"rmdir\"], \"action\": \"SCMP_ACT_ERRNO\"},"
			       "{\"name\": \"ptrace\", \"action\": \"SCMP_ACT_KILL\"},"
			       "{\"names\": [\"kill\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"},"
			       "{\"names\": [\"tkill\"], \"action\": \"SCMP_ACT_TRAP\"},"
			       "{\"names\": [\"uname\"], \"action\": \"SCMP_ACT_LOG\"},"
			       "{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 7}]}",
			       0, &p, &err),
			 0);
	assert_int_equal(p.default_action, SCMP_ACT_ERRNO(38));
	assert_int_equal(p.nrules, 9);
	assert_int_equal(rule_for(&p, "read")->action, SCMP_ACT_ALLOW);
	assert_int_equal(rule_for(&p, "write")->action, SCMP_ACT_ALLOW);
	assert_int_equal(rule_for(&p, "read")->nr, __NR_read);
	assert_int_equal(rule_for(&p, "mkdir")->action, SCMP_ACT_ERRNO(13));
	assert_int_equal(rule_for(&p, "rmdir")->action, SCMP_ACT_ERRNO(EPERM));
	assert_int_equal(rule_for(&p, "ptrace")->action, SCMP_ACT_KILL_THREAD);
	assert_int_equal(rule_for(&p, "kill")->action, SCMP_ACT_KILL_PROCESS);
	assert_int_equal(rule_for(&p, "tkill")->action, SCMP_ACT_TRAP);
	assert_int_equal(rule_for(&p, "uname")->action, SCMP_ACT_LOG);
	assert_int_equal(rule_for(&p, "getpid")->action, SCMP_ACT_TRACE(7));
	oci_seccomp_release(&p);
	assert_int_equal(parse("{\"defaultAction\": \"SCMP_ACT_ERRNO\"}", 0, &p, &err), 0);
	assert_int_equal(p.default_action, SCMP_ACT_ERRNO(EPERM));
	assert_int_equal(p.nrules, 0);
	oci_seccomp_release(&p);
}

static void test_argument_conditions(void **state)
{
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;
	const struct oci_seccomp_rule *r;

	assert_int_equal(parse("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"clone\"],"
			       " \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
			       "{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 0, \"op\": \"SCMP_CMP_MASKED_EQ\"},"
			       "{\"index\": 2, \"value\": 5, \"op\": \"SCMP_CMP_GT\"}]}]}",
			       0, &p, &err),
			 0);
	r = rule_for(&p, "clone");
	assert_int_equal(r->nargs, 2);
	assert_int_equal(r->args[0].index, 0);
	assert_true(r->args[0].value == 2114060288ULL);
	assert_true(r->args[0].value_two == 0);
	assert_int_equal(r->args[0].op, SCMP_CMP_MASKED_EQ);
	assert_int_equal(r->args[1].index, 2);
	assert_true(r->args[1].value == 5);
	assert_int_equal(r->args[1].op, SCMP_CMP_GT);
	oci_seccomp_release(&p);
}

static const char conditional[] =
	"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
	"{\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
	"{\"names\": [\"sethostname\"], \"action\": \"SCMP_ACT_ALLOW\","
	" \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\", \"CAP_NET_ADMIN\"]}},"
	"{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ALLOW\", \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
	"{\"names\": [\"open_by_handle_at\"], \"action\": \"SCMP_ACT_ALLOW\","
	" \"includes\": {\"caps\": [\"DAC_READ_SEARCH\"]}}]}";

static void test_includes_and_excludes_by_capability(void **state)
{
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;

	assert_int_equal(parse(conditional, 0, &p, &err), 0);
	assert_null(rule_for(&p, "mount"));
	assert_null(rule_for(&p, "sethostname"));
	assert_non_null(rule_for(&p, "clone"));
	assert_true(p.caps_considered ==
		    (CAP_BIT(CAP_SYS_ADMIN_) | CAP_BIT(CAP_NET_ADMIN_) | CAP_BIT(CAP_DAC_READ_SEARCH_)));
	oci_seccomp_release(&p);

	assert_int_equal(parse(conditional, CAP_BIT(CAP_SYS_ADMIN_), &p, &err), 0);
	assert_non_null(rule_for(&p, "mount"));
	assert_null(rule_for(&p, "sethostname")); /* includes.caps: every one is needed */
	assert_null(rule_for(&p, "clone"));
	oci_seccomp_release(&p);

	assert_int_equal(parse(conditional, ~0ULL, &p, &err), 0);
	assert_non_null(rule_for(&p, "sethostname"));
	assert_non_null(rule_for(&p, "open_by_handle_at"));
	oci_seccomp_release(&p);
}

static void test_includes_and_excludes_by_arch_and_kernel(void **state)
{
	static const char json[] =
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
		"{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"arches\": [\"s390x\"]}},"
		"{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"arches\": [\"amd64\"]}},"
		"{\"names\": [\"close\"], \"action\": \"SCMP_ACT_ALLOW\", \"excludes\": {\"arches\": [\"amd64\"]}},"
		"{\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"4.8\"}},"
		"{\"names\": [\"futex\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"5.11\"}},"
		"{\"names\": [\"uname\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"6.0\"}}]}";
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;

	assert_int_equal(parse(json, 0, &p, &err), 0); /* kernel 5.10, amd64 */
	assert_null(rule_for(&p, "read"));
	assert_non_null(rule_for(&p, "write"));
	assert_null(rule_for(&p, "close"));
	assert_non_null(rule_for(&p, "ptrace"));
	assert_null(rule_for(&p, "futex"));
	assert_null(rule_for(&p, "uname"));
	oci_seccomp_release(&p);
}

static void test_architectures_and_arch_map(void **state)
{
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;

	assert_int_equal(parse("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": "
			       "[\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]}",
			       0, &p, &err),
			 0);
	assert_int_equal(p.narches, 2); /* the native one is always there */
	assert_int_equal(p.arches[0], SCMP_ARCH_X86);
	assert_int_equal(p.arches[1], SCMP_ARCH_X32);
	oci_seccomp_release(&p);
	assert_int_equal(parse("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"archMap\": ["
			       "{\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": [\"SCMP_ARCH_ARM\"]},"
			       "{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\"]}]}",
			       0, &p, &err),
			 0);
	assert_int_equal(p.narches, 1);
	assert_int_equal(p.arches[0], SCMP_ARCH_X86);
	oci_seccomp_release(&p);
}

static void expect_error(const char *json, const char *problem)
{
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;

	assert_int_equal(parse(json, 0, &p, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	if (strncmp(err.msg, "p.json: ", 8) != 0 || !strstr(err.msg, problem))
		fail_msg("'%s' does not name the file and say '%s'", err.msg, problem);
	assert_null(strchr(err.msg, '\n'));
	assert_null(p.rules);
}

static void test_every_mistake_is_named(void **state)
{
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [", "not JSON");
	expect_error("[]", "not a seccomp profile");
	expect_error("{\"syscalls\": []}", "no defaultAction");
	expect_error("{\"defaultAction\": \"SCMP_ACT_MAYBE\"}", "defaultAction: unknown action SCMP_ACT_MAYBE");
	expect_error("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "needs a listener");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": -1}", "errnoRet");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\", \"no_such_call\"],"
		     " \"action\": \"SCMP_ACT_ERRNO\"}]}",
		     "syscalls[0]: unknown system call no_such_call");
	/* a typo is found even in a rule that does not apply here */
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdri\"],"
		     " \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}",
		     "unknown system call mkdri");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"]},"
		     " {\"names\": [\"write\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
		     "syscalls[0]: no action");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}",
		     "names is not a list");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
		     " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		     "index is not 0 to 5");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
		     " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_ABOUT\"}]}]}",
		     "unknown operator SCMP_CMP_ABOUT");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
		     " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
		     "args: value is not a non-negative integer");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
		     " \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"caps\": [\"CAP_SYS_WIZARD\"]}}]}",
		     "unknown capability CAP_SYS_WIZARD");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
		     " \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"new\"}}]}",
		     "minKernel");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}",
		     "unknown architecture SCMP_ARCH_Z80");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86\"],"
		     " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\"}]}",
		     "not both");
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultAction\": \"SCMP_ACT_ERRNO\"}", "duplicate");
}

static void test_unknown_names_in_an_allowlist_are_left_out_and_listed(void **state)
{
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;

	/* Docker's current profiles allow calls newer than this libseccomp: leaving them out keeps
	 * them denied, which only makes the profile stricter. */
	assert_int_equal(parse("{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": "
			       "[\"read\", \"not_a_call_yet\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"},"
			       "{\"names\": [\"also_new\"], \"action\": \"SCMP_ACT_ALLOW\","
			       " \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}}]}",
			       0, &p, &err),
			 0);
	assert_int_equal(p.nrules, 2);
	assert_int_equal(p.nskipped, 1);
	assert_string_equal(p.skipped[0], "not_a_call_yet");
	assert_null(p.skipped[1]);
	oci_seccomp_release(&p);
	/* In a denylist the same name would be a restriction cntr cannot enforce. */
	expect_error("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"not_a_call_yet\"],"
		     " \"action\": \"SCMP_ACT_ALLOW\"}]}",
		     "unknown system call not_a_call_yet");
}

/* Install p in a child (no_new_privs) and report what syscall(nr, a0) returned: the errno, or
 * 0 when it succeeded. */
static int errno_under(const struct cntr_bpf *p, long nr, long a0)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_fprog prog = { .len = (unsigned short)p->len, .filter = p->insns };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			_exit(255);
		_exit(syscall(nr, a0, 0, 0, 0, 0) < 0 ? errno : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void compile_file(const char *path, uint64_t caps, struct cntr_bpf *out)
{
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;
	struct oci_seccomp_env env;
	char *text;
	size_t len;

	assert_int_equal(read_file_at(AT_FDCWD, path, &text, &len, &err), 0);
	assert_int_equal(oci_seccomp_env_native(&env, &err), 0);
	env.caps = caps;
	if (oci_seccomp_parse(text, len, path, &env, &p, &err) < 0 || oci_seccomp_compile(&p, path, out, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(out->arch, cntr_bpf_native_arch());
	oci_seccomp_release(&p);
	free(text);
}

static void test_compiled_rules_give_the_errno_asked_for(void **state)
{
	static const char json[] =
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"getppid\"], \"action\": \"SCMP_ACT_ALLOW\"},"
		"{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},"
		"{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 22, \"args\": ["
		" {\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}, {\"index\": 0, \"value\": 16, \"op\": \"SCMP_CMP_EQ\"}]}]}";
	struct cntr_err err = { 0 };
	struct oci_seccomp_profile p;
	struct oci_seccomp_env env;
	struct cntr_bpf prog;

	assert_int_equal(oci_seccomp_env_native(&env, &err), 0);
	assert_int_equal(oci_seccomp_parse(json, strlen(json), "p.json", &env, &p, &err), 0);
	/* getppid's rule repeats the default action: left out, not an error */
	assert_int_equal(oci_seccomp_compile(&p, "p.json", &prog, &err), 0);
	assert_int_equal(errno_under(&prog, __NR_mkdir, (long)"/nonexistent/x"), EACCES);
	assert_int_equal(errno_under(&prog, __NR_getppid, 0), 0);
	/* two conditions on one argument: either matches */
	assert_int_equal(errno_under(&prog, __NR_personality, 8), EINVAL);
	assert_int_equal(errno_under(&prog, __NR_personality, 16), EINVAL);
	assert_int_equal(errno_under(&prog, __NR_personality, 0xffffffff), 0);
	oci_seccomp_release(&p);
	cntr_bpf_release(&prog);
}

static void test_builtin_profile_is_docker_like(void **state)
{
	struct cntr_bpf none, admin;

	compile_file(CNTR_SOURCE_DIR "/profiles/default.json", 0, &none);
	assert_int_equal(errno_under(&none, __NR_unshare, CLONE_NEWUSER), EPERM);
	assert_int_equal(errno_under(&none, __NR_setns, -1), EPERM);
	assert_int_equal(errno_under(&none, __NR_mount, 0), EPERM);
	assert_int_equal(errno_under(&none, __NR_keyctl, 0), EPERM);
	assert_int_equal(errno_under(&none, __NR_bpf, 0), EPERM);
	assert_int_equal(errno_under(&none, __NR_perf_event_open, 0), EPERM);
	assert_int_equal(errno_under(&none, __NR_kexec_load, 0), EPERM);
	assert_int_equal(errno_under(&none, __NR_init_module, 0), EPERM);
	assert_int_equal(errno_under(&none, __NR_io_uring_setup, 0), EPERM);
	assert_int_equal(errno_under(&none, __NR_clone3, 0), ENOSYS);
	/* clone with a namespace flag is refused; without one it runs (the child exits at once) */
	assert_int_equal(errno_under(&none, __NR_clone, CLONE_NEWUSER | SIGCHLD), EPERM);
	assert_int_equal(errno_under(&none, __NR_getpid, 0), 0);
	assert_int_equal(errno_under(&none, __NR_personality, 0xffffffff), 0);
	assert_int_equal(errno_under(&none, __NR_personality, 0x0400000), EPERM); /* READ_IMPLIES_EXEC */
	assert_true(none.caps_considered == 0 && none.caps_assumed == 0); /* set by the caller */

	compile_file(CNTR_SOURCE_DIR "/profiles/default.json", CAP_BIT(CAP_SYS_ADMIN_), &admin);
	assert_int_equal(errno_under(&admin, __NR_unshare, 0), 0);
	assert_int_equal(errno_under(&admin, __NR_keyctl, 0), EPERM);
	assert_int_equal(errno_under(&admin, __NR_clone3, 0), EINVAL); /* reaches the kernel: size 0 */
	cntr_bpf_release(&none);
	cntr_bpf_release(&admin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions_and_their_errno),
		cmocka_unit_test(test_argument_conditions),
		cmocka_unit_test(test_includes_and_excludes_by_capability),
		cmocka_unit_test(test_includes_and_excludes_by_arch_and_kernel),
		cmocka_unit_test(test_architectures_and_arch_map),
		cmocka_unit_test(test_every_mistake_is_named),
		cmocka_unit_test(test_unknown_names_in_an_allowlist_are_left_out_and_listed),
		cmocka_unit_test(test_compiled_rules_give_the_errno_asked_for),
		cmocka_unit_test(test_builtin_profile_is_docker_like),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
