/* The built-in `default` seccomp profile (profiles/default.json), compiled at build time by
 * cntr-seccomp into a cntr BPF file and embedded with its JSON text, which cntr recompiles
 * from when a capsule holds a capability the profile's rules depend on. Defined by the
 * generated file linked into the cntr executable only (see CMakeLists.txt). */
#pragma once
#include <stddef.h>

extern const unsigned char cntr_builtin_profile_bpf[];
extern const size_t cntr_builtin_profile_bpf_size;
extern const unsigned char cntr_builtin_profile_json[];
extern const size_t cntr_builtin_profile_json_size;
