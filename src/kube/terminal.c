#include "kube/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/err.h"

int kube_terminal_make_raw(struct kube_terminal *t, int fd, struct cntr_err *err)
{
	struct termios raw;

	t->fd = -1;
	if (tcgetattr(fd, &t->saved) < 0)
		return cntr_fail_errno(err, "terminal: reading the settings of fd %d", fd);
	raw = t->saved;
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return cntr_fail_errno(err, "terminal: switching fd %d to raw mode", fd);
	t->fd = fd;
	return 0;
}

void kube_terminal_restore(struct kube_terminal *t)
{
	int saved_errno = errno;

	if (t->fd < 0)
		return;
	/* TCSADRAIN: let the last output of the remote command reach the screen first. */
	tcsetattr(t->fd, TCSADRAIN, &t->saved);
	t->fd = -1;
	errno = saved_errno;
}

int kube_terminal_size(int fd, unsigned *width, unsigned *height)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
		return -1;
	*width = ws.ws_col;
	*height = ws.ws_row;
	return 0;
}

/* The handler can only reach a global; one session at a time uses it. */
static int resize_pipe_write = -1;

static void on_sigwinch(int sig)
{
	int saved = errno;
	char c = 0;
	if (resize_pipe_write >= 0 && write(resize_pipe_write, &c, 1) < 0) {
		/* pipe full: a resize is already pending, nothing is lost */
	}
	errno = saved;
}

int kube_resize_watch_start(struct kube_resize_watch *w, struct cntr_err *err)
{
	struct sigaction sa = { .sa_handler = on_sigwinch, .sa_flags = SA_RESTART };
	int p[2];

	w->fd = w->write_fd = -1;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return cntr_fail_errno(err, "terminal: creating the resize pipe");
	w->fd = p[0];
	w->write_fd = resize_pipe_write = p[1];
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, &w->old);
	return 0;
}

void kube_resize_watch_ack(struct kube_resize_watch *w)
{
	char buf[64];
	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
}

void kube_resize_watch_stop(struct kube_resize_watch *w)
{
	if (w->fd < 0)
		return;
	sigaction(SIGWINCH, &w->old, NULL);
	resize_pipe_write = -1;
	close(w->fd);
	close(w->write_fd);
	w->fd = w->write_fd = -1;
}
