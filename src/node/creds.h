/* The target's identity for the command: uid/gid/groups, capability sets, securebits,
 * no_new_privs. Raw syscalls (capset, prctl): Debian's libcap does not link with musl. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct cntr_err;
struct target;

struct cap_sets {
	uint64_t bnd, prm, eff, inh, amb;
};

/* What execve will give the command when it runs with `uid` and these sets in the caller
 * (no file capabilities). noroot: SECBIT_NOROOT is set. Pure: unit-tested. */
struct cap_sets caps_after_exec(const struct cap_sets *caller, uint32_t uid, bool noroot);

/* Changes to the target's identity asked for on purpose (--cap-add, --cap-drop, --profile). */
struct cap_change {
	uint64_t add;       /* on top of the target's sets (after drop) */
	uint64_t drop;      /* taken from every set; ~0: all */
	bool no_new_privs;  /* set it even when the target runs without */
};

/* Plan the caller's sets (and whether to set SECBIT_NOROOT) so that after execve the command
 * has the target's sets minus change->drop plus change->add, or fewer when the kernel rules
 * make equality impossible (never more). Pure: unit-tested. */
struct cap_plan {
	struct cap_sets caller;
	bool noroot;
	bool exact;  /* false: the command gets fewer caps than the target (reported with -v) */
};
struct cap_plan plan_capabilities(const struct cap_sets *target, uint32_t uid, const struct cap_change *change);

/* "SYS_PTRACE" / "CAP_SYS_PTRACE" / "sys_ptrace" -> bit number, -1 if unknown. */
int cntr_cap_from_name(const char *name);

/* Narrow the calling process's capability bounding set to the one the command gets (one
 * prctl per capability dropped). It limits only what a later exec can gain: done before the
 * "go", while the relay still works (session.c). */
int apply_target_bounding_set(const struct target *t, const struct cap_change *change, struct cntr_err *err);

/* Switch the calling process (still root with full capabilities, its bounding set already
 * narrowed) to the target's identity. Called last before exec, after every namespace is
 * joined. */
int apply_target_credentials(const struct target *t, const struct cap_change *change, struct cntr_err *err);

/* Does the caller have what attaching needs (CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_CHROOT)? */
int check_privileges(struct cntr_err *err);
