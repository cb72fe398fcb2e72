/* A WebSocket connection to the API server at the message level: connect (libcurl CONNECT_ONLY,
 * HTTP/1.1 only so ALPN never picks h2), upgrade offering a list of subprotocols, then queue
 * frames, flush, receive and parse messages. The exec session (exec_stream.c) runs its fd loop
 * on it; the broker (src/broker) relays messages between its client and an agent's exec with it.
 * The caller polls kube_ws_conn.sock and calls kube_ws_conn_receive after every wake-up (TLS may
 * hold decrypted bytes poll() will not report). */
#pragma once
#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kube/bytebuf.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "kube/websocket.h"

struct cntr_err;

/* What is read from the server is bounded: the receive buffer never needs more than one whole
 * frame (the parser rejects a longer one as soon as its header is in). */
#define KUBE_WS_RECEIVE_MAX (WS_MAX_MESSAGE_DEFAULT + WS_FRAME_HEADER_MAX)
/* Upper bound for the upgrade handshake and for the error body of a refused upgrade. */
#define KUBE_WS_HANDSHAKE_TIMEOUT_MS 60000

struct kube_ws_conn {
	struct kube_http http;
	curl_socket_t sock;
	int interrupt_fd;          /* readable = give up waiting (upgrade, blocking sends); -1 none */
	char *protocol;            /* the subprotocol the server agreed to (NULL when none offered) */
	bool protocol_agreed;      /* the 101 came: failures after it end the session, not the call */
	struct bytebuf in;         /* received, not yet parsed */
	struct bytebuf out;        /* framed, not yet sent */
	struct ws_parser parser;
	bool peer_closed;          /* EOF or close frame */
	const char *lost;          /* why the connection broke after the upgrade (static text) */
	uint16_t close_code;       /* of the server's close frame, 0 when none came */
	int refused_status;        /* HTTP status of a refused upgrade, else 0 */
	const char *refusal_prefix; /* before a refused upgrade's Status message; NULL: "exec: " */
	time_t last_sent;          /* CLOCK_MONOTONIC seconds of the last frame sent */
};

void kube_ws_conn_init(struct kube_ws_conn *c, int interrupt_fd);
void kube_ws_conn_free(struct kube_ws_conn *c);

/* Connect to cfg's server and upgrade `path` offering protocols (a comma list in the order of
 * preference, e.g. KUBE_EXEC_PROTOCOLS). -1 with err: connection failure, a refused upgrade
 * (err has the Status message, c->refused_status the HTTP status), a bad 101. Bytes that came
 * with the 101 are in c->in already: call kube_ws_conn_next before waiting. */
int kube_ws_conn_open(struct kube_ws_conn *c, const struct kube_config *cfg, const char *path,
		      const char *protocols, struct cntr_err *err);

/* Queue one client frame (masked). */
void kube_ws_conn_queue(struct kube_ws_conn *c, enum ws_opcode op, const void *data, size_t len);
/* Queue a close frame with code. */
void kube_ws_conn_queue_close(struct kube_ws_conn *c, uint16_t code);
/* Send what the queue holds, as far as the socket takes it now. */
int kube_ws_conn_flush(struct kube_ws_conn *c, struct cntr_err *err);
/* Send all of it, waiting for the socket (bounded by KUBE_WS_HANDSHAKE_TIMEOUT_MS per wait). */
int kube_ws_conn_flush_all(struct kube_ws_conn *c, struct cntr_err *err);

/* Read what is available now. Returns 1 when it stopped because KUBE_WS_RECEIVE_MAX bytes wait
 * to be parsed (parse them, then call again), 0 otherwise; EOF or a connection cut after the
 * upgrade set peer_closed (and lost), they are not errors. */
int kube_ws_conn_receive(struct kube_ws_conn *c, struct cntr_err *err);

/* The next complete message out of what was received: 1 with *msg (valid until the next call),
 * 0 when more bytes are needed, -1 on a protocol violation (a 1002 close is queued). A CLOSE
 * sets peer_closed and close_code. Pings are returned like any message: answer them with
 * kube_ws_conn_queue(c, WS_OP_PONG, ...). */
int kube_ws_conn_next(struct kube_ws_conn *c, struct ws_message *msg, struct cntr_err *err);

/* poll() the socket for events (and interrupt_fd): 1 ready, 2 interrupted, 0 timeout, -1 error. */
int kube_ws_conn_wait(struct kube_ws_conn *c, short events, int timeout_ms);
