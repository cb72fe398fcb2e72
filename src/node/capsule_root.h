/* A capsule's "/" (docs/capsules.md): an overlay whose lower layer is the capsule's image (a
 * directory, or another container's root) and whose upper layer is a fresh, size-capped tmpfs
 * that nothing else references: when the session ends the last reference goes and everything
 * the capsule wrote is gone. Nothing of one run is visible to the next. */
#pragma once
#include <sys/types.h>

struct cntr_err;

/* A detached overlay mount (fd) over lower_dir with a tmpfs of tmp_size ("64m") above it.
 * Made in cntr's own mount namespace, where lower_dir resolves. */
int capsule_root_create(const char *lower_dir, const char *tmp_size, struct cntr_err *err);

/* The same over another process's root (a running container as the capsule's tools): made in
 * a child that enters that process's mount namespace, since overlayfs refuses a lower layer
 * reached through /proc/PID/root from another namespace. */
int capsule_root_create_from(pid_t pid, const char *tmp_size, struct cntr_err *err);
