/* A seccomp program specialised for one architecture and one syscall number: what is left of
 * it when those are known, for a number whose verdict depends on its arguments (clone's
 * flags, personality's persona). Its instructions are the original's, minus everything the
 * number and the architecture decide: typically a few tests of one argument. */
#pragma once
#include <stdint.h>

struct filter_code;
struct sock_filter;

/* Write the specialisation before what c holds; *entry is its first instruction. 0, or -1
 * (c unchanged) when it would exceed max_len instructions or take too long. */
int filter_emit_residual(struct filter_code *c, const struct sock_filter *prog, unsigned len, uint32_t arch,
			 uint32_t nr, unsigned max_len, unsigned *entry);
