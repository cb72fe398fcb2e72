#include "broker/broker_capsule.h"

#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_agent.h"
#include "broker/broker_audit.h"
#include "broker/broker_profiles.h"
#include "broker/broker_session.h"
#include "broker/broker_status.h"
#include "broker/broker_target.h"
#include "cli/lambda_agent_spec.h"
#include "cli/lambda_capsule_argv.h"
#include "cli/lambda_capsule_internal.h"
#include "cli/lambda_ids.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/clock.h"
#include "kube/exec_stream.h"
#include "kube/rest.h"

/* A value of the query that is not accepted: a 400 (broker_capsule_prepare). */
#define bad_query(err, ...) cntr_fail((err), CNTR_EXIT_USAGE, 0, __VA_ARGS__)
#define CREATE_ATTEMPTS 3
#define POLL_MS 250

/* ---------------------------------------------------------------- the query (pure) */

int broker_capsule_target_parse(const char *text, struct broker_capsule_target *t)
{
	const char *a = strchr(text, '/'), *b = a ? strchr(a + 1, '/') : NULL;

	memset(t, 0, sizeof(*t));
	if (!b || strchr(b + 1, '/'))
		return -1;
	t->ns = xstrndup(text, (size_t)(a - text));
	t->pod = xstrndup(a + 1, (size_t)(b - a - 1));
	t->container = xstrdup(b + 1);
	if (lambda_object_name_is_valid(t->ns) && lambda_object_name_is_valid(t->pod) &&
	    lambda_object_name_is_valid(t->container) && !strchr(t->container, '.'))
		return 0;
	free(t->ns), free(t->pod), free(t->container);
	memset(t, 0, sizeof(*t));
	return -1;
}

static bool one_of(const char *v, const char *const *choices)
{
	for (; *choices; choices++)
		if (!strcmp(v, *choices))
			return true;
	return false;
}

static int parse_number(const char *flag, const char *text, uint64_t max, uint64_t *out, struct cntr_err *err)
{
	if (parse_u64(text, out) < 0 || *out == 0 || *out > max)
		return bad_query(err, "%s \"%.32s\" is not a number from 1 to %llu", flag, text,
				 (unsigned long long)max);
	return 0;
}

static int parse_policy(const struct broker_capsule_query *q, struct broker_capsule_run *run, struct cntr_err *err)
{
	static const char *const pulls[] = { "Always", "IfNotPresent", "Never", NULL };
	static const char *const seccomp[] = { "default", "unconfined", NULL };
	uint64_t n = 0;

	if (q->pull_policy && !one_of(q->pull_policy, pulls))
		return bad_query(err, "imagePullPolicy \"%.32s\" is not Always, IfNotPresent or Never", q->pull_policy);
	if (q->seccomp_profile && !one_of(q->seccomp_profile, seccomp))
		return bad_query(err, "seccompProfile \"%.32s\" is not default or unconfined", q->seccomp_profile);
	if (q->share && !lambda_capsule_share_is_valid(q->share))
		return bad_query(err, "share \"%.64s\" is not a list of uts, ipc, net, pid, cgroup", q->share);
	if (q->profile && !broker_profile_known(q->profile))
		return bad_query(err, "profile \"%.32s\" is not one of general, restricted, netadmin, sysadmin",
				 q->profile);
	if (q->parallel && parse_number("parallel", q->parallel, 1024, &n, err) < 0)
		return -1;
	run->req.parallel = (unsigned)n;
	if (q->timeout && parse_number("timeout (seconds)", q->timeout, UINT32_MAX, &run->req.timeout_s, err) < 0)
		return -1;
	if (q->iterative && q->parallel)
		return bad_query(err, "iterative and parallel exclude each other");
	run->req.iterative = q->iterative;
	run->req.fail_fast = q->fail_fast;
	return 0;
}

