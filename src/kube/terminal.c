#include "kube/terminal.h"

#include <errno.h>
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
