#include "tools_tree.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "capsule_root.h"
#include "mountinfo.h"
#include "syscalls.h"
#include "tmpfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>


#define INERT_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)
#define INERT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV)

const char *const tools_host_allowlist[] = {
	"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "nix", NULL,
};

/* Top-level names the session mounts from the target: never taken from the tools. */
static const char *const session_mount_points[] = { "proc", "dev", "sys", NULL };

/* Host secrets under the allowlisted /etc that no tool needs (host mode only; a --tools root
 * is dedicated to debugging and has none). Covered, not removed: the debug side never
 * changes. A list cannot know every secret a host keeps in /etc: docs/security.md says so and
 * recommends --tools for untrusted targets. */
static const char *const host_secret_files[] = {
	"etc/shadow", "etc/shadow-", "etc/gshadow", "etc/gshadow-", "etc/sudoers",
	"etc/security/opasswd", "etc/krb5.keytab", "etc/ipsec.secrets", "etc/ppp/chap-secrets",
	"etc/ppp/pap-secrets", NULL,
};
static const char *const host_secret_dirs[] = {
	"etc/sudoers.d", "etc/ssl/private", "etc/pki/tls/private", "etc/ipsec.d/private",
	"etc/kubernetes", "etc/rancher", "etc/docker", "etc/containerd", "etc/containers",
	"etc/crio", "etc/wireguard", "etc/openvpn", "etc/letsencrypt", "etc/NetworkManager/system-connections",
	NULL,
};
#define HOST_SSH_DIR "etc/ssh"

static bool in_list(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static struct tools_entry *add_entry(struct tools_tree *t, enum tools_entry_kind kind, const char *path)
{
	struct tools_entry *grown = realloc(t->entries, (t->n + 1) * sizeof(*grown));

	if (!grown)
		abort();
	t->entries = grown;
	t->entries[t->n] = (struct tools_entry){ .kind = kind, .path = xstrdup(path), .fd = -1 };
	return &t->entries[t->n++];
}

/* Every mount of a detached clone of src: read-only first, then idmapped where the filesystem
 * allows (never a writable idmapped mount, docs/security.md). */
static int make_inert(int fd, const char *src, bool writable, struct cntr_err *err)
{
	struct cntr_mount_attr attr = { .attr_set = INERT_ATTRS };

	if (writable)
		return 0;
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
		return cntr_fail_errno(err, "make the tools at /%s read-only (mount_setattr)", src);
	return 0;
}

static void idmap_one(int fd, const char *rel, const char *mount_point, const char *fstype, int userns_fd)
{
	struct cntr_mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };

	if (sys_mount_setattr(fd, rel, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, &attr) < 0)
		log_skip("idmap %s (%s): %s; files there keep host ownership (shown as nobody)", mount_point,
			 fstype, strerror(errno));
	else
		log_debug("idmapped %s", mount_point);
}

/* The clone's own root mount (src need not be a mount point: /usr is usually a directory of
 * the root filesystem), then every mount below src. */
static void idmap_clone(int fd, const char *src, const struct mount_table *mounts, int userns_fd)
{
	const struct mount_entry *holder = NULL;
	size_t len = strlen(src);

	for (size_t i = 0; i < mounts->n; i++) {
		const char *mp = mounts->entries[i].mount_point;
		size_t n = strlen(mp);
		/* the mount holding src: the longest mount point that is src or one of its parents */
		if (strncmp(src, mp, n) == 0 && (src[n] == '/' || src[n] == '\0' || n == 1) &&
		    (!holder || n >= strlen(holder->mount_point)))
			holder = &mounts->entries[i];
	}
	idmap_one(fd, "", src, holder ? holder->fstype : "?", userns_fd);
	for (size_t i = 0; i < mounts->n; i++) {
		const char *mp = mounts->entries[i].mount_point;
		if (strncmp(mp, src, len) == 0 && mp[len] == '/')
			idmap_one(fd, mp + len + 1, mp, mounts->entries[i].fstype, userns_fd);
	}
}

struct prepare_ctx {
	struct tools_tree *tree;
	bool host;                   /* cntr's own root: allowlist and secret masks apply */
	bool have_setattr;
	int userns_fd;
	struct mount_table mounts;   /* cntr's mount table, for idmapping (userns targets) */
};

static int clone_entry(struct prepare_ctx *c, const char *src, const char *rel, bool is_dir,
		       struct cntr_err *err)
{
	int fd = sys_open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	struct tools_entry *e;

