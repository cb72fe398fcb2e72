/* The exec request path and the HTTP/1.1 WebSocket upgrade: request text, response head
 * parsing (split arrival, header case), and the 101 checks (accept value, v5/v4 choice). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "kube/exec_stream.h"
#include "kube/exec_upgrade.h"
#include "kube/websocket.h"

static void test_exec_path_repeats_command_and_escapes_values(void **state)
{
	char *argv[] = { "cntr", "attach", "abc123", "--", "sh", "-c", "echo a&b=c d/é", NULL };
	struct kube_exec_opts opts;
	char *path;
	kube_exec_opts_init(&opts);
	path = kube_exec_path("kube-system", "web-0", "app", argv, &opts);
	assert_string_equal(path,
			    "/api/v1/namespaces/kube-system/pods/web-0/exec?command=cntr&command=attach&command=abc123"
			    "&command=--&command=sh&command=-c&command=echo%20a%26b%3Dc%20d%2F%C3%A9"
			    "&container=app&stdin=true&stdout=true&stderr=true&tty=false");
	free(path);
}

static void test_exec_path_with_tty_merges_stderr_and_omits_empty_container(void **state)
{
	char *argv[] = { "sh", NULL };
	struct kube_exec_opts opts;
	char *path;
	kube_exec_opts_init(&opts);
	opts.tty = true;
	opts.forward_stdin = false;
	path = kube_exec_path("ns", "p", NULL, argv, &opts);
	assert_string_equal(path, "/api/v1/namespaces/ns/pods/p/exec?command=sh&stdin=false&stdout=true&stderr=false&tty=true");
	free(path);
}

static void test_upgrade_request_offers_v5_then_v4_with_auth(void **state)
{
	char *req = kube_exec_upgrade_request("/api/x?command=sh", "10.0.0.1:6443", "tok", "KEY==");
	assert_true(strncmp(req, "GET /api/x?command=sh HTTP/1.1\r\n", 32) == 0);
	assert_non_null(strstr(req, "\r\nHost: 10.0.0.1:6443\r\n"));
	assert_non_null(strstr(req, "\r\nUpgrade: websocket\r\n"));
	assert_non_null(strstr(req, "\r\nConnection: Upgrade\r\n"));
	assert_non_null(strstr(req, "\r\nSec-WebSocket-Key: KEY==\r\n"));
	assert_non_null(strstr(req, "\r\nSec-WebSocket-Version: 13\r\n"));
	assert_non_null(strstr(req, "\r\nSec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"));
	assert_non_null(strstr(req, "\r\nAuthorization: Bearer tok\r\n"));
	assert_true(strlen(req) > 4 && strcmp(req + strlen(req) - 4, "\r\n\r\n") == 0);
	free(req);
	req = kube_exec_upgrade_request("/", "h", NULL, "K");
	assert_null(strstr(req, "Authorization"));
	free(req);
}

static void build_101(char *buf, size_t cap, const char *accept, const char *protocol)
{
	snprintf(buf, cap,
		 "HTTP/1.1 101 Switching Protocols\r\n"
		 "upgrade: WebSocket\r\n"
		 "connection: keep-alive, Upgrade\r\n"
		 "sec-websocket-accept: %s\r\n"
		 "%s%s%s"
		 "\r\n\x82\x02\x01x",
		 accept, protocol ? "Sec-WebSocket-Protocol: " : "", protocol ? protocol : "", protocol ? "\r\n" : "");
}

/* The relay's leg (the broker): the client's own offer, passed on as it came. */
static void test_upgrade_with_a_given_offer_accepts_only_what_was_offered(void **state)
{
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==", *accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
	char buf[512];
	struct kube_upgrade_response r = { .content_length = -1 };
	struct cntr_err err = { 0 };
	char *req = kube_ws_upgrade_request("/x", "h", NULL, "K", "v4.channel.k8s.io");

	assert_non_null(strstr(req, "\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n"));
	free(req);
	req = kube_ws_upgrade_request("/x", "h", NULL, "K", NULL);
	assert_null(strstr(req, "Sec-WebSocket-Protocol"));
	free(req);

	build_101(buf, sizeof(buf), accept, "v5.channel.k8s.io");
	assert_int_equal(kube_upgrade_response_parse(buf, strlen(buf), &r, &err), 1);
	assert_int_equal(kube_ws_upgrade_response_check(&r, key, "v5.channel.k8s.io,v4.channel.k8s.io", &err), 0);
	assert_int_equal(kube_ws_upgrade_response_check(&r, key, "v4.channel.k8s.io", &err), -1);
	assert_non_null(strstr(err.msg, "no supported protocol"));
	assert_int_equal(kube_ws_upgrade_response_check(&r, key, NULL, &err), -1);
	kube_upgrade_response_clear(&r);

	assert_true(kube_ws_protocol_listed(" v5.channel.k8s.io , v4.channel.k8s.io", "v4.channel.k8s.io"));
	assert_false(kube_ws_protocol_listed("v5.channel.k8s.io", "v5.channel"));
	assert_false(kube_ws_protocol_listed("", "v5.channel.k8s.io"));
}

