/* The capsule pod: how the capsule image reaches a node. The kubelet pulls IMAGE as any image
 * (registries, pull secrets of the namespace's default service account, imagePullPolicy); its
 * container runs cntr's own idle loop, copied by an init container from the agent image into an
 * emptyDir, so an image without a shell (or without anything) stays up. Not privileged, no
 * host namespaces, no service account token: the agent on the node enters it by container ID. */
#include "cli/lambda_capsule_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli/lambda_agent.h"
#include "cli/lambda_agent_spec.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_json.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_target.h"
#include "cli/lambda_text.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/http.h"
#include "kube/rest.h"

#define CREATE_ATTEMPTS 3
#define POLL_MS 250

char *capsule_pod_name(void)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char rnd[8] = { 0 };
	char suffix[9];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0, sizeof(rnd)); /* never expected; the server then answers 409 */
	for (size_t i = 0; i < sizeof(rnd); i++)
		suffix[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	suffix[8] = '\0';
	return xasprintf(CAPSULE_POD_PREFIX "%s", suffix);
}

static json_t *container(const char *name, const char *image, const char *policy, json_t *command, bool read_only)
{
	json_t *c = json_pack("{s:s, s:s, s:o, s:[{s:s, s:s, s:b}], s:{s:b, s:{s:[s]}}}", "name", name, "image", image,
			      "command", command, "volumeMounts", "name", "lambda-cntr", "mountPath", CAPSULE_CNTR_DIR,
			      "readOnly", read_only, "securityContext", "allowPrivilegeEscalation", 0,
			      "capabilities", "drop", "ALL");

	if (policy)
		json_object_set_new(c, "imagePullPolicy", json_string(policy));
	return c;
}

json_t *capsule_pod_manifest(const struct capsule_request *req, const char *ns, const char *name, const char *node)
{
	json_t *labels = json_pack("{s:s, s:s}", LAMBDA_AGENT_MANAGED_BY_LABEL, LAMBDA_AGENT_MANAGED_BY,
				   "app.kubernetes.io/name", CAPSULE_APP_NAME);
	json_t *install = container(CAPSULE_INSTALL_CONTAINER, req->agent_image, req->agent_pull_policy,
				    json_pack("[s, s, s, s]", "cntr", "agent", "install", CAPSULE_CNTR_DIR), false);
	json_t *capsule = container(CAPSULE_CONTAINER, req->image, req->pull_policy,
				    json_pack("[s, s, s]", CAPSULE_CNTR_DIR "/cntr", "agent", "idle"), true);

	/* Label values are at most 63 characters; the node is in spec.nodeName anyway. */
	if (strlen(node) <= 63)
		json_object_set_new(labels, LAMBDA_AGENT_NODE_LABEL, json_string(node));
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:{s:s, s:s}}, s:{s:s, s:s, s:i, s:b, s:b, s:[{s:s}],"
			 " s:[{s:s, s:{s:s}}], s:[o], s:[o]}}",
			 "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace", ns, "labels", labels,
			 "annotations", "sidecar.istio.io/inject", "false", "linkerd.io/inject", "disabled",
			 "spec", "nodeName", node, "restartPolicy", "Never", "terminationGracePeriodSeconds", 1,
			 "automountServiceAccountToken", 0, "enableServiceLinks", 0, "tolerations", "operator",
			 "Exists", "volumes", "name", "lambda-cntr", "emptyDir", "sizeLimit", "64Mi", "initContainers",
			 install, "containers", capsule);
}

int capsule_pod_create(struct kube_config *cfg, const struct capsule_request *req, const char *ns, const char *node,
		       char **name, struct cntr_err *err)
{
	_cleanup_free_ char *path = kube_pods_path(ns);

	for (int attempt = 1;; attempt++) {
		_cleanup_kube_response_ struct kube_response resp = { 0 };
		_cleanup_free_ char *candidate = capsule_pod_name();
		json_t *manifest = capsule_pod_manifest(req, ns, candidate, node);
		int r = kube_post(cfg, path, manifest, &resp, err);

		json_decref(manifest);
		if (r == 0 || resp.http_status == 0) {
			/* No answer: it may exist all the same; the caller deletes it by name. */
			*name = steal_pointer(&candidate);
			if (r == 0)
				lambda_phase("capsule pod %s/%s created on node %s (image %s)", ns, *name, node, req->image);
			return r;
		}
		if (resp.http_status != 409 || attempt == CREATE_ATTEMPTS)
			return cntr_err_prefix(err, "creating the capsule pod on node %s in namespace %s: ", node, ns);
	}
}

