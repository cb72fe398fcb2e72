/* The memory of one seccomp rewrite (filter_rewrite.h): pieces handed out in order from one
 * anonymous mapping and released all at once. The rewrite runs on the attach path, in the
 * relay right after the fork; there musl's malloc mapped, faulted in and unmapped its larger
 * pieces one by one, and the rewrite took ~0.1 ms longer (bench/README.md). Under
 * AddressSanitizer every piece is an allocation of its own, so the tests and the fuzz target
 * still catch any overrun. */
#pragma once
#include <stddef.h>

struct filter_arena;

/* NULL when out of memory. */
struct filter_arena *filter_arena_new(void);
/* size bytes, zeroed, 16-byte aligned; NULL when the arena is exhausted (the rewrite is
 * then given up and the program installed as it is). */
void *filter_arena_alloc(struct filter_arena *a, size_t size);
void filter_arena_free(struct filter_arena *a);
static inline void filter_arena_freep(struct filter_arena **a)
{
	if (*a)
		filter_arena_free(*a);
}
