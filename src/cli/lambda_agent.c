#include "cli/lambda_agent.h"
#include "cli/lambda_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cli/lambda_events.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_target.h"
#include "cli/lambda_text.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/clock.h"
#include "kube/exec_stream.h"
#include "kube/http.h"
#include "kube/rest.h"
#include "kube/safe_text.h"
#include "kube/watch.h"

#define CREATE_ATTEMPTS 3
/* The agent's small programs print a count or a path: anything longer is not their answer, and
 * it would otherwise pile up in memory (memfd). */
#define AGENT_PROGRAM_OUTPUT_MAX (64u << 10)

/* Waiting reasons after which a container will not start without someone changing something. */
static const char *const fatal_waiting_reasons[] = {
	"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError",
	"CrashLoopBackOff", "PreCreateHookError", "PostStartHookError",
};


static const json_t *pod_condition(const json_t *pod, const char *type)
{
	return json_array_find(json_object_get(json_object_get(pod, "status"), "conditions"), "type", type);
}

/* The element of pod[section][key] named name (spec.containers, status.containerStatuses): by
 * name, not position, since admission webhooks may add containers (service mesh sidecars). */
static const json_t *named_item(const json_t *pod, const char *section, const char *key, const char *name)
{
	return json_array_find(json_object_get(json_object_get(pod, section), key), "name", name);
}

static const json_t *agent_state(const json_t *pod)
{
	return json_object_get(named_item(pod, "status", "containerStatuses", LAMBDA_AGENT_CONTAINER), "state");
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
	const json_t *ready = pod_condition(pod, "Ready");

	return !json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") &&
	       strcmp(json_str(json_object_get(pod, "status"), "phase"), "Running") == 0 && ready &&
	       strcmp(json_str(ready, "status"), "True") == 0;
}

char *lambda_agent_failure(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	const json_t *scheduled = pod_condition(pod, "PodScheduled");
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
		const json_t *state = agent_state(pod);
		_cleanup_free_ char *text = NULL;

		/* The kubelet refusing the pod (nodeName bypasses the scheduler): OutOfcpu,
		 * NodeAffinity, Evicted... are the pod's reason. */
		if (*reason)
			return xasprintf("%s: %s: %s", phase, reason, lambda_json_text(&tx, status, "message"));
		/* A runtime that could not start the command (StartError) says why only here. */
		if (json_object_get(state, "terminated")) {
			text = lambda_container_state_text(state);
			return xasprintf("%s; container %s: %s", phase, LAMBDA_AGENT_CONTAINER, text);
		}
		return xasprintf("%s (the agent's command exited)", phase);
	}
	return NULL;
}


static void delete_quietly(struct kube_config *cfg, const char *ns, const char *name)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(ns, name, NULL);
	struct cntr_err err = { 0 };

	if (kube_delete(cfg, path, NULL, &resp, &err) < 0 && resp.http_status != 404)
		log_warn("deleting finished agent pod %s/%s: %s", ns, name, err.msg);
	else
		log_info("deleted finished agent pod %s/%s", ns, name);
}

static const char *agent_image(const json_t *pod)
{
	return json_str(named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER), "image");
}

/* The -s socket as this version mounts it: a hostPath volume of that path, at the fixed path. */
static bool mounts_socket(const json_t *pod, const char *socket_path)
{
	const json_t *volumes = json_object_get(json_object_get(pod, "spec"), "volumes");
	const json_t *mounts = json_object_get(named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER),
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

/* An agent is trusted only if it is the one this version creates (DESIGN.md §5): same program,
 * same privileges and read-only root. Image, socket and pull policy are the user's choice and
 * checked against what was asked for. */
static const char *spec_mismatch(const json_t *pod, const struct lambda_agent_params *params)
{
	struct lambda_agent_params as_created = *params;
	const json_t *live = named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER);
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
	return NULL;
}

