/* Parser for /proc/PID/cgroup (v1 lines "ID:ctrl,ctrl:/path", v2 line "0::/path", hybrid). */
#pragma once
#include <stddef.h>

struct cntr_err;

struct cgroup_entry {
	unsigned hierarchy_id;  /* 0 for the unified (v2) hierarchy */
	char *controllers;      /* "cpu,cpuacct", "name=systemd", "" for v2 */
	char *path;             /* as printed: may be "/../.." relative to the reader's cgroup ns */
};

struct cgroup_list {
	struct cgroup_entry *entries;
	size_t n;
};

int proc_cgroup_parse(const char *text, struct cgroup_list *out, struct cntr_err *err);
void cgroup_list_release(struct cgroup_list *list);
/* The unified (hierarchy 0) entry or NULL. */
const struct cgroup_entry *cgroup_list_unified(const struct cgroup_list *list);
