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
#include "kube/ws_conn.h"

/* Stop reading local stdin while this much is still waiting to be sent: backpressure. */
#define EXEC_WRITE_QUEUE_HIGH (1u << 20)
#define EXEC_READ_CHUNK 32768
/* The exit status is a small Status object. */
#define EXEC_STATUS_MAX (64u << 10)
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
	struct kube_ws_conn conn;
	const struct kube_exec_opts *opts;
	int version;               /* 5 or 4 */
	struct bytebuf status;     /* channel 3 payload */
	bool status_done;
	bool stdin_open;
	size_t output_len;         /* bytes of stdout and stderr delivered so far */
	struct kube_terminal terminal;
	struct kube_resize_watch resize;
};

static void exec_session_free(struct exec_session *s)
{
	kube_resize_watch_stop(&s->resize);
	kube_terminal_restore(&s->terminal);
	kube_ws_conn_free(&s->conn);
	bytebuf_free(&s->status);
}

static time_t monotonic_seconds(void)
{
	return (time_t)(kube_now_ms() / 1000);
}

static int upgrade(struct exec_session *s, const struct kube_config *cfg, const char *path,
		   struct cntr_err *err)
{
	s->conn.refusal_prefix = s->opts->refusal_prefix;
	if (kube_ws_conn_open(&s->conn, cfg, path, KUBE_EXEC_PROTOCOLS, err) < 0)
		return -1;
	s->version = strcmp(s->conn.protocol, KUBE_EXEC_PROTOCOL_V5) == 0 ? 5 : 4;
	return 0;
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
	kube_ws_conn_queue(&s->conn, WS_OP_BINARY, frame, len + 1);
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

	while ((r = kube_ws_conn_next(&s->conn, &msg, err)) == 1) {
		switch (msg.opcode) {
		case WS_OP_BINARY:
		case WS_OP_TEXT:
			if (handle_data(s, &msg, err) < 0)
				return -1;
			break;
		case WS_OP_PING:
			kube_ws_conn_queue(&s->conn, WS_OP_PONG, msg.data, msg.len);
			break;
		case WS_OP_CLOSE:
			kube_ws_conn_queue_close(&s->conn, WS_CLOSE_NORMAL);
			return 0;
		default:
			break; /* unsolicited pong */
		}
	}
	return r;
}

/* Drain and parse, in rounds of at most KUBE_WS_RECEIVE_MAX bytes. */
static int receive(struct exec_session *s, struct cntr_err *err)
{
	for (;;) {
		size_t before;
		int more = kube_ws_conn_receive(&s->conn, err);

		if (more < 0)
			return -1;
		before = s->conn.in.len;
		if (handle_messages(s, err) < 0)
			return -1;
		if (!more || s->status_done || s->conn.peer_closed)
			return 0;
		/* A full buffer always holds a whole frame; not consuming one would loop forever. */
		if (s->conn.in.len >= before)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: no complete WebSocket frame in %u bytes "
					 "from the server", (unsigned)KUBE_WS_RECEIVE_MAX);
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
	bool want_stdin = s->stdin_open && s->conn.out.len < EXEC_WRITE_QUEUE_HIGH;

	fds[POLL_SOCK] = (struct pollfd){ .fd = s->conn.sock, .events = POLLIN | (s->conn.out.len ? POLLOUT : 0) };
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
	if (monotonic_seconds() - s->conn.last_sent >= EXEC_KEEPALIVE_S)
		kube_ws_conn_queue(&s->conn, WS_OP_PING, "", 0);
	/* Always drain: TLS may hold bytes poll() cannot see. */
	if (receive(s, err) < 0 || kube_ws_conn_flush(&s->conn, err) < 0)
		return -1;
	return 0;
}

static int finish(struct exec_session *s, int *exit_code, struct cntr_err *err)
{
	if (!s->status_done) {
		if (s->conn.close_code && s->conn.close_code != WS_CLOSE_NORMAL &&
		    s->conn.close_code != WS_CLOSE_NO_STATUS)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "exec: the API server closed the session (WebSocket code %u) before the command's exit status arrived",
					 s->conn.close_code);
		if (s->conn.lost)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "exec: the connection to the API server ended before the command's exit status "
					 "arrived (%s)", s->conn.lost);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec: the connection to the API server ended before the command's exit status arrived");
	}
	/* Say goodbye; the server may already be gone, which is fine. */
	if (!s->conn.peer_closed)
		kube_ws_conn_queue_close(&s->conn, WS_CLOSE_NORMAL);
	kube_ws_conn_flush(&s->conn, &(struct cntr_err){ 0 });
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

	if (upgrade(s, cfg, path, err) < 0 || setup_terminal(s, err) < 0)
		return -1;
	log_debug("exec: %s session on %s", s->conn.protocol, s->conn.http.display_url);
	/* Bytes that came with the 101 are frames already. */
	if (handle_messages(s, err) < 0 || kube_ws_conn_flush(&s->conn, err) < 0)
		r = -1;
	while (r == 0 && !s->status_done && !s->conn.peer_closed)
		r = session_step(s, err);
	if (r == 1) {
		kube_ws_conn_queue_close(&s->conn, WS_CLOSE_NORMAL);
		kube_ws_conn_flush(&s->conn, &(struct cntr_err){ 0 });
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
	struct exec_session s = { .terminal = { .fd = -1 }, .resize = { .fd = -1 } };
	int r;

	kube_ws_conn_init(&s.conn, opts->interrupt_fd);
	s.opts = opts;
	s.stdin_open = opts->forward_stdin;
	r = run_session(&s, cfg, call->path, call->exit_code, err);
	*refused = s.conn.refused_status;
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
