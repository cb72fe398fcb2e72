/* What the lambda_agent_*.c files share and nobody else needs. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "cli/lambda_agent.h"
#include "kube/kubeconfig.h"

struct cntr_err;

/* Judging (lambda_agent_judge.c): the pod's condition of a type; the element of
 * pod[section][key] named name, by name, not position, since admission webhooks may add
 * containers (service mesh sidecars); the agent container's state. NULL when absent. */
const json_t *lambda_agent_pod_condition(const json_t *pod, const char *type);
const json_t *lambda_agent_named_item(const json_t *pod, const char *section, const char *key, const char *name);
const json_t *lambda_agent_state(const json_t *pod);

/* POST a new agent for params (lambda_agent_create.c); *rv its resourceVersion (malloc'd). */
int lambda_agent_create(struct kube_config *cfg, const struct lambda_agent_params *params,
			struct lambda_agent *a, char **rv, struct cntr_err *err);

/* Wait until agent a is ready, watching from rv (lambda_agent_wait.c); *image_id: the imageID
 * its container runs then (malloc'd, "" when the status gives none). */
int lambda_agent_wait_ready(struct kube_config *cfg, const struct lambda_agent *a, const char *node,
			    const char *rv, uint64_t timeout_s, char **image_id, struct cntr_err *err);
