/* Broker mode (issue 8, docs/broker.md): where lambda-cntr is installed, the API server serves
 * the aggregated API debug.lambda-cntr.io/v1alpha1 and a session is one WebSocket to its
 * connect subresource `.../namespaces/NS/pods/POD/attach` (or `.../nodes/NODE/attach`): the API
 * server authenticates and authorizes the user, the broker checks `create pods/exec` on the pod
 * with a SubjectAccessReview, picks the agent of the DaemonSet on the pod's node and relays the
 * exec channel protocol. This client creates nothing in the cluster: it reads the pod (for the
 * keep-alive of a serverless function and to spot a VM-isolated pod, both with the user's own
 * rights; lambda_session.c) and asks. */
#pragma once
#include <stdbool.h>

#include "kube/exec_stream.h"

struct cntr_err;
struct kube_config;
struct lambda_opts;

#define LAMBDA_BROKER_GROUP_VERSION "debug.lambda-cntr.io/v1alpha1"
#define LAMBDA_BROKER_APISERVICE "v1alpha1.debug.lambda-cntr.io"

/* What a session attaches to: a container of a pod, or a node (its namespaces and root); or a
 * capsule run on a node's pods (lambda_capsule_broker.c). */
enum lambda_broker_target { LAMBDA_BROKER_POD, LAMBDA_BROKER_NODE, LAMBDA_BROKER_CAPSULE };

/* Broker or pod mode: opts->api_mode when forced, else discovery of the broker's group
 * version: 200 listing the target's resource (pods/attach, nodes/attach, nodes/capsule) = broker, 404 = pod.
 * A registered but unavailable broker (503: the aggregator has no endpoint or cannot reach
 * it) and any other answer are errors (exit 125) naming the broker and suggesting --mode pod.
 * -v says which mode was chosen and why. */
int lambda_broker_choose(struct kube_config *cfg, const struct lambda_opts *opts,
			 enum lambda_broker_target target, bool *use_broker, struct cntr_err *err);

/* The session through the broker to namespace/name (namespace unused for a node), with
 * opts' container, --profile, command (none: cntr's default shell) and a TTY when attaching
 * from a terminal. Returns KUBE_EXEC_DONE with *status the command's exit status,
 * KUBE_EXEC_INTERRUPTED, or -1 with err: the broker's or API server's refusal as its Status
 * message on one line (403 naming the user and verb, 404, 503...). */
int lambda_broker_session(struct kube_config *cfg, const struct lambda_opts *opts,
			  enum lambda_broker_target target, const char *namespace, const char *name,
			  int *status, struct cntr_err *err);

/* One session request: its target, and what the query carries. */
struct lambda_broker_request {
	enum lambda_broker_target target;
	const char *namespace, *name;  /* namespace unused for a node */
	const char *container, *profile;
	const char *term;              /* the user's TERM (tty sessions; only a plain name is sent) */
	char *const *command;
};

/* The session's request path with its query (exposed for unit tests). malloc'd. */
char *lambda_broker_path(const struct lambda_broker_request *req, const struct kube_exec_opts *eopts);
