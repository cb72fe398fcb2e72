/* How each runtime names a container's cgroup: the container ID is the last path component,
 * optionally decorated ("libpod-ID", "docker-ID.scope", "cri-containerd-ID.scope",
 * "crio-ID.scope", "crio-conmon-ID.scope" is NOT the container). One table, used by the
 * resolver and by `cntr list`. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Shortest hex prefix accepted for a container ID. */
#define CONTAINER_ID_MIN_PREFIX 6

struct cgroup_id_pattern {
	const char *prefix;   /* "docker-" */
	const char *suffix;   /* ".scope" */
	const char *runtime;  /* "docker" */
};

/* Extract the container ID from one cgroup path's last component. On success copies the bare
 * ID into id: a decorated component with >= 12 lowercase hex chars, or an undecorated one of
 * exactly 64 (shorter bare hex names are too often session/service cgroups). The runtime
 * guess ("docker", "podman", "containerd", "crio", or NULL when undecorated) goes into
 * *runtime (runtime may be NULL). Returns true on match. */
bool cgroup_path_container_id(const char *path, char *id, size_t id_size, const char **runtime);

/* True when the last component of path names the container `query` exactly or, when query
 * is a hex prefix of >= 6 chars, by prefix. Whole components only ("abc" never matches
 * "xabc"). */
bool cgroup_path_matches_id(const char *path, const char *query, bool allow_prefix);
