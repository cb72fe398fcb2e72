#include "cli/lambda_session.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/lambda_agent.h"
#include "cli/lambda_broker.h"
#include "cli/lambda_cntr_argv.h"
#include "cli/lambda_ephemeral.h"
#include "cli/lambda_keepalive.h"
#include "cli/lambda_watchdog.h"
#include "cli/lambda_opts.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_runtimeclass.h"
#include "cli/lambda_signals.h"
#include "cli/lambda_target.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/exec_stream.h"
#include "kube/http.h"
#include "kube/kubeconfig.h"
#include "kube/rest.h"

/* What one run holds, released by session_cleanup on every path out. */
struct session {
	const struct lambda_opts *opts;
	struct kube_config *cfg;
	struct lambda_target target;
	struct lambda_agent_use use;  /* the agent, ready or not (lambda_agent.h) */
	char *session_id;  /* marks our cntr in the agent (see lambda_agent_spec.h) */
	json_t *pod;       /* the target pod as read at the start */
	struct lambda_isolation_info isolation;
	struct lambda_keepalive keepalive;
	struct lambda_watchdog watchdog; /* undoes the keep-alive if we are killed (lambda_watchdog.h) */
};

/* ["env", "LAMBDA_CNTR_SESSION=<id>", "cntr", "attach", "-t", "id", ...]: cntr itself is the
 * session (env only marks it and execs cntr), so one `exit` ends the session and nobody gets a
 * shell in the privileged agent. NULL when the container ID is not one. */
static char **session_argv(const struct session *s, bool tty)
{
	_cleanup_strv_ char **argv = lambda_cntr_attach_argv(s->target.container_id, s->opts->verbose >= 2, s->opts->profile,
							       s->opts->command);

	if (!argv)
		return NULL;
	return lambda_agent_session_argv(s->session_id, tty ? getenv("TERM") : NULL, argv);
}

static int exec_in_agent(struct session *s, int *status, struct cntr_err *err)
{
	bool tty = s->opts->mode == LAMBDA_ATTACH && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	_cleanup_strv_ char **argv = session_argv(s, tty);
	struct kube_exec_opts eopts;
	int r;

	if (!argv)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "container %s of pod %s/%s has no valid container ID",
				 s->target.container, s->target.namespace, s->target.pod);
	kube_exec_opts_init(&eopts);
	eopts.tty = tty;
	eopts.forward_stdin = true;
	eopts.interrupt_fd = lambda_signals_fd();
	lambda_phase("attaching to %s/%s container %s (%s://%.12s) through agent %s", s->target.namespace,
		     s->target.pod, s->target.container, s->target.runtime, s->target.container_id,
		     s->use.agent.name);
	r = kube_exec(s->cfg, s->use.agent.namespace, s->use.agent.name, LAMBDA_AGENT_CONTAINER, argv, &eopts,
		      status, err);
	s->use.exec_failed = r < 0;
	return r;
}

static void session_cleanup(struct session *s)
{
	lambda_signals_allow_cleanup();
	if (s->cfg)
		lambda_keepalive_end(s->cfg, &s->keepalive);
	lambda_watchdog_stand_down(&s->watchdog);
	lambda_keepalive_clear(&s->keepalive);
	lambda_isolation_clear(&s->isolation);
	json_decref(s->pod);
	if (s->cfg)
		lambda_agent_release(s->cfg, s->opts, &s->use);
	lambda_agent_use_clear(&s->use);
	lambda_target_clear(&s->target);
	kube_config_free(s->cfg);
	free(s->session_id);
}

/* The pod object itself, for its RuntimeClass, labels and owners (lambda_runtimeclass.h,
 * lambda_keepalive.h): the one lambda_target_resolve read, not a second GET. */
static int read_pod(struct session *s, struct cntr_err *err)
{
	s->pod = json_incref(s->target.object);
	return lambda_isolation_classify(s->cfg, s->pod, &s->isolation, err);
}

/* In the watchdog, after lambda-cntr died: what session_cleanup would have done for the
 * keep-alive, and our cntr in the agent ended first (a closed stream does not end it). */
static void cleanup_after_death(void *ctx)
{
	struct session *s = ctx;
	struct cntr_err err = { 0 };

	if (s->use.agent.name)
		lambda_agent_end_session(s->cfg, &s->use.agent, s->session_id, &err);
	lambda_keepalive_release(s->cfg, &s->keepalive, &err);
}

/* Keep a serverless function alive from here until session_cleanup (--no-keep-alive: never).
 * The watchdog starts before the mark goes on, so no moment exists where a SIGKILL leaves the
 * mark with nobody to take it off. */
static void keep_alive(struct session *s, const char *holder)
{
	/* Identified already: this is the retry with a new agent, the keep-alive stays as it is. */
	if (s->opts->no_keep_alive || s->keepalive.platform != LAMBDA_PLATFORM_NONE)
		return;
	if (lambda_keepalive_prepare(s->pod, s->session_id, holder, &s->keepalive))
		lambda_watchdog_start(&s->watchdog, cleanup_after_death, s);
	lambda_keepalive_begin(s->cfg, s->pod, s->opts->verbose > 0, &s->keepalive);
}

/* The fallback for a pod cntr cannot enter (lambda_ephemeral.h). */
static int run_ephemeral(struct session *s, int *status, struct cntr_err *err)
{
	keep_alive(s, "ephemeral");
	return lambda_ephemeral_run(s->cfg, s->opts, &s->target, s->pod, status, err);
}

/* The RuntimeClass could not be read: ask cntr on the node (it refuses a VM or sandbox). 1 when
 * the ephemeral-container fallback was chosen. */
