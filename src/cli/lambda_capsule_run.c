/* lambda_capsule_run: one process per node (lambda_capsule_node.c), all at once, or one after
 * the other with --iterative; their output read line by line and handed on whole (lines of two
 * nodes never mix), cntr's --json summary taken from each node's stdout (every line of a target
 * is prefixed "[name] ", so an unprefixed line starting {"targets": is cntr's), and the results
 * gathered into one report. An interrupt is passed to every node process, which cleans up. */
#include "cli/lambda_capsule_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/lambda_json.h"
#include "cli/lambda_signals.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

#define LINE_MAX_BYTES 65536
#define REPORT_MAX 4096
#define RESULTS_PREFIX "{\"targets\":"

static void emit(const struct capsule_request *req, enum capsule_stream s, const char *line)
{
	if (req->on_line)
		req->on_line(req->ctx, s, line);
}

static int start_node(struct kube_config *cfg, const struct capsule_request *req, struct capsule_node *n)
{
	int out[2], errp[2], rep[2];

	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]), close(out[1]);
		return -1;
	}
	if (pipe2(rep, O_CLOEXEC) < 0) {
		close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	n->pid = fork();
	if (n->pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(errp[1], STDERR_FILENO) < 0)
			_exit(CNTR_EXIT_FAILURE);
		_exit(capsule_node_main(cfg, req, n, rep[1]));
	}
	close(out[1]), close(errp[1]), close(rep[1]);
	if (n->pid < 0) {
		close(out[0]), close(errp[0]), close(rep[0]);
		n->pid = 0;
		return -1;
	}
	n->out_fd = out[0], n->err_fd = errp[0], n->report_fd = rep[0];
	return 0;
}

/* One complete line of a node's stdout or stderr. */
static void take_line(const struct capsule_request *req, struct capsule_node *n, enum capsule_stream s, char *line)
{
	if (s == CAPSULE_STDOUT && strncmp(line, RESULTS_PREFIX, strlen(RESULTS_PREFIX)) == 0) {
		json_decref(n->results);
		n->results = json_loads(line, 0, NULL);
		return;
	}
	emit(req, s, line);
}

/* Read what is there from *fd into buf; hand on every complete line; at EOF the rest. */
static void drain(const struct capsule_request *req, struct capsule_node *n, int *fd, char **buf, size_t *len,
		  enum capsule_stream s)
{
	char chunk[16384];
	ssize_t got = read(*fd, chunk, sizeof(chunk));
	size_t start = 0;

	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got > 0) {
		*buf = realloc(*buf, *len + (size_t)got + 1);
		if (!*buf)
			abort();
		memcpy(*buf + *len, chunk, (size_t)got);
		*len += (size_t)got;
		for (size_t i = 0; i < *len; i++) {
			if ((*buf)[i] != '\n')
				continue;
			(*buf)[i] = '\0';
			take_line(req, n, s, *buf + start);
			start = i + 1;
		}
		memmove(*buf, *buf + start, *len - start);
		*len -= start;
		/* cntr cuts its lines at 4 KiB; anything else that long goes on in pieces. */
		if (*len > LINE_MAX_BYTES) {
			(*buf)[*len] = '\0';
			take_line(req, n, s, *buf);
			*len = 0;
		}
		return;
	}
	if (*len) {
		(*buf)[*len] = '\0';
		take_line(req, n, s, *buf);
		*len = 0;
	}
	close(*fd);
	*fd = -1;
}

