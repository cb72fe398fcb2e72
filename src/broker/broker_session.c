#include "broker/broker_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker_agent.h"
#include "broker/broker_argv.h"
#include "broker/broker_audit.h"
#include "broker/broker_capsule.h"
#include "broker/broker_profiles.h"
#include "broker/broker_sar.h"
#include "broker/broker_status.h"
#include "broker/broker_target.h"
#include "cli/lambda_cntr_argv.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/clock.h"
#include "kube/rest.h"

/* A failed call to the API server: its own Status when it sent one with a 404 (the pod does not
 * exist: the user may know that, kubectl exec says the same), else 503 with the message. */
static json_t *api_failure_status(const struct kube_response *resp, const struct cntr_err *err)
{
	if (resp->http_status == 404 && resp->body)
		return json_incref(resp->body);
	return broker_status(503, "ServiceUnavailable", err->msg, NULL);
}

/* The answer to a review: NULL when allowed, else the Status to answer with (503: no answer). */
static json_t *review_answer(struct broker *b, const struct broker_identity *id, json_t *review, const char *ns,
			     const char *name)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	struct cntr_err err = { 0 };
	const char *why = NULL;
	int r = broker_api(b, "POST", BROKER_SAR_PATH, review, &resp, &err);

	json_decref(review);
	if (r < 0) {
		log_error("SubjectAccessReview for user \"%s\" failed: %s", id->user, err.msg);
		return broker_status(503, "ServiceUnavailable", err.msg, NULL);
	}
	if (broker_sar_allowed(resp.body, &why))
		return NULL;
	log_info("refused: user \"%s\" on %s%s%s: %s", id->user, ns ? ns : "", ns ? "/" : "node ", name,
		 why ? why : "no rule allows it");
	return ns ? broker_status_forbidden_pod(id->user, ns, name, why) : broker_status_forbidden_node(id->user, name, why);
}

json_t *broker_authorize_pod_exec(struct broker *b, const struct broker_identity *id, const char *ns, const char *pod)
{
	return review_answer(b, id, broker_sar_pod_exec(id, ns, pod), ns, pod);
}

static json_t *authorize(struct broker *b, const struct broker_session_request *req)
{
	const struct broker_route *rt = req->route;

	if (rt->kind == BROKER_ROUTE_POD_ATTACH)
		return broker_authorize_pod_exec(b, req->id, rt->ns, rt->name);
	return review_answer(b, req->id, broker_sar_node_attach(req->id, rt->name), NULL, rt->name);
}

json_t *broker_check_profile(struct broker *b, const char *ns, const char *profile)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_api_path(b->ns, "configmaps", BROKER_PROFILES_CONFIGMAP, NULL);
	struct cntr_err err = { 0 };
	const json_t *cm = NULL;

	if (!broker_profile_known(profile))
		return broker_status_fmt(400, "profile \"%s\" is not one of general, restricted, netadmin, sysadmin",
				   profile);
	if (broker_api(b, "GET", path, NULL, &resp, &err) == 0)
		cm = resp.body;
	else if (resp.http_status != 404)
		return broker_status(503, "ServiceUnavailable", err.msg, NULL);
	if (broker_profile_allowed(cm, ns, profile))
		return NULL;
	{
		_cleanup_free_ char *msg = xasprintf("profile \"%s\" is not allowed in namespace \"%s\" by %s/%s", profile,
						     ns, b->ns, BROKER_PROFILES_CONFIGMAP);
		return broker_status(403, "Forbidden", msg, NULL);
	}
}

/* The DaemonSet's uid now: a pod owned by an older, deleted DaemonSet of the same name is not
 * trusted either. */
static json_t *daemonset_uid(struct broker *b, char **uid)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = xasprintf("/apis/apps/v1/namespaces/%s/daemonsets/" BROKER_AGENT_DAEMONSET, b->ns);
	struct cntr_err err = { 0 };
	const char *v;

	if (broker_api(b, "GET", path, NULL, &resp, &err) < 0)
		return broker_status_fmt(503, "no lambda-cntr agent DaemonSet %s/%s: %s", b->ns, BROKER_AGENT_DAEMONSET,
				   resp.http_status == 404 ? "not found" : err.msg);
	v = json_string_value(json_object_get(json_object_get(resp.body, "metadata"), "uid"));
	if (!v)
		return broker_status_fmt(503, "DaemonSet %s/%s has no uid", b->ns, BROKER_AGENT_DAEMONSET);
	*uid = xstrdup(v);
	return NULL;
}

