/* The session's "/" in attach mode (docs/security.md): a fresh tmpfs skeleton that holds
 * read-only, nosuid, nodev clones of the debug side's tool directories and nothing else.
 *
 * Why a skeleton and not a clone of cntr's whole "/": the session's command sits in the
 * target's pid namespace, so every process of the target that passes the ptrace access check
 * (same uid, as many capabilities) can walk /proc/<session pid>/root. What it finds there must
 * be inert: no writable path, no runtime socket (a read-only mount does not stop connect() on a
 * unix socket), no other container's root, no host secret. So the tree is built from an
 * allowlist of tool directories (host mode) or from a dedicated tools root (--tools DIR), and
 * the skeleton itself is sealed read-only once the target's mounts are in place. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cntr_err;

struct tools_opts {
	const char *dir;  /* --tools DIR (or $CNTR_TOOLS): every entry of DIR; NULL: cntr's own
			   * root, only the tool directories (tools_host_allowlist) */
	bool writable;    /* --rw-tools: the clones keep their write access (explicit opt-in) */
	const char *capsule;  /* capsule run: this directory under a copy-on-write tmpfs is "/"
			       * (capsule_root.h) instead of the tool skeleton; dir is unused */
	const char *capsule_tmp_size;
	pid_t capsule_from;   /* capsule run --from-container: that process's root is the image */
};

enum tools_entry_kind {
	TOOLS_CLONE,      /* a detached recursive clone of a directory or file */
	TOOLS_SYMLINK,    /* a top-level symlink, recreated as a symlink (/bin -> usr/bin) */
	TOOLS_MASK_FILE,  /* a host secret file, covered with a nodev clone of /dev/null */
	TOOLS_MASK_DIR,   /* a host secret directory, covered with an empty read-only tmpfs */
};

struct tools_entry {
	enum tools_entry_kind kind;
	char *path;       /* relative to the session's "/": "usr", "etc/shadow" */
	char *link;       /* TOOLS_SYMLINK: the link's text */
	int fd;           /* TOOLS_CLONE, TOOLS_MASK_FILE: the detached mount, else -1 */
	bool is_dir;      /* TOOLS_CLONE: a directory (else a file) */
};

struct tools_tree {
	struct tools_entry *entries;
	size_t n;
	char *base_dir;   /* where the target's root goes, relative ("var/lib/cntr") */
	bool writable;
	bool attrs_set;   /* read-only/nosuid/nodev set on the detached clones (mount_setattr);
			   * else (kernel < 5.12) they are remounted once attached */
	int capsule_fd;   /* capsule run: the detached overlay to enter, else -1 */
	int proc_fd;      /* !attrs_set: cntr's own /proc, to list the session's mounts from inside
			   * the skeleton (whose /proc is not mounted yet); else -1 */
};

/* The top-level directories of cntr's own root that make up the tools in host mode. */
extern const char *const tools_host_allowlist[];

/* In cntr's own mount namespace, before the target's is joined: clone the tools entries,
 * detached, and make them read-only, nosuid, nodev (unless o->writable). userns_fd >= 0: the
 * target has its own user namespace; every clone that supports it is idmapped to it (after
 * being made read-only). */
int tools_tree_prepare(const struct tools_opts *o, const char *base_dir, int userns_fd,
		       struct tools_tree *out, struct cntr_err *err);

/* In the session's own (unshared, private) mount namespace: mount the skeleton over "/",
 * chroot into it, create the mount points (entries, base_dir, proc, dev, sys) and attach the
 * entries. The target's mounts are attached after this, then tools_tree_seal. */
int tools_tree_mount_as_root(const struct tools_tree *t, struct cntr_err *err);

/* Make the skeleton itself read-only: nothing can be created next to the tools (a capsule's
 * root stays writable: it is its throw-away layer). */
int tools_tree_seal(const struct tools_tree *t, struct cntr_err *err);

/* Whether path (absolute, as the session sees it) exists and is executable in the tools. */
bool tools_tree_can_exec(const struct tools_opts *o, const char *path);

void tools_tree_release(struct tools_tree *t);
