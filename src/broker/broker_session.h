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

struct broker_capsule_run;

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
	struct broker_capsule_run *capsule; /* a capsule run (broker_capsule.h), NULL for attach */
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
/* The same for any subject (a capsule run's target pods). */
struct broker_session_info;
void broker_audit_post(struct broker *b, const struct broker_session_info *info, const char *reason,
		       const char *message);

/* Pieces of a session other requests reuse (broker_capsule.c); each NULL when it passes, else
 * the Status to answer with. */
/* SubjectAccessReview create pods/exec on ns/pod: 403 in the API server's words. */
json_t *broker_authorize_pod_exec(struct broker *b, const struct broker_identity *id, const char *ns,
				  const char *pod);
/* The profile against lambda-cntr-profiles for ns ("*" for a node): 400 unknown, 403 refused. */
json_t *broker_check_profile(struct broker *b, const char *ns, const char *profile);
/* The DaemonSet's trusted agent on node: *agent its name; *image (when image is not NULL) its
 * agent container's image. 503 when there is none. */
json_t *broker_choose_agent(struct broker *b, const char *node, char **agent, char **image);