static void drain_report(struct capsule_node *n)
{
	char chunk[1024];
	ssize_t got = read(n->report_fd, chunk, sizeof(chunk));

	if (got < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (got <= 0) {
		close(n->report_fd);
		n->report_fd = -1;
		return;
	}
	if (n->report_len + (size_t)got > REPORT_MAX)
		got = (ssize_t)(REPORT_MAX - n->report_len);
	n->report_buf = realloc(n->report_buf, n->report_len + (size_t)got + 1);
	if (!n->report_buf)
		abort();
	memcpy(n->report_buf + n->report_len, chunk, (size_t)got);
	n->report_len += (size_t)got;
	n->report_buf[n->report_len] = '\0';
}

static bool node_done(const struct capsule_node *n)
{
	return n->pid && n->exited && n->out_fd < 0 && n->err_fd < 0 && n->report_fd < 0;
}

/* One round over every running node: poll (and the signal fd), read, reap. */
static void step(const struct capsule_request *req, struct capsule_plan *plan)
{
	struct pollfd fds[plan->nnodes * 3 + 1];
	size_t owner[plan->nnodes * 3 + 1], nfds = 0;

	fds[nfds++] = (struct pollfd){ .fd = lambda_signals_fd(), .events = POLLIN };
	for (size_t i = 0; i < plan->nnodes; i++) {
		struct capsule_node *n = &plan->nodes[i];
		int node_fds[3] = { n->out_fd, n->err_fd, n->report_fd };
		for (int k = 0; n->pid && k < 3; k++)
			if (node_fds[k] >= 0) {
				owner[nfds] = i;
				fds[nfds++] = (struct pollfd){ .fd = node_fds[k], .events = POLLIN };
			}
	}
	if (poll(fds, nfds, 200) > 0) {
		for (size_t k = 1; k < nfds; k++) {
			struct capsule_node *n = &plan->nodes[owner[k]];
			if (!fds[k].revents)
				continue;
			if (fds[k].fd == n->out_fd)
				drain(req, n, &n->out_fd, &n->out_buf, &n->out_len, CAPSULE_STDOUT);
			else if (fds[k].fd == n->err_fd)
				drain(req, n, &n->err_fd, &n->err_buf, &n->err_len, CAPSULE_STDERR);
			else if (fds[k].fd == n->report_fd)
				drain_report(n);
		}
	}
	for (size_t i = 0; i < plan->nnodes; i++) {
		struct capsule_node *n = &plan->nodes[i];
		if (n->pid && !n->exited && waitpid(n->pid, &n->wait_status, WNOHANG) == n->pid)
			n->exited = true;
	}
}

static void result_of(struct capsule_result *r, const struct capsule_node *n, const char *name, const char *error)
{
	const json_t *item = NULL;
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(n->results, "targets"), i, t)
		if (strcmp(json_str(t, "target"), name) == 0)
			item = t;
	*r = (struct capsule_result){ .name = xstrdup(name), .node = xstrdup(n->name), .exit = -1 };
	if (!item) {
		r->error = xstrdup(error);
		return;
	}
	if (json_is_true(json_object_get(item, "started"))) {
		r->exit = (int)json_integer_value(json_object_get(item, "exit"));
		r->timed_out = json_is_true(json_object_get(item, "timedOut"));
		r->seconds = json_number_value(json_object_get(item, "seconds"));
	} else {
		r->error = xstrdup("not started (--fail-fast: another target failed)");
	}
}

/* Why a node's targets have no results: its own report, else how its process ended. */
static char *node_error(const struct capsule_node *n, bool started, int signo)
{
	if (!started)
		return xstrdup(signo ? "not started (interrupted)" : "not started (--fail-fast: another target failed)");
	if (n->report_len)
		return xstrdup(n->report_buf);
	if (WIFSIGNALED(n->wait_status))
		return xasprintf("node %s: the run was killed by signal %d", n->name, WTERMSIG(n->wait_status));
	return xasprintf("node %s: the run ended with status %d and no results", n->name, WEXITSTATUS(n->wait_status));
}

static void collect_node(const struct capsule_request *req, struct capsule_report *rep, struct capsule_node *n,
			 bool started, int signo)
{
	_cleanup_free_ char *error = node_error(n, started, signo);

	for (size_t j = 0; j < n->n; j++) {
		struct capsule_result *r = &rep->results[n->first + j];
		result_of(r, n, n->targets[j]->name, error);
		if (r->exit != 0)
			rep->failed++;
		if (r->error && started && n->report_len) {
			_cleanup_free_ char *line = xasprintf("[%s] not run: %s", r->name, r->error);
			emit(req, CAPSULE_STDERR, line);
		}
	}
}

