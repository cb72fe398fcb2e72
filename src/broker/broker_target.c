#include "broker/broker_target.h"

#include <stdlib.h>
#include <string.h>

#include "cli/lambda_ids.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

#define DEFAULT_CONTAINER_ANNOTATION "kubectl.kubernetes.io/default-container"

static int fail(int *http_code, int code, struct cntr_err *err, const char *msg)
{
	*http_code = code;
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s", msg);
}

/* "a b c" for the message naming the choices, as the API server lists them. */
static char *container_names(const json_t *containers)
{
	char *list = xstrdup("");
	const json_t *c;
	size_t i;

	json_array_foreach(containers, i, c) {
		char *next = xasprintf("%s%s%s", list, i ? " " : "", json_string_value(json_object_get(c, "name")));
		free(list);
		list = next;
	}
	return list;
}

static bool has_container(const json_t *containers, const char *name)
{
	const json_t *c;
	size_t i;

	json_array_foreach(containers, i, c)
		if (json_is_string(json_object_get(c, "name")) &&
		    strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			return true;
	return false;
}

static const char *choose_container(const json_t *pod, const char *asked, const char *pod_name, int *http_code,
				    struct cntr_err *err)
{
	const json_t *containers = json_object_get(json_object_get(pod, "spec"), "containers");
	const char *annotated = json_string_value(
		json_object_get(json_object_get(json_object_get(pod, "metadata"), "annotations"), DEFAULT_CONTAINER_ANNOTATION));

	if (asked && *asked) {
		if (!has_container(containers, asked)) {
			_cleanup_free_ char *m = xasprintf("container %s is not valid for pod %s", asked, pod_name);
			fail(http_code, 400, err, m);
			return NULL;
		}
		return asked;
	}
	if (json_array_size(containers) == 1)
		return json_string_value(json_object_get(json_array_get(containers, 0), "name"));
	if (annotated && has_container(containers, annotated))
		return annotated;
	{
		_cleanup_free_ char *names = container_names(containers);
		_cleanup_free_ char *m = xasprintf("a container name must be specified for pod %s, choose one of: [%s]",
						   pod_name, names);
		fail(http_code, 400, err, m);
	}
	return NULL;
}

/* status.containerStatuses[name=container].containerID of a running container. */
static const char *running_container_id(const json_t *pod, const char *container)
{
	const json_t *statuses = json_object_get(json_object_get(pod, "status"), "containerStatuses");
	const json_t *st;
	size_t i;

	json_array_foreach(statuses, i, st) {
		const char *name = json_string_value(json_object_get(st, "name"));
		if (!name || strcmp(name, container) != 0)
			continue;
		if (!json_object_get(json_object_get(st, "state"), "running"))
			return NULL;
		return json_string_value(json_object_get(st, "containerID"));
	}
	return NULL;
}

int broker_target_from_pod(const json_t *pod, const char *container, struct broker_target *t, int *http_code,
			   struct cntr_err *err)
{
	const char *pod_name = json_string_value(json_object_get(json_object_get(pod, "metadata"), "name"));
	const char *node = json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"));
	const char *chosen, *url;
	_cleanup_free_ char *runtime = NULL, *id = NULL;

	memset(t, 0, sizeof(*t));
	pod_name = pod_name ? pod_name : "";
	chosen = choose_container(pod, container, pod_name, http_code, err);
	if (!chosen)
		return -1;
	if (!node || !*node) {
		_cleanup_free_ char *m = xasprintf("pod %s is not scheduled to a node yet", pod_name);
		return fail(http_code, 400, err, m);
	}
	url = running_container_id(pod, chosen);
	if (!url || !*url) {
		_cleanup_free_ char *m = xasprintf("container %s of pod %s is not running", chosen, pod_name);
		return fail(http_code, 400, err, m);
	}
	if (lambda_container_id_parse(url, &runtime, &id) < 0) {
		_cleanup_free_ char *m = xasprintf("container %s of pod %s has an ID the broker does not accept "
						   "(expected containerd://, cri-o:// or docker:// and 64 hex digits)",
						   chosen, pod_name);
		return fail(http_code, 500, err, m);
	}
	t->node = xstrdup(node);
	t->container = xstrdup(chosen);
	t->container_id = steal_pointer(&id);
	return 0;
}

void broker_target_free(struct broker_target *t)
{
	free(t->node);
	free(t->container);
	free(t->container_id);
	memset(t, 0, sizeof(*t));
}
