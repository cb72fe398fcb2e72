/* The ephemeral-container fallback (lambda_ephemeral.h). */
#include "cli/lambda_ephemeral.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli/lambda_json.h"
#include "cli/lambda_opts.h"
#include "cli/lambda_phase.h"
#include "cli/lambda_signals.h"
#include "cli/lambda_target.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/clock.h"
#include "kube/exec_stream.h"
#include "kube/http.h"
#include "kube/http_body.h"
#include "kube/rest.h"
#include "kube/safe_text.h"
#include "kube/watch.h"

#define _cleanup_json_ json_auto_t

const char lambda_ephemeral_notice[] =
	"ephemeral-container mode, not a cntr session: the target's filesystem is not mounted at "
	"/var/lib/cntr (reach it as /proc/<pid>/root, /proc/1/root when the pid namespace is shared), "
	"the command has only the ephemeral container's own credentials and capabilities (not the "
	"target's cgroup or LSM context), and the ephemeral container cannot be removed (it stays in "
	"the pod until its command exits)";

/* The shell when no command is given: every image with a shell has sh. */
static char *const default_command[] = { "sh", NULL };

/* Kubernetes' generateName alphabet (no vowels, no look-alikes). */
static const char name_alphabet[] = "bcdfghjklmnpqrstvwxz2456789";

/* Waiting reasons after which the container will not start by itself. */
static const char *const fatal_waiting_reasons[] = {
	"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
	"CreateContainerConfigError", "CreateContainerError", "RunContainerError",
};

/* After the stream ended, how long the kubelet may take to report the exit (PLEG relists
 * every second). */
#define EXIT_STATUS_WAIT_MS 15000
#define EXIT_STATUS_POLL_MS 200

char *lambda_ephemeral_name(void)
{
	unsigned char rnd[5];
	char suffix[6];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		abort();
	for (size_t i = 0; i < sizeof(rnd); i++)
		suffix[i] = name_alphabet[rnd[i] % (sizeof(name_alphabet) - 1)];
	suffix[5] = '\0';
	return xasprintf("lambda-cntr-%s", suffix);
}

json_t *lambda_ephemeral_container(const struct lambda_ephemeral_spec *spec)
{
	char *const *command = spec->command && spec->command[0] ? spec->command : default_command;
	json_t *argv = json_array();
	json_t *c;

	for (char *const *a = command; *a; a++)
		json_array_append_new(argv, json_string(*a));
	c = json_pack("{s:s, s:s, s:o, s:b, s:b, s:b, s:s, s:s, s:{}}", "name", spec->name, "image", spec->image,
		      "command", argv, "stdin", 1, "stdinOnce", 1, "tty", spec->tty, "targetContainerName",
		      spec->target_container, "terminationMessagePolicy", "File", "resources");
	if (!c)
		abort();
	if (spec->pull_policy)
		json_object_set_new(c, "imagePullPolicy", json_string(spec->pull_policy));
	return c;
}

json_t *lambda_ephemeral_patch(const json_t *pod, const json_t *container)
{
	const json_t *existing = json_object_get(json_object_get(pod, "spec"), "ephemeralContainers");
	json_t *list = json_array();
	json_t *patch;

	if (json_is_array(existing))
		json_array_extend(list, (json_t *)existing);
	json_array_append(list, (json_t *)container);
	patch = json_pack("{s:{s:o}}", "spec", "ephemeralContainers", list);
	if (!patch)
		abort();
	return patch;
}

const json_t *lambda_ephemeral_state(const json_t *pod, const char *name)
{
	const json_t *statuses = json_object_get(json_object_get(pod, "status"), "ephemeralContainerStatuses");

	return json_object_get(json_array_find(statuses, "name", name), "state");
}

