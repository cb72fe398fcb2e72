/* The relay and the command on different CPUs while the command is set up (docs/design.md,
 * "One process per attach").
 *
 * After the fork both halves of an attach have work to do at once: the relay moves the
 * command into the target's cgroups and rewrites the seccomp filters, the command builds its
 * view. The scheduler puts a forked child on its parent's CPU, and an idle CPU only pulls it
 * at the next balancing tick: on a quiet machine the two halves then take turns on one CPU and
 * the attach pays for both. So the command leaves the relay's CPU for the setup, and gets
 * cntr's own CPU mask back before it execs (after the cgroup join: the target's cpuset, if
 * any, still narrows it), so the split never shows in the session. */
#pragma once

#include <sched.h>
#include <stdbool.h>
#include <sys/types.h>

struct cpu_split {
	bool active;       /* cntr may run on more than one CPU */
	int relay_cpu;     /* where the relay forks */
	cpu_set_t all;     /* cntr's own mask: the command's again before exec */
	cpu_set_t others;  /* all but relay_cpu: the command's during setup */
};

/* The relay, right before the fork. */
void cpu_split_prepare(struct cpu_split *c);
/* The relay, right after the fork: a child still queued behind it moves at once. */
void cpu_split_move_command(const struct cpu_split *c, pid_t command);
/* The command, first thing: it may have run before the relay could move it. */
void cpu_split_leave_relay(const struct cpu_split *c);
/* The command, after the cgroup join and before exec. */
void cpu_split_restore(const struct cpu_split *c);
