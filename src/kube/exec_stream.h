/* `pods/exec` over WebSocket: the upgrade over a libcurl CONNECT_ONLY connection (ALPN pinned
 * to http/1.1), subprotocol v5.channel.k8s.io (falls back to a server choosing v4), and the
 * session loop: local stdin -> channel 0, channels 1/2 -> local fds, channel 3 -> exit code,
 * SIGWINCH -> channel 4 resize, pings answered, stdin EOF -> v5 close of stream 0. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "kube/kubeconfig.h"

struct cntr_err;

enum kube_exec_channel {
	KUBE_EXEC_STDIN = 0,
	KUBE_EXEC_STDOUT = 1,
	KUBE_EXEC_STDERR = 2,
	KUBE_EXEC_ERROR = 3,   /* Status JSON at the end */
	KUBE_EXEC_RESIZE = 4,  /* {"Width":W,"Height":H} */
	KUBE_EXEC_CLOSE = 255, /* v5 only: payload [stream] closes that stream */
};

struct kube_exec_opts {
	bool tty;        /* ask for a TTY; when in_fd is a terminal it is put in raw mode (restored
			  * on every exit) and its size sent at start and on SIGWINCH */
	bool forward_stdin; /* forward in_fd (else stdin=false is requested) */
	int in_fd;       /* usually 0 */
	int out_fd;      /* usually 1 */
	int err_fd;      /* usually 2 (with tty the server merges stderr into stdout) */
	/* When readable (e.g. a self-pipe written by a SIGINT/SIGTERM handler), the session ends
	 * and kube_exec returns KUBE_EXEC_INTERRUPTED. -1 = none. The interrupt flag of
	 * kube_http_set_interrupt_flag is honoured as well. */
	int interrupt_fd;
	/* When non-zero, more than this many bytes of output (stdout and stderr together) end
	 * the session with an error: for programs whose output is read into memory. 0: no limit
	 * (a session's output is streamed to out_fd/err_fd, never held). */
	size_t output_max;
	/* Put before the Status message of a refused upgrade; NULL = "exec: ". A broker's refusal
	 * (403 naming the user and verb) reads best as the Status message alone (""). */
	const char *refusal_prefix;
};

/* Default opts: no tty, stdin forwarded, fds 0/1/2, no interrupt fd. */
void kube_exec_opts_init(struct kube_exec_opts *opts);

enum { KUBE_EXEC_DONE = 0, KUBE_EXEC_INTERRUPTED = 1 };

/* Run argv in ns/pod/container (container NULL = the pod's only container). Returns
 * KUBE_EXEC_DONE with *exit_code the command's status (from channel 3), KUBE_EXEC_INTERRUPTED,
 * or -1 with err: non-101 upgrade (the Status message: pod not found, forbidden...), bad
 * Sec-WebSocket-Accept, no agreed subprotocol, protocol errors, connection lost before the
 * status arrived, a Failure status that is not an exit code (see exec_status.h), or more
 * data than the caps allow (a WebSocket message over WS_MAX_MESSAGE_DEFAULT, an exit status
 * over 64 KiB, output over opts->output_max; a refused upgrade's body is read up to 64 KiB).
 * During the call SIGPIPE is ignored (a closed local stdout becomes an error) and, with a tty,
 * a SIGWINCH handler is installed; both are restored before returning. */
int kube_exec(struct kube_config *cfg, const char *ns, const char *pod, const char *container,
	      char *const argv[], const struct kube_exec_opts *opts, int *exit_code,
	      struct cntr_err *err);

/* The request path with its query (command=...&command=...&stdin=..&stdout=true&stderr=..&
 * tty=..&container=..), each value percent-encoded. malloc'd. Exposed for unit tests. */
char *kube_exec_path(const char *ns, const char *pod, const char *container, char *const argv[],
		     const struct kube_exec_opts *opts);

/* The same session on another path: path carries its own query (see kube_exec_query_append),
 * e.g. an aggregated API's connect subresource
 * (/apis/debug.lambda-cntr.io/v1alpha1/namespaces/NS/pods/POD/attach?...), which speaks the
 * exec channel protocol. Same upgrade, channels, exit status and errors as kube_exec. */
int kube_exec_at(struct kube_config *cfg, const char *path, const struct kube_exec_opts *opts, int *exit_code,
		 struct cntr_err *err);

/* Append the query of an exec to *path: command=... for each of argv (NULL or empty: none),
 * then container (when given), stdin, stdout, stderr, tty as kube_exec sends them. */
void kube_exec_query_append(char **path, const char *container, char *const argv[],
			    const struct kube_exec_opts *opts);

/* `pods/attach`: the same WebSocket channels, to the running process of container (an
 * ephemeral container started with stdin). The kubelet reports only Success on channel 3 when
 * the stream ends (the process's exit code is in the container's status), so *status is 0
 * then; a Failure (e.g. the container is no longer running) is -1 with err. */
int kube_attach(struct kube_config *cfg, const char *ns, const char *pod, const char *container,
		const struct kube_exec_opts *opts, int *status, struct cntr_err *err);

/* pods/NAME/attach?container=..&stdin=..&stdout=true&stderr=..&tty=.. malloc'd. */
char *kube_attach_path(const char *ns, const char *pod, const char *container, const struct kube_exec_opts *opts);
