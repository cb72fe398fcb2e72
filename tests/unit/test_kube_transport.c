/* REST, watch and exec through real libcurl connections to a loopback peer in a thread that
 * plays canned HTTP answers: what is sent (method, headers, body, frames) and how each answer is
 * turned into results and errors. TLS and the full API are covered by tests/cluster. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "kube/exec_stream.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "kube/rest.h"
#include "kube/watch.h"
#include "kube/websocket.h"

/* ---------------------------------------------------------------- the loopback peer */

struct peer {
	int listen_fd;
	int port;
	pthread_t thread;
	void (*script)(struct peer *p, int fd);
	const char *const *chunks; /* canned answer, written chunk by chunk */
	char request[65536];       /* what the client sent (head and body) */
	size_t request_len;
	struct bytebuf client_frames; /* exec: payloads of the client's data frames, as "[ch]data|" */
	int pongs;
	int closes;
	int unmasked; /* client frames without a mask: must stay 0 */
	struct bytebuf wire_in; /* exec: client bytes received, not yet decoded */
};

static void read_request(struct peer *p, int fd)
{
	char *end = NULL;
	while (!end && p->request_len < sizeof(p->request) - 1) {
		ssize_t n = recv(fd, p->request + p->request_len, sizeof(p->request) - 1 - p->request_len, 0);
		if (n <= 0)
			return;
		p->request_len += (size_t)n;
		p->request[p->request_len] = '\0';
		end = strstr(p->request, "\r\n\r\n");
	}
	char *cl = strcasestr(p->request, "Content-Length:");
	if (cl && end) {
		size_t want = (size_t)(end + 4 - p->request) + (size_t)atol(cl + 15);
		while (p->request_len < want) {
			ssize_t n = recv(fd, p->request + p->request_len, want - p->request_len, 0);
			if (n <= 0)
				return;
			p->request_len += (size_t)n;
		}
		p->request[p->request_len] = '\0';
	}
}

static void write_chunks(struct peer *p, int fd)
{
	/* No cmocka asserts in this thread: a client that stopped early makes send() fail. */
	for (const char *const *c = p->chunks; c && *c; c++) {
		if (send(fd, *c, strlen(*c), MSG_NOSIGNAL) < 0)
			return;
		usleep(2000); /* separate TCP segments: the client must reassemble */
	}
}

/* Answer, then keep the connection until the client hangs up (watch timeouts, interrupts). */
static void script_answer(struct peer *p, int fd)
{
	char buf[256];
	read_request(p, fd);
	write_chunks(p, fd);
	shutdown(fd, SHUT_WR);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

static void script_answer_and_hold(struct peer *p, int fd)
{
	char buf[256];
	read_request(p, fd);
	write_chunks(p, fd);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	int fd = accept(p->listen_fd, NULL, NULL);
	if (fd >= 0) {
		p->script(p, fd);
		close(fd);
	}
	return NULL;
}

static void peer_start(struct peer *p, void (*script)(struct peer *, int), const char *const *chunks)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	memset(p, 0, sizeof(*p));
	p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->listen_fd >= 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(p->listen_fd, 1), 0);
	assert_int_equal(getsockname(p->listen_fd, (struct sockaddr *)&addr, &len), 0);
	p->port = ntohs(addr.sin_port);
	p->script = script;
	p->chunks = chunks;
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void peer_join(struct peer *p)
{
	/* Wakes an accept() still waiting when the client never connected (Linux). */
	shutdown(p->listen_fd, SHUT_RDWR);
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
	bytebuf_free(&p->wire_in);
}

static struct kube_config *config_for(const struct peer *p, const char *token)
{
	struct kube_config *cfg = calloc(1, sizeof(*cfg));
	char server[64];
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", p->port);
	cfg->server = strdup(server);
	cfg->source = strdup("test");
	cfg->user_name = strdup("tester");
	cfg->namespace = strdup("default");
	cfg->token = token ? strdup(token) : NULL;
	return cfg;
}

#define JSON_HEAD(code) "HTTP/1.1 " code "\r\nContent-Type: application/json\r\nConnection: close\r\n"

