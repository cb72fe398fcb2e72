/* The local terminal during exec: raw mode and its restoration, window size, and SIGWINCH
 * notifications through the resize watch (with the previous handler restored). A real pty. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "common/err.h"
#include "kube/terminal.h"

static void test_raw_mode_is_set_and_restored(void **state)
{
	int master, slave;
	struct termios t;
	struct kube_terminal term;
	struct cntr_err err = { 0 };
	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	assert_int_equal(kube_terminal_make_raw(&term, slave, &err), 0);
	assert_int_equal(tcgetattr(slave, &t), 0);
	assert_false(t.c_lflag & (ICANON | ECHO | ISIG));
	kube_terminal_restore(&term);
	assert_int_equal(tcgetattr(slave, &t), 0);
	assert_true(t.c_lflag & ICANON);
	assert_true(t.c_lflag & ECHO);
	kube_terminal_restore(&term); /* idempotent */
	close(master);
	close(slave);
}

static void test_raw_mode_on_a_non_terminal_fails_and_changes_nothing(void **state)
{
	int p[2];
	struct kube_terminal term;
	struct cntr_err err = { 0 };
	assert_int_equal(pipe(p), 0);
	assert_int_equal(kube_terminal_make_raw(&term, p[0], &err), -1);
	assert_int_equal(term.fd, -1);
	kube_terminal_restore(&term);
	close(p[0]);
	close(p[1]);
}

static void test_window_size_is_read_from_the_terminal(void **state)
{
	int master, slave, p[2];
	struct winsize ws = { .ws_row = 33, .ws_col = 101 };
	unsigned w = 0, h = 0;
	assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
	assert_int_equal(kube_terminal_size(slave, &w, &h), 0);
	assert_int_equal(w, 101);
	assert_int_equal(h, 33);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(kube_terminal_size(p[0], &w, &h), -1);
	close(p[0]);
	close(p[1]);
	close(master);
	close(slave);
}

static volatile sig_atomic_t previous_handler_calls;

static void previous_handler(int sig)
{
	previous_handler_calls++;
}

static void test_sigwinch_wakes_the_resize_watch_and_old_handler_comes_back(void **state)
{
	struct kube_resize_watch w;
	struct cntr_err err = { 0 };
	struct pollfd pfd;
	signal(SIGWINCH, previous_handler);
	assert_int_equal(kube_resize_watch_start(&w, &err), 0);
	pfd = (struct pollfd){ .fd = w.fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 0), 0); /* nothing yet */
	raise(SIGWINCH);
	raise(SIGWINCH);
	assert_int_equal(poll(&pfd, 1, -1), 1);
	kube_resize_watch_ack(&w);
	assert_int_equal(poll(&pfd, 1, 0), 0); /* both notifications consumed */
	assert_int_equal(previous_handler_calls, 0);
	kube_resize_watch_stop(&w);
	assert_int_equal(w.fd, -1);
	raise(SIGWINCH);
	assert_int_equal(previous_handler_calls, 1);
	signal(SIGWINCH, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_raw_mode_is_set_and_restored),
		cmocka_unit_test(test_raw_mode_on_a_non_terminal_fails_and_changes_nothing),
		cmocka_unit_test(test_window_size_is_read_from_the_terminal),
		cmocka_unit_test(test_sigwinch_wakes_the_resize_watch_and_old_handler_comes_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
