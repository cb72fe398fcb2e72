/* The seccomp rewrite (src/node/filter_rewrite.h): whatever program the kernel accepted, the
 * rewrite answers exactly as the original for every architecture, syscall number and
 * argument tried, on Docker's default profile and on programs built to hit every corner of
 * the analysis; the kernel accepts the rewrite and enforces the same verdicts; programs the
 * analysis cannot use are left alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/filter_eval.h"
#include "node/filter_rewrite.h"
#include "node/seccomp_builtin.h"
#include "node/seccomp_program.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))
#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define NR offsetof(struct seccomp_data, nr)
#define ARCH offsetof(struct seccomp_data, arch)
#define ARG0 offsetof(struct seccomp_data, args[0])
#define ALLOW SECCOMP_RET_ALLOW
#define EPERM_RET (SECCOMP_RET_ERRNO | 1)

static const uint32_t *arches(void)
{
	static uint32_t both[2];
	assert_true(filter_rewrite_arches(both));
	return both;
}

static uint32_t native(void)
{
	return arches()[0];
}

/* Every architecture value, syscall number and first argument worth trying on prog: the
 * constants it compares with and their neighbours, the ends of the number space, and a
 * spread of ordinary numbers and high (x32) ones. */
static void assert_same_answers(const struct sock_filter *a, unsigned alen, const struct sock_filter *b, unsigned blen)
{
	static const uint64_t args[] = { 0, 1, 8, 0x10000, 0x7E020000, 0x20000000, 0xffffffff, 0x100000000ULL };
	uint32_t arches[] = { native(), AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, 0, UINT32_MAX };
	uint32_t nrs[4096 + 64];
	size_t n_nrs = 0;

	for (uint32_t nr = 0; nr < 600; nr++)
		nrs[n_nrs++] = nr;
	for (uint32_t nr = 0x40000000; nr < 0x40000000 + 600; nr += 3)
		nrs[n_nrs++] = nr;
	for (unsigned i = 0; i < alen && n_nrs + 3 < sizeof(nrs) / sizeof(nrs[0]); i++) {
		nrs[n_nrs++] = a[i].k - 1;
		nrs[n_nrs++] = a[i].k;
		nrs[n_nrs++] = a[i].k + 1;
	}
	for (size_t ai = 0; ai < sizeof(arches) / sizeof(arches[0]); ai++)
		for (size_t ni = 0; ni < n_nrs; ni++)
			for (size_t gi = 0; gi < sizeof(args) / sizeof(args[0]); gi++) {
				struct seccomp_data d = { .nr = (int)nrs[ni], .arch = arches[ai] };
				d.args[0] = d.args[1] = args[gi];
				d.instruction_pointer = args[gi];
				if (filter_eval(a, alen, &d) != filter_eval(b, blen, &d))
					fail_msg("arch %#x nr %#x arg %#llx: original %#x, rewrite %#x", d.arch,
						 (unsigned)d.nr, (unsigned long long)args[gi], filter_eval(a, alen, &d),
						 filter_eval(b, blen, &d));
			}
}

/* Rewrite prog; the rewrite must be valid and answer the same. */
static void assert_rewrite_equivalent(const struct sock_filter *prog, unsigned len)
{
	struct sock_filter *out = NULL;
	unsigned out_len = 0;

	assert_true(filter_program_valid(prog, len));
	assert_int_equal(filter_rewrite(prog, len, arches(), &out, &out_len), 1);
	assert_true(filter_program_valid(out, out_len));
	assert_same_answers(prog, len, out, out_len);
	free(out);
}

static struct cntr_bpf builtin_profile(void)
{
	struct cntr_err err = { 0 };
	struct cntr_bpf p;

	assert_int_equal(cntr_bpf_parse(cntr_builtin_profile_bpf, cntr_builtin_profile_bpf_size, "builtin", &p, &err), 0);
	return p;
}

static void test_docker_default_profile_rewrite_answers_like_the_original(void **state)
{
	struct cntr_bpf p = builtin_profile();

	(void)state;
	assert_true(p.len > 300);
	assert_rewrite_equivalent(p.insns, p.len);
	cntr_bpf_release(&p);
}

