#include "kube/websocket.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "kube/base64.h"

#define WS_FIN 0x80
#define WS_RSV_BITS 0x70
#define WS_OPCODE_BITS 0x0F
#define WS_MASK_BIT 0x80
#define WS_CONTROL_MAX 125

/* ---------------------------------------------------------------- building */

/* FIN, opcode and the shortest length form; mask_bit is WS_MASK_BIT for a client, 0 for a
 * server. Returns the header's length. */
static size_t frame_header(uint8_t header[WS_FRAME_HEADER_MAX], enum ws_opcode opcode, size_t len,
			   uint8_t mask_bit)
{
	size_t h = 0;

	header[h++] = WS_FIN | (uint8_t)opcode;
	if (len < 126) {
		header[h++] = mask_bit | (uint8_t)len;
	} else if (len <= 0xFFFF) {
		header[h++] = mask_bit | 126;
		header[h++] = (uint8_t)(len >> 8);
		header[h++] = (uint8_t)len;
	} else {
		header[h++] = mask_bit | 127;
		for (int shift = 56; shift >= 0; shift -= 8)
			header[h++] = (uint8_t)((uint64_t)len >> shift);
	}
	return h;
}

void ws_frame_append(struct bytebuf *out, enum ws_opcode opcode, const void *payload, size_t len,
		     const uint8_t *mask)
{
	uint8_t header[WS_FRAME_HEADER_MAX];
	uint8_t random_mask[4];
	size_t h = frame_header(header, opcode, len, WS_MASK_BIT);
	const uint8_t *in = payload;

	if (!mask) {
		/* RFC 6455 §5.3: the mask must be unpredictable to keep proxies from being poisoned. */
		if (RAND_bytes(random_mask, sizeof(random_mask)) != 1)
			abort();
		mask = random_mask;
	}
	memcpy(header + h, mask, 4);
	h += 4;
	bytebuf_append(out, header, h);
	bytebuf_append(out, in, len);
	for (size_t i = 0, start = out->len - len; i < len; i++)
		out->data[start + i] ^= mask[i & 3];
}

void ws_server_frame_append(struct bytebuf *out, enum ws_opcode opcode, const void *payload, size_t len)
{
	uint8_t header[WS_FRAME_HEADER_MAX];
	size_t h = frame_header(header, opcode, len, 0);

	bytebuf_append(out, header, h);
	bytebuf_append(out, payload, len);
}

/* A close payload: the code, then the reason cut to what a control frame holds. */
static size_t close_payload(uint8_t payload[WS_CONTROL_MAX], uint16_t code, const char *reason)
{
	size_t n = 0, reason_len = reason ? strlen(reason) : 0;

	if (reason_len > WS_CONTROL_MAX - 2)
		reason_len = WS_CONTROL_MAX - 2;
	payload[n++] = (uint8_t)(code >> 8);
	payload[n++] = (uint8_t)code;
	if (reason_len)
		memcpy(payload + n, reason, reason_len);
	return n + reason_len;
}

void ws_close_frame_append(struct bytebuf *out, uint16_t code, const char *reason)
{
	uint8_t payload[WS_CONTROL_MAX];

	ws_frame_append(out, WS_OP_CLOSE, payload, close_payload(payload, code, reason), NULL);
}

void ws_server_close_frame_append(struct bytebuf *out, uint16_t code, const char *reason)
{
	uint8_t payload[WS_CONTROL_MAX];

	ws_server_frame_append(out, WS_OP_CLOSE, payload, close_payload(payload, code, reason));
}

/* ---------------------------------------------------------------- parsing */

void ws_parser_init(struct ws_parser *p)
{
	memset(p, 0, sizeof(*p));
}

void ws_parser_init_server(struct ws_parser *p)
{
	ws_parser_init(p);
	p->server = true;
}

void ws_parser_free(struct ws_parser *p)
{
	bytebuf_free(&p->message);
	bytebuf_free(&p->control);
}

