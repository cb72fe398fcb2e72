/* Debug agent pods on a node: find a ready one, create one and wait until it is ready (failing
 * fast with the reason the API reports), count its sessions, delete it; one file per concern,
 * lambda_agent_{judge,find,create,wait,programs,delete}.c. See lambda_agent_spec.h for the pod
 * itself and how sessions are counted. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli/lambda_agent_spec.h"

struct kube_config;
struct cntr_err;

struct lambda_agent {
	char *name;
	char *namespace;
	bool created;  /* by this command (cleanup deletes it by default) */
};

/* A ready, not terminating agent running params->image on params->node in params->namespace,
 * with params->socket_path mounted when one is asked for, whose spec is the one this version
 * creates (lambda_agent_mismatch) -> 0 and a filled; none -> 1. Agents of the namespace that
 * already finished (idle exit), on any node, are deleted on the way. */
int lambda_agent_find(struct kube_config *cfg, const struct lambda_agent_params *params,
		      struct lambda_agent *a, struct cntr_err *err);

/* Why pod (a ready agent) does not fit params, or NULL when it does. Static text. An agent is
 * trusted only with this version's program, privileges and read-only root filesystem (fields a
 * webhook adds are allowed); image, -s socket (at LAMBDA_AGENT_SOCKET_MOUNT) and pull policy
 * Always must be what was asked for. */
const char *lambda_agent_mismatch(const json_t *pod, const struct lambda_agent_params *params);

/* POST a new agent, then WATCH it until Ready; fails (125) with the pod's real reason
 * (ErrImagePull/ImagePullBackOff + message, Pending: Unschedulable, forbidden...) or after
 * timeout_s. a->name is set as soon as the pod exists so the caller can clean it up. */
int lambda_agent_start(struct kube_config *cfg, const struct lambda_agent_params *params,
		       uint64_t timeout_s, struct lambda_agent *a, struct cntr_err *err);

/* Why the agent cannot become ready, or NULL while it still may (malloc'd). Exposed for unit
 * tests. */
char *lambda_agent_failure(const json_t *pod);
bool lambda_agent_pod_ready(const json_t *pod);

/* Whether the agent pod exists and runs (after an exec failed to start: was it the agent?). */
bool lambda_agent_is_running(struct kube_config *cfg, const struct lambda_agent *a);

/* Number of sessions in the agent right now other than session_id (ours). */
/* How many processes session_id still has in agent a (0: it ended). */
int lambda_agent_count_mine(struct kube_config *cfg, const struct lambda_agent *a, const char *session_id,
			    int *count, struct cntr_err *err);
int lambda_agent_count_others(struct kube_config *cfg, const struct lambda_agent *a,
			      const char *session_id, int *count, struct cntr_err *err);

/* End what is left of session_id in the agent (after an interrupt). */
/* After a session ended with 127: tell "the agent image has no cntr" (125, naming the image)
 * from "the user's command was not found" (0: the status stands). */
int lambda_agent_check_cntr(struct kube_config *cfg, const struct lambda_agent *a, const char *image,
			    struct cntr_err *err);

int lambda_agent_end_session(struct kube_config *cfg, const struct lambda_agent *a,
			     const char *session_id, struct cntr_err *err);

int lambda_agent_delete(struct kube_config *cfg, const struct lambda_agent *a,
			struct cntr_err *err);

void lambda_agent_clear(struct lambda_agent *a);

/* The agent namespace (lambda_agent_namespace.c): explicit_ns (--agent-namespace) when given,
 * else LAMBDA_AGENT_DEFAULT_NAMESPACE when it exists (or cannot be read: 403), else an error
 * (125) saying to install it or pass --agent-namespace. *ns malloc'd. */
int lambda_agent_namespace(struct kube_config *cfg, const char *explicit_ns, char **ns, struct cntr_err *err);

/* Who creates agents, as the API server names this client (lambda_agent_creator.c). Never
 * fails: falls back to the kubeconfig's user name. malloc'd. */
char *lambda_agent_creator(struct kube_config *cfg);

/* One session's use of an agent (lambda_agent_lifecycle.c), shared by the pod and node flows. */
struct lambda_opts;
struct lambda_agent_use {
	struct lambda_agent agent;
	char *namespace;   /* where agents go (lambda_agent_namespace) */
	char *creator;     /* lambda_agent_creator */
	const char *node;
	bool ready;
	bool exec_failed;  /* the session's exec ended in an error: our cntr may still run */
	const char *session_id;
};

/* Resolve the agent namespace and creator for a session on node. */
int lambda_agent_use_init(struct kube_config *cfg, const struct lambda_opts *o, const char *node,
			  const char *session_id, struct lambda_agent_use *u, struct cntr_err *err);
/* A ready agent on u->node: a warm one (allow_reuse) that passes lambda_agent_mismatch, else a
 * new one. */
int lambda_agent_acquire(struct kube_config *cfg, const struct lambda_opts *o, bool allow_reuse,
			 struct lambda_agent_use *u, struct cntr_err *err);
/* Let the agent go: end our session in it after an interrupt or a broken exec, then delete it if
 * this run should (one we created unless --keep, a reused one with --rm), never while another
 * session uses it. Leaves u->agent as it is (lambda_agent_use_clear frees). */
void lambda_agent_release(struct kube_config *cfg, const struct lambda_opts *o, struct lambda_agent_use *u);
/* After the session's exec returned r (*status when r is KUBE_EXEC_DONE): 1 when the exec could
 * not even start because the agent went away (idle exit, another client's cleanup) and a new
 * agent is now ready, so the caller runs the exec once more; 0 when r stands; -1 with err (also
 * when a 127 means the agent image has no cntr). */
int lambda_agent_retry_if_gone(struct kube_config *cfg, const struct lambda_opts *o, struct lambda_agent_use *u,
			       int r, int status, struct cntr_err *err);
void lambda_agent_use_clear(struct lambda_agent_use *u);
