#include "cli/lambda_target.h"
#include "cli/lambda_json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/lambda_ids.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_text.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/http.h"
#include "kube/rest.h"


char *lambda_container_state_text(const json_t *state)
{
	const json_t *waiting = json_object_get(state, "waiting");
	const json_t *terminated = json_object_get(state, "terminated");
	_cleanup_texts_ struct lambda_texts tx = { 0 };

	if (json_object_get(state, "running"))
		return xstrdup("Running");
	if (waiting) {
		const char *reason = lambda_json_text(&tx, waiting, "reason");
		const char *msg = lambda_json_text(&tx, waiting, "message");
		return xasprintf("Waiting%s%s%s%s", *reason ? ": " : "", reason, *msg ? ": " : "", msg);
	}
	if (terminated) {
		/* The message is the container's termination log (or the runtime's words): often
		 * the one line that says why it died. Whoever runs in the container wrote it. */
		const char *msg = lambda_json_text(&tx, terminated, "message");
		return xasprintf("Terminated: %s (exit code %lld)%s%s", lambda_json_text(&tx, terminated, "reason"),
				 (long long)json_integer_value(json_object_get(terminated, "exitCode")),
				 *msg ? ": " : "", msg);
	}
	return xstrdup("no state reported yet");
}

/* The three kinds of containers a pod has, where they are declared and where their status is.
 * A sidecar (an init container with restartPolicy Always, 1.29+) runs next to the app
 * containers and is reported in initContainerStatuses; `kubectl debug` adds ephemeral ones. */
enum container_kind { KIND_APP, KIND_INIT, KIND_EPHEMERAL, KIND_COUNT };

static const struct {
	const char *spec_key;
	const char *status_key;
	const char *label; /* how lists show them, as kubectl does */
} container_kinds[KIND_COUNT] = {
	[KIND_APP] = { "containers", "containerStatuses", "" },
	[KIND_INIT] = { "initContainers", "initContainerStatuses", " (init)" },
	[KIND_EPHEMERAL] = { "ephemeralContainers", "ephemeralContainerStatuses", " (ephemeral)" },
};

#define DEFAULT_CONTAINER_ANNOTATION "kubectl.kubernetes.io/default-container"

static const json_t *declared(const json_t *pod, enum container_kind kind)
{
	return json_object_get(json_object_get(pod, "spec"), container_kinds[kind].spec_key);
}

static bool is_sidecar(const json_t *c)
{
	return strcmp(json_str(c, "restartPolicy"), "Always") == 0;
}

/* Every container as "app, log, istio-proxy (sidecar), setup (init), debugger-x (ephemeral)". */
static char *container_list(const json_t *pod)
{
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	char *list = xstrdup("");

	for (int kind = 0; kind < KIND_COUNT; kind++) {
		size_t i;
		json_t *c;

		json_array_foreach(declared(pod, kind), i, c) {
			const char *label = kind == KIND_INIT && is_sidecar(c) ? " (sidecar)"
									       : container_kinds[kind].label;
			char *next = xasprintf("%s%s%s%s", list, *list ? ", " : "", lambda_json_text(&tx, c, "name"),
					       label);
			free(list);
			list = next;
		}
	}
	return list;
}

static bool find_container(const json_t *pod, const char *wanted, enum container_kind *kind,
			   const char **name)
{
	for (int k = 0; k < KIND_COUNT; k++) {
		size_t i;
		json_t *c;

		json_array_foreach(declared(pod, k), i, c) {
			if (strcmp(json_str(c, "name"), wanted) == 0) {
				*kind = (enum container_kind)k;
				*name = json_str(c, "name");
				return true;
			}
		}
	}
	return false;
}

/* No container given: the one the pod's default-container annotation names (as kubectl), else
 * the only app container, else an error that lists them all. */
