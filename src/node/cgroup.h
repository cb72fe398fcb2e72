/* Moving a process into every cgroup hierarchy of the target (v1, v2, hybrid). */
#pragma once
#include <stddef.h>
#include <sys/types.h>

struct cntr_err;
struct target;

/* cgroup v1 hierarchies the mover joins itself: their "tasks" files, opened (and checked to
 * list the target) by the caller, written "0" by the mover. A process that moves one thread,
 * itself, takes no global lock: a move by PID write-locks every fork and exit on the host,
 * and on a quiet machine that lock first waits for an RCU grace period, 10-30 ms: one attach
 * on an idle node took 20 ms instead of 2 (bench/README.md). cgroup v2 has no such file (its
 * moves always take the lock). */
enum { CGROUP_SELF_MOVES_MAX = 16 };
struct cgroup_self_moves {
	int fds[CGROUP_SELF_MOVES_MAX];
	size_t n;
};
void cgroup_self_moves_release(struct cgroup_self_moves *m);
/* In the mover: write "0" to each (and close it). */
int cgroup_self_moves_apply(struct cgroup_self_moves *m, struct cntr_err *err);

/* Move mover (a PID in our pid namespace; 0: the caller) into the target's cgroups, each
 * hierarchy the caller does not already share with the target. Works from a host and from a
 * pod with its own cgroup namespace (relative "/../.." paths): the caller may then be left
 * in another cgroup namespace (see cgroup.c), so call it from a process that forks no more.
 * With self_moves, the v1 hierarchies reachable through cntr's own mounts are left to the
 * mover (their files in *self_moves); the rest are moved here. */
int join_target_cgroup(const struct target *t, pid_t mover, struct cgroup_self_moves *self_moves,
		       struct cntr_err *err);

/* The target's cgroup v2 directory, for a child created right in it (fork_into_cgroup), or
 * -1 where that cannot be (no v2 hierarchy, a path outside this cgroup namespace, a cgroup
 * that does not list the target): the child is then moved by join_target_cgroup. Where the
 * unified hierarchy is not mounted (hybrid hosts) it is reached through a fresh mount whose
 * descriptor lands in *mount_fd (else -1): close both after the fork. */
int open_target_unified_cgroup(const struct target *t, int *mount_fd);

/* fork(), the child starting in the cgroup dir_fd names (clone3 with CLONE_INTO_CGROUP,
 * Linux 5.7): a cgroup v2 move, by PID or of oneself, write-locks every fork and exit on the
 * host and on a quiet machine first waits for an RCU grace period (10-30 ms); a child born
 * in the cgroup takes no such lock. dir_fd < 0, or a kernel that refuses: plain fork(). The
 * child must not use raise() (musl's caches the thread id, which clone3 leaves stale). */
pid_t fork_into_cgroup(int dir_fd);
