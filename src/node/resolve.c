/* TARGET -> container init PID: each enabled resolver in the table's order (resolve_types.c),
 * the first that recognises the target wins. */
#include "resolve_internal.h"
#include "proc_stat.h"

#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void append_tried(char *tried, size_t size, const char *name)
{
	size_t used = strlen(tried);
	snprintf(tried + used, size - used, "%s%s", used ? ", " : "", name);
}

static int fail_not_found(const char *target, const char *tried, struct cntr_err *err)
{
	uint64_t pid;

	if (parse_u64(target, &pid) == 0 && strstr(tried, "pid"))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "no process has PID %s and no container matches it (tried: %s); "
				 "run `cntr list` to see what is visible", target, tried);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "no container or process matches '%s' (tried: %s); run `cntr list` to "
			 "see what is visible", target, tried);
}

int resolve_host(struct container_ref *out, struct cntr_err *err)
{
	pid_t ppid;

	memset(out, 0, sizeof(*out));
	out->pid = 1;
	snprintf(out->runtime, sizeof(out->runtime), "host");
	if (proc_stat_read(1, &ppid, &out->start_time) < 0)
		return cntr_fail_errno(err, "read /proc/1/stat (the host's init)");
	return 0;
}

int resolve_target(const char *target, unsigned types, struct container_ref *out,
		   struct cntr_err *err)
{
	char tried[256] = "";

	if (!target || !*target)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0,
				 "empty target; give a PID, a container ID or a name");
	for (size_t i = 0; i < n_resolvers; i++) {
		int r;
		if (!(types & resolvers[i].type))
			continue;
		append_tried(tried, sizeof(tried), resolvers[i].name);
		log_debug("resolve: trying '%s' as %s", target, resolvers[i].name);
		r = resolvers[i].resolve(target, out, err);
		if (r < 0)
			return -1;
		if (r == RESOLVE_FOUND) {
			pid_t ppid;
			/* Engines hand out a PID only: its start time now is what the session checks. */
			if (!out->start_time && proc_stat_read(out->pid, &ppid, &out->start_time) < 0)
				return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
						 "'%s' resolved to pid %d, which has exited", target, (int)out->pid);
			log_info("resolve: '%s' -> pid %d (%s%s%s)", target, (int)out->pid,
				 out->runtime, out->id[0] ? " " : "", out->id);
			return 0;
		}
	}
	return fail_not_found(target, tried, err);
}