static int parse_targets(char *const *targets, struct broker_capsule_run *run, struct cntr_err *err)
{
	size_t n = 0;

	while (targets[n])
		n++;
	if (n == 0)
		return bad_query(err, "no target: give target=NAMESPACE/POD/CONTAINER for each container");
	if (n > BROKER_CAPSULE_MAX_TARGETS)
		return bad_query(err, "%zu targets: at most %d per node", n, BROKER_CAPSULE_MAX_TARGETS);
	run->targets = calloc(n, sizeof(*run->targets));
	if (!run->targets)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (broker_capsule_target_parse(targets[i], &run->targets[i]) < 0)
			return bad_query(err, "target \"%.300s\" is not NAMESPACE/POD/CONTAINER", targets[i]);
		run->ntargets++;  /* owned by run from here: freed whatever comes next */
		for (size_t k = 0; k < i; k++)
			if (!strcmp(targets[k], targets[i]))
				return bad_query(err, "target \"%.300s\" is given twice", targets[i]);
	}
	return 0;
}

static char **copy_strv(char *const *v)
{
	size_t n = 0;
	char **out;

	while (v[n])
		n++;
	out = calloc(n + 1, sizeof(char *));
	if (!out)
		abort();
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

bool broker_query_is_true(const char *value)
{
	return value && (!strcmp(value, "true") || !strcmp(value, "1"));
}

bool broker_capsule_query_set(struct broker_capsule_query *q, const char *key, const char *value)
{
	static const struct {
		const char *key;
		size_t field;
	} text[] = {
		{ "image", offsetof(struct broker_capsule_query, image) },
		{ "imagePullPolicy", offsetof(struct broker_capsule_query, pull_policy) },
		{ "profile", offsetof(struct broker_capsule_query, profile) },
		{ "share", offsetof(struct broker_capsule_query, share) },
		{ "seccompProfile", offsetof(struct broker_capsule_query, seccomp_profile) },
		{ "parallel", offsetof(struct broker_capsule_query, parallel) },
		{ "timeout", offsetof(struct broker_capsule_query, timeout) },
	};

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (!strcmp(key, text[i].key)) {
			*(const char **)((char *)q + text[i].field) = value;
			return true;
		}
	if (!strcmp(key, "iterative"))
		q->iterative = broker_query_is_true(value);
	else if (!strcmp(key, "failFast"))
		q->fail_fast = broker_query_is_true(value);
	else
		return false;
	return true;
}

int broker_capsule_parse(const struct broker_capsule_query *q, struct broker_capsule_run *run, struct cntr_err *err)
{
	memset(run, 0, sizeof(*run));
	if (!q->image || !*q->image || strlen(q->image) > 1024)
		return bad_query(err, "image: the capsule image is missing (image=REFERENCE)");
	if (!q->command[0])
		return bad_query(err, "command: the capsule needs a command (command=ARG, repeated)");
	if (parse_policy(q, run, err) < 0 || parse_targets(q->targets, run, err) < 0)
		return -1;
	run->image = xstrdup(q->image);
	run->pull_policy = q->pull_policy ? xstrdup(q->pull_policy) : NULL;
	/* Always named to cntr: the profile the ConfigMap allowed is the one that runs. */
	run->profile = xstrdup(q->profile ? q->profile : BROKER_PROFILE_DEFAULT);
	run->share = q->share ? xstrdup(q->share) : NULL;
	run->seccomp_profile = q->seccomp_profile ? xstrdup(q->seccomp_profile) : NULL;
	run->command = copy_strv(q->command);
	run->req.image = run->image;
	run->req.pull_policy = run->pull_policy;
	run->req.profile = run->profile;
	run->req.share = run->share;
	run->req.seccomp_profile = run->seccomp_profile;
	run->req.command = run->command;
	/* The agent image is on the node already: its DaemonSet pod runs it. */
	run->req.agent_pull_policy = "IfNotPresent";
	return 0;
}

void broker_capsule_run_free(struct broker_capsule_run *run)
{
	for (size_t i = 0; i < run->ntargets; i++) {
		struct broker_capsule_target *t = &run->targets[i];
		free(t->ns), free(t->pod), free(t->container), free(t->pod_uid), free(t->container_id), free(t->name);
	}
	free(run->targets);
	free(run->image), free(run->pull_policy), free(run->profile), free(run->share), free(run->seccomp_profile);
	free(run->agent_image);
	strv_free(run->command);
	free(run->capsule_pod);
	free(run->capsule_id);
	free(run->session_id);
	free(run->agent_pod);
	memset(run, 0, sizeof(*run));
}

/* ---------------------------------------------------------------- checks */

/* Every target before anything is read or made: the first refusal is the answer. */
static json_t *authorize_all(struct broker *b, const struct broker_identity *id, const struct broker_capsule_run *run)
{
	for (size_t i = 0; i < run->ntargets; i++) {
		json_t *st = broker_authorize_pod_exec(b, id, run->targets[i].ns, run->targets[i].pod);
		if (st)
			return st;
	}
	return NULL;
}

static json_t *check_profiles(struct broker *b, const struct broker_capsule_run *run)
{
	for (size_t i = 0; i < run->ntargets; i++) {
		json_t *st = broker_check_profile(b, run->targets[i].ns, run->profile);
		if (st)
			return st;
	}
	return NULL;
}

/* The pod as attach reads it (broker_target.c), and on the node the request names. */
static json_t *read_target(struct broker *b, const char *node, struct broker_capsule_target *t)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(t->ns, t->pod, NULL);
	struct broker_target found = { 0 };
	struct cntr_err err = { 0 };
	int code = 500;
	const char *uid;

	if (broker_api(b, "GET", path, NULL, &resp, &err) < 0)
		return resp.http_status == 404 && resp.body ? json_incref(resp.body)
							    : broker_status(503, "ServiceUnavailable", err.msg, NULL);
	if (broker_target_from_pod(resp.body, t->container, &found, &code, &err) < 0)
		return broker_status(code, broker_status_reason(code), err.msg, NULL);
	if (strcmp(found.node, node) != 0) {
		json_t *st = broker_status_fmt(400, "pod %s/%s runs on node \"%s\", not on node \"%s\"", t->ns, t->pod,
					       found.node, node);
		broker_target_free(&found);
		return st;
	}
	uid = json_string_value(json_object_get(json_object_get(resp.body, "metadata"), "uid"));
	t->pod_uid = uid ? xstrdup(uid) : NULL;
	t->container_id = steal_pointer(&found.container_id);
	t->name = xasprintf("%s/%s/%s", t->ns, t->pod, t->container);
	broker_target_free(&found);
	return NULL;
}

