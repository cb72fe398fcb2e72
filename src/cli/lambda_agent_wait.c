/* Waiting for a new agent to become ready: a WATCH on it (resumed after a 410 or a broken
 * connection, or polling without the right to watch), failing fast with its real reason. */
#include "cli/lambda_agent.h"
#include "cli/lambda_agent_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/lambda_json.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/rest.h"
#include "kube/safe_text.h"
#include "cli/lambda_events.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_target.h"
#include "cli/lambda_text.h"
#include "kube/clock.h"
#include "kube/http.h"
#include "kube/watch.h"

struct wait_state {
	const char *name;
	bool ready;
	bool scheduled_shown, creating_shown;
	char *failure;   /* malloc'd reason when the agent cannot become ready */
	char *last_rv;   /* to re-watch after the server ends a stream */
	char *last_text; /* what the agent was doing, for the timeout message */
	char *image_id;  /* the agent container's imageID once ready */
};

static void show_progress(struct wait_state *w, const json_t *pod)
{
	const json_t *scheduled = lambda_agent_pod_condition(pod, "PodScheduled");
	const json_t *state = lambda_agent_state(pod);

	if (!w->scheduled_shown && scheduled && strcmp(json_str(scheduled, "status"), "True") == 0) {
		_cleanup_free_ char *node = kube_safe_text(json_str(json_object_get(pod, "spec"), "nodeName"));
		w->scheduled_shown = true;
		lambda_phase("agent %s scheduled on node %s", w->name, node);
	}
	if (state) {
		free(w->last_text);
		w->last_text = lambda_container_state_text(state);
		if (!w->creating_shown && json_object_get(state, "waiting")) {
			w->creating_shown = true;
			lambda_phase("agent %s: pulling the image and starting (%s)", w->name, w->last_text);
		}
	}
}

static int on_agent_event(const struct kube_watch_event *ev, void *userdata, struct cntr_err *err)
{
	struct wait_state *w = userdata;
	const json_t *meta = json_object_get(ev->object, "metadata");

	/* A bookmark names no object: only a newer point to resume from. */
	if (ev->type == KUBE_WATCH_BOOKMARK) {
		if (*json_str(meta, "resourceVersion")) {
			free(w->last_rv);
			w->last_rv = xstrdup(json_str(meta, "resourceVersion"));
		}
		return 0;
	}
	if (strcmp(json_str(meta, "name"), w->name) != 0)
		return 0;
	free(w->last_rv);
	w->last_rv = xstrdup(json_str(meta, "resourceVersion"));
	if (ev->type == KUBE_WATCH_DELETED) {
		w->failure = xstrdup("it was deleted while starting");
		return 1;
	}
	show_progress(w, ev->object);
	if (lambda_agent_pod_ready(ev->object)) {
		w->ready = true;
		w->image_id = xstrdup(json_str(lambda_agent_named_item(ev->object, "status", "containerStatuses",
									LAMBDA_AGENT_CONTAINER), "imageID"));
		return 1;
	}
	w->failure = lambda_agent_failure(ev->object);
	return w->failure ? 1 : 0;
}


/* After a 410 Gone: GET the pod, judge it, and continue from its resourceVersion. */
static int relist(struct kube_config *cfg, const struct lambda_agent *a, struct wait_state *w,
		  struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(a->namespace, a->name, NULL);
	struct kube_watch_event ev = { .type = KUBE_WATCH_MODIFIED };

	if (kube_get(cfg, path, &resp, err) < 0)
		return -1;
	ev.object = resp.body;
	return on_agent_event(&ev, w, err);
}

/* Without permission to watch: look at the pod once a second instead. */
#define POLL_INTERVAL_MS 1000
/* A watch whose connection breaks is resumed from the last resourceVersion; this many breaks in
 * a row without progress is a server or network that cannot hold a watch: give up. */
#define WATCH_LOST_MAX 5
#define WATCH_LOST_BACKOFF_MS 200