static int pick_default_container(const json_t *pod, enum container_kind *kind, const char **name,
				  struct cntr_err *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const json_t *apps = declared(pod, KIND_APP);
	const char *annotated = json_str(json_object_get(meta, "annotations"), DEFAULT_CONTAINER_ANNOTATION);
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	_cleanup_free_ char *names = NULL;

	if (*annotated) {
		if (find_container(pod, annotated, kind, name)) {
			names = container_list(pod);
			lambda_phase("defaulted container \"%s\" (" DEFAULT_CONTAINER_ANNOTATION ") out of: %s",
				     lambda_text(&tx, annotated), names);
			return 0;
		}
		log_warn("pod \"%s\": the " DEFAULT_CONTAINER_ANNOTATION " annotation names container "
			 "\"%s\", which the pod does not have; ignoring it", lambda_json_text(&tx, meta, "name"),
			 lambda_text(&tx, annotated));
	}
	if (json_array_size(apps) == 1) {
		*kind = KIND_APP;
		*name = json_str(json_array_get(apps, 0), "name");
		return 0;
	}
	names = container_list(pod);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "pod \"%s\" in namespace \"%s\" has %zu containers, choose one with -c: %s",
			 lambda_json_text(&tx, meta, "name"), lambda_json_text(&tx, meta, "namespace"),
			 json_array_size(apps), names);
}

static int pick_container(const json_t *pod, const char *wanted, enum container_kind *kind,
			  const char **name, struct cntr_err *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	_cleanup_free_ char *names = NULL;

	if (!wanted)
		return pick_default_container(pod, kind, name, err);
	if (find_container(pod, wanted, kind, name))
		return 0;
	names = container_list(pod);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "pod \"%s\" in namespace \"%s\" has no container \"%s\"; its containers: %s",
			 lambda_json_text(&tx, meta, "name"), lambda_json_text(&tx, meta, "namespace"),
			 lambda_text(&tx, wanted), names);
}

static const json_t *container_status(const json_t *pod, enum container_kind kind, const char *name)
{
	return json_array_find(json_object_get(json_object_get(pod, "status"), container_kinds[kind].status_key),
			       "name", name);
}

/* "Pending: Unschedulable: 0/3 nodes are available..." from the first False condition with
 * a reason, else the pod's own reason/message, else just the phase. malloc'd. */
static char *pod_phase_text(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	const json_t *c = json_array_find(json_object_get(status, "conditions"), "type", "PodScheduled");
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	const char *phase = lambda_json_text(&tx, status, "phase");

	if (c && strcmp(json_str(c, "status"), "False") == 0 && *json_str(c, "reason"))
		return xasprintf("%s: %s: %s", phase, lambda_json_text(&tx, c, "reason"),
				 lambda_json_text(&tx, c, "message"));
	if (*json_str(status, "reason"))
		return xasprintf("%s: %s: %s", phase, lambda_json_text(&tx, status, "reason"),
				 lambda_json_text(&tx, status, "message"));
	return xstrdup(*phase ? phase : "Unknown");
}

/* The container's state, with why it last died when it is restarting (CrashLoopBackOff says
 * only "back-off"; lastState says "Error (exit code 1)" or "OOMKilled"). malloc'd. */
static char *container_state_with_history(const json_t *cs)
{
	_cleanup_free_ char *now = NULL, *last = NULL;
	const json_t *last_state = json_object_get(cs, "lastState");

	if (!cs)
		return xstrdup("no status reported yet");
	now = lambda_container_state_text(json_object_get(cs, "state"));
	if (!json_object_get(last_state, "terminated"))
		return steal_pointer(&now);
	last = lambda_container_state_text(last_state);
	return xasprintf("%s; last %s; restarts: %lld", now, last,
			 (long long)json_integer_value(json_object_get(cs, "restartCount")));
}

/* The container must be running now. The pod's phase alone does not say: init containers and
 * sidecars run while the pod is Pending, and a terminating pod's containers run until their
 * grace period ends (debugging a stuck shutdown is a reason to attach). */
