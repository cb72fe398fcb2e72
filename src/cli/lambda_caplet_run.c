/* One run of a Capsule: its spec as an engine request, the run, each target's output tail,
 * then status.lastRun and status.history (newest first, at most spec.historyLimit) patched
 * through the status subresource, and an Event (RunSucceeded, RunFailed, RunError,
 * RunInterrupted). */
#include "cli/lambda_caplet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/lambda_capsule.h"
#include "cli/lambda_capsule_argv.h"
#include "cli/lambda_ids.h"
#include "cli/lambda_json.h"
#include "cli/lambda_signals.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/http.h"
#include "kube/rest.h"

char *caplet_capsule_path(const char *ns, const char *name, const char *sub)
{
	if (!ns)
		return xstrdup("/apis/" CAPSULE_GROUP_VERSION "/capsules");
	return xasprintf("/apis/" CAPSULE_GROUP_VERSION "/namespaces/%s/capsules%s%s%s%s", ns, name ? "/" : "",
			 name ? name : "", sub ? "/" : "", sub ? sub : "");
}

const char *caplet_time_text(time_t t, char *buf)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Adds one requirement (owned by the call) to the selector text. */
static void add_requirement(char **text, char *requirement)
{
	char *next = xasprintf("%s%s%s", *text, **text ? "," : "", requirement);

	free(*text);
	free(requirement);
	*text = next;
}

char *caplet_selector_text(const json_t *selector, struct cntr_err *err)
{
	const char *key;
	json_t *value, *expr;
	size_t i;
	char *text = xstrdup("");

	json_object_foreach((json_t *)json_object_get(selector, "matchLabels"), key, value)
		add_requirement(&text, xasprintf("%s=%s", key, json_string_value(value) ? json_string_value(value) : ""));
	json_array_foreach(json_object_get(selector, "matchExpressions"), i, expr) {
		const char *op = json_str(expr, "operator"), *k = json_str(expr, "key");
		_cleanup_free_ char *values = xstrdup("");
		json_t *v;
		size_t j;
		json_array_foreach(json_object_get(expr, "values"), j, v) {
			char *next = xasprintf("%s%s%s", values, j ? "," : "", json_string_value(v) ? json_string_value(v) : "");
			free(values);
			values = next;
		}
		if (!strcmp(op, "In"))
			add_requirement(&text, xasprintf("%s in (%s)", k, values));
		else if (!strcmp(op, "NotIn"))
			add_requirement(&text, xasprintf("%s notin (%s)", k, values));
		else if (!strcmp(op, "Exists"))
			add_requirement(&text, xstrdup(k));
		else if (!strcmp(op, "DoesNotExist"))
			add_requirement(&text, xasprintf("!%s", k));
		else {
			free(text);
			cntr_fail(err, CNTR_EXIT_USAGE, 0, "spec.selector: operator \"%s\" is not In, NotIn, Exists or DoesNotExist", op);
			return NULL;
		}
	}
	if (!*text) {
		free(text);
		cntr_fail(err, CNTR_EXIT_USAGE, 0, "spec.selector selects nothing: give matchLabels or matchExpressions");
		return NULL;
	}
	return text;
}

/* The strings of a JSON array of strings, NULL-terminated; NULL when absent or not strings. */
static char **string_list(const json_t *array)
{
	size_t i, n = json_array_size(array);
	char **v;
	json_t *item;

	if (!json_is_array(array) || n == 0)
		return NULL;
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		abort();
	json_array_foreach(array, i, item) {
		if (!json_is_string(item)) {
			strv_free(v);
			return NULL;
		}
		v[i] = xstrdup(json_string_value(item));
	}
	return v;
}

static const char *opt_str(const json_t *obj, const char *key)
{
	const char *s = json_str(obj, key);
	return *s ? s : NULL;
}

struct spec_owned {
	char *selector, *share;
	char **command, **namespaces;
};

static void spec_owned_clear(struct spec_owned *o)
{
	free(o->selector);
	free(o->share);
	strv_free(o->command);
	strv_free(o->namespaces);
}

