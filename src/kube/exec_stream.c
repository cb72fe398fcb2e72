/* The pods/exec session: connect with libcurl (CONNECT_ONLY, HTTP/1.1 only so ALPN never picks
 * h2), upgrade to WebSocket ourselves, then relay between local fds and the channels until the
 * server sends the exit status on channel 3. */
#include "kube/exec_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/auth_retry.h"
#include "kube/bytebuf.h"
#include "kube/clock.h"
#include "kube/exec_status.h"
#include "kube/exec_upgrade.h"
#include "kube/http.h"
#include "kube/status.h"
#include "kube/terminal.h"
#include "kube/websocket.h"

/* Stop reading local stdin while this much is still waiting to be sent: backpressure. */
#define EXEC_WRITE_QUEUE_HIGH (1u << 20)
#define EXEC_READ_CHUNK 32768
/* Upper bound for the upgrade handshake and for the error body of a refused upgrade. */
#define EXEC_HANDSHAKE_TIMEOUT_MS 60000
/* What is read from the server is bounded: the receive buffer never needs more than one whole
 * frame (the parser rejects a longer one as soon as its header is in), the exit status is a
 * small Status object, and the body of a refused upgrade is only used for its message. */
#define EXEC_RECEIVE_MAX (WS_MAX_MESSAGE_DEFAULT + WS_FRAME_HEADER_MAX)
#define EXEC_STATUS_MAX (64u << 10)
#define EXEC_REFUSED_BODY_MAX (64u << 10)
/* Load balancers in front of API servers drop idle connections (often after 60 s): an idle
 * interactive shell keeps its connection with a ping this often, as kubectl does. */
#define EXEC_KEEPALIVE_S 20

void kube_exec_opts_init(struct kube_exec_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->forward_stdin = true;
	opts->in_fd = STDIN_FILENO;
	opts->out_fd = STDOUT_FILENO;
	opts->err_fd = STDERR_FILENO;
	opts->interrupt_fd = -1;
}

/* ---------------------------------------------------------------- request path */

/* The query exec and attach share: container and which streams the session carries. */
static void append_stream_query(char **path, const char *container, const struct kube_exec_opts *opts)
{
	if (container && *container)
		kube_path_append_query(path, "container", container);
	kube_path_append_query(path, "stdin", opts->forward_stdin ? "true" : "false");
	kube_path_append_query(path, "stdout", "true");
	/* With a TTY the remote side has one output stream, as kubectl asks. */
	kube_path_append_query(path, "stderr", opts->tty ? "false" : "true");
	kube_path_append_query(path, "tty", opts->tty ? "true" : "false");
}

void kube_exec_query_append(char **path, const char *container, char *const argv[],
			    const struct kube_exec_opts *opts)
{
	for (char *const *a = argv; a && *a; a++)
		kube_path_append_query(path, "command", *a);
	append_stream_query(path, container, opts);
}

char *kube_exec_path(const char *ns, const char *pod, const char *container, char *const argv[],
		     const struct kube_exec_opts *opts)
{
	char *path = kube_pod_path(ns, pod, "exec");

	kube_exec_query_append(&path, container, argv, opts);
	return path;
}

/* ---------------------------------------------------------------- the session */

struct exec_session {
	struct kube_http http;
	const struct kube_exec_opts *opts;
	curl_socket_t sock;
	int version;               /* 5 or 4 */
	struct bytebuf in;         /* received, not yet parsed */
	struct bytebuf out;        /* framed, not yet sent */
	struct ws_parser parser;
	struct bytebuf status;     /* channel 3 payload */
	bool status_done;
	bool stdin_open;
	bool peer_closed;          /* EOF or close frame */
	const char *lost;          /* why the connection broke after the upgrade (static text) */
	uint16_t close_code;
	int refused_status;        /* HTTP status of a refused upgrade, else 0 */
	size_t output_len;         /* bytes of stdout and stderr delivered so far */
	time_t last_sent;          /* CLOCK_MONOTONIC seconds of the last frame sent */
	struct kube_terminal terminal;
	struct kube_resize_watch resize;
};