static json_t *read_targets(struct broker *b, const char *node, struct broker_capsule_run *run)
{
	for (size_t i = 0; i < run->ntargets; i++) {
		json_t *st = read_target(b, node, &run->targets[i]);
		if (st)
			return st;
	}
	return NULL;
}

/* ---------------------------------------------------------------- the capsule pod */

static json_t *create_capsule_pod(struct broker *b, const char *node, struct broker_capsule_run *run)
{
	_cleanup_free_ char *path = kube_pods_path(b->ns);

	for (int attempt = 1;; attempt++) {
		_cleanup_kube_response_ struct kube_response resp = { 0 };
		_cleanup_free_ char *name = capsule_pod_name();
		json_t *manifest = capsule_pod_manifest(&run->req, b->ns, name, node);
		struct cntr_err err = { 0 };
		int r = broker_api(b, "POST", path, manifest, &resp, &err);

		json_decref(manifest);
		if (r == 0 || resp.http_status == 0) {
			/* No answer: it may exist all the same; it is deleted by name. */
			run->capsule_pod = steal_pointer(&name);
			if (r == 0)
				return NULL;
		}
		if (r == 0 || resp.http_status != 409 || attempt == CREATE_ATTEMPTS)
			return broker_status_fmt(503, "creating the capsule pod on node %s in namespace %s: %s", node, b->ns,
						 err.msg);
	}
}

/* false when the broker is stopping (SIGTERM): the wait ends at once. */
static bool sleep_unless_stopping(struct broker *b)
{
	struct pollfd p = { .fd = b->stop_fd, .events = POLLIN };

	return poll(&p, 1, POLL_MS) == 0;
}

/* Until its capsule container runs: a pull failure (or any reason it never will) is the
 * kubelet's words, as the agent-pod mode's client says them. */
