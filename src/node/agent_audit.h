/* The agent's log as a node's session log (issue 8, "Audit"; docs/broker.md step 8).
 *
 * The DaemonSet agent's main process (`cntr agent idle`) publishes its pid in a directory of
 * its own (LAMBDA_CNTR_RUN_DIR: deploy/ sets /run/lambda-cntr, an emptyDir; unset, as in
 * agent-pod mode, nothing is published). A session the broker
 * starts in that agent (`env LAMBDA_CNTR_AUDIT=<who, what, profile, broker> cntr attach ...`)
 * writes one line to the agent's stdout (its container log) when it starts and one when it
 * ends, so a node's sessions can be read from its agent alone:
 *   lambda-cntr agent: audit: session started: <LAMBDA_CNTR_AUDIT>
 *   lambda-cntr agent: audit: session ended: <LAMBDA_CNTR_AUDIT>: exit status 3 after 1.2s
 * Best effort by design: a session never fails or waits because of its audit line (one warning
 * per session says why a line could not be written; the session's user sees it on stderr). */
#pragma once
#include <stddef.h>
#include <time.h>

struct cntr_err;

#define AGENT_AUDIT_ENV "LAMBDA_CNTR_AUDIT"
#define AGENT_RUN_DIR_ENV "LAMBDA_CNTR_RUN_DIR"
#define AGENT_PIDFILE_NAME "agent.pid"

/* The agent's side: write this process's pid to RUN_DIR/agent.pid (a temporary file renamed
 * over it, so a reader sees a whole pid or the previous file); 0 without doing anything when
 * LAMBDA_CNTR_RUN_DIR is not set. -1 with err. */
int agent_audit_publish_pid(struct cntr_err *err);

/* The session's side. what: LAMBDA_CNTR_AUDIT, NULL when the session is not to be recorded. */
struct agent_audit {
	const char *what;
	struct timespec started;
	unsigned warned;  /* warnings given: one per session is enough */
};

/* Read LAMBDA_CNTR_AUDIT and, when set, write the "session started" line. */
void agent_audit_session_started(struct agent_audit *a);

/* The "session ended" line: exit status, and cntr's own failure when failure is not NULL. */
void agent_audit_session_ended(struct agent_audit *a, int exit_status, const char *failure);

/* The line as written (without its newline): "lambda-cntr agent: audit: ", event, what, then
 * outcome (may be NULL), with '\\' and control characters escaped (\\, \xNN). what is cut
 * at AGENT_AUDIT_WHAT_MAX bytes and the whole at out_size - 1, each with "..." where it was cut,
 * so that the line and its newline fit in one write() a pipe keeps whole (PIPE_BUF). out_size is
 * at least AGENT_AUDIT_LINE_MIN. Exposed for the unit test. */
#define AGENT_AUDIT_WHAT_MAX 2048
#define AGENT_AUDIT_LINE_MIN 256
void agent_audit_format(char *out, size_t out_size, const char *event, const char *what, const char *outcome);
