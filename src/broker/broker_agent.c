#include "broker/broker_agent.h"

#include <string.h>

#include "common/log.h"

static bool str_eq(const json_t *v, const char *want)
{
	return json_is_string(v) && want && strcmp(json_string_value(v), want) == 0;
}

static bool owned_by_daemonset(const json_t *meta, const char *uid)
{
	const json_t *ref;
	size_t i;

	json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			return str_eq(json_object_get(ref, "kind"), "DaemonSet") &&
			       str_eq(json_object_get(ref, "apiVersion"), "apps/v1") &&
			       str_eq(json_object_get(ref, "name"), BROKER_AGENT_DAEMONSET) &&
			       str_eq(json_object_get(ref, "uid"), uid);
	return false;
}

static bool ready(const json_t *status)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(status, "conditions"), i, c)
		if (str_eq(json_object_get(c, "type"), "Ready"))
			return str_eq(json_object_get(c, "status"), "True");
	return false;
}

bool broker_agent_trusted(const json_t *pod, const char *ns, const char *daemonset_uid, const char *node,
			  const char **why)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const json_t *status = json_object_get(pod, "status");

	if (!str_eq(json_object_get(meta, "namespace"), ns))
		*why = "not in the broker's namespace";
	else if (!daemonset_uid || !owned_by_daemonset(meta, daemonset_uid))
		*why = "not controlled by the DaemonSet " BROKER_AGENT_DAEMONSET " (ownerReference kind, name or uid)";
	else if (!str_eq(json_object_get(json_object_get(pod, "spec"), "nodeName"), node))
		*why = "on another node";
	else if (json_object_get(meta, "deletionTimestamp"))
		*why = "being deleted";
	else if (!str_eq(json_object_get(status, "phase"), "Running"))
		*why = "not Running";
	else if (!ready(status))
		*why = "not Ready";
	else
		return true;
	return false;
}

const json_t *broker_agent_choose(const json_t *pod_list, const char *ns, const char *daemonset_uid,
				  const char *node)
{
	const json_t *pod;
	size_t i;

	json_array_foreach(json_object_get(pod_list, "items"), i, pod) {
		const char *why = NULL;
		if (broker_agent_trusted(pod, ns, daemonset_uid, node, &why))
			return pod;
		log_info("agent: ignoring pod %s/%s: %s",
			 json_string_value(json_object_get(json_object_get(pod, "metadata"), "namespace")),
			 json_string_value(json_object_get(json_object_get(pod, "metadata"), "name")), why);
	}
	return NULL;
}
