/* Moving a process into every cgroup hierarchy of the target (v1, v2, hybrid). */
#pragma once
#include <sys/types.h>

struct cntr_err;
struct target;

/* Move mover (a PID in our pid namespace; 0: the caller) into the target's cgroups, each
 * hierarchy the caller does not already share with the target. Works from a host and from a
 * pod with its own cgroup namespace (relative "/../.." paths): the caller may then be left
 * in another cgroup namespace (see cgroup.c), so call it from a process that forks no more. */
int join_target_cgroup(const struct target *t, pid_t mover, struct cntr_err *err);
