/* The session's filesystem view, built with the mount API in a private mount namespace.
 * See docs/design.md §1 "How": nothing here ever changes the target's or cntr's mount table. */
#pragma once
#include <stdbool.h>

struct cntr_err;
struct target;
struct tools_tree;

/* In the target's mount namespace (already joined): clone its root, move to a private copy of
 * the namespace, make the tools skeleton "/" (tools_tree.h) and attach the target's root at
 * base_dir, bind the target's /proc, /dev, /sys and /etc files, then seal "/" read-only.
 * *need_proc is set when the target has no procfs of its own to bind (the child mounts a fresh
 * one once inside the pid namespace). */
int build_attach_view(const struct target *t, const struct tools_tree *tools, const char *base_dir,
		      bool *need_proc, struct cntr_err *err);

/* `cntr exec`: the target's own root and cwd (its mount namespace is already joined). */
int enter_target_root(const struct target *t, struct cntr_err *err);

/* Mount a fresh procfs on /proc (the caller is in the target's pid namespace). */
int mount_fresh_proc(struct cntr_err *err);

/* base_dir is created in the session's own root, never in the debug filesystem: it must be an
 * absolute path without '.'/'..', not "/" and not under /proc, /dev or /sys. */
int check_base_dir(const char *base_dir, struct cntr_err *err);
