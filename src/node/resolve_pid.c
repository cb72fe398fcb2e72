/* TARGET as a numeric PID. */
#include "resolve_internal.h"

#include "common/log.h"
#include "common/strutil.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool pid_exists(pid_t pid)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

int resolve_by_pid(const char *target, struct container_ref *out, struct cntr_err *err)
{
	uint64_t pid;

	if (parse_u64(target, &pid) < 0 || pid == 0 || pid > INT32_MAX)
		return RESOLVE_NO_MATCH;
	if (!pid_exists((pid_t)pid)) {
		log_info("pid: no process %llu in this PID namespace", (unsigned long long)pid);
		return RESOLVE_NO_MATCH;
	}
	memset(out, 0, sizeof(*out));
	out->pid = (pid_t)pid;
	snprintf(out->runtime, sizeof(out->runtime), "pid");
	return RESOLVE_FOUND;
}
