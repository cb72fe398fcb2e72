/* The seccomp profile chosen with --seccomp-profile: the built-in default, a cntr BPF file
 * (precompiled by cntr-seccomp), or a Docker/OCI JSON profile (compiled by cntr-seccomp at run
 * time). It is installed on top of the target's own filters (docs/capsules.md). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "seccomp_program.h"

struct cntr_err;

struct seccomp_choice {
	char *what;          /* "default" or the file's path, for messages */
	struct cntr_bpf prog; /* compiled for prog.caps_assumed */
	char *json;          /* the profile's text, to recompile for other capabilities; NULL: .bpf */
	size_t json_len;
};

/* A file: a cntr BPF file (by its magic) or a JSON profile, compiled here for a capsule
 * holding none of the capabilities the profile names. */
int seccomp_choice_load_file(const char *path, struct seccomp_choice *out, struct cntr_err *err);
/* The built-in profile from its embedded bytes. */
int seccomp_choice_load_builtin(const void *bpf, size_t bpf_size, const char *json, size_t json_len,
				struct seccomp_choice *out, struct cntr_err *err);
/* The program for a session whose bounding set is bnd: the loaded one when its capability
 * assumptions hold, else (JSON only) a fresh compile into *fresh, released by the caller. */
int seccomp_choice_program(const struct seccomp_choice *c, uint64_t bnd, struct cntr_bpf *fresh,
			   const struct cntr_bpf **use, struct cntr_err *err);
void seccomp_choice_release(struct seccomp_choice *c);

/* Runs cntr-seccomp (next to cntr's own binary, else on PATH) to compile json for a capsule
 * holding caps. Its one-line error becomes err. */
int seccomp_tool_compile(const char *json, size_t len, const char *what, uint64_t caps, struct cntr_bpf *out,
			 struct cntr_err *err);
