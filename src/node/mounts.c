#include "mounts.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "mountinfo.h"
#include "syscalls.h"
#include "target.h"
#include "tools_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef RESOLVE_IN_ROOT
#define RESOLVE_IN_ROOT 0x10
#endif
#ifndef RESOLVE_NO_MAGICLINKS
#define RESOLVE_NO_MAGICLINKS 0x02
#endif

struct cntr_open_how {
	uint64_t flags, mode, resolve;
};

/* The target's files that the session sees over the debug side's (docs/design.md §1). */
static const char *const target_etc_files[] = {
	"hosts", "hostname", "resolv.conf", "passwd", "group", "localtime",
};

/* Target directories bound over the debug side's, with the filesystem each must be. */
static const struct {
	const char *dir;
	unsigned long magic;  /* 0: any */
} target_dirs[] = {
	{ "proc", PROC_SUPER_MAGIC },
	{ "dev", 0 },
	{ "sys", SYSFS_MAGIC },
};

static int make_private(const char *path, struct cntr_err *err)
{
	/* Clones keep their peer groups: without this, mounts made in the session could
	 * propagate back into the host or the target. */
	if (mount(NULL, path, NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return cntr_fail_errno(err, "make %s private", path);
	return 0;
}

static int clone_target_root(const struct target *t, struct cntr_err *err)
{
	int fd = sys_open_tree(t->root_fd, "", OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (fd < 0)
		fd = sys_open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		return cntr_fail_errno(err, "clone the target's root (open_tree)");
	return fd;
}

/* Bind base_dir/NAME over /NAME when the target has it as the expected filesystem. */
static int bind_target_dir(const char *base_dir, const char *dir, unsigned long magic, bool *bound,
			   struct cntr_err *err)
{
	_cleanup_free_ char *src = xasprintf("%s/%s", base_dir, dir);
	_cleanup_free_ char *dst = xasprintf("/%s", dir);
	_cleanup_close_ int fd = -1;
	struct statfs sfs;

	*bound = false;
	fd = sys_open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | AT_RECURSIVE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW);
	if (fd < 0) {
		log_skip("target /%s: %s; the debug side's stays", dir, strerror(errno));
		return 0;
	}
	if (magic && (fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != magic)) {
		log_skip("target /%s is not mounted; the debug side's stays", dir);
		return 0;
	}
	if (sys_move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cntr_fail_errno(err, "bind the target's /%s", dir);
	*bound = true;
	return 0;
}

/* Open base/etc/NAME resolving symlinks inside the target's root, never the debug side's. */
static int open_in_target(int base_fd, const char *rel)
{
	struct cntr_open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, base_fd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(base_fd, rel, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	return fd;
}

static int bind_target_etc_file(int base_fd, const char *name, struct cntr_err *err)
{
	_cleanup_free_ char *rel = xasprintf("etc/%s", name);
	_cleanup_free_ char *dst = xasprintf("/etc/%s", name);
	_cleanup_close_ int src = -1, tree = -1;
	struct stat st;
	int saved;

	src = open_in_target(base_fd, rel);
	if (src < 0 || fstat(src, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_skip("target /etc/%s: %s; the debug side's stays", name,
			 src < 0 ? strerror(errno) : "not a regular file");
		return 0;
	}
	tree = sys_open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		return cntr_fail_errno(err, "bind the target's /etc/%s", name);
	/* The debug side's file is the mount point; whether it has one is asked only when the
	 * move fails (a stat less on every attach). */
	if (sys_move_mount(tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) == 0)
		return 0;
	saved = errno;
	if (stat(dst, &st) == 0 && S_ISREG(st.st_mode)) {
		errno = saved;
		return cntr_fail_errno(err, "bind the target's /etc/%s", name);
	}
	log_skip("debug side has no /etc/%s to bind the target's over", name);
	return 0;
}

int build_attach_view(const struct target *t, const struct tools_tree *tools, const char *base_dir,
		      bool *need_proc, struct cntr_err *err)
{
	_cleanup_close_ int target_tree = -1, base_fd = -1;
	bool bound;

	target_tree = clone_target_root(t, err);
	if (target_tree < 0)
		return -1;
	if (unshare(CLONE_NEWNS) < 0)
		return cntr_fail_errno(err, "create the session's mount namespace (unshare)");
	if (make_private("/", err) < 0 || tools_tree_mount_as_root(tools, err) < 0)
		return -1;
	if (sys_move_mount(target_tree, "", AT_FDCWD, base_dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cntr_fail_errno(err, "attach the target's root at %s (move_mount)", base_dir);
	if (make_private(base_dir, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(target_dirs) / sizeof(target_dirs[0]); i++) {
		if (bind_target_dir(base_dir, target_dirs[i].dir, target_dirs[i].magic, &bound, err) < 0)
			return -1;
		if (i == 0)
			*need_proc = !bound;
	}
	base_fd = openat(AT_FDCWD, base_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (base_fd < 0)
		return cntr_fail_errno(err, "open %s", base_dir);
	for (size_t i = 0; i < sizeof(target_etc_files) / sizeof(target_etc_files[0]); i++)
		if (bind_target_etc_file(base_fd, target_etc_files[i], err) < 0)
			return -1;
	return tools_tree_seal(tools, err);
}

int mount_fresh_proc(struct cntr_err *err)
{
	_cleanup_close_ int fs = sys_fsopen("proc", FSOPEN_CLOEXEC);
	_cleanup_close_ int mnt = -1;

	if (fs < 0 || sys_fsconfig(fs, CNTR_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return cntr_fail_errno(err, "create a procfs for the target's pid namespace");
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0 || sys_move_mount(mnt, "", AT_FDCWD, "/proc", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return cntr_fail_errno(err, "mount procfs on /proc");
	return 0;
}

int enter_target_root(const struct target *t, struct cntr_err *err)
{
	if (fchdir(t->root_fd) < 0 || chroot(".") < 0)
		return cntr_fail_errno(err, "enter the target's root (chroot)");
	if (fchdir(t->cwd_fd) < 0) {
		log_skip("target's cwd: %s; using /", strerror(errno));
		if (chdir("/") < 0)
			return cntr_fail_errno(err, "chdir /");
	}
	return 0;
}

int check_base_dir(const char *base_dir, struct cntr_err *err)
{
	static const char *const taken[] = { "proc", "dev", "sys" };
	_cleanup_free_ char *copy = xstrdup(base_dir);
	char *save = NULL, *first = NULL;

	if (base_dir[0] != '/')
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "CNTR_BASE_DIR must be an absolute path, got '%s'", base_dir);
	for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, ".") || !strcmp(c, ".."))
			return cntr_fail(err, CNTR_EXIT_USAGE, 0, "CNTR_BASE_DIR must not contain '.' or '..', got '%s'",
					 base_dir);
		if (!first)
			first = c;
	}
	if (!first)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "CNTR_BASE_DIR cannot be '/': the tools are there");
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		if (!strcmp(first, taken[i]))
			return cntr_fail(err, CNTR_EXIT_USAGE, 0, "CNTR_BASE_DIR cannot be under /%s: the target's is there",
					 taken[i]);
	return 0;
}
