/* Messages from the session's command, while it sets itself up, to the relay (cntr's own
 * process): the PTY master, that it is starting, or the one error that ended the setup. SOCK_SEQPACKET keeps
 * message boundaries; EOF means the command's end is closed (it exec'd or died). */
#pragma once
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* IPC_STARTING: the setup is done, the command goes on to exec (after the "go"): an EOF
 * before it means the command died while it set itself up. */
enum ipc_type { IPC_PTY_MASTER = 1, IPC_ERROR = 3, IPC_STARTING = 4 };

struct ipc_msg {
	int type;
	struct cntr_err err;
};

int ipc_socketpair(int fds[2], struct cntr_err *err);
/* Any message with descriptors, both ways between relay and command (the cgroup files the
 * command moves itself with, session.c). Returns 0 or -1 (errno). */
enum { IPC_FDS_MAX = 16 };
int ipc_send_with_fds(int sock, const void *data, size_t len, const int *fds, size_t n_fds);
/* One message into buf (its length; 0 on EOF; -1 on error), its descriptors (close-on-exec,
 * at most max: any more are closed) into fds and *n_fds. */
ssize_t ipc_recv_with_fds(int sock, void *buf, size_t size, int *fds, size_t max, size_t *n_fds);
/* fd < 0: no descriptor attached. Returns 0 or -1 (errno). */
int ipc_send(int sock, const struct ipc_msg *msg, int fd);
/* Returns 1 with a message (and *fd set, or -1), 0 on EOF, -1 on error (errno). */
int ipc_recv(int sock, struct ipc_msg *msg, int *fd);
/* Report err to the relay and end the calling child with err->code. */
__attribute__((noreturn)) void ipc_fail_and_exit(int sock, const struct cntr_err *err);
