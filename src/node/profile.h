/* Session profiles (--profile), the named sets of deliberate changes to the target's identity
 * that lambda-cntr and a broker can offer and allow per namespace. "general" is the target's
 * own identity, the others take away or add exactly what their name says. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct cap_change;

struct session_profile {
	const char *name;
	uint64_t add;          /* capabilities on top of the target's */
	bool drop_all;         /* no capability at all (before add) */
	bool no_new_privs;
	bool default_seccomp;  /* cntr's built-in seccomp profile on top of the target's filters */
	const char *summary;   /* one line for --help and -v */
};

/* NULL when unknown. */
const struct session_profile *session_profile_find(const char *name);
/* "general, restricted, netadmin, sysadmin" (static). */
const char *session_profile_names(void);
/* Fold a profile into the change asked for on the command line. */
void session_profile_apply(const struct session_profile *p, struct cap_change *change);
