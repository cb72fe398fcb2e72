/* Finding a ready agent on a node to reuse, and tidying up agents that already finished. */
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
#include "cli/lambda_ids.h"
#include "kube/rest.h"
#include "kube/safe_text.h"

static void delete_quietly(struct kube_config *cfg, const char *ns, const char *name)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(ns, name, NULL);
	struct cntr_err err = { 0 };

	if (kube_delete(cfg, path, NULL, &resp, &err) < 0 && resp.http_status != 404)
		log_warn("deleting finished agent pod %s/%s: %s", ns, name, err.msg);
	else
		log_info("deleted finished agent pod %s/%s", ns, name);
}

int lambda_agent_find(struct kube_config *cfg, const struct lambda_agent_params *params,
		      struct lambda_agent *a, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	const char *ns = params->namespace, *node = params->node;
	/* All agents of the namespace, not only this node's: an agent that idled out stays as a
	 * Succeeded pod until someone deletes it, and any run may tidy up after all nodes. */
	_cleanup_free_ char *path = kube_pods_path(ns);
	const char *found = NULL;
	size_t i;
	json_t *pod;

	kube_path_append_query(&path, "labelSelector", LAMBDA_AGENT_MANAGED_BY_LABEL "=" LAMBDA_AGENT_MANAGED_BY);
	if (kube_get(cfg, path, &resp, err) < 0) {
		/* Reuse is an optimisation: a user allowed to create pods but not to list them
		 * still gets a session, with an agent of its own. */
		if (resp.http_status == 403) {
			log_info("not looking for a warm agent: %s", err->msg);
			cntr_err_clear(err);
			return 1;
		}
		return cntr_err_prefix(err, "looking for an agent pod on node %s in namespace %s: ", node, ns);
	}
	json_array_foreach(json_object_get(resp.body, "items"), i, pod) {
		const json_t *meta = json_object_get(pod, "metadata");
		const char *phase = json_str(json_object_get(pod, "status"), "phase");
		const char *pod_node = json_str(json_object_get(pod, "spec"), "nodeName");

		/* No real API server lists such a name; never exec into or delete it. */
		if (!lambda_object_name_is_valid(json_str(meta, "name")))
			continue;
		if (!found && strcmp(pod_node, node) == 0 && lambda_agent_pod_ready(pod)) {
			const char *why_not = lambda_agent_mismatch(pod, params);
			if (!why_not)
				found = json_str(meta, "name");
			else
				log_info("agent %s ignored: %s", json_str(meta, "name"), why_not);
		} else if ((strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0) &&
			   !json_object_get(meta, "deletionTimestamp") && json_array_size(json_object_get(meta, "ownerReferences")) == 0)
			delete_quietly(cfg, ns, json_str(meta, "name"));
	}
	if (!found)
		return 1;
	a->name = xstrdup(found);
	a->namespace = xstrdup(ns);
	a->created = false;
	return 0;
}

bool lambda_agent_is_running(struct kube_config *cfg, const struct lambda_agent *a)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(a->namespace, a->name, NULL);
	struct cntr_err err = { 0 };

	if (kube_get(cfg, path, &resp, &err) < 0)
		return resp.http_status != 404;  /* unknown: do not claim it is gone */
	return lambda_agent_pod_ready(resp.body);
}
