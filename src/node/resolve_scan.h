/* The runtime-independent way to find containers: walk /proc/[0-9]*\/cgroup, keep processes
 * whose cgroup's last component names a container, and pick per container the process whose
 * parent is outside that cgroup (its init). Used by the ID resolver and by `cntr list`. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup_tree.h"
#include "proc_stat.h"

struct cntr_err;

/* Every container matching `match`, one entry per distinct ID. Processes that vanish or deny
 * access during the walk are skipped. Fails only when /proc cannot be read at all. */
int cgroup_scan_containers(cgroup_match_fn match, const void *ctx, struct cgroup_scan *out,
			   struct cntr_err *err);
void cgroup_scan_release(struct cgroup_scan *scan);

/* Matcher for any container ID (cgroup_path_container_id). */
bool cgroup_match_any_container(const char *path, const void *ctx, char *id, size_t id_size,
				const char **runtime);

/* Which runtime runs a container found by the scan: its cgroup decoration, else the engine
 * whose state directory knows the ID, else the cgroup layout ("/docker/ID", "/kubepods/..."),
 * else "cgroup". Returns a static string. */
const char *cgroup_container_runtime(const struct cgroup_container *c);
