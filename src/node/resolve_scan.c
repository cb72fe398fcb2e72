#include "resolve_scan.h"

#include "cgroup_tree.h"

#include "container_id.h"
#include "engine_containerd.h"
#include "engine_runc.h"
#include "proc_cgroup.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One process seen in a matching cgroup. */
struct cgroup_hit {
	pid_t pid;
	unsigned hierarchy_id;
	char *controllers;
	char *path;
	char id[CGROUP_ID_MAX];
	const char *runtime;
};

struct hit_list {
	struct cgroup_hit *items;
	size_t n, cap;
};

static void hit_list_release(struct hit_list *hits)
{
	for (size_t i = 0; i < hits->n; i++) {
		free(hits->items[i].controllers);
		free(hits->items[i].path);
	}
	free(hits->items);
}

static void cleanup_hit_listp(struct hit_list *hits)
{
	hit_list_release(hits);
}

static void cleanup_cgroup_listp(struct cgroup_list *l)
{
	cgroup_list_release(l);
}

static int read_proc_cgroups(pid_t pid, struct cgroup_list *list)
{
	char path[64];
	_cleanup_free_ char *text = NULL;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return -1;
	return proc_cgroup_parse(text, list, NULL);
}

static int hit_list_add(struct hit_list *hits, pid_t pid, const struct cgroup_entry *e,
			const char *id, const char *runtime)
{
	struct cgroup_hit *h;

	/* A v1 host lists the container's path once per hierarchy: one hit per pid and ID. */
	for (size_t i = 0; i < hits->n; i++)
		if (hits->items[i].pid == pid && strcmp(hits->items[i].id, id) == 0)
			return 0;
	if (hits->n == hits->cap) {
		size_t ncap = hits->cap ? hits->cap * 2 : 16;
		struct cgroup_hit *bigger = realloc(hits->items, ncap * sizeof(*bigger));
		if (!bigger)
			return -1;
		hits->items = bigger;
		hits->cap = ncap;
	}
	h = &hits->items[hits->n++];
	memset(h, 0, sizeof(*h));
	h->pid = pid;
	h->hierarchy_id = e->hierarchy_id;
	h->controllers = xstrdup(e->controllers);
	h->path = xstrdup(e->path);
	snprintf(h->id, sizeof(h->id), "%s", id);
	h->runtime = runtime;
	return 0;
}

/* Match one process's cgroup lines, the unified (v2) line first so its path is the one kept. */
static int scan_process(pid_t pid, cgroup_match_fn match, const void *ctx, struct hit_list *hits)
{
	__attribute__((cleanup(cleanup_cgroup_listp))) struct cgroup_list list = { 0 };

	if (read_proc_cgroups(pid, &list) < 0)
		return 0; /* vanished (ESRCH/ENOENT) or hidden (EACCES): not ours to judge */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < list.n; i++) {
			const struct cgroup_entry *e = &list.entries[i];
			char id[CGROUP_ID_MAX];
			const char *runtime = NULL;
			if ((e->hierarchy_id == 0) != (pass == 0))
				continue;
			if (!match(e->path, ctx, id, sizeof(id), &runtime))
				continue;
			if (hit_list_add(hits, pid, e, id, runtime) < 0)
				return -1;
		}
	}
	return 0;
}

static int collect_hits(cgroup_match_fn match, const void *ctx, struct hit_list *hits,
			struct cntr_err *err)
{
	_cleanup_closedir_ DIR *proc = opendir("/proc");
	struct dirent *de;

	if (!proc)
		return cntr_fail_errno(err, "open /proc (is procfs mounted?)");
	while ((errno = 0, de = readdir(proc))) {
		uint64_t pid;
		if (parse_u64(de->d_name, &pid) < 0 || pid == 0 || pid > INT32_MAX)
			continue;
		if (scan_process((pid_t)pid, match, ctx, hits) < 0)
			return cntr_fail(err, CNTR_EXIT_FAILURE, ENOMEM, "scan /proc");
	}
	if (errno)
		return cntr_fail_errno(err, "read /proc");
	return 0;
}

/* True when the parent of hit->pid is in another cgroup of the same hierarchy, i.e. hit->pid
 * was put into the container's cgroup by the runtime: the container's init (or an exec). */
static bool parent_outside_cgroup(const struct cgroup_hit *hit, pid_t ppid)
{
	__attribute__((cleanup(cleanup_cgroup_listp))) struct cgroup_list list = { 0 };

	if (ppid <= 0)
		return true;
	if (read_proc_cgroups(ppid, &list) < 0)
		return true; /* parent gone or hidden (PID 1 here): it is not in the container */
	for (size_t i = 0; i < list.n; i++) {
		const struct cgroup_entry *e = &list.entries[i];
		if (e->hierarchy_id == hit->hierarchy_id &&
		    strcmp(e->controllers, hit->controllers) == 0)
			return strcmp(e->path, hit->path) != 0;
	}
	return true;
}

