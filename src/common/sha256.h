/* SHA-256 (FIPS 180-4), for checking an image's blobs against their digests in the static
 * cntr, which has no crypto library. Not constant-time: it hashes public data only. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct cntr_sha256 {
	uint32_t h[8];
	uint64_t total;          /* bytes hashed so far */
	unsigned char block[64];
	size_t fill;             /* bytes waiting in block */
};

void cntr_sha256_init(struct cntr_sha256 *s);
void cntr_sha256_update(struct cntr_sha256 *s, const void *data, size_t len);
/* The digest as 64 lowercase hex digits and a NUL. */
void cntr_sha256_final_hex(struct cntr_sha256 *s, char hex[65]);

void cntr_sha256_hex(const void *data, size_t len, char hex[65]);
/* Hash everything readable from fd (from its offset to EOF). -1 with errno on a read error. */
int cntr_sha256_fd(int fd, char hex[65]);
