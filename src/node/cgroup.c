#include "cgroup.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "proc_cgroup.h"
#include "syscalls.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* A fresh, detached mount of the hierarchy: its root is the current cgroup namespace's root,
 * so the paths in /proc/PID/cgroup (read in the same namespace) resolve against it whatever
 * cntr's own /sys/fs/cgroup shows (a pod has its own view). Nothing is attached anywhere. */
static int mount_hierarchy(const struct cgroup_entry *e, struct cntr_err *err)
{
	_cleanup_close_ int fs = -1;
	_cleanup_free_ char *controllers = NULL;
	bool v2 = e->hierarchy_id == 0;
	int mnt;

	fs = sys_fsopen(v2 ? "cgroup2" : "cgroup", FSOPEN_CLOEXEC);
	if (fs < 0)
		return cntr_fail_errno(err, "fsopen %s", v2 ? "cgroup2" : "cgroup");
	if (!v2) {
		char *save = NULL;
		controllers = xstrdup(e->controllers);
		for (char *c = strtok_r(controllers, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			int rc = str_has_prefix(c, "name=")
					 ? sys_fsconfig(fs, CNTR_FSCONFIG_SET_STRING, "name", c + 5, 0)
					 : sys_fsconfig(fs, CNTR_FSCONFIG_SET_FLAG, c, NULL, 0);
			if (rc < 0)
				return cntr_fail_errno(err, "cgroup option '%s'", c);
		}
	}
	if (sys_fsconfig(fs, CNTR_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return cntr_fail_errno(err, "create cgroup hierarchy '%s'", v2 ? "unified" : e->controllers);
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, 0);
	if (mnt < 0)
		return cntr_fail_errno(err, "mount cgroup hierarchy '%s'", v2 ? "unified" : e->controllers);
	return mnt;
}

/* cntr's own mount of this hierarchy, where runtimes and systemd put it: the unified one at
 * /sys/fs/cgroup (pure v2) or /sys/fs/cgroup/unified (hybrid), a v1 one at
 * /sys/fs/cgroup/<controllers> ("name=systemd" -> systemd). */
static char *own_hierarchy_path(const struct cgroup_entry *e)
{
	struct statfs sfs;

	if (e->hierarchy_id == 0)
		return xstrdup(statfs("/sys/fs/cgroup", &sfs) == 0 && (unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC
				       ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified");
	return xasprintf("/sys/fs/cgroup/%s", str_has_prefix(e->controllers, "name=") ? e->controllers + 5
										    : e->controllers);
}

static bool on_cgroup_fs(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 && ((unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC ||
					  (unsigned long)sfs.f_type == CGROUP_SUPER_MAGIC);
}

/* Whether pid is a line of the cgroup.procs open at fd (PIDs in our pid namespace). Read in
 * chunks, stopping at the line: a container's list fits the first one. */
static bool cgroup_lists(int fd, pid_t pid)
{
	char want[24], buf[4096];
	size_t n = (size_t)snprintf(want, sizeof(want), "%d\n", (int)pid), kept = 0;

	for (;;) {
		ssize_t got = read(fd, buf + kept, sizeof(buf) - 1 - kept);
		char *line = buf, *end;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		buf[kept + (size_t)got] = '\0';
		for (; (end = strchr(line, '\n')); line = end + 1)
			if ((size_t)(end + 1 - line) == n && memcmp(line, want, n) == 0)
				return true;
		/* A partial last line goes to the front for the next chunk. */
		kept = strlen(line);
		memmove(buf, line, kept);
	}
}

/* The fast way on a host: cntr's own cgroup mounts, no fresh mount per hierarchy (a
 * superblock lookup and an RCU-synchronised unmount each). Trusted only when the cgroup
 * there is on a cgroup filesystem and really holds the target. One descriptor for the check
 * and the move: this runs while the command waits, once per hierarchy. */
static int open_checked(const char *root, const char *rel, const char *file, pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("%s/%s%s%s", root, rel, *rel ? "/" : "", file);
	_cleanup_close_ int fd = openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC | O_NOCTTY);

	if (fd < 0 || !on_cgroup_fs(fd) || !cgroup_lists(fd, pid))
		return -1;
	return steal_fd(&fd);
}

/* v1 "tasks" lists every thread of the cgroup: the target's main one (its PID) too. */
static bool self_move_through_own_mount(const struct cgroup_entry *e, const char *rel, pid_t pid,
					struct cgroup_self_moves *moves)
{
	_cleanup_free_ char *root = NULL;
	int fd;

	if (!moves || e->hierarchy_id == 0 || moves->n == CGROUP_SELF_MOVES_MAX)
		return false;
	root = own_hierarchy_path(e);
	fd = open_checked(root, rel, "tasks", pid);
	if (fd < 0)
		return false;
	moves->fds[moves->n++] = fd;
	return true;
}

static bool join_through_own_mount(const struct cgroup_entry *e, const char *rel, pid_t pid, const char *who)
{
	_cleanup_free_ char *root = own_hierarchy_path(e);
	_cleanup_close_ int fd = open_checked(root, rel, "cgroup.procs", pid);

	return fd >= 0 && write_all(fd, who, strlen(who)) == 0;
}

static int join_hierarchy(const struct cgroup_entry *e, pid_t pid, const char *who, struct cgroup_self_moves *moves,
			  struct cntr_err *err)
{
	_cleanup_close_ int mnt = -1;
	_cleanup_free_ char *procs = NULL;
	const char *rel = e->path;

	while (*rel == '/')
		rel++;
	if (self_move_through_own_mount(e, rel, pid, moves)) {
		log_debug("cgroup %s:%s: joined by the command itself", e->controllers, e->path);
		return 0;
	}
	procs = xasprintf("%s%scgroup.procs", rel, *rel ? "/" : "");
	if (join_through_own_mount(e, rel, pid, who)) {
		log_debug("joined cgroup %s:%s", e->hierarchy_id ? e->controllers : "unified", e->path);
		return 0;
	}
	mnt = mount_hierarchy(e, err);
	if (mnt < 0)
		return -1;
	/* The mover's PID ("0": the writer): the session's command inherits the cgroup on fork. */
	if (write_file_at(mnt, procs, who, err) < 0)
		return cntr_err_prefix(err, "join cgroup %s (%s): ", e->path,
				       e->hierarchy_id ? e->controllers : "unified");
	log_debug("joined cgroup %s:%s", e->hierarchy_id ? e->controllers : "unified", e->path);
	return 0;
}

static bool paths_reachable(const struct cgroup_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (str_has_prefix(l->entries[i].path, "/.."))
			return false;
	return true;
}

/* Whether we are already in the cgroup e names (same hierarchy, same path). */
static bool already_there(const struct cgroup_list *own, const struct cgroup_entry *e)
{
	for (size_t i = 0; i < own->n; i++)
		if (own->entries[i].hierarchy_id == e->hierarchy_id)
			return strcmp(own->entries[i].path, e->path) == 0;
	return false;
}

/* Move who into the target's cgroups, given as seen from the current cgroup namespace (each
 * move is an RCU-synchronised write: the hierarchies who already shares are skipped). */
static int join_listed(const struct cgroup_list *list, pid_t pid, const char *who, struct cgroup_self_moves *moves,
		       struct cntr_err *err)
{
	_cleanup_free_ char *own_text = NULL;
	struct cgroup_list own = { 0 };
	struct cntr_err ignored;
	char own_path[40];
	int rc = 0;

	snprintf(own_path, sizeof(own_path), "/proc/%s/cgroup", strcmp(who, "0") == 0 ? "self" : who);
	if (read_proc_file_at(AT_FDCWD, own_path, &own_text, NULL, &ignored) < 0 ||
	    proc_cgroup_parse(own_text, &own, &ignored) < 0)
		cgroup_list_release(&own); /* compare with nothing: join every hierarchy */
	for (size_t i = 0; i < list->n && rc == 0; i++)
		if (!already_there(&own, &list->entries[i]))
			rc = join_hierarchy(&list->entries[i], pid, who, moves, err);
	cgroup_list_release(&own);
	return rc;
}

/* After entering another cgroup namespace: the target's paths as that namespace sees them. */
static int join_from_current_ns(pid_t pid, const char *who, struct cntr_err *err)
{
	_cleanup_free_ char *text = NULL;
	struct cgroup_list list = { 0 };
	char path[64];
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (read_proc_file_at(AT_FDCWD, path, &text, NULL, err) < 0 || proc_cgroup_parse(text, &list, err) < 0)
		return -1;
	if (!paths_reachable(&list)) {
		cgroup_list_release(&list);
		errno = ENOENT;
		return cntr_fail(err, CNTR_EXIT_FAILURE, ENOENT,
				 "the target's cgroup lies outside this cgroup namespace");
	}
	rc = join_listed(&list, pid, who, NULL, err);
	cgroup_list_release(&list);
	return rc;
}

static int enter_cgroup_ns(const char *path, int fd, struct cntr_err *err)
{
	_cleanup_close_ int own = -1;
	if (fd < 0)
		fd = own = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cntr_fail_errno(err, "open %s", path);
	if (setns(fd, CLONE_NEWCGROUP) < 0)
		return cntr_fail_errno(err, "enter cgroup namespace %s", path);
	return 0;
}

void cgroup_self_moves_release(struct cgroup_self_moves *m)
{
	for (size_t i = 0; i < m->n; i++)
		close(m->fds[i]);
	m->n = 0;
}

int cgroup_self_moves_apply(struct cgroup_self_moves *m, struct cntr_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < m->n && rc == 0; i++)
		if (write_all(m->fds[i], "0", 1) < 0)
			rc = cntr_fail_errno(err, "join the target's cgroup (v1 tasks)");
	cgroup_self_moves_release(m);
	return rc;
}

int join_target_cgroup(const struct target *t, pid_t mover, struct cgroup_self_moves *self_moves,
		       struct cntr_err *err)
{
	struct cntr_err why;
	char who[24];

	snprintf(who, sizeof(who), "%d", (int)mover);

	/* On a host the target's paths are below our cgroup namespace root: move right here. */
	if (paths_reachable(&t->cgroups))
		return join_listed(&t->cgroups, t->pid, who, self_moves, err);
	/* In a pod (own cgroup namespace) the target lies outside our root. With nsdelegate
	 * (systemd, pure v2) a move is only allowed when the mover's namespace sees both the
	 * source and the destination: the host's (PID 1's, visible with hostPID) does. */
	if (enter_cgroup_ns("/proc/1/ns/cgroup", -1, &why) == 0 && join_from_current_ns(t->pid, who, &why) == 0)
		return 0;
	log_skip("join cgroup through the host cgroup namespace: %s", why.msg);
	/* Without nsdelegate the target's own namespace works too. */
	if (t->ns.fd[NS_CGROUP] >= 0 && enter_cgroup_ns("target cgroup ns", t->ns.fd[NS_CGROUP], err) == 0)
		return join_from_current_ns(t->pid, who, err);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "cannot join the target's cgroup from this cgroup namespace (%s); run cntr in the "
			 "host cgroup namespace (privileged pod with hostPID)", why.msg);
}

int open_target_unified_cgroup(const struct target *t, int *mount_fd)
{
	const struct cgroup_entry *e = NULL;
	_cleanup_free_ char *root = NULL, *path = NULL;
	_cleanup_close_ int mnt = -1, dir = -1, procs = -1;
	struct cntr_err ignored;
	const char *rel;

	*mount_fd = -1;
	for (size_t i = 0; i < t->cgroups.n && !e; i++)
		if (t->cgroups.entries[i].hierarchy_id == 0)
			e = &t->cgroups.entries[i];
	if (!e || !paths_reachable(&t->cgroups))
		return -1;
	for (rel = e->path; *rel == '/'; rel++)
		;
	root = own_hierarchy_path(e);
	path = xasprintf("%s/%s", root, rel);
	dir = openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0 || !on_cgroup_fs(dir)) {
		/* A hybrid host without the unified hierarchy mounted: a fresh, detached mount
		 * (kept alive by the directory's descriptor). */
		cleanup_closep(&dir);
		mnt = mount_hierarchy(e, &ignored);
		if (mnt < 0)
			return -1;
		dir = openat(mnt, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dir < 0 || (procs = openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC)) < 0 || !cgroup_lists(procs, t->pid))
		return -1;
	/* Closing a fresh mount's descriptor unmounts it, an RCU grace period: after the fork. */
	*mount_fd = steal_fd(&mnt);
	return steal_fd(&dir);
}

pid_t fork_into_cgroup(int dir_fd)
{
	struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)dir_fd };
	long pid;

	if (dir_fd < 0)
		return fork();
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0)
		return (pid_t)pid;
	/* Older kernels (ENOSYS, E2BIG), or a cgroup the kernel will not start a process in. */
	log_debug("clone3 into the target's cgroup: %s; fork, then move", strerror(errno));
	return fork();
}
