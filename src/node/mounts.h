/* The session's filesystem view, built with the mount API in a private mount namespace.
 * See DESIGN.md §1 "How": nothing here ever changes the target's or cntr's mount table. */
#pragma once
#include <stdbool.h>

struct cntr_err;
struct target;

/* A detached recursive copy of cntr's own "/" (the debug filesystem). Call before joining the
 * target's mount namespace. */
int clone_debug_tree(struct cntr_err *err);

/* For user-namespaced targets: idmap every mount of the detached debug tree that supports it
 * (one by one: a recursive idmap fails on /proc, /sys); the others are reported with -v. */
void idmap_debug_tree(int tree_fd, int userns_fd);

/* In the target's mount namespace (already joined): clone its root, move to a private copy of
 * the namespace, make the debug tree "/" and attach the target's root at base_dir, then bind
 * the target's /proc, /dev, /sys and /etc files. *need_proc is set when the target has no
 * procfs of its own to bind (the child mounts a fresh one once inside the pid namespace). */
int build_attach_view(const struct target *t, int debug_tree, const char *base_dir, bool *need_proc,
		      struct cntr_err *err);

/* `cntr exec`: the target's own root and cwd (its mount namespace is already joined). */
int enter_target_root(const struct target *t, struct cntr_err *err);

/* Mount a fresh procfs on /proc (the caller is in the target's pid namespace). */
int mount_fresh_proc(struct cntr_err *err);

/* Create base_dir in the debug filesystem when missing (the only change cntr ever makes). */
int ensure_base_dir(const char *base_dir, struct cntr_err *err);
