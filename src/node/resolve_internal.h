/* Shared by the resolvers (resolve_*.c, engine_*.c) and `cntr list` (list*.c). */
#pragma once
#include "resolve.h"

struct cntr_err;

/* Each resolver answers: RESOLVE_FOUND (out filled), RESOLVE_NO_MATCH (try the next one), or -1
 * with err filled (ambiguous, or a failure the user must see). An engine that is absent is a
 * no-match, logged with log_skip. */
enum { RESOLVE_NO_MATCH = 0, RESOLVE_FOUND = 1 };

typedef int (*resolver_fn)(const char *target, struct container_ref *out, struct cntr_err *err);

int resolve_by_pid(const char *target, struct container_ref *out, struct cntr_err *err);
int resolve_by_id(const char *target, struct container_ref *out, struct cntr_err *err);
int resolve_by_docker(const char *target, struct container_ref *out, struct cntr_err *err);
int resolve_by_podman(const char *target, struct container_ref *out, struct cntr_err *err);
int resolve_by_containerd(const char *target, struct container_ref *out, struct cntr_err *err);
int resolve_by_crio(const char *target, struct container_ref *out, struct cntr_err *err);
int resolve_by_nspawn(const char *target, struct container_ref *out, struct cntr_err *err);
int resolve_by_lxc(const char *target, struct container_ref *out, struct cntr_err *err);
int resolve_by_command(const char *target, struct container_ref *out, struct cntr_err *err);

/* The resolvers in resolution order: type bit, its -t word, its function. */
struct resolver {
	unsigned type;
	const char *name;
	resolver_fn resolve;
};
extern const struct resolver resolvers[];
extern const size_t n_resolvers;

/* True when /proc/PID exists (the process is alive or a zombie). */
bool pid_exists(pid_t pid);