const char *lambda_agent_mismatch(const json_t *pod, const struct lambda_agent_params *params)
{
	const char *why;

	if (strcmp(agent_image(pod), params->image) != 0)
		return "it runs another image";
	why = spec_mismatch(pod, params);
	if (why)
		return why;
	if (params->socket_path && !mounts_socket(pod, params->socket_path))
		return "it does not mount the runtime socket asked for with -s";
	/* "Always" asks for the registry's current image, which an older agent may not run. */
	if (params->pull_policy && strcmp(params->pull_policy, "Always") == 0 &&
	    strcmp(json_str(named_item(pod, "spec", "containers", LAMBDA_AGENT_CONTAINER), "imagePullPolicy"),
		   "Always") != 0)
		return "its image was not pulled with --image-pull-policy Always";
	return NULL;
}

int lambda_agent_find(struct kube_config *cfg, const struct lambda_agent_params *params,
		      struct lambda_agent *a, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	const char *ns = params->namespace, *node = params->node;
	/* All agents of the namespace, not only this node's: an agent that idled out stays as a
	 * Succeeded pod until someone deletes it, and any run may tidy up after all nodes. */
	_cleanup_free_ char *path = kube_pods_path(ns);
	const char *found = NULL;
	size_t i;
	json_t *pod;

	kube_path_append_query(&path, "labelSelector", LAMBDA_AGENT_MANAGED_BY_LABEL "=" LAMBDA_AGENT_MANAGED_BY);
	if (kube_get(cfg, path, &resp, err) < 0) {
		/* Reuse is an optimisation: a user allowed to create pods but not to list them
		 * still gets a session, with an agent of its own. */
		if (resp.http_status == 403) {
			log_info("not looking for a warm agent: %s", err->msg);
			cntr_err_clear(err);
			return 1;
		}
		return cntr_err_prefix(err, "looking for an agent pod on node %s in namespace %s: ", node, ns);
	}
	json_array_foreach(json_object_get(resp.body, "items"), i, pod) {
		const json_t *meta = json_object_get(pod, "metadata");
		const char *phase = json_str(json_object_get(pod, "status"), "phase");
		const char *pod_node = json_str(json_object_get(pod, "spec"), "nodeName");

		/* No real API server lists such a name; never exec into or delete it. */
		if (!lambda_object_name_is_valid(json_str(meta, "name")))
			continue;
		if (!found && strcmp(pod_node, node) == 0 && lambda_agent_pod_ready(pod)) {
			const char *why_not = lambda_agent_mismatch(pod, params);
			if (!why_not)
				found = json_str(meta, "name");
			else
				log_info("not reusing agent %s: %s", json_str(meta, "name"), why_not);
		} else if ((strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0) &&
			 !json_object_get(meta, "deletionTimestamp"))
			delete_quietly(cfg, ns, json_str(meta, "name"));
	}
	if (!found)
		return 1;
	a->name = xstrdup(found);
	a->namespace = xstrdup(ns);
	a->created = false;
	return 0;
}

/* Admission refusals a user can act on: Pod Security (the agent is privileged with hostPID,
 * which only the "privileged" level allows) and quota/limit ranges. Returns -1. */
static int hint_for_refused_agent(struct cntr_err *err, const char *ns)
{
	if (strstr(err->msg, "PodSecurity"))
		return cntr_err_hint(err, "the agent must be privileged with hostPID: run it in a namespace whose Pod "
				     "Security level allows that (--agent-namespace NS, or label the namespace "
				     "pod-security.kubernetes.io/enforce=privileged)");
	if (strstr(err->msg, "exceeded quota") || strstr(err->msg, "failed quota") ||
	    strstr(err->msg, "per Container"))
		return cntr_err_hint(err, "namespace %s limits resources (ResourceQuota/LimitRange); use "
				     "--agent-namespace for a namespace without them", ns);
	return -1;
}

