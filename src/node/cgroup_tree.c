#include "cgroup_tree.h"
#include "proc_stat.h"

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"

#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

/* Where the host's hierarchy is mounted, most complete view first: from a hostPID pod (own
 * cgroup namespace, its /sys/fs/cgroup rooted at its own cgroup) PID 1's root shows the host's. */
static const char *const cgroup_roots[] = { "/proc/1/root/sys/fs/cgroup", "/sys/fs/cgroup" };
/* Below a v1/hybrid root: hierarchies every runtime creates its containers in. */
static const char *const v1_hierarchies[] = { "systemd", "pids", "memory", "unified" };

#define MAX_DEPTH 16
#define MAX_PROCS_DEPTH 3

struct pid_set {
	pid_t *pids;
	size_t n, cap;
};

static int pid_set_add(struct pid_set *s, pid_t pid)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		pid_t *bigger = realloc(s->pids, cap * sizeof(pid_t));
		if (!bigger)
			return -1;
		s->pids = bigger;
		s->cap = cap;
	}
	s->pids[s->n++] = pid;
	return 0;
}

static bool pid_set_has(const struct pid_set *s, pid_t pid)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->pids[i] == pid)
			return true;
	return false;
}

/* Call fn for each child cgroup (subdirectory) of dirfd with an open fd to it; stops at the
 * first negative return. Unreadable directories have no children for this purpose. */
typedef int (*child_fn)(int child, const char *name, void *arg);

static int for_each_child(int dirfd, child_fn fn, void *arg)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct dirent *de;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(dir))) {
		_cleanup_close_ int child = -1;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		child = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (child >= 0 && fn(child, de->d_name, arg) < 0)
			return -1;
	}
	return 0;
}

struct procs_walk {
	int depth;
	struct pid_set *set;
};

static int collect_procs(int dirfd, int depth, struct pid_set *set);

static int collect_child_procs(int child, const char *name, void *arg)
{
	struct procs_walk *w = arg;
	return collect_procs(child, w->depth + 1, w->set);
}

/* The processes of a container's cgroup and, when it has none itself (systemd inside moved
 * them to init.scope), of its sub-cgroups. */
static int collect_procs(int dirfd, int depth, struct pid_set *set)
{
	_cleanup_free_ char *text = NULL;
	struct procs_walk w = { depth, set };

	if (read_file_at(dirfd, "cgroup.procs", &text, NULL, NULL) == 0) {
		for (char *line = text, *next; line && *line; line = next) {
			uint64_t pid;
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			if (parse_u64(line, &pid) == 0 && pid > 0 && pid_set_add(set, (pid_t)pid) < 0)
				return -1;
		}
	}
	if (set->n || depth >= MAX_PROCS_DEPTH)
		return 0;
	return for_each_child(dirfd, collect_child_procs, &w);
}

/* The container's init: a process whose parent is not in the container, the oldest if the
 * runtime also started exec sessions there. */
static pid_t pick_init(const struct pid_set *set, unsigned long long *start_time)
{
	pid_t best = 0;
	for (size_t i = 0; i < set->n; i++) {
		pid_t ppid;
		unsigned long long start;
		if (proc_stat_read(set->pids[i], &ppid, &start) < 0 || pid_set_has(set, ppid))
			continue;
		if (!best || start < *start_time) {
			best = set->pids[i];
			*start_time = start;
		}
	}
	return best;
}

static int add_container(struct cgroup_scan *out, int dirfd, const char *path, const char *id,
			 const char *runtime)
{
	struct pid_set set = { 0 };
	unsigned long long start = 0;
	struct cgroup_container *c, *bigger;
	pid_t init;

	if (collect_procs(dirfd, 0, &set) < 0) {
		free(set.pids);
		return -1;
	}
	init = pick_init(&set, &start);
	free(set.pids);
	if (!init)
		return 0; /* a container's cgroup without processes: stopped, or a pod's parent */
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->items[i].id, id) == 0)
			return 0; /* seen in another branch (v1 mounts co-mounted twice) */
	bigger = realloc(out->items, (out->n + 1) * sizeof(*bigger));
	if (!bigger)
		return -1;
	out->items = bigger;
	c = &out->items[out->n++];
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->runtime = runtime;
	c->cgroup_path = xstrdup(path);
	c->pid = init;
	c->start_time = start;
	return 0;
}

