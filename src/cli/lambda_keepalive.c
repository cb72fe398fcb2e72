/* Keep-alive of serverless functions while a session is open (lambda_keepalive.h). */
#include "cli/lambda_keepalive.h"

#include <stdlib.h>
#include <string.h>

#include "cli/lambda_agent.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_json.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/rest.h"
#include "kube/safe_text.h"

/* A conflict (409) means someone changed the object between our read and our write: read it
 * again and recompute; a handful of rounds is plenty for humans and a few sessions. */
#define KEEPALIVE_ATTEMPTS 8

static const struct {
	enum lambda_platform platform;
	const char *pod_label;  /* names the object */
	const char *api;        /* group/version: /apis/API/namespaces/NS/RESOURCE/NAME */
	const char *resource;
	const char *kind;
	const char *field, *key, *value;
} platforms[] = {
	{ LAMBDA_PLATFORM_KNATIVE, "serving.knative.dev/revision", "serving.knative.dev/v1", "revisions",
	  "Knative Revision", "annotations", "autoscaling.knative.dev/min-scale", "1" },
	{ LAMBDA_PLATFORM_OPENFAAS, "faas_function", "apps/v1", "deployments",
	  "OpenFaaS function Deployment", "labels", "com.openfaas.scale.zero", "false" },
};

static const json_t *metadata_map(const json_t *obj, const char *field)
{
	return json_object_get(json_object_get(obj, "metadata"), field);
}

enum lambda_platform lambda_keepalive_identify(const json_t *pod, struct lambda_keepalive *k)
{
	const json_t *labels = metadata_map(pod, "labels");
	const char *ns = json_str(json_object_get(pod, "metadata"), "namespace");
	const json_t *owners = json_object_get(json_object_get(pod, "metadata"), "ownerReferences");
	size_t i;
	json_t *ref;

	for (i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
		const char *name = json_str(labels, platforms[i].pod_label);

		/* A name from the API goes into a path: only a valid object name does. */
		if (!*name || !lambda_object_name_is_valid(name))
			continue;
		k->platform = platforms[i].platform;
		k->path = xasprintf("/apis/%s/namespaces/%s/%s/%s", platforms[i].api, ns, platforms[i].resource, name);
		k->what = xasprintf("%s %s/%s", platforms[i].kind, ns, name);
		k->field = platforms[i].field;
		k->key = platforms[i].key;
		k->value = platforms[i].value;
		return k->platform;
	}
	json_array_foreach(owners, i, ref) {
		if (strcmp(json_str(ref, "kind"), "ReplicaSet") == 0 && json_is_true(json_object_get(ref, "controller"))) {
			k->platform = LAMBDA_PLATFORM_WORKLOAD;
			k->owner_rs = xstrdup(json_str(ref, "name"));
			return k->platform;
		}
	}
	return LAMBDA_PLATFORM_NONE;
}

/* The "previous" recorded in a mark's JSON value: 1 with *value (NULL for none), 0 when the
 * mark is not ours to read. */
static int mark_previous(const char *text, const char **value, json_t **parsed)
{
	json_t *p;

	*parsed = json_loads(text, 0, NULL);
	p = json_object_get(*parsed, "previous");
	if (!p || !(json_is_null(p) || json_is_string(p)))
		return 0;
	*value = json_is_string(p) ? json_string_value(p) : NULL;
	return 1;
}

static bool is_mark(const char *annotation)
{
	return strncmp(annotation, LAMBDA_KEEPALIVE_PREFIX, strlen(LAMBDA_KEEPALIVE_PREFIX)) == 0;
}

static json_t *patch_skeleton(const json_t *obj)
{
	const char *rv = json_str(json_object_get(obj, "metadata"), "resourceVersion");

	return json_pack("{s:{s:s, s:{}}}", "metadata", "resourceVersion", rv, "annotations");
}

