/* A kubeconfig (src/kube/kubeconfig*.c): YAML parsed from memory and turned into a config,
 * with credentials left unresolved (no tokenFile read, no plugin run). */
#include "fuzz.h"

#include "common/err.h"
#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_config_opts opts = { .skip_credentials = true };
	struct kube_config *cfg = NULL;
	struct cntr_err err;

	if (kube_config_load_buffer("/fuzz/kubeconfig", fuzz_guarded(data, size), size, &opts, &cfg, &err) == 0)
		kube_config_free(cfg);
	return 0;
}
