/* /proc/PID/mountinfo of a target (src/node/mountinfo.c): the target controls its mount
 * points' names, hence escapes and odd fields. */
#include "fuzz.h"

#include "common/err.h"
#include "node/mountinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	struct mount_table t = { 0 };
	struct cntr_err err;

	if (mountinfo_parse(text, &t, &err) == 0) {
		for (size_t i = 0; i < t.n; i++) {
			const struct mount_entry *e = &t.entries[i];
			if (!e->root || !e->mount_point || !e->mount_options || !e->optional || !e->fstype ||
			    !e->source || !e->super_options)
				abort(); /* every field is a string once parsed */
			mount_table_find(&t, e->mount_point);
		}
		mount_table_find(&t, "/");
	}
	mount_table_release(&t);
	return 0;
}