char *lambda_ephemeral_failure(const json_t *pod, const char *name)
{
	const json_t *state = lambda_ephemeral_state(pod, name);
	const char *reason = json_str(json_object_get(state, "waiting"), "reason");

	for (size_t i = 0; i < sizeof(fatal_waiting_reasons) / sizeof(fatal_waiting_reasons[0]); i++)
		if (strcmp(reason, fatal_waiting_reasons[i]) == 0)
			return lambda_container_state_text(state);
	return NULL;
}

int lambda_ephemeral_exit_code(const json_t *pod, const char *name, int *code)
{
	const json_t *terminated = json_object_get(lambda_ephemeral_state(pod, name), "terminated");
	const json_t *exit_code = json_object_get(terminated, "exitCode");
	const char *message = json_str(terminated, "message");

	if (!json_is_integer(exit_code))
		return 0;
	*code = (int)json_integer_value(exit_code);
	/* The runtime could not start the command: containerd reports StartError, 128. */
	if (strcmp(json_str(terminated, "reason"), "StartError") == 0 ||
	    strcmp(json_str(terminated, "reason"), "ContainerCannotRun") == 0) {
		if (strstr(message, "not found") || strstr(message, "no such file"))
			*code = CNTR_EXIT_NOTFOUND;
		else if (strstr(message, "permission denied"))
			*code = CNTR_EXIT_NOEXEC;
	}
	return 1;
}

/* ---------------------------------------------------------------- the session */

struct ephemeral {
	struct kube_config *cfg;
	const struct lambda_opts *opts;
	const struct lambda_target *t;
	char *name;
	char *failure;
	char *last_rv;
	json_t *last_pod;  /* the pod as last seen */
	bool running, terminated;
};

static int add_container(struct ephemeral *e, const json_t *pod, bool tty, struct cntr_err *err)
{
	struct lambda_ephemeral_spec spec = {
		.name = e->name, .target_container = e->t->container, .image = e->opts->image,
		.pull_policy = e->opts->pull_policy, .command = e->opts->command, .tty = tty,
	};
	_cleanup_json_ *container = lambda_ephemeral_container(&spec);
	_cleanup_json_ *patch = lambda_ephemeral_patch(pod, container);
	_cleanup_free_ char *path = kube_pod_path(e->t->namespace, e->t->pod, "ephemeralcontainers");
	_cleanup_kube_response_ struct kube_response resp = { 0 };

	if (kube_patch(e->cfg, path, patch, "application/strategic-merge-patch+json", &resp, err) < 0) {
		cntr_err_prefix(err, "adding ephemeral container %s to pod %s/%s: ", e->name, e->t->namespace,
				e->t->pod);
		if (resp.http_status == 403)
			cntr_err_hint(err, "it needs `patch` on pods/ephemeralcontainers (see the README's RBAC table)");
		else if (resp.http_status == 404 || resp.http_status == 405)
			cntr_err_hint(err, "the API server may predate ephemeral containers (Kubernetes 1.25 has them "
				      "on by default)");
		return -1;
	}
	free(e->last_rv);
	e->last_rv = xstrdup(json_str(json_object_get(resp.body, "metadata"), "resourceVersion"));
	return 0;
}

/* Judge one look at the pod. 1 when the wait is over. */
static int judge(struct ephemeral *e, const json_t *pod)
{
	const json_t *state = lambda_ephemeral_state(pod, e->name);

	json_decref(e->last_pod);
	e->last_pod = json_deep_copy(pod);
	free(e->last_rv);
	e->last_rv = xstrdup(json_str(json_object_get(pod, "metadata"), "resourceVersion"));
	e->running = json_object_get(state, "running") != NULL;
	e->terminated = json_object_get(state, "terminated") != NULL;
	if (!e->running && !e->terminated)
		e->failure = lambda_ephemeral_failure(pod, e->name);
	return e->running || e->terminated || e->failure;
}