/* ---------------------------------------------------------------- http setup */

static void test_http_open_sets_url_auth_and_tls_server_name_rewrite(void **state)
{
	struct kube_config cfg = { .server = "https://10.0.0.1:6443", .token = "tok", .source = "t" };
	struct kube_http h;
	struct cntr_err err = { 0 };
	const char *const extra[] = { "X-Test: 1", NULL };
	bool auth = false, accept = false, x = false;

	assert_int_equal(kube_http_open(&h, &cfg, "/api/v1/pods?watch=true", extra, &err), 0);
	assert_string_equal(h.url, "https://10.0.0.1:6443/api/v1/pods?watch=true");
	assert_string_equal(h.display_url, "https://10.0.0.1:6443/api/v1/pods");
	assert_null(h.connect_to);
	for (struct curl_slist *l = h.headers; l; l = l->next) {
		auth |= strcmp(l->data, "Authorization: Bearer tok") == 0;
		accept |= strcmp(l->data, "Accept: application/json") == 0;
		x |= strcmp(l->data, "X-Test: 1") == 0;
	}
	assert_true(auth && accept && x);
	kube_http_close(&h);

	/* tls-server-name: request that name (SNI, verification), connect to the real address */
	cfg.tls_server_name = "api.internal";
	cfg.token = NULL;
	assert_int_equal(kube_http_open(&h, &cfg, "/version", NULL, &err), 0);
	assert_string_equal(h.url, "https://api.internal:6443/version");
	assert_string_equal(h.display_url, "https://10.0.0.1:6443/version");
	assert_non_null(h.connect_to);
	assert_string_equal(h.connect_to->data, "api.internal:6443:10.0.0.1:6443");
	auth = false;
	bool host = false;
	for (struct curl_slist *l = h.headers; l; l = l->next) {
		auth |= strncmp(l->data, "Authorization:", 14) == 0;
		host |= strcmp(l->data, "Host: 10.0.0.1:6443") == 0;
	}
	assert_false(auth);
	assert_true(host);
	kube_http_close(&h);

	cfg.server = "https://kube.example.com";
	assert_int_equal(kube_http_open(&h, &cfg, "/version", NULL, &err), 0);
	assert_string_equal(h.connect_to->data, "api.internal:443:kube.example.com:443");
	kube_http_close(&h);
}

static void test_url_escape_keeps_only_unreserved(void **state)
{
	char *s = kube_url_escape("app.kubernetes.io/managed-by=lambda-cntr,x~_ y");
	assert_string_equal(s, "app.kubernetes.io%2Fmanaged-by%3Dlambda-cntr%2Cx~_%20y");
	free(s);
}

/* ---------------------------------------------------------------- REST */

static void test_get_parses_json_and_sends_bearer_token(void **state)
{
	static const char *const answer[] = { JSON_HEAD("200 OK") "Content-Length: 38\r\n\r\n",
					      "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"w\"}}", NULL };
	struct peer p;
	struct kube_response r;
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	peer_start(&p, script_answer, answer);
	cfg = config_for(&p, "sekret");
	assert_int_equal(kube_get(cfg, "/api/v1/namespaces/default/pods/w", &r, &err), 0);
	assert_int_equal(r.http_status, 200);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.body, "metadata"), "name")), "w");
	kube_response_clear(&r);
	peer_join(&p);
	assert_non_null(strstr(p.request, "GET /api/v1/namespaces/default/pods/w HTTP/1.1\r\n"));
	assert_non_null(strstr(p.request, "\r\nAuthorization: Bearer sekret\r\n"));
	kube_config_free(cfg);
}

