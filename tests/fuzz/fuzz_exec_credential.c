/* An exec credential plugin's stdout (src/kube/exec_credential.c). */
#include "fuzz.h"

#include "common/err.h"
#include "kube/exec_credential.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = { "client.authentication.k8s.io/v1",
						"client.authentication.k8s.io/v1beta1" };
	struct kube_exec_credential cred = { 0 };
	struct cntr_err err;

	kube_exec_credential_parse(fuzz_guarded(data, size), size, versions[size % 2], "fuzz-plugin", &cred, &err);
	kube_exec_credential_clear(&cred);
	return 0;
}
