/* /proc/PID/stat fields the resolvers need: the parent (a container's init is the process
 * whose parent is outside its cgroup) and the start time (a PID's identity over time). */
#pragma once
#include <sys/types.h>

/* PPid and start time (field 22, clock ticks since boot). Returns 0 or -1 with errno. */
int proc_stat_read(pid_t pid, pid_t *ppid, unsigned long long *start_time);