static int on_event(const struct kube_watch_event *ev, void *userdata, struct cntr_err *err)
{
	struct ephemeral *e = userdata;
	const json_t *meta = json_object_get(ev->object, "metadata");

	(void)err;
	if (ev->type == KUBE_WATCH_BOOKMARK) {
		free(e->last_rv);
		e->last_rv = xstrdup(json_str(meta, "resourceVersion"));
		return 0;
	}
	if (strcmp(json_str(meta, "name"), e->t->pod) != 0)
		return 0;
	if (ev->type == KUBE_WATCH_DELETED) {
		e->failure = xstrdup("the pod was deleted");
		return 1;
	}
	return judge(e, ev->object);
}

static int get_pod(struct ephemeral *e, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(e->t->namespace, e->t->pod, NULL);

	if (kube_get(e->cfg, path, &resp, err) < 0)
		return -1;
	return judge(e, resp.body);
}

/* WATCH the pod until the container runs, ended or cannot start; resumed when the stream ends,
 * polled without the right to watch; bounded by --timeout. */
static int wait_started(struct ephemeral *e, struct cntr_err *err)
{
	_cleanup_free_ char *path = kube_pods_path(e->t->namespace);
	_cleanup_free_ char *field = xasprintf("metadata.name=%s", e->t->pod);
	uint64_t deadline = kube_now_ms() + e->opts->timeout_s * 1000;
	bool polling = false;
	int r;

	while (!e->running && !e->terminated && !e->failure) {
		uint64_t now = kube_now_ms();
		struct kube_watch_opts wopts = { .resource_version = e->last_rv, .field_selector = field,
						 .bookmarks = true };

		if (now >= deadline) {
			const json_t *state = lambda_ephemeral_state(e->last_pod, e->name);
			_cleanup_free_ char *text = state ? lambda_container_state_text(state) : xstrdup("not reported yet");
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "ephemeral container %s of pod %s/%s not running after "
					 "%llus (last state: %s); see `kubectl describe pod -n %s %s`, or raise --timeout",
					 e->name, e->t->namespace, e->t->pod, (unsigned long long)e->opts->timeout_s,
					 text, e->t->namespace, e->t->pod);
		}
		wopts.timeout_ms = (unsigned)(deadline - now);
		if (polling) {
			if (get_pod(e, err) < 0)
				return -1;
			if (!e->running && !e->terminated && !e->failure && kube_http_sleep(1000) < 0)
				return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "waiting for ephemeral container %s: interrupted",
						 e->name);
			continue;
		}
		r = kube_watch(e->cfg, path, &wopts, on_event, e, err);
		if (r < 0)
			return cntr_err_prefix(err, "waiting for ephemeral container %s: ", e->name);
		if (r == KUBE_WATCH_FORBIDDEN) {
			log_info("%s; polling the pod instead", err->msg);
			polling = true;
		} else if (r == KUBE_WATCH_GONE || r == KUBE_WATCH_LOST) {
			log_info("%s; reading the pod again", r == KUBE_WATCH_LOST ? err->msg : "watch expired");
			if (get_pod(e, err) < 0)
				return -1;
		}
		cntr_err_clear(err);
	}
	if (e->failure)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "ephemeral container %s of pod %s/%s cannot start: %s",
				 e->name, e->t->namespace, e->t->pod, e->failure);
	return 0;
}

/* The container's log, as kubectl debug falls back to when it cannot attach. */
static int print_log(struct ephemeral *e, struct cntr_err *err)
{
	_cleanup_free_ char *path = kube_pod_path(e->t->namespace, e->t->pod, "log");
	_cleanup_kube_http_ struct kube_http h = { 0 };
	_cleanup_kube_body_ struct kube_body body = { 0 };
	long code = 0;
	CURLcode rc;

	kube_path_append_query(&path, "container", e->name);
	if (kube_http_open(&h, e->cfg, path, NULL, err) < 0)
		return -1;
	curl_easy_setopt(h.curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h.curl, CURLOPT_WRITEFUNCTION, kube_body_collect);
	curl_easy_setopt(h.curl, CURLOPT_WRITEDATA, &body);
	rc = curl_easy_perform(h.curl);
	if (body.too_large)
		return kube_body_fail_too_large(&h, "GET", err);
	if (rc != CURLE_OK)
		return kube_http_fail(&h, "GET", rc, err);
	curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "reading the log of ephemeral container %s: HTTP %ld",
				 e->name, code);
	if (body.data.len && write_all(STDOUT_FILENO, body.data.data, body.data.len) < 0)
		return cntr_fail_errno(err, "writing the log of ephemeral container %s", e->name);
	return 0;
}