static void delete_unanswered(struct kube_config *cfg, const char *ns, const char *name)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(ns, name, NULL);
	struct cntr_err err = { 0 };

	if (kube_delete(cfg, path, NULL, &resp, &err) == 0)
		log_info("agent pod %s/%s had been created though its creation got no answer: deleted", ns, name);
	else if (resp.http_status != 404)
		log_warn("the creation of agent pod %s/%s got no answer, and deleting it in case it exists "
			 "failed: %s", ns, name, err.msg);
}

static int create_agent(struct kube_config *cfg, const struct lambda_agent_params *params,
			struct lambda_agent *a, char **rv, struct cntr_err *err)
{
	_cleanup_free_ char *path = kube_pods_path(params->namespace);

	for (int attempt = 1;; attempt++) {
		_cleanup_kube_response_ struct kube_response resp = { 0 };
		_cleanup_free_ char *name = lambda_agent_name(params->node);
		struct lambda_agent_params p = *params;
		json_t *manifest;
		int r;

		p.name = name;
		manifest = lambda_agent_manifest(&p);
		r = kube_post(cfg, path, manifest, &resp, err);
		json_decref(manifest);
		if (r == 0) {
			const json_t *meta = json_object_get(resp.body, "metadata");
			a->name = steal_pointer(&name);
			a->namespace = xstrdup(params->namespace);
			a->created = true;
			*rv = xstrdup(json_str(meta, "resourceVersion"));
			return 0;
		}
		/* No answer: the API server may have created it all the same. Its name is ours, so
		 * remove it rather than leave an agent nobody knows about. */
		if (resp.http_status == 0)
			delete_unanswered(cfg, params->namespace, name);
		/* A name clash with another client's agent: draw another suffix. */
		if (resp.http_status != 409 || attempt == CREATE_ATTEMPTS) {
			cntr_err_prefix(err, "creating the agent pod on node %s in namespace %s: ", params->node,
					params->namespace);
			return hint_for_refused_agent(err, params->namespace);
		}
	}
}

struct wait_state {
	const char *name;
	bool ready;
	bool scheduled_shown, creating_shown;
	char *failure;   /* malloc'd reason when the agent cannot become ready */
	char *last_rv;   /* to re-watch after the server ends a stream */
	char *last_text; /* what the agent was doing, for the timeout message */
};

static void show_progress(struct wait_state *w, const json_t *pod)
{
	const json_t *scheduled = pod_condition(pod, "PodScheduled");
	const json_t *state = agent_state(pod);

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

static int wait_ready(struct kube_config *cfg, const struct lambda_agent *a, const char *node, const char *rv,
		      uint64_t timeout_s, struct cntr_err *err)
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
	return r;
}

int lambda_agent_start(struct kube_config *cfg, const struct lambda_agent_params *params,
		       uint64_t timeout_s, struct lambda_agent *a, struct cntr_err *err)
{
	_cleanup_free_ char *rv = NULL;

	if (create_agent(cfg, params, a, &rv, err) < 0)
		return -1;
	lambda_phase("agent %s/%s created for node %s (image %s)", a->namespace, a->name, params->node,
		     params->image);
	if (wait_ready(cfg, a, params->node, rv, timeout_s, err) < 0)
		return -1;
	lambda_phase("agent %s ready", a->name);
	return 0;
}

bool lambda_agent_is_running(struct kube_config *cfg, const struct lambda_agent *a)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(a->namespace, a->name, NULL);
	struct cntr_err err = { 0 };

	if (kube_get(cfg, path, &resp, &err) < 0)
		return resp.http_status != 404;  /* unknown: do not claim it is gone */
	return lambda_agent_pod_ready(resp.body);
}

/* Exec one of the agent's small programs; its stdout (trailing whitespace cut) in *output.
 * With exit_status, its status goes there; without, a non-zero status is an error. */
