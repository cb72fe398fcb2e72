/* `cntr capsule run`'s command line in an agent: the same in pod mode (lambda_capsule_node.c)
 * and in broker mode (the broker builds it from its checked query, src/broker/broker_capsule.c).
 * Pure; linked into the broker. */
#pragma once
#include <stdbool.h>

struct capsule_request;
struct capsule_node;

/* cntr capsule run -t id [-v] --json --from-container=CAPSULE [policy] [sandbox]
 *   --name=ID=ns/pod/container... -- ID... -- CMD...
 * NULL when capsule_id or a target's ID is not a container ID (64 hex digits). strv_free. */
char **capsule_cntr_argv(const struct capsule_request *req, const char *capsule_id,
			 const struct capsule_node *node);

/* text is a comma-separated list of uts, ipc, net, pid, cgroup (cntr capsule run --share). */
bool lambda_capsule_share_is_valid(const char *text);