static void test_post_sends_json_body_and_status_error_keeps_code(void **state)
{
	static const char *const answer[] = {
		JSON_HEAD("403 Forbidden") "\r\n",
		"{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"pods is forbidden: User \\\"bob\\\" cannot create resource \\\"pods\\\"\","
		"\"reason\":\"Forbidden\",\"code\":403}",
		NULL
	};
	struct peer p;
	struct kube_response r;
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	json_t *pod = json_pack("{s:{s:s}}", "metadata", "name", "agent");
	peer_start(&p, script_answer, answer);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_post(cfg, "/api/v1/namespaces/default/pods", pod, &r, &err), -1);
	assert_int_equal(r.http_status, 403);
	assert_int_equal(err.code, CNTR_EXIT_FAILURE);
	assert_string_equal(err.msg, "pods is forbidden: User \"bob\" cannot create resource \"pods\"");
	assert_string_equal(json_string_value(json_object_get(r.body, "reason")), "Forbidden");
	kube_response_clear(&r);
	peer_join(&p);
	assert_non_null(strstr(p.request, "POST /api/v1/namespaces/default/pods HTTP/1.1\r\n"));
	assert_non_null(strstr(p.request, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(p.request, "\r\n\r\n{\"metadata\":{\"name\":\"agent\"}}"));
	assert_null(strstr(p.request, "Authorization"));
	json_decref(pod);
	kube_config_free(cfg);
}

static void test_delete_with_options_and_non_status_error(void **state)
{
	static const char *const answer[] = { "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n<html>upstream down</html>\n", NULL };
	struct peer p;
	struct kube_response r;
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	json_t *opts = json_pack("{s:i}", "gracePeriodSeconds", 1);
	peer_start(&p, script_answer, answer);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_delete(cfg, "/api/v1/namespaces/default/pods/a?x=1", opts, &r, &err), -1);
	assert_int_equal(r.http_status, 502);
	assert_null(r.body);
	assert_non_null(strstr(err.msg, "DELETE http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, "/api/v1/namespaces/default/pods/a: HTTP 502: <html>upstream down</html>"));
	kube_response_clear(&r);
	peer_join(&p);
	assert_non_null(strstr(p.request, "DELETE /api/v1/namespaces/default/pods/a?x=1 HTTP/1.1\r\n"));
	assert_non_null(strstr(p.request, "{\"gracePeriodSeconds\":1}"));
	json_decref(opts);
	kube_config_free(cfg);
}

static void test_patch_is_sent_as_a_merge_patch(void **state)
{
	static const char *const answer[] = { JSON_HEAD("200 OK") "Content-Length: 2\r\n\r\n{}", NULL };
	struct peer p;
	struct kube_response r;
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "labels", "in-use", "2");
	peer_start(&p, script_answer, answer);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_request(cfg, "PATCH", "/api/v1/namespaces/default/pods/a", patch, &r, &err), 0);
	kube_response_clear(&r);
	peer_join(&p);
	assert_non_null(strstr(p.request, "PATCH /api/v1/namespaces/default/pods/a HTTP/1.1\r\n"));
	assert_non_null(strstr(p.request, "\r\nContent-Type: application/merge-patch+json\r\n"));
	json_decref(patch);
	kube_config_free(cfg);
}

static void test_success_with_invalid_json_is_an_error(void **state)
{
	static const char *const answer[] = { JSON_HEAD("200 OK") "\r\n{\"half\":", NULL };
	struct peer p;
	struct kube_response r;
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	peer_start(&p, script_answer, answer);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_get(cfg, "/x", &r, &err), -1);
	assert_non_null(strstr(err.msg, "not JSON"));
	kube_response_clear(&r);
	peer_join(&p);
	kube_config_free(cfg);
}

/* A body that never ends: chunk after chunk of JSON-looking filler until the client hangs up. */
static void script_endless_body(struct peer *p, int fd)
{
	static const char head[] = JSON_HEAD("200 OK") "\r\n[";
	char chunk[65536];
	memset(chunk, ' ', sizeof(chunk));
	read_request(p, fd);
	send(fd, head, strlen(head), MSG_NOSIGNAL);
	for (size_t sent = 0; sent < (64u << 20); sent += sizeof(chunk))
		if (send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL) < 0)
			return;
}

