#include "capsule_run.h"

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096   /* a longer line is cut into pieces, each prefixed */
#define KILL_GRACE_MS 2000    /* after the timeout's SIGTERM, SIGKILL */

enum { STREAM_OUT, STREAM_ERR, STREAMS };

struct stream {
	int fd;                   /* read end, -1 once closed */
	char line[LINE_MAX_BYTES];
	size_t len;
};

struct running {
	struct capsule_target *target;
	pid_t pid;                /* 0: slot free */
	struct stream streams[STREAMS];
	double started;           /* seconds, monotonic */
	bool exited, term_sent, kill_sent;
	int wait_status;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit_line(const struct running *r, int which, const char *text, size_t len)
{
	char head[300];
	int n = snprintf(head, sizeof(head), "[%s] ", r->target->ref);

	write_all(which == STREAM_OUT ? STDOUT_FILENO : STDERR_FILENO, head, (size_t)n);
	write_all(which == STREAM_OUT ? STDOUT_FILENO : STDERR_FILENO, text, len);
	write_all(which == STREAM_OUT ? STDOUT_FILENO : STDERR_FILENO, "\n", 1);
}

/* Read what is there; emit every complete line; at EOF the rest. */
static void drain(struct running *r, int which)
{
	struct stream *s = &r->streams[which];
	char buf[4096];
	ssize_t n = read(s->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (s->len)
			emit_line(r, which, s->line, s->len);
		s->len = 0;
		close(s->fd);
		s->fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || s->len == sizeof(s->line)) {
			emit_line(r, which, s->line, s->len);
			s->len = 0;
			if (buf[i] == '\n')
				continue;
		}
		s->line[s->len++] = buf[i];
	}
}

