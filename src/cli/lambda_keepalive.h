/* Keeping a serverless function's pod alive while a session is open.
 *
 * Which platform owns the pod is read from its labels: Knative Serving
 * (serving.knative.dev/revision) gets `autoscaling.knative.dev/min-scale: "1"` on its Revision
 * (not on the Service: a change to the Service's template would roll a new Revision, i.e. new
 * pods, ending the very session it should protect); OpenFaaS (faas_function) gets the label
 * `com.openfaas.scale.zero=false` on the function's Deployment, which its scale-to-zero
 * component honours. A pod owned by a plain ReplicaSet/Deployment is not touched; with -v a
 * HorizontalPodAutoscaler (autoscaling/v2) targeting it is reported.
 *
 * Bookkeeping, visible to anyone with `kubectl get -o yaml`: every session that keeps the object
 * alive adds the annotation `lambda-cntr.io/keep-alive-<session>` whose value is JSON:
 * {"previous": <the platform key's value before lambda-cntr changed it, or null>, "holder":
 * "agents in NS" | "ephemeral POD/CONTAINER"}. The first session records the value it finds;
 * later ones copy the "previous" of an existing mark (the value they see is ours). When a
 * session ends its mark is removed, and the last mark out puts "previous" back (null: the key is
 * removed). Every PATCH is a JSON merge patch carrying metadata.resourceVersion, so a concurrent
 * change answers 409 and is retried on a fresh read: two sessions never lose each other's mark.
 * A SIGKILLed lambda-cntr's mark is undone by its watchdog (lambda_watchdog.h). A mark whose
 * session no longer runs in any agent of its namespace (lambda-cntr and its watchdog were lost;
 * the agent's idle exit or the node ended the session) is stale: the next lambda-cntr run on an
 * object releases it the same way, so it is undone exactly once. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

struct kube_config;
struct cntr_err;

#define LAMBDA_KEEPALIVE_PREFIX "lambda-cntr.io/keep-alive-"

enum lambda_platform { LAMBDA_PLATFORM_NONE = 0, LAMBDA_PLATFORM_KNATIVE, LAMBDA_PLATFORM_OPENFAAS,
		       LAMBDA_PLATFORM_WORKLOAD };

/* What keeps one object alive. */
struct lambda_keepalive {
	enum lambda_platform platform;
	char *path;         /* the object's API path */
	char *what;         /* "Knative Revision ns/name" */
	const char *field;  /* "annotations" or "labels": where the platform key lives */
	const char *key;    /* the platform key */
	const char *value;  /* the value that keeps it alive */
	char *mark;         /* LAMBDA_KEEPALIVE_PREFIX + session */
	char *holder;       /* "agents in NS" or "ephemeral POD/CONTAINER" */
	char *owner_rs;     /* LAMBDA_PLATFORM_WORKLOAD: the ReplicaSet, else NULL */
	bool applied;
};

/* Which object keeps pod alive (no I/O). */
enum lambda_platform lambda_keepalive_identify(const json_t *pod, struct lambda_keepalive *k);

/* The merge patch that adds mark and sets the key, for the object obj as last read (its
 * resourceVersion as the precondition). NULL when obj already carries mark. */
json_t *lambda_keepalive_apply_patch(const json_t *obj, const char *field, const char *key, const char *value,
				     const char *mark, const char *holder);

/* The merge patch that removes the marks named in marks (NULL-terminated) and, when no other
 * mark remains, restores the key. NULL when obj carries none of them (already undone). */
json_t *lambda_keepalive_release_patch(const json_t *obj, const char *field, const char *key,
				       const char *const marks[]);

/* Identify the platform and name this session's mark (no I/O). true: there is an object to keep
 * alive (Knative, OpenFaaS), so a watchdog should be started before lambda_keepalive_begin. */
bool lambda_keepalive_prepare(const json_t *pod, const char *session_id, const char *holder,
			      struct lambda_keepalive *k);

/* Begin, after prepare: release stale marks, add ours. Failures are warnings (a session is not
 * refused because a function could not be kept alive). verbose: report HPAs. */
void lambda_keepalive_begin(struct kube_config *cfg, const json_t *pod, bool verbose, struct lambda_keepalive *k);

/* Remove this session's mark wherever it is (none: nothing happens), whether or not this
 * process applied it: for the watchdog, forked before the mark went on. */
int lambda_keepalive_release(struct kube_config *cfg, const struct lambda_keepalive *k, struct cntr_err *err);

/* Undo ours, once (a no-op when nothing was applied or it was undone already). */
void lambda_keepalive_end(struct kube_config *cfg, struct lambda_keepalive *k);

void lambda_keepalive_clear(struct lambda_keepalive *k);
