#include "target.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/strutil.h"
#include "environ.h"
#include "idmap.h"
#include "lsm.h"
#include "proc_stat.h"
#include "syscalls.h"
#include "vm_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int proc_fail(pid_t pid, const char *what, int errnum, struct cntr_err *err)
{
	if (errnum == ENOENT || errnum == ESRCH)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "target process %d exited during attach", (int)pid);
	return cntr_fail(err, CNTR_EXIT_FAILURE, errnum, "read /proc/%d/%s", (int)pid, what);
}

/* one_piece: the kernel produces the file in one piece (read_proc_file_at); uid_map and
 * gid_map are multi-record seq_files, read to their end. */
static int read_proc_file(pid_t pid, const char *what, bool one_piece, char **buf, size_t *len,
			  struct cntr_err *err)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if ((one_piece ? read_proc_file_at : read_file_at)(AT_FDCWD, path, buf, len, err) < 0)
		return proc_fail(pid, what, err->errnum, err);
	return 0;
}

static int read_proc(pid_t pid, const char *what, char **buf, size_t *len, struct cntr_err *err)
{
	return read_proc_file(pid, what, true, buf, len, err);
}

/* Optional files (LSM attributes, setgroups): an absent file (ENOENT) or no LSM behind it (EINVAL,
 * EOPNOTSUPP) means "no label". Any other failure is kept in *errnum: the label exists but is
 * unknown, and apply_target_lsm refuses to run the session unconfined. */
static char *read_optional_proc(pid_t pid, const char *what, int *errnum)
{
	_cleanup_free_ char *buf = NULL;
	struct cntr_err failed;
	size_t len = 0;

	if (read_proc(pid, what, &buf, &len, &failed) < 0) {
		if (errnum && failed.errnum != ENOENT && failed.errnum != EINVAL && failed.errnum != EOPNOTSUPP)
			*errnum = failed.errnum;
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\0'))
		buf[--len] = '\0';
	return len ? steal_pointer(&buf) : NULL;
}

static int translate_ids(struct target *t, struct cntr_err *err)
{
	_cleanup_free_ char *uid_text = NULL, *gid_text = NULL, *setgroups = NULL;
	struct id_map uids, gids;

	t->inner_groups = calloc(t->status.ngroups + 1, sizeof(gid_t));
	if (!t->inner_groups)
		return cntr_fail_errno(err, "allocate group list");
	if (t->ns.fd[NS_USER] < 0) {
		memcpy(t->inner_uid, t->status.uid, sizeof(t->inner_uid));
		memcpy(t->inner_gid, t->status.gid, sizeof(t->inner_gid));
		if (t->status.ngroups)
			memcpy(t->inner_groups, t->status.groups, t->status.ngroups * sizeof(gid_t));
		t->inner_ngroups = t->status.ngroups;
		t->setgroups_allowed = true;
		return 0;
	}
	if (read_proc_file(t->pid, "uid_map", false, &uid_text, NULL, err) < 0 ||
	    read_proc_file(t->pid, "gid_map", false, &gid_text, NULL, err) < 0 ||
	    id_map_parse(uid_text, &uids, err) < 0 || id_map_parse(gid_text, &gids, err) < 0)
		return -1;
	for (int i = 0; i < 4; i++) {
		int64_t u = id_map_to_inner(&uids, t->status.uid[i]);
		int64_t g = id_map_to_inner(&gids, t->status.gid[i]);
		t->inner_uid[i] = u < 0 ? 65534 : (uid_t)u;
		t->inner_gid[i] = g < 0 ? 65534 : (gid_t)g;
	}
	for (size_t i = 0; i < t->status.ngroups; i++) {
		int64_t g = id_map_to_inner(&gids, t->status.groups[i]);
		if (g >= 0)
			t->inner_groups[t->inner_ngroups++] = (gid_t)g;
	}
	setgroups = read_optional_proc(t->pid, "setgroups", NULL);
	t->setgroups_allowed = !setgroups || strcmp(setgroups, "allow") == 0;
	return 0;
}

static int open_proc_path(pid_t pid, const char *what, struct cntr_err *err)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = openat(AT_FDCWD, path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return proc_fail(pid, what, errno, err);
	return fd;
}

/* A VM monitor or a sandbox has no namespaces of the container to join (vm_runtime.h). */
static int refuse_vm_runtime(pid_t pid, struct cntr_err *err)
{
	_cleanup_free_ char *cmdline = NULL;
	const char *runtime;
	size_t len = 0;

	if (read_proc(pid, "cmdline", &cmdline, &len, err) < 0)
		return -1;
	runtime = len ? vm_runtime_of(cmdline) : NULL;
	if (!runtime)
		return 0;
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "target pid %d is %s: the container runs inside it, with no namespaces on this node "
			 "to join; debug it from inside (an ephemeral container: kubectl debug --target)",
			 (int)pid, runtime);
}

