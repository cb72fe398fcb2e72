/* The only commands the broker ever runs in an agent: `cntr attach -t id [--profile P] -- ID
 * [-- CMD...]` for a container (lambda_cntr_attach_argv, which validates the ID) and
 * `cntr attach --host [--profile P] [-- CMD...]` for the node. Never a shell of the agent's. */
#pragma once

/* NULL-terminated, free with strv_free. command may be NULL or empty (cntr's default shell). */
char **broker_node_argv(const char *profile, char *const command[]);