static const char *const fatal_reasons[] = {
	"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError",
	"CreateContainerError", "RunContainerError", "CrashLoopBackOff",
};

static bool is_fatal(const char *reason)
{
	for (size_t i = 0; i < sizeof(fatal_reasons) / sizeof(fatal_reasons[0]); i++)
		if (strcmp(reason, fatal_reasons[i]) == 0)
			return true;
	return false;
}

/* A container of the pod that will not start: "image IMG: Waiting: ErrImagePull: ...". */
static char *failed_container(const json_t *statuses, bool init)
{
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	size_t i;
	json_t *cs;

	json_array_foreach(statuses, i, cs) {
		const json_t *state = json_object_get(cs, "state");
		const json_t *waiting = json_object_get(state, "waiting");
		const json_t *done = json_object_get(state, "terminated");
		if ((waiting && is_fatal(json_str(waiting, "reason"))) ||
		    (done && (!init || json_integer_value(json_object_get(done, "exitCode")) != 0))) {
			_cleanup_free_ char *text = lambda_container_state_text(state);
			return xasprintf("%s image %s: %s", init ? "agent" : "capsule", lambda_json_text(&tx, cs, "image"),
					 text);
		}
	}
	return NULL;
}

char *capsule_pod_failure(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	char *why = failed_container(json_object_get(status, "initContainerStatuses"), true);

	if (!why)
		why = failed_container(json_object_get(status, "containerStatuses"), false);
	return why ? why : lambda_agent_failure(pod);
}

const char *capsule_pod_running_id(const json_t *pod)
{
	const json_t *cs = json_array_find(json_object_get(json_object_get(pod, "status"), "containerStatuses"), "name",
					   CAPSULE_CONTAINER);
	const char *url = json_str(cs, "containerID");
	const char *sep = strstr(url, "://");

	if (!json_object_get(json_object_get(cs, "state"), "running") || !sep)
		return NULL;
	return sep + 3;
}

int capsule_pod_wait(struct kube_config *cfg, const struct capsule_request *req, const char *ns, const char *name,
		     const char *node, char **container_id, struct cntr_err *err)
{
	_cleanup_free_ char *path = kube_pod_path(ns, name, NULL);
	uint64_t waited_ms = 0, limit_ms = req->agent_timeout_s * 1000;

	for (;;) {
		_cleanup_kube_response_ struct kube_response resp = { 0 };
		_cleanup_free_ char *why = NULL;
		const char *id;

		if (kube_get(cfg, path, &resp, err) < 0)
			return cntr_err_prefix(err, "node %s: reading capsule pod %s/%s: ", node, ns, name);
		id = capsule_pod_running_id(resp.body);
		if (id) {
			if (!lambda_container_id_is_valid(id))
				return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "node %s: capsule pod %s/%s: not a container ID",
						 node, ns, name);
			*container_id = xstrdup(id);
			return 0;
		}
		why = capsule_pod_failure(resp.body);
		if (why)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "node %s: the capsule pod cannot run: %s", node, why);
		if (waited_ms >= limit_ms)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "node %s: capsule pod %s/%s (image %s) not running after "
					 "%llus", node, ns, name, req->image, (unsigned long long)req->agent_timeout_s);
		if (kube_http_sleep(POLL_MS) < 0)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "interrupted");
		waited_ms += POLL_MS;
	}
}

int capsule_pod_delete(struct kube_config *cfg, const char *ns, const char *name, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(ns, name, NULL);
	json_t *opts = json_pack("{s:i}", "gracePeriodSeconds", 0);
	int r = kube_delete(cfg, path, opts, &resp, err);

	json_decref(opts);
	if (r < 0 && resp.http_status != 404)
		return cntr_err_prefix(err, "deleting capsule pod %s/%s: ", ns, name);
	return 0;
}