/* The image of the agent's container: what a capsule pod's init container copies cntr from. */
static const char *agent_image(const json_t *pod)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		if (name && !strcmp(name, BROKER_AGENT_CONTAINER))
			return json_string_value(json_object_get(c, "image"));
	}
	return NULL;
}

json_t *broker_choose_agent(struct broker *b, const char *node, char **agent, char **image)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *uid = NULL, *path = kube_pods_path(b->ns), *selector = xasprintf("spec.nodeName=%s", node);
	struct cntr_err err = { 0 };
	json_t *st = daemonset_uid(b, &uid);
	const json_t *pod;

	if (st)
		return st;
	kube_path_append_query(&path, "labelSelector", BROKER_AGENT_LABEL);
	kube_path_append_query(&path, "fieldSelector", selector);
	if (broker_api(b, "GET", path, NULL, &resp, &err) < 0)
		return broker_status(503, "ServiceUnavailable", err.msg, NULL);
	pod = broker_agent_choose(resp.body, b->ns, uid, node);
	if (!pod)
		return broker_status_fmt(503, "no lambda-cntr agent is ready on node \"%s\"", node);
	*agent = xstrdup(json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")));
	if (image) {
		const char *v = agent_image(pod);
		if (!v)
			return broker_status_fmt(503, "agent %s/%s has no container \"" BROKER_AGENT_CONTAINER "\" with an image",
					   b->ns, *agent);
		*image = xstrdup(v);
	}
	return NULL;
}

char *broker_agent_exec_path(const char *ns, const char *agent_pod, char *const argv[], bool in, bool out,
			     bool err, bool tty)
{
	char *path = kube_pod_path(ns, agent_pod, "exec");

	for (char *const *a = argv; *a; a++)
		kube_path_append_query(&path, "command", *a);
	kube_path_append_query(&path, "container", BROKER_AGENT_CONTAINER);
	kube_path_append_query(&path, "stdin", in ? "true" : "false");
	kube_path_append_query(&path, "stdout", out ? "true" : "false");
	kube_path_append_query(&path, "stderr", err ? "true" : "false");
	kube_path_append_query(&path, "tty", tty ? "true" : "false");
	return path;
}

/* For a pod: the target's node and container ID. */
/* term= goes onto the agent's command line: only a terminfo name does. */
static json_t *check_term(const char *term)
{
	if (!term || lambda_term_is_plain(term))
		return NULL;
	return broker_status_fmt(400, "term \"%.64s\" is not a terminal type (letters, digits and ._+- only, at most 64)",
			   term);
}

static json_t *find_target(struct broker *b, const struct broker_session_request *req, struct broker_relay *r,
			   char **container_id)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(req->route->ns, req->route->name, NULL);
	struct broker_target t;
	struct cntr_err err = { 0 };
	int code = 500;
	const char *uid;

	if (broker_api(b, "GET", path, NULL, &resp, &err) < 0)
		return api_failure_status(&resp, &err);
	if (broker_target_from_pod(resp.body, req->container, &t, &code, &err) < 0)
		return broker_status(code, broker_status_reason(code), err.msg, NULL);
	uid = json_string_value(json_object_get(json_object_get(resp.body, "metadata"), "uid"));
	r->pod_uid = uid ? xstrdup(uid) : NULL;
	r->node = steal_pointer(&t.node);
	r->container = steal_pointer(&t.container);
	*container_id = steal_pointer(&t.container_id);
	broker_target_free(&t);
	return NULL;
}

static void info_of(const struct broker_relay *r, struct broker_session_info *info)
{
	*info = (struct broker_session_info){ .user = r->user, .ns = r->ns, .pod = r->pod, .pod_uid = r->pod_uid,
					      .node = r->node, .container = r->container, .profile = r->profile };
}

void broker_audit_post(struct broker *b, const struct broker_session_info *info, const char *reason,
		       const char *message)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_api_path(info->pod ? info->ns : "default", "events", NULL, NULL);
	struct cntr_err err = { 0 };
	json_t *ev = broker_audit_event(info, reason, message, b->instance);

	/* Always printed, whatever the log level: one line, one write (sessions run in parallel). */
	dprintf(STDERR_FILENO, BROKER_COMPONENT ": audit: %s %s%s%s: %s\n", reason, info->pod ? info->ns : "node ",
		info->pod ? "/" : "", info->pod ? info->pod : info->node, message);
	if (broker_api(b, "POST", path, ev, &resp, &err) < 0)
		log_warn("audit: recording the %s Event failed: %s", reason, err.msg);
	json_decref(ev);
}

