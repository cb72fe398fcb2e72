/* Judging an agent pod from its JSON: ready, failed for good (and why), or not the agent this
 * version creates. No I/O. */
#include "cli/lambda_agent.h"
#include "cli/lambda_agent_internal.h"

#include <string.h>

#include "cli/lambda_agent_spec.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_json.h"
#include "cli/lambda_target.h"
#include "cli/lambda_text.h"
#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube/safe_text.h"

/* Waiting reasons after which a container will not start without someone changing something. */
static const char *const fatal_waiting_reasons[] = {
	"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError",
	"CrashLoopBackOff", "PreCreateHookError", "PostStartHookError",
};


const json_t *lambda_agent_pod_condition(const json_t *pod, const char *type)
{
	return json_array_find(json_object_get(json_object_get(pod, "status"), "conditions"), "type", type);
}

/* The element of pod[section][key] named name (spec.containers, status.containerStatuses): by
 * name, not position, since admission webhooks may add containers (service mesh sidecars). */
const json_t *lambda_agent_named_item(const json_t *pod, const char *section, const char *key, const char *name)
{
	return json_array_find(json_object_get(json_object_get(pod, section), key), "name", name);
}

const json_t *lambda_agent_state(const json_t *pod)
{
	return json_object_get(lambda_agent_named_item(pod, "status", "containerStatuses", LAMBDA_AGENT_CONTAINER), "state");
}

static bool is_fatal_reason(const char *reason)
{
	for (size_t i = 0; i < sizeof(fatal_waiting_reasons) / sizeof(fatal_waiting_reasons[0]); i++) {
		if (strcmp(reason, fatal_waiting_reasons[i]) == 0)
			return true;
	}
	return false;
}

bool lambda_agent_pod_ready(const json_t *pod)
{
	const json_t *ready = lambda_agent_pod_condition(pod, "Ready");

	return !json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") &&
	       strcmp(json_str(json_object_get(pod, "status"), "phase"), "Running") == 0 && ready &&
	       strcmp(json_str(ready, "status"), "True") == 0;
}

char *lambda_agent_failure(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	const json_t *scheduled = lambda_agent_pod_condition(pod, "PodScheduled");
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	const char *phase = lambda_json_text(&tx, status, "phase");
	size_t i;
	json_t *cs;

	if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp"))
		return xasprintf("it is being deleted");
	if (scheduled && strcmp(json_str(scheduled, "status"), "False") == 0 &&
	    strcmp(json_str(scheduled, "reason"), "Unschedulable") == 0)
		return xasprintf("%s: Unschedulable: %s", *phase ? phase : "Pending",
				 lambda_json_text(&tx, scheduled, "message"));
	json_array_foreach(json_object_get(status, "containerStatuses"), i, cs) {
		const json_t *waiting = json_object_get(json_object_get(cs, "state"), "waiting");
		if (waiting && is_fatal_reason(json_str(waiting, "reason")))
			return lambda_container_state_text(json_object_get(cs, "state"));
	}
	if (strcmp(phase, "Failed") == 0 || strcmp(phase, "Succeeded") == 0) {
		const char *reason = lambda_json_text(&tx, status, "reason");
		const json_t *state = lambda_agent_state(pod);
		_cleanup_free_ char *text = NULL;

		/* The kubelet refusing the pod (nodeName bypasses the scheduler): OutOfcpu,
		 * NodeAffinity, Evicted... are the pod's reason. */
		if (*reason)
			return xasprintf("%s: %s: %s", phase, reason, lambda_json_text(&tx, status, "message"));
		/* A runtime that could not start the command (StartError) says why only here; the
		 * agent's command is cntr itself, so an image without it fails right there. */
		if (json_object_get(state, "terminated")) {
			text = lambda_container_state_text(state);
			if (strstr(text, "\"cntr\"") && strstr(text, "not found"))
				return xasprintf("agent image %s has no `cntr` on its PATH, so nothing could be attached; use "
						 "the lambda-cntr agent image (-i/$CNTR_IMAGE, see images/README.md)",
						 json_str(lambda_agent_named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER),
							  "image"));
			return xasprintf("%s; container %s: %s", phase, LAMBDA_AGENT_CONTAINER, text);
		}
		return xasprintf("%s (the agent's command exited)", phase);
	}
	return NULL;
}

static const char *agent_image(const json_t *pod)
{
	return json_str(lambda_agent_named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER), "image");
}

