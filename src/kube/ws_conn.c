#include "kube/ws_conn.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/clock.h"
#include "kube/exec_upgrade.h"
#include "kube/status.h"

#define WS_CONN_READ_CHUNK 32768
/* The body of a refused upgrade is only used for its message. */
#define WS_CONN_REFUSED_BODY_MAX (64u << 10)

static time_t monotonic_seconds(void)
{
	return (time_t)(kube_now_ms() / 1000);
}

void kube_ws_conn_init(struct kube_ws_conn *c, int interrupt_fd)
{
	memset(c, 0, sizeof(*c));
	c->sock = CURL_SOCKET_BAD;
	c->interrupt_fd = interrupt_fd;
	ws_parser_init(&c->parser);
}

void kube_ws_conn_free(struct kube_ws_conn *c)
{
	kube_http_close(&c->http);
	free(c->protocol);
	c->protocol = NULL;
	bytebuf_free(&c->in);
	bytebuf_free(&c->out);
	ws_parser_free(&c->parser);
}

int kube_ws_conn_wait(struct kube_ws_conn *c, short events, int timeout_ms)
{
	struct pollfd fds[2] = { { .fd = c->sock, .events = events },
				 { .fd = c->interrupt_fd, .events = POLLIN } };
	int n = poll(fds, c->interrupt_fd >= 0 ? 2 : 1, timeout_ms);
	if (n > 0 && c->interrupt_fd >= 0 && (fds[1].revents & POLLIN))
		return 2;
	return n;
}

void kube_ws_conn_queue(struct kube_ws_conn *c, enum ws_opcode op, const void *data, size_t len)
{
	ws_frame_append(&c->out, op, data, len, NULL);
}

void kube_ws_conn_queue_close(struct kube_ws_conn *c, uint16_t code)
{
	ws_close_frame_append(&c->out, code, NULL);
}

int kube_ws_conn_flush(struct kube_ws_conn *c, struct cntr_err *err)
{
	if (c->out.len)
		c->last_sent = monotonic_seconds();
	while (c->out.len) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(c->http.curl, c->out.data, c->out.len, &sent);
		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: sending to the API server: %s",
					 curl_easy_strerror(rc));
		bytebuf_consume(&c->out, sent);
	}
	return 0;
}

int kube_ws_conn_receive(struct kube_ws_conn *c, struct cntr_err *err)
{
	char buf[WS_CONN_READ_CHUNK];

	/* OpenSSL may hold decrypted bytes that poll() will not report again: read until libcurl
	 * says CURLE_AGAIN. */
	while (c->in.len < KUBE_WS_RECEIVE_MAX) {
		size_t n = 0;
		CURLcode rc = curl_easy_recv(c->http.curl, buf, sizeof(buf), &n);
		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK && c->protocol_agreed) {
			/* Reset or cut mid-session: reported as the session's end without a status. */
			c->lost = curl_easy_strerror(rc);
			c->peer_closed = true;
			return 0;
		}
		if (rc != CURLE_OK)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: receiving from the API server: %s",
					 curl_easy_strerror(rc));
		if (n == 0) {
			c->peer_closed = true;
			return 0;
		}
		bytebuf_append(&c->in, buf, n);
	}
	return 1;
}

int kube_ws_conn_flush_all(struct kube_ws_conn *c, struct cntr_err *err)
{
	while (c->out.len) {
		if (kube_ws_conn_flush(c, err) < 0)
			return -1;
		if (c->out.len && kube_ws_conn_wait(c, POLLOUT, KUBE_WS_HANDSHAKE_TIMEOUT_MS) != 1)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the API server does not accept data");
	}
	return 0;
}

int kube_ws_conn_next(struct kube_ws_conn *c, struct ws_message *msg, struct cntr_err *err)
{
	int r = ws_parser_next(&c->parser, &c->in, msg, err);

	if (r == 1 && msg->opcode == WS_OP_CLOSE) {
		c->peer_closed = true;
		c->close_code = msg->close_code;
	}
	if (r < 0) {
		ws_close_frame_append(&c->out, WS_CLOSE_PROTOCOL_ERROR, NULL);
		kube_ws_conn_flush(c, &(struct cntr_err){ 0 });
	}
	return r;
}

/* ---------------------------------------------------------------- the upgrade */

static int connect_server(struct kube_ws_conn *c, const struct kube_config *cfg, const char *path,
			  struct cntr_err *err)
{
	CURLcode rc;

