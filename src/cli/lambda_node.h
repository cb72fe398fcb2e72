/* `lambda-cntr node NODE [-- CMD]`: a session on a node itself, like `kubectl debug node/NODE`.
 * The agent pod on NODE (the same agent as for pods, pinned with nodeName) runs
 * `cntr attach --host`: the node's namespaces, the node's root at /var/lib/cntr, the agent
 * image's tools at /. Returns the process exit status (the command's, or 125/130/143). */
#pragma once

struct lambda_opts;

int lambda_node_run(const struct lambda_opts *opts);
