/* The debug agent pod: its manifest and the small shell programs it runs.
 *
 * How sessions are counted (so that two users never cut each other off and a shared agent is
 * never deleted while in use): every process started in the agent container, exec'd ones
 * included, inherits the container's environment, which carries LAMBDA_CNTR_AGENT=<pod name>.
 * lambda-cntr execs `env LAMBDA_CNTR_SESSION=<random id> cntr attach ...`: env adds the
 * session's own mark and execs cntr in its place (no shell in between; the process is cntr).
 * A session is then a process named `cntr` carrying the agent's mark; its session mark says
 * whose it is. cntr's relay keeps its initial environ whatever namespaces it enters and lives
 * exactly as long as the session. No lock files that a crashed client could leave behind, no
 * cooperation from cntr; the agent reads the node's /proc (hostPID) as root.
 *  - The agent's own command checks every 2 s; after --idle-timeout seconds in a row without a
 *    session it exits (restartPolicy Never), and it exits at once on SIGTERM.
 *  - On exit, lambda-cntr deletes an agent only when the "count others" program prints 0: our
 *    own session is excluded by its mark, so a session of ours that is still ending (e.g. after
 *    Ctrl-C) never keeps the agent alive, and nobody else's is ever cut off.
 *  - After an interrupt it first runs the "end session" program: the API server does not kill
 *    exec'd processes when the stream closes, so our cntr would otherwise run on.
 * Remaining race: a session starting in the instant between that count and the DELETE (or an
 * agent idling out just after another client found it ready). The starting client notices at
 * the exec upgrade (agent not running) and retries once with a new agent. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#define LAMBDA_AGENT_MANAGED_BY_LABEL "app.kubernetes.io/managed-by"
#define LAMBDA_AGENT_MANAGED_BY "lambda-cntr"
#define LAMBDA_AGENT_NODE_LABEL "lambda-cntr.io/node"
#define LAMBDA_AGENT_CONTAINER "agent"
/* What ties a pod to this version's agent-pod mode (the owner check of a warm agent): this label
 * with this value, and no ownerReferences (a controller's pod, such as the installed mode's
 * DaemonSet agents, is someone else's). */
#define LAMBDA_AGENT_SCHEME_LABEL "lambda-cntr.io/agent-scheme"
#define LAMBDA_AGENT_SCHEME "pod-v1"
/* Who created the agent (the user the API server names in a SelfSubjectReview); only that user
 * reuses it. */
#define LAMBDA_AGENT_CREATOR_ANNOTATION "lambda-cntr.io/created-by"
/* The imageID (repository digest) its creator saw the agent run once it was Ready; a reuser
 * requires the running container's imageID to be the same (lambda_agent_judge.c). */
#define LAMBDA_AGENT_IMAGE_ID_ANNOTATION "lambda-cntr.io/image-id"
/* The namespace agents go to when --agent-namespace is not given, if it exists (deploy/). */
#define LAMBDA_AGENT_DEFAULT_NAMESPACE "lambda-cntr-system"
#define LAMBDA_AGENT_GRACE_SECONDS 2
/* Where the runtime socket given with -s appears in the agent, whatever its path on the node:
 * outside every directory a session's tree is built from (see lambda_agent_spec.c). */
#define LAMBDA_AGENT_SOCKET_MOUNT "/run/lambda-cntr/runtime.sock"
#define LAMBDA_AGENT_SOCKET_VOLUME "runtime-socket"

struct lambda_agent_params {
	const char *name;
	const char *namespace;
	const char *node;
	const char *image;
	const char *pull_policy;  /* imagePullPolicy; NULL: IfNotPresent */
	const char *socket_path;  /* on the node; NULL: no hostPath volume */
	const char *creator;      /* LAMBDA_AGENT_CREATOR_ANNOTATION; NULL: none (unit tests) */
	uint64_t idle_timeout_s;
};

/* The Pod object to POST: privileged, hostPID, read-only root filesystem. New reference. */
json_t *lambda_agent_manifest(const struct lambda_agent_params *p);

/* "lambda-cntr-<node>-<5 random chars>": a DNS label of at most 63 characters (the node name
 * lower-cased, other characters as '-', cut to fit). malloc'd. */
char *lambda_agent_name(const char *node);

/* A new random session ID (16 hex digits). malloc'd. */
char *lambda_agent_session_id(void);

/* The exec command of a session: env LAMBDA_CNTR_SESSION=<id> [TERM=<term>] followed by
 * cntr_argv. term (the local terminal's type, NULL for none) reaches the session's shell, which
 * the runtime would otherwise give a plain "xterm"; odd values are left out. */
char **lambda_agent_session_argv(const char *session_id, const char *term, char *const cntr_argv[]);

/* Exec commands that print how many sessions other than session_id the agent has, and that end
 * whatever is left of session_id. NULL-terminated, free with strv_free. */
char **lambda_agent_count_others_argv(const char *session_id);
char **lambda_agent_count_mine_argv(const char *session_id);
/* An exec command that prints where cntr is on the agent's PATH (fails when it is not). */
char **lambda_agent_find_cntr_argv(void);
char **lambda_agent_end_session_argv(const char *session_id);
