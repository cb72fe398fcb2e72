/* The cntr BPF file (src/node/seccomp_program.h): what the static cntr accepts from
 * cntr-seccomp, and every way a damaged file is refused with a message naming it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/err.h"
#include "node/seccomp_program.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <string.h>

/* Two instructions: ret ALLOW; ret ERRNO(13). Written out byte by byte as the format says. */
static const unsigned char two_insns[] = {
	'C', 'N', 'T', 'R', 'B', 'P', 'F', '1',
	0x3e, 0x00, 0x00, 0xc0,                         /* AUDIT_ARCH_X86_64 */
	0x02, 0x00, 0x00, 0x00,                         /* 2 instructions */
	0x04, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, /* considered: SYS_ADMIN, DAC_READ_SEARCH */
	0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, /* assumed: SYS_ADMIN */
	0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f, /* BPF_RET|BPF_K, SECCOMP_RET_ALLOW */
	0x06, 0x00, 0x01, 0x02, 0x0d, 0x00, 0x05, 0x00, /* BPF_RET|BPF_K, jt 1, jf 2, ERRNO|13 */
};

static void test_parse_reads_every_field_little_endian(void **state)
{
	struct cntr_err err = { 0 };
	struct cntr_bpf p;

	assert_int_equal(cntr_bpf_parse(two_insns, sizeof(two_insns), "f.bpf", &p, &err), 0);
	assert_int_equal(p.arch, AUDIT_ARCH_X86_64);
	assert_int_equal(p.len, 2);
	assert_true(p.caps_considered == ((1ULL << 21) | (1ULL << 2)));
	assert_true(p.caps_assumed == 1ULL << 21);
	assert_int_equal(p.insns[0].code, BPF_RET | BPF_K);
	assert_int_equal(p.insns[0].k, 0x7fff0000);
	assert_int_equal(p.insns[1].jt, 1);
	assert_int_equal(p.insns[1].jf, 2);
	assert_int_equal(p.insns[1].k, 0x0005000d);
	cntr_bpf_release(&p);
}

static void test_encode_gives_back_the_same_bytes(void **state)
{
	struct cntr_err err = { 0 };
	struct cntr_bpf p;
	unsigned char *bytes;
	size_t size;

	assert_int_equal(cntr_bpf_parse(two_insns, sizeof(two_insns), "f.bpf", &p, &err), 0);
	assert_int_equal(cntr_bpf_encode(&p, &bytes, &size, &err), 0);
	assert_int_equal(size, sizeof(two_insns));
	assert_memory_equal(bytes, two_insns, size);
	free(bytes);
	cntr_bpf_release(&p);
}

static void expect_refused(const unsigned char *bytes, size_t size, const char *problem)
{
	struct cntr_err err = { 0 };
	struct cntr_bpf p;

	assert_int_equal(cntr_bpf_parse(bytes, size, "f.bpf", &p, &err), -1);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_non_null(strstr(err.msg, "f.bpf: "));
	if (!strstr(err.msg, problem))
		fail_msg("'%s' does not say '%s'", err.msg, problem);
	assert_null(p.insns);
}

static void test_damaged_files_are_refused_with_what_is_wrong(void **state)
{
	unsigned char copy[sizeof(two_insns) + 8];

	expect_refused(two_insns, 0, "not a cntr BPF file");
	expect_refused(two_insns, 31, "not a cntr BPF file");
	expect_refused((const unsigned char *)"{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", 36, "not a cntr BPF file");
	/* one byte short, one instruction too many */
	expect_refused(two_insns, sizeof(two_insns) - 1, "header says 2 instructions");
	memcpy(copy, two_insns, sizeof(two_insns));
	memset(copy + sizeof(two_insns), 0, 8);
	expect_refused(copy, sizeof(copy), "header says 2 instructions");
	/* no instruction; more than the kernel takes; a count whose byte size would overflow */
	memcpy(copy, two_insns, sizeof(two_insns));
	memset(copy + 12, 0, 4);
	expect_refused(copy, sizeof(two_insns), "0 instructions");
	copy[12] = 0x01, copy[13] = 0x10; /* 4097 */
	expect_refused(copy, sizeof(two_insns), "4097 instructions");
	memset(copy + 12, 0xff, 4);
	expect_refused(copy, sizeof(two_insns), "4294967295 instructions");
	copy[0] = 'X';
	expect_refused(copy, sizeof(two_insns), "no CNTRBPF1 header");
}

static void test_encode_refuses_what_the_kernel_would(void **state)
{
	struct cntr_err err = { 0 };
	struct sock_filter one = BPF_STMT(BPF_RET | BPF_K, 0);
	struct cntr_bpf empty = { .len = 0, .insns = &one }, huge = { .len = 4097, .insns = &one };
	unsigned char *bytes = NULL;
	size_t size;

	assert_int_equal(cntr_bpf_encode(&empty, &bytes, &size, &err), -1);
	assert_int_equal(cntr_bpf_encode(&huge, &bytes, &size, &err), -1);
	assert_non_null(strstr(err.msg, "4097"));
	assert_null(bytes);
}

static void test_arch_names(void **state)
{
	assert_string_equal(cntr_bpf_arch_name(AUDIT_ARCH_X86_64), "x86_64");
	assert_string_equal(cntr_bpf_arch_name(AUDIT_ARCH_AARCH64), "aarch64");
	assert_string_equal(cntr_bpf_arch_name(0x1234), "0x1234");
#if defined(__x86_64__)
	assert_int_equal(cntr_bpf_native_arch(), AUDIT_ARCH_X86_64);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_reads_every_field_little_endian),
		cmocka_unit_test(test_encode_gives_back_the_same_bytes),
		cmocka_unit_test(test_damaged_files_are_refused_with_what_is_wrong),
		cmocka_unit_test(test_encode_refuses_what_the_kernel_would),
		cmocka_unit_test(test_arch_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
