/* One debug session from the request to the agent's exec: authorization (SubjectAccessReview,
 * profiles), the target (pod, container ID, node), the agent on that node, and the exec
 * WebSocket to it through the API server. What comes out is either a Status to answer with
 * (before any upgrade) or a relay ready to take over the client's upgraded connection. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "broker/broker.h"
#include "broker/broker_frontproxy.h"
#include "broker/broker_route.h"
#include "kube/ws_conn.h"

struct broker_session_request {
	const struct broker_route *route;
	const struct broker_identity *id;
	const char *container;    /* query container=, may be NULL */
	const char *profile;      /* query profile=, may be NULL (general) */
	const char *term;         /* query term=: the user's TERM for a tty session, may be NULL */
	char **command;           /* query command= values, NULL-terminated, never NULL */
	bool stdin_, stdout_, stderr_, tty;
	const char *protocols;    /* the client's Sec-WebSocket-Protocol offer, as sent */
};

/* Everything the relay needs and the audit records. */
struct broker_relay {
	struct broker *b;
	struct kube_ws_conn agent;   /* the exec to the agent, upgraded */
	char *user, *ns, *pod, *pod_uid, *node, *container, *profile, *agent_pod;
	double started;              /* monotonic seconds */
};

/* Returns the relay (agent connection open, start Event recorded) or NULL with *status set to the
 * Status object to answer with. */
struct broker_relay *broker_session_prepare(struct broker *b, const struct broker_session_request *req,
					    json_t **status);
void broker_relay_free(struct broker_relay *r);

/* The agent exec's path: pods/AGENT/exec?command=...&container=agent&stdin=..&stdout=..&stderr=..
 * &tty=.. (the client's stream flags as it asked). malloc'd. */
char *broker_agent_exec_path(const char *ns, const char *agent_pod, char *const argv[], bool in, bool out,
			     bool err, bool tty);

/* Record an audit Event (reason, message) for the session and the same line in the log. */
void broker_audit_record(struct broker_relay *r, const char *reason, const char *message);