static int read_context(struct target *t, struct cntr_err *err)
{
	_cleanup_free_ char *status = NULL, *environ_buf = NULL, *cgroup = NULL;
	size_t env_len = 0;

	if (refuse_vm_runtime(t->pid, err) < 0)
		return -1;

	if (read_proc(t->pid, "status", &status, NULL, err) < 0 ||
	    proc_status_parse(status, &t->status, err) < 0)
		return -1;
	if (read_proc(t->pid, "environ", &environ_buf, &env_len, err) < 0)
		return -1;
	t->environ = environ_parse(environ_buf, env_len);
	if (!t->environ)
		return cntr_fail_errno(err, "parse /proc/%d/environ", (int)t->pid);
	if (read_proc(t->pid, "cgroup", &cgroup, NULL, err) < 0 ||
	    proc_cgroup_parse(cgroup, &t->cgroups, err) < 0)
		return -1;
	t->lsm = detect_lsm();
	if (t->lsm == LSM_NONE)
		return 0;
	t->lsm_label = read_optional_proc(t->pid, "attr/current", &t->lsm_errnum);
	t->apparmor_label = read_optional_proc(t->pid, "attr/apparmor/current", &t->lsm_errnum);
	return 0;
}

/* After the pidfd is open, the PID can no longer be reused under us: compare now. */
static int check_same_process(pid_t pid, unsigned long long resolved_start, struct cntr_err *err)
{
	unsigned long long start;
	pid_t ppid;

	if (!resolved_start)
		return 0;
	if (proc_stat_read(pid, &ppid, &start) < 0)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "target process %d exited during attach", (int)pid);
	if (start != resolved_start)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "target process %d exited and its PID was reused before the attach; retry",
				 (int)pid);
	return 0;
}

static int open_target(pid_t pid, unsigned long long start_time, struct target *t, struct cntr_err *err)
{
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->pidfd = t->root_fd = t->cwd_fd = -1;
	for (int i = 0; i < NS_COUNT; i++)
		t->ns.fd[i] = -1;

	t->pidfd = sys_pidfd_open(pid, 0);
	if (t->pidfd < 0 && errno == ESRCH)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "target process %d does not exist", (int)pid);
	/* pidfd_open sets close-on-exec itself. */
	if (t->pidfd < 0)
		log_skip("pidfd for %d: %s (kernel < 5.3); PID reuse is checked by /proc only",
			 (int)pid, strerror(errno));
	if (check_same_process(pid, start_time, err) < 0)
		return -1;
	if (read_context(t, err) < 0)
		return -1;
	if (target_namespaces_open(pid, &t->ns, err) < 0)
		return -1;
	if ((t->root_fd = open_proc_path(pid, "root", err)) < 0 ||
	    (t->cwd_fd = open_proc_path(pid, "cwd", err)) < 0)
		return -1;
	if (translate_ids(t, err) < 0)
		return -1;
	/* Everything above was read through PID: make sure it still named the same process. */
	return target_check_alive(t, err);
}

int target_open(pid_t pid, unsigned long long start_time, struct target *t, struct cntr_err *err)
{
	if (open_target(pid, start_time, t, err) == 0)
		return 0;
	/* Whatever read failed (a zombie has no namespaces left): the reason is the exit. */
	if (t->pidfd >= 0 && target_has_exited(t))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "target process %d exited during attach", (int)pid);
	return -1;
}

/* Signal 0 through the pidfd (never a reused PID), or the PID on kernels without pidfds. */
static int probe_target(const struct target *t)
{
	return t->pidfd >= 0 ? sys_pidfd_send_signal(t->pidfd, 0) : kill(t->pid, 0);
}

bool target_has_exited(const struct target *t)
{
	bool exiting;
	char state;

	if (probe_target(t) < 0)
		return errno == ESRCH;
	/* Not reaped yet: the pidfd still names it, so /proc/PID is still this process. A pid
	 * namespace's init is still exiting while the kernel kills the rest of its namespace. */
	state = proc_stat_state(t->pid, &exiting);
	return state == 0 || state == 'Z' || state == 'X' || exiting;
}

int target_check_alive(const struct target *t, struct cntr_err *err)
{
	if (probe_target(t) < 0 && errno == ESRCH)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "target process %d exited during attach",
				 (int)t->pid);
	return 0;
}

void target_release(struct target *t)
{
	cleanup_closep(&t->pidfd);
	cleanup_closep(&t->root_fd);
	cleanup_closep(&t->cwd_fd);
	target_namespaces_close(&t->ns);
	proc_status_release(&t->status);
	strv_free(t->environ);
	cgroup_list_release(&t->cgroups);
	free(t->lsm_label);
	free(t->apparmor_label);
	free(t->inner_groups);
	memset(t, 0, sizeof(*t));
	t->pidfd = t->root_fd = t->cwd_fd = -1;
}