static json_t *patch_map(json_t *patch, const char *field)
{
	json_t *md = json_object_get(patch, "metadata");

	if (!json_object_get(md, field))
		json_object_set_new(md, field, json_object());
	return json_object_get(md, field);
}

json_t *lambda_keepalive_apply_patch(const json_t *obj, const char *field, const char *key, const char *value,
				     const char *mark, const char *holder)
{
	const json_t *annotations = metadata_map(obj, "annotations");
	const json_t *current = json_object_get(metadata_map(obj, field), key);
	json_t *previous = json_is_string(current) ? json_incref((json_t *)current) : json_null();
	json_t *patch, *v;
	const char *name;
	_cleanup_free_ char *text = NULL;

	if (json_object_get(annotations, mark)) {
		json_decref(previous);
		return NULL;
	}
	json_object_foreach((json_t *)annotations, name, v) {
		const char *prev = NULL;
		json_t *parsed = NULL;

		if (is_mark(name) && json_is_string(v) && mark_previous(json_string_value(v), &prev, &parsed)) {
			json_decref(previous);
			previous = prev ? json_string(prev) : json_null();
			json_decref(parsed);
			break;
		}
		json_decref(parsed);
	}
	v = json_pack("{s:o, s:s}", "previous", previous, "holder", holder);
	text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(v);
	patch = patch_skeleton(obj);
	json_object_set_new(patch_map(patch, "annotations"), mark, json_string(text));
	json_object_set_new(patch_map(patch, field), key, json_string(value));
	return patch;
}

static bool in_list(const char *name, const char *const list[])
{
	for (size_t i = 0; list[i]; i++) {
		if (strcmp(list[i], name) == 0)
			return true;
	}
	return false;
}

json_t *lambda_keepalive_release_patch(const json_t *obj, const char *field, const char *key,
				       const char *const marks[])
{
	const json_t *annotations = metadata_map(obj, "annotations");
	json_t *patch = patch_skeleton(obj), *v, *restore = NULL;
	bool ours = false, others = false;
	const char *name;

	json_object_foreach((json_t *)annotations, name, v) {
		const char *prev = NULL;
		json_t *parsed = NULL;

		if (!is_mark(name))
			continue;
		if (!in_list(name, marks)) {
			others = true;
			continue;
		}
		ours = true;
		json_object_set_new(patch_map(patch, "annotations"), name, json_null());
		if (!restore && json_is_string(v) && mark_previous(json_string_value(v), &prev, &parsed))
			restore = prev ? json_string(prev) : json_null();
		json_decref(parsed);
	}
	if (!ours) {
		json_decref(patch);
		json_decref(restore);
		return NULL;
	}
	if (!others && restore)
		json_object_set_new(patch_map(patch, field), key, json_incref(restore));
	json_decref(restore);
	return patch;
}

/* ---------------------------------------------------------------- I/O */

/* GET the object, compute a patch from it, PATCH with its resourceVersion; on 409 again. 1 when
 * a patch was sent, 0 when there was nothing to do. */
typedef json_t *(*patch_fn)(const json_t *obj, const struct lambda_keepalive *k, void *ctx);

static int patch_object(struct kube_config *cfg, const struct lambda_keepalive *k, patch_fn fn, void *ctx,
			struct cntr_err *err)
{
	for (int attempt = 1;; attempt++) {
		_cleanup_kube_response_ struct kube_response got = { 0 }, put = { 0 };
		json_t *patch;
		int r;

		if (kube_get(cfg, k->path, &got, err) < 0)
			return cntr_err_prefix(err, "reading %s: ", k->what);
		patch = fn(got.body, k, ctx);
		if (!patch)
			return 0;
		r = kube_request(cfg, "PATCH", k->path, patch, &put, err);
		json_decref(patch);
		if (r == 0)
			return 1;
		if (put.http_status != 409 || attempt == KEEPALIVE_ATTEMPTS)
			return cntr_err_prefix(err, "updating %s: ", k->what);
		log_debug("%s changed under us (%s); reading it again", k->what, err->msg);
	}
}

