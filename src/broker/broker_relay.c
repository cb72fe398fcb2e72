#include "broker/broker_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker_audit.h"
#include "broker/broker_capsule.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "kube/clock.h"
#include "kube/exec_status.h"
#include "kube/websocket.h"

#define RELAY_READ_CHUNK 32768
#define RELAY_STATUS_MAX (64u << 10)
/* Load balancers between the broker and the API server drop idle connections. */
#define RELAY_KEEPALIVE_S 20
/* Stop reading the client while this much waits for the API server: backpressure. */
#define RELAY_QUEUE_HIGH (1u << 20)

struct relay_state {
	struct broker_relay *r;
	int fd;
	struct ws_parser client_parser;
	struct bytebuf client_in;
	struct bytebuf client_out;
	struct bytebuf status;      /* channel 3 from the agent */
	bool done;
	const char *why;            /* how it ended when not by the agent's exit status */
};

static void state_free(struct relay_state *s)
{
	ws_parser_free(&s->client_parser);
	bytebuf_free(&s->client_in);
	bytebuf_free(&s->client_out);
	bytebuf_free(&s->status);
}

static int flush_client(struct relay_state *s)
{
	if (s->client_out.len && write_all(s->fd, s->client_out.data, s->client_out.len) < 0) {
		s->why = "the client connection broke";
		s->done = true;
		bytebuf_reset(&s->client_out);
		return -1;
	}
	bytebuf_reset(&s->client_out);
	return 0;
}

static void end_both(struct relay_state *s, uint16_t code, const char *why)
{
	ws_server_close_frame_append(&s->client_out, code, NULL);
	kube_ws_conn_queue_close(&s->r->agent, code);
	if (!s->why)
		s->why = why;
	s->done = true;
}

/* Messages the client sent: data to the agent unchanged, pings answered, a close passed on. */
static void from_client(struct relay_state *s)
{
	struct ws_message m;
	struct cntr_err err = { 0 };
	int rc;

	while (!s->done && (rc = ws_parser_next(&s->client_parser, &s->client_in, &m, &err)) == 1) {
		switch (m.opcode) {
		case WS_OP_BINARY:
		case WS_OP_TEXT:
			kube_ws_conn_queue(&s->r->agent, m.opcode, m.data, m.len);
			break;
		case WS_OP_PING:
			ws_server_frame_append(&s->client_out, WS_OP_PONG, m.data, m.len);
			break;
		case WS_OP_CLOSE:
			kube_ws_conn_queue_close(&s->r->agent, m.close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL
												   : m.close_code);
			ws_server_close_frame_append(&s->client_out, WS_CLOSE_NORMAL, NULL);
			s->why = "the client closed the session";
			s->done = true;
			break;
		default:
			break;
		}
	}
	if (!s->done && rc < 0) {
		log_warn("session of user \"%s\": %s", s->r->user, err.msg);
		end_both(s, WS_CLOSE_PROTOCOL_ERROR, "the client broke the WebSocket protocol");
	}
}

static void keep_status(struct relay_state *s, const struct ws_message *m)
{
	if (m->len > 1 && m->data[0] == 3 && s->status.len + m->len - 1 <= RELAY_STATUS_MAX)
		bytebuf_append(&s->status, m->data + 1, m->len - 1);
}

/* Messages from the agent's exec: data to the client unchanged, pings answered, a close passed on. */
static void from_agent(struct relay_state *s)
{
	struct kube_ws_conn *a = &s->r->agent;
	struct ws_message m;
	struct cntr_err err = { 0 };
	int rc;

	while (!s->done && (rc = kube_ws_conn_next(a, &m, &err)) == 1) {
		switch (m.opcode) {
		case WS_OP_BINARY:
		case WS_OP_TEXT:
			keep_status(s, &m);
			ws_server_frame_append(&s->client_out, m.opcode, m.data, m.len);
			break;
		case WS_OP_PING:
			kube_ws_conn_queue(a, WS_OP_PONG, m.data, m.len);
			break;
		case WS_OP_CLOSE:
			ws_server_close_frame_append(&s->client_out,
						     m.close_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : m.close_code, NULL);
			kube_ws_conn_queue_close(a, WS_CLOSE_NORMAL);
			s->done = true;
			break;
		default:
			break;
		}
	}
	if (!s->done && rc < 0) {
		log_warn("session of user \"%s\": from the agent: %s", s->r->user, err.msg);
		end_both(s, WS_CLOSE_PROTOCOL_ERROR, "the agent's exec broke the WebSocket protocol");
	} else if (!s->done && a->peer_closed) {
		/* EOF without a close frame: end the client's side properly all the same. */
		ws_server_close_frame_append(&s->client_out, WS_CLOSE_NORMAL, NULL);
		s->why = a->lost ? a->lost : "the agent's exec ended";
		s->done = true;
	}
}

