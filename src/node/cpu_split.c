#include "cpu_split.h"

#include "common/log.h"

#include <errno.h>
#include <string.h>

void cpu_split_prepare(struct cpu_split *c)
{
	c->active = false;
	if (sched_getaffinity(0, sizeof(c->all), &c->all) < 0 || CPU_COUNT(&c->all) < 2)
		return;
	c->relay_cpu = sched_getcpu();
	if (c->relay_cpu < 0 || c->relay_cpu >= CPU_SETSIZE)
		return;
	c->others = c->all;
	CPU_CLR(c->relay_cpu, &c->others);
	c->active = CPU_COUNT(&c->others) > 0;
}

/* Best effort, like every step here: a failure only costs the parallelism. */
void cpu_split_move_command(const struct cpu_split *c, pid_t command)
{
	if (c->active && sched_setaffinity(command, sizeof(c->others), &c->others) < 0)
		log_debug("cpu split: move the command off the relay's CPU: %s", strerror(errno));
}

void cpu_split_leave_relay(const struct cpu_split *c)
{
	if (c->active && sched_getcpu() == c->relay_cpu)
		sched_setaffinity(0, sizeof(c->others), &c->others);
}

void cpu_split_restore(const struct cpu_split *c)
{
	/* The kernel intersects the mask with the cpuset the command has joined. */
	if (c->active && sched_setaffinity(0, sizeof(c->all), &c->all) < 0)
		log_debug("cpu split: give the command cntr's CPU mask back: %s", strerror(errno));
}
