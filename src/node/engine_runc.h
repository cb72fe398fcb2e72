/* Plain runc's state directory: /run/runc/ID/state.json holds the init PID. runc IDs are any
 * name the user chose ("mytest"), so this is how such containers are listed and found. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Init PID of runc container id, or 0 when unknown or not running. */
pid_t runc_find(const char *id);

typedef void (*runc_container_fn)(const char *id, pid_t pid, void *ctx);
void runc_for_each(runc_container_fn fn, void *ctx);

/* init_process_pid from a state.json text, or 0. */
pid_t runc_state_init_pid(const char *state_json);
