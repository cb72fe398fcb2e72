#include "kube/bytebuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bytebuf_reserve(struct bytebuf *b, size_t extra)
{
	size_t need = b->len + extra;
	size_t cap = b->cap ? b->cap : 256;

	if (need < b->len) /* size_t overflow */
		abort();
	if (need <= b->cap)
		return;
	while (cap < need)
		cap *= 2;
	b->data = realloc(b->data, cap);
	if (!b->data)
		abort();
	b->cap = cap;
}

void bytebuf_append(struct bytebuf *b, const void *data, size_t len)
{
	if (!len)
		return;
	bytebuf_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void bytebuf_consume(struct bytebuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void bytebuf_reset(struct bytebuf *b)
{
	b->len = 0;
}

void bytebuf_free(struct bytebuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