static int poll_once(struct kube_config *cfg, const struct lambda_agent *a, struct wait_state *w,
		     struct cntr_err *err)
{
	if (relist(cfg, a, w, err) < 0)
		return -1;
	if (!w->ready && !w->failure) {
		kube_http_sleep(POLL_INTERVAL_MS);
		if (kube_http_interrupted())
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "waiting for agent %s: interrupted", a->name);
	}
	return 0;
}

/* The timeout message: what the agent was doing, the kubelet's last warning about it (a failing
 * mount or sandbox shows only there), or, when no kubelet ever reported anything, the node. */
static int fail_not_ready(struct kube_config *cfg, const struct lambda_agent *a, const struct wait_state *w,
			  const char *node, uint64_t timeout_s, struct cntr_err *err)
{
	_cleanup_free_ char *warning = lambda_pod_last_warning(cfg, a->namespace, a->name);
	_cleanup_free_ char *detail = NULL;

	if (warning)
		detail = xasprintf("%s; last warning: %s", w->last_text ? w->last_text : "Pending", warning);
	else if (w->last_text || w->scheduled_shown)
		detail = xstrdup(w->last_text ? w->last_text : "Pending");
	else
		detail = xasprintf("Pending, no kubelet has reported on it: is node %s Ready? (`kubectl get node %s`)",
				   node, node);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "agent pod %s/%s not ready after %llus (last state: %s); see `kubectl describe pod -n %s "
			 "%s`, or raise --timeout", a->namespace, a->name, (unsigned long long)timeout_s, detail,
			 a->namespace, a->name);
}

int lambda_agent_wait_ready(struct kube_config *cfg, const struct lambda_agent *a, const char *node, const char *rv,
		      uint64_t timeout_s, char **image_id, struct cntr_err *err)
{
	struct wait_state w = { .name = a->name, .last_rv = xstrdup(rv) };
	_cleanup_free_ char *path = kube_pods_path(a->namespace);
	_cleanup_free_ char *field = xasprintf("metadata.name=%s", a->name);
	uint64_t deadline = kube_now_ms() + timeout_s * 1000;
	bool polling = false;
	unsigned lost = 0;
	int r = 0;

	while (!w.ready && !w.failure) {
		uint64_t now = kube_now_ms();
		struct kube_watch_opts wopts = { .resource_version = w.last_rv, .field_selector = field,
						 .bookmarks = true };
		_cleanup_free_ char *rv_before = xstrdup(w.last_rv);

		if (now >= deadline) {
			r = fail_not_ready(cfg, a, &w, node, timeout_s, err);
			break;
		}
		wopts.timeout_ms = (unsigned)(deadline - now);
		r = polling ? poll_once(cfg, a, &w, err) : kube_watch(cfg, path, &wopts, on_agent_event, &w, err);
		if (r < 0)
			break;
		if (r == KUBE_WATCH_LOST) {
			if (strcmp(rv_before, w.last_rv) != 0)
				lost = 0;
			if (++lost > WATCH_LOST_MAX) {
				cntr_err_prefix(err, "waiting for agent %s (%u broken watches in a row): ", a->name, lost);
				r = -1;
				break;
			}
			log_info("%s; watching again from resourceVersion %s", err->msg, w.last_rv);
			cntr_err_clear(err);
			kube_http_sleep(WATCH_LOST_BACKOFF_MS * lost);
		}
		if (r == KUBE_WATCH_FORBIDDEN) {
			log_info("%s; polling the agent pod instead", err->msg);
			cntr_err_clear(err);
			polling = true;
		}
		if (r == KUBE_WATCH_GONE && relist(cfg, a, &w, err) < 0) {
			r = -1;
			break;
		}
		r = 0;
	}
	if (r == 0 && w.failure)
		r = cntr_fail(err, CNTR_EXIT_FAILURE, 0, "agent pod %s/%s cannot start: %s", a->namespace,
			      a->name, w.failure);
	free(w.failure);
	free(w.last_rv);
	free(w.last_text);
	*image_id = w.image_id ? w.image_id : xstrdup("");
	return r;
}