static void exec_session_free(struct exec_session *s)
{
	kube_resize_watch_stop(&s->resize);
	kube_terminal_restore(&s->terminal);
	kube_http_close(&s->http);
	bytebuf_free(&s->in);
	bytebuf_free(&s->out);
	bytebuf_free(&s->status);
	ws_parser_free(&s->parser);
}

static int wait_socket(struct exec_session *s, short events, int timeout_ms)
{
	struct pollfd fds[2] = { { .fd = s->sock, .events = events },
				 { .fd = s->opts->interrupt_fd, .events = POLLIN } };
	int n = poll(fds, s->opts->interrupt_fd >= 0 ? 2 : 1, timeout_ms);
	if (n > 0 && s->opts->interrupt_fd >= 0 && (fds[1].revents & POLLIN))
		return 2;
	return n;
}

static time_t monotonic_seconds(void)
{
	return (time_t)(kube_now_ms() / 1000);
}

/* Send what the write queue holds, as far as the socket takes it now. */
static int flush_out(struct exec_session *s, struct cntr_err *err)
{
	if (s->out.len)
		s->last_sent = monotonic_seconds();
	while (s->out.len) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(s->http.curl, s->out.data, s->out.len, &sent);
		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: sending to the API server: %s",
					 curl_easy_strerror(rc));
		bytebuf_consume(&s->out, sent);
	}
	return 0;
}

/* Read everything available now: OpenSSL may hold decrypted bytes that poll() will not
 * report again, so read until libcurl says CURLE_AGAIN. Returns 1 when it stopped early
 * because EXEC_RECEIVE_MAX bytes are waiting to be parsed (the caller parses them and calls
 * again), 0 otherwise. */
static int drain_socket(struct exec_session *s, struct cntr_err *err)
{
	char buf[EXEC_READ_CHUNK];

	while (s->in.len < EXEC_RECEIVE_MAX) {
		size_t n = 0;
		CURLcode rc = curl_easy_recv(s->http.curl, buf, sizeof(buf), &n);
		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK && s->version) {
			/* Reset or cut mid-session: reported as the session's end without a status. */
			s->lost = curl_easy_strerror(rc);
			s->peer_closed = true;
			return 0;
		}
		if (rc != CURLE_OK)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: receiving from the API server: %s",
					 curl_easy_strerror(rc));
		if (n == 0) {
			s->peer_closed = true;
			return 0;
		}
		bytebuf_append(&s->in, buf, n);
	}
	return 1;
}

static int send_all_blocking(struct exec_session *s, struct cntr_err *err)
{
	while (s->out.len) {
		if (flush_out(s, err) < 0)
			return -1;
		if (s->out.len && wait_socket(s, POLLOUT, EXEC_HANDSHAKE_TIMEOUT_MS) != 1)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the API server does not accept data");
	}
	return 0;
}

/* ---- the upgrade */

static int connect_server(struct exec_session *s, const struct kube_config *cfg, const char *path,
			  struct cntr_err *err)
{
	CURLcode rc;

	if (kube_http_open(&s->http, cfg, path, NULL, err) < 0)
		return -1;
	curl_easy_setopt(s->http.curl, CURLOPT_CONNECT_ONLY, 1L);
	/* The session owns a connection of its own, out of the shared cache of REST connections:
	 * it becomes a WebSocket, never to be reused, and libcurl 7.88 cannot find the socket of a
	 * CONNECT_ONLY connection kept in a shared cache (CURLINFO_ACTIVESOCKET, curl_easy_send and
	 * curl_easy_recv all fail). */
	curl_easy_setopt(s->http.curl, CURLOPT_SHARE, NULL);
	/* A real API server picks h2 when offered; WebSocket upgrades need HTTP/1.1. */
	curl_easy_setopt(s->http.curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (cfg->proxy_url)
		curl_easy_setopt(s->http.curl, CURLOPT_HTTPPROXYTUNNEL, 1L);
	rc = curl_easy_perform(s->http.curl);
	if (rc != CURLE_OK)
		return kube_http_fail(&s->http, "exec: connecting to", rc, err);
	if (curl_easy_getinfo(s->http.curl, CURLINFO_ACTIVESOCKET, &s->sock) != CURLE_OK ||
	    s->sock == CURL_SOCKET_BAD)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: libcurl gave no socket for %s",
				 s->http.display_url);
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
static int fail_refused_upgrade(struct exec_session *s, const struct kube_upgrade_response *resp,
				struct cntr_err *err)
{
	_cleanup_free_ char *msg = NULL, *body = NULL;
	size_t len = 0;

