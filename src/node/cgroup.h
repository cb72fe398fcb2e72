/* Moving the calling process into every cgroup hierarchy of the target (v1, v2, hybrid). */
#pragma once
struct cntr_err;
struct target;

/* Join the target's cgroups. Works from a host and from a pod with its own cgroup namespace
 * (relative "/../.." paths): see cgroup.c for the namespace in which the move is made. */
int join_target_cgroup(const struct target *t, struct cntr_err *err);
