/* vm_runtime_of: which program names are VM monitors or sandboxes cntr cannot enter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "node/vm_runtime.h"

static void test_vm_monitors_and_sandboxes_are_named(void **state)
{
	assert_non_null(strstr(vm_runtime_of("/usr/bin/qemu-system-x86_64"), "QEMU"));
	assert_non_null(strstr(vm_runtime_of("qemu-system-aarch64"), "QEMU"));
	assert_non_null(strstr(vm_runtime_of("/opt/kata/bin/firecracker"), "Firecracker"));
	assert_non_null(strstr(vm_runtime_of("runsc-sandbox"), "gVisor"));
	assert_non_null(strstr(vm_runtime_of("/usr/local/bin/runsc"), "gVisor"));
	assert_non_null(strstr(vm_runtime_of("containerd-shim-kata-v2"), "Kata"));
}

static void test_ordinary_programs_are_not(void **state)
{
	assert_null(vm_runtime_of("/bin/sleep"));
	assert_null(vm_runtime_of("qemu-img"));
	assert_null(vm_runtime_of("/usr/bin/firecracker-helper"));
	assert_null(vm_runtime_of("/usr/bin/"));
	assert_null(vm_runtime_of(""));
	assert_null(vm_runtime_of(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_monitors_and_sandboxes_are_named),
		cmocka_unit_test(test_ordinary_programs_are_not),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
