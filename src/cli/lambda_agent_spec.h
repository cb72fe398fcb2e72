/* The debug agent pod: its manifest and the two small shell programs it runs.
 *
 * How sessions are counted (so that two users never cut each other off and a shared agent is
 * never deleted while in use): every process started in the agent container, exec'd ones
 * included, inherits the container's environment, which carries LAMBDA_CNTR_AGENT=<pod name>.
 * A session is a process named `cntr` whose environ holds that marker: cntr's relay keeps its
 * initial environ whatever namespaces it enters, and it lives exactly as long as the session.
 * This needs no lock files that a crashed client could leave behind and no cooperation from
 * cntr; the agent reads /proc of the node (hostPID) and is root.
 *  - The agent's own command loops: every 2 s it counts sessions; after --idle-timeout seconds
 *    in a row without one it exits (restartPolicy Never), and it exits at once on SIGTERM.
 *  - Before deleting an agent, lambda-cntr execs the counting program in it (our own session
 *    has ended by then) and deletes only when it prints 0.
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
#define LAMBDA_AGENT_GRACE_SECONDS 2

struct lambda_agent_params {
	const char *name;
	const char *namespace;
	const char *node;
	const char *image;
	const char *socket_path;  /* NULL: no hostPath volume */
	uint64_t idle_timeout_s;
};

/* The Pod object to POST. New reference. */
json_t *lambda_agent_manifest(const struct lambda_agent_params *p);

/* "lambda-cntr-<node>-<5 random chars>", node sanitized to a valid pod name. malloc'd. */
char *lambda_agent_name(const char *node);

/* argv of the exec that prints how many sessions the agent has (NULL-terminated, static). */
char *const *lambda_agent_count_sessions_argv(void);
