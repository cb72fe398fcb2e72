#include "engine_containerd.h"

#include "resolve_internal.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const containerd_task_roots[] = {
	"/run/containerd/io.containerd.runtime.v2.task",
	"/run/containerd/io.containerd.runtime.v1.linux",
};
#define N_ROOTS (sizeof(containerd_task_roots) / sizeof(containerd_task_roots[0]))

/* The init PID of root/ns/id, or 0 when there is none or it is not running. */
static pid_t read_init_pid(const char *root, const char *ns, const char *id)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/%s/init.pid", root, ns, id);
	_cleanup_free_ char *text = NULL;
	uint64_t pid;

	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return 0;
	text[strcspn(text, " \n")] = '\0';
	if (parse_u64(text, &pid) < 0 || pid == 0 || pid > INT32_MAX || !pid_exists((pid_t)pid))
		return 0;
	return (pid_t)pid;
}

static bool is_plain_name(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

struct find_ctx {
	const char *id;
	char found_ns[2][256];
	pid_t found_pid[2];
	size_t n;
};

static void find_task_cb(const char *ns, const char *id, pid_t pid, void *opaque)
{
	struct find_ctx *ctx = opaque;
	if (strcmp(id, ctx->id) != 0)
		return;
	if (ctx->n < 2) {
		snprintf(ctx->found_ns[ctx->n], sizeof(ctx->found_ns[0]), "%s", ns);
		ctx->found_pid[ctx->n] = pid;
	}
	ctx->n++;
}

int containerd_find_task(const char *id, char *ns, size_t ns_size, pid_t *pid,
			 struct cntr_err *err)
{
	struct find_ctx ctx = { .id = id };

	if (!is_plain_name(id))
		return 0;
	containerd_for_each_task(find_task_cb, &ctx);
	if (ctx.n == 0)
		return 0;
	if (ctx.n > 1)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "containerd container '%s' exists in several namespaces: %s (pid %d), "
				 "%s (pid %d)%s; give its PID instead", id, ctx.found_ns[0],
				 (int)ctx.found_pid[0], ctx.found_ns[1], (int)ctx.found_pid[1],
				 ctx.n > 2 ? ", ..." : "");
	snprintf(ns, ns_size, "%s", ctx.found_ns[0]);
	*pid = ctx.found_pid[0];
	return 1;
}

struct task_walk {
	const char *root, *ns;
	containerd_task_fn fn;
	void *ctx;
};

static void visit_task(const char *id, void *arg)
{
	struct task_walk *w = arg;
	pid_t pid = read_init_pid(w->root, w->ns, id);
	if (pid > 0)
		w->fn(w->ns, id, pid, w->ctx);
}

static void visit_namespace(const char *ns, void *arg)
{
	struct task_walk *w = arg;
	_cleanup_free_ char *dir = xasprintf("%s/%s", w->root, ns);
	w->ns = ns;
	for_each_dir_entry(dir, visit_task, w);
}

void containerd_for_each_task(containerd_task_fn fn, void *ctx)
{
	for (size_t r = 0; r < N_ROOTS; r++) {
		struct task_walk w = { .root = containerd_task_roots[r], .fn = fn, .ctx = ctx };
		if (for_each_dir_entry(w.root, visit_namespace, &w) < 0)
			log_debug("containerd: %s: %s", w.root, strerror(errno));
	}
}

int resolve_by_containerd(const char *target, struct container_ref *out, struct cntr_err *err)
{
	char ns[256];
	pid_t pid;
	int r;

	if (access(containerd_task_roots[0], F_OK) < 0 && access(containerd_task_roots[1], F_OK) < 0) {
		log_skip("containerd: no state directory %s", containerd_task_roots[0]);
		return RESOLVE_NO_MATCH;
	}
	r = containerd_find_task(target, ns, sizeof(ns), &pid, err);
	if (r <= 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	snprintf(out->runtime, sizeof(out->runtime), "containerd");
	snprintf(out->id, sizeof(out->id), "%s", target);
	snprintf(out->name, sizeof(out->name), "%s", target);
	log_info("containerd: %s is in namespace %s", target, ns);
	return RESOLVE_FOUND;
}