/* What the rewrite is for: a much shorter program (the kernel compiles every instruction),
 * in which the kernel's per-number evaluation at install stops at once. Docker's default
 * needs no copy of the original: clone's and personality's argument checks are specialised. */
static void test_rewrite_of_docker_default_is_short_and_self_contained(void **state)
{
	struct cntr_bpf p = builtin_profile();
	struct sock_filter *out = NULL;
	unsigned out_len = 0;

	(void)state;
	assert_int_equal(filter_rewrite(p.insns, p.len, arches(), &out, &out_len), 1);
	/* 1240 -> 220: shared returns and one scratch word for the bit tests. */
	assert_true(out_len * 5 < p.len);
	free(out);
	cntr_bpf_release(&p);
}

static pid_t run_under(const struct sock_filter *prog, unsigned len, long nr, long arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct sock_fprog fprog = { .len = (unsigned short)len, .filter = (struct sock_filter *)prog };
		long rc;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
			_exit(100);
		rc = syscall(nr, arg, 0, 0, 0);
		_exit(rc < 0 ? (errno & 0x3f) : 64);
	}
	return pid;
}

static int exit_code_under(const struct sock_filter *prog, unsigned len, long nr, long arg)
{
	int status;
	pid_t pid = run_under(prog, len, nr, arg);

	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The kernel itself accepts the rewrite and enforces what the original enforces: getpid
 * passes, unshare(CLONE_NEWUSER) and keyctl are refused with the profile's EPERM. */
static void test_kernel_enforces_the_rewrite_like_the_original(void **state)
{
	struct cntr_bpf p = builtin_profile();
	struct sock_filter *out = NULL;
	unsigned out_len = 0;
	static const struct {
		long nr, arg;
	} calls[] = { { SYS_getpid, 0 }, { SYS_unshare, CLONE_NEWUSER }, { SYS_keyctl, 0 }, { SYS_personality, 0xffffffff } };

	(void)state;
	assert_int_equal(filter_rewrite(p.insns, p.len, arches(), &out, &out_len), 1);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int original = exit_code_under(p.insns, p.len, calls[i].nr, calls[i].arg);
		assert_int_not_equal(original, 100);
		assert_int_equal(exit_code_under(out, out_len, calls[i].nr, calls[i].arg), original);
	}
	assert_int_equal(exit_code_under(out, out_len, SYS_unshare, CLONE_NEWUSER), EPERM);
	free(out);
	cntr_bpf_release(&p);
}

/* A program of at least the size worth rewriting: body, then `ret ALLOW` padding that no path
 * reaches (the kernel does not mind unreachable instructions). */
static unsigned padded(struct sock_filter *prog, const struct sock_filter *body, unsigned n)
{
	memcpy(prog, body, n * sizeof(*body));
	for (unsigned i = n; i < 80; i++)
		prog[i] = (struct sock_filter)RET(ALLOW);
	return n < 80 ? 80 : n;
}

/* A chain of equality tests with no architecture check at all, and tests at the very top of
 * the number space (where an off-by-one wraps). */
static void test_chain_without_arch_check_and_top_numbers(void **state)
{
	struct sock_filter body[64], prog[128];
	unsigned n = 0;

	(void)state;
	body[n++] = (struct sock_filter)LD(NR);
	for (uint32_t i = 0; i < 40; i++)
		body[n++] = (struct sock_filter)JEQ(i * 7, 40 - i + 1, 0);
	body[n++] = (struct sock_filter)JEQ(UINT32_MAX, 2, 0);
	body[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, UINT32_MAX - 1, 2, 0);
	body[n++] = (struct sock_filter)RET(ALLOW);
	body[n++] = (struct sock_filter)RET(EPERM_RET);
	body[n++] = (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS);
	assert_rewrite_equivalent(prog, padded(prog, body, n));
}

/* A number narrowed down to itself by range tests and then tested for equality: the branch
 * that would hold no number must not answer for it (B below is unreachable). Also a number
 * tested twice for equality. */
