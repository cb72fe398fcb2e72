/* Running one capsule over many targets (docs/capsules.md): each target's session in its own
 * child, at most `parallel` at once (1 = iterative, in the order given), its output prefixed
 * "[target] " line by line (stdout to stdout, stderr to stderr, like `kubectl logs --prefix`),
 * a per-target timeout, and a summary of exit statuses and durations. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct capsule_target {
	const char *ref;      /* as given on the command line */
	int status;           /* exit status (128+N for signal N); -1 when never started */
	bool timed_out;
	double seconds;
};

struct capsule_policy {
	unsigned parallel;    /* at most this many sessions at once (>= 1) */
	bool fail_fast;       /* start no more sessions once one has failed */
	long timeout_ms;      /* per target; 0: none */
};

/* Runs in each child with stdout/stderr already redirected: the session for one target.
 * Returns the exit status the child ends with. */
typedef int (*capsule_session_fn)(const char *target, void *ctx);

/* Returns the number of targets that did not succeed (not started, failed, timed out). */
size_t capsule_run_targets(struct capsule_target *targets, size_t n, const struct capsule_policy *policy,
			   capsule_session_fn session, void *ctx);

/* TARGET, EXIT, SECONDS: a header and one line per target. */
void capsule_print_summary(FILE *out, const struct capsule_target *targets, size_t n);
/* {"targets":[{"target":...,"exit":...,"timedOut":...,"seconds":...}],"failed":N} */
void capsule_print_json(FILE *out, const struct capsule_target *targets, size_t n);
