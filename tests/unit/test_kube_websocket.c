/* RFC 6455 framing: client frames (masking, 7/16/64-bit lengths), the incremental server-frame
 * parser (fragments, interleaved control frames, byte-by-byte arrival) and every malformed
 * frame it must reject; handshake key and accept value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kube/base64.h"
#include "kube/websocket.h"

static const uint8_t fixed_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A server frame as raw bytes: fin/opcode byte, then the payload with the given length form. */
static void server_frame(struct bytebuf *out, uint8_t first_byte, const void *payload, size_t len)
{
	uint8_t h[10];
	size_t n = 0;
	h[n++] = first_byte;
	if (len < 126) {
		h[n++] = (uint8_t)len;
	} else if (len <= 0xFFFF) {
		h[n++] = 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = 127;
		for (int s = 56; s >= 0; s -= 8)
			h[n++] = (uint8_t)((uint64_t)len >> s);
	}
	bytebuf_append(out, h, n);
	bytebuf_append(out, payload, len);
}

/* Unmask a client frame built by ws_frame_append and check its header. */
static void check_client_frame(const struct bytebuf *f, uint8_t opcode, const uint8_t *payload,
			       size_t len, size_t expected_header)
{
	const uint8_t *mask;
	assert_int_equal(f->len, expected_header + len);
	assert_int_equal(f->data[0], 0x80 | opcode);
	assert_true(f->data[1] & 0x80); /* clients always mask */
	mask = f->data + expected_header - 4;
	for (size_t i = 0; i < len; i++)
		assert_int_equal(f->data[expected_header + i] ^ mask[i & 3], payload[i]);
}

static void test_client_frame_uses_7bit_length_and_masks_payload(void **state)
{
	struct bytebuf f = { 0 };
	const char *hello = "Hello";
	ws_frame_append(&f, WS_OP_TEXT, hello, 5, fixed_mask);
	/* RFC 6455 §5.7 example: a masked "Hello". */
	static const uint8_t expected[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	assert_int_equal(f.len, sizeof(expected));
	assert_memory_equal(f.data, expected, sizeof(expected));
	bytebuf_free(&f);
}

static void test_client_frame_length_forms_at_their_boundaries(void **state)
{
	static const struct {
		size_t len;
		size_t header;
		uint8_t len7;
	} cases[] = { { 0, 6, 0 }, { 125, 6, 125 }, { 126, 8, 126 }, { 65535, 8, 126 }, { 65536, 14, 127 }, { 200000, 14, 127 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct bytebuf f = { 0 };
		uint8_t *payload = malloc(cases[c].len + 1);
		for (size_t i = 0; i < cases[c].len; i++)
			payload[i] = (uint8_t)(i * 7);
		ws_frame_append(&f, WS_OP_BINARY, payload, cases[c].len, NULL);
		assert_int_equal(f.data[1] & 0x7f, cases[c].len7);
		check_client_frame(&f, WS_OP_BINARY, payload, cases[c].len, cases[c].header);
		if (cases[c].len7 == 126)
			assert_int_equal((size_t)(f.data[2] << 8 | f.data[3]), cases[c].len);
		if (cases[c].len7 == 127) {
			uint64_t l = 0;
			for (int i = 2; i < 10; i++)
				l = l << 8 | f.data[i];
			assert_int_equal(l, cases[c].len);
		}
		free(payload);
		bytebuf_free(&f);
	}
}

static void test_random_masks_differ_between_frames(void **state)
{
	struct bytebuf a = { 0 }, b = { 0 };
	ws_frame_append(&a, WS_OP_BINARY, "x", 1, NULL);
	ws_frame_append(&b, WS_OP_BINARY, "x", 1, NULL);
	/* 2^-32 chance of a false failure; a constant mask would fail every time. */
	assert_memory_not_equal(a.data + 2, b.data + 2, 4);
	bytebuf_free(&a);
	bytebuf_free(&b);
}

static void test_close_frame_carries_code_and_reason(void **state)
{
	struct bytebuf f = { 0 };
	ws_close_frame_append(&f, 1000, "bye");
	static const uint8_t payload[] = { 0x03, 0xe8, 'b', 'y', 'e' };
	check_client_frame(&f, WS_OP_CLOSE, payload, sizeof(payload), 6);
	bytebuf_free(&f);
}

static void test_parser_returns_unfragmented_binary_message(void **state)
{
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };
	ws_parser_init(&p);
	server_frame(&in, 0x82, "\x01hi", 3);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), 1);
	assert_int_equal(m.opcode, WS_OP_BINARY);
	assert_int_equal(m.len, 3);
	assert_memory_equal(m.data, "\x01hi", 3);
	assert_int_equal(in.len, 0);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), 0);
	ws_parser_free(&p);
	bytebuf_free(&in);
}

