/* Targets cntr cannot enter: a container that runs inside a VM (Kata Containers, Firecracker,
 * Cloud Hypervisor...) or under a user-space kernel (gVisor) has no namespaces on the node; the
 * process a container ID or PID leads to is the VM monitor or the sandbox, and attaching to it
 * would debug the wrong thing. Recognised by the program name (argv[0]'s last component). */
#pragma once

/* "Kata Containers / QEMU VM", "gVisor sandbox"... for a VM monitor or sandbox program name,
 * else NULL. Pure: unit-tested. */
const char *vm_runtime_of(const char *argv0);
