/* One cntr session: from a resolved PID to the command's exit status. Process layout:
 *   cntr (relay, stays in its own context; moves the command into the target's cgroups and
 *   relays its I/O) -> command (forked while the relay is in the target's pid ns for its
 *   children; joins the other namespaces, builds the mount view, waits for the cgroup move,
 *   drops credentials and execs). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "command.h"
#include "creds.h"
#include "namespaces.h"
#include "tools_tree.h"

struct cntr_err;
struct seccomp_choice;

struct session_opts {
	enum session_mode mode;
	const char *base_dir;   /* where the target's root appears (attach) */
	char *const *argv;      /* NULL/empty: default shell */
	struct cap_change caps; /* --cap-add, --cap-drop, --profile */
	bool copy_seccomp;      /* the target's filters (brief ptrace stop); off: --no-seccomp */
	const struct seccomp_choice *seccomp_profile; /* installed on top of the target's filters:
						       * --seccomp-profile, --profile restricted */
	struct tools_opts tools; /* attach: what the session's "/" is made of */
	char *const *extra_env; /* KEY=VALUE set over the command's environment (a capsule's image) */
	const char *workdir;    /* attach: the command's cwd instead of base_dir (a capsule's image) */
	unsigned share;         /* 0: join every namespace of the target; else only the kinds
				 * (1 << NS_x) set, and new private ones for the others (capsules) */
};

/* Returns the exit status cntr should end with (the command's, 128+N for a signal), or -1
 * with err filled when cntr itself failed. */
int run_session(pid_t pid, unsigned long long start_time, const struct session_opts *opts,
		struct cntr_err *err);
