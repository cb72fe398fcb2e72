/* The target's AppArmor profile or SELinux label, applied to the command on exec, only when
 * the host has that LSM active; otherwise skipped with a -v note. */
#pragma once
#include <stddef.h>

struct cntr_err;
struct target;

enum lsm_kind { LSM_NONE, LSM_APPARMOR, LSM_SELINUX };

/* "docker-default (enforce)" -> "docker-default"; "unconfined" -> NULL (nothing to apply).
 * Pure: unit-tested. Returns a pointer into buf (modified in place). */
char *apparmor_profile_from_label(char *buf);

/* Which LSM (if any) confines processes on this host. */
enum lsm_kind detect_lsm(void);

/* What to write to /proc/self/attr/exec for the target's label under lsm ("exec PROFILE" for
 * AppArmor, the context for SELinux), or *request = NULL when there is nothing to apply. A
 * label that exists but could not be read fails: never run unconfined by accident. Pure. */
int lsm_exec_request(enum lsm_kind lsm, const struct target *t, char **request, struct cntr_err *err);

/* Arrange for the next execve to run under the target's label (/proc/self/attr/exec). */
int apply_target_lsm(const struct target *t, struct cntr_err *err);