static int check_running(const json_t *pod, enum container_kind kind, const char *name, const json_t *cs,
			 struct cntr_err *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *phase = json_str(json_object_get(pod, "status"), "phase");
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	const char *pod_name = lambda_json_text(&tx, meta, "name"), *ns = lambda_json_text(&tx, meta, "namespace");
	const char *ctr = lambda_text(&tx, name);
	_cleanup_free_ char *state = NULL, *text = NULL;

	if (cs && json_object_get(json_object_get(cs, "state"), "running")) {
		if (json_object_get(meta, "deletionTimestamp"))
			log_warn("pod \"%s\" in namespace \"%s\" is terminating (deletion requested %s): "
				 "the session ends when the container stops", pod_name, ns,
				 lambda_json_text(&tx, meta, "deletionTimestamp"));
		return 0;
	}
	state = container_state_with_history(cs);
	if (json_object_get(meta, "deletionTimestamp"))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "pod \"%s\" in namespace \"%s\" is terminating; container \"%s\": %s",
				 pod_name, ns, ctr, state);
	if (strcmp(phase, "Running") != 0 && !(kind == KIND_INIT && strcmp(phase, "Pending") == 0)) {
		text = pod_phase_text(pod);
		if (cs)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "pod \"%s\" in namespace \"%s\" is not running: %s; container \"%s\": %s",
					 pod_name, ns, text, ctr, state);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "pod \"%s\" in namespace \"%s\" is not running: %s",
				 pod_name, ns, text);
	}
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "container \"%s\" of pod \"%s\" in namespace \"%s\" is not running: %s",
			 ctr, pod_name, ns, state);
}

/* The names and containerID the rest of the run uses, checked: they end up in URLs, on cntr's
 * command line and in messages. */
static int take_ids(const json_t *pod, const char *name, const json_t *cs, struct lambda_target *t,
		    struct cntr_err *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *id = json_str(cs, "containerID");
	const struct {
		const char *what;
		const char *value;
		char **into;
	} names[] = {
		{ "namespace", json_str(meta, "namespace"), &t->namespace },
		{ "name", json_str(meta, "name"), &t->pod },
		{ "container name", name, &t->container },
		{ "spec.nodeName", json_str(json_object_get(pod, "spec"), "nodeName"), &t->node },
	};
	_cleanup_texts_ struct lambda_texts tx = { 0 };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!lambda_object_name_is_valid(names[i].value))
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "pod \"%s\" has an invalid %s \"%s\"",
					 lambda_json_text(&tx, meta, "name"), names[i].what,
					 lambda_text(&tx, names[i].value));
		*names[i].into = xstrdup(names[i].value);
	}
	if (lambda_container_id_parse(id, &t->runtime, &t->container_id) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "container \"%s\" of pod \"%s\" in namespace \"%s\" has an invalid containerID "
				 "\"%s\" (expected containerd://, cri-o:// or docker:// and 64 lowercase hex digits); "
				 "not passing it to cntr", t->container, t->pod, t->namespace, lambda_text(&tx, id));
	return 0;
}

int lambda_target_from_pod(const json_t *pod, const char *container, struct lambda_target *t,
			   struct cntr_err *err)
{
	const char *name = NULL;
	enum container_kind kind = KIND_APP;
	const json_t *cs;

	memset(t, 0, sizeof(*t));
	if (pick_container(pod, container, &kind, &name, err) < 0)
		return -1;
	cs = container_status(pod, kind, name);
	if (check_running(pod, kind, name, cs, err) < 0)
		return -1;
	if (take_ids(pod, name, cs, t, err) < 0) {
		lambda_target_clear(t);
		return -1;
	}
	return 0;
}

static bool is_pod_not_found(const json_t *status)
{
	return strcmp(json_str(status, "reason"), "NotFound") == 0 &&
	       strcmp(json_str(json_object_get(status, "details"), "kind"), "pods") == 0;
}

int lambda_target_resolve(struct kube_config *cfg, const char *ns, const char *pod,
			  const char *container, struct lambda_target *t, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(ns, pod, NULL);

	if (kube_get(cfg, path, &resp, err) < 0) {
		/* Only a Status about the pod means the pod is missing; a bare 404 means the URL is
		 * wrong (a server path prefix, a proxy) and its own message says more. */
		if (resp.http_status == 404 && is_pod_not_found(resp.body))
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "pod \"%s\" not found in namespace \"%s\"", pod, ns);
		return cntr_err_prefix(err, "looking up pod \"%s\" in namespace \"%s\": ", pod, ns);
	}
	if (lambda_target_from_pod(resp.body, container, t, err) < 0)
		return -1;
	t->object = json_incref(resp.body);
	return 0;
}

void lambda_target_clear(struct lambda_target *t)
{
	free(t->namespace);
	free(t->pod);
	free(t->container);
	free(t->runtime);
	free(t->container_id);
	free(t->node);
	json_decref(t->object);
	memset(t, 0, sizeof(*t));
}