static json_t *wait_capsule_pod(struct broker *b, struct broker_capsule_run *run)
{
	_cleanup_free_ char *path = kube_pod_path(b->ns, run->capsule_pod, NULL);
	uint64_t waited_ms = 0;

	for (;;) {
		_cleanup_kube_response_ struct kube_response resp = { 0 };
		_cleanup_free_ char *why = NULL;
		struct cntr_err err = { 0 };
		const char *id;

		if (broker_api(b, "GET", path, NULL, &resp, &err) < 0)
			return broker_status_fmt(503, "reading capsule pod %s/%s: %s", b->ns, run->capsule_pod, err.msg);
		id = capsule_pod_running_id(resp.body);
		if (id) {
			if (!lambda_container_id_is_valid(id))
				return broker_status_fmt(500, "capsule pod %s/%s: not a container ID", b->ns, run->capsule_pod);
			run->capsule_id = xstrdup(id);
			return NULL;
		}
		why = capsule_pod_failure(resp.body);
		if (why)
			return broker_status_fmt(503, "the capsule pod cannot run: %s", why);
		if (waited_ms >= BROKER_CAPSULE_WAIT_S * 1000)
			return broker_status_fmt(503, "capsule pod %s/%s (image %s) not running after %ds", b->ns, run->capsule_pod,
						 run->image, BROKER_CAPSULE_WAIT_S);
		if (!sleep_unless_stopping(b))
			return broker_status_fmt(503, "the lambda-cntr broker is stopping");
		waited_ms += POLL_MS;
	}
}

/* SIGHUP, SIGTERM, SIGKILL to what runs under the session id (cntr agent end-session). Under
 * api_lock like every exec of the broker: a few seconds at most, and only after a broken run. */
static void end_session_in_agent(struct broker *b, const struct broker_capsule_run *run)
{
	_cleanup_strv_ char **argv = lambda_agent_end_session_argv(run->session_id);
	_cleanup_close_ int sink = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct kube_exec_opts opts;
	struct cntr_err err = { 0 };
	int status = -1, rc;

	kube_exec_opts_init(&opts);
	opts.forward_stdin = false;
	opts.out_fd = opts.err_fd = sink;
	pthread_mutex_lock(&b->api_lock);
	rc = kube_exec(b->cfg, b->ns, run->agent_pod, BROKER_AGENT_CONTAINER, argv, &opts, &status, &err);
	pthread_mutex_unlock(&b->api_lock);
	if (rc != KUBE_EXEC_DONE || status != 0)
		log_warn("ending capsule session %s in agent %s/%s: %s", run->session_id, b->ns, run->agent_pod,
			 rc == KUBE_EXEC_DONE ? "cntr agent end-session failed" : err.msg);
	else
		log_info("ended capsule session %s in agent %s/%s", run->session_id, b->ns, run->agent_pod);
}

void broker_capsule_release(struct broker *b, struct broker_capsule_run *run)
{
	if (!run)
		return;
	if (run->capsule_pod) {
		_cleanup_kube_response_ struct kube_response resp = { 0 };
		_cleanup_free_ char *path = kube_pod_path(b->ns, run->capsule_pod, NULL);
		json_t *opts = json_pack("{s:i}", "gracePeriodSeconds", 0);
		struct cntr_err err = { 0 };

		if (broker_api(b, "DELETE", path, opts, &resp, &err) < 0 && resp.http_status != 404)
			log_warn("deleting capsule pod %s/%s: %s", b->ns, run->capsule_pod, err.msg);
		else
			log_info("deleted capsule pod %s/%s", b->ns, run->capsule_pod);
		json_decref(opts);
	}
	if (run->exec_started && !run->exit_status_seen)
		end_session_in_agent(b, run);
	broker_capsule_run_free(run);
	free(run);
}

/* ---------------------------------------------------------------- the exec and the audit */

static json_t *exec_in_agent(struct broker *b, struct broker_relay *r, const char *protocols)
{
	struct broker_capsule_run *run = r->capsule;
	_cleanup_free_ struct capsule_container *containers = calloc(run->ntargets, sizeof(*containers));
	_cleanup_free_ struct capsule_container **list = calloc(run->ntargets, sizeof(*list));
	struct capsule_node node = { .name = r->node, .targets = list, .n = run->ntargets };
	_cleanup_strv_ char **cmd = NULL, **argv = NULL;
	_cleanup_free_ char *path = NULL;
	struct cntr_err err = { 0 };
	int opened;

	if (!containers || !list)
		abort();
	for (size_t i = 0; i < run->ntargets; i++) {
		containers[i] = (struct capsule_container){ .name = run->targets[i].name,
							    .container_id = run->targets[i].container_id, .node = r->node };
		list[i] = &containers[i];
	}
	cmd = capsule_cntr_argv(&run->req, run->capsule_id, &node);
	if (!cmd)
		return broker_status_fmt(500, "a target of node %s has an invalid container ID", r->node);
	run->session_id = lambda_agent_session_id();
	run->agent_pod = xstrdup(r->agent_pod);
	argv = lambda_agent_session_argv(run->session_id, NULL, cmd);
	path = broker_agent_exec_path(b->ns, r->agent_pod, argv, false, true, true, false);
	pthread_mutex_lock(&b->api_lock);
	opened = kube_ws_conn_open(&r->agent, b->cfg, path, protocols, &err);
	pthread_mutex_unlock(&b->api_lock);
	run->exec_started = opened == 0;
	if (opened < 0) {
		log_error("capsule run of user \"%s\": exec in agent %s/%s failed: %s", r->user, b->ns, r->agent_pod,
			  err.msg);
		return broker_status_fmt(503, "the lambda-cntr agent %s/%s on node \"%s\" could not start the capsule: %s", b->ns,
					 r->agent_pod, r->node, err.msg);
	}
	return NULL;
}

