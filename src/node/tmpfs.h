/* Fresh tmpfs mounts for cntr's own trees: the session skeleton (tools_tree.c) and a capsule's
 * copy-on-write layer (capsule_root.c). */
#pragma once

struct cntr_err;

/* A fresh tmpfs of at most size bytes ("1m", "64m"), mode 0755 (tmpfs's default 1777 would
 * let anyone create files in cntr's skeletons), not attached anywhere: its mount fd with the
 * MOUNT_ATTR_* attrs. what names it in the error ("the capsule's tmpfs"). */
int tmpfs_create_detached(const char *size, unsigned attrs, const char *what, struct cntr_err *err);