static void test_parser_needs_more_bytes_until_frame_is_complete(void **state)
{
	struct ws_parser p;
	struct bytebuf wire = { 0 }, in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };
	uint8_t big[70000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i ^ (i >> 8));
	ws_parser_init(&p);
	server_frame(&wire, 0x82, big, sizeof(big)); /* 64-bit length form */
	server_frame(&wire, 0x82, big, 300);         /* 16-bit length form */
	/* Byte by byte: nothing before the last byte of each frame. */
	size_t got = 0;
	for (size_t i = 0; i < wire.len; i++) {
		bytebuf_append(&in, wire.data + i, 1);
		int r = ws_parser_next(&p, &in, &m, &err);
		assert_int_not_equal(r, -1);
		if (r == 1) {
			got++;
			assert_int_equal(m.len, got == 1 ? sizeof(big) : 300);
			assert_memory_equal(m.data, big, m.len);
			assert_int_equal(i, got == 1 ? sizeof(big) + 10 - 1 : wire.len - 1);
		}
	}
	assert_int_equal(got, 2);
	ws_parser_free(&p);
	bytebuf_free(&wire);
	bytebuf_free(&in);
}

static void test_parser_reassembles_fragments_around_a_ping(void **state)
{
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };
	ws_parser_init(&p);
	server_frame(&in, 0x02, "\x01" "ab", 3); /* BINARY, not FIN */
	server_frame(&in, 0x89, "pp", 2);       /* PING in between */
	server_frame(&in, 0x00, "cd", 2);       /* CONTINUATION */
	server_frame(&in, 0x80, "ef", 2);       /* CONTINUATION, FIN */
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), 1);
	assert_int_equal(m.opcode, WS_OP_PING);
	assert_int_equal(m.len, 2);
	assert_memory_equal(m.data, "pp", 2);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), 1);
	assert_int_equal(m.opcode, WS_OP_BINARY);
	assert_int_equal(m.len, 7);
	assert_memory_equal(m.data, "\x01" "abcdef", 7);
	ws_parser_free(&p);
	bytebuf_free(&in);
}

static void test_parser_reports_close_code_and_reason(void **state)
{
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };
	ws_parser_init(&p);
	server_frame(&in, 0x88, "\x03\xe9going", 7);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), 1);
	assert_int_equal(m.opcode, WS_OP_CLOSE);
	assert_int_equal(m.close_code, 1001);
	assert_string_equal(m.close_reason, "going");
	/* nothing may follow a close */
	server_frame(&in, 0x82, "x", 1);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), -1);
	assert_non_null(strstr(err.msg, "after the close"));
	ws_parser_free(&p);
	bytebuf_free(&in);
}

static void test_parser_close_without_code_is_1005(void **state)
{
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };
	ws_parser_init(&p);
	server_frame(&in, 0x88, "", 0);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), 1);
	assert_int_equal(m.close_code, WS_CLOSE_NO_STATUS);
	ws_parser_free(&p);
	bytebuf_free(&in);
}

