#include "vm_runtime.h"

#include <string.h>

static const struct {
	const char *program;  /* exact name, or a prefix when it ends with '*' */
	const char *runtime;
} vm_programs[] = {
	{ "qemu-system-*", "a QEMU VM (Kata Containers)" },
	{ "qemu-kvm", "a QEMU VM (Kata Containers)" },
	{ "containerd-shim-kata-v2", "the Kata Containers shim" },
	{ "kata-runtime", "Kata Containers" },
	{ "firecracker", "a Firecracker microVM" },
	{ "jailer", "a Firecracker microVM" },
	{ "cloud-hypervisor", "a Cloud Hypervisor VM" },
	{ "crosvm", "a crosvm VM" },
	{ "runsc*", "a gVisor sandbox (runsc)" },
	{ "containerd-shim-runsc-v1", "the gVisor shim" },
};

const char *vm_runtime_of(const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	base = base ? base + 1 : argv0;
	if (!base || !*base)
		return NULL;
	for (size_t i = 0; i < sizeof(vm_programs) / sizeof(vm_programs[0]); i++) {
		const char *p = vm_programs[i].program;
		size_t n = strlen(p);
		if (p[n - 1] == '*' ? strncmp(base, p, n - 1) == 0 : strcmp(base, p) == 0)
			return vm_programs[i].runtime;
	}
	return NULL;
}