/* The -s socket as this version mounts it: a hostPath volume of that path, at the fixed path. */
static bool mounts_socket(const json_t *pod, const char *socket_path)
{
	const json_t *volumes = json_object_get(json_object_get(pod, "spec"), "volumes");
	const json_t *mounts = json_object_get(lambda_agent_named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER),
					       "volumeMounts");
	size_t i;
	json_t *v;

	json_array_foreach(volumes, i, v) {
		const json_t *m = json_array_find(mounts, "name", json_str(v, "name"));

		if (strcmp(json_str(json_object_get(v, "hostPath"), "path"), socket_path) == 0 && m &&
		    strcmp(json_str(m, "mountPath"), LAMBDA_AGENT_SOCKET_MOUNT) == 0)
			return true;
	}
	return false;
}

/* Every field of ours has our value in live (a mutating webhook may add others). */
static bool has_all_fields(const json_t *live, const json_t *ours)
{
	const char *key;
	json_t *value;

	if (!json_is_object(live))
		return false;
	json_object_foreach((json_t *)ours, key, value) {
		if (!json_equal(json_object_get(live, key), value))
			return false;
	}
	return true;
}

/* Owned by this version's agent-pod scheme: our labels, and no owner (a pod some controller made
 * is not one lambda-cntr created). */
static bool has_our_owner(const json_t *pod)
{
	const json_t *meta = json_object_get(pod, "metadata");
	const json_t *labels = json_object_get(meta, "labels");
	const json_t *owners = json_object_get(meta, "ownerReferences");

	return strcmp(json_str(labels, LAMBDA_AGENT_MANAGED_BY_LABEL), LAMBDA_AGENT_MANAGED_BY) == 0 &&
	       strcmp(json_str(labels, "app.kubernetes.io/name"), "lambda-cntr-agent") == 0 &&
	       strcmp(json_str(labels, LAMBDA_AGENT_SCHEME_LABEL), LAMBDA_AGENT_SCHEME) == 0 &&
	       json_array_size(owners) == 0;
}

/* An environment entry this version gives its agent, with a value it could have given: the
 * pod's own name, a number of seconds, the -s socket at its fixed path. Anything else (PATH,
 * LD_PRELOAD...) would change what runs when a session starts. */
static bool is_our_env_entry(const json_t *entry, const char *pod_name)
{
	const char *name = json_str(entry, "name"), *value = json_str(entry, "value");

	if (json_object_get(entry, "valueFrom"))
		return false;
	if (strcmp(name, "LAMBDA_CNTR_AGENT") == 0)
		return strcmp(value, pod_name) == 0;
	if (strcmp(name, "LAMBDA_CNTR_IDLE_SECONDS") == 0)
		return *value && strspn(value, "0123456789") == strlen(value);
	if (strcmp(name, "DOCKER_HOST") == 0 || strcmp(name, "CONTAINER_RUNTIME_ENDPOINT") == 0)
		return strcmp(value, "unix://" LAMBDA_AGENT_SOCKET_MOUNT) == 0;
	return false;
}

/* The fields of the agent container: ours, and what the API server fills in by default.
 * Anything else (lifecycle hooks, exec probes, args, envFrom, workingDir...) would run or
 * change something as root next to every session. */
static const char *const container_fields[] = {
	"name", "image", "imagePullPolicy", "command", "env", "securityContext", "resources", "volumeMounts",
	"terminationMessagePath", "terminationMessagePolicy",
};

static bool is_container_field(const char *key)
{
	for (size_t i = 0; i < sizeof(container_fields) / sizeof(container_fields[0]); i++) {
		if (strcmp(key, container_fields[i]) == 0)
			return true;
	}
	return false;
}

/* Exactly our container: with hostPID, any other container of the pod (a sidecar, an init or
 * ephemeral container added later) would see every session's processes on the node. */
static const char *pod_containers_mismatch(const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec");

	if (json_array_size(json_object_get(spec, "containers")) != 1 ||
	    json_array_size(json_object_get(spec, "initContainers")) != 0 ||
	    json_array_size(json_object_get(spec, "ephemeralContainers")) != 0)
		return "it runs other containers than this version's agent";
	if (*json_str(spec, "runtimeClassName"))
		return "it runs under a RuntimeClass";
	return NULL;
}

/* Only our environment and at most the -s socket mounted: no volume over cntr or its PATH. */
static const char *container_extras_mismatch(const json_t *live, const char *pod_name)
{
	const json_t *mounts = json_object_get(live, "volumeMounts");
	const char *key;
	size_t i;
	json_t *item;

	json_object_foreach((json_t *)live, key, item) {
		if (strcmp(key, "args") != 0 && !is_container_field(key))
			return "its container has fields this version's agent does not (hooks, probes...)";
	}
	if (json_object_get(live, "envFrom"))
		return "its environment is not this version's";
	json_array_foreach(json_object_get(live, "env"), i, item) {
		if (!is_our_env_entry(item, pod_name))
			return "its environment is not this version's";
	}
	json_array_foreach(mounts, i, item) {
		if (strcmp(json_str(item, "mountPath"), LAMBDA_AGENT_SOCKET_MOUNT) != 0 ||
		    strcmp(json_str(item, "name"), LAMBDA_AGENT_SOCKET_VOLUME) != 0 ||
		    !json_is_true(json_object_get(item, "readOnly")))
			return "it mounts volumes this version's agent does not";
	}
	if (json_object_get(live, "volumeDevices"))
		return "it mounts volumes this version's agent does not";
	return NULL;
}

