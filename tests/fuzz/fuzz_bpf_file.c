/* cntr BPF files (src/node/seccomp_program.c): `--seccomp-profile FILE.bpf` is read by cntr
 * running as root from any path the user names. What parses must encode back to exactly the
 * input bytes (the format has no slack), and every instruction must have been read. */
#include "fuzz.h"

#include "common/err.h"
#include "node/seccomp_program.h"

#include <linux/filter.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *input = fuzz_guarded(data, size);
	struct cntr_bpf prog;
	struct cntr_err err;
	unsigned char *back = NULL;
	size_t back_size = 0;

	if (cntr_bpf_parse(input, size, "fuzz.bpf", &prog, &err) < 0) {
		if (prog.insns)
			abort(); /* nothing is handed out on failure */
		return 0;
	}
	if (prog.len == 0 || prog.len > CNTR_BPF_MAX_INSNS)
		abort();
	if (cntr_bpf_encode(&prog, &back, &back_size, &err) < 0 || back_size != size || memcmp(back, input, size))
		abort();
	free(back);
	cntr_bpf_release(&prog);
	return 0;
}
