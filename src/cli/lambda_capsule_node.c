/* One node's capsule run, in a process of its own (lambda_capsule_run.c forks one per node):
 * the node's agent and the capsule pod, started at the same time; then, in the agent,
 *   env LAMBDA_CNTR_SESSION=<id> cntr capsule run -t id --from-container <capsule container>
 *       --json [policy] [sandbox] --name ID=ns/pod/container... -- ID... -- CMD...
 * whose stdout and stderr are this process's; then the capsule pod is deleted and the agent
 * released as `lambda-cntr attach` does, on every path out (an interrupt ends our cntr in the
 * agent first: a closed stream does not end it). That is pod mode; in broker mode the node's
 * run is one request to the broker instead (lambda_capsule_broker.c). */
#include "cli/lambda_capsule_internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/lambda_agent.h"
#include "cli/lambda_capsule_argv.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_signals.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/exec_stream.h"
#include "kube/http.h"

struct node_run {
	struct kube_config *cfg;
	const struct capsule_request *req;
	const struct capsule_node *node;
	struct lambda_agent agent;
	bool agent_ready;
	char *session_id;
	char *pod;          /* the capsule pod, once it may exist */
	char *capsule_id;   /* its container */
};

static int acquire_agent(struct node_run *r, bool allow_reuse, struct cntr_err *err)
{
	struct lambda_agent_params params = {
		.namespace = r->req->agent_namespace, .node = r->node->name, .image = r->req->agent_image,
		.pull_policy = r->req->agent_pull_policy, .idle_timeout_s = r->req->idle_timeout_s,
	};
	int found = allow_reuse ? lambda_agent_find(r->cfg, &params, &r->agent, err) : 1;

	if (found < 0)
		return -1;
	if (found == 1 && lambda_agent_start(r->cfg, &params, r->req->agent_timeout_s, &r->agent, err) < 0)
		return cntr_err_prefix(err, "node %s: ", r->node->name);
	r->agent_ready = true;
	return 0;
}

/* The agent and the capsule pod start together: the pod is created first (its pull runs while
 * we wait for the agent), then we wait for each. */
static int prepare(struct node_run *r, struct cntr_err *err)
{
	if (capsule_pod_create(r->cfg, r->req, r->req->agent_namespace, r->node->name, &r->pod, err) < 0)
		return -1;
	if (acquire_agent(r, true, err) < 0)
		return -1;
	return capsule_pod_wait(r->cfg, r->req, r->req->agent_namespace, r->pod, r->node->name, &r->capsule_id, err);
}

static int run_in_agent(struct node_run *r, int *status, struct cntr_err *err)
{
	_cleanup_strv_ char **cmd = capsule_cntr_argv(r->req, r->capsule_id, r->node);
	_cleanup_strv_ char **argv = cmd ? lambda_agent_session_argv(r->session_id, NULL, cmd) : NULL;
	struct kube_exec_opts eopts;

	if (!argv)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "node %s: a target has no valid container ID", r->node->name);
	kube_exec_opts_init(&eopts);
	eopts.forward_stdin = false;
	eopts.interrupt_fd = lambda_signals_fd();
	if (kube_exec(r->cfg, r->agent.namespace, r->agent.name, LAMBDA_AGENT_CONTAINER, argv, &eopts, status, err) < 0)
		return cntr_err_prefix(err, "node %s: running cntr in agent %s: ", r->node->name, r->agent.name);
	return 0;
}

static void release_agent(struct node_run *r);

/* A reused agent may idle out, or another client delete it, just as we exec (the race
 * lambda_agent_spec.h describes): then once more with an agent of our own. */
static int run_with_retry(struct node_run *r, int *status, struct cntr_err *err)
{
	int rc = run_in_agent(r, status, err);

	if (rc == 0 || lambda_signals_caught() || r->agent.created || lambda_agent_is_running(r->cfg, &r->agent))
		return rc;
	log_info("node %s: agent %s went away before the capsule started (%s); starting a new one", r->node->name,
		 r->agent.name, err->msg);
	release_agent(r);
	lambda_agent_clear(&r->agent);
	r->agent_ready = false;
	cntr_err_clear(err);
	if (acquire_agent(r, false, err) < 0)
		return -1;
	return run_in_agent(r, status, err);
}

/* As `lambda-cntr attach` leaves an agent: one we created goes when nobody else uses it, a
 * reused one stays (it exits by itself when idle). */
static void release_agent(struct node_run *r)
{
	struct cntr_err err = { 0 };
	int others = 0;

	if (!r->agent.name)
		return;
	if (r->agent_ready && lambda_signals_caught() &&
	    lambda_agent_end_session(r->cfg, &r->agent, r->session_id, &err) < 0)
		log_warn("%s", err.msg);
	if (!r->agent.created)
		return;
	if (r->agent_ready && lambda_agent_count_others(r->cfg, &r->agent, r->session_id, &others, &err) == 0 &&
	    others > 0)
		return;
	if (lambda_agent_delete(r->cfg, &r->agent, &err) < 0)
		log_warn("%s", err.msg);
}

static void cleanup(struct node_run *r)
{
	struct cntr_err err = { 0 };

	lambda_signals_allow_cleanup();
	/* The capsule pod first: it is what must never be left behind. */
	if (r->pod && capsule_pod_delete(r->cfg, r->req->agent_namespace, r->pod, &err) < 0)
		log_warn("node %s: %s", r->node->name, err.msg);
	release_agent(r);
	lambda_agent_clear(&r->agent);
	free(r->session_id);
	free(r->pod);
	free(r->capsule_id);
}

/* Pod mode: the capsule pod and the agent are made here, with the user's rights. */
static int run_in_pod_mode(struct kube_config *cfg, const struct capsule_request *req, const struct capsule_node *node,
			   int report_fd)
{
	struct node_run r = { .cfg = cfg, .req = req, .node = node, .session_id = lambda_agent_session_id() };
	struct cntr_err err = { 0 };
	int status = CNTR_EXIT_FAILURE, rc;

	rc = prepare(&r, &err);
	if (rc == 0 && !lambda_signals_caught())
		rc = run_with_retry(&r, &status, &err);
	if (rc < 0 && !lambda_signals_caught())
		dprintf(report_fd, "%s", err.msg);
	cleanup(&r);
	if (lambda_signals_caught())
		return lambda_signals_exit_code(lambda_signals_caught());
	return rc < 0 ? CNTR_EXIT_FAILURE : status;
}

int capsule_node_main(struct kube_config *cfg, const struct capsule_request *req, const struct capsule_node *node,
		      int report_fd)
{
	struct cntr_err err = { 0 };

	kube_http_after_fork();
	if (lambda_signals_install(&err) < 0) {
		dprintf(report_fd, "%s", err.msg);
		return CNTR_EXIT_FAILURE;
	}
	return req->via_broker ? capsule_node_via_broker(cfg, req, node, report_fd)
			       : run_in_pod_mode(cfg, req, node, report_fd);
}
