#include "agent_audit.h"

#include "agent_sessions.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_PREFIX "lambda-cntr agent: audit: "
#define CUT_MARK "..."

static const char *run_dir(void)
{
	const char *dir = getenv(AGENT_RUN_DIR_ENV);
	return dir && *dir ? dir : NULL;
}

int agent_audit_publish_pid(struct cntr_err *err)
{
	_cleanup_free_ char *tmp = NULL, *path = NULL;
	_cleanup_close_ int fd = -1;
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", (int)getpid());

	if (!run_dir())
		return 0;
	tmp = xasprintf("%s/.%s.%d", run_dir(), AGENT_PIDFILE_NAME, (int)getpid());
	path = xasprintf("%s/%s", run_dir(), AGENT_PIDFILE_NAME);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return cntr_fail_errno(err, "cannot create %s", tmp);
	if (write_all(fd, text, (size_t)n) < 0 || rename(tmp, path) < 0) {
		cntr_fail_errno(err, "cannot publish the agent's pid as %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Appends s (len bytes) when it fits below limit. */
static bool append(char *out, size_t *pos, size_t limit, const char *s, size_t len)
{
	if (*pos + len > limit)
		return false;
	memcpy(out + *pos, s, len);
	*pos += len;
	return true;
}

/* text, escaped so that nothing in it (a user name, a container name, an error message) can
 * start another log line or drive the terminal of whoever reads `kubectl logs`; cut with "..."
 * at limit (the caller keeps room for the mark after limit). */
static void append_escaped(char *out, size_t *pos, size_t limit, const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		char esc[8];
		size_t n = 1;

		if (*c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\\\");
		else if (*c < 0x20 || *c == 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *c);
		else
			esc[0] = (char)*c;
		if (!append(out, pos, limit, esc, n)) {
			memcpy(out + *pos, CUT_MARK, strlen(CUT_MARK));
			*pos += strlen(CUT_MARK);
			return;
		}
	}
}

void agent_audit_format(char *out, size_t out_size, const char *event, const char *what, const char *outcome)
{
	size_t pos = 0, limit = out_size - 1 - strlen(CUT_MARK);
	size_t what_limit;

	if (out_size < AGENT_AUDIT_LINE_MIN)
		abort();  /* a caller's mistake */
	append(out, &pos, limit, LINE_PREFIX, strlen(LINE_PREFIX));
	append(out, &pos, limit, event, strlen(event));
	/* What the broker said is cut first: the outcome (exit status, cntr's failure) is the
	 * part only this line has. */
	what_limit = pos + AGENT_AUDIT_WHAT_MAX < limit ? pos + AGENT_AUDIT_WHAT_MAX : limit;
	append_escaped(out, &pos, what_limit, what);
	if (outcome)
		append_escaped(out, &pos, limit, outcome);
	out[pos] = '\0';
}

static bool cmdline_is_agent_idle(int procfd)
{
	static const char expected_args[] = "agent\0idle";  /* after argv[0], NUL-separated */
	_cleanup_free_ char *cmdline = NULL;
	const char *argv0_base;
	size_t len = 0, argv0_len;

	if (read_file_at(procfd, "cmdline", &cmdline, &len, NULL) < 0)
		return false;
	argv0_len = strnlen(cmdline, len);
	argv0_base = memrchr(cmdline, '/', argv0_len);
	argv0_base = argv0_base ? argv0_base + 1 : cmdline;
	return strcmp(argv0_base, "cntr") == 0 && len == argv0_len + 1 + sizeof(expected_args) &&
	       memcmp(cmdline + argv0_len + 1, expected_args, sizeof(expected_args)) == 0;
}

/* The pid in RUN_DIR/agent.pid. Only a small regular file is read: a FIFO or a device put
 * there must not hold the session. */
static int read_pidfile(const char *pidfile, uint64_t *pid, struct cntr_err *err)
{
	_cleanup_close_ int fd = open(pidfile, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	struct stat st;

	if (fd < 0)
		return cntr_fail_errno(err, "cannot open %s", pidfile);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || read_fd_upto(fd, 32, &text, NULL) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s is not a small regular file", pidfile);
	text[strcspn(text, "\n")] = '\0';
	if (parse_u64(text, pid) < 0 || *pid == 0 || *pid > INT_MAX)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s does not hold a pid", pidfile);
	return 0;
}

/* The pidfile's pid, if it is this agent's main process: `cntr agent idle` with the same
 * LAMBDA_CNTR_AGENT (a stale file, or a pid reused by another process, names something else).
 * Everything is read through one /proc/PID directory fd, so the checks and the open of its
 * stdout are about the same process even if the pid is reused meanwhile. */
static int open_agent_stdout(const char *agent, struct cntr_err *err)
{
	_cleanup_free_ char *pidfile = NULL, *env = NULL, *procdir = NULL;
	_cleanup_close_ int procfd = -1;
	size_t env_len = 0;
	uint64_t pid = 0;
	int fd;

	if (!run_dir())
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s is not set: agent %s publishes no pid (deploy/ "
				 "sets it with an emptyDir there)", AGENT_RUN_DIR_ENV, agent);
	pidfile = xasprintf("%s/%s", run_dir(), AGENT_PIDFILE_NAME);
	if (read_pidfile(pidfile, &pid, err) < 0)
		return -1;
	procdir = xasprintf("/proc/%llu", (unsigned long long)pid);
	procfd = open(procdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return cntr_fail_errno(err, "the agent named by %s (pid %llu) is gone", pidfile,
				       (unsigned long long)pid);
	if (!cmdline_is_agent_idle(procfd) || read_file_at(procfd, "environ", &env, &env_len, NULL) < 0 ||
	    !agent_environ_has(env, env_len, "LAMBDA_CNTR_AGENT", agent))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "pid %llu (from %s) is not `cntr agent idle` of agent %s", (unsigned long long)pid,
				 pidfile, agent);
	/* Non-blocking: a full or stuck log pipe drops the line instead of holding the session. */
	fd = openat(procfd, "fd/1", O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cntr_fail_errno(err, "cannot open the stdout of agent %s (pid %llu)", agent,
				       (unsigned long long)pid);
	return fd;
}

/* One warning per session at most (the end line usually fails for the same reason as the
 * start line); the repeat is shown with -v. */
#define audit_warn(a, ...) log_msg((a)->warned++ ? CNTR_LOG_INFO : CNTR_LOG_WARN, __VA_ARGS__)

static void write_line(struct agent_audit *a, const char *event, const char *outcome)
{
	const char *agent = getenv("LAMBDA_CNTR_AGENT");
	struct cntr_err err = { 0 };
	_cleanup_close_ int fd = -1;
	char line[PIPE_BUF];
	ssize_t written;
	size_t len;

	if (!agent || !*agent) {
		audit_warn(a, "audit: %s is set but not LAMBDA_CNTR_AGENT: no agent's log to record the session in",
			   AGENT_AUDIT_ENV);
		return;
	}
	fd = open_agent_stdout(agent, &err);
	if (fd < 0) {
		audit_warn(a, "audit: the session is not recorded in the agent's log: %s", err.msg);
		return;
	}
	agent_audit_format(line, sizeof(line) - 1, event, a->what, outcome);
	len = strlen(line);
	line[len++] = '\n';
	/* One write: a pipe keeps a write of at most PIPE_BUF bytes whole, between the agent's own
	 * lines and other sessions'. */
	written = write(fd, line, len);
	if (written < 0)
		audit_warn(a, "audit: writing to the log of agent %s failed: %s", agent,
			   errno == EAGAIN ? "its log pipe is full" : strerror(errno));
	else if ((size_t)written != len)
		audit_warn(a, "audit: the log of agent %s took %zd of %zu bytes of the line", agent, written, len);
}

void agent_audit_session_started(struct agent_audit *a)
{
	const char *what = getenv(AGENT_AUDIT_ENV);

	a->what = what && *what ? what : NULL;
	a->warned = 0;
	clock_gettime(CLOCK_MONOTONIC, &a->started);
	if (a->what)
		write_line(a, "session started: ", NULL);
}

void agent_audit_session_ended(struct agent_audit *a, int exit_status, const char *failure)
{
	_cleanup_free_ char *outcome = NULL;
	struct timespec now;
	double seconds;

	if (!a->what)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	seconds = (double)(now.tv_sec - a->started.tv_sec) + (double)(now.tv_nsec - a->started.tv_nsec) / 1e9;
	if (failure)
		outcome = xasprintf(": cntr failed: %s: exit status %d after %.1fs", failure, exit_status, seconds);
	else
		outcome = xasprintf(": exit status %d after %.1fs", exit_status, seconds);
	write_line(a, "session ended: ", outcome);
}
