/* SubjectAccessReview: the broker asks the API server whether the user behind a proxied request
 * may do what `kubectl exec` needs (create pods/exec on the pod), or for a node session
 * `create nodes/attach` in debug.lambda-cntr.io. Pure: building the request, reading the answer. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "broker/broker_frontproxy.h"

#define BROKER_API_GROUP "debug.lambda-cntr.io"
#define BROKER_SAR_PATH "/apis/authorization.k8s.io/v1/subjectaccessreviews"

/* The review for create pods/exec (group "") on ns/pod. */
json_t *broker_sar_pod_exec(const struct broker_identity *id, const char *ns, const char *pod);
/* The review for create nodes/attach (group debug.lambda-cntr.io) on node (cluster-scoped). */
json_t *broker_sar_node_attach(const struct broker_identity *id, const char *node);

/* status.allowed of the answer (absent = false; status.denied wins); *reason borrowed from it
 * (status.reason, may be NULL). */
bool broker_sar_allowed(const json_t *answer, const char **reason);