	if (fd < 0)
		return cntr_fail_errno(err, "clone the tools at %s (open_tree)", src);
	e = add_entry(c->tree, TOOLS_CLONE, rel);
	e->fd = fd;
	e->is_dir = is_dir;
	if (c->have_setattr && make_inert(fd, src, c->tree->writable, err) < 0)
		return -1;
	if (c->userns_fd >= 0 && c->have_setattr)
		idmap_clone(fd, src, &c->mounts, c->userns_fd);
	return 0;
}

static int add_symlink(struct prepare_ctx *c, const char *src, const char *rel, struct cntr_err *err)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(src, buf, sizeof(buf) - 1);

	if (n < 0)
		return cntr_fail_errno(err, "read the tools symlink %s", src);
	buf[n] = '\0';
	add_entry(c->tree, TOOLS_SYMLINK, rel)->link = xstrdup(buf);
	return 0;
}

static int add_dir_entries(struct prepare_ctx *c, const char *src_dir, const char *rel_dir,
			   const char *base_rest, struct cntr_err *err);

/* One entry of a tools directory. base_rest: what is left of base_dir below this directory
 * (NULL when base_dir is elsewhere): an entry on that path is opened up, not cloned whole, so
 * the target's root can be attached inside without touching the tools. */
static int add_one(struct prepare_ctx *c, const char *src_dir, const char *rel_dir, const struct dirent *de,
		   const char *base_rest, struct cntr_err *err)
{
	const char *name = de->d_name;
	_cleanup_free_ char *src = xasprintf("%s/%s", strcmp(src_dir, "/") ? src_dir : "", name);
	_cleanup_free_ char *rel = *rel_dir ? xasprintf("%s/%s", rel_dir, name) : xstrdup(name);
	size_t first = base_rest ? strcspn(base_rest, "/") : 0;
	struct stat st = { .st_mode = DTTOIF(de->d_type) };

	/* readdir's type saves a stat per entry on every attach; some filesystems leave it out. */
	if (de->d_type == DT_UNKNOWN && lstat(src, &st) < 0)
		return cntr_fail_errno(err, "tools entry %s", src);
	if (base_rest && strlen(name) == first && strncmp(base_rest, name, first) == 0) {
		const char *rest = base_rest + first + (base_rest[first] == '/');
		if (!S_ISDIR(st.st_mode) || !*rest)
			return 0; /* the skeleton provides the path to base_dir itself */
		return add_dir_entries(c, src, rel, rest, err);
	}
	if (S_ISLNK(st.st_mode))
		return add_symlink(c, src, rel, err);
	if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))
		return clone_entry(c, src, rel, S_ISDIR(st.st_mode), err);
	log_skip("tools entry %s is neither a directory, a file nor a symlink", src);
	return 0;
}

static int add_dir_entries(struct prepare_ctx *c, const char *src_dir, const char *rel_dir,
			   const char *base_rest, struct cntr_err *err)
{
	_cleanup_closedir_ DIR *d = opendir(src_dir);
	struct dirent *de;
	bool top = !*rel_dir;

	if (!d)
		return cntr_fail_errno(err, "read the tools directory %s", src_dir);
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (top && in_list(session_mount_points, de->d_name))
			continue;
		if (top && c->host && !in_list(tools_host_allowlist, de->d_name))
			continue;
		if (add_one(c, src_dir, rel_dir, de, base_rest, err) < 0)
			return -1;
	}
	if (errno)
		return cntr_fail_errno(err, "read the tools directory %s", src_dir);
	return 0;
}

/* Only the first file cover is a clone of /dev/null; the others are cloned from it once it is
 * attached (tools_tree_mount_as_root): one clone and no setattr per secret. */
static int mask_file(struct prepare_ctx *c, const char *rel, struct cntr_err *err)
{
	int fd;
	struct cntr_mount_attr attr = { .attr_set = INERT_ATTRS | MOUNT_ATTR_NOEXEC };

	for (size_t i = 0; i < c->tree->n; i++)
		if (c->tree->entries[i].kind == TOOLS_MASK_FILE) {
			add_entry(c->tree, TOOLS_MASK_FILE, rel);
			return 0;
		}
	fd = sys_open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return cntr_fail_errno(err, "clone /dev/null to cover the host's /%s", rel);
	add_entry(c->tree, TOOLS_MASK_FILE, rel)->fd = fd;
	/* nodev: opening the cover fails with EACCES, so the secret reads as not readable. */
	if (c->have_setattr && sys_mount_setattr(fd, "", AT_EMPTY_PATH, &attr) < 0)
		return cntr_fail_errno(err, "make the cover of /%s inert (mount_setattr)", rel);
	return 0;
}

