/* --seccomp-profile for cntr attach/exec and cntr capsule run. */
#pragma once
#include <stdbool.h>

struct cntr_err;
struct session_opts;
struct seccomp_choice;

/* SPEC: "unconfined" (no filter at all: the target's are not copied either), "target" (only
 * the target's filters), "default" (the built-in profile on top of them), or a file: a JSON
 * profile or a cntr BPF file. Fills opts (copy_seccomp, seccomp_profile -> choice). */
int cntr_seccomp_profile_apply(const char *spec, struct session_opts *opts, struct seccomp_choice *choice,
			       struct cntr_err *err);
