#include "namespaces.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* The link's text ("net:[4026531840]") names one namespace: equal texts, the same one. Read,
 * not stat'ed: a stat or open of an ns file builds an nsfs inode and dentry every time (they
 * are never cached), a readlink only formats the name. */
static ssize_t read_ns_link(int dir, const char *name, char *buf, size_t size)
{
	ssize_t n = readlinkat(dir, name, buf, size - 1);

	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static int fail_open(pid_t pid, const char *what, int errnum, struct cntr_err *err)
{
	if (errnum == ENOENT || errnum == ESRCH)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "target process %d exited during attach", (int)pid);
	return cntr_fail(err, CNTR_EXIT_FAILURE, errnum, "open /proc/%d/ns%s", (int)pid, what);
}

/* Both ns directories are opened once: each entry is then one component away (a path from
 * /proc walks the PID's directory, or the "self" link, again for every namespace). Compared
 * by name first, so a namespace shared with cntr is never opened (nor closed). */
static int open_namespaces(int theirs, int ours, pid_t pid, struct target_namespaces *ns, struct cntr_err *err)
{
	for (int i = 0; i < NS_COUNT; i++) {
		const char *name = ns_table[i].name;
		char their_id[64], our_id[64];
		ssize_t their_len = read_ns_link(theirs, name, their_id, sizeof(their_id));
		ssize_t our_len = read_ns_link(ours, name, our_id, sizeof(our_id));
		int fd;

		if (their_len < 0 && errno == ENOENT && our_len < 0) {
			log_skip("%s namespace: not supported by this kernel", name);
			continue;
		}
		/* A failed read (the target exiting) fails the open below, which says why. */
		if (their_len >= 0 && our_len >= 0 && strcmp(their_id, our_id) == 0) {
			ns->shared[i] = true;
			continue;
		}
		fd = openat(theirs, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			char what[16];
			snprintf(what, sizeof(what), "/%s", name);
			return fail_open(pid, what, errno, err);
		}
		ns->fd[i] = fd;
	}
	return 0;
}

int target_namespaces_open(pid_t pid, struct target_namespaces *ns, struct cntr_err *err)
{
	_cleanup_close_ int theirs = -1, ours = -1;
	char path[64];

	for (int i = 0; i < NS_COUNT; i++) {
		ns->fd[i] = -1;
		ns->shared[i] = false;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns", (int)pid);
	theirs = openat(AT_FDCWD, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (theirs < 0)
		return fail_open(pid, "", errno, err);
	ours = openat(AT_FDCWD, "/proc/self/ns", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ours < 0)
		return cntr_fail_errno(err, "open /proc/self/ns");
	if (open_namespaces(theirs, ours, pid, ns, err) < 0) {
		target_namespaces_close(ns);
		return -1;
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