static int attach(struct ephemeral *e, bool tty, struct cntr_err *err)
{
	struct kube_exec_opts eopts;
	int ignored = 0;

	kube_exec_opts_init(&eopts);
	eopts.tty = tty;
	eopts.forward_stdin = true;
	eopts.interrupt_fd = lambda_signals_fd();
	/* What the command wrote before the attach is only in its log (a shell's first prompt). */
	lambda_phase("attaching to ephemeral container %s of %s/%s%s", e->name, e->t->namespace, e->t->pod,
		     tty ? "; if you don't see a command prompt, try pressing enter" : "");
	return kube_attach(e->cfg, e->t->namespace, e->t->pod, e->name, &eopts, &ignored, err);
}

/* The stream ended: the exit code is in the container's status once the kubelet saw it. */
static int read_exit_code(struct ephemeral *e, int *status, struct cntr_err *err)
{
	uint64_t deadline = kube_now_ms() + EXIT_STATUS_WAIT_MS;

	for (;;) {
		if (lambda_ephemeral_exit_code(e->last_pod, e->name, status))
			return 0;
		if (kube_now_ms() >= deadline)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "the session with ephemeral container %s ended but "
					 "its status shows no exit code after %us; it stays until its command exits",
					 e->name, EXIT_STATUS_WAIT_MS / 1000);
		if (kube_http_sleep(EXIT_STATUS_POLL_MS) < 0)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "interrupted");
		if (get_pod(e, err) < 0)
			return -1;
	}
}

static int run(struct ephemeral *e, const json_t *pod, int *status, struct cntr_err *err)
{
	bool tty = e->opts->mode == LAMBDA_ATTACH && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	int r;

	fprintf(stderr, "%s: %s\n", e->opts->program, lambda_ephemeral_notice);
	if (add_container(e, pod, tty, err) < 0)
		return -1;
	lambda_phase("added ephemeral container %s (image %s) targeting container %s of %s/%s; waiting for it",
		     e->name, e->opts->image, e->t->container, e->t->namespace, e->t->pod);
	if (wait_started(e, err) < 0)
		return -1;
	if (e->running) {
		r = attach(e, tty, err);
		if (r == KUBE_EXEC_INTERRUPTED || lambda_signals_caught()) {
			log_info("ephemeral container %s keeps running until its command exits", e->name);
			return 1;
		}
		if (r < 0) {
			log_warn("could not attach to ephemeral container %s (%s); printing its log instead",
				 e->name, err->msg);
			cntr_err_clear(err);
			if (get_pod(e, err) < 0 || (!e->terminated && read_exit_code(e, status, err) < 0) ||
			    print_log(e, err) < 0)
				return -1;
		}
	} else if (print_log(e, err) < 0) {
		return -1;  /* it ended before we could attach: its output is in its log */
	}
	return read_exit_code(e, status, err);
}

int lambda_ephemeral_run(struct kube_config *cfg, const struct lambda_opts *opts, const struct lambda_target *target,
			 const json_t *pod, int *status, struct cntr_err *err)
{
	struct ephemeral e = { .cfg = cfg, .opts = opts, .t = target, .name = lambda_ephemeral_name() };
	int r = run(&e, pod, status, err);

	free(e.name);
	free(e.failure);
	free(e.last_rv);
	json_decref(e.last_pod);
	return r;
}
