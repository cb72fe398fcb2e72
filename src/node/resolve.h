/* TARGET (PID, container ID or prefix, name) -> the PID of the container's init process.
 * Order: numeric PID -> container ID (cgroup scan of /proc) -> names through each engine. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cntr_err;

enum resolver_type {
	RESOLVE_PID = 1u << 0,
	RESOLVE_ID = 1u << 1,
	RESOLVE_DOCKER = 1u << 2,
	RESOLVE_PODMAN = 1u << 3,
	RESOLVE_CONTAINERD = 1u << 4,
	RESOLVE_CRIO = 1u << 5,
	RESOLVE_NSPAWN = 1u << 6,
	RESOLVE_LXC = 1u << 7,
	RESOLVE_COMMAND = 1u << 8,  /* substring of a command line; only when asked for */
};
/* Default set: everything but RESOLVE_COMMAND. */
#define RESOLVE_DEFAULT (RESOLVE_PID | RESOLVE_ID | RESOLVE_DOCKER | RESOLVE_PODMAN | \
			 RESOLVE_CONTAINERD | RESOLVE_CRIO | RESOLVE_NSPAWN | RESOLVE_LXC)

struct container_ref {
	pid_t pid;
	char runtime[32];   /* "pid", "runc", "docker", "podman", "containerd", "crio", ... */
	char id[128];       /* full container ID when known, else "" */
	char name[256];     /* name when known, else "" */
	unsigned long long start_time; /* of pid when resolved (clock ticks since boot): lets the
					* session reject a PID reused since; 0 = unknown */
};

/* "pid,id,docker" -> mask. Unknown word: usage error (code 2) naming it and the valid list. */
int resolver_types_parse(const char *list, unsigned *mask, struct cntr_err *err);

/* --host: the init of cntr's own pid namespace (the node, when cntr runs on it or in a hostPID
 * agent pod). */
int resolve_host(struct container_ref *out, struct cntr_err *err);

/* Resolve target. Not found -> 125 "no container or process matches 'X' (tried: ...)";
 * ambiguous -> 125 listing the candidates. */
int resolve_target(const char *target, unsigned types, struct container_ref *out,
		   struct cntr_err *err);

struct container_list {
	struct container_ref *items;
	size_t n;
};

/* Every container the enabled resolvers can see (for `cntr list`). */
int list_containers(unsigned types, struct container_list *out, struct cntr_err *err);
void container_list_release(struct container_list *l);