static void test_rest_body_over_16_mib_fails_naming_the_cap(void **state)
{
	struct peer p;
	struct kube_response r;
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	peer_start(&p, script_endless_body, NULL);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_get(cfg, "/api/v1/pods", &r, &err), -1);
	assert_non_null(strstr(err.msg, "GET http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, "/api/v1/pods: the server's answer is larger than 16 MiB (lambda-cntr's limit "
					"for one API response)"));
	assert_null(r.body);
	kube_response_clear(&r);
	peer_join(&p);
	kube_config_free(cfg);
}

static void test_unreachable_server_names_url_and_hint(void **state)
{
	struct peer p;
	struct kube_response r;
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	static const char *const none[] = { NULL };
	peer_start(&p, script_answer, none);
	cfg = config_for(&p, NULL);
	/* connect to it once so the thread ends, then nothing listens on the port any more (a POST:
	 * a GET whose connection closes unanswered would be tried again, on a port no one accepts) */
	kube_request(cfg, "POST", "/", NULL, &r, &err);
	kube_response_clear(&r);
	peer_join(&p);
	assert_int_equal(kube_get(cfg, "/api", &r, &err), -1);
	assert_int_equal(r.http_status, 0);
	assert_non_null(strstr(err.msg, "GET http://127.0.0.1:"));
	assert_non_null(strstr(err.msg, "is the API server running"));
	kube_config_free(cfg);
}

/* ---------------------------------------------------------------- watch */

struct names {
	char seen[256];
	int stop_at;
	int count;
};

static int collect_names(const struct kube_watch_event *ev, void *userdata, struct cntr_err *err)
{
	struct names *n = userdata;
	const char *name = json_string_value(json_object_get(json_object_get(ev->object, "metadata"), "name"));
	strcat(n->seen, name ? name : "?");
	strcat(n->seen, ",");
	return ++n->count == n->stop_at ? 1 : 0;
}

#define CHUNKED_HEAD JSON_HEAD("200 OK") "Transfer-Encoding: chunked\r\n\r\n"
/* events split inside JSON and inside chunk framing */
static const char *const watch_stream[] = {
	CHUNKED_HEAD "1a\r\n{\"type\":\"ADDED\",\"object\":{",
	"\r\n",
	"34\r\n\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"1\"}}}\n{\"ty",
	"\r\n33\r\npe\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"b\"}}}\n\r\n",
	"0\r\n\r\n",
	NULL
};

static void test_watch_delivers_split_events_and_reports_stream_end(void **state)
{
	struct peer p;
	struct names n = { .stop_at = 0 };
	struct cntr_err err = { 0 };
	struct kube_watch_opts opts = { .resource_version = "41", .label_selector = "app=x,tier in (a)",
					.field_selector = "spec.nodeName=n1" };
	struct kube_config *cfg;
	peer_start(&p, script_answer, watch_stream);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_watch(cfg, "/api/v1/namespaces/default/pods", &opts, collect_names, &n, &err),
			 KUBE_WATCH_ENDED);
	assert_string_equal(n.seen, "a,b,");
	peer_join(&p);
	assert_non_null(strstr(p.request, "GET /api/v1/namespaces/default/pods?watch=true&resourceVersion=41"
					  "&labelSelector=app%3Dx%2Ctier%20in%20%28a%29&fieldSelector=spec.nodeName%3Dn1 HTTP/1.1"));
	kube_config_free(cfg);
}

static void test_watch_stops_when_callback_says_so(void **state)
{
	struct peer p;
	struct names n = { .stop_at = 1 };
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	peer_start(&p, script_answer_and_hold, watch_stream);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_watch(cfg, "/p", NULL, collect_names, &n, &err), KUBE_WATCH_STOPPED);
	assert_string_equal(n.seen, "a,");
	peer_join(&p);
	kube_config_free(cfg);
}

static void test_watch_gone_by_event_or_by_http_status(void **state)
{
	static const char *const gone_event[] = {
		CHUNKED_HEAD "5e\r\n{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\",\"message\":\"too old\"}}\n\r\n0\r\n\r\n",
		NULL
	};
	static const char *const gone_http[] = { JSON_HEAD("410 Gone") "\r\n{\"kind\":\"Status\",\"code\":410}", NULL };
	struct peer p;
	struct names n = { 0 };
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	peer_start(&p, script_answer, gone_event);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_watch(cfg, "/p", NULL, collect_names, &n, &err), KUBE_WATCH_GONE);
	peer_join(&p);
	kube_config_free(cfg);
	peer_start(&p, script_answer, gone_http);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_watch(cfg, "/p", NULL, collect_names, &n, &err), KUBE_WATCH_GONE);
	assert_int_equal(n.count, 0);
	peer_join(&p);
	kube_config_free(cfg);
}

