#include "capsule_root.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "ipc.h"
#include "mounts.h"
#include "syscalls.h"
#include "tmpfs.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>


/* The upper layer: a detached tmpfs holding upper/ and work/. */
static int create_upper(const char *tmp_size, struct cntr_err *err)
{
	int mnt = tmpfs_create_detached(tmp_size, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, "the capsule's copy-on-write layer", err);

	if (mnt < 0)
		return -1;
	if (mkdirat(mnt, "upper", 0755) < 0 || mkdirat(mnt, "work", 0755) < 0) {
		cntr_fail_errno(err, "prepare the capsule's tmpfs");
		close(mnt);
		return -1;
	}
	return mnt;
}

int capsule_root_create_from(pid_t pid, const char *tmp_size, struct cntr_err *err)
{
	_cleanup_close_ int ns = -1;
	struct ipc_msg msg = { 0 };
	int sock[2], fd = -1, rc;
	char path[64];
	pid_t child;

	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return cntr_fail_errno(err, "open the tools container's mount namespace (%s)", path);
	if (ipc_socketpair(sock, err) < 0)
		return -1;
	child = fork();
	if (child == 0) {
		struct cntr_err child_err = { 0 };
		int mnt;
		close(sock[0]);
		/* setns(CLONE_NEWNS) also moves our root and cwd to that namespace's root. Then a
		 * private copy of it, where a procfs of our own pid namespace goes over /proc: the
		 * overlay reaches its upper layer through /proc/self/fd (the container's procfs
		 * knows no "self" for us), and the container's own namespace stays untouched. */
		if (setns(ns, CLONE_NEWNS) < 0 || unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			cntr_fail_errno(&child_err, "enter a copy of the tools container's mount namespace");
			ipc_fail_and_exit(sock[1], &child_err);
		}
		if (mount_fresh_proc(&child_err) < 0)
			ipc_fail_and_exit(sock[1], &child_err);
		mnt = capsule_root_create("/", tmp_size, &child_err);
		if (mnt < 0)
			ipc_fail_and_exit(sock[1], &child_err);
		msg.type = IPC_PTY_MASTER; /* "here is a descriptor" */
		ipc_send(sock[1], &msg, mnt);
		_exit(0);
	}
	close(sock[1]);
	rc = child < 0 ? -1 : ipc_recv(sock[0], &msg, &fd);
	close(sock[0]);
	if (child > 0)
		waitpid(child, NULL, 0);
	if (child < 0 || rc <= 0)
		return cntr_fail_errno(err, "create the capsule's root from container pid %d", (int)pid);
	if (msg.type == IPC_ERROR) {
		*err = msg.err;
		return -1;
	}
	return fd;
}

int capsule_root_create(const char *lower_dir, const char *tmp_size, struct cntr_err *err)
{
	_cleanup_close_ int upper = create_upper(tmp_size, err);
	_cleanup_close_ int fs = -1;
	char upper_dir[64], work_dir[64];
	int mnt;

	if (upper < 0)
		return -1;
	/* The tmpfs is detached: overlayfs reaches it through our own fd's magic link. */
	snprintf(upper_dir, sizeof(upper_dir), "/proc/self/fd/%d/upper", upper);
	snprintf(work_dir, sizeof(work_dir), "/proc/self/fd/%d/work", upper);
	fs = sys_fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return cntr_fail_errno(err, "overlayfs is not available (modprobe overlay)");
	if (sys_fsconfig(fs, CNTR_FSCONFIG_SET_STRING, "lowerdir", lower_dir, 0) < 0)
		return cntr_fail_errno(err, "the capsule's image %s as overlay lower layer", lower_dir);
	if (sys_fsconfig(fs, CNTR_FSCONFIG_SET_STRING, "upperdir", upper_dir, 0) < 0 ||
	    sys_fsconfig(fs, CNTR_FSCONFIG_SET_STRING, "workdir", work_dir, 0) < 0 ||
	    sys_fsconfig(fs, CNTR_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return cntr_fail_errno(err, "create the capsule's overlay over %s", lower_dir);
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (mnt < 0)
		return cntr_fail_errno(err, "mount the capsule's overlay");
	log_info("capsule: %s under a %s copy-on-write tmpfs", lower_dir, tmp_size);
	return mnt;
}
