#include "cli/lambda_target.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/http.h"
#include "kube/rest.h"

static const char *json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

char *lambda_container_state_text(const json_t *state)
{
	const json_t *waiting = json_object_get(state, "waiting");
	const json_t *terminated = json_object_get(state, "terminated");

	if (json_object_get(state, "running"))
		return xstrdup("Running");
	if (waiting) {
		const char *msg = json_str(waiting, "message");
		return xasprintf("Waiting: %s%s%s", json_str(waiting, "reason"), *msg ? ": " : "", msg);
	}
	if (terminated)
		return xasprintf("Terminated: %s (exit code %lld)", json_str(terminated, "reason"),
				 (long long)json_integer_value(json_object_get(terminated, "exitCode")));
	return xstrdup("no state reported yet");
}

/* The names of spec.containers as "a, b, c". */
static char *container_list(const json_t *containers)
{
	char *list = xstrdup("");
	size_t i;
	json_t *c;

	json_array_foreach(containers, i, c) {
		char *next = xasprintf("%s%s%s", list, i ? ", " : "", json_str(c, "name"));
		free(list);
		list = next;
	}
	return list;
}

static int pick_container(const json_t *pod, const char *wanted, const char **name, struct cntr_err *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
	_cleanup_free_ char *names = container_list(containers);
	size_t i;
	json_t *c;

	if (!wanted) {
		if (json_array_size(containers) == 1) {
			*name = json_str(json_array_get(containers, 0), "name");
			return 0;
		}
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "pod \"%s\" in namespace \"%s\" has %zu containers, choose one with -c: %s",
				 json_str(meta, "name"), json_str(meta, "namespace"),
				 json_array_size(containers), names);
	}
	json_array_foreach(containers, i, c) {
		if (strcmp(json_str(c, "name"), wanted) == 0) {
			*name = json_str(c, "name");
			return 0;
		}
	}
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "pod \"%s\" in namespace \"%s\" has no container \"%s\"; its containers: %s",
			 json_str(meta, "name"), json_str(meta, "namespace"), wanted, names);
}

static const json_t *container_status(const json_t *pod, const char *name)
{
	const json_t *statuses = json_object_get(json_object_get(pod, "status"), "containerStatuses");
	size_t i;
	json_t *cs;

	json_array_foreach(statuses, i, cs) {
		if (strcmp(json_str(cs, "name"), name) == 0)
			return cs;
	}
	return NULL;
}

/* "Pending: Unschedulable: 0/3 nodes are available..." from the first False condition with
 * a reason, else the pod's own reason/message, else just the phase. malloc'd. */
static char *pod_phase_text(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	const json_t *conds = json_object_get(status, "conditions");
	const char *phase = json_str(status, "phase");
	size_t i;
	json_t *c;

	json_array_foreach(conds, i, c) {
		if (strcmp(json_str(c, "status"), "False") == 0 && *json_str(c, "reason") &&
		    strcmp(json_str(c, "type"), "PodScheduled") == 0)
			return xasprintf("%s: %s: %s", phase, json_str(c, "reason"), json_str(c, "message"));
	}
	if (*json_str(status, "reason"))
		return xasprintf("%s: %s: %s", phase, json_str(status, "reason"), json_str(status, "message"));
	return xstrdup(*phase ? phase : "Unknown");
}

static int check_running(const json_t *pod, const char *name, const json_t *cs, struct cntr_err *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *phase = json_str(json_object_get(pod, "status"), "phase");

	if (json_object_get(meta, "deletionTimestamp"))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "pod \"%s\" in namespace \"%s\" is terminating",
				 json_str(meta, "name"), json_str(meta, "namespace"));
	if (strcmp(phase, "Running") != 0) {
		_cleanup_free_ char *text = pod_phase_text(pod);
		_cleanup_free_ char *state = cs ? lambda_container_state_text(json_object_get(cs, "state")) : NULL;

		if (state)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "pod \"%s\" in namespace \"%s\" is not running: %s; container \"%s\": %s",
					 json_str(meta, "name"), json_str(meta, "namespace"), text, name, state);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "pod \"%s\" in namespace \"%s\" is not running: %s",
				 json_str(meta, "name"), json_str(meta, "namespace"), text);
	}
	if (!cs || !json_object_get(json_object_get(cs, "state"), "running")) {
		_cleanup_free_ char *state = cs ? lambda_container_state_text(json_object_get(cs, "state"))
						: xstrdup("no status reported yet");
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "container \"%s\" of pod \"%s\" in namespace \"%s\" is not running: %s",
				 name, json_str(meta, "name"), json_str(meta, "namespace"), state);
	}
	return 0;
}

int lambda_target_from_pod(const json_t *pod, const char *container, struct lambda_target *t,
			   struct cntr_err *err)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const char *name = NULL, *id, *sep, *node;
	const json_t *cs;

	memset(t, 0, sizeof(*t));
	if (pick_container(pod, container, &name, err) < 0)
		return -1;
	cs = container_status(pod, name);
	if (check_running(pod, name, cs, err) < 0)
		return -1;
	id = json_str(cs, "containerID");
	sep = strstr(id, "://");
	if (!sep || !sep[3])
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "container \"%s\" of pod \"%s\" has no usable containerID (\"%s\")", name,
				 json_str(meta, "name"), id);
	node = json_str(json_object_get(pod, "spec"), "nodeName");
	if (!*node)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "pod \"%s\" has no spec.nodeName",
				 json_str(meta, "name"));
	t->namespace = xstrdup(json_str(meta, "namespace"));
	t->pod = xstrdup(json_str(meta, "name"));
	t->container = xstrdup(name);
	t->runtime = xstrndup(id, (size_t)(sep - id));
	t->container_id = xstrdup(sep + 3);
	t->node = xstrdup(node);
	return 0;
}

int lambda_target_resolve(const struct kube_config *cfg, const char *ns, const char *pod,
			  const char *container, struct lambda_target *t, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *ns_esc = kube_url_escape(ns);
	_cleanup_free_ char *pod_esc = kube_url_escape(pod);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/pods/%s", ns_esc, pod_esc);

	if (kube_get(cfg, path, &resp, err) < 0) {
		if (resp.http_status == 404)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "pod \"%s\" not found in namespace \"%s\"", pod, ns);
		return cntr_err_prefix(err, "looking up pod \"%s\" in namespace \"%s\": ", pod, ns);
	}
	return lambda_target_from_pod(resp.body, container, t, err);
}

void lambda_target_clear(struct lambda_target *t)
{
	free(t->namespace);
	free(t->pod);
	free(t->container);
	free(t->runtime);
	free(t->container_id);
	free(t->node);
	memset(t, 0, sizeof(*t));
}