static json_t *apply_fn(const json_t *obj, const struct lambda_keepalive *k, void *ctx)
{
	return lambda_keepalive_apply_patch(obj, k->field, k->key, k->value, k->mark, k->holder);
}

static json_t *release_fn(const json_t *obj, const struct lambda_keepalive *k, void *ctx)
{
	return lambda_keepalive_release_patch(obj, k->field, k->key, (const char *const *)ctx);
}

/* Whether the session of a mark still runs: in any agent of the namespace its holder names, or
 * as a running ephemeral container. When unsure (an API error), it is taken as running. */
static bool session_running(struct kube_config *cfg, const char *session, const char *holder, const char *ns)
{
	struct cntr_err err = { 0 };
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = NULL;
	const json_t *items, *pod;
	size_t i;

	if (strncmp(holder, "ephemeral ", 10) == 0) {
		_cleanup_free_ char *pod_name = xstrdup(holder + 10);
		char *slash = strchr(pod_name, '/');
		const json_t *st;

		if (!slash)
			return true;
		*slash = '\0';
		path = kube_pod_path(ns, pod_name, NULL);
		if (kube_get(cfg, path, &resp, &err) < 0)
			return resp.http_status != 404;
		st = json_array_find(json_object_get(json_object_get(resp.body, "status"), "ephemeralContainerStatuses"),
				     "name", slash + 1);
		return !st || !json_object_get(json_object_get(st, "state"), "terminated");
	}
	if (strncmp(holder, "agents in ", 10) != 0)
		return true;
	path = kube_pods_path(holder + 10);
	kube_path_append_query(&path, "labelSelector", LAMBDA_AGENT_MANAGED_BY_LABEL "=" LAMBDA_AGENT_MANAGED_BY);
	if (kube_get(cfg, path, &resp, &err) < 0)
		return true;
	items = json_object_get(resp.body, "items");
	json_array_foreach(items, i, pod) {
		struct lambda_agent a = { .name = (char *)json_str(json_object_get(pod, "metadata"), "name"),
					  .namespace = (char *)(holder + 10) };
		int mine = 0;

		if (strcmp(json_str(json_object_get(pod, "status"), "phase"), "Running") != 0)
			continue;
		/* One question, one answer: no window between two counts. */
		if (lambda_agent_count_mine(cfg, &a, session, &mine, &err) < 0 || mine > 0)
			return true;
	}
	return false;
}

/* Release the marks of sessions that ended without undoing theirs (a SIGKILLed lambda-cntr). */
static void release_stale(struct kube_config *cfg, const struct lambda_keepalive *k, const char *ns)
{
	_cleanup_kube_response_ struct kube_response got = { 0 };
	struct cntr_err err = { 0 };
	const char *stale[16] = { 0 };
	size_t n = 0;
	const char *name;
	json_t *v;

	if (kube_get(cfg, k->path, &got, &err) < 0)
		return;
	json_object_foreach((json_t *)metadata_map(got.body, "annotations"), name, v) {
		json_t *parsed;
		const char *holder;

		if (!is_mark(name) || strcmp(name, k->mark) == 0 || n + 1 >= sizeof(stale) / sizeof(stale[0]))
			continue;
		parsed = json_loads(json_is_string(v) ? json_string_value(v) : "", 0, NULL);
		holder = json_str(parsed, "holder");
		if (*holder && !session_running(cfg, name + strlen(LAMBDA_KEEPALIVE_PREFIX), holder, ns)) {
			log_info("%s: session %s has ended without undoing its keep-alive; undoing it", k->what,
				 name + strlen(LAMBDA_KEEPALIVE_PREFIX));
			stale[n++] = name;
		}
		json_decref(parsed);
	}
	if (n && patch_object(cfg, k, release_fn, stale, &err) < 0)
		log_warn("%s", err.msg);
}

