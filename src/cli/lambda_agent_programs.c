/* The agent's small programs, exec'd in it: count the other sessions, look for cntr, end a session. */
#include "cli/lambda_agent.h"
#include "cli/lambda_agent_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/lambda_agent_spec.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/exec_stream.h"
#include "kube/safe_text.h"

/* The agent's small programs print a count or a path: anything longer is not their answer, and
 * it would otherwise pile up in memory (memfd). */
#define AGENT_PROGRAM_OUTPUT_MAX (64u << 10)

/* Exec one of the agent's small programs; its stdout (trailing whitespace cut) in *output.
 * With exit_status, its status goes there; without, a non-zero status is an error. */
static int run_agent_program(struct kube_config *cfg, const struct lambda_agent *a, char **argv,
			     char **output, int *exit_status, struct cntr_err *err)
{
	_cleanup_close_ int out = memfd_create("lambda-cntr-agent-out", MFD_CLOEXEC);
	_cleanup_close_ int errout = memfd_create("lambda-cntr-agent-err", MFD_CLOEXEC);
	struct kube_exec_opts opts;
	size_t len;
	int status;

	if (out < 0 || errout < 0)
		return cntr_fail_errno(err, "memfd_create for a program in agent %s", a->name);
	kube_exec_opts_init(&opts);
	opts.forward_stdin = false;
	opts.out_fd = out;
	opts.err_fd = errout;
	opts.output_max = AGENT_PROGRAM_OUTPUT_MAX;
	if (kube_exec(cfg, a->namespace, a->name, LAMBDA_AGENT_CONTAINER, argv, &opts, &status, err) !=
	    KUBE_EXEC_DONE)
		return -1;
	if (lseek(out, 0, SEEK_SET) < 0 || read_fd_all(out, output, &len) < 0)
		return cntr_fail_errno(err, "reading the output of a program in agent %s", a->name);
	while (len && (*output)[len - 1] && strchr(" \t\n", (*output)[len - 1]))
		(*output)[--len] = '\0';
	if (exit_status) {
		*exit_status = status;
		return 0;
	}
	if (status != 0) {
		_cleanup_free_ char *text = kube_safe_text(*output);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exit status %d (output \"%s\")", status, text);
	}
	return 0;
}

/* Runs a counting program (`cntr agent count-...`) in the agent and reads its number. */
static int agent_count(struct kube_config *cfg, const struct lambda_agent *a, char **argv, int *count,
		       struct cntr_err *err)
{
	_cleanup_free_ char *text = NULL;
	uint64_t n;

	if (run_agent_program(cfg, a, argv, &text, NULL, err) < 0)
		return cntr_err_prefix(err, "counting the sessions of agent %s: ", a->name);
	if (parse_u64(text, &n) < 0 || n > INT32_MAX) {
		_cleanup_free_ char *answer = kube_safe_text(text);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "counting the sessions of agent %s: unexpected answer \"%s\"", a->name, answer);
	}
	*count = (int)n;
	return 0;
}

int lambda_agent_count_others(struct kube_config *cfg, const struct lambda_agent *a,
			      const char *session_id, int *count, struct cntr_err *err)
{
	_cleanup_strv_ char **argv = lambda_agent_count_others_argv(session_id);
	return agent_count(cfg, a, argv, count, err);
}

int lambda_agent_count_mine(struct kube_config *cfg, const struct lambda_agent *a, const char *session_id,
			    int *count, struct cntr_err *err)
{
	_cleanup_strv_ char **argv = lambda_agent_count_mine_argv(session_id);
	return agent_count(cfg, a, argv, count, err);
}

int lambda_agent_check_cntr(struct kube_config *cfg, const struct lambda_agent *a, const char *image,
			    struct cntr_err *err)
{
	_cleanup_strv_ char **argv = lambda_agent_find_cntr_argv();
	_cleanup_free_ char *where = NULL;
	struct cntr_err probe_err = { 0 };
	int status = 0;

	/* A check that cannot run says nothing about the image: the status stands. */
	if (run_agent_program(cfg, a, argv, &where, &status, &probe_err) < 0) {
		log_info("checking for cntr in agent %s: %s", a->name, probe_err.msg);
		return 0;
	}
	if (status == 0) {
		log_debug("agent %s has cntr at %s", a->name, where);
		return 0;
	}
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "agent image %s has no `cntr` on its PATH, so nothing could be attached; use the "
			 "lambda-cntr agent image (-i/$CNTR_IMAGE, see images/README.md)", image);
}

int lambda_agent_end_session(struct kube_config *cfg, const struct lambda_agent *a,
			     const char *session_id, struct cntr_err *err)
{
	_cleanup_strv_ char **argv = lambda_agent_end_session_argv(session_id);
	_cleanup_free_ char *text = NULL;

	if (run_agent_program(cfg, a, argv, &text, NULL, err) < 0)
		return cntr_err_prefix(err, "ending session %s in agent %s: ", session_id, a->name);
	return 0;
}