static void test_101_response_is_parsed_when_complete_and_checked(void **state)
{
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
	char buf[512];
	struct kube_upgrade_response r = { .content_length = -1 };
	struct cntr_err err = { 0 };
	int version = 0;
	size_t len;

	build_101(buf, sizeof(buf), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "v5.channel.k8s.io");
	len = strlen(buf);
	/* Incomplete heads ask for more. */
	for (size_t cut = 0; cut < len - 4; cut++)
		assert_int_equal(kube_upgrade_response_parse(buf, cut, &r, &err), 0);
	assert_int_equal(kube_upgrade_response_parse(buf, len, &r, &err), 1);
	assert_int_equal(r.status, 101);
	assert_int_equal(r.head_len, len - 4); /* the frame after the head is not part of it */
	assert_int_equal(kube_upgrade_response_check(&r, key, &version, &err), 0);
	assert_int_equal(version, 5);
	kube_upgrade_response_clear(&r);

	build_101(buf, sizeof(buf), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "v4.channel.k8s.io");
	assert_int_equal(kube_upgrade_response_parse(buf, strlen(buf), &r, &err), 1);
	assert_int_equal(kube_upgrade_response_check(&r, key, &version, &err), 0);
	assert_int_equal(version, 4);
	kube_upgrade_response_clear(&r);
}