static int mask_if_present(struct prepare_ctx *c, const char *rel, bool dir, struct cntr_err *err)
{
	_cleanup_free_ char *src = xasprintf("/%s", rel);
	struct stat st;

	if (lstat(src, &st) < 0 || (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
		return 0;
	log_debug("covering the host's %s", src);
	if (dir) {
		add_entry(c->tree, TOOLS_MASK_DIR, rel);
		return 0;
	}
	return mask_file(c, rel, err);
}

/* The ssh host keys: etc/ssh/ssh_host_*_key (the .pub files and ssh_config stay). */
static int mask_ssh_host_keys(struct prepare_ctx *c, struct cntr_err *err)
{
	_cleanup_closedir_ DIR *d = opendir("/" HOST_SSH_DIR);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (strncmp(de->d_name, "ssh_host_", 9) != 0 || n < 4 || strcmp(de->d_name + n - 4, "_key") != 0)
			continue;
		_cleanup_free_ char *rel = xasprintf(HOST_SSH_DIR "/%s", de->d_name);
		if (mask_if_present(c, rel, false, err) < 0)
			return -1;
	}
	return 0;
}

static int mask_host_secrets(struct prepare_ctx *c, struct cntr_err *err)
{
	for (const char *const *f = host_secret_files; *f; f++)
		if (mask_if_present(c, *f, false, err) < 0)
			return -1;
	for (const char *const *d = host_secret_dirs; *d; d++)
		if (mask_if_present(c, *d, true, err) < 0)
			return -1;
	return mask_ssh_host_keys(c, err);
}

static bool mount_setattr_works(void)
{
	struct cntr_mount_attr none = { 0 };

	/* A no-op on "/" tells whether the kernel has mount_setattr (5.12). */
	return sys_mount_setattr(AT_FDCWD, "/", 0, &none) == 0 || errno != ENOSYS;
}

/* proc_fd: a procfs of cntr's pid namespace ("self" is the caller), or AT_FDCWD for /proc. */
static int read_own_mounts(int proc_fd, struct mount_table *mounts, struct cntr_err *err)
{
	_cleanup_free_ char *text = NULL;

	if (read_file_at(proc_fd, proc_fd == AT_FDCWD ? "/proc/self/mountinfo" : "self/mountinfo", &text,
			 NULL, err) < 0)
		return -1;
	return mountinfo_parse(text, mounts, err);
}

int tools_tree_prepare(const struct tools_opts *o, const char *base_dir, int userns_fd,
		       struct tools_tree *out, struct cntr_err *err)
{
	struct prepare_ctx c = { .tree = out, .host = !o->dir, .userns_fd = userns_fd };
	const char *root = o->dir ? o->dir : "/";
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->proc_fd = -1;
	out->capsule_fd = -1;
	out->writable = o->writable;
	out->base_dir = xstrdup(base_dir + strspn(base_dir, "/"));
	if (o->capsule) {
		const char *size = o->capsule_tmp_size ? o->capsule_tmp_size : "64m";
		out->capsule_fd = o->capsule_from > 0 ? capsule_root_create_from(o->capsule_from, size, err)
						      : capsule_root_create(o->capsule, size, err);
		return out->capsule_fd < 0 ? -1 : 0;
	}
	c.have_setattr = mount_setattr_works();
	out->attrs_set = c.have_setattr;
	if (!c.have_setattr && userns_fd >= 0)
		log_skip("idmapping the tools: the kernel has no mount_setattr (5.12); they show as nobody");
	if (!c.have_setattr && !o->writable &&
	    (out->proc_fd = openat(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		cntr_fail_errno(err, "open /proc");
		goto out;
	}
	if (userns_fd >= 0 && c.have_setattr && read_own_mounts(AT_FDCWD, &c.mounts, err) < 0) {
		cntr_err_prefix(err, "idmap the tools: ");
		goto out;
	}
	if (add_dir_entries(&c, root, "", out->base_dir, err) < 0)
		goto out;
	if (c.host && mask_host_secrets(&c, err) < 0)
		goto out;
	log_info("tools: %s, %zu entries, %s", o->dir ? o->dir : "cntr's own root (tool directories only)",
		 out->n, o->writable ? "WRITABLE (--rw-tools)" : "read-only, nosuid, nodev");
	rc = 0;
out:
	mount_table_release(&c.mounts);
	return rc;
}

static int make_mount_point(const char *rel, bool dir, struct cntr_err *err)
{
	if (mkdir_parents(rel, err) < 0)
		return -1;
	if (dir) {
		if (mkdir(rel, 0755) < 0 && errno != EEXIST)
			return cntr_fail_errno(err, "create /%s in the session's root", rel);
		return 0;
	}
	_cleanup_close_ int fd = openat(AT_FDCWD, rel, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return cntr_fail_errno(err, "create /%s in the session's root", rel);
	return 0;
}

/* A fresh tmpfs attached at "at"; returns the mount's fd (the caller may enter it). */
static int mount_empty_tmpfs(const char *at, unsigned attrs, const char *size, struct cntr_err *err)
{
	_cleanup_close_ int mnt = tmpfs_create_detached(size, attrs, "the session's skeleton", err);

	if (mnt < 0)
		return -1;
	if (sys_move_mount(mnt, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cntr_fail_errno(err, "mount a tmpfs on %s", at);
	return steal_fd(&mnt);
}

/* A capsule's overlay is its own "/": entered like the skeleton, never sealed. */
static int enter_capsule_root(int capsule_fd, struct cntr_err *err)
{
	if (sys_move_mount(capsule_fd, "", AT_FDCWD, "/", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cntr_fail_errno(err, "attach the capsule's root (move_mount)");
	if (fchdir(capsule_fd) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return cntr_fail_errno(err, "enter the capsule's root (chroot)");
	return 0;
}

static int enter_skeleton(struct cntr_err *err)
{
	/* Stacked on the target's "/" in the session's private namespace, then entered through
	 * its fd (a path lookup of "/" would stay on the mount underneath): the target's tree
	 * stays underneath, out of the session's sight. */
	_cleanup_close_ int skeleton =
		mount_empty_tmpfs("/", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, "1m", err);

	if (skeleton < 0)
		return -1;
	if (fchdir(skeleton) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return cntr_fail_errno(err, "enter the session's root (chroot)");
	return 0;
}

/* The first directory cover: a read-only bind of the skeleton's still empty /proc (the
 * target's procfs goes there later; the bind keeps showing the empty directory). No tmpfs of
 * its own: a superblock less to make and to tear down. */
static int cover_with_empty_dir(const char *path, struct cntr_err *err)
{
	_cleanup_close_ int fd = sys_open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	struct cntr_mount_attr attr = { .attr_set = INERT_ATTRS | MOUNT_ATTR_NOEXEC };

	if (fd < 0)
		return cntr_fail_errno(err, "cover the host's /%s", path);
	/* Kernels without mount_setattr: remount_tools_inert makes it read-only with the rest. */
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH, &attr) < 0 && errno != ENOSYS)
		return cntr_fail_errno(err, "make the cover of /%s read-only", path);
	if (sys_move_mount(fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cntr_fail_errno(err, "cover the host's /%s", path);
	return 0;
}

/* A further cover: a clone of the first one of its kind, already attached at first. */
static int clone_cover(const char *first, const char *path, struct cntr_err *err)
{
	_cleanup_close_ int fd = sys_open_tree(AT_FDCWD, first, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (fd < 0 || sys_move_mount(fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cntr_fail_errno(err, "cover the host's /%s", path);
	return 0;
}

/* first_file/first_dir: where the first cover of each kind went (NULL until then). */
static int attach_entry(const struct tools_entry *e, const char **first_file, const char **first_dir,
			struct cntr_err *err)
{
	switch (e->kind) {
	case TOOLS_SYMLINK:
		if (mkdir_parents(e->path, err) < 0)
			return -1;
		if (symlink(e->link, e->path) < 0)
			return cntr_fail_errno(err, "create the symlink /%s in the session's root", e->path);
		return 0;
	case TOOLS_MASK_DIR:
		if (*first_dir)
			return clone_cover(*first_dir, e->path, err);
		*first_dir = e->path;
		return cover_with_empty_dir(e->path, err);
	case TOOLS_MASK_FILE:
		if (*first_file)
			return clone_cover(*first_file, e->path, err);
		*first_file = e->path;
		break; /* the mount point exists: it is the covered file */
	case TOOLS_CLONE:
		if (make_mount_point(e->path, e->is_dir, err) < 0)
			return -1;
		break;
	}
	if (sys_move_mount(e->fd, "", AT_FDCWD, e->path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cntr_fail_errno(err, "attach the tools at /%s (move_mount)", e->path);
	return 0;
}

/* Mount flags of a mountinfo options string, so a remount keeps noexec/atime choices. */
static unsigned long flags_of(const char *options)
{
	static const struct { const char *name; unsigned long flag; } known[] = {
		{ "noexec", MS_NOEXEC }, { "noatime", MS_NOATIME }, { "nodiratime", MS_NODIRATIME },
		{ "relatime", MS_RELATIME }, { "strictatime", MS_STRICTATIME },
	};
	unsigned long flags = 0;
	_cleanup_free_ char *copy = xstrdup(options);
	char *save = NULL;

	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(o, known[i].name) == 0)
				flags |= known[i].flag;
	return flags;
}

/* Kernels before 5.12 have no mount_setattr: remount every mount of the session read-only,
 * one by one (MS_REC does not apply to remounts). Only the skeleton and the tools are
 * attached at this point, so every mount but "/" is a tool or a cover. */
static int remount_tools_inert(int proc_fd, struct cntr_err *err)
{
	struct mount_table mounts = { 0 };
	int rc = 0;

	if (read_own_mounts(proc_fd, &mounts, err) < 0)
		return -1;
	for (size_t i = 0; i < mounts.n && rc == 0; i++) {
		const struct mount_entry *m = &mounts.entries[i];
		if (strcmp(m->mount_point, "/") == 0)
			continue;
		if (mount(NULL, m->mount_point, NULL, MS_REMOUNT | MS_BIND | INERT_FLAGS | flags_of(m->mount_options),
			  NULL) < 0)
			rc = cntr_fail_errno(err, "remount the tools at %s read-only", m->mount_point);
	}
	mount_table_release(&mounts);
	return rc;
}

int tools_tree_mount_as_root(const struct tools_tree *t, struct cntr_err *err)
{
	static const char *const mount_points[] = { "proc", "dev", "sys" };

	if ((t->capsule_fd >= 0 ? enter_capsule_root(t->capsule_fd, err) : enter_skeleton(err)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(mount_points) / sizeof(mount_points[0]); i++)
		if (make_mount_point(mount_points[i], true, err) < 0)
			return -1;
	if (make_mount_point(t->base_dir, true, err) < 0)
		return -1;
	if (t->capsule_fd >= 0)
		return 0; /* a capsule's root is its image: no tool entries, nothing to remount */
	const char *first_file = NULL, *first_dir = NULL;

	for (size_t i = 0; i < t->n; i++)
		if (attach_entry(&t->entries[i], &first_file, &first_dir, err) < 0)
			return -1;
	if (!t->attrs_set && !t->writable)
		return remount_tools_inert(t->proc_fd, err);
	return 0;
}

int tools_tree_seal(const struct tools_tree *t, struct cntr_err *err)
{
	struct cntr_mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };

	if (t->capsule_fd >= 0)
		return 0;
	if (sys_mount_setattr(AT_FDCWD, "/", 0, &attr) == 0)
		return 0;
	if (errno == ENOSYS &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
		return 0;
	return cntr_fail_errno(err, "make the session's root read-only");
}

bool tools_tree_can_exec(const struct tools_opts *o, const char *path)
{
	_cleanup_free_ char *first = NULL, *full = NULL;

	if (!path || path[0] != '/')
		return false;
	if (o->capsule) {
		full = xasprintf("%s%s", o->capsule, path);
		return access(full, X_OK) == 0;
	}
	if (o->dir) {
		full = xasprintf("%s%s", o->dir, path);
		return access(full, X_OK) == 0;
	}
	first = xstrndup(path + 1, strcspn(path + 1, "/"));
	return in_list(tools_host_allowlist, first) && access(path, X_OK) == 0;
}

void tools_tree_release(struct tools_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		cleanup_closep(&t->entries[i].fd);
		free(t->entries[i].path);
		free(t->entries[i].link);
	}
	free(t->entries);
	free(t->base_dir);
	cleanup_closep(&t->proc_fd);
	cleanup_closep(&t->capsule_fd);
	memset(t, 0, sizeof(*t));
	t->proc_fd = -1;
	t->capsule_fd = -1;
}
