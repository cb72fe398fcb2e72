/* Copying the target's seccomp filters (the default; --no-seccomp opts out). Reading them
 * needs a brief ptrace stop of the target (PTRACE_SECCOMP_GET_FILTER, kernel >= 4.4 with
 * CONFIG_CHECKPOINT_RESTORE). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cntr_err;
struct sock_filter;

struct seccomp_filters {
	struct {
		struct sock_filter *insns;
		unsigned short len;
	} *progs;       /* oldest first: the order to install them in */
	size_t n;
};

int seccomp_read_filters(pid_t pid, struct seccomp_filters *out, struct cntr_err *err);
/* Install in the calling process (needs no_new_privs or CAP_SYS_ADMIN). */
int seccomp_install_filters(const struct seccomp_filters *f, struct cntr_err *err);
void seccomp_filters_release(struct seccomp_filters *f);
/* Replace program i by an equivalent one the kernel installs faster, where that works
 * (filter_rewrite.h: Docker's default filter installs in ~0.1 ms instead of ~1 ms); else it
 * stays as it is. */
void seccomp_filter_compact(struct seccomp_filters *f, size_t i);

/* Append a copy of a program to f, installed after the others (a --seccomp-profile, or a
 * filter the relay sends to the command). */
int seccomp_filters_append(struct seccomp_filters *f, const struct sock_filter *insns, unsigned len,
			   struct cntr_err *err);
