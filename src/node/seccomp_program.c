#include "seccomp_program.h"

#include "common/err.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

int cntr_bpf_has_magic(const void *buf, size_t size)
{
	return size >= 8 && memcmp(buf, CNTR_BPF_MAGIC, 8) == 0;
}

int cntr_bpf_parse(const void *buf, size_t size, const char *what, struct cntr_bpf *out, struct cntr_err *err)
{
	const unsigned char *b = buf;
	uint32_t n;

	memset(out, 0, sizeof(*out));
	if (size < CNTR_BPF_HEADER_SIZE || !cntr_bpf_has_magic(buf, size))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: not a cntr BPF file (no %s header)", what,
				 CNTR_BPF_MAGIC);
	n = get_le32(b + 12);
	if (n == 0 || n > CNTR_BPF_MAX_INSNS)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: %u instructions (a program has 1 to %d)", what, n,
				 CNTR_BPF_MAX_INSNS);
	if (size != CNTR_BPF_HEADER_SIZE + 8 * (size_t)n)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: %zu bytes, but the header says %u instructions (%zu bytes)",
				 what, size, n, CNTR_BPF_HEADER_SIZE + 8 * (size_t)n);
	out->insns = calloc(n, sizeof(*out->insns));
	if (!out->insns)
		return cntr_fail_errno(err, "%s: allocate %u instructions", what, n);
	out->arch = get_le32(b + 8);
	out->len = n;
	out->caps_considered = get_le64(b + 16);
	out->caps_assumed = get_le64(b + 24);
	for (uint32_t i = 0; i < n; i++) {
		const unsigned char *in = b + CNTR_BPF_HEADER_SIZE + 8 * (size_t)i;
		out->insns[i].code = (uint16_t)(in[0] | in[1] << 8);
		out->insns[i].jt = in[2];
		out->insns[i].jf = in[3];
		out->insns[i].k = get_le32(in + 4);
	}
	return 0;
}

int cntr_bpf_encode(const struct cntr_bpf *p, unsigned char **buf, size_t *size, struct cntr_err *err)
{
	unsigned char *b;

	if (p->len == 0 || p->len > CNTR_BPF_MAX_INSNS)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the program has %u instructions (at most %d fit the kernel)",
				 p->len, CNTR_BPF_MAX_INSNS);
	*size = CNTR_BPF_HEADER_SIZE + 8 * (size_t)p->len;
	b = calloc(1, *size);
	if (!b)
		return cntr_fail_errno(err, "allocate the BPF file");
	memcpy(b, CNTR_BPF_MAGIC, 8);
	put_le32(b + 8, p->arch);
	put_le32(b + 12, p->len);
	put_le64(b + 16, p->caps_considered);
	put_le64(b + 24, p->caps_assumed);
	for (uint32_t i = 0; i < p->len; i++) {
		unsigned char *o = b + CNTR_BPF_HEADER_SIZE + 8 * (size_t)i;
		o[0] = (unsigned char)p->insns[i].code;
		o[1] = (unsigned char)(p->insns[i].code >> 8);
		o[2] = p->insns[i].jt;
		o[3] = p->insns[i].jf;
		put_le32(o + 4, p->insns[i].k);
	}
	*buf = b;
	return 0;
}

void cntr_bpf_release(struct cntr_bpf *p)
{
	free(p->insns);
	memset(p, 0, sizeof(*p));
}

static const struct {
	uint32_t arch;
	const char *name;
} arch_names[] = {
	{ AUDIT_ARCH_X86_64, "x86_64" }, { AUDIT_ARCH_I386, "i386" },   { AUDIT_ARCH_AARCH64, "aarch64" },
	{ AUDIT_ARCH_ARM, "arm" },       { AUDIT_ARCH_PPC64LE, "ppc64le" }, { AUDIT_ARCH_S390X, "s390x" },
	{ AUDIT_ARCH_RISCV64, "riscv64" },
};

uint32_t cntr_bpf_native_arch(void)
{
#if defined(__x86_64__) && !defined(__ILP32__)
	return AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
	return AUDIT_ARCH_AARCH64;
#elif defined(__i386__)
	return AUDIT_ARCH_I386;
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return AUDIT_ARCH_PPC64LE;
#elif defined(__s390x__)
	return AUDIT_ARCH_S390X;
#elif defined(__riscv) && __riscv_xlen == 64
	return AUDIT_ARCH_RISCV64;
#else
	return 0;
#endif
}

const char *cntr_bpf_arch_name(uint32_t arch)
{
	static char unknown[16];

	for (size_t i = 0; i < sizeof(arch_names) / sizeof(arch_names[0]); i++)
		if (arch_names[i].arch == arch)
			return arch_names[i].name;
	snprintf(unknown, sizeof(unknown), "%#x", arch);
	return unknown;
}