static void warn_about_hpa(struct kube_config *cfg, const char *ns, const char *rs)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = xasprintf("/apis/autoscaling/v2/namespaces/%s/horizontalpodautoscalers", ns);
	_cleanup_free_ char *deployment = xstrdup(rs);
	char *dash = strrchr(deployment, '-');
	struct cntr_err err = { 0 };
	const json_t *hpa;
	size_t i;

	if (dash)
		*dash = '\0';  /* <deployment>-<pod-template-hash> */
	if (kube_get(cfg, path, &resp, &err) < 0) {
		log_info("cannot list HorizontalPodAutoscalers in %s: %s", ns, err.msg);
		return;
	}
	json_array_foreach(json_object_get(resp.body, "items"), i, hpa) {
		const json_t *ref = json_object_get(json_object_get(hpa, "spec"), "scaleTargetRef");
		const char *kind = json_str(ref, "kind"), *name = json_str(ref, "name");

		if ((strcmp(kind, "Deployment") == 0 && strcmp(name, deployment) == 0) ||
		    (strcmp(kind, "ReplicaSet") == 0 && strcmp(name, rs) == 0)) {
			_cleanup_free_ char *hname = kube_safe_text(json_str(json_object_get(hpa, "metadata"), "name"));
			log_info("warning: HorizontalPodAutoscaler %s/%s scales %s %s: it may remove this pod during "
				 "the session (lambda-cntr leaves it alone)", ns, hname, kind, name);
		}
	}
}

bool lambda_keepalive_prepare(const json_t *pod, const char *session_id, const char *holder,
			      struct lambda_keepalive *k)
{
	enum lambda_platform platform = lambda_keepalive_identify(pod, k);

	if (platform == LAMBDA_PLATFORM_NONE || platform == LAMBDA_PLATFORM_WORKLOAD)
		return false;
	k->mark = xasprintf(LAMBDA_KEEPALIVE_PREFIX "%s", session_id);
	k->holder = xstrdup(holder);
	return true;
}

void lambda_keepalive_begin(struct kube_config *cfg, const json_t *pod, bool verbose, struct lambda_keepalive *k)
{
	const char *ns = json_str(json_object_get(pod, "metadata"), "namespace");
	struct cntr_err err = { 0 };

	if (k->platform == LAMBDA_PLATFORM_WORKLOAD && verbose)
		warn_about_hpa(cfg, ns, k->owner_rs);
	if (!k->mark)
		return;
	release_stale(cfg, k, ns);
	if (patch_object(cfg, k, apply_fn, NULL, &err) < 0) {
		log_warn("%s; it may scale to zero during the session (RBAC: get, patch)", err.msg);
		return;
	}
	k->applied = true;
	log_info("keeping %s alive: %s %s=%s while the session lasts (annotation %s)", k->what, k->field, k->key,
		 k->value, k->mark);
}

int lambda_keepalive_release(struct kube_config *cfg, const struct lambda_keepalive *k, struct cntr_err *err)
{
	const char *marks[] = { k->mark, NULL };

	return k->mark ? patch_object(cfg, k, release_fn, (void *)marks, err) : 0;
}

void lambda_keepalive_end(struct kube_config *cfg, struct lambda_keepalive *k)
{
	struct cntr_err err = { 0 };

	if (!k->applied)
		return;
	k->applied = false;
	if (lambda_keepalive_release(cfg, k, &err) < 0)
		log_warn("%s; the next lambda-cntr run on it undoes the keep-alive", err.msg);
	else
		log_info("%s: keep-alive of this session undone", k->what);
}

void lambda_keepalive_clear(struct lambda_keepalive *k)
{
	free(k->path);
	free(k->what);
	free(k->mark);
	free(k->holder);
	free(k->owner_rs);
	memset(k, 0, sizeof(*k));
}