	time_t deadline = monotonic_seconds() + EXEC_HANDSHAKE_TIMEOUT_MS / 1000;

	s->refused_status = resp->status;
	bytebuf_consume(&s->in, resp->head_len);
	while (!kube_upgrade_error_body(resp, (const char *)s->in.data, s->in.len, s->peer_closed, &body, &len)) {
		/* Bounded in size and time: a server that neither finishes nor closes gets the
		 * benefit of the doubt for a while, then we report what we have. */
		int w = s->in.len < EXEC_REFUSED_BODY_MAX && monotonic_seconds() < deadline ? wait_socket(s, POLLIN, 5000) : 0;
		if (w != 1 || drain_socket(s, err) < 0)
			s->peer_closed = true;
	}
	msg = kube_status_message(resp->status, body, len);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s%s",
			 s->opts->refusal_prefix ? s->opts->refusal_prefix : "exec: ", msg);
}

static int upgrade(struct exec_session *s, const struct kube_config *cfg, const char *path,
		   struct cntr_err *err)
{
	_cleanup_free_ char *host = NULL, *target = NULL, *request = NULL;
	struct kube_upgrade_response resp = { .content_length = -1 };
	char key[25];
	int r;

	if (ws_handshake_key(key, err) < 0 || request_target(cfg, path, &host, &target, err) < 0)
		return -1;
	request = kube_exec_upgrade_request(target, host, cfg->token, key);
	bytebuf_append(&s->out, request, strlen(request));
	if (send_all_blocking(s, err) < 0)
		return -1;
	for (;;) {
		r = kube_upgrade_response_parse((const char *)s->in.data, s->in.len, &resp, err);
		if (r != 0)
			break;
		if (s->peer_closed)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: %s closed the connection during the upgrade",
					 s->http.display_url);
		r = wait_socket(s, POLLIN, EXEC_HANDSHAKE_TIMEOUT_MS);
		if (r == 2 || kube_http_interrupted())
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: interrupted during the upgrade");
		if (r <= 0)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: no answer from %s to the upgrade",
					 s->http.display_url);
		if (drain_socket(s, err) < 0)
			return -1;
	}
	if (r < 0)
		return -1;
	if (resp.status != 101)
		r = fail_refused_upgrade(s, &resp, err);
	else if (kube_upgrade_response_check(&resp, key, &s->version, err) < 0)
		r = -1;
	else
		bytebuf_consume(&s->in, resp.head_len); /* the rest is WebSocket already */
	kube_upgrade_response_clear(&resp);
	return r < 0 ? -1 : 0;
}

/* ---- channel messages */

static void queue_channel(struct exec_session *s, uint8_t channel, const void *data, size_t len)
{
	_cleanup_free_ uint8_t *frame = malloc(len + 1);
	if (!frame)
		abort();
	frame[0] = channel;
	if (len)
		memcpy(frame + 1, data, len);
	ws_frame_append(&s->out, WS_OP_BINARY, frame, len + 1, NULL);
}

static void queue_resize(struct exec_session *s)
{
	unsigned width, height;
	_cleanup_free_ char *json = NULL;

	if (kube_terminal_size(s->opts->in_fd, &width, &height) < 0 &&
	    kube_terminal_size(s->opts->out_fd, &width, &height) < 0)
		return;
	json = xasprintf("{\"Width\":%u,\"Height\":%u}", width, height);
	queue_channel(s, KUBE_EXEC_RESIZE, json, strlen(json));
}