static void read_client(struct relay_state *s)
{
	char buf[RELAY_READ_CHUNK];
	ssize_t n = read(s->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		kube_ws_conn_queue_close(&s->r->agent, WS_CLOSE_NORMAL);
		s->why = "the client disconnected";
		s->done = true;
		return;
	}
	bytebuf_append(&s->client_in, buf, (size_t)n);
}

static void step(struct relay_state *s)
{
	struct kube_ws_conn *a = &s->r->agent;
	struct cntr_err err = { 0 };
	struct pollfd fds[3] = {
		{ .fd = a->out.len < RELAY_QUEUE_HIGH ? s->fd : -1, .events = POLLIN },
		{ .fd = a->sock, .events = POLLIN | (a->out.len ? POLLOUT : 0) },
		{ .fd = s->r->b->stop_fd, .events = POLLIN },
	};

	if (poll(fds, 3, 1000) < 0 && errno != EINTR) {
		end_both(s, WS_CLOSE_NORMAL, "poll failed");
		return;
	}
	if (fds[2].revents & POLLIN) {
		end_both(s, 1001, "the broker is stopping");
		return;
	}
	if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
		read_client(s);
	from_client(s);
	if ((kube_now_ms() / 1000) - a->last_sent >= RELAY_KEEPALIVE_S)
		kube_ws_conn_queue(a, WS_OP_PING, "", 0);
	/* Always drain: TLS may hold bytes poll() cannot see. */
	while (!s->done) {
		int more = kube_ws_conn_receive(a, &err);
		if (more < 0) {
			end_both(s, WS_CLOSE_NORMAL, "receiving from the agent's exec failed");
			break;
		}
		from_agent(s);
		if (!more)
			break;
	}
	if (kube_ws_conn_flush(a, &err) < 0 && !s->done)
		end_both(s, WS_CLOSE_NORMAL, "sending to the agent's exec failed");
	flush_client(s);
}

static void record_end(struct relay_state *s)
{
	struct broker_relay *r = s->r;
	struct broker_session_info info = { .user = r->user, .ns = r->ns, .pod = r->pod, .node = r->node,
					    .container = r->container, .profile = r->profile };
	struct cntr_err err = { 0 };
	int exit_status = -1;
	const char *why = s->why;
	_cleanup_free_ char *msg = NULL;

	if (s->status.len && kube_exec_status_exit_code((const char *)s->status.data, s->status.len, &exit_status, &err) < 0) {
		exit_status = -1;
		why = err.msg;
	}
	if (r->capsule) {
		broker_capsule_record_end(r, exit_status, why, (double)kube_now_ms() / 1000.0 - r->started);
		return;
	}
	msg = broker_audit_end_message(&info, exit_status, why, (double)kube_now_ms() / 1000.0 - r->started);
	broker_audit_record(r, "DebugSessionEnded", msg);
}

void broker_relay_run(struct broker_relay *r, int fd, const char *extra_in, size_t extra_len)
{
	struct relay_state s = { .r = r, .fd = fd };
	int flags = fcntl(fd, F_GETFL);

	/* Writes to the client block (bounded by its reading); reads happen after poll(). */
	if (flags >= 0)
		fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	ws_parser_init_server(&s.client_parser);
	if (extra_len)
		bytebuf_append(&s.client_in, extra_in, extra_len);
	/* Frames that came with either side's upgrade are already buffered. */
	from_agent(&s);
	from_client(&s);
	flush_client(&s);
	while (!s.done)
		step(&s);
	kube_ws_conn_flush(&r->agent, &(struct cntr_err){ 0 });
	flush_client(&s);
	record_end(&s);
	state_free(&s);
	broker_relay_free(r);
}