static void test_watch_forbidden_is_its_own_result_with_the_status_message(void **state)
{
	static const char *const forbidden[] = {
		JSON_HEAD("403 Forbidden") "\r\n{\"kind\":\"Status\",\"code\":403,\"message\":\"pods is forbidden: cannot watch\"}",
		NULL
	};
	struct peer p;
	struct names n = { 0 };
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	peer_start(&p, script_answer, forbidden);
	cfg = config_for(&p, NULL);
	/* Its own result, so that a caller may fall back to polling; the message is there too. */
	assert_int_equal(kube_watch(cfg, "/p", NULL, collect_names, &n, &err), KUBE_WATCH_FORBIDDEN);
	assert_non_null(strstr(err.msg, "pods is forbidden: cannot watch"));
	peer_join(&p);
	kube_config_free(cfg);
}

static void test_watch_times_out_on_a_silent_stream(void **state)
{
	static const char *const silent[] = { CHUNKED_HEAD, NULL };
	struct peer p;
	struct names n = { 0 };
	struct cntr_err err = { 0 };
	struct kube_watch_opts opts = { .timeout_ms = 300 };
	struct kube_config *cfg;
	peer_start(&p, script_answer_and_hold, silent);
	cfg = config_for(&p, NULL);
	assert_int_equal(kube_watch(cfg, "/p", &opts, collect_names, &n, &err), KUBE_WATCH_TIMEOUT);
	peer_join(&p);
	assert_non_null(strstr(p.request, "timeoutSeconds=1"));
	kube_config_free(cfg);
}

static volatile sig_atomic_t interrupt_now;

static void test_watch_ends_when_the_interrupt_flag_is_set(void **state)
{
	static const char *const silent[] = { CHUNKED_HEAD, NULL };
	struct peer p;
	struct names n = { 0 };
	struct cntr_err err = { 0 };
	struct kube_config *cfg;
	peer_start(&p, script_answer_and_hold, silent);
	cfg = config_for(&p, NULL);
	interrupt_now = 1; /* as a signal handler would have done */
	kube_http_set_interrupt_flag(&interrupt_now);
	assert_int_equal(kube_watch(cfg, "/p", NULL, collect_names, &n, &err), -1);
	assert_true(kube_http_interrupted());
	assert_non_null(strstr(err.msg, "interrupted"));
	kube_http_set_interrupt_flag(NULL);
	interrupt_now = 0;
	peer_join(&p);
	kube_config_free(cfg);
}

/* ---------------------------------------------------------------- exec */

struct exec_plan {
	const char *protocol;   /* chosen by the peer */
	const char *status;     /* channel 3 JSON */
	bool wait_stdin_close;  /* read client frames until stdin is closed before answering */
};

static struct exec_plan plan;

static void send_server_frame(int fd, uint8_t opcode, const void *data, size_t len)
{
	uint8_t h[4] = { 0x80 | opcode };
	size_t hl = 2;
	if (len < 126) {
		h[1] = (uint8_t)len;
	} else {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		hl = 4;
	}
	send(fd, h, hl, MSG_NOSIGNAL);
	send(fd, data, len, MSG_NOSIGNAL);
}

static void send_channel(int fd, uint8_t ch, const char *text)
{
	char buf[1024];
	buf[0] = (char)ch;
	memcpy(buf + 1, text, strlen(text));
	send_server_frame(fd, WS_OP_BINARY, buf, strlen(text) + 1);
}

/* Read client frames (they must be masked) until a close frame or, with stop_on_stdin_close,
 * the v5 close of stream 0. */
