#include "cli/lambda_node.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/lambda_agent.h"
#include "cli/lambda_broker.h"
#include "cli/lambda_cntr_argv.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_opts.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_signals.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/exec_stream.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "kube/rest.h"

/* What one node session holds, released by node_cleanup on every path out. */
struct node_session {
	const struct lambda_opts *opts;
	struct kube_config *cfg;
	char *session_id;  /* marks our cntr in the agent (see lambda_agent_spec.h) */
	struct lambda_agent_use use;
};

/* The node must exist: a typo would otherwise leave an agent Pending until --timeout. Reading
 * nodes is a cluster-scope right many users lack: then the agent's wait tells. */
static int check_node(struct node_session *s, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *name = kube_url_escape(s->opts->node);
	_cleanup_free_ char *path = xasprintf("/api/v1/nodes/%s", name);

	if (kube_get(s->cfg, path, &resp, err) == 0)
		return 0;
	if (resp.http_status == 404)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "node \"%s\" not found (kubectl get nodes lists them)",
				 s->opts->node);
	if (resp.http_status == 403) {
		log_info("cannot check that node %s exists (%s); going on", s->opts->node, err->msg);
		cntr_err_clear(err);
		return 0;
	}
	return cntr_err_prefix(err, "looking up node %s: ", s->opts->node);
}

static int setup(struct node_session *s, struct cntr_err *err)
{
	struct kube_config_opts copts = { .kubeconfig = s->opts->kubeconfig, .context = s->opts->context };

	if (kube_http_global_init(err) < 0 || lambda_signals_install(err) < 0)
		return -1;
	if (kube_config_load(&copts, &s->cfg, err) < 0)
		return -1;
	log_info("using %s, context %s, server %s", s->cfg->source,
		 s->cfg->context_name ? s->cfg->context_name : "(in-cluster)", s->cfg->server);
	if (!lambda_object_name_is_valid(s->opts->node))
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "\"%s\" is not a node name", s->opts->node);
	return 0;
}

/* env LAMBDA_CNTR_SESSION=<id> [TERM=...] cntr attach --host ...: cntr itself is the session
 * (no shell in the privileged agent). */
static int exec_host_session(struct node_session *s, int *status, struct cntr_err *err)
{
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	_cleanup_strv_ char **cntr_argv = lambda_cntr_host_argv(s->opts->verbose >= 2, s->opts->profile,
								 s->opts->command);
	_cleanup_strv_ char **argv = lambda_agent_session_argv(s->session_id, tty ? getenv("TERM") : NULL, cntr_argv);
	struct kube_exec_opts eopts;
	int r;

	kube_exec_opts_init(&eopts);
	eopts.tty = tty;
	eopts.forward_stdin = true;
	eopts.interrupt_fd = lambda_signals_fd();
	lambda_phase("attaching to node %s through agent %s", s->opts->node, s->use.agent.name);
	r = kube_exec(s->cfg, s->use.agent.namespace, s->use.agent.name, LAMBDA_AGENT_CONTAINER, argv, &eopts,
		      status, err);
	s->use.exec_failed = r < 0;
	return r;
}

/* The session itself, from an agent on the node (agent-pod mode); with the broker installed,
 * one request to it (it authorizes `create nodes/attach` and picks the DaemonSet's agent).
 * When the agent's exec could not even start because the agent went away, once more with a
 * new agent. */
static int start_session(struct node_session *s, int *status, struct cntr_err *err)
{
	bool broker = false;
	int r;

	if (lambda_broker_choose(s->cfg, s->opts, LAMBDA_BROKER_NODE, &broker, err) < 0)
		return -1;
	if (broker)
		return lambda_broker_session(s->cfg, s->opts, LAMBDA_BROKER_NODE, NULL, s->opts->node, status, err);
	if (check_node(s, err) < 0)
		return -1;
	if (lambda_agent_use_init(s->cfg, s->opts, s->opts->node, s->session_id, &s->use, err) < 0 ||
	    lambda_agent_acquire(s->cfg, s->opts, true, &s->use, err) < 0)
		return -1;
	r = exec_host_session(s, status, err);
	switch (lambda_agent_retry_if_gone(s->cfg, s->opts, &s->use, r, *status, err)) {
	case 0: return r;
	case 1: return exec_host_session(s, status, err);
	default: return -1;
	}
}

static void node_cleanup(struct node_session *s)
{
	lambda_signals_allow_cleanup();
	if (s->cfg)
		lambda_agent_release(s->cfg, s->opts, &s->use);
	lambda_agent_use_clear(&s->use);
	kube_config_free(s->cfg);
	free(s->session_id);
}

int lambda_node_run(const struct lambda_opts *opts)
{
	struct node_session s = { .opts = opts, .session_id = lambda_agent_session_id() };
	struct cntr_err err = { 0 };
	int status = CNTR_EXIT_FAILURE, r, signo;

	r = setup(&s, &err);
	if (r == 0)
		r = start_session(&s, &status, &err);
	signo = lambda_signals_caught();
	if (r < 0 && !signo)
		log_error("%s", err.msg);
	node_cleanup(&s);
	if (signo)
		return lambda_signals_exit_code(signo);
	if (r < 0)
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	return status;
}
