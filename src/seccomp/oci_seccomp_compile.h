/* A translated profile (oci_seccomp.h) compiled by libseccomp into one BPF program for this
 * machine's architecture and the profile's other ones. */
#pragma once

struct cntr_bpf;
struct cntr_err;
struct oci_seccomp_profile;

/* what names the profile in messages. out->arch is the native one; the caps fields are left to
 * the caller. */
int oci_seccomp_compile(const struct oci_seccomp_profile *p, const char *what, struct cntr_bpf *out,
			struct cntr_err *err);