static void test_numbers_tested_twice_keep_their_first_answer(void **state)
{
	const struct sock_filter body[] = {
		LD(NR),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 5, 0, 5),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 5, 3, 0),
		JEQ(5, 0, 1),
		RET(SECCOMP_RET_ERRNO | 10), /* A: 5 */
		RET(SECCOMP_RET_ERRNO | 11), /* B: nothing */
		RET(SECCOMP_RET_ERRNO | 12), /* > 5 */
		JEQ(3, 1, 0),                /* < 5 */
		JEQ(3, 1, 2),
		RET(SECCOMP_RET_ERRNO | 13), /* 3 */
		RET(SECCOMP_RET_ERRNO | 14), /* 3 again: nothing */
		RET(ALLOW),
	};
	struct sock_filter prog[128];

	(void)state;
	assert_rewrite_equivalent(prog, padded(prog, body, sizeof(body) / sizeof(body[0])));
}

/* Argument checks (the "depends" path into the original), a JSET on a high bit (split in
 * pieces) and on a low bit (too many pieces: depends), arithmetic on the number, RET A,
 * scratch memory, and a division by an argument that may be zero (the program then
 * returns 0 at run time, whatever follows). */
static void test_every_corner_of_the_analysis(void **state)
{
	const struct sock_filter body[] = {
		LD(ARCH),
		JEQ(native(), 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		LD(NR),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x40000000, 0, 1), /* x32 numbers */
		RET(EPERM_RET),
		JEQ(56, 0, 4), /* clone: flags in args[0] */
		LD(ARG0),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x7E020000, 1, 0),
		RET(ALLOW),
		RET(EPERM_RET),
		JEQ(300, 0, 3), /* 300: nr & 1 decides */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 1, 0, 1),
		RET(ALLOW),
		RET(SECCOMP_RET_ERRNO | 2),
		BPF_STMT(BPF_ST, 3), /* M[3] = nr */
		BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
		JEQ(500, 0, 1), /* nr + 1 == 500 */
		RET(SECCOMP_RET_ERRNO | 3),
		BPF_STMT(BPF_LD | BPF_MEM, 3),
		JEQ(77, 0, 1),
		BPF_STMT(BPF_RET | BPF_A, 0), /* returns 77 */
		JEQ(78, 0, 4),
		BPF_STMT(BPF_LDX | BPF_W | BPF_ABS, ARG0), /* not a valid LDX mode: replaced below */
		BPF_STMT(BPF_LD | BPF_IMM, 100),
		BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
		RET(ALLOW),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 1000, 0, 1),
		RET(SECCOMP_RET_TRACE | 5),
		RET(ALLOW),
	};
	struct sock_filter prog[128];
	unsigned len = padded(prog, body, sizeof(body) / sizeof(body[0]));

	(void)state;
	/* X = args[0]: ld args[0]; tax */
	prog[23] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0);
	memmove(prog + 25, prog + 24, (len - 25) * sizeof(*prog));
	prog[24] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
	prog[22].jf = 5;
	assert_rewrite_equivalent(prog, len);
}

/* A binary search over numbers (JGT/JGE trees, as newer libseccomp emits), behind a chain
 * of equality tests (which makes the rewrite worth it: a search alone is left as it is). */
static void test_binary_search_filters(void **state)
{
	struct sock_filter prog[512];
	unsigned n = 0;

	(void)state;
	prog[n++] = (struct sock_filter)LD(NR);
	for (uint32_t i = 0; i < 240; i++)
		prog[n++] = (struct sock_filter)JEQ(2000 + i, 240 - i, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 1);
	prog[n++] = (struct sock_filter)RET(SECCOMP_RET_ERRNO | 9);
	for (uint32_t i = 0; i < 6; i++) {
		prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 1000 - i * 31, 0, 1);
		prog[n++] = (struct sock_filter)RET(i % 2 ? ALLOW : SECCOMP_RET_ERRNO | i);
		prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 990 - i * 31, 0, 1);
		prog[n++] = (struct sock_filter)RET(SECCOMP_RET_LOG);
	}
	prog[n++] = (struct sock_filter)RET(ALLOW);
	assert_rewrite_equivalent(prog, n);
}

/* More numbers decided by an argument than are worth specialising: the rewrite dispatches
 * the native architecture and appends the original, unchanged, for the rest. */
