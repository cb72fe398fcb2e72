/* The exec protocol's channel 3 Status (src/kube/exec_status.c). */
#include "fuzz.h"

#include "common/err.h"
#include "kube/exec_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cntr_err err;
	int code = -1;

	if (kube_exec_status_exit_code(fuzz_guarded(data, size), size, &code, &err) == 0 && (code < 0 || code > 255))
		abort(); /* an exit status out of the shell's range */
	return 0;
}
