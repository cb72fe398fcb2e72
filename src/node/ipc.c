#include "ipc.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ipc_socketpair(int fds[2], struct cntr_err *err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return cntr_fail_errno(err, "socketpair");
	return 0;
}

/* Room for IPC_FDS_MAX descriptors, aligned for the control header. */
union ipc_control {
	char buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
	struct cmsghdr align;
};

int ipc_send_with_fds(int sock, const void *data, size_t len, const int *fds, size_t n_fds)
{
	union ipc_control control;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n_fds > IPC_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (n_fds) {
		struct cmsghdr *c;
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* The descriptors a message brought (close-on-exec), up to max; any beyond are closed. */
static size_t take_fds(struct msghdr *mh, int *fds, size_t max)
{
	size_t n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

/* recvmsg, on through EINTR; an ECONNRESET is read past once (see ipc_recv). */
static ssize_t recv_with_fds(int sock, void *buf, size_t size, int *fds, size_t max, size_t *n_fds,
			     bool past_reset)
{
	union ipc_control control;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf) };
	bool reset_read = false;
	ssize_t n;

	*n_fds = 0;
	for (;;) {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n >= 0 || (errno != EINTR && (errno != ECONNRESET || !past_reset || reset_read)))
			break;
		reset_read = reset_read || errno == ECONNRESET;
	}
	if (n > 0)
		*n_fds = take_fds(&mh, fds, max);
	return n;
}

ssize_t ipc_recv_with_fds(int sock, void *buf, size_t size, int *fds, size_t max, size_t *n_fds)
{
	return recv_with_fds(sock, buf, size, fds, max, n_fds, false);
}

int ipc_send(int sock, const struct ipc_msg *msg, int fd)
{
	return ipc_send_with_fds(sock, msg, sizeof(*msg), &fd, fd >= 0);
}

int ipc_recv(int sock, struct ipc_msg *msg, int *fd)
{
	size_t n_fds;
	/* ECONNRESET: the command closed its end with our "go" (session.c) still unread. The kernel
	 * reports that once, ahead of the messages it sent before: read on, once. */
	ssize_t n = recv_with_fds(sock, msg, sizeof(*msg), fd, 1, &n_fds, true);

	if (n_fds == 0)
		*fd = -1;
	if (n <= 0)
		return (int)n;
	if ((size_t)n != sizeof(*msg)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		errno = EPROTO;
		return -1;
	}
	return 1;
}

void ipc_fail_and_exit(int sock, const struct cntr_err *err)
{
	struct ipc_msg msg = { .type = IPC_ERROR, .err = *err };
	if (msg.err.code == 0)
		msg.err.code = CNTR_EXIT_FAILURE;
	ipc_send(sock, &msg, -1);
	_exit(msg.err.code);
}
