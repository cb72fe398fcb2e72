#include "engine_exec.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

bool engine_program_exists(const char *program)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	if (strchr(program, '/'))
		return access(program, X_OK) == 0;
	copy = xstrdup(path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *full = xasprintf("%s/%s", dir, program);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			return true;
	}
	return false;
}

/* In the child: stdout to the pipe, stdin and stderr to /dev/null, everything else closed. */
static void exec_child(char *const argv[], int out_fd)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
	    dup2(null_fd, STDERR_FILENO) < 0)
		_exit(127);
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
		/* Kernels before 5.9: close what the limit allows. */
		long max = sysconf(_SC_OPEN_MAX);
		for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
			close((int)fd);
	}
	execvp(argv[0], argv);
	_exit(127);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int append_bytes(char **buf, size_t *len, const char *data, size_t n)
{
	char *bigger = realloc(*buf, *len + n + 1);
	if (!bigger)
		return -1;
	memcpy(bigger + *len, data, n);
	*len += n;
	bigger[*len] = '\0';
	*buf = bigger;
	return 0;
}

/* Read the pipe until EOF or the deadline. Returns 0 at EOF, -1 with errno (ETIMEDOUT). */
static int read_until_eof(int fd, int64_t deadline, char **buf, size_t *len)
{
	for (;;) {
		char chunk[4096];
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;
		int r;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue; /* re-checks the deadline */
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (append_bytes(buf, len, chunk, (size_t)n) < 0)
			return -1;
	}
}

static int exit_status_of(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

/* Reap pid, killing it once the deadline has passed. */
static int wait_child(pid_t pid, int64_t deadline)
{
	int wstatus;
	for (;;) {
		pid_t r = waitpid(pid, &wstatus, WNOHANG);
		if (r == pid)
			return exit_status_of(wstatus);
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline)
			break;
		usleep(5000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &wstatus, 0) < 0)
		if (errno != EINTR)
			return -1;
	return -1;
}

int engine_run(char *const argv[], int timeout_ms, char **output, int *status,
	       struct cntr_err *err)
{
	int fds[2];
	_cleanup_close_ int read_end = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int64_t deadline = now_ms() + timeout_ms;
	pid_t pid;
	int saved;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return cntr_fail_errno(err, "pipe for %s", argv[0]);
	read_end = fds[0];
	pid = fork();
	if (pid < 0) {
		saved = errno;
		close(fds[1]);
		return cntr_fail(err, CNTR_EXIT_FAILURE, saved, "fork for %s", argv[0]);
	}
	if (pid == 0)
		exec_child(argv, fds[1]);
	close(fds[1]);
	buf = xstrdup("");
	if (read_until_eof(read_end, deadline, &buf, &len) < 0) {
		saved = errno;
		wait_child(pid, 0);
		return cntr_fail(err, CNTR_EXIT_FAILURE, saved, "%s did not answer", argv[0]);
	}
	/* EOF on stdout normally means the tool is ending; still bounded by the deadline. */
	*status = wait_child(pid, deadline);
	*output = steal_pointer(&buf);
	return 0;
}
