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
