/* RFC 6455 WebSocket framing without any I/O, in both directions: a client (the exec session,
 * exec_stream.c) sends masked frames and parses the server's unmasked ones; a server (the broker,
 * src/broker) sends unmasked frames and parses the client's masked ones. Plus the handshake key /
 * Sec-WebSocket-Accept computation. The callers do the I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube/bytebuf.h"

struct cntr_err;

/* 4 MiB for one data message unless ws_parser.max_message says otherwise. The API server
 * relays a command's output in writes of 32 KiB or less; 4 MiB leaves room for anything in
 * between that coalesces them, and bounds what one message can make us buffer. */
#define WS_MAX_MESSAGE_DEFAULT (4u << 20)
/* The most a frame header takes (2 + 8 length bytes + 4 mask bytes). */
#define WS_FRAME_HEADER_MAX 14

enum ws_opcode {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* Close status codes used here (RFC 6455 §7.4.1). */
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_PROTOCOL_ERROR = 1002,
	WS_CLOSE_NO_STATUS = 1005, /* never on the wire: "close frame had no code" */
	WS_CLOSE_TOO_BIG = 1009,
};

/* Append one complete, masked client frame (FIN set) with the given opcode and payload to out.
 * Any payload size: 7-bit, 16-bit or 64-bit length encodings are chosen as required.
 * mask: 4 bytes, or NULL for a fresh random mask (OpenSSL RAND_bytes). */
void ws_frame_append(struct bytebuf *out, enum ws_opcode opcode, const void *payload, size_t len,
		     const uint8_t *mask);

/* Append a close frame carrying code (and an optional short reason). */
void ws_close_frame_append(struct bytebuf *out, uint16_t code, const char *reason);

/* The server direction: the same frames, unmasked (RFC 6455 §5.1: a server must not mask). */
void ws_server_frame_append(struct bytebuf *out, enum ws_opcode opcode, const void *payload, size_t len);
void ws_server_close_frame_append(struct bytebuf *out, uint16_t code, const char *reason);

/* A complete message: a data message (TEXT/BINARY, fragments reassembled) or a control
 * frame (CLOSE/PING/PONG, which may arrive between fragments). */
struct ws_message {
	enum ws_opcode opcode;
	const uint8_t *data;  /* borrowed from the parser: valid until the next ws_parser_next */
	size_t len;
	uint16_t close_code;  /* for CLOSE: the code, or WS_CLOSE_NO_STATUS when absent */
	const char *close_reason; /* for CLOSE: NUL-terminated reason text ("" when absent) */
};

struct ws_parser {
	size_t max_message;        /* reject data messages larger than this (0: WS_MAX_MESSAGE_DEFAULT) */
	bool server;               /* parsing a client's frames: each must be masked, and is unmasked
				    * here (ws_parser_init_server); else each must be unmasked */
	struct bytebuf message;    /* fragments of the data message being assembled */
	struct bytebuf control;    /* payload of the last control frame (with a NUL after it) */
	enum ws_opcode message_opcode;
	bool in_message;           /* a fragmented message is in progress */
	bool closed;               /* a CLOSE was returned: nothing may follow */
};

void ws_parser_init(struct ws_parser *p);
/* A parser for the frames a client sends (masked ones only). */
void ws_parser_init_server(struct ws_parser *p);
void ws_parser_free(struct ws_parser *p);

/* Take the next message out of the received bytes in `in` (consumed bytes are removed).
 * Returns 1 with *msg filled, 0 when more bytes are needed, or -1 on a protocol violation
 * (err says which; the caller should send a 1002 close and stop): reserved bits set, masked
 * server frame or unmasked client frame, unknown opcode, fragmented or >125-byte control frame, continuation without
 * a message, new data frame inside a fragmented message, non-minimal or 64-bit length with
 * the top bit set, message over max_message, bad close payload (length 1, invalid code). */
int ws_parser_next(struct ws_parser *p, struct bytebuf *in, struct ws_message *msg,
		   struct cntr_err *err);

/* Sec-WebSocket-Key: base64 of 16 random bytes (24 chars + NUL). */
int ws_handshake_key(char key[25], struct cntr_err *err);
/* Sec-WebSocket-Accept expected for key: base64(SHA-1(key + GUID)) (28 chars + NUL). */
void ws_accept_for_key(const char *key, char accept[29]);