/* Each malformed input, fed whole, must be rejected with a message naming the violation. */
static const struct {
	const char *name;
	uint8_t bytes[16];
	size_t len;
	const char *expect;
} malformed[] = {
	{ "rsv1", { 0xC2, 0x00 }, 2, "reserved bits" },
	{ "rsv3", { 0x92, 0x00 }, 2, "reserved bits" },
	{ "opcode 3", { 0x83, 0x00 }, 2, "unknown opcode" },
	{ "opcode 0xB", { 0x8B, 0x00 }, 2, "unknown opcode" },
	{ "masked", { 0x82, 0x81, 1, 2, 3, 4, 'x' }, 7, "masked" },
	{ "fragmented ping", { 0x09, 0x00 }, 2, "fragmented control" },
	{ "long ping", { 0x89, 126, 0x00, 126 }, 4, "longer than 125" },
	{ "continuation first", { 0x80, 0x00 }, 2, "continuation frame without" },
	{ "16-bit short", { 0x82, 126, 0x00, 0x05 }, 4, "16-bit length" },
	{ "64-bit short", { 0x82, 127, 0, 0, 0, 0, 0, 0, 0x01, 0x00 }, 10, "64-bit length used" },
	{ "64-bit top bit", { 0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 10, "most significant" },
	{ "close 1 byte", { 0x88, 0x01, 0x03 }, 3, "1-byte" },
	{ "close code 1005", { 0x88, 0x02, 0x03, 0xED }, 4, "invalid status code" },
	{ "close code 999", { 0x88, 0x02, 0x03, 0xE7 }, 4, "invalid status code" },
	{ "close code 2000", { 0x88, 0x02, 0x07, 0xD0 }, 4, "invalid status code" },
};

static void test_parser_rejects_each_malformed_frame(void **state)
{
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct ws_parser p;
		struct bytebuf in = { 0 };
		struct ws_message m;
		struct cntr_err err = { 0 };
		ws_parser_init(&p);
		bytebuf_append(&in, malformed[i].bytes, malformed[i].len);
		if (ws_parser_next(&p, &in, &m, &err) != -1)
			fail_msg("%s: accepted", malformed[i].name);
		if (!strstr(err.msg, malformed[i].expect))
			fail_msg("%s: message \"%s\" lacks \"%s\"", malformed[i].name, err.msg, malformed[i].expect);
		ws_parser_free(&p);
		bytebuf_free(&in);
	}
}

static void test_parser_rejects_new_message_inside_fragmented_one(void **state)
{
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };
	ws_parser_init(&p);
	server_frame(&in, 0x02, "a", 1);
	server_frame(&in, 0x82, "b", 1);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), -1);
	assert_non_null(strstr(err.msg, "inside a fragmented message"));
	ws_parser_free(&p);
	bytebuf_free(&in);
}

static void test_parser_rejects_oversize_message_before_buffering_it(void **state)
{
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };
	static const uint8_t header[] = { 0x82, 127, 0, 0, 0, 0x01, 0, 0, 0, 0 }; /* 4 GiB */
	ws_parser_init(&p);
	bytebuf_append(&in, header, sizeof(header));
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), -1);
	assert_non_null(strstr(err.msg, "larger than the allowed maximum"));
	ws_parser_free(&p);
	bytebuf_free(&in);

	/* Without a limit of the caller's, 4 MiB: a frame announcing one byte more is refused from
	 * its header, before any payload is buffered. */
	{
		uint64_t over = (uint64_t)WS_MAX_MESSAGE_DEFAULT + 1;
		uint8_t big[10] = { 0x82, 127 };
		for (int i = 0; i < 8; i++)
			big[2 + i] = (uint8_t)(over >> (56 - 8 * i));
		ws_parser_init(&p);
		bytebuf_append(&in, big, sizeof(big));
		assert_int_equal(ws_parser_next(&p, &in, &m, &err), -1);
		assert_non_null(strstr(err.msg, "larger than the allowed maximum"));
		ws_parser_free(&p);
		bytebuf_free(&in);
	}

	/* The limit applies to the reassembled message, not only to one frame. */
	ws_parser_init(&p);
	p.max_message = 4;
	server_frame(&in, 0x02, "abc", 3);
	server_frame(&in, 0x80, "de", 2);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), -1);
	ws_parser_free(&p);
	bytebuf_free(&in);
}