static void read_client_frames(struct peer *p, int fd, bool stop_on_stdin_close)
{
	struct bytebuf *in = &p->wire_in; /* kept across calls: frames may follow the one we stop at */
	uint8_t buf[4096];
	for (;;) {
		while (in->len >= 2) {
			size_t len = in->data[1] & 0x7f, hl = 2;
			if (!(in->data[1] & 0x80))
				p->unmasked++;
			if (len == 126) {
				if (in->len < 4)
					break;
				len = (size_t)in->data[2] << 8 | in->data[3];
				hl = 4;
			}
			if (in->len < hl + 4 + len)
				break;
			uint8_t *mask = in->data + hl, *payload = in->data + hl + 4;
			for (size_t i = 0; i < len; i++)
				payload[i] ^= mask[i & 3];
			uint8_t op = in->data[0] & 0x0f;
			if (op == WS_OP_PONG)
				p->pongs++;
			if (op == WS_OP_CLOSE) {
				p->closes++;
				bytebuf_consume(in, hl + 4 + len);
				return;
			}
			if (op == WS_OP_BINARY) {
				char tag[8];
				snprintf(tag, sizeof(tag), "[%u]", payload[0]);
				bytebuf_append(&p->client_frames, tag, strlen(tag));
				bytebuf_append(&p->client_frames, payload + 1, len - 1);
				bytebuf_append(&p->client_frames, "|", 1);
				if (stop_on_stdin_close && payload[0] == 255) {
					bytebuf_consume(in, hl + 4 + len);
					return;
				}
			}
			bytebuf_consume(in, hl + 4 + len);
		}
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		bytebuf_append(in, buf, (size_t)n);
	}
}

static void script_exec(struct peer *p, int fd)
{
	char head[512], accept[29], key[64] = "";
	const char *k;
	read_request(p, fd);
	k = strcasestr(p->request, "Sec-WebSocket-Key: ");
	if (!k)
		return;
	sscanf(k + strlen("Sec-WebSocket-Key: "), "%63s", key);
	ws_accept_for_key(key, accept);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		 accept, plan.protocol);
	send(fd, head, strlen(head), MSG_NOSIGNAL);
	send_server_frame(fd, WS_OP_PING, "hi", 2);
	send_channel(fd, 3, ""); /* v4 servers open each stream with an empty frame */
	if (plan.wait_stdin_close)
		read_client_frames(p, fd, true);
	send_channel(fd, 1, "out-1 ");
	send_channel(fd, 2, "err-1 ");
	send_channel(fd, 1, "out-2");
	send_channel(fd, 3, plan.status);
	send_server_frame(fd, WS_OP_CLOSE, "\x03\xe8", 2);
	read_client_frames(p, fd, false);
}

static void script_exec_refused(struct peer *p, int fd)
{
	static const char body[] = "{\"kind\":\"Status\",\"code\":404,\"message\":\"pods \\\"ghost\\\" not found\"}";
	char head[256];
	read_request(p, fd);
	snprintf(head, sizeof(head), JSON_HEAD("404 Not Found") "Content-Length: %zu\r\n\r\n", strlen(body));
	send(fd, head, strlen(head), MSG_NOSIGNAL);
	send(fd, body, strlen(body), MSG_NOSIGNAL);
}

static void script_exec_refused_chunked(struct peer *p, int fd)
{
	static const char *const answer[] = {
		"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
		"23\r\n{\"kind\":\"Status\",\"message\":\"pods \\\"",
		"\r\n1c\r\nagent\\\" is forbidden: exec\"}\r\n",
		"0\r\n\r\n",
		NULL
	};
	char buf[64];
	read_request(p, fd);
	p->chunks = answer;
	write_chunks(p, fd);
	/* keep the connection open, as a keep-alive server does: the body ends at the last chunk */
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
}

