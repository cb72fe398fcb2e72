#include "broker/broker_sar.h"

#include <stdlib.h>

static json_t *review(const struct broker_identity *id, json_t *attributes)
{
	json_t *groups = json_array();
	json_t *r;

	for (char **g = id->groups; g && *g; g++)
		json_array_append_new(groups, json_string(*g));
	r = json_pack("{s:s, s:s, s:{s:s, s:o, s:o, s:o}}", "apiVersion", "authorization.k8s.io/v1", "kind",
		      "SubjectAccessReview", "spec", "user", id->user, "groups", groups, "extra",
		      id->extra ? json_incref(id->extra) : json_object(), "resourceAttributes", attributes);
	if (!r)
		abort();
	return r;
}

json_t *broker_sar_pod_exec(const struct broker_identity *id, const char *ns, const char *pod)
{
	return review(id, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "namespace", ns, "verb", "create", "group", "",
				    "resource", "pods", "subresource", "exec", "name", pod));
}

json_t *broker_sar_node_attach(const struct broker_identity *id, const char *node)
{
	return review(id, json_pack("{s:s, s:s, s:s, s:s, s:s}", "verb", "create", "group", BROKER_API_GROUP,
				    "resource", "nodes", "subresource", "attach", "name", node));
}

bool broker_sar_allowed(const json_t *answer, const char **reason)
{
	const json_t *status = json_object_get(answer, "status");

	*reason = json_string_value(json_object_get(status, "reason"));
	if (json_is_true(json_object_get(status, "denied")))
		return false;
	return json_is_true(json_object_get(status, "allowed"));
}
