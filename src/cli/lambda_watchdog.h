/* Undoing what a SIGKILLed lambda-cntr left behind. A session that changed a user's object (the
 * serverless keep-alive, lambda_keepalive.h) starts a watchdog: a child in its own session,
 * silent, that waits on a pipe. lambda-cntr writes one byte once it has cleaned up itself;
 * end of file without that byte means it died, and the watchdog does the cleanup in its place:
 * it ends the session's cntr in the agent and undoes the keep-alive. (The agent itself has no
 * API credentials, on purpose; a lost machine is covered by the next run's stale check.) */
#pragma once
#include <sys/types.h>

struct lambda_watchdog {
	pid_t pid;   /* 0: none */
	int fd;      /* the pipe's write end, -1 when none */
};

typedef void (*lambda_watchdog_fn)(void *ctx);

/* Start one; cleanup(ctx) runs in the child (with its own API connections) if lambda-cntr
 * dies first. Failure to start is only reported with -v: the next run's stale check remains. */
void lambda_watchdog_start(struct lambda_watchdog *w, lambda_watchdog_fn cleanup, void *ctx);

/* lambda-cntr cleaned up itself: the watchdog exits without doing anything. */
void lambda_watchdog_stand_down(struct lambda_watchdog *w);
