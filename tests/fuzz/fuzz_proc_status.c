/* /proc/PID/status (src/node/proc_status.c): the Name line is the target's choice. */
#include "fuzz.h"

#include "common/err.h"
#include "node/proc_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	struct proc_status st;
	struct cntr_err err;

	memset(&st, 0, sizeof(st));
	if (proc_status_parse(text, &st, &err) == 0 && memchr(st.name, '\0', sizeof(st.name)) == NULL)
		abort(); /* the name must stay terminated */
	proc_status_release(&st);
	return 0;
}