static bool opcode_known(uint8_t op)
{
	return op == WS_OP_CONTINUATION || op == WS_OP_TEXT || op == WS_OP_BINARY || op == WS_OP_CLOSE ||
	       op == WS_OP_PING || op == WS_OP_PONG;
}

/* RFC 6455 §7.4: codes a peer may send in a close frame. */
static bool close_code_valid(uint16_t code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

static int protocol_error(const struct ws_parser *p, struct cntr_err *err, const char *why)
{
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "websocket protocol error from the %s: %s",
			 p->server ? "client" : "server", why);
}

struct frame_header {
	bool fin;
	bool masked;
	uint8_t opcode;
	uint8_t mask[4];
	uint64_t payload_len;
	size_t header_len;
};

/* Decode the header at the start of in. Returns 1 when complete, 0 when more bytes are
 * needed, -1 when it is malformed. */
static int read_frame_header(const struct ws_parser *p, const struct bytebuf *in, struct frame_header *fh,
			     struct cntr_err *err)
{
	const uint8_t *b = in->data;
	uint8_t len7;

	if (in->len < 2)
		return 0;
	if (b[0] & WS_RSV_BITS)
		return protocol_error(p, err, "reserved bits set (no extension was negotiated)");
	fh->fin = b[0] & WS_FIN;
	fh->opcode = b[0] & WS_OPCODE_BITS;
	if (!opcode_known(fh->opcode))
		return protocol_error(p, err, "unknown opcode");
	fh->masked = b[1] & WS_MASK_BIT;
	if (fh->masked && !p->server)
		return protocol_error(p, err, "masked frame (servers must not mask)");
	if (!fh->masked && p->server)
		return protocol_error(p, err, "unmasked frame (clients must mask every frame)");
	len7 = b[1] & 0x7F;
	if (len7 < 126) {
		fh->payload_len = len7;
		fh->header_len = 2;
	} else if (len7 == 126) {
		if (in->len < 4)
			return 0;
		fh->payload_len = (uint64_t)b[2] << 8 | b[3];
		fh->header_len = 4;
		if (fh->payload_len < 126)
			return protocol_error(p, err, "16-bit length used for a short payload");
	} else {
		if (in->len < 10)
			return 0;
		fh->payload_len = 0;
		for (int i = 2; i < 10; i++)
			fh->payload_len = fh->payload_len << 8 | b[i];
		fh->header_len = 10;
		if (fh->payload_len >> 63)
			return protocol_error(p, err, "64-bit length with the most significant bit set");
		if (fh->payload_len <= 0xFFFF)
			return protocol_error(p, err, "64-bit length used for a short payload");
	}
	if (fh->masked) {
		if (in->len < fh->header_len + 4)
			return 0;
		memcpy(fh->mask, b + fh->header_len, 4);
		fh->header_len += 4;
	}
	if (fh->opcode & 0x8) {
		if (!fh->fin)
			return protocol_error(p, err, "fragmented control frame");
		if (fh->payload_len > WS_CONTROL_MAX)
			return protocol_error(p, err, "control frame longer than 125 bytes");
	}
	return 1;
}

static int take_control_frame(struct ws_parser *p, const struct frame_header *fh, const uint8_t *payload,
			      struct ws_message *msg, struct cntr_err *err)
{
	bytebuf_reset(&p->control);
	bytebuf_append(&p->control, payload, fh->payload_len);
	bytebuf_append(&p->control, "", 1); /* NUL for close_reason */
	memset(msg, 0, sizeof(*msg));
	msg->opcode = fh->opcode;
	msg->data = p->control.data;
	msg->len = fh->payload_len;
	if (fh->opcode != WS_OP_CLOSE)
		return 1;
	if (fh->payload_len == 1)
		return protocol_error(p, err, "close frame with a 1-byte payload");
	msg->close_code = WS_CLOSE_NO_STATUS;
	msg->close_reason = "";
	if (fh->payload_len >= 2) {
		msg->close_code = (uint16_t)(payload[0] << 8 | payload[1]);
		msg->close_reason = (const char *)p->control.data + 2;
		if (!close_code_valid(msg->close_code))
			return protocol_error(p, err, "close frame with an invalid status code");
	}
	p->closed = true;
	return 1;
}

