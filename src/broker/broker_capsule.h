/* A capsule run on a node through the broker (issue 9, docs/broker.md "Capsules"):
 * GET .../nodes/NODE/capsule?image=I&target=NS/POD/CONTAINER...&command=... as a WebSocket with
 * the exec channels. The user needs, on every target pod, exactly what attach needs (create
 * pods/exec, reviewed per target before anything is made); the broker then creates the capsule
 * pod on NODE in its own namespace with its own ServiceAccount, waits for it, and execs
 * `cntr capsule run --from-container` (the pod mode's command line, lambda_capsule_argv.h) in the
 * DaemonSet's agent on NODE. The capsule pod is deleted on every path out. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

#include "broker/broker.h"
#include "broker/broker_frontproxy.h"
#include "broker/broker_route.h"
#include "cli/lambda_capsule.h"

struct broker_relay;
struct cntr_err;

/* Waiting for the capsule container to run (the kubelet pulls the image): at most this long. */
#define BROKER_CAPSULE_WAIT_S 120
#define BROKER_CAPSULE_MAX_TARGETS 256

/* The query as sent (values borrowed from the request). */
struct broker_capsule_query {
	const char *image, *pull_policy, *profile, *share, *seccomp_profile, *parallel, *timeout;
	bool iterative, fail_fast;
	char **targets;   /* target= values NS/POD/CONTAINER, NULL-terminated, never NULL */
	char **command;   /* command= values, NULL-terminated, never NULL */
};

/* One target of the run. */
struct broker_capsule_target {
	char *ns, *pod, *container;
	char *pod_uid, *container_id, *name;  /* filled once the pod was read; name = ns/pod/container */
};

/* A run: its targets and the capsule pod, owned by the relay (broker_relay.capsule). */
struct broker_capsule_run {
	struct capsule_request req;  /* image, policy and sandbox flags, command; strings owned below */
	char *image, *pull_policy, *profile, *share, *seccomp_profile, *agent_image;
	char **command;
	struct broker_capsule_target *targets;
	size_t ntargets;
	char *capsule_pod;           /* once it may exist */
	char *capsule_id;
	/* cntr in the agent runs as `env LAMBDA_CNTR_SESSION=<id> cntr capsule run ...`, as in pod
	 * mode: a closed exec stream does not end it, `cntr agent end-session <id>` does. */
	char *session_id, *agent_pod;
	bool exec_started;           /* the agent's exec is open */
	bool exit_status_seen;       /* the relay read cntr's exit status: nothing left to end */
};

/* Checks the query (400 with the message on failure) and fills run (targets not yet read).
 * Pure. run is cleared with broker_capsule_run_free either way. */
/* "true" or "1": a boolean query parameter of the API (stdin=, tty=, iterative=...). */
bool broker_query_is_true(const char *value);
/* One query parameter of nodes/NODE/capsule other than target= and command= (lists the caller
 * collects): stored in q, the value borrowed. False for a key that is not one of them. */
bool broker_capsule_query_set(struct broker_capsule_query *q, const char *key, const char *value);

int broker_capsule_parse(const struct broker_capsule_query *q, struct broker_capsule_run *run,
			 struct cntr_err *err);
void broker_capsule_run_free(struct broker_capsule_run *run);

/* NS/POD/CONTAINER, each a valid object name (a container name is a DNS label too). Pure. */
int broker_capsule_target_parse(const char *text, struct broker_capsule_target *t);

/* The whole check-and-prepare: the relay with the agent's exec open and the start Events
 * recorded, or NULL with *status. */
struct broker_relay *broker_capsule_prepare(struct broker *b, const struct broker_route *route,
					    const struct broker_identity *id, const struct broker_capsule_query *q,
					    const char *protocols, json_t **status);

/* From the relay: the end Events (one per target), then the capsule pod goes with
 * broker_capsule_release when the relay is freed. exit_status < 0: none arrived. */
void broker_capsule_record_end(struct broker_relay *r, int exit_status, const char *why, double seconds);
/* Deletes the capsule pod (if any); when the agent's exec was started and no exit status came
 * back (the client went away, the broker stops), ends what is left of cntr in the agent with
 * `cntr agent end-session`; frees run. NULL is fine. */
void broker_capsule_release(struct broker *b, struct broker_capsule_run *run);