static int start_one(struct running *r, struct capsule_target *t, capsule_session_fn session, void *ctx)
{
	int out[2], err[2];

	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(err, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	r->pid = fork();
	if (r->pid == 0) {
		/* stdin: the targets cannot share one; each session reads nothing. */
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		/* No orphan (docs/security.md): this target's relay dies with cntr, even by SIGKILL,
		 * and its session with it (the session's processes die with their relay). A parent
		 * gone before the prctl is seen by getppid. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(125);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(err[1], STDERR_FILENO) < 0)
			_exit(125);
		_exit(session(t->ref, ctx));
	}
	close(out[1]);
	close(err[1]);
	if (r->pid < 0) {
		close(out[0]);
		close(err[0]);
		r->pid = 0;
		return -1;
	}
	*r = (struct running){ .target = t, .pid = r->pid, .started = now_seconds() };
	r->streams[STREAM_OUT].fd = out[0];
	r->streams[STREAM_ERR].fd = err[0];
	return 0;
}

static void finish(struct running *r)
{
	int st = r->wait_status;

	r->target->seconds = now_seconds() - r->started;
	r->target->status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	if (r->target->timed_out)
		r->target->status = 124; /* as timeout(1) */
	r->pid = 0;
}

/* SIGTERM at the deadline (cntr passes it to the command), SIGKILL after a grace period
 * (the command dies with cntr). Returns ms until the next deadline, or -1. */
static int enforce_timeout(struct running *r, long timeout_ms)
{
	double elapsed = (now_seconds() - r->started) * 1000.0;

	if (timeout_ms <= 0 || r->exited)
		return -1;
	if (!r->term_sent && elapsed >= (double)timeout_ms) {
		r->target->timed_out = r->term_sent = true;
		log_warn("%s: timed out after %ld ms", r->target->ref, timeout_ms);
		kill(r->pid, SIGTERM);
	}
	if (r->term_sent && !r->kill_sent && elapsed >= (double)(timeout_ms + KILL_GRACE_MS)) {
		r->kill_sent = true;
		kill(r->pid, SIGKILL);
	}
	if (r->kill_sent)
		return -1;
	return (int)((r->term_sent ? timeout_ms + KILL_GRACE_MS : timeout_ms) - elapsed) + 1;
}

/* One round: poll every open stream (bounded by the nearest deadline), reap what exited. */
static void step(struct running *slots, size_t nslots, long timeout_ms)
{
	struct pollfd fds[nslots * STREAMS];
	struct { size_t slot; int which; } owner[nslots * STREAMS];
	size_t nfds = 0;
	int wait_ms = 200; /* reaping children whose streams closed early */

	for (size_t i = 0; i < nslots; i++) {
		int ms = slots[i].pid ? enforce_timeout(&slots[i], timeout_ms) : -1;
		if (ms >= 0 && ms < wait_ms)
			wait_ms = ms;
		for (int w = 0; slots[i].pid && w < STREAMS; w++)
			if (slots[i].streams[w].fd >= 0) {
				fds[nfds] = (struct pollfd){ .fd = slots[i].streams[w].fd, .events = POLLIN };
				owner[nfds].slot = i;
				owner[nfds++].which = w;
			}
	}
	if (nfds && poll(fds, nfds, wait_ms) > 0)
		for (size_t k = 0; k < nfds; k++)
			if (fds[k].revents)
				drain(&slots[owner[k].slot], owner[k].which);
	for (size_t i = 0; i < nslots; i++) {
		struct running *r = &slots[i];
		if (!r->pid)
			continue;
		if (!r->exited && waitpid(r->pid, &r->wait_status, WNOHANG) == r->pid)
			r->exited = true;
		if (r->exited && r->streams[STREAM_OUT].fd < 0 && r->streams[STREAM_ERR].fd < 0)
			finish(r);
	}
}

size_t capsule_run_targets(struct capsule_target *targets, size_t n, const struct capsule_policy *policy,
			   capsule_session_fn session, void *ctx)
{
	size_t nslots = policy->parallel ? policy->parallel : 1, next = 0, failed = 0;
	_cleanup_free_ struct running *slots = calloc(nslots, sizeof(*slots));
	bool stop = false;

	if (!slots)
		abort();
	for (size_t i = 0; i < n; i++)
		targets[i] = (struct capsule_target){ .ref = targets[i].ref, .status = -1 };
	for (;;) {
		bool busy = false;
		for (size_t i = 0; i < nslots; i++) {
			if (!slots[i].pid && next < n && !stop) {
				if (start_one(&slots[i], &targets[next], session, ctx) < 0)
					log_error("%s: cannot start its session: %s", targets[next].ref, strerror(errno));
				next++;
			}
			busy |= slots[i].pid != 0;
		}
		if (!busy && (next >= n || stop))
			break;
		step(slots, nslots, policy->timeout_ms);
		for (size_t i = 0; i < n && policy->fail_fast && !stop; i++)
			stop = targets[i].status > 0;
	}
	for (size_t i = 0; i < n; i++)
		failed += targets[i].status != 0;
	return failed;
}

void capsule_print_summary(FILE *out, const struct capsule_target *targets, size_t n)
{
	size_t width = 6;

	for (size_t i = 0; i < n; i++)
		if (strlen(targets[i].ref) > width)
			width = strlen(targets[i].ref);
	fprintf(out, "%-*s  %-9s  %s\n", (int)width, "TARGET", "EXIT", "SECONDS");
	for (size_t i = 0; i < n; i++) {
		const struct capsule_target *t = &targets[i];
		char exit_text[16];
		if (t->status < 0)
			snprintf(exit_text, sizeof(exit_text), "not run");
		else if (t->timed_out)
			snprintf(exit_text, sizeof(exit_text), "timeout");
		else
			snprintf(exit_text, sizeof(exit_text), "%d", t->status);
		fprintf(out, "%-*s  %-9s  %.3f\n", (int)width, t->ref, exit_text, t->seconds);
	}
}

static void print_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void capsule_print_json(FILE *out, const struct capsule_target *targets, size_t n)
{
	size_t failed = 0;

	fputs("{\"targets\":[", out);
	for (size_t i = 0; i < n; i++) {
		const struct capsule_target *t = &targets[i];
		failed += t->status != 0;
		fputs(i ? ",{\"target\":" : "{\"target\":", out);
		print_json_string(out, t->ref);
		fprintf(out, ",\"exit\":%d,\"started\":%s,\"timedOut\":%s,\"seconds\":%.3f}", t->status,
			t->status >= 0 ? "true" : "false", t->timed_out ? "true" : "false", t->seconds);
	}
	fprintf(out, "],\"failed\":%zu}\n", failed);
}
