/* An agent for one session: where it goes and who creates it, finding a warm one or starting a
 * new one, and letting it go afterwards. The pod flow (lambda_session.c) and the node flow
 * (lambda_node.c) share it. */
#include "cli/lambda_agent.h"

#include <stdlib.h>
#include <string.h>

#include "cli/lambda_opts.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_signals.h"
#include "common/err.h"
#include "common/log.h"
#include "common/cleanup.h"
#include "kube/exec_stream.h"
#include "kube/safe_text.h"

int lambda_agent_use_init(struct kube_config *cfg, const struct lambda_opts *o, const char *node,
			  const char *session_id, struct lambda_agent_use *u, struct cntr_err *err)
{
	u->node = node;
	u->session_id = session_id;
	if (lambda_agent_namespace(cfg, o->agent_namespace, &u->namespace, err) < 0)
		return -1;
	u->creator = lambda_agent_creator(cfg);
	if (log_get_level() >= CNTR_LOG_INFO) {
		_cleanup_free_ char *who = kube_safe_text(u->creator);
		log_info("agents for node %s: namespace %s, created by \"%s\"", node, u->namespace, who);
	}
	return 0;
}

int lambda_agent_acquire(struct kube_config *cfg, const struct lambda_opts *o, bool allow_reuse,
			 struct lambda_agent_use *u, struct cntr_err *err)
{
	struct lambda_agent_params params = {
		.namespace = u->namespace, .node = u->node, .image = o->image, .pull_policy = o->pull_policy,
		.socket_path = o->socket_path, .creator = u->creator, .idle_timeout_s = o->idle_timeout_s,
	};
	int r;

	if (allow_reuse) {
		r = lambda_agent_find(cfg, &params, &u->agent, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			u->ready = true;
			lambda_phase("reusing agent %s/%s on node %s", u->namespace, u->agent.name, u->node);
			return 0;
		}
	}
	if (lambda_agent_start(cfg, &params, o->timeout_s, &u->agent, err) < 0)
		return -1;
	u->ready = true;
	return 0;
}

void lambda_agent_release(struct kube_config *cfg, const struct lambda_opts *o, struct lambda_agent_use *u)
{
	struct lambda_agent *a = &u->agent;
	struct cntr_err err = { 0 };
	int others = 0;

	if (!a->name)
		return;
	/* Interrupted, or the connection lost: our cntr may still run in the agent (closing the
	 * stream does not stop it). */
	if ((lambda_signals_caught() || u->exec_failed) && u->ready &&
	    lambda_agent_end_session(cfg, a, u->session_id, &err) < 0) {
		if (lambda_signals_caught())
			log_warn("%s", err.msg);
		else
			log_info("%s", err.msg);  /* the agent may be what failed */
	}
	/* An agent we created that never became ready is useless warm: always remove it. */
	if ((a->created ? o->keep : !o->rm) && !(a->created && !u->ready)) {
		log_info("leaving agent %s/%s running (%s); it exits after %llus without sessions", a->namespace,
			 a->name, a->created ? "--keep" : "reused", (unsigned long long)o->idle_timeout_s);
		return;
	}
	if (u->ready && lambda_agent_count_others(cfg, a, u->session_id, &others, &err) < 0) {
		if (!a->created) {
			log_warn("%s; leaving agent %s running", err.msg, a->name);
			return;
		}
		log_info("%s; deleting our agent anyway", err.msg);
		others = 0;
	}
	if (others > 0) {
		lambda_phase("agent %s is still used by %d other session(s): left running", a->name, others);
		return;
	}
	if (lambda_agent_delete(cfg, a, &err) < 0)
		log_warn("%s; it exits by itself after %llus without sessions", err.msg,
			 (unsigned long long)o->idle_timeout_s);
	else
		log_info("deleted agent %s/%s", a->namespace, a->name);
}

int lambda_agent_retry_if_gone(struct kube_config *cfg, const struct lambda_opts *o, struct lambda_agent_use *u,
			       int r, int status, struct cntr_err *err)
{
	if (r == KUBE_EXEC_DONE && status == CNTR_EXIT_NOTFOUND &&
	    lambda_agent_check_cntr(cfg, &u->agent, o->image, err) < 0)
		return -1;
	if (r >= 0 || lambda_signals_caught() || lambda_agent_is_running(cfg, &u->agent))
		return 0;
	log_info("agent %s went away before the session started (%s); starting a new one", u->agent.name,
		 err->msg);
	cntr_err_clear(err);
	lambda_agent_release(cfg, o, u);
	lambda_agent_clear(&u->agent);
	u->ready = false;
	u->exec_failed = false;
	if (lambda_agent_acquire(cfg, o, false, u, err) < 0)
		return -1;
	return 1;
}

void lambda_agent_use_clear(struct lambda_agent_use *u)
{
	lambda_agent_clear(&u->agent);
	free(u->namespace);
	free(u->creator);
	u->namespace = u->creator = NULL;
}