static int probe_isolation(struct session *s, struct cntr_err *err)
{
	char *probe_cmd[] = { "true", NULL };
	_cleanup_strv_ char **cntr_argv = lambda_cntr_attach_argv(s->target.container_id, false, NULL, probe_cmd);
	_cleanup_strv_ char **argv = cntr_argv ? lambda_agent_session_argv(s->session_id, NULL, cntr_argv) : NULL;

	if (!s->isolation.unknown || !argv || !lambda_isolation_probe(s->cfg, &s->use.agent, argv, &s->isolation))
		return 0;
	s->isolation.unknown = 0;
	return lambda_isolation_gate(s->opts, s->target.namespace, s->target.pod, &s->isolation, err);
}

static const char *session_namespace(const struct session *s)
{
	return s->opts->namespace ? s->opts->namespace : s->cfg->namespace;
}

static int load_config(struct session *s, struct cntr_err *err)
{
	const struct lambda_opts *o = s->opts;
	struct kube_config_opts copts = { .kubeconfig = o->kubeconfig, .context = o->context };

	if (kube_http_global_init(err) < 0 || lambda_signals_install(err) < 0)
		return -1;
	if (kube_config_load(&copts, &s->cfg, err) < 0)
		return -1;
	log_info("using %s, context %s, server %s, namespace %s", s->cfg->source,
		 s->cfg->context_name ? s->cfg->context_name : "(in-cluster)", s->cfg->server,
		 session_namespace(s));
	return 0;
}

/* Pod mode: the target pod read, its container resolved and its isolation classified. */
static int setup(struct session *s, struct cntr_err *err)
{
	const struct lambda_opts *o = s->opts;

	if (lambda_target_resolve(s->cfg, session_namespace(s), o->pod, o->container, &s->target, err) < 0)
		return -1;
	log_info("target %s/%s container %s: %s://%s on node %s", s->target.namespace, s->target.pod,
		 s->target.container, s->target.runtime, s->target.container_id, s->target.node);
	return read_pod(s, err);
}

/* Where agents go and who creates them: only when an agent is needed (not for a pod cntr
 * cannot enter). */
static int acquire_agent(struct session *s, struct cntr_err *err)
{
	if (lambda_agent_use_init(s->cfg, s->opts, s->target.node, s->session_id, &s->use, err) < 0)
		return -1;
	return lambda_agent_acquire(s->cfg, s->opts, true, &s->use, err);
}

/* Exec through the agent; when the exec could not even start because the agent went away
 * (idle exit or another client's cleanup in the same instant), retry once with a new agent. */
static int attach_through_agent(struct session *s, int *status, struct cntr_err *err)
{
	_cleanup_free_ char *holder = NULL;
	int r;

	if (acquire_agent(s, err) < 0)
		return -1;
	r = probe_isolation(s, err);
	if (r != 0)
		return r < 0 ? -1 : run_ephemeral(s, status, err);
	holder = xasprintf("agents in %s", s->use.agent.namespace);
	keep_alive(s, holder);
	r = exec_in_agent(s, status, err);
	switch (lambda_agent_retry_if_gone(s->cfg, s->opts, &s->use, r, *status, err)) {
	case 0: return r;
	case 1: return exec_in_agent(s, status, err);
	default: return -1;
	}
}

/* Pod mode: an agent pod of ours (or a warm one) on the target's node, or the
 * ephemeral-container fallback for a pod cntr cannot enter. */
static int run_pod_mode(struct session *s, int *status, struct cntr_err *err)
{
	int r = setup(s, err);

	if (r == 0)
		r = lambda_isolation_gate(s->opts, s->target.namespace, s->target.pod, &s->isolation, err);
	if (r == 1)
		return run_ephemeral(s, status, err);
	if (r == 0)
		return attach_through_agent(s, status, err);
	return r;
}

/* Broker mode: the broker decides who may attach and runs the session. Before asking it, what
 * the agent-pod mode also does with the user's own rights: a VM-isolated pod goes to the
 * ephemeral-container fallback (cntr cannot enter it, wherever it runs) and a serverless
 * function is kept alive while the session lasts. A pod this side cannot read is no error: the
 * broker judges the request and says why it refuses. */
static int run_broker_mode(struct session *s, int *status, struct cntr_err *err)
{
	struct cntr_err lookup = { 0 };
	int r = setup(s, &lookup);

	if (r < 0) {
		log_info("broker mode: %s; the broker looks the pod up itself (no keep-alive)", lookup.msg);
	} else {
		r = lambda_isolation_gate(s->opts, s->target.namespace, s->target.pod, &s->isolation, err);
		if (r == 1)
			return run_ephemeral(s, status, err);
		if (r < 0)
			return -1;
		keep_alive(s, "the lambda-cntr broker");
	}
	return lambda_broker_session(s->cfg, s->opts, LAMBDA_BROKER_POD, session_namespace(s), s->opts->pod,
				     status, err);
}

int lambda_session_run(const struct lambda_opts *opts)
{
	struct session s = { .opts = opts, .session_id = lambda_agent_session_id(), .watchdog = { .fd = -1 } };
	struct cntr_err err = { 0 };
	int status = CNTR_EXIT_FAILURE, r, signo;
	bool broker = false;

	r = load_config(&s, &err);
	if (r == 0)
		r = lambda_broker_choose(s.cfg, opts, LAMBDA_BROKER_POD, &broker, &err);
	if (r == 0 && broker)
		r = run_broker_mode(&s, &status, &err);
	else if (r == 0)
		r = run_pod_mode(&s, &status, &err);
	signo = lambda_signals_caught();
	if (r < 0 && !signo)
		log_error("%s", err.msg);
	session_cleanup(&s);
	if (signo)
		return lambda_signals_exit_code(signo);
	if (r < 0)
		return err.code ? err.code : CNTR_EXIT_FAILURE;
	return status;
}
