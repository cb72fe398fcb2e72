/* Engines reached through their command-line tools (podman, machinectl, lxc-info, crictl). */
#pragma once

struct cntr_err;
struct container_ref;

/* Parse a tool's "PID [ID [NAME]]" answer into out (name defaults to target). PID 0 means
 * the container exists but is stopped: an error. Returns 0 or -1. */
int engine_cli_parse_answer(const char *output, const char *target, const char *runtime,
			    struct container_ref *out, struct cntr_err *err);

/* `podman ps` as "ID NAME" lines into *output (malloc'd). Returns 1 when it ran, 0 when
 * podman is absent or failed (logged), -1 on a hard error. */
int engine_podman_names(char **output, struct cntr_err *err);