static int run_agent_program(struct kube_config *cfg, const struct lambda_agent *a, char **argv,
			     char **output, int *exit_status, struct cntr_err *err)
{
	_cleanup_close_ int out = memfd_create("lambda-cntr-agent-out", MFD_CLOEXEC);
	_cleanup_close_ int errout = memfd_create("lambda-cntr-agent-err", MFD_CLOEXEC);
	struct kube_exec_opts opts;
	size_t len;
	int status;

	if (out < 0 || errout < 0)
		return cntr_fail_errno(err, "memfd_create for a program in agent %s", a->name);
	kube_exec_opts_init(&opts);
	opts.forward_stdin = false;
	opts.out_fd = out;
	opts.err_fd = errout;
	opts.output_max = AGENT_PROGRAM_OUTPUT_MAX;
	if (kube_exec(cfg, a->namespace, a->name, LAMBDA_AGENT_CONTAINER, argv, &opts, &status, err) !=
	    KUBE_EXEC_DONE)
		return -1;
	if (lseek(out, 0, SEEK_SET) < 0 || read_fd_all(out, output, &len) < 0)
		return cntr_fail_errno(err, "reading the output of a program in agent %s", a->name);
	while (len && (*output)[len - 1] && strchr(" \t\n", (*output)[len - 1]))
		(*output)[--len] = '\0';
	if (exit_status) {
		*exit_status = status;
		return 0;
	}
	if (status != 0) {
		_cleanup_free_ char *text = kube_safe_text(*output);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exit status %d (output \"%s\")", status, text);
	}
	return 0;
}

int lambda_agent_count_others(struct kube_config *cfg, const struct lambda_agent *a,
			      const char *session_id, int *count, struct cntr_err *err)
{
	_cleanup_strv_ char **argv = lambda_agent_count_others_argv(session_id);
	_cleanup_free_ char *text = NULL;
	uint64_t n;

	if (run_agent_program(cfg, a, argv, &text, NULL, err) < 0)
		return cntr_err_prefix(err, "counting the sessions of agent %s: ", a->name);
	if (parse_u64(text, &n) < 0 || n > INT32_MAX) {
		_cleanup_free_ char *answer = kube_safe_text(text);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "counting the sessions of agent %s: unexpected answer \"%s\"", a->name, answer);
	}
	*count = (int)n;
	return 0;
}

int lambda_agent_check_cntr(struct kube_config *cfg, const struct lambda_agent *a, const char *image,
			    struct cntr_err *err)
{
	_cleanup_strv_ char **argv = lambda_agent_find_cntr_argv();
	_cleanup_free_ char *where = NULL;
	struct cntr_err probe_err = { 0 };
	int status = 0;

	/* A check that cannot run says nothing about the image: the status stands. */
	if (run_agent_program(cfg, a, argv, &where, &status, &probe_err) < 0) {
		log_info("checking for cntr in agent %s: %s", a->name, probe_err.msg);
		return 0;
	}
	if (status == 0) {
		log_debug("agent %s has cntr at %s", a->name, where);
		return 0;
	}
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "agent image %s has no `cntr` on its PATH, so nothing could be attached; use the "
			 "lambda-cntr agent image (-i/$CNTR_IMAGE, see images/README.md)", image);
}

int lambda_agent_end_session(struct kube_config *cfg, const struct lambda_agent *a,
			     const char *session_id, struct cntr_err *err)
{
	_cleanup_strv_ char **argv = lambda_agent_end_session_argv(session_id);
	_cleanup_free_ char *text = NULL;

	if (run_agent_program(cfg, a, argv, &text, NULL, err) < 0)
		return cntr_err_prefix(err, "ending session %s in agent %s: ", session_id, a->name);
	return 0;
}

int lambda_agent_delete(struct kube_config *cfg, const struct lambda_agent *a,
			struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(a->namespace, a->name, NULL);

	if (kube_delete(cfg, path, NULL, &resp, err) < 0) {
		if (resp.http_status == 404)
			return 0;  /* already gone (idle exit and someone else's cleanup) */
		return cntr_err_prefix(err, "deleting agent pod %s/%s: ", a->namespace, a->name);
	}
	return 0;
}

void lambda_agent_clear(struct lambda_agent *a)
{
	free(a->name);
	free(a->namespace);
	memset(a, 0, sizeof(*a));
}