static char *slurp(int fd)
{
	static char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int run_exec(struct peer *p, const char *input, int *code, struct cntr_err *err, char **out, char **errout)
{
	int in[2], o[2], e[2], r;
	struct kube_exec_opts opts;
	char *argv[] = { "cntr", "attach", "abc", "--", "sh", "-c", "exit 3", NULL };
	struct kube_config *cfg = config_for(p, "tok");
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(o), 0);
	assert_int_equal(pipe(e), 0);
	assert_int_equal(write(in[1], input, strlen(input)), (ssize_t)strlen(input));
	close(in[1]);
	kube_exec_opts_init(&opts);
	opts.in_fd = in[0];
	opts.out_fd = o[1];
	opts.err_fd = e[1];
	r = kube_exec(cfg, "team", "agent-0", "cntr", argv, &opts, code, err);
	close(in[0]);
	close(o[1]);
	close(e[1]);
	*out = strdup(slurp(o[0]));
	*errout = strdup(slurp(e[0]));
	close(o[0]);
	close(e[0]);
	kube_config_free(cfg);
	return r;
}

static void test_exec_v5_relays_channels_closes_stdin_and_returns_exit_code(void **state)
{
	struct peer p;
	struct cntr_err err = { 0 };
	int code = -1;
	char *out, *errout;
	plan = (struct exec_plan){ .protocol = "v5.channel.k8s.io", .wait_stdin_close = true,
				   .status = "{\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}" };
	peer_start(&p, script_exec, NULL);
	assert_int_equal(run_exec(&p, "typed input", &code, &err, &out, &errout), KUBE_EXEC_DONE);
	assert_int_equal(code, 3);
	assert_string_equal(out, "out-1 out-2");
	assert_string_equal(errout, "err-1 ");
	peer_join(&p);
	assert_non_null(strstr(p.request, "GET /api/v1/namespaces/team/pods/agent-0/exec?command=cntr&command=attach&command=abc"
					  "&command=--&command=sh&command=-c&command=exit%203&container=cntr&stdin=true"));
	assert_non_null(strstr(p.request, "\r\nAuthorization: Bearer tok\r\n"));
	assert_non_null(strstr(p.request, "\r\nSec-WebSocket-Protocol: v5.channel.k8s.io, v4.channel.k8s.io\r\n"));
	/* stdin went on channel 0, then EOF as the v5 close of stream 0 */
	assert_memory_equal(p.client_frames.data, "[0]typed input|[255]\0|", strlen("[0]typed input|[255]") + 2);
	assert_int_equal(p.pongs, 1);
	assert_int_equal(p.closes, 1);
	assert_int_equal(p.unmasked, 0);
	bytebuf_free(&p.client_frames);
	free(out);
	free(errout);
}

static void test_exec_v4_success_is_exit_0(void **state)
{
	struct peer p;
	struct cntr_err err = { 0 };
	int code = -1;
	char *out, *errout;
	plan = (struct exec_plan){ .protocol = "v4.channel.k8s.io", .status = "{\"metadata\":{},\"status\":\"Success\"}" };
	peer_start(&p, script_exec, NULL);
	assert_int_equal(run_exec(&p, "", &code, &err, &out, &errout), KUBE_EXEC_DONE);
	assert_int_equal(code, 0);
	assert_string_equal(out, "out-1 out-2");
	peer_join(&p);
	/* v4 has no way to close stdin: no channel-255 frame */
	assert_null(p.client_frames.data ? memmem(p.client_frames.data, p.client_frames.len, "[255]", 5) : NULL);
	bytebuf_free(&p.client_frames);
	free(out);
	free(errout);
}

static void test_exec_refused_upgrade_reports_the_status_message(void **state)
{
	struct peer p;
	struct cntr_err err = { 0 };
	int code = -1;
	char *out, *errout;
	peer_start(&p, script_exec_refused, NULL);
	assert_int_equal(run_exec(&p, "", &code, &err, &out, &errout), -1);
	assert_string_equal(err.msg, "exec: pods \"ghost\" not found");
	assert_int_equal(code, -1);
	peer_join(&p);
	bytebuf_free(&p.client_frames);
	free(out);
	free(errout);
}

static void test_exec_refused_with_a_chunked_body_reports_the_status_message(void **state)
{
	struct peer p;
	struct cntr_err err = { 0 };
	int code = -1;
	char *out, *errout;
	peer_start(&p, script_exec_refused_chunked, NULL);
	assert_int_equal(run_exec(&p, "", &code, &err, &out, &errout), -1);
	assert_string_equal(err.msg, "exec: pods \"agent\" is forbidden: exec");
	peer_join(&p);
	bytebuf_free(&p.client_frames);
	free(out);
	free(errout);
}

