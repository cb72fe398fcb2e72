#include "pty.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int pty_open_in_session(int *master, int *slave, struct cntr_err *err)
{
	static const char *const ptmx_paths[] = { "/dev/pts/ptmx", "/dev/ptmx" };
	_cleanup_close_ int m = -1;
	int unlock = 0, s;

	for (size_t i = 0; i < 2 && m < 0; i++)
		m = openat(AT_FDCWD, ptmx_paths[i], O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return cntr_fail_errno(err, "open a terminal in the target's /dev/pts");
	if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
		return cntr_fail_errno(err, "unlock the terminal");
	/* TIOCGPTPEER (4.13) opens the peer without a path lookup; else by number. */
	s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		unsigned n;
		char path[64];
		if (ioctl(m, TIOCGPTN, &n) < 0)
			return cntr_fail_errno(err, "find the terminal's number");
		snprintf(path, sizeof(path), "/dev/pts/%u", n);
		s = openat(AT_FDCWD, path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s < 0)
			return cntr_fail_errno(err, "open %s", path);
	}
	*slave = s;
	*master = steal_fd(&m);
	return 0;
}

int pty_become_controlling(int slave, struct cntr_err *err)
{
	if (setsid() < 0)
		return cntr_fail_errno(err, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return cntr_fail_errno(err, "make the terminal controlling");
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(slave, fd) < 0)
			return cntr_fail_errno(err, "dup2 terminal");
	if (slave > 2)
		close(slave);
	return 0;
}

void pty_sync_size(int master)
{
	struct winsize ws;
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* Copy what is readable from `from` to `to`. Returns bytes moved, 0 on EOF, -1 on error. */
static ssize_t pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0)
		return n < 0 && (errno == EAGAIN || errno == EINTR) ? 1 : n;
	if (write_all(to, buf, (size_t)n) < 0)
		return -1;
	return n;
}

static void drain_master(int master)
{
	struct pollfd p = { .fd = master, .events = POLLIN };
	while (poll(&p, 1, 50) > 0 && (p.revents & POLLIN) && pump(master, STDOUT_FILENO) > 0)
		;
}

/* Returns 1 when the child has exited (status stored). */
static int handle_signal(int sigfd, pid_t child, int master, int *wait_status)
{
	struct signalfd_siginfo si;
	if (read(sigfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	switch (si.ssi_signo) {
	case SIGWINCH:
		if (master >= 0)
			pty_sync_size(master);
		return 0;
	case SIGCHLD:
		return waitpid(child, wait_status, WNOHANG) == child;
	default:
		/* SIGINT, SIGTERM, SIGHUP, SIGQUIT sent to cntr are meant for the command. */
		kill(child, (int)si.ssi_signo);
		return 0;
	}
}

int relay_until_exit(pid_t child, int master, int sigfd, int *wait_status, struct cntr_err *err)
{
	bool stdin_open = master >= 0;

	/* A SIGCHLD may have been consumed before the loop started. */
	if (waitpid(child, wait_status, WNOHANG) == child)
		goto done;
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = master, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return cntr_fail_errno(err, "poll");
		}
		if ((p[0].revents & POLLIN) && handle_signal(sigfd, child, master, wait_status))
			break;
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* EIO: every slave is closed; keep waiting for the command itself. */
			if (pump(master, STDOUT_FILENO) <= 0)
				master = -1;
		}
		if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (pump(STDIN_FILENO, p[1].fd >= 0 ? p[1].fd : -1) <= 0)
				stdin_open = false;
		}
	}
done:
	if (master >= 0)
		drain_master(master);
	return 0;
}
