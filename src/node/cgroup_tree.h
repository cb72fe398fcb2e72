/* Finding containers by walking a cgroup hierarchy's directories instead of reading every
 * process's /proc/PID/cgroup: the cost grows with the number of cgroups, not of processes
 * (a busy node has 10k processes but a few hundred cgroups). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What a container found by a walk or a scan is (shared with resolve_scan.h, which builds on
 * this file, never the reverse). */
#define CGROUP_ID_MAX 128

struct cgroup_container {
	char id[CGROUP_ID_MAX];   /* bare ID (decoration removed) */
	const char *runtime;      /* from the decoration ("docker"...), NULL when undecorated */
	char *cgroup_path;        /* the path that matched, malloc'd */
	pid_t pid;                /* the container's init */
	unsigned long long start_time; /* of pid, in clock ticks since boot */
};

struct cgroup_scan {
	struct cgroup_container *items;
	size_t n;
};

/* Decide whether a cgroup path belongs to a container of interest; on true, fill id (bare)
 * and *runtime (NULL when unknown). */
typedef bool (*cgroup_match_fn)(const char *path, const void *ctx, char *id, size_t id_size,
				const char **runtime);


/* Walk the host's cgroup tree (through PID 1's root when visible, as from a hostPID pod,
 * else cntr's own /sys/fs/cgroup) for cgroups that `match`, and pick each one's init from its
 * cgroup.procs. Returns 1 with out filled when matches with processes were found, 0 when not
 * (no walkable tree, or nothing there: the caller falls back to the /proc scan), -1 on OOM. */
int cgroup_tree_find_containers(cgroup_match_fn match, const void *ctx, struct cgroup_scan *out);
