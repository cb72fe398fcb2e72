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
	struct lambda_agent agent;
	bool agent_ready;
	bool exec_failed;  /* the session's exec ended in an error: our cntr may still run */
	char *session_id;  /* marks our cntr in the agent (see lambda_agent_spec.h) */
	json_t *pod;       /* the target pod as read at the start */
	struct lambda_isolation_info isolation;
	struct lambda_keepalive keepalive;
	struct lambda_watchdog watchdog; /* undoes the keep-alive if we are killed (lambda_watchdog.h) */
};

/* A ready agent on the target's node: a warm one when there is one, else a new one. */
static int acquire_agent(struct session *s, bool allow_reuse, struct cntr_err *err)
{
	const struct lambda_opts *o = s->opts;
	const char *ns = o->agent_namespace ? o->agent_namespace : s->target.namespace;
	struct lambda_agent_params params = {
		.namespace = ns, .node = s->target.node, .image = o->image, .pull_policy = o->pull_policy,
		.socket_path = o->socket_path, .idle_timeout_s = o->idle_timeout_s,
	};
	int r;

	if (allow_reuse) {
		r = lambda_agent_find(s->cfg, &params, &s->agent, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			s->agent_ready = true;
			lambda_phase("reusing agent %s/%s on node %s", ns, s->agent.name, s->target.node);
			return 0;
		}
	}
	if (lambda_agent_start(s->cfg, &params, o->timeout_s, &s->agent, err) < 0)
		return -1;
	s->agent_ready = true;
	return 0;
}

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
		     s->agent.name);
	r = kube_exec(s->cfg, s->agent.namespace, s->agent.name, LAMBDA_AGENT_CONTAINER, argv, &eopts,
		      status, err);
	s->exec_failed = r < 0;
	return r;
}

/* Delete the agent if this run should: one we created unless --keep, a reused one with --rm;
 * never while another session uses it (it then exits by itself after --idle-timeout). */
static void release_agent(struct session *s)
{
	struct cntr_err err = { 0 };
	int others = 0;

	if (!s->agent.name)
		return;
	/* Interrupted, or the connection lost: our cntr may still run in the agent (closing the
	 * stream does not stop it). */
	if ((lambda_signals_caught() || s->exec_failed) && s->agent_ready &&
	    lambda_agent_end_session(s->cfg, &s->agent, s->session_id, &err) < 0) {
		if (lambda_signals_caught())
			log_warn("%s", err.msg);
		else
			log_info("%s", err.msg);  /* the agent may be what failed */
	}
	/* An agent we created that never became ready is useless warm: always remove it. */
	if ((s->agent.created ? s->opts->keep : !s->opts->rm) && !(s->agent.created && !s->agent_ready)) {
		log_info("leaving agent %s/%s running (%s); it exits after %llus without sessions",
			 s->agent.namespace, s->agent.name, s->agent.created ? "--keep" : "reused",
			 (unsigned long long)s->opts->idle_timeout_s);
		return;
	}
	if (s->agent_ready && lambda_agent_count_others(s->cfg, &s->agent, s->session_id, &others, &err) < 0) {
		if (!s->agent.created) {
			log_warn("%s; leaving agent %s running", err.msg, s->agent.name);
			return;
		}
		log_info("%s; deleting our agent anyway", err.msg);
		others = 0;
	}
	if (others > 0) {
		lambda_phase("agent %s is still used by %d other session(s): left running", s->agent.name,
			     others);
		return;
	}
	if (lambda_agent_delete(s->cfg, &s->agent, &err) < 0)
		log_warn("%s; it exits by itself after %llus without sessions", err.msg,
			 (unsigned long long)s->opts->idle_timeout_s);
	else
		log_info("deleted agent %s/%s", s->agent.namespace, s->agent.name);
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
		release_agent(s);
	lambda_agent_clear(&s->agent);
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

	if (s->agent.name)
		lambda_agent_end_session(s->cfg, &s->agent, s->session_id, &err);
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

	if (!s->isolation.unknown || !argv || !lambda_isolation_probe(s->cfg, &s->agent, argv, &s->isolation))
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

/* Exec through the agent; when the exec could not even start because the agent went away
 * (idle exit or another client's cleanup in the same instant), retry once with a new agent. */
static int attach_through_agent(struct session *s, int *status, struct cntr_err *err)
{
	_cleanup_free_ char *holder = NULL;
	int r;

	if (acquire_agent(s, true, err) < 0)
		return -1;
	r = probe_isolation(s, err);
	if (r != 0)
		return r < 0 ? -1 : run_ephemeral(s, status, err);
	holder = xasprintf("agents in %s", s->agent.namespace);
	keep_alive(s, holder);
	r = exec_in_agent(s, status, err);
	if (r == KUBE_EXEC_DONE && *status == CNTR_EXIT_NOTFOUND &&
	    lambda_agent_check_cntr(s->cfg, &s->agent, s->opts->image, err) < 0)
		return -1;
	if (r >= 0 || lambda_signals_caught() || lambda_agent_is_running(s->cfg, &s->agent))
		return r;
	log_info("agent %s went away before the session started (%s); starting a new one",
		 s->agent.name, err->msg);
	release_agent(s);
	lambda_agent_clear(&s->agent);
	s->agent_ready = false;
	if (acquire_agent(s, false, err) < 0)
		return -1;
	return exec_in_agent(s, status, err);
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
		r = lambda_broker_session(s.cfg, opts, LAMBDA_BROKER_POD, session_namespace(&s), opts->pod, &status,
					  &err);
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