static void info_of_target(const struct broker_relay *r, const struct broker_capsule_target *t,
			   struct broker_session_info *info)
{
	*info = (struct broker_session_info){ .user = r->user, .ns = t->ns, .pod = t->pod, .pod_uid = t->pod_uid,
					      .node = r->node, .container = t->container, .profile = r->profile };
}

static void record_start(struct broker_relay *r)
{
	for (size_t i = 0; i < r->capsule->ntargets; i++) {
		struct broker_session_info info;
		_cleanup_free_ char *msg = NULL;

		info_of_target(r, &r->capsule->targets[i], &info);
		msg = broker_audit_capsule_start_message(&info, r->capsule->image);
		broker_audit_post(r->b, &info, "CapsuleRunStarted", msg);
	}
}

void broker_capsule_record_end(struct broker_relay *r, int exit_status, const char *why, double seconds)
{
	r->capsule->exit_status_seen = exit_status >= 0;
	for (size_t i = 0; i < r->capsule->ntargets; i++) {
		struct broker_session_info info;
		_cleanup_free_ char *msg = NULL;

		info_of_target(r, &r->capsule->targets[i], &info);
		msg = broker_audit_capsule_end_message(&info, r->capsule->image, exit_status, why, seconds);
		broker_audit_post(r->b, &info, "CapsuleRunEnded", msg);
	}
}

/* The order matters: nothing is read before every target is allowed, nothing is made before
 * every target is known to run on this node. */
static json_t *checked_and_started(struct broker *b, const struct broker_identity *id, struct broker_relay *r,
				   const char *protocols)
{
	struct broker_capsule_run *run = r->capsule;
	json_t *st;

	if ((st = authorize_all(b, id, run)) || (st = check_profiles(b, run)) || (st = read_targets(b, r->node, run)) ||
	    (st = broker_choose_agent(b, r->node, &r->agent_pod, &run->agent_image)))
		return st;
	run->req.agent_image = run->agent_image;
	if ((st = create_capsule_pod(b, r->node, run)) || (st = wait_capsule_pod(b, run)))
		return st;
	return exec_in_agent(b, r, protocols);
}

struct broker_relay *broker_capsule_prepare(struct broker *b, const struct broker_route *route,
					    const struct broker_identity *id, const struct broker_capsule_query *q,
					    const char *protocols, json_t **status)
{
	struct broker_relay *r = calloc(1, sizeof(*r));
	struct broker_capsule_run *run = calloc(1, sizeof(*run));
	struct cntr_err err = { 0 };

	if (!r || !run)
		abort();
	r->b = b;
	kube_ws_conn_init(&r->agent, b->stop_fd);
	r->user = xstrdup(id->user);
	r->node = xstrdup(route->name);
	r->capsule = run;
	if (broker_capsule_parse(q, run, &err) < 0) {
		*status = broker_status(400, "BadRequest", err.msg, NULL);
		broker_relay_free(r);
		return NULL;
	}
	r->profile = xstrdup(run->profile);
	if ((*status = checked_and_started(b, id, r, protocols))) {
		broker_relay_free(r); /* deletes the capsule pod */
		return NULL;
	}
	log_info("capsule run of user \"%s\" on node %s: capsule pod %s/%s, agent %s, %zu target(s)", r->user, r->node,
		 b->ns, run->capsule_pod, r->agent_pod, run->ntargets);
	r->started = (double)kube_now_ms() / 1000.0;
	record_start(r);
	return r;
}
