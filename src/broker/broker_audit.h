/* Audit: every session is recorded as two core/v1 Events on the target (DebugSessionStarted,
 * DebugSessionEnded), as two lines in the broker's log, and as two lines in the log of the agent
 * that runs it (cntr writes them: node/agent_audit.h, given the line below). Pure: the Event
 * objects and the messages. */
#pragma once
#include <jansson.h>

#define BROKER_COMPONENT "lambda-cntr-broker"

struct broker_session_info {
	const char *user;
	const char *ns;          /* the target's namespace, NULL for a node */
	const char *pod;         /* the pod, NULL for a node */
	const char *pod_uid;     /* may be NULL */
	const char *node;
	const char *container;   /* NULL for a node */
	const char *profile;
};

/* `user "alice" attached to container "app" with profile "general"` (for a node: `... attached
 * to node "n1" ...`). malloc'd. */
char *broker_audit_start_message(const struct broker_session_info *s);
/* The start message's subject, then `ended: exit status N after 12.3s` (or `ended without an
 * exit status (why) after ...`). exit_status < 0 = none. malloc'd. */
char *broker_audit_end_message(const struct broker_session_info *s, int exit_status, const char *why,
			       double seconds);

/* What the agent's log says of the session (LAMBDA_CNTR_AUDIT for cntr, which adds the start,
 * the end and the exit status): `user "alice" on pod "ns1/web" container "app" with profile
 * "general", broker "BROKER-POD"` (for a node: `... on node "n1" with ...`). malloc'd. */
char *broker_audit_agent_line(const struct broker_session_info *s, const char *instance);

/* A capsule run, per target pod (CapsuleRunStarted, CapsuleRunEnded):
 * `user "alice" started capsule image "I" in container "app" with profile "general"`, and
 * `capsule run of user "alice" (image "I") in container "app" ended: the node's run exited N
 * after 1.2s` (the exit status of `cntr capsule run` over all the node's targets; each target's
 * own is in the output the user gets). malloc'd. */
char *broker_audit_capsule_start_message(const struct broker_session_info *s, const char *image);
char *broker_audit_capsule_end_message(const struct broker_session_info *s, const char *image, int exit_status,
				       const char *why, double seconds);

/* A core/v1 Event on the pod (or the Node) with reason, type Normal, message, source and
 * reportingComponent lambda-cntr-broker, eventTime-free (firstTimestamp/lastTimestamp = now). */
json_t *broker_audit_event(const struct broker_session_info *s, const char *reason, const char *message,
			   const char *reporting_instance);
