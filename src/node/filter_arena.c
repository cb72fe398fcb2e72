#include "filter_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_OF_ALLOCATIONS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_OF_ALLOCATIONS 1
#endif
#endif

/* The budgets of the analysis (filter_partition.c) bound a rewrite's memory to about 2 MiB;
 * untouched pages of the reservation cost nothing. */
enum { ARENA_BYTES = 8 << 20, ALIGN = 16 };

#ifdef ARENA_OF_ALLOCATIONS

struct piece {
	struct piece *next;
	max_align_t data[];
};

struct filter_arena {
	struct piece *pieces;
	size_t used;
};

struct filter_arena *filter_arena_new(void)
{
	return calloc(1, sizeof(struct filter_arena));
}

void *filter_arena_alloc(struct filter_arena *a, size_t size)
{
	struct piece *p;

	if (size > ARENA_BYTES - a->used || !(p = calloc(1, sizeof(*p) + size)))
		return NULL;
	a->used += size;
	p->next = a->pieces;
	a->pieces = p;
	return p->data;
}

void filter_arena_free(struct filter_arena *a)
{
	while (a->pieces) {
		struct piece *next = a->pieces->next;
		free(a->pieces);
		a->pieces = next;
	}
	free(a);
}

#else

struct filter_arena {
	size_t used; /* from the start of the mapping, this header included */
};

struct filter_arena *filter_arena_new(void)
{
	void *map = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			 -1, 0);
	struct filter_arena *a = map;

	if (map == MAP_FAILED)
		return NULL;
	a->used = (sizeof(*a) + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	return a;
}

void *filter_arena_alloc(struct filter_arena *a, size_t size)
{
	size_t rounded = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (rounded < size || rounded > ARENA_BYTES - a->used)
		return NULL;
	p = (char *)a + a->used;
	a->used += rounded;
	return p; /* fresh pages of an anonymous mapping: zero */
}

void filter_arena_free(struct filter_arena *a)
{
	munmap(a, ARENA_BYTES);
}

#endif
