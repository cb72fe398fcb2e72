/* Writing a classic BPF program backwards, from its last instruction to its first, into a
 * buffer of the kernel's maximum size: every jump goes forward, so its target is already
 * written when the jump is, and each offset is known at once. Positions count from the end:
 * the last instruction is at 1. Used by filter_rewrite.c and filter_residual.c. */
#pragma once
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

struct filter_code {
	struct sock_filter insns[BPF_MAXINSNS];
	unsigned written;
	bool full; /* an instruction did not fit: the program is unusable */
};

/* Write one instruction before the others; returns its position. */
unsigned filter_emit(struct filter_code *c, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k);
/* An unconditional jump to what is at position target. */
unsigned filter_emit_jump_to(struct filter_code *c, unsigned target);
/* A conditional jump to the positions taken/not_taken: one instruction when both are within
 * reach of its 8-bit offsets, else through `ja` trampolines. Returns its position. */
unsigned filter_emit_branch(struct filter_code *c, uint16_t code, uint32_t k, unsigned taken, unsigned not_taken);
/* The program written so far, from its first instruction. */
static inline const struct sock_filter *filter_code_start(const struct filter_code *c)
{
	return &c->insns[BPF_MAXINSNS - c->written];
}
