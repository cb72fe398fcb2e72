/* A reference interpreter for classic seccomp BPF, with the kernel's semantics (32-bit
 * arithmetic, A and X start at 0, a division by X == 0 returns 0, shifts by X use its low 5
 * bits). The rewrite (filter_rewrite.h) is checked against it: tests and the fuzz target run
 * a program and its rewrite on the same seccomp_data and compare what each returns. */
#pragma once
#include <linux/seccomp.h>
#include <stdbool.h>
#include <stdint.h>

struct sock_filter;

/* What the program returns for d. Programs are assumed to be ones the kernel accepts
 * (filter_program_valid); anything else returns 0, the kernel's "kill". */
uint32_t filter_eval(const struct sock_filter *prog, unsigned len, const struct seccomp_data *d);

/* A = A op v with the kernel's semantics; false for a division by zero (the program then
 * returns 0) or an operation seccomp does not have. Shared by the analysis and the
 * specialisation, which compute the same way on what they know. */
bool filter_alu(uint16_t op, uint32_t *a, uint32_t v);
/* Whether a conditional jump (BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET) of A against v is taken. */
bool filter_jump_taken(uint16_t op, uint32_t a, uint32_t v);

/* The kernel's checks for a seccomp filter (bpf_check_classic + seccomp_check_filter): known
 * opcodes, loads of whole aligned seccomp_data words, in-range forward jumps, no constant
 * division by zero or shift >= 32, scratch memory stored before it is loaded, a RET last. */
bool filter_program_valid(const struct sock_filter *prog, unsigned len);
