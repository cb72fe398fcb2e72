/* The local terminal during an interactive exec: raw mode (restored on every exit path) and
 * its window size. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <termios.h>

struct cntr_err;

struct kube_terminal {
	int fd;       /* -1 when nothing was changed */
	struct termios saved;
};

/* Put fd in raw mode, remembering the previous settings. */
int kube_terminal_make_raw(struct kube_terminal *t, int fd, struct cntr_err *err);
/* Restore the saved settings (no-op when make_raw was not done). Idempotent. */
void kube_terminal_restore(struct kube_terminal *t);

/* Window size of fd; 0 or -1 when fd is not a terminal. */
int kube_terminal_size(int fd, unsigned *width, unsigned *height);

/* Window-size changes: while started, SIGWINCH makes fd readable (a self-pipe), so a poll loop
 * can send the new size. The previous SIGWINCH disposition is restored by stop. */
struct kube_resize_watch {
	int fd;         /* poll for POLLIN; -1 when not started */
	int write_fd;
	struct sigaction old;
};

int kube_resize_watch_start(struct kube_resize_watch *w, struct cntr_err *err);
/* Consume the pending notifications (call when fd was readable). */
void kube_resize_watch_ack(struct kube_resize_watch *w);
void kube_resize_watch_stop(struct kube_resize_watch *w);

static inline void cleanup_kube_terminalp(struct kube_terminal *t)
{
	kube_terminal_restore(t);
}
#define _cleanup_kube_terminal_ __attribute__((cleanup(cleanup_kube_terminalp)))
