/* Rewriting a copied seccomp filter into an equivalent program the kernel installs faster.
 *
 * Why: installing a filter costs the kernel, besides compiling it, one run of the program per
 * syscall number and architecture (the cache of always-allowed syscalls, kernel >= 5.11).
 * For the filters runtimes generate (a linear chain of about 300 comparisons, ~950
 * instructions for Docker's default) that is about 0.7 ms of the ~1 ms an install takes,
 * and it lies on the attach path. The rewrite answers from the syscall number in a few
 * instructions: a binary search over ranges of numbers with the same verdict, and inside
 * a 32-number block with two verdicts, one bit test (A = 1 << (nr & 31); jset MASK).
 *
 * Equivalence: for every architecture value and every seccomp_data the rewrite returns what
 * the original returns. The verdicts come from filter_partition (an exact analysis, or
 * "depends"); numbers whose verdict depends on more than the number and the architecture,
 * and every other architecture, jump to an unchanged copy of the original at the end,
 * entered with A = X = 0 as the kernel starts a program. Checked by tests/unit/test_node_filter_rewrite.c and the
 * filter_rewrite fuzz target against filter_eval, the reference interpreter. */
#pragma once
#include <stdint.h>

struct sock_filter;

/* The two architectures worth a dispatch of their own on this machine (AUDIT_ARCH_*): the
 * native one and its 32-bit compat; false where cntr knows none (the rewrite is skipped). */
int filter_rewrite_arches(uint32_t arches[2]);

/* 1 and *out (malloc'd, *out_len instructions) when a rewrite was made; 0 when the program
 * is better left as it is (small, beyond the analysis' budget, or a dispatch that would not
 * be small); -1 when memory ran out. prog must be a program the kernel accepted. */
int filter_rewrite(const struct sock_filter *prog, unsigned len, const uint32_t arches[2], struct sock_filter **out,
		   unsigned *out_len);