	if (kube_http_open(&c->http, cfg, path, NULL, err) < 0)
		return -1;
	curl_easy_setopt(c->http.curl, CURLOPT_CONNECT_ONLY, 1L);
	/* The session owns a connection of its own, out of the shared cache of REST connections:
	 * it becomes a WebSocket, never to be reused, and libcurl 7.88 cannot find the socket of a
	 * CONNECT_ONLY connection kept in a shared cache (CURLINFO_ACTIVESOCKET, curl_easy_send and
	 * curl_easy_recv all fail). */
	curl_easy_setopt(c->http.curl, CURLOPT_SHARE, NULL);
	/* A real API server picks h2 when offered; WebSocket upgrades need HTTP/1.1. */
	curl_easy_setopt(c->http.curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (cfg->proxy_url)
		curl_easy_setopt(c->http.curl, CURLOPT_HTTPPROXYTUNNEL, 1L);
	rc = curl_easy_perform(c->http.curl);
	if (rc != CURLE_OK)
		return kube_http_fail(&c->http, "exec: connecting to", rc, err);
	if (curl_easy_getinfo(c->http.curl, CURLINFO_ACTIVESOCKET, &c->sock) != CURLE_OK ||
	    c->sock == CURL_SOCKET_BAD)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: libcurl gave no socket for %s",
				 c->http.display_url);
	return 0;
}

/* Host header and request target from the server URL (which may carry a path prefix, as
 * behind Rancher-style proxies). */
static int request_target(const struct kube_config *cfg, const char *path, char **host, char **target,
			  struct cntr_err *err)
{
	CURLU *u = curl_url();
	char *h = NULL, *port = NULL, *prefix = NULL;
	int r = 0;

	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, cfg->server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
		r = cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: server URL %s is not valid", cfg->server);
	} else {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		curl_url_get(u, CURLUPART_PATH, &prefix, 0);
		*host = port ? xasprintf("%s:%s", h, port) : xstrdup(h);
		*target = xasprintf("%s%s", prefix && strcmp(prefix, "/") ? prefix : "", path);
	}
	curl_free(h);
	curl_free(port);
	curl_free(prefix);
	curl_url_cleanup(u);
	return r;
}

/* A refused upgrade (404, 403, 401...): read its body and report the Status message. */
static int fail_refused_upgrade(struct kube_ws_conn *c, const struct kube_upgrade_response *resp,
				struct cntr_err *err)
{
	_cleanup_free_ char *msg = NULL, *body = NULL;
	size_t len = 0;
	time_t deadline = monotonic_seconds() + KUBE_WS_HANDSHAKE_TIMEOUT_MS / 1000;

	c->refused_status = resp->status;
	bytebuf_consume(&c->in, resp->head_len);
	while (!kube_upgrade_error_body(resp, (const char *)c->in.data, c->in.len, c->peer_closed, &body, &len)) {
		/* Bounded in size and time: a server that neither finishes nor closes gets the
		 * benefit of the doubt for a while, then we report what we have. */
		int w = c->in.len < WS_CONN_REFUSED_BODY_MAX && monotonic_seconds() < deadline
				? kube_ws_conn_wait(c, POLLIN, 5000)
				: 0;
		if (w != 1 || kube_ws_conn_receive(c, err) < 0)
			c->peer_closed = true;
	}
	msg = kube_status_message(resp->status, body, len);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s%s", c->refusal_prefix ? c->refusal_prefix : "exec: ", msg);
}

static int upgrade(struct kube_ws_conn *c, const struct kube_config *cfg, const char *path,
		   const char *protocols, struct cntr_err *err)
{
	_cleanup_free_ char *host = NULL, *target = NULL, *request = NULL;
	struct kube_upgrade_response resp = { .content_length = -1 };
	char key[25];
	int r;

	if (ws_handshake_key(key, err) < 0 || request_target(cfg, path, &host, &target, err) < 0)
		return -1;
	request = kube_ws_upgrade_request(target, host, cfg->token, key, protocols);
	bytebuf_append(&c->out, request, strlen(request));
	if (kube_ws_conn_flush_all(c, err) < 0)
		return -1;
	for (;;) {
		r = kube_upgrade_response_parse((const char *)c->in.data, c->in.len, &resp, err);
		if (r != 0)
			break;
		if (c->peer_closed)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: %s closed the connection during the upgrade",
					 c->http.display_url);
		r = kube_ws_conn_wait(c, POLLIN, KUBE_WS_HANDSHAKE_TIMEOUT_MS);
		if (r == 2 || kube_http_interrupted())
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: interrupted during the upgrade");
		if (r <= 0)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: no answer from %s to the upgrade",
					 c->http.display_url);
		if (kube_ws_conn_receive(c, err) < 0)
			return -1;
	}
	if (r < 0)
		return -1;
	if (resp.status != 101) {
		r = fail_refused_upgrade(c, &resp, err);
	} else if (kube_ws_upgrade_response_check(&resp, key, protocols, err) < 0) {
		r = -1;
	} else {
		bytebuf_consume(&c->in, resp.head_len); /* the rest is WebSocket already */
		c->protocol = resp.protocol ? xstrdup(resp.protocol) : NULL;
		c->protocol_agreed = true;
	}
	kube_upgrade_response_clear(&resp);
	return r < 0 ? -1 : 0;
}

int kube_ws_conn_open(struct kube_ws_conn *c, const struct kube_config *cfg, const char *path,
		      const char *protocols, struct cntr_err *err)
{
	if (connect_server(c, cfg, path, err) < 0)
		return -1;
	return upgrade(c, cfg, path, protocols, err);
}
