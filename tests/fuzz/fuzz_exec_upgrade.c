/* The API server's answer to the exec WebSocket upgrade (src/kube/exec_upgrade.c): the
 * response head, its check against our key, and a refusal's (possibly chunked) body. */
#include "fuzz.h"

#include <stdbool.h>

#include "common/err.h"
#include "kube/exec_upgrade.h"

/* The key the seed responses' Sec-WebSocket-Accept was computed for (RFC 6455's example). */
static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The parser gets a buffer and a length, never a terminator: nothing may be read after it. */
	const char *buf = fuzz_guarded(data, size);
	struct kube_upgrade_response resp = { 0 };
	struct cntr_err err;

	if (kube_upgrade_response_parse(buf, size, &resp, &err) == 1) {
		int version;
		kube_upgrade_response_check(&resp, key, &version, &err);
		for (int closed = 0; closed <= 1; closed++) {
			char *body = NULL;
			size_t len;
			if (kube_upgrade_error_body(&resp, buf + resp.head_len, size - resp.head_len, closed,
						    &body, &len) == 1) {
				if (body[len] != '\0')
					abort();
				free(body);
			}
		}
	}
	kube_upgrade_response_clear(&resp);
	return 0;
}
