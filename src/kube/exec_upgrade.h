/* The HTTP/1.1 side of the exec WebSocket: the Upgrade request we send and the server's
 * response head, checked (101, Sec-WebSocket-Accept, the chosen channel protocol). Pure
 * functions: exec_stream.c does the I/O. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct cntr_err;

#define KUBE_EXEC_PROTOCOL_V5 "v5.channel.k8s.io"
#define KUBE_EXEC_PROTOCOL_V4 "v4.channel.k8s.io"

/* The subprotocols an exec offers, in the order of preference. */
#define KUBE_EXEC_PROTOCOLS KUBE_EXEC_PROTOCOL_V5 ", " KUBE_EXEC_PROTOCOL_V4

/* "GET <target> HTTP/1.1" with Host, Upgrade, Connection, Sec-WebSocket-Key/-Version,
 * Sec-WebSocket-Protocol offering protocols (a comma list, as sent; NULL or "": no header),
 * Authorization when token != NULL. malloc'd. */
char *kube_ws_upgrade_request(const char *target, const char *host, const char *token,
			      const char *key, const char *protocols);

/* The same offering KUBE_EXEC_PROTOCOLS. */
char *kube_exec_upgrade_request(const char *target, const char *host, const char *token,
				const char *key);

struct kube_upgrade_response {
	int status;            /* HTTP status code */
	char *reason;          /* reason phrase */
	char *upgrade;         /* header values, NULL when absent */
	char *connection;
	char *accept;
	char *protocol;
	char *content_type;
	char *transfer_encoding;
	long content_length;   /* -1 when absent */
	size_t head_len;       /* bytes of the head including the blank line */
};

/* 64 KiB for the response head of the upgrade: a 101 is a handful of short headers, and a
 * refusal's head is not much longer. */
#define KUBE_UPGRADE_HEAD_MAX (64u << 10)

/* Parse the response head at the start of buf. Returns 1 when the head is complete (out filled;
 * bytes after head_len belong to the body / WebSocket stream), 0 when more bytes are needed,
 * -1 when it is not HTTP or has no end within KUBE_UPGRADE_HEAD_MAX bytes. */
int kube_upgrade_response_parse(const char *buf, size_t len, struct kube_upgrade_response *out,
				struct cntr_err *err);

/* For a 101 response: Upgrade: websocket, Connection: upgrade, the accept value for key, and
 * one of the protocols offered (a comma list; NULL or "" when none was offered, then the server
 * must not pick one). */
int kube_ws_upgrade_response_check(const struct kube_upgrade_response *r, const char *key,
				   const char *offered, struct cntr_err *err);

/* True when token is one of the comma-separated items of list (spaces around items ignored). */
int kube_ws_protocol_listed(const char *list, const char *token);

/* kube_ws_upgrade_response_check for an exec that offered KUBE_EXEC_PROTOCOLS. Sets *version
 * to 5 or 4. */
int kube_upgrade_response_check(const struct kube_upgrade_response *r, const char *key, int *version,
				struct cntr_err *err);

void kube_upgrade_response_clear(struct kube_upgrade_response *r);

/* The body of a refused upgrade: complete once Content-Length bytes arrived, or the last chunk
 * of a chunked body; `closed` says the server hung up (whatever arrived is the body then).
 * Returns 1 with the (de-chunked) body in *body and its length in *len (malloc'd, NUL after
 * the end), 0 when more bytes are needed. */
int kube_upgrade_error_body(const struct kube_upgrade_response *r, const char *data, size_t data_len,
			    bool closed, char **body, size_t *len);
