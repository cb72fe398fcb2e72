/* Finding containers by walking a cgroup hierarchy's directories instead of reading every
 * process's /proc/PID/cgroup: the cost grows with the number of cgroups, not of processes
 * (a busy node has 10k processes but a few hundred cgroups). */
#pragma once
#include "resolve_scan.h"

/* Walk the host's cgroup tree (through PID 1's root when visible, as from a hostPID pod,
 * else cntr's own /sys/fs/cgroup) for cgroups that `match`, and pick each one's init from its
 * cgroup.procs. Returns 1 with out filled when matches with processes were found, 0 when not
 * (no walkable tree, or nothing there: the caller falls back to the /proc scan), -1 on OOM. */
int cgroup_tree_find_containers(cgroup_match_fn match, const void *ctx, struct cgroup_scan *out);