/* A data frame: start, continue or finish a message. Returns 1 when a message is complete. */
static int take_data_frame(struct ws_parser *p, const struct frame_header *fh, const uint8_t *payload,
			   struct ws_message *msg, struct cntr_err *err)
{
	size_t max = p->max_message ? p->max_message : WS_MAX_MESSAGE_DEFAULT;

	if (fh->opcode == WS_OP_CONTINUATION && !p->in_message)
		return protocol_error(p, err, "continuation frame without a message to continue");
	if (fh->opcode != WS_OP_CONTINUATION && p->in_message)
		return protocol_error(p, err, "new data frame inside a fragmented message");
	if (fh->opcode != WS_OP_CONTINUATION) {
		p->message_opcode = fh->opcode;
		p->in_message = true;
	}
	if (p->message.len + fh->payload_len > max)
		return protocol_error(p, err, "message larger than the allowed maximum");
	bytebuf_append(&p->message, payload, fh->payload_len);
	if (!fh->fin)
		return 0;
	p->in_message = false;
	memset(msg, 0, sizeof(*msg));
	msg->opcode = p->message_opcode;
	msg->data = p->message.data;
	msg->len = p->message.len;
	return 1;
}

int ws_parser_next(struct ws_parser *p, struct bytebuf *in, struct ws_message *msg,
		   struct cntr_err *err)
{
	size_t max = p->max_message ? p->max_message : WS_MAX_MESSAGE_DEFAULT;

	/* The previous complete message (if any) was handed out; its storage is reused now. */
	if (!p->in_message)
		bytebuf_reset(&p->message);
	for (;;) {
		struct frame_header fh;
		int r;

		if (p->closed && in->len)
			return protocol_error(p, err, "data after the close frame");
		r = read_frame_header(p, in, &fh, err);
		if (r <= 0)
			return r;
		/* Reject oversize before waiting for (and buffering) the payload. */
		if (!(fh.opcode & 0x8) && fh.payload_len > max - (p->in_message ? p->message.len : 0))
			return protocol_error(p, err, "message larger than the allowed maximum");
		if (in->len - fh.header_len < fh.payload_len)
			return 0;
		/* A client's payload is unmasked in place: the bytes are consumed right after. */
		for (uint64_t i = 0; fh.masked && i < fh.payload_len; i++)
			in->data[fh.header_len + i] ^= fh.mask[i & 3];
		if (fh.opcode & 0x8)
			r = take_control_frame(p, &fh, in->data + fh.header_len, msg, err);
		else
			r = take_data_frame(p, &fh, in->data + fh.header_len, msg, err);
		bytebuf_consume(in, fh.header_len + fh.payload_len);
		if (r != 0)
			return r;
	}
}

/* ---------------------------------------------------------------- handshake */

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int ws_handshake_key(char key[25], struct cntr_err *err)
{
	unsigned char nonce[16];
	_cleanup_free_ char *b64 = NULL;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "websocket: no random bytes for the handshake key");
	b64 = kube_base64_encode(nonce, sizeof(nonce));
	memcpy(key, b64, 25);
	return 0;
}

void ws_accept_for_key(const char *key, char accept[29])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	size_t key_len = strlen(key);
	_cleanup_free_ char *joined = malloc(key_len + sizeof(ws_guid));
	_cleanup_free_ char *b64 = NULL;

	if (!joined)
		abort();
	memcpy(joined, key, key_len);
	memcpy(joined + key_len, ws_guid, sizeof(ws_guid));
	if (EVP_Digest(joined, key_len + sizeof(ws_guid) - 1, digest, &digest_len, EVP_sha1(), NULL) != 1)
		abort();
	b64 = kube_base64_encode(digest, digest_len);
	memcpy(accept, b64, 29);
}