static int deliver(int fd, const uint8_t *data, size_t len, const char *what, struct cntr_err *err)
{
	if (write_all(fd, data, len) < 0)
		return cntr_fail_errno(err, "exec: writing the command's %s", what);
	return 0;
}

static int count_output(struct exec_session *s, size_t len, struct cntr_err *err)
{
	size_t max = s->opts->output_max;

	if (max && len > max - s->output_len)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the command's output is larger than %zu bytes, "
				 "the most expected of it", max);
	s->output_len += len;
	return 0;
}

static int handle_data(struct exec_session *s, const struct ws_message *msg, struct cntr_err *err)
{
	size_t len = msg->len ? msg->len - 1 : 0;

	if (msg->len == 0)
		return 0;
	switch (msg->data[0]) {
	case KUBE_EXEC_STDOUT:
		if (count_output(s, len, err) < 0)
			return -1;
		return deliver(s->opts->out_fd, msg->data + 1, len, "output", err);
	case KUBE_EXEC_STDERR:
		if (count_output(s, len, err) < 0)
			return -1;
		return deliver(s->opts->err_fd, msg->data + 1, len, "error output", err);
	case KUBE_EXEC_ERROR:
		if (len > EXEC_STATUS_MAX - s->status.len)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the exit status from the server is "
					 "larger than %u KiB", EXEC_STATUS_MAX >> 10);
		bytebuf_append(&s->status, msg->data + 1, len);
		/* The status is the last thing the server sends; an empty first frame on it (v4
		 * servers open each stream with one) is not the status yet. */
		if (msg->len > 1)
			s->status_done = true;
		return 0;
	default:
		log_debug("exec: ignoring %zu bytes on channel %u", msg->len - 1, msg->data[0]);
		return 0;
	}
}

static int handle_messages(struct exec_session *s, struct cntr_err *err)
{
	struct ws_message msg;
	int r;

	while ((r = ws_parser_next(&s->parser, &s->in, &msg, err)) == 1) {
		switch (msg.opcode) {
		case WS_OP_BINARY:
		case WS_OP_TEXT:
			if (handle_data(s, &msg, err) < 0)
				return -1;
			break;
		case WS_OP_PING:
			ws_frame_append(&s->out, WS_OP_PONG, msg.data, msg.len, NULL);
			break;
		case WS_OP_CLOSE:
			s->peer_closed = true;
			s->close_code = msg.close_code;
			ws_close_frame_append(&s->out, WS_CLOSE_NORMAL, NULL);
			return 0;
		default:
			break; /* unsolicited pong */
		}
	}
	if (r < 0) {
		ws_close_frame_append(&s->out, WS_CLOSE_PROTOCOL_ERROR, NULL);
		flush_out(s, &(struct cntr_err){ 0 });
	}
	return r;
}

/* Drain and parse, in rounds of at most EXEC_RECEIVE_MAX bytes. */
static int receive(struct exec_session *s, struct cntr_err *err)
{
	for (;;) {
		size_t before;
		int more = drain_socket(s, err);

		if (more < 0)
			return -1;
		before = s->in.len;
		if (handle_messages(s, err) < 0)
			return -1;
		if (!more || s->status_done || s->peer_closed)
			return 0;
		/* A full buffer always holds a whole frame; not consuming one would loop forever. */
		if (s->in.len >= before)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: no complete WebSocket frame in %u bytes "
					 "from the server", (unsigned)EXEC_RECEIVE_MAX);
	}
}

