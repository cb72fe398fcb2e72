/* Docker/OCI seccomp profiles (JSON) translated into rules for libseccomp: the part of
 * cntr-seccomp that decides what a profile means, kept apart from compiling it so the meaning
 * is unit-tested (tests/unit/test_seccomp_profile.c). Format: docs/capsules.md. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct cntr_err;

/* What the profile's includes/excludes are evaluated against. */
struct oci_seccomp_env {
	uint64_t caps;          /* the capsule's bounding set (includes/excludes.caps) */
	const char *goarch;     /* Docker's name of this machine ("amd64", "arm64"): .arches */
	unsigned kernel_major;  /* the kernel the program is for: .minKernel */
	unsigned kernel_minor;
	uint32_t native_arch;   /* SCMP_ARCH_* of this machine: picks the archMap entry */
};

struct oci_seccomp_arg {
	unsigned index;
	uint64_t value;
	uint64_t value_two;
	int op;                 /* enum scmp_compare */
};

struct oci_seccomp_rule {
	char *name;
	int nr;                 /* libseccomp's number (negative: a call of another architecture) */
	uint32_t action;        /* SCMP_ACT_* with its errno/trace value */
	struct oci_seccomp_arg *args;
	size_t nargs;
};

#define OCI_SECCOMP_MAX_ARCHES 16

struct oci_seccomp_profile {
	uint32_t default_action;
	uint32_t arches[OCI_SECCOMP_MAX_ARCHES]; /* besides the native one */
	size_t narches;
	struct oci_seccomp_rule *rules;           /* only those that apply in env */
	size_t nrules;
	uint64_t caps_considered;                 /* every capability includes/excludes name */
	char **skipped;                           /* allowed names libseccomp does not know: they
						   * keep the default action (NULL-terminated) */
	size_t nskipped;
};

/* Parse and evaluate a profile. what names it in messages ("FILE: syscalls[3]: ..."). Unknown
 * actions, operators, architectures and capabilities are errors; so are system call names
 * libseccomp does not know, except in allow rules of a profile that denies by default (they
 * are left out, listed in skipped: the call stays denied). */
int oci_seccomp_parse(const char *text, size_t len, const char *what, const struct oci_seccomp_env *env,
		      struct oci_seccomp_profile *out, struct cntr_err *err);
void oci_seccomp_release(struct oci_seccomp_profile *p);

/* The running machine: native arch, its Docker name, uname's kernel version. */
int oci_seccomp_env_native(struct oci_seccomp_env *env, struct cntr_err *err);