static void test_101_with_wrong_accept_or_no_protocol_is_refused(void **state)
{
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
	char buf[512];
	struct kube_upgrade_response r = { .content_length = -1 };
	struct cntr_err err = { 0 };
	int version = 0;

	build_101(buf, sizeof(buf), "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "v5.channel.k8s.io");
	assert_int_equal(kube_upgrade_response_parse(buf, strlen(buf), &r, &err), 1);
	assert_int_equal(kube_upgrade_response_check(&r, key, &version, &err), -1);
	assert_non_null(strstr(err.msg, "Sec-WebSocket-Accept"));
	kube_upgrade_response_clear(&r);

	build_101(buf, sizeof(buf), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", NULL);
	assert_int_equal(kube_upgrade_response_parse(buf, strlen(buf), &r, &err), 1);
	assert_int_equal(kube_upgrade_response_check(&r, key, &version, &err), -1);
	assert_non_null(strstr(err.msg, "no supported protocol"));
	kube_upgrade_response_clear(&r);

	build_101(buf, sizeof(buf), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "v3.channel.k8s.io");
	assert_int_equal(kube_upgrade_response_parse(buf, strlen(buf), &r, &err), 1);
	assert_int_equal(kube_upgrade_response_check(&r, key, &version, &err), -1);
	kube_upgrade_response_clear(&r);
}

static void test_refused_upgrade_keeps_status_and_content_length(void **state)
{
	static const char resp[] = "HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"kind\":\"Status\"}";
	struct kube_upgrade_response r = { .content_length = -1 };
	struct cntr_err err = { 0 };
	int version = 0;
	assert_int_equal(kube_upgrade_response_parse(resp, strlen(resp), &r, &err), 1);
	assert_int_equal(r.status, 403);
	assert_string_equal(r.reason, "Forbidden");
	assert_int_equal(r.content_length, 17);
	assert_string_equal(r.content_type, "application/json");
	assert_int_equal(strlen(resp) - r.head_len, 17);
	assert_int_equal(kube_upgrade_response_check(&r, "k", &version, &err), -1);
	assert_non_null(strstr(err.msg, "HTTP 403"));
	kube_upgrade_response_clear(&r);
}

static void test_non_http_answer_is_an_error(void **state)
{
	static const char junk[] = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
	struct kube_upgrade_response r = { .content_length = -1 };
	struct cntr_err err = { 0 };
	assert_int_equal(kube_upgrade_response_parse(junk, strlen(junk), &r, &err), -1);
	assert_non_null(strstr(err.msg, "not HTTP"));
	kube_upgrade_response_clear(&r);
}

static void test_response_head_without_end_is_capped_at_64_kib(void **state)
{
	size_t len = KUBE_UPGRADE_HEAD_MAX + 100;
	char *head = malloc(len);
	struct kube_upgrade_response r = { .content_length = -1 };
	struct cntr_err err = { 0 };
	static const char start[] = "HTTP/1.1 101 Switching Protocols\r\nX-Filler: ";
	assert_non_null(head);
	memcpy(head, start, strlen(start));
	memset(head + strlen(start), 'a', len - strlen(start));
	assert_int_equal(kube_upgrade_response_parse(head, KUBE_UPGRADE_HEAD_MAX, &r, &err), 0);
	assert_int_equal(kube_upgrade_response_parse(head, len, &r, &err), -1);
	assert_string_equal(err.msg, "exec: the server's answer to the upgrade has no end of headers within 64 KiB");
	kube_upgrade_response_clear(&r);
	free(head);
}

static void test_unsupported_protocol_is_named_escaped(void **state)
{
	struct kube_upgrade_response r = { .status = 101, .content_length = -1 };
	struct cntr_err err = { 0 };
	char accept[29];
	int version = 0;
	ws_accept_for_key("k", accept);
	r.upgrade = strdup("websocket");
	r.connection = strdup("Upgrade");
	r.accept = strdup(accept);
	r.protocol = strdup("v9\x1b]0;x\x07");
	assert_int_equal(kube_upgrade_response_check(&r, "k", &version, &err), -1);
	assert_non_null(strstr(err.msg, "(got \"v9\\x1b]0;x\\x07\";"));
	kube_upgrade_response_clear(&r);
}

static void test_error_body_waits_for_content_length_or_close(void **state)
{
	struct kube_upgrade_response r = { .content_length = 10 };
	char *body = NULL;
	size_t len = 0;
	assert_int_equal(kube_upgrade_error_body(&r, "01234", 5, false, &body, &len), 0);
	assert_int_equal(kube_upgrade_error_body(&r, "0123456789xx", 12, false, &body, &len), 1);
	assert_int_equal(len, 10);
	assert_string_equal(body, "0123456789");
	free(body);
	/* the server hung up early: what arrived is the body */
	assert_int_equal(kube_upgrade_error_body(&r, "012", 3, true, &body, &len), 1);
	assert_string_equal(body, "012");
	free(body);
	/* no length at all: only a close ends it */
	r.content_length = -1;
	assert_int_equal(kube_upgrade_error_body(&r, "abc", 3, false, &body, &len), 0);
	assert_int_equal(kube_upgrade_error_body(&r, "abc", 3, true, &body, &len), 1);
	free(body);
}

static void test_error_body_decodes_chunks_split_anywhere(void **state)
{
	static const char wire[] = "5\r\n{\"kin\r\n0c\r\nd\":\"Status\"}\r\n0\r\n\r\n";
	struct kube_upgrade_response r = { .content_length = -1, .transfer_encoding = "chunked" };
	char *body = NULL;
	size_t len = 0, total = strlen(wire);
	for (size_t cut = 0; cut < total - 3; cut++) /* before the last chunk's line is complete */
		assert_int_equal(kube_upgrade_error_body(&r, wire, cut, false, &body, &len), 0);
	assert_int_equal(kube_upgrade_error_body(&r, wire, total, false, &body, &len), 1);
	assert_string_equal(body, "{\"kind\":\"Status\"}");
	assert_int_equal(len, 17);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_path_repeats_command_and_escapes_values),
		cmocka_unit_test(test_exec_path_with_tty_merges_stderr_and_omits_empty_container),
		cmocka_unit_test(test_upgrade_request_offers_v5_then_v4_with_auth),
		cmocka_unit_test(test_upgrade_with_a_given_offer_accepts_only_what_was_offered),
		cmocka_unit_test(test_101_response_is_parsed_when_complete_and_checked),
		cmocka_unit_test(test_101_with_wrong_accept_or_no_protocol_is_refused),
		cmocka_unit_test(test_refused_upgrade_keeps_status_and_content_length),
		cmocka_unit_test(test_non_http_answer_is_an_error),
		cmocka_unit_test(test_response_head_without_end_is_capped_at_64_kib),
		cmocka_unit_test(test_unsupported_protocol_is_named_escaped),
		cmocka_unit_test(test_error_body_waits_for_content_length_or_close),
		cmocka_unit_test(test_error_body_decodes_chunks_split_anywhere),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
