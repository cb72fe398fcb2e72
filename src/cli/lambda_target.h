/* The target: which container of which pod, its container ID and its node (DESIGN.md §3.2). */
#pragma once
#include <jansson.h>

struct kube_config;
struct cntr_err;

struct lambda_target {
	char *namespace;
	char *pod;
	char *container;
	char *runtime;      /* "containerd", "cri-o" or "docker", as in the containerID URL */
	char *container_id; /* 64 lowercase hex digits (lambda_ids.h), what cntr resolves */
	char *node;         /* spec.nodeName */
	json_t *object;     /* the pod as read by lambda_target_resolve (a reference), for what
			     * else the session needs of it (RuntimeClass, labels, owners): one GET */
};

/* GET the pod and fill t. container names an app, init (sidecar) or ephemeral container; NULL
 * picks the one the kubectl.kubernetes.io/default-container annotation names, else the only app
 * container. The container itself must be running (a Pending pod's init container or a
 * terminating pod's container may be). Errors (125) name the pod and namespace, list every
 * container when the choice is ambiguous or wrong, and give the phase/state (with the last
 * termination of a restarting container) when it is not running. The containerID must be
 * <runtime>://<64 hex digits> and the names Kubernetes names (lambda_ids.h); anything else is an
 * error (125) that shows the value escaped. Server text in messages goes through
 * kube_safe_text. */
int lambda_target_resolve(struct kube_config *cfg, const char *ns, const char *pod,
			  const char *container, struct lambda_target *t, struct cntr_err *err);

/* The same checks on an already fetched pod object (unit tests, no I/O). */
int lambda_target_from_pod(const json_t *pod, const char *container, struct lambda_target *t,
			   struct cntr_err *err);

/* "Waiting: CrashLoopBackOff: back-off ..." / "Terminated: Completed (exit code 0)" /
 * "Running" for a containerStatuses[].state object, reasons and messages escaped. malloc'd. */
char *lambda_container_state_text(const json_t *state);

void lambda_target_clear(struct lambda_target *t);
