/* /proc/PID/stat fields the resolvers need: the parent (a container's init is the process
 * whose parent is outside its cgroup) and the start time (a PID's identity over time). */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

/* PPid and start time (field 22, clock ticks since boot). Returns 0 or -1 with errno. */
int proc_stat_read(pid_t pid, pid_t *ppid, unsigned long long *start_time);

/* The state letter (field 3: R, S, D, Z, X...) of pid in cntr's own /proc, or 0 when gone;
 * *exiting (may be NULL) is set when the kernel's PF_EXITING flag (field 9) is: a pid
 * namespace's init stays in that state until every other process of the namespace is gone. */
char proc_stat_state(pid_t pid, bool *exiting);