/* The digest a reference pins ("name@sha256:HEX" -> "HEX"), or NULL for a tag. */
static const char *pinned_digest(const char *image)
{
	const char *at = strstr(image, "@sha256:");

	return at ? at + strlen("@sha256:") : NULL;
}

/* imageID as runtimes report it: "repo@sha256:HEX" (containerd, CRI-O), "docker-pullable://
 * repo@sha256:HEX" (dockershim) or "sha256:HEX" (an image only loaded on the node). */
static bool image_id_has_digest(const char *image_id, const char *hex)
{
	const char *digest = strstr(image_id, "sha256:");

	if (!*hex || !digest || (digest != image_id && digest[-1] != '@'))
		return false;
	return strcmp(digest + strlen("sha256:"), hex) == 0;
}

/* The image the agent runs is the one expected: the digest the reference pins, else the imageID
 * its creator recorded when the agent became Ready (lambda_agent_record_image). */
static const char *digest_mismatch(const json_t *pod, const char *image)
{
	const char *running = json_str(lambda_agent_named_item(pod, "status", "containerStatuses", LAMBDA_AGENT_CONTAINER),
				       "imageID");
	const char *pinned = pinned_digest(image);
	const char *recorded = json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
					LAMBDA_AGENT_IMAGE_ID_ANNOTATION);

	if (!*running)
		return "its image digest is unknown (no imageID in its status)";
	if (pinned)
		return image_id_has_digest(running, pinned) ? NULL : "image digest differs";
	if (!*recorded)
		return "its image digest was not recorded by its creator";
	return strcmp(recorded, running) == 0 ? NULL : "image digest differs";
}

/* An agent is trusted only if it is the one this version creates (DESIGN.md §5): same program,
 * same privileges and read-only root. Image, socket and pull policy are the user's choice and
 * checked against what was asked for. */
static const char *spec_mismatch(const json_t *pod, const struct lambda_agent_params *params)
{
	struct lambda_agent_params as_created = *params;
	const json_t *live = lambda_agent_named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER);
	json_auto_t *ours = NULL;
	const json_t *ours_ctr;

	as_created.name = json_str(json_object_get(pod, "metadata"), "name");
	as_created.socket_path = NULL;
	ours = lambda_agent_manifest(&as_created);
	ours_ctr = json_array_get(json_object_get(json_object_get(ours, "spec"), "containers"), 0);
	if (!has_all_fields(json_object_get(live, "securityContext"), json_object_get(ours_ctr, "securityContext")))
		return "its securityContext is not this version's (privileged, read-only root filesystem)";
	if (!json_equal(json_object_get(live, "command"), json_object_get(ours_ctr, "command")) ||
	    json_object_get(live, "args"))
		return "it runs another program than this version's agent";
	if (!json_is_true(json_object_get(json_object_get(pod, "spec"), "hostPID")))
		return "it does not share the node's PID namespace";
	return container_extras_mismatch(live, as_created.name);
}

const char *lambda_agent_mismatch(const json_t *pod, const struct lambda_agent_params *params)
{
	const char *creator = json_str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
				       LAMBDA_AGENT_CREATOR_ANNOTATION);
	const char *why;

	if (!has_our_owner(pod))
		return "it is not owned by lambda-cntr's agent pods (labels or ownerReferences differ)";
	why = pod_containers_mismatch(pod);
	if (why)
		return why;
	if (params->creator && strcmp(creator, params->creator) != 0)
		return "it was created by another user";
	if (strcmp(agent_image(pod), params->image) != 0)
		return "it runs another image";
	why = spec_mismatch(pod, params);
	if (!why)
		why = digest_mismatch(pod, params->image);
	if (why)
		return why;
	if (params->socket_path && !mounts_socket(pod, params->socket_path))
		return "it does not mount the runtime socket asked for with -s";
	/* "Always" asks for the registry's current image, which an older agent may not run. */
	if (params->pull_policy && strcmp(params->pull_policy, "Always") == 0 &&
	    strcmp(json_str(lambda_agent_named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER), "imagePullPolicy"),
		   "Always") != 0)
		return "its image was not pulled with --image-pull-policy Always";
	return NULL;
}