static void test_many_argument_checks_keep_the_original_appended(void **state)
{
	struct sock_filter prog[1024], *out = NULL;
	unsigned n = 0, out_len = 0;

	(void)state;
	prog[n++] = (struct sock_filter)LD(NR);
	for (uint32_t i = 0; i < 100; i++) {
		/* nr 2i: allowed when args[0] == i; nr 2i+1: allowed */
		prog[n++] = (struct sock_filter)JEQ(2 * i + 1, 0, 1);
		prog[n++] = (struct sock_filter)RET(ALLOW);
		prog[n++] = (struct sock_filter)JEQ(2 * i, 0, 4);
		prog[n++] = (struct sock_filter)LD(ARG0);
		prog[n++] = (struct sock_filter)JEQ(i, 0, 1);
		prog[n++] = (struct sock_filter)RET(ALLOW);
		prog[n++] = (struct sock_filter)RET(EPERM_RET);
	}
	prog[n++] = (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS);
	assert_rewrite_equivalent(prog, n);
	assert_int_equal(filter_rewrite(prog, n, arches(), &out, &out_len), 1);
	assert_true(out_len > n);
	assert_memory_equal(out + out_len - n, prog, n * sizeof(*prog));
	free(out);
}

static void test_small_or_unanalysable_programs_are_left_alone(void **state)
{
	const struct sock_filter tiny[] = { LD(NR), JEQ(59, 0, 1), RET(EPERM_RET), RET(ALLOW) };
	struct sock_filter prog[128], *out = (struct sock_filter *)1;
	unsigned out_len = 7, len;

	(void)state;
	assert_int_equal(filter_rewrite(tiny, 4, arches(), &out, &out_len), 0);
	assert_null(out);
	assert_int_equal(out_len, 0);
	/* Every answer depends on an argument: a dispatch would only add instructions. */
	prog[0] = (struct sock_filter)LD(ARG0);
	for (unsigned i = 1; i < 70; i++)
		prog[i] = (struct sock_filter)JEQ(i, 70 - i, 0);
	prog[70] = (struct sock_filter)RET(ALLOW);
	len = 71;
	prog[len++] = (struct sock_filter)RET(EPERM_RET);
	assert_true(filter_program_valid(prog, len));
	assert_int_equal(filter_rewrite(prog, len, arches(), &out, &out_len), 0);
	assert_null(out);
}

/* The checks the kernel makes before it takes a program, which the rewrite's output must
 * pass and which the fuzz target uses to keep to programs a target could have. */
static void test_program_validity_follows_the_kernel(void **state)
{
	struct sock_filter ok[] = { LD(NR), JEQ(1, 0, 1), RET(EPERM_RET), RET(ALLOW) };
	struct sock_filter bad_jump[] = { LD(NR), JEQ(1, 0, 5), RET(EPERM_RET), RET(ALLOW) };
	struct sock_filter bad_load[] = { LD(2), RET(ALLOW) };
	struct sock_filter no_ret[] = { LD(NR), BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1) };
	struct sock_filter unset_mem[] = { BPF_STMT(BPF_LD | BPF_MEM, 0), RET(ALLOW) };
	struct sock_filter div_zero[] = { BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), RET(ALLOW) };
	struct sock_filter packet_load[] = { BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), RET(ALLOW) };

	(void)state;
	assert_true(filter_program_valid(ok, 4));
	assert_false(filter_program_valid(bad_jump, 4));
	assert_false(filter_program_valid(bad_load, 2));
	assert_false(filter_program_valid(no_ret, 2));
	assert_false(filter_program_valid(unset_mem, 2));
	assert_false(filter_program_valid(div_zero, 2));
	assert_false(filter_program_valid(packet_load, 2));
	assert_false(filter_program_valid(ok, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docker_default_profile_rewrite_answers_like_the_original),
		cmocka_unit_test(test_rewrite_of_docker_default_is_short_and_self_contained),
		cmocka_unit_test(test_kernel_enforces_the_rewrite_like_the_original),
		cmocka_unit_test(test_chain_without_arch_check_and_top_numbers),
		cmocka_unit_test(test_numbers_tested_twice_keep_their_first_answer),
		cmocka_unit_test(test_every_corner_of_the_analysis),
		cmocka_unit_test(test_binary_search_filters),
		cmocka_unit_test(test_many_argument_checks_keep_the_original_appended),
		cmocka_unit_test(test_small_or_unanalysable_programs_are_left_alone),
		cmocka_unit_test(test_program_validity_follows_the_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
