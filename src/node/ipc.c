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

int ipc_send(int sock, const struct ipc_msg *msg, int fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(control, 0, sizeof(control));
	if (fd >= 0) {
		struct cmsghdr *c;
		mh.msg_control = control;
		mh.msg_controllen = sizeof(control);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

int ipc_recv(int sock, struct ipc_msg *msg, int *fd)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control) };
	bool reset_read = false;
	ssize_t n;

	*fd = -1;
	/* ECONNRESET: the command closed its end with our "go" (session.c) still unread. The kernel
	 * reports that once, ahead of the messages it sent before: read on, once. */
	for (;;) {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n >= 0 || (errno != EINTR && (errno != ECONNRESET || reset_read)))
			break;
		reset_read = reset_read || errno == ECONNRESET;
	}
	if (n <= 0)
		return (int)n;
	if ((size_t)n != sizeof(*msg)) {
		errno = EPROTO;
		return -1;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
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
