/* The small text parsers behind kubeconfig and exec credentials (src/kube/duration.c,
 * timestamp.c, base64.c): durations from the command line, RFC 3339 expiry times, `*-data`. */
#include "fuzz.h"

#include <stdbool.h>
#include <time.h>

#include "common/err.h"
#include "kube/base64.h"
#include "kube/duration.h"
#include "kube/kubeconfig.h"
#include "kube/timestamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	struct cntr_err err;
	uint64_t seconds;
	time_t when;
	unsigned char *decoded = NULL;
	size_t decoded_len;
	bool b;

	kube_parse_duration(text, &seconds, &err);
	kube_parse_rfc3339(text, &when);
	kube_parse_yaml_bool(text, &b);
	if (kube_base64_decode(text, size, &decoded, &decoded_len) == 0) {
		/* Decoding then encoding must give back the same bytes decoded again. */
		char *again = kube_base64_encode(decoded, decoded_len);
		unsigned char *round = NULL;
		size_t round_len;
		if (kube_base64_decode(again, strlen(again), &round, &round_len) < 0 || round_len != decoded_len ||
		    memcmp(round, decoded, decoded_len) != 0)
			abort();
		free(round);
		free(again);
		free(decoded);
	}
	return 0;
}
