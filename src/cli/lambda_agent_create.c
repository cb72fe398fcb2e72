/* Creating an agent pod (a fresh name on a clash; admission refusals with what to do), then
 * waiting for it: lambda_agent_start. */
#include "cli/lambda_agent.h"
#include "cli/lambda_agent_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cli/lambda_json.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/rest.h"
#include "kube/safe_text.h"
#include "cli/lambda_agent_spec.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_phase.h"

#define CREATE_ATTEMPTS 3

/* Admission refusals a user can act on: Pod Security (the agent is privileged with hostPID,
 * which only the "privileged" level allows) and quota/limit ranges. Returns -1. */
static int hint_for_refused_agent(struct cntr_err *err, const char *ns)
{
	if (strstr(err->msg, "PodSecurity"))
		return cntr_err_hint(err, "the agent must be privileged with hostPID: run it in a namespace whose Pod "
				     "Security level allows that (--agent-namespace NS, or label the namespace "
				     "pod-security.kubernetes.io/enforce=privileged)");
	if (strstr(err->msg, "namespaces \"") && strstr(err->msg, "not found"))
		return cntr_err_hint(err, "install lambda-cntr's namespace (kubectl apply -f deploy/) or pass "
				     "--agent-namespace NS");
	if (strstr(err->msg, "exceeded quota") || strstr(err->msg, "failed quota") ||
	    strstr(err->msg, "per Container"))
		return cntr_err_hint(err, "namespace %s limits resources (ResourceQuota/LimitRange); use "
				     "--agent-namespace for a namespace without them", ns);
	return -1;
}

static void delete_unanswered(struct kube_config *cfg, const char *ns, const char *name)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(ns, name, NULL);
	struct cntr_err err = { 0 };

	if (kube_delete(cfg, path, NULL, &resp, &err) == 0)
		log_info("agent pod %s/%s had been created though its creation got no answer: deleted", ns, name);
	else if (resp.http_status != 404)
		log_warn("the creation of agent pod %s/%s got no answer, and deleting it in case it exists "
			 "failed: %s", ns, name, err.msg);
}

int lambda_agent_create(struct kube_config *cfg, const struct lambda_agent_params *params,
			struct lambda_agent *a, char **rv, struct cntr_err *err)
{
	_cleanup_free_ char *path = kube_pods_path(params->namespace);

	for (int attempt = 1;; attempt++) {
		_cleanup_kube_response_ struct kube_response resp = { 0 };
		_cleanup_free_ char *name = lambda_agent_name(params->node);
		struct lambda_agent_params p = *params;
		json_t *manifest;
		int r;

		p.name = name;
		manifest = lambda_agent_manifest(&p);
		r = kube_post(cfg, path, manifest, &resp, err);
		json_decref(manifest);
		if (r == 0) {
			const json_t *meta = json_object_get(resp.body, "metadata");
			a->name = steal_pointer(&name);
			a->namespace = xstrdup(params->namespace);
			a->created = true;
			*rv = xstrdup(json_str(meta, "resourceVersion"));
			return 0;
		}
		/* No answer: the API server may have created it all the same. Its name is ours, so
		 * remove it rather than leave an agent nobody knows about. */
		if (resp.http_status == 0)
			delete_unanswered(cfg, params->namespace, name);
		/* A name clash with another client's agent: draw another suffix. */
		if (resp.http_status != 409 || attempt == CREATE_ATTEMPTS) {
			cntr_err_prefix(err, "creating the agent pod on node %s in namespace %s: ", params->node,
					params->namespace);
			return hint_for_refused_agent(err, params->namespace);
		}
	}
}

/* Record the imageID the new agent runs (LAMBDA_AGENT_IMAGE_ID_ANNOTATION), so that a later
 * session can check a warm agent runs the image its creator saw. Best effort: without the right
 * to patch pods the agent serves this session and is never reused. */
static void record_image_id(struct kube_config *cfg, const struct lambda_agent *a, const char *image_id)
{
	_cleanup_kube_response_ struct kube_response patched = { 0 };
	_cleanup_free_ char *path = kube_pod_path(a->namespace, a->name, NULL);
	struct cntr_err err = { 0 };
	json_auto_t *patch = NULL;

	if (!*image_id) {
		log_info("agent %s will not be reused: its status gives no imageID", a->name);
		return;
	}
	patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", LAMBDA_AGENT_IMAGE_ID_ANNOTATION, image_id);
	if (kube_patch(cfg, path, patch, "application/merge-patch+json", &patched, &err) < 0)
		log_info("agent %s will not be reused: recording its image digest: %s", a->name, err.msg);
}

int lambda_agent_start(struct kube_config *cfg, const struct lambda_agent_params *params,
		       uint64_t timeout_s, struct lambda_agent *a, struct cntr_err *err)
{
	_cleanup_free_ char *rv = NULL, *image_id = NULL;

	if (lambda_agent_create(cfg, params, a, &rv, err) < 0)
		return -1;
	lambda_phase("agent %s/%s created for node %s (image %s)", a->namespace, a->name, params->node,
		     params->image);
	if (lambda_agent_wait_ready(cfg, a, params->node, rv, timeout_s, &image_id, err) < 0)
		return -1;
	lambda_phase("agent %s ready", a->name);
	record_image_id(cfg, a, image_id);
	return 0;
}
