/* Shared by the libFuzzer harnesses: the entry point's prototype, and copies of the input that
 * end exactly where an inaccessible page begins. ASan sees reads past the end in instrumented
 * code only; the guard page also catches them inside libc (strtoul, sscanf...) and the
 * libraries (libyaml, jansson), which are not instrumented: such a read faults. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pages reused across inputs, the last one inaccessible. */
struct fuzz_region {
	uint8_t *base;
	size_t pages;
};

static inline uint8_t *fuzz_region_tail(struct fuzz_region *r, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t need = (size + page - 1) / page + 1; /* data pages + the guard page */

	if (need > r->pages) {
		if (r->base)
			munmap(r->base, r->pages * page);
		r->base = mmap(NULL, need * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->base == MAP_FAILED || mprotect(r->base + (need - 1) * page, page, PROT_NONE) < 0)
			abort();
		r->pages = need;
	}
	return r->base + (r->pages - 1) * page - size;
}

/* The input as a buffer of exactly size bytes (for parsers given a length, no terminator).
 * Valid until the next call; do not free. */
static inline const char *fuzz_guarded(const uint8_t *data, size_t size)
{
	static struct fuzz_region region;
	uint8_t *copy = fuzz_region_tail(&region, size);
	memcpy(copy, data, size);
	return (const char *)copy;
}

/* The input as a C string: size bytes and a NUL, then the guard page (parsers of C strings).
 * Writable; valid until the next call; do not free. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
	static struct fuzz_region region;
	uint8_t *copy = fuzz_region_tail(&region, size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	return (char *)copy;
}

/* Feed sizes for stream decoders: the first input byte picks how the rest is cut into reads
 * (1..64 bytes each), so frames and lines split at every offset get exercised. */
static inline size_t fuzz_chunk_size(const uint8_t **data, size_t *size)
{
	size_t chunk = 1;
	if (*size) {
		chunk = 1 + (**data % 64);
		(*data)++;
		(*size)--;
	}
	return chunk;
}
