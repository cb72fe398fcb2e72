#include "cli/lambda_signals.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "kube/http.h"

static volatile sig_atomic_t caught_signal;
static int self_pipe[2] = { -1, -1 };

static void on_signal(int signo)
{
	int saved = errno;

	if (!caught_signal)
		caught_signal = signo;
	if (self_pipe[1] >= 0)
		(void)!write(self_pipe[1], "x", 1);
	errno = saved;
}

int lambda_signals_install(struct cntr_err *err)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	if (pipe2(self_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return cntr_fail_errno(err, "creating the signal pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (sigaction(signals[i], &sa, NULL) < 0)
			return cntr_fail_errno(err, "installing the handler for signal %d", signals[i]);
	}
	/* A closed terminal or pipe must not kill us before cleanup: write errors are handled. */
	signal(SIGPIPE, SIG_IGN);
	kube_http_set_interrupt_flag(&caught_signal);
	return 0;
}

int lambda_signals_fd(void)
{
	return self_pipe[0];
}

int lambda_signals_caught(void)
{
	return caught_signal;
}

void lambda_signals_allow_cleanup(void)
{
	kube_http_set_interrupt_flag(NULL);
}

int lambda_signals_exit_code(int signo)
{
	return signo == SIGTERM ? CNTR_EXIT_SIGTERM : signo == SIGINT ? CNTR_EXIT_SIGINT : 128 + signo;
}