void broker_audit_record(struct broker_relay *r, const char *reason, const char *message)
{
	struct broker_session_info info;

	info_of(r, &info);
	broker_audit_post(r->b, &info, reason, message);
}

/* `env LAMBDA_CNTR_AUDIT=<who, what, profile, broker> cntr ...`: cntr records the session in
 * the agent's own log too (node/agent_audit.h), so a node's sessions can be read from its agent
 * even when this broker's log is gone. argv is consumed. */
static char **with_agent_audit(char **argv, const struct broker_relay *r)
{
	struct broker_session_info info;
	_cleanup_free_ char *what = NULL;

	info_of(r, &info);
	what = broker_audit_agent_line(&info, r->b->instance);
	return lambda_argv_with_env(argv, "LAMBDA_CNTR_AUDIT", what);
}

static json_t *connect_agent(struct broker *b, const struct broker_session_request *req, struct broker_relay *r,
			     const char *container_id)
{
	_cleanup_strv_ char **argv = NULL;
	_cleanup_free_ char *path = NULL;
	struct cntr_err err = { 0 };
	json_t *st = broker_choose_agent(b, r->node, &r->agent_pod, NULL);
	int opened;

	if (st)
		return st;
	argv = container_id ? lambda_cntr_attach_argv(container_id, false, r->profile, req->command)
			    : broker_node_argv(r->profile, req->command);
	if (!argv)
		return broker_status_fmt(500, "container %s of pod %s has an invalid ID", r->container, r->pod);
	/* The user's terminal type, as the agent-pod mode passes it (checked in check_term). */
	if (req->tty && req->term)
		argv = lambda_argv_with_term(req->term, argv);
	argv = with_agent_audit(argv, r);
	path = broker_agent_exec_path(b->ns, r->agent_pod, argv, req->stdin_, req->stdout_, req->stderr_, req->tty);
	/* Under api_lock: a REST call in another thread may renew the credentials (a rotated
	 * ServiceAccount token is re-read after a 401) while this one reads them. */
	pthread_mutex_lock(&b->api_lock);
	opened = kube_ws_conn_open(&r->agent, b->cfg, path, req->protocols, &err);
	pthread_mutex_unlock(&b->api_lock);
	if (opened < 0) {
		log_error("session of user \"%s\": exec in agent %s/%s failed: %s", r->user, b->ns, r->agent_pod, err.msg);
		{
			_cleanup_free_ char *msg = xasprintf("the lambda-cntr agent %s/%s on node \"%s\" could not start "
							     "the session: %s", b->ns, r->agent_pod, r->node, err.msg);
			return broker_status(503, "ServiceUnavailable", msg, NULL);
		}
	}
	return NULL;
}

struct broker_relay *broker_session_prepare(struct broker *b, const struct broker_session_request *req,
					    json_t **status)
{
	struct broker_relay *r = calloc(1, sizeof(*r));
	_cleanup_free_ char *container_id = NULL, *start = NULL;
	struct broker_session_info info;
	const char *ns_for_profile;

	if (!r)
		abort();
	r->b = b;
	kube_ws_conn_init(&r->agent, b->stop_fd);
	r->user = xstrdup(req->id->user);
	r->profile = xstrdup(req->profile && *req->profile ? req->profile : BROKER_PROFILE_DEFAULT);
	if (req->route->kind == BROKER_ROUTE_POD_ATTACH) {
		r->ns = xstrdup(req->route->ns);
		r->pod = xstrdup(req->route->name);
	} else {
		r->node = xstrdup(req->route->name);
	}
	/* Node sessions are checked against the "*" entry (a node belongs to no namespace). */
	ns_for_profile = r->ns ? r->ns : "*";
	if ((*status = check_term(req->term)) || (*status = authorize(b, req)) ||
	    (*status = broker_check_profile(b, ns_for_profile, r->profile)) ||
	    (r->pod && (*status = find_target(b, req, r, &container_id))) ||
	    (*status = connect_agent(b, req, r, container_id))) {
		broker_relay_free(r);
		return NULL;
	}
	r->started = (double)kube_now_ms() / 1000.0;
	info_of(r, &info);
	start = broker_audit_start_message(&info);
	broker_audit_record(r, "DebugSessionStarted", start);
	return r;
}

void broker_relay_free(struct broker_relay *r)
{
	if (!r)
		return;
	kube_ws_conn_free(&r->agent);
	broker_capsule_release(r->b, steal_pointer(&r->capsule));
	free(r->user);
	free(r->ns);
	free(r->pod);
	free(r->pod_uid);
	free(r->node);
	free(r->container);
	free(r->profile);
	free(r->agent_pod);
	free(r);
}
