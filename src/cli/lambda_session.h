/* The whole cluster flow of DESIGN.md §3: config, target, agent, exec of `cntr attach`,
 * cleanup. Returns the process exit status. */
#pragma once

struct lambda_opts;

int lambda_session_run(const struct lambda_opts *opts);
