/* Parser for /proc/PID/mountinfo (octal escapes such as \040 decoded). */
#pragma once
#include <stddef.h>

struct cntr_err;

struct mount_entry {
	int mount_id, parent_id;
	unsigned major, minor;
	char *root;           /* root of the mount within its filesystem */
	char *mount_point;
	char *mount_options;  /* per-mount: "rw,nosuid,relatime" */
	char *optional;       /* optional fields joined by ' ' ("shared:1 master:2"), "" if none */
	char *fstype;
	char *source;
	char *super_options;
};

struct mount_table {
	struct mount_entry *entries;
	size_t n;
};

int mountinfo_parse(const char *text, struct mount_table *out, struct cntr_err *err);
void mount_table_release(struct mount_table *t);
/* The mount whose mount point is exactly path (last one wins, as the kernel shows stacking). */
const struct mount_entry *mount_table_find(const struct mount_table *t, const char *path);