static struct cgroup_container *scan_find(struct cgroup_scan *out, const char *id)
{
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->items[i].id, id) == 0)
			return &out->items[i];
	return NULL;
}

static struct cgroup_container *scan_add(struct cgroup_scan *out, const struct cgroup_hit *hit)
{
	struct cgroup_container *bigger = realloc(out->items, (out->n + 1) * sizeof(*bigger));
	struct cgroup_container *c;

	if (!bigger)
		abort();
	out->items = bigger;
	c = &out->items[out->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", hit->id);
	c->runtime = hit->runtime;
	c->cgroup_path = xstrdup(hit->path);
	return c;
}

/* Several processes of one container can have their parent outside it: the init, and every
 * `exec` session the runtime started. The init is the oldest of them. */
static void consider_candidate(struct cgroup_scan *out, const struct cgroup_hit *hit,
			       unsigned long long start_time)
{
	struct cgroup_container *c = scan_find(out, hit->id);

	if (!c)
		c = scan_add(out, hit);
	else if (c->pid && c->start_time <= start_time)
		return;
	c->pid = hit->pid;
	c->start_time = start_time;
	if (!c->runtime)
		c->runtime = hit->runtime;
}

int cgroup_scan_containers(cgroup_match_fn match, const void *ctx, struct cgroup_scan *out,
			   struct cntr_err *err)
{
	__attribute__((cleanup(cleanup_hit_listp))) struct hit_list hits = { 0 };

	int walked = cgroup_tree_find_containers(match, ctx, out);

	if (walked < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, ENOMEM, "walk the cgroup tree");
	if (walked > 0)
		return 0;
	/* No walkable cgroup tree showed a match (a pod's own cgroup view, an unusual layout, or
	 * no such container): ask every process instead. */
	if (collect_hits(match, ctx, &hits, err) < 0)
		return -1;
	for (size_t i = 0; i < hits.n; i++) {
		pid_t ppid;
		unsigned long long start;
		if (proc_stat_read(hits.items[i].pid, &ppid, &start) < 0)
			continue; /* exited meanwhile */
		if (!parent_outside_cgroup(&hits.items[i], ppid))
			continue;
		consider_candidate(out, &hits.items[i], start);
	}
	return 0;
}

void cgroup_scan_release(struct cgroup_scan *scan)
{
	for (size_t i = 0; i < scan->n; i++)
		free(scan->items[i].cgroup_path);
	free(scan->items);
	scan->items = NULL;
	scan->n = 0;
}

bool cgroup_match_any_container(const char *path, const void *ctx, char *id, size_t id_size,
				const char **runtime)
{
	return cgroup_path_container_id(path, id, id_size, runtime);
}

/* Undecorated layouts that still tell the runtime: the component above the ID, or a
 * component anywhere in the path. */
static const struct {
	const char *component;
	bool parent_only;
	const char *runtime;
} cgroup_layout_runtimes[] = {
	{ "docker", true, "docker" },
	{ "libpod_parent", true, "podman" },
	{ "kubepods", false, "kubernetes" },
	{ "kubepods.slice", false, "kubernetes" },
};

static bool path_has_component(const char *path, const char *component, bool parent_only)
{
	size_t clen = strlen(component);
	const char *p = path;
	const char *last = strrchr(path, '/');

	while ((p = strstr(p, component))) {
		bool starts = p > path && p[-1] == '/';
		bool ends = p[clen] == '/';
		if (starts && ends && (!parent_only || p + clen == last))
			return true;
		p += clen;
	}
	return false;
}

const char *cgroup_container_runtime(const struct cgroup_container *c)
{
	char ns[256];
	pid_t pid;

	if (c->runtime)
		return c->runtime;
	if (containerd_find_task(c->id, ns, sizeof(ns), &pid, NULL) == 1)
		return strcmp(ns, "moby") == 0 ? "docker" : "containerd";
	if (runc_find(c->id) > 0)
		return "runc";
	for (size_t i = 0; i < sizeof(cgroup_layout_runtimes) / sizeof(cgroup_layout_runtimes[0]); i++)
		if (path_has_component(c->cgroup_path, cgroup_layout_runtimes[i].component,
				       cgroup_layout_runtimes[i].parent_only))
			return cgroup_layout_runtimes[i].runtime;
	return "cgroup";
}
