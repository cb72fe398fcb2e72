/* Which agent pod may run a session on a node. Anyone who can create pods somewhere can give one
 * the agent's labels; only the DaemonSet's own pods are trusted: in the broker's namespace, with
 * a controller ownerReference to the DaemonSet lambda-cntr-agent whose uid is the one the API
 * server reports now, on the target's node, Running and Ready, not being deleted. Pure. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#define BROKER_NAMESPACE_DEFAULT "lambda-cntr-system"
#define BROKER_AGENT_DAEMONSET "lambda-cntr-agent"
#define BROKER_AGENT_LABEL "app.kubernetes.io/name=lambda-cntr-agent"
#define BROKER_AGENT_CONTAINER "agent"

/* True when pod is a trusted agent for node; otherwise *why says what disqualified it (static
 * text, for the log). */
bool broker_agent_trusted(const json_t *pod, const char *ns, const char *daemonset_uid, const char *node,
			  const char **why);

/* The first trusted pod of a PodList's items (borrowed), or NULL. Each pod passed over is
 * logged with -v (its name and why). */
const json_t *broker_agent_choose(const json_t *pod_list, const char *ns, const char *daemonset_uid,
				  const char *node);