static int request_from(const json_t *capsule, const struct caplet_defaults *d, struct capsule_request *r,
			struct spec_owned *o, struct cntr_err *err)
{
	const json_t *meta = json_object_get(capsule, "metadata"), *spec = json_object_get(capsule, "spec");
	const json_t *policy = json_object_get(spec, "policy"), *sandbox = json_object_get(spec, "sandbox");
	const char *ns = json_str(meta, "namespace");
	_cleanup_strv_ char **share = string_list(json_object_get(sandbox, "share"));

	memset(r, 0, sizeof(*r));
	r->image = opt_str(spec, "image");
	o->command = string_list(json_object_get(spec, "command"));
	if (!r->image || !o->command)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "spec.image and spec.command are required");
	o->selector = caplet_selector_text(json_object_get(spec, "selector"), err);
	if (!o->selector)
		return -1;
	o->namespaces = string_list(json_object_get(spec, "namespaces"));
	for (char **n = o->namespaces; n && *n; n++) {
		if (!lambda_object_name_is_valid(*n))
			return cntr_fail(err, CNTR_EXIT_USAGE, 0, "spec.namespaces: \"%s\" is not a namespace name", *n);
		/* The caplet may exec into pods of every namespace: a Capsule reaches other
		 * namespaces than its own only from the caplet's, where only its admins write. */
		if (strcmp(*n, ns) != 0 && (!d->home_namespace || strcmp(ns, d->home_namespace) != 0))
			return cntr_fail(err, CNTR_EXIT_USAGE, 0,
					 "spec.namespaces: \"%s\" is not the Capsule's own namespace \"%s\"; only a "
					 "Capsule in \"%s\" (the caplet's) may run in other namespaces",
					 *n, ns, d->home_namespace ? d->home_namespace : "the caplet's namespace");
	}
	for (char **s = share; s && *s; s++) {
		char *next = xasprintf("%s%s%s", o->share ? o->share : "", o->share ? "," : "", *s);
		free(o->share);
		o->share = next;
	}
	if (o->share && !lambda_capsule_share_is_valid(o->share))
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "spec.sandbox.share: \"%s\" is not uts, ipc, net, pid, cgroup", o->share);
	r->pull_policy = opt_str(spec, "imagePullPolicy");
	r->command = o->command;
	r->selector = o->selector;
	r->namespace = ns;
	r->namespaces = o->namespaces;
	r->container = opt_str(spec, "container");
	r->parallel = (unsigned)json_integer_value(json_object_get(policy, "parallel"));
	r->iterative = json_is_true(json_object_get(policy, "iterative"));
	r->fail_fast = json_is_true(json_object_get(policy, "failFast"));
	r->timeout_s = (uint64_t)json_integer_value(json_object_get(policy, "timeoutSeconds"));
	r->profile = opt_str(sandbox, "profile");
	r->share = o->share;
	r->seccomp_profile = opt_str(sandbox, "seccompProfile");
	r->agent_image = d->agent_image;
	r->agent_pull_policy = "IfNotPresent";
	r->agent_namespace = d->agent_namespace ? d->agent_namespace : ns;
	r->via_broker = d->via_broker;
	r->agent_timeout_s = d->agent_timeout_s;
	r->idle_timeout_s = d->idle_timeout_s;
	return 0;
}

/* The last lines of each target's output. */
struct tails {
	char **names, **text;
	size_t n;
};

static char **tail_of(struct tails *t, const char *name, size_t len)
{
	for (size_t i = 0; i < t->n; i++)
		if (strlen(t->names[i]) == len && !strncmp(t->names[i], name, len))
			return &t->text[i];
	/* NULL-terminated both, for strv_free. */
	t->names = realloc(t->names, (t->n + 2) * sizeof(char *));
	t->text = realloc(t->text, (t->n + 2) * sizeof(char *));
	if (!t->names || !t->text)
		abort();
	t->names[t->n] = xstrndup(name, len);
	t->text[t->n] = xstrdup("");
	t->names[t->n + 1] = t->text[t->n + 1] = NULL;
	return &t->text[t->n++];
}

