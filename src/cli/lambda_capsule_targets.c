/* Which containers a capsule runs in: the named pods, or the pods a label selector matches in a
 * namespace or all of them; a pod is a target when its chosen container runs (the checks and
 * messages of `lambda-cntr attach`, lambda_target.h), else it is listed as skipped with the
 * reason. Targets are grouped by node, in the order of namespace and pod name. */
#include "cli/lambda_capsule_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cli/lambda_json.h"
#include "cli/lambda_target.h"
#include "cli/lambda_text.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/rest.h"

static void add_skipped(struct capsule_plan *plan, const char *ns, const char *pod, const char *why)
{
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	struct capsule_result *r;

	plan->skipped = realloc(plan->skipped, (plan->nskipped + 1) * sizeof(*plan->skipped));
	if (!plan->skipped)
		abort();
	r = &plan->skipped[plan->nskipped++];
	*r = (struct capsule_result){ .name = xasprintf("%s/%s", lambda_text(&tx, ns), lambda_text(&tx, pod)),
				      .skipped = xstrdup(why), .exit = -1 };
}

static void add_target(struct capsule_plan *plan, const struct lambda_target *t)
{
	struct capsule_container *c;

	plan->targets = realloc(plan->targets, (plan->ntargets + 1) * sizeof(*plan->targets));
	if (!plan->targets)
		abort();
	c = &plan->targets[plan->ntargets++];
	c->name = xasprintf("%s/%s/%s", t->namespace, t->pod, t->container);
	c->container_id = xstrdup(t->container_id);
	c->node = xstrdup(t->node);
}

/* One pod from a list: a target, or skipped with why. */
static void consider_pod(struct capsule_plan *plan, const json_t *pod, const char *container)
{
	const json_t *meta = json_object_get(pod, "metadata");
	struct lambda_target t;
	struct cntr_err e = { 0 };

	if (json_object_get(meta, "deletionTimestamp")) {
		add_skipped(plan, json_str(meta, "namespace"), json_str(meta, "name"), "being deleted");
		return;
	}
	if (lambda_target_from_pod(pod, container, &t, &e) < 0) {
		add_skipped(plan, json_str(meta, "namespace"), json_str(meta, "name"), e.msg);
		return;
	}
	add_target(plan, &t);
	lambda_target_clear(&t);
}

static int list_in(struct kube_config *cfg, const struct capsule_request *req, const char *ns,
		   struct capsule_plan *plan, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = ns ? kube_pods_path(ns) : xstrdup("/api/v1/pods");
	size_t i;
	json_t *pod;

	kube_path_append_query(&path, "labelSelector", req->selector);
	if (kube_get(cfg, path, &resp, err) < 0)
		return cntr_err_prefix(err, "listing the pods matching \"%s\" %s%s: ", req->selector,
				       ns ? "in namespace " : "in all namespaces", ns ? ns : "");
	json_array_foreach(json_object_get(resp.body, "items"), i, pod)
		consider_pod(plan, pod, req->container);
	return 0;
}

static int list_selected(struct kube_config *cfg, const struct capsule_request *req, struct capsule_plan *plan,
			 struct cntr_err *err)
{
	if (req->all_namespaces)
		return list_in(cfg, req, NULL, plan, err);
	if (!req->namespaces)
		return list_in(cfg, req, req->namespace, plan, err);
	for (char *const *ns = req->namespaces; *ns; ns++)
		if (list_in(cfg, req, *ns, plan, err) < 0)
			return -1;
	return 0;
}

static void get_named(struct kube_config *cfg, const struct capsule_request *req, struct capsule_plan *plan)
{
	for (char *const *p = req->pods; *p; p++) {
		struct lambda_target t;
		struct cntr_err e = { 0 };

		if (lambda_target_resolve(cfg, req->namespace, *p, req->container, &t, &e) < 0) {
			add_skipped(plan, req->namespace, *p, e.msg);
			continue;
		}
		add_target(plan, &t);
		lambda_target_clear(&t);
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct capsule_container *)a)->name, ((const struct capsule_container *)b)->name);
}

static struct capsule_node *node_of(struct capsule_plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->nnodes; i++)
		if (strcmp(plan->nodes[i].name, name) == 0)
			return &plan->nodes[i];
	plan->nodes = realloc(plan->nodes, (plan->nnodes + 1) * sizeof(*plan->nodes));
	if (!plan->nodes)
		abort();
	plan->nodes[plan->nnodes] = (struct capsule_node){ .name = xstrdup(name), .out_fd = -1, .err_fd = -1,
							   .report_fd = -1 };
	return &plan->nodes[plan->nnodes++];
}

static void group_by_node(struct capsule_plan *plan)
{
	if (plan->ntargets == 0)
		return;
	qsort(plan->targets, plan->ntargets, sizeof(*plan->targets), by_name);
	for (size_t i = 0; i < plan->ntargets; i++) {
		struct capsule_node *n = node_of(plan, plan->targets[i].node);
		n->targets = realloc(n->targets, (n->n + 1) * sizeof(*n->targets));
		if (!n->targets)
			abort();
		n->targets[n->n++] = &plan->targets[i];
	}
	/* A node's targets are consecutive in the report: reorder the targets node by node. */
	{
		struct capsule_container *sorted = calloc(plan->ntargets ? plan->ntargets : 1, sizeof(*sorted));
		size_t k = 0;

		if (!sorted)
			abort();
		for (size_t i = 0; i < plan->nnodes; i++) {
			plan->nodes[i].first = k;
			for (size_t j = 0; j < plan->nodes[i].n; j++) {
				sorted[k] = *plan->nodes[i].targets[j];
				plan->nodes[i].targets[j] = &sorted[k];
				k++;
			}
		}
		free(plan->targets);
		plan->targets = sorted;
	}
}

int capsule_plan_make(struct kube_config *cfg, const struct capsule_request *req, struct capsule_plan *plan,
		      struct cntr_err *err)
{
	memset(plan, 0, sizeof(*plan));
	if (req->selector) {
		if (list_selected(cfg, req, plan, err) < 0)
			return -1;
	} else {
		get_named(cfg, req, plan);
	}
	group_by_node(plan);
	return 0;
}

void capsule_plan_clear(struct capsule_plan *plan)
{
	for (size_t i = 0; i < plan->ntargets; i++) {
		free(plan->targets[i].name);
		free(plan->targets[i].container_id);
		free(plan->targets[i].node);
	}
	free(plan->targets);
	for (size_t i = 0; i < plan->nskipped; i++) {
		free(plan->skipped[i].name);
		free(plan->skipped[i].skipped);
	}
	free(plan->skipped);
	for (size_t i = 0; i < plan->nnodes; i++) {
		free(plan->nodes[i].name);
		free(plan->nodes[i].targets);
		free(plan->nodes[i].out_buf);
		free(plan->nodes[i].err_buf);
		free(plan->nodes[i].report_buf);
		json_decref(plan->nodes[i].results);
	}
	free(plan->nodes);
	memset(plan, 0, sizeof(*plan));
}