/* Local stdin: forward a chunk, or signal EOF (v5 can close stream 0; v4 has no way to). */
static int forward_stdin(struct exec_session *s, struct cntr_err *err)
{
	char buf[EXEC_READ_CHUNK];
	ssize_t n = read(s->opts->in_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		return cntr_fail_errno(err, "exec: reading local input");
	if (n > 0) {
		queue_channel(s, KUBE_EXEC_STDIN, buf, (size_t)n);
		return 0;
	}
	s->stdin_open = false;
	if (s->version >= 5) {
		uint8_t stream = KUBE_EXEC_STDIN;
		queue_channel(s, KUBE_EXEC_CLOSE, &stream, 1);
	} else {
		log_debug("exec: v4 server: stdin EOF cannot be signalled");
	}
	return 0;
}

enum { POLL_SOCK, POLL_STDIN, POLL_WINCH, POLL_INTERRUPT, POLL_COUNT };

/* One poll round. Returns 1 when interrupted, 0 otherwise, -1 on error. */
static int session_step(struct exec_session *s, struct cntr_err *err)
{
	struct pollfd fds[POLL_COUNT];
	bool want_stdin = s->stdin_open && s->out.len < EXEC_WRITE_QUEUE_HIGH;

	fds[POLL_SOCK] = (struct pollfd){ .fd = s->sock, .events = POLLIN | (s->out.len ? POLLOUT : 0) };
	fds[POLL_STDIN] = (struct pollfd){ .fd = want_stdin ? s->opts->in_fd : -1, .events = POLLIN };
	fds[POLL_WINCH] = (struct pollfd){ .fd = s->resize.fd, .events = POLLIN };
	fds[POLL_INTERRUPT] = (struct pollfd){ .fd = s->opts->interrupt_fd, .events = POLLIN };
	if (poll(fds, POLL_COUNT, 1000) < 0 && errno != EINTR)
		return cntr_fail_errno(err, "exec: poll");
	if (kube_http_interrupted() || (fds[POLL_INTERRUPT].revents & POLLIN))
		return 1;
	if (fds[POLL_WINCH].revents & POLLIN) {
		kube_resize_watch_ack(&s->resize);
		queue_resize(s);
	}
	if (fds[POLL_STDIN].revents & (POLLIN | POLLHUP | POLLERR) && forward_stdin(s, err) < 0)
		return -1;
	if (monotonic_seconds() - s->last_sent >= EXEC_KEEPALIVE_S)
		ws_frame_append(&s->out, WS_OP_PING, "", 0, NULL);
	/* Always drain: TLS may hold bytes poll() cannot see. */
	if (receive(s, err) < 0 || flush_out(s, err) < 0)
		return -1;
	return 0;
}

static int finish(struct exec_session *s, int *exit_code, struct cntr_err *err)
{
	if (!s->status_done) {
		if (s->close_code && s->close_code != WS_CLOSE_NORMAL && s->close_code != WS_CLOSE_NO_STATUS)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "exec: the API server closed the session (WebSocket code %u) before the command's exit status arrived",
					 s->close_code);
		if (s->lost)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "exec: the connection to the API server ended before the command's exit status "
					 "arrived (%s)", s->lost);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec: the connection to the API server ended before the command's exit status arrived");
	}
	/* Say goodbye; the server may already be gone, which is fine. */
	if (!s->peer_closed)
		ws_close_frame_append(&s->out, WS_CLOSE_NORMAL, NULL);
	flush_out(s, &(struct cntr_err){ 0 });
	return kube_exec_status_exit_code((const char *)s->status.data, s->status.len, exit_code, err);
}

static int setup_terminal(struct exec_session *s, struct cntr_err *err)
{
	if (!s->opts->tty || !isatty(s->opts->in_fd))
		return 0;
	if (kube_terminal_make_raw(&s->terminal, s->opts->in_fd, err) < 0)
		return -1;
	if (kube_resize_watch_start(&s->resize, err) < 0)
		return -1;
	queue_resize(s);
	return 0;
}

