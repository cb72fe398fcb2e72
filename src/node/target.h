/* Everything cntr needs to know about the target process, read once from /proc/PID before
 * any namespace is joined (after joining, cntr's /proc may no longer show it). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "namespaces.h"
#include "proc_cgroup.h"
#include "proc_status.h"

struct cntr_err;

struct target {
	pid_t pid;
	int pidfd;              /* keeps the identity: used to detect exit / PID reuse */
	int root_fd;            /* O_PATH /proc/PID/root (exec view) */
	int cwd_fd;             /* O_PATH /proc/PID/cwd (exec view) */
	struct proc_status status;
	char **environ;
	struct cgroup_list cgroups;
	struct target_namespaces ns;
	int lsm;                /* enum lsm_kind: the host's active LSM, detected once for relay and
				 * command; with none, the labels below are not read */
	char *lsm_label;        /* attr/current (AppArmor "profile (mode)" or SELinux context), or NULL */
	char *apparmor_label;   /* attr/apparmor/current on stacking kernels, or NULL */
	int lsm_errnum;         /* errno when a label exists but could not be read, else 0 */
	/* ids of the target translated into its own user namespace */
	uid_t inner_uid[4];
	gid_t inner_gid[4];
	gid_t *inner_groups;
	size_t inner_ngroups;
	bool setgroups_allowed; /* /proc/PID/setgroups says "allow" (or no user ns) */
};

/* start_time (from the resolver, 0 = unknown): the process must still be the one resolved,
 * not a new one that got its PID since. */
int target_open(pid_t pid, unsigned long long start_time, struct target *t, struct cntr_err *err);
void target_release(struct target *t);
/* Whether the target has exited (a zombie counts), as seen from cntr's own /proc: for the
 * relay, never for a process that has joined the target's mount namespace. */
bool target_has_exited(const struct target *t);

/* 0 while the target lives, else 125 "target exited during attach". */
int target_check_alive(const struct target *t, struct cntr_err *err);
