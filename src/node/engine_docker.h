/* Docker through its API socket (no CLI needed; in a cluster the socket is mounted only with
 * `-s`): one HTTP/1.0 GET /containers/NAME/json, State.Pid, Id and Name read from the answer. */
#pragma once
#include <stddef.h>

struct cntr_err;
struct container_ref;

/* The socket: $DOCKER_HOST when it is unix://PATH, else /var/run/docker.sock. */
const char *docker_socket_path(void);

/* Split a raw HTTP/1.x response into its status code and body (pointer into resp).
 * Returns 0, or -1 when resp is not an HTTP response. */
int docker_http_split(const char *resp, size_t len, int *status, const char **body,
		      size_t *body_len);

/* Fill ref from a /containers/NAME/json body. Returns 0, or -1 with err filled when fields are
 * missing or the container is not running (State.Pid 0). `what` names it in messages. */
int docker_parse_inspect(const char *body, size_t len, const char *what, struct container_ref *ref,
			 struct cntr_err *err);

/* Look up a container by name or ID. Returns 1 found, 0 unknown to docker or docker absent
 * (logged with log_skip), -1 on errors worth reporting. */
int docker_inspect(const char *name, struct container_ref *ref, struct cntr_err *err);