static void keep_line(void *ctx, enum capsule_stream stream, const char *line)
{
	const char *end = line[0] == '[' ? strstr(line, "] ") : NULL;
	char **text, *next;
	size_t lines = 0;

	(void)stream;
	if (!end)
		return; /* lambda-cntr's own words: not a target's output */
	text = tail_of(ctx, line + 1, (size_t)(end - line - 1));
	next = xasprintf("%s%s\n", *text, end + 2);
	free(*text);
	*text = next;
	for (const char *c = *text; *c; c++)
		lines += *c == '\n';
	/* The last CAPLET_TAIL_LINES lines, and of those the last CAPLET_TAIL_BYTES bytes. */
	while (lines > CAPLET_TAIL_LINES) {
		char *nl = strchr(*text, '\n');
		memmove(*text, nl + 1, strlen(nl + 1) + 1);
		lines--;
	}
	if (strlen(*text) > CAPLET_TAIL_BYTES) {
		size_t cut = strlen(*text) - CAPLET_TAIL_BYTES;
		memmove(*text, *text + cut, strlen(*text + cut) + 1);
	}
}

static void tails_clear(struct tails *t)
{
	strv_free(t->names);
	strv_free(t->text);
}

static json_t *run_object(const struct capsule_report *rep, const struct tails *tails, time_t scheduled, time_t start,
			  const char *result, const char *message)
{
	char a[32], b[32], c[32];
	json_t *targets = json_array(), *skipped = json_array();

	for (size_t i = 0; i < rep->targets; i++) {
		const struct capsule_result *r = &rep->results[i];
		json_t *t = json_pack("{s:s, s:s, s:b, s:f}", "target", r->name, "node", r->node, "timedOut", r->timed_out,
				      "seconds", r->seconds);
		json_object_set_new(t, "exit", r->exit >= 0 ? json_integer(r->exit) : json_null());
		if (r->error)
			json_object_set_new(t, "error", json_string(r->error));
		for (size_t k = 0; k < tails->n; k++)
			if (!strcmp(tails->names[k], r->name))
				json_object_set_new(t, "outputTail", json_string(tails->text[k]));
		json_array_append_new(targets, t);
	}
	for (size_t i = rep->targets; i < rep->n; i++)
		json_array_append_new(skipped, json_pack("{s:s, s:s}", "pod", rep->results[i].name, "reason",
							 rep->results[i].skipped));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "scheduledTime", caplet_time_text(scheduled, a),
			 "startTime", caplet_time_text(start, b), "completionTime", caplet_time_text(time(NULL), c),
			 "result", result, "message", message, "targets", targets, "skipped", skipped);
}

/* status.lastRun and status.history through the status subresource (a merge patch replaces
 * the history array whole: read it first). */
static void record_status(struct kube_config *cfg, const json_t *capsule, json_t *run)
{
	const json_t *meta = json_object_get(capsule, "metadata");
	_cleanup_free_ char *path = caplet_capsule_path(json_str(meta, "namespace"), json_str(meta, "name"), NULL);
	_cleanup_free_ char *status_path = caplet_capsule_path(json_str(meta, "namespace"), json_str(meta, "name"), "status");
	_cleanup_kube_response_ struct kube_response cur = { 0 }, resp = { 0 };
	struct cntr_err err = { 0 };
	json_int_t limit = json_integer_value(json_object_get(json_object_get(capsule, "spec"), "historyLimit"));
	json_t *history = json_array(), *old, *patch;
	size_t i;

	if (limit <= 0)
		limit = CAPLET_DEFAULT_HISTORY;
	if (kube_get(cfg, path, &cur, &err) < 0) {
		log_warn("capsule %s/%s: %s (its run is not recorded)", json_str(meta, "namespace"), json_str(meta, "name"), err.msg);
		json_decref(history);
		return;
	}
	json_array_append(history, run);
	old = json_object_get(json_object_get(cur.body, "status"), "history");
	for (i = 0; i < json_array_size(old) && (json_int_t)json_array_size(history) < limit; i++)
		json_array_append(history, json_array_get(old, i));
	patch = json_pack("{s:{s:O, s:o}}", "status", "lastRun", run, "history", history);
	if (kube_patch(cfg, status_path, patch, "application/merge-patch+json", &resp, &err) < 0)
		log_warn("capsule %s/%s: recording its run: %s", json_str(meta, "namespace"), json_str(meta, "name"), err.msg);
	json_decref(patch);
}

