/* REST error bodies (src/kube/status.c): a Status object, or whatever a proxy sends instead. */
#include "fuzz.h"

#include "kube/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Bodies arrive with a length and no terminator. */
	const char *body = fuzz_guarded(data, size);
	char *msg;

	msg = kube_status_message(size ? 400 + data[0] : 500, body, size);
	/* One line, as promised to every caller that prints it. */
	if (!msg || strchr(msg, '\n') || strchr(msg, '\r'))
		abort();
	free(msg);
	return 0;
}
