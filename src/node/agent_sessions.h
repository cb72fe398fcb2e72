/* The sessions a lambda-cntr agent pod runs (docs/design.md §3): every `cntr` process whose
 * environment carries LAMBDA_CNTR_AGENT=<this agent>; LAMBDA_CNTR_SESSION=<id> says whose
 * session it is. The agent's own programs (`cntr agent ...`) are not sessions. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum agent_session_filter {
	AGENT_SESSIONS_OF,      /* only session `id` */
	AGENT_SESSIONS_NOT_OF,  /* every session but `id` ("" : all) */
};

/* PIDs of the matching sessions of agent `agent` (at most max). Returns how many. */
size_t agent_sessions_find(const char *agent, enum agent_session_filter filter, const char *id, pid_t *pids,
			   size_t max);

/* Whether an environment block ("K=V\0K=V\0...", len bytes) has exactly KEY=VALUE. Pure. */
bool agent_environ_has(const char *env, size_t len, const char *key, const char *value);