void caplet_event(struct kube_config *cfg, const json_t *capsule, const char *type, const char *reason,
		  const char *message)
{
	const json_t *meta = json_object_get(capsule, "metadata");
	const char *ns = json_str(meta, "namespace");
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s/events", ns);
	_cleanup_free_ char *prefix = xasprintf("%s.", json_str(meta, "name"));
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	struct cntr_err err = { 0 };
	char now[32];
	json_t *ev;

	caplet_time_text(time(NULL), now);
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s, s:s}, s:s, s:s, s:s, s:i, s:s, s:s, s:{s:s}}",
		       "apiVersion", "v1", "kind", "Event", "metadata", "generateName", prefix, "namespace", ns,
		       "involvedObject", "apiVersion", CAPSULE_GROUP_VERSION, "kind", CAPSULE_KIND, "namespace", ns, "name",
		       json_str(meta, "name"), "uid", json_str(meta, "uid"), "reason", reason, "message", message, "type",
		       type, "count", 1, "firstTimestamp", now, "lastTimestamp", now, "source", "component",
		       CAPLET_COMPONENT);
	if (kube_post(cfg, path, ev, &resp, &err) < 0)
		log_warn("capsule %s/%s: recording event %s: %s", ns, json_str(meta, "name"), reason, err.msg);
	json_decref(ev);
}

static char *summary_message(const struct capsule_report *rep)
{
	char *msg = xasprintf("%zu target(s), %zu failed", rep->targets, rep->failed);

	for (size_t i = 0, shown = 0; i < rep->targets && shown < 5; i++) {
		const struct capsule_result *r = &rep->results[i];
		char *next;
		if (r->exit == 0)
			continue;
		next = r->exit > 0 ? xasprintf("%s%s %s exited %d", msg, shown ? "," : ":", r->name, r->exit)
				   : xasprintf("%s%s %s did not run", msg, shown ? "," : ":", r->name);
		free(msg);
		msg = next;
		shown++;
	}
	return msg;
}

int caplet_run_one(struct kube_config *cfg, const json_t *capsule, time_t scheduled, const struct caplet_defaults *d)
{
	__attribute__((cleanup(spec_owned_clear))) struct spec_owned own = { 0 };
	__attribute__((cleanup(tails_clear))) struct tails tails = { 0 };
	struct capsule_request req;
	struct capsule_report rep = { 0 };
	struct cntr_err err = { 0 };
	time_t start = time(NULL);
	const char *result;
	_cleanup_free_ char *message = NULL;
	json_t *run;
	int r;

	kube_http_after_fork();
	if (lambda_signals_install(&err) < 0)
		return CNTR_EXIT_FAILURE;
	r = request_from(capsule, d, &req, &own, &err);
	if (r == 0) {
		req.on_line = keep_line;
		req.ctx = &tails;
		r = lambda_capsule_run(cfg, &req, &rep, &err);
	}
	lambda_signals_allow_cleanup();
	if (lambda_signals_caught()) {
		/* The caplet is stopping: the run was cut short, its targets say how far it got. */
		result = "Interrupted";
		message = xasprintf("stopped by signal %d (the caplet was stopping)", lambda_signals_caught());
	} else if (r < 0) {
		result = strncmp(err.msg, "no ", 3) == 0 ? "NoTargets" : "Error";
		message = xstrdup(err.msg);
	} else {
		result = rep.failed ? "Failed" : "Succeeded";
		message = summary_message(&rep);
	}
	run = run_object(&rep, &tails, scheduled, start, result, message);
	record_status(cfg, capsule, run);
	caplet_event(cfg, capsule, strcmp(result, "Succeeded") == 0 ? "Normal" : "Warning",
		     !strcmp(result, "Succeeded")     ? "RunSucceeded"
		     : !strcmp(result, "Failed")      ? "RunFailed"
		     : !strcmp(result, "Interrupted") ? "RunInterrupted"
						      : "RunError",
		     message);
	json_decref(run);
	capsule_report_clear(&rep);
	return strcmp(result, "Succeeded") == 0 ? 0 : 1;
}
