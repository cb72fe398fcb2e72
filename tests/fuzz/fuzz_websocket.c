/* WebSocket frames from the API server (src/kube/websocket.c), fed in reads of varying size,
 * with a small message cap so the oversize paths are reached too. */
#include "fuzz.h"

#include "common/err.h"
#include "kube/bytebuf.h"
#include "kube/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk = fuzz_chunk_size(&data, &size);
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct cntr_err err;
	volatile size_t sink = 0;
	int r = 0;

	ws_parser_init(&p);
	p.max_message = 4096;
	for (size_t off = 0; off < size && r >= 0; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		struct ws_message msg;

		bytebuf_append(&in, data + off, n);
		while ((r = ws_parser_next(&p, &in, &msg, &err)) == 1) {
			/* Touch every byte handed out: ASan checks the borrowed spans. */
			for (size_t i = 0; i < msg.len; i++)
				sink += msg.data[i];
			if (msg.opcode == WS_OP_CLOSE)
				sink += strlen(msg.close_reason) + msg.close_code;
		}
	}
	(void)sink;
	bytebuf_free(&in);
	ws_parser_free(&p);
	return 0;
}
