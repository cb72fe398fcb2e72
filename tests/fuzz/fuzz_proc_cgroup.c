/* /proc/PID/cgroup (src/node/proc_cgroup.c): v1, v2 and hybrid lines; paths are the
 * container's choice (cgroup names). */
#include "fuzz.h"

#include "common/err.h"
#include "node/proc_cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	struct cgroup_list list = { 0 };
	struct cntr_err err;

	if (proc_cgroup_parse(text, &list, &err) == 0) {
		const struct cgroup_entry *u = cgroup_list_unified(&list);
		if (u && (u->hierarchy_id != 0 || !u->path))
			abort();
		for (size_t i = 0; i < list.n; i++)
			if (!list.entries[i].controllers || !list.entries[i].path)
				abort();
	}
	cgroup_list_release(&list);
	return 0;
}
