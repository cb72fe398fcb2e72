/* What a seccomp filter decides, syscall number by syscall number, for one architecture:
 * found by running the program once on abstract values (the number as a set of values, the
 * architecture known) instead of 2^32 times. The result partitions all numbers 0..2^32-1
 * into runs, each with the constant action the filter returns for every number in it, or
 * "depends" where the answer needs more than the number and the architecture (an argument,
 * the instruction pointer, arithmetic on the number): those numbers keep the original
 * program (filter_rewrite.h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sock_filter;

struct filter_verdict {
	bool depends;   /* true: only the original program can answer */
	uint32_t action; /* otherwise: what the filter returns (SECCOMP_RET_*) */
};

struct filter_run {
	uint32_t first, last; /* syscall numbers, inclusive */
	struct filter_verdict verdict;
};

/* The architecture a partition is for: a known AUDIT_ARCH_* value, or (other = true) every
 * value except those in known[] (the branch a rewrite takes for the remaining arches). */
struct filter_arch {
	bool other;
	uint32_t arch;
	uint32_t known[2];
};

/* Runs in increasing order, covering 0..UINT32_MAX, adjacent runs with different verdicts. */
struct filter_partition {
	struct filter_run *runs;
	size_t n;
};

struct filter_arena;

/* Working memory for the analysis, reused by the partitions of one program (each fresh page
 * costs a fault, and attach pays for every one), taken from the rewrite's arena, as are the
 * partitions' runs: they live as long as it. NULL when it is exhausted. */
struct filter_scratch;
struct filter_scratch *filter_scratch_new(struct filter_arena *arena);

/* 0, or -1 when the program is beyond the analysis' budget (or memory ran out): the caller
 * then keeps the program as it is. The program must be one the kernel accepted. */
int filter_partition_build(const struct sock_filter *prog, unsigned len, const struct filter_arch *arch,
			   struct filter_scratch *scratch, struct filter_partition *out);
