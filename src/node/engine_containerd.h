/* containerd's state directories: /run/containerd/io.containerd.runtime.v2.task/NS/ID/init.pid
 * (and the v1 shim's). The "name" of a containerd container is its ID, in any namespace. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

struct cntr_err;

/* Find the task `id` in every namespace. Returns 1 (ns and pid filled), 0 when absent, -1 when
 * several namespaces hold a live task of that ID (err lists them). */
int containerd_find_task(const char *id, char *ns, size_t ns_size, pid_t *pid,
			 struct cntr_err *err);

typedef void (*containerd_task_fn)(const char *ns, const char *id, pid_t pid, void *ctx);
/* Call fn for every task with a live init process. */
void containerd_for_each_task(containerd_task_fn fn, void *ctx);
