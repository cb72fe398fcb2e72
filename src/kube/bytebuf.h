/* A growable byte buffer used as a read accumulator (watch lines, WebSocket frames) and as
 * a write queue (bytes curl_easy_send could not take yet). Aborts on out of memory, like
 * xstrdup: a client that cannot allocate a few KiB has nothing sensible left to do. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct bytebuf {
	uint8_t *data;
	size_t len; /* bytes in use, starting at data[0] */
	size_t cap;
};

void bytebuf_append(struct bytebuf *b, const void *data, size_t len);
/* Drop the first n bytes (n <= len), keeping the rest at the front. */
void bytebuf_consume(struct bytebuf *b, size_t n);
void bytebuf_reset(struct bytebuf *b);   /* len = 0, memory kept */
void bytebuf_free(struct bytebuf *b);    /* releases memory; b is reusable (empty) */

static inline void cleanup_bytebufp(struct bytebuf *b)
{
	bytebuf_free(b);
}
#define _cleanup_bytebuf_ __attribute__((cleanup(cleanup_bytebufp)))
