/* Identifiers from the API are data (DESIGN.md §5): checked before lambda-cntr uses them on a
 * command line or prints them.
 *
 * Container IDs. status.*ContainerStatuses[].containerID
 * is "<runtime>://<id>"; what lambda-cntr hands to `cntr attach -t id` must be a container ID
 * and nothing else: "containerd://1" would otherwise name PID 1 of the hostPID agent (the
 * node), and "containerd://-v" an option. */
#pragma once
#include <stdbool.h>

/* 64 lowercase hex digits: what containerd, CRI-O and docker (cri-dockerd) report. */
bool lambda_container_id_is_valid(const char *id);

/* Split "containerd://<id>", "cri-o://<id>" or "docker://<id>" into *runtime and *id
 * (malloc'd). -1 (nothing allocated) when the runtime is not one of those or the id is not
 * valid. */
int lambda_container_id_parse(const char *url, char **runtime, char **id);

/* An object name as the API validates it (RFC 1123 subdomain: at most 253 characters of
 * [a-z0-9.-], starting and ending with a letter or digit): pods, namespaces, nodes and
 * container names are all of this form on a real API server. */
bool lambda_object_name_is_valid(const char *name);