static void test_accept_value_matches_rfc_example(void **state)
{
	char accept[29];
	ws_accept_for_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
	assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void test_handshake_key_is_16_random_bytes_in_base64(void **state)
{
	char a[25], b[25];
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	struct cntr_err err = { 0 };
	assert_int_equal(ws_handshake_key(a, &err), 0);
	assert_int_equal(ws_handshake_key(b, &err), 0);
	assert_int_equal(strlen(a), 24);
	assert_string_not_equal(a, b);
	assert_int_equal(kube_base64_decode(a, strlen(a), &raw, &raw_len), 0);
	assert_int_equal(raw_len, 16);
	free(raw);
}

static void test_base64_round_trip_and_rejects_garbage(void **state)
{
	unsigned char *out = NULL;
	size_t len = 0;
	for (size_t n = 0; n < 7; n++) {
		char *enc = kube_base64_encode("abcdefg", n);
		assert_int_equal(strlen(enc) % 4, 0);
		assert_int_equal(kube_base64_decode(enc, strlen(enc), &out, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(out, "abcdefg", n);
		free(out);
		free(enc);
	}
	assert_int_equal(kube_base64_decode("aGVs\nbG8=\n", 10, &out, &len), 0); /* newlines ok */
	assert_string_equal((char *)out, "hello");
	free(out);
	assert_int_equal(kube_base64_decode("aGVsbG8", 7, &out, &len), 0); /* padding optional */
	free(out);
	assert_int_equal(kube_base64_decode("aGV*bG8=", 8, &out, &len), -1);
	assert_int_equal(kube_base64_decode("a", 1, &out, &len), -1);
	assert_int_equal(kube_base64_decode("aG=Vs", 5, &out, &len), -1);
}

/* Deterministic xorshift: the same "random" cases on every run. */
static uint32_t rng_state = 2463534242u;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void test_random_fragmentation_and_arrival_reassemble_exactly(void **state)
{
	for (int round = 0; round < 200; round++) {
		struct ws_parser p;
		struct bytebuf wire = { 0 }, in = { 0 };
		struct ws_message m;
		struct cntr_err err = { 0 };
		size_t len = rng() % 70000, pos = 0, sent = 0;
		uint8_t *payload = malloc(len + 1);
		bool first = true, done = false;

		for (size_t i = 0; i < len; i++)
			payload[i] = (uint8_t)rng();
		/* split the message into random fragments, with pings in between */
		while (sent < len || first) {
			size_t n = len - sent ? 1 + rng() % (len - sent) : 0;
			bool fin = sent + n == len;
			server_frame(&wire, (uint8_t)((fin ? 0x80 : 0) | (first ? WS_OP_BINARY : WS_OP_CONTINUATION)),
				     payload + sent, n);
			if (rng() % 3 == 0)
				server_frame(&wire, 0x89, "p", 1);
			sent += n;
			first = false;
		}
		ws_parser_init(&p);
		/* deliver in random slices */
		while (pos < wire.len) {
			size_t n = 1 + rng() % 5000;
			if (n > wire.len - pos)
				n = wire.len - pos;
			bytebuf_append(&in, wire.data + pos, n);
			pos += n;
			int r;
			while ((r = ws_parser_next(&p, &in, &m, &err)) == 1) {
				if (m.opcode == WS_OP_PING)
					continue;
				assert_false(done);
				assert_int_equal(m.opcode, WS_OP_BINARY);
				assert_int_equal(m.len, len);
				if (len)
					assert_memory_equal(m.data, payload, len);
				done = true;
			}
			assert_int_equal(r, 0);
		}
		assert_true(done);
		ws_parser_free(&p);
		bytebuf_free(&wire);
		bytebuf_free(&in);
		free(payload);
	}
}

static void test_random_garbage_never_crashes_the_parser(void **state)
{
	for (int round = 0; round < 2000; round++) {
		struct ws_parser p;
		struct bytebuf in = { 0 };
		struct ws_message m;
		struct cntr_err err = { 0 };
		uint8_t junk[64];
		size_t n = rng() % sizeof(junk);
		int r;
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)rng();
		ws_parser_init(&p);
		p.max_message = 1 << 16;
		bytebuf_append(&in, junk, n);
		while ((r = ws_parser_next(&p, &in, &m, &err)) == 1)
			assert_true(m.len <= (1 << 16));
		assert_true(r == 0 || r == -1);
		ws_parser_free(&p);
		bytebuf_free(&in);
	}
}

/* ---- the server direction (the broker): unmasked frames out, masked client frames in */

static void test_server_frame_is_unmasked_with_shortest_length(void **state)
{
	static const size_t lens[] = { 0, 125, 126, 65535, 65536 };
	for (size_t c = 0; c < sizeof(lens) / sizeof(lens[0]); c++) {
		struct bytebuf f = { 0 };
		uint8_t *payload = calloc(1, lens[c] + 1);
		size_t header = lens[c] < 126 ? 2 : lens[c] <= 0xFFFF ? 4 : 10;
		ws_server_frame_append(&f, WS_OP_BINARY, payload, lens[c]);
		assert_int_equal(f.len, header + lens[c]);
		assert_int_equal(f.data[0], 0x82);
		assert_false(f.data[1] & 0x80); /* a server never masks */
		bytebuf_free(&f);
		free(payload);
	}
}

static void test_client_parser_reads_what_the_server_direction_writes(void **state)
{
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };

	ws_parser_init(&p);
	ws_server_frame_append(&in, WS_OP_BINARY, "\x01hello", 6);
	ws_server_close_frame_append(&in, 1000, "done");
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), 1);
	assert_int_equal(m.len, 6);
	assert_memory_equal(m.data, "\x01hello", 6);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), 1);
	assert_int_equal(m.opcode, WS_OP_CLOSE);
	assert_int_equal(m.close_code, 1000);
	assert_string_equal(m.close_reason, "done");
	ws_parser_free(&p);
	bytebuf_free(&in);
}