struct tree_walk {
	char path[PATH_MAX];   /* of the cgroup being visited, from the hierarchy's root */
	size_t len;
	int depth;
	cgroup_match_fn match;
	const void *ctx;
	struct cgroup_scan *out;
};

/* A container's cgroup is taken with its processes; anything else is searched further. */
static int visit_cgroup(int child, const char *name, void *arg)
{
	struct tree_walk *w = arg;
	size_t parent_len = w->len, name_len = strlen(name);
	char id[CGROUP_ID_MAX];
	const char *runtime = NULL;
	int rc = 0;

	if (parent_len + name_len + 2 > sizeof(w->path))
		return 0;
	w->path[parent_len] = '/';
	memcpy(w->path + parent_len + 1, name, name_len + 1);
	if (w->match(w->path, w->ctx, id, sizeof(id), &runtime)) {
		rc = add_container(w->out, child, w->path, id, runtime);
	} else if (w->depth < MAX_DEPTH) {
		w->len = parent_len + 1 + name_len;
		w->depth++;
		rc = for_each_child(child, visit_cgroup, w);
		w->depth--;
		w->len = parent_len;
	}
	w->path[parent_len] = '\0';
	return rc;
}

static unsigned long fs_type(int fd)
{
	struct statfs sfs;
	return fstatfs(fd, &sfs) == 0 ? (unsigned long)sfs.f_type : 0;
}

/* Walk one hierarchy, adding its matches to out; -1 on failure. */
static int walk_hierarchy(int fd, const char *where, cgroup_match_fn match, const void *ctx,
			  struct cgroup_scan *out)
{
	struct tree_walk w = { .match = match, .ctx = ctx, .out = out };

	if (for_each_child(fd, visit_cgroup, &w) < 0)
		return -1;
	log_debug("cgroup walk of %s: %zu match(es) so far", where, out->n);
	return 0;
}

/* Within one cgroup root every hierarchy is walked and merged (add_container keeps one entry
 * per ID): a container may be visible in only some v1 hierarchies (a runtime that joins only
 * a few controllers, or the session's own fake containers in the unit tests). The roots are
 * alternatives (the host's through /proc/1/root, else ours): the first with matches wins. */
int cgroup_tree_find_containers(cgroup_match_fn match, const void *ctx, struct cgroup_scan *out)
{
	out->items = NULL;
	out->n = 0;
	for (size_t r = 0; r < sizeof(cgroup_roots) / sizeof(cgroup_roots[0]); r++) {
		_cleanup_close_ int root = open(cgroup_roots[r], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		unsigned long type;

		if (root < 0)
			continue;
		type = fs_type(root);
		if (type == CGROUP2_SUPER_MAGIC || type == CGROUP_SUPER_MAGIC) {
			if (walk_hierarchy(root, cgroup_roots[r], match, ctx, out) < 0)
				return -1;
		} else {
			for (size_t h = 0; h < sizeof(v1_hierarchies) / sizeof(v1_hierarchies[0]); h++) {
				_cleanup_close_ int sub = openat(root, v1_hierarchies[h], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				type = sub >= 0 ? fs_type(sub) : 0;
				if (type != CGROUP2_SUPER_MAGIC && type != CGROUP_SUPER_MAGIC)
					continue;
				if (walk_hierarchy(sub, v1_hierarchies[h], match, ctx, out) < 0)
					return -1;
			}
		}
		if (out->n > 0)
			return 1;
	}
	return 0;
}
