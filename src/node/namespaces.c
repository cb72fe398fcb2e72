#include "namespaces.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

const struct ns_info ns_table[NS_COUNT] = {
	[NS_MNT] = { "mnt", CLONE_NEWNS },
	[NS_UTS] = { "uts", CLONE_NEWUTS },
	[NS_IPC] = { "ipc", CLONE_NEWIPC },
	[NS_NET] = { "net", CLONE_NEWNET },
	[NS_PID] = { "pid", CLONE_NEWPID },
	[NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP },
	[NS_USER] = { "user", CLONE_NEWUSER },
	[NS_TIME] = { "time", CLONE_NEWTIME },
};

static bool same_file(int fd, const char *path)
{
	struct stat a, b;
	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int target_namespaces_open(pid_t pid, struct target_namespaces *ns, struct cntr_err *err)
{
	for (int i = 0; i < NS_COUNT; i++) {
		ns->fd[i] = -1;
		ns->shared[i] = false;
	}
	for (int i = 0; i < NS_COUNT; i++) {
		char path[64], own[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns_table[i].name);
		snprintf(own, sizeof(own), "/proc/self/ns/%s", ns_table[i].name);
		fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && access(own, F_OK) != 0) {
			log_skip("%s namespace: not supported by this kernel", ns_table[i].name);
			continue;
		}
		if (fd < 0) {
			int saved = errno;
			target_namespaces_close(ns);
			if (saved == ENOENT || saved == ESRCH)
				return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
						 "target process %d exited during attach", (int)pid);
			return cntr_fail(err, CNTR_EXIT_FAILURE, saved, "open %s", path);
		}
		if (same_file(fd, own)) {
			ns->shared[i] = true;
			close(fd);
			continue;
		}
		ns->fd[i] = fd;
	}
	return 0;
}

void target_namespaces_close(struct target_namespaces *ns)
{
	for (int i = 0; i < NS_COUNT; i++) {
		if (ns->fd[i] >= 0)
			close(ns->fd[i]);
		ns->fd[i] = -1;
	}
}

int join_namespace(const struct target_namespaces *ns, enum ns_kind kind, struct cntr_err *err)
{
	if (ns->fd[kind] < 0)
		return 0;
	if (setns(ns->fd[kind], ns_table[kind].clone_flag) < 0)
		return cntr_fail_errno(err, "join the target's %s namespace (setns)", ns_table[kind].name);
	log_debug("joined %s namespace", ns_table[kind].name);
	return 0;
}