static void test_server_parser_unmasks_client_frames_arriving_byte_by_byte(void **state)
{
	struct ws_parser p;
	struct bytebuf wire = { 0 }, in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };
	uint8_t big[300];
	int got = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	ws_frame_append(&wire, WS_OP_BINARY, "\x00ls\n", 4, fixed_mask);
	ws_frame_append(&wire, WS_OP_PING, "pi", 2, NULL);
	ws_frame_append(&wire, WS_OP_BINARY, big, sizeof(big), NULL);
	ws_parser_init_server(&p);
	for (size_t pos = 0; pos < wire.len; pos++) {
		int r;
		bytebuf_append(&in, wire.data + pos, 1);
		while ((r = ws_parser_next(&p, &in, &m, &err)) == 1) {
			if (got == 0) {
				assert_int_equal(m.len, 4);
				assert_memory_equal(m.data, "\x00ls\n", 4);
			} else if (got == 1) {
				assert_int_equal(m.opcode, WS_OP_PING);
				assert_memory_equal(m.data, "pi", 2);
			} else {
				assert_int_equal(m.len, sizeof(big));
				assert_memory_equal(m.data, big, sizeof(big));
			}
			got++;
		}
		assert_int_equal(r, 0);
	}
	assert_int_equal(got, 3);
	ws_parser_free(&p);
	bytebuf_free(&wire);
	bytebuf_free(&in);
}

static void test_server_parser_rejects_unmasked_client_frame(void **state)
{
	struct ws_parser p;
	struct bytebuf in = { 0 };
	struct ws_message m;
	struct cntr_err err = { 0 };

	ws_parser_init_server(&p);
	ws_server_frame_append(&in, WS_OP_BINARY, "\x00x", 2);
	assert_int_equal(ws_parser_next(&p, &in, &m, &err), -1);
	assert_non_null(strstr(err.msg, "from the client: unmasked frame"));
	ws_parser_free(&p);
	bytebuf_free(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_frame_is_unmasked_with_shortest_length),
		cmocka_unit_test(test_client_parser_reads_what_the_server_direction_writes),
		cmocka_unit_test(test_server_parser_unmasks_client_frames_arriving_byte_by_byte),
		cmocka_unit_test(test_server_parser_rejects_unmasked_client_frame),
		cmocka_unit_test(test_client_frame_uses_7bit_length_and_masks_payload),
		cmocka_unit_test(test_client_frame_length_forms_at_their_boundaries),
		cmocka_unit_test(test_random_masks_differ_between_frames),
		cmocka_unit_test(test_close_frame_carries_code_and_reason),
		cmocka_unit_test(test_parser_returns_unfragmented_binary_message),
		cmocka_unit_test(test_parser_needs_more_bytes_until_frame_is_complete),
		cmocka_unit_test(test_parser_reassembles_fragments_around_a_ping),
		cmocka_unit_test(test_parser_reports_close_code_and_reason),
		cmocka_unit_test(test_parser_close_without_code_is_1005),
		cmocka_unit_test(test_parser_rejects_each_malformed_frame),
		cmocka_unit_test(test_parser_rejects_new_message_inside_fragmented_one),
		cmocka_unit_test(test_parser_rejects_oversize_message_before_buffering_it),
		cmocka_unit_test(test_random_fragmentation_and_arrival_reassemble_exactly),
		cmocka_unit_test(test_random_garbage_never_crashes_the_parser),
		cmocka_unit_test(test_accept_value_matches_rfc_example),
		cmocka_unit_test(test_handshake_key_is_16_random_bytes_in_base64),
		cmocka_unit_test(test_base64_round_trip_and_rejects_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