static void test_exec_output_over_the_callers_limit_is_an_error(void **state)
{
	/* The agent's small programs are read into memory: their output is bounded. */
	struct peer p;
	struct cntr_err err = { 0 };
	struct kube_exec_opts opts;
	struct kube_config *cfg;
	char *argv[] = { "sh", "-c", "wc -l", NULL };
	int code = -1, out[2];
	plan = (struct exec_plan){ .protocol = "v5.channel.k8s.io", .status = "{\"status\":\"Success\"}" };
	peer_start(&p, script_exec, NULL);
	cfg = config_for(&p, "tok");
	assert_int_equal(pipe(out), 0);
	kube_exec_opts_init(&opts);
	opts.forward_stdin = false;
	opts.out_fd = out[1];
	opts.err_fd = out[1];
	opts.output_max = 8; /* the script sends "out-1 " + "err-1 " + "out-2" */
	assert_int_equal(kube_exec(cfg, "team", "agent-0", "agent", argv, &opts, &code, &err), -1);
	assert_string_equal(err.msg, "exec: the command's output is larger than 8 bytes, the most expected of it");
	close(out[0]);
	close(out[1]);
	peer_join(&p);
	bytebuf_free(&p.client_frames);
	kube_config_free(cfg);
}

static void test_exec_failure_status_is_an_error(void **state)
{
	struct peer p;
	struct cntr_err err = { 0 };
	int code = -1;
	char *out, *errout;
	plan = (struct exec_plan){ .protocol = "v5.channel.k8s.io",
				   .status = "{\"status\":\"Failure\",\"reason\":\"InternalError\",\"message\":\"exec: \\\"cntr\\\": executable file not found in $PATH\"}" };
	peer_start(&p, script_exec, NULL);
	assert_int_equal(run_exec(&p, "", &code, &err, &out, &errout), -1);
	assert_int_equal(err.code, CNTR_EXIT_NOTFOUND);
	assert_non_null(strstr(err.msg, "executable file not found"));
	peer_join(&p);
	bytebuf_free(&p.client_frames);
	free(out);
	free(errout);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_open_sets_url_auth_and_tls_server_name_rewrite),
		cmocka_unit_test(test_url_escape_keeps_only_unreserved),
		cmocka_unit_test(test_get_parses_json_and_sends_bearer_token),
		cmocka_unit_test(test_post_sends_json_body_and_status_error_keeps_code),
		cmocka_unit_test(test_delete_with_options_and_non_status_error),
		cmocka_unit_test(test_patch_is_sent_as_a_merge_patch),
		cmocka_unit_test(test_success_with_invalid_json_is_an_error),
		cmocka_unit_test(test_rest_body_over_16_mib_fails_naming_the_cap),
		cmocka_unit_test(test_unreachable_server_names_url_and_hint),
		cmocka_unit_test(test_watch_delivers_split_events_and_reports_stream_end),
		cmocka_unit_test(test_watch_stops_when_callback_says_so),
		cmocka_unit_test(test_watch_gone_by_event_or_by_http_status),
		cmocka_unit_test(test_watch_forbidden_is_its_own_result_with_the_status_message),
		cmocka_unit_test(test_watch_times_out_on_a_silent_stream),
		cmocka_unit_test(test_watch_ends_when_the_interrupt_flag_is_set),
		cmocka_unit_test(test_exec_v5_relays_channels_closes_stdin_and_returns_exit_code),
		cmocka_unit_test(test_exec_v4_success_is_exit_0),
		cmocka_unit_test(test_exec_refused_upgrade_reports_the_status_message),
		cmocka_unit_test(test_exec_refused_with_a_chunked_body_reports_the_status_message),
		cmocka_unit_test(test_exec_output_over_the_callers_limit_is_an_error),
		cmocka_unit_test(test_exec_failure_status_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