static int run_session(struct exec_session *s, const struct kube_config *cfg, const char *path,
		       int *exit_code, struct cntr_err *err)
{
	int r = 0;

	if (connect_server(s, cfg, path, err) < 0 || upgrade(s, cfg, path, err) < 0 ||
	    setup_terminal(s, err) < 0)
		return -1;
	log_debug("exec: %s session on %s", s->version == 5 ? KUBE_EXEC_PROTOCOL_V5 : KUBE_EXEC_PROTOCOL_V4,
		  s->http.display_url);
	/* Bytes that came with the 101 are frames already. */
	if (handle_messages(s, err) < 0 || flush_out(s, err) < 0)
		r = -1;
	while (r == 0 && !s->status_done && !s->peer_closed)
		r = session_step(s, err);
	if (r == 1) {
		ws_close_frame_append(&s->out, WS_CLOSE_NORMAL, NULL);
		flush_out(s, &(struct cntr_err){ 0 });
		r = KUBE_EXEC_INTERRUPTED;
	} else if (r == 0) {
		r = finish(s, exit_code, err) < 0 ? -1 : KUBE_EXEC_DONE;
	}
	return r;
}

struct exec_call {
	const char *path;
	const struct kube_exec_opts *opts;
	int *exit_code;
};

/* One attempt: connect, upgrade, relay. *refused is the HTTP status of a refused upgrade (an
 * upgrade refused has run nothing: safe to try again with renewed credentials). */
static int exec_once(struct kube_config *cfg, void *ctx, long *refused, struct cntr_err *err)
{
	const struct exec_call *call = ctx;
	const struct kube_exec_opts *opts = call->opts;
	struct exec_session s = { .sock = CURL_SOCKET_BAD, .terminal = { .fd = -1 }, .resize = { .fd = -1 } };
	int r;

	s.opts = opts;
	s.stdin_open = opts->forward_stdin;
	ws_parser_init(&s.parser);
	r = run_session(&s, cfg, call->path, call->exit_code, err);
	*refused = s.refused_status;
	exec_session_free(&s);
	return r;
}

/* Connect, upgrade and relay for path (exec or attach); SIGPIPE ignored meanwhile. */
static int run_stream(struct kube_config *cfg, const char *path, const struct kube_exec_opts *opts,
		      int *exit_code, struct cntr_err *err)
{
	struct exec_call call = { .path = path, .opts = opts, .exit_code = exit_code };
	struct sigaction ignore = { .sa_handler = SIG_IGN }, old_pipe;
	int r;

	/* A closed local stdout (`| head`) must end the session with an error we report, not kill
	 * the process before the caller can clean up. */
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGPIPE, &ignore, &old_pipe);
	r = kube_with_fresh_credentials(cfg, exec_once, &call, err);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return r;
}

int kube_exec(struct kube_config *cfg, const char *ns, const char *pod, const char *container,
	      char *const argv[], const struct kube_exec_opts *opts, int *exit_code,
	      struct cntr_err *err)
{
	struct kube_exec_opts defaults;
	_cleanup_free_ char *path = NULL;

	if (!opts) {
		kube_exec_opts_init(&defaults);
		opts = &defaults;
	}
	if (!argv || !argv[0])
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "exec: no command given");
	path = kube_exec_path(ns, pod, container, argv, opts);
	return run_stream(cfg, path, opts, exit_code, err);
}

int kube_exec_at(struct kube_config *cfg, const char *path, const struct kube_exec_opts *opts, int *exit_code,
		 struct cntr_err *err)
{
	struct kube_exec_opts defaults;

	if (!opts) {
		kube_exec_opts_init(&defaults);
		opts = &defaults;
	}
	return run_stream(cfg, path, opts, exit_code, err);
}

char *kube_attach_path(const char *ns, const char *pod, const char *container, const struct kube_exec_opts *opts)
{
	char *path = kube_pod_path(ns, pod, "attach");

	append_stream_query(&path, container, opts);
	return path;
}

int kube_attach(struct kube_config *cfg, const char *ns, const char *pod, const char *container,
		const struct kube_exec_opts *opts, int *status, struct cntr_err *err)
{
	_cleanup_free_ char *path = kube_attach_path(ns, pod, container, opts);

	return run_stream(cfg, path, opts, status, err);
}