static int no_targets(const struct capsule_request *req, const struct capsule_plan *plan, struct cntr_err *err)
{
	const char *what = req->selector ? req->selector : "the pods given";

	if (plan->nskipped == 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "no pod matches %s %s%s", what,
				 req->all_namespaces ? "in any namespace" : "in namespace ",
				 req->all_namespaces ? "" : req->namespace);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "no running target: %zu pod(s) skipped, e.g. %s: %s", plan->nskipped,
			 plan->skipped[0].name, plan->skipped[0].skipped);
}

static bool any_failed(const struct capsule_node *n)
{
	size_t i;
	json_t *t;

	if (!n->results)
		return true;
	json_array_foreach(json_object_get(n->results, "targets"), i, t)
		if (json_integer_value(json_object_get(t, "exit")) != 0)
			return true;
	return false;
}

/* Start nodes while allowed; run until every started one is done; pass an interrupt on. */
static void run_nodes(struct kube_config *cfg, const struct capsule_request *req, struct capsule_plan *plan,
		      bool *started, struct capsule_report *rep)
{
	size_t next = 0, done_targets = 0;
	bool stop = false, forwarded = false;

	for (;;) {
		size_t running = 0;
		for (size_t i = 0; i < plan->nnodes; i++)
			running += plan->nodes[i].pid && !node_done(&plan->nodes[i]);
		while (!stop && !lambda_signals_caught() && next < plan->nnodes && (!req->iterative || running == 0)) {
			struct capsule_node *n = &plan->nodes[next];
			started[next++] = start_node(cfg, req, n) == 0;
			running += started[next - 1];
		}
		if (running == 0 && (next >= plan->nnodes || stop || lambda_signals_caught()))
			break;
		if (lambda_signals_caught() && !forwarded) {
			forwarded = true;
			for (size_t i = 0; i < plan->nnodes; i++)
				if (plan->nodes[i].pid && !plan->nodes[i].exited)
					kill(plan->nodes[i].pid, SIGTERM);
		}
		step(req, plan);
		for (size_t i = 0; i < plan->nnodes; i++) {
			struct capsule_node *n = &plan->nodes[i];
			if (node_done(n) && n->pid > 0) {
				collect_node(req, rep, n, true, 0);
				n->pid = -1;  /* collected */
				done_targets += n->n;
				stop |= req->fail_fast && any_failed(n);
				if (req->on_progress)
					req->on_progress(req->ctx, done_targets, plan->ntargets);
			}
		}
	}
}

int lambda_capsule_run(struct kube_config *cfg, const struct capsule_request *req, struct capsule_report *rep,
		       struct cntr_err *err)
{
	__attribute__((cleanup(capsule_plan_clear))) struct capsule_plan plan = { 0 };
	_cleanup_free_ bool *started = NULL;

	memset(rep, 0, sizeof(*rep));
	if (capsule_plan_make(cfg, req, &plan, err) < 0)
		return -1;
	if (plan.ntargets == 0)
		return no_targets(req, &plan, err);
	rep->targets = plan.ntargets;
	rep->n = plan.ntargets + plan.nskipped;
	rep->results = calloc(rep->n, sizeof(*rep->results));
	started = calloc(plan.nnodes, sizeof(*started));
	if (!rep->results || !started)
		abort();
	run_nodes(cfg, req, &plan, started, rep);
	for (size_t i = 0; i < plan.nnodes; i++)
		if (plan.nodes[i].pid != -1)
			collect_node(req, rep, &plan.nodes[i], false, lambda_signals_caught());
	for (size_t i = 0; i < plan.nskipped; i++) {
		rep->results[plan.ntargets + i] = plan.skipped[i];
		plan.skipped[i] = (struct capsule_result){ 0 };
	}
	rep->interrupted = lambda_signals_caught();
	return 0;
}

void capsule_report_clear(struct capsule_report *rep)
{
	for (size_t i = 0; i < rep->n; i++) {
		free(rep->results[i].name);
		free(rep->results[i].node);
		free(rep->results[i].skipped);
		free(rep->results[i].error);
	}
	free(rep->results);
	memset(rep, 0, sizeof(*rep));
}
