#include "cli/lambda_watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "kube/http.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The child: every descriptor of lambda-cntr but the pipe closed (its API connections belong
 * to the parent: the child makes its own), no terminal, no signal from it. */
__attribute__((noreturn)) static void watch(int fd, lambda_watchdog_fn cleanup, void *ctx)
{
	int null;
	char byte;
	ssize_t n;

	setsid();
	/* lambda-cntr's connections: closing our references sends nothing on them. */
	if (fd > 3)
		syscall(SYS_close_range, 3, fd - 1, 0);
	syscall(SYS_close_range, fd + 1, ~0U, 0);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	kube_http_set_interrupt_flag(NULL); /* lambda-cntr's signals are not ours */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	do {
		n = read(fd, &byte, 1);
	} while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	kube_http_after_fork();
	cleanup(ctx);
	_exit(0);
}

void lambda_watchdog_start(struct lambda_watchdog *w, lambda_watchdog_fn cleanup, void *ctx)
{
	int p[2];

	w->pid = 0;
	w->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_info("watchdog: %s; a killed session's keep-alive waits for the next run", strerror(errno));
		return;
	}
	w->pid = fork();
	if (w->pid == 0) {
		close(p[1]);
		watch(p[0], cleanup, ctx);
	}
	close(p[0]);
	if (w->pid < 0) {
		log_info("watchdog: %s; a killed session's keep-alive waits for the next run", strerror(errno));
		close(p[1]);
		w->pid = 0;
		return;
	}
	w->fd = p[1];
}

void lambda_watchdog_stand_down(struct lambda_watchdog *w)
{
	if (w->fd < 0)
		return;
	if (write(w->fd, "d", 1) != 1)
		log_debug("watchdog: %s", strerror(errno));
	close(w->fd);
	w->fd = -1;
	waitpid(w->pid, NULL, 0);
	w->pid = 0;
}
