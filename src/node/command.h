/* The command a session runs: its argv, environment, and the exec with 126/127 reporting. */
#pragma once
#include <stdbool.h>

struct cntr_err;
struct target;
struct tools_opts;

enum session_mode { SESSION_ATTACH, SESSION_EXEC };

/* The environment: the target's; in attach mode without its hooks (env_filter.h), with PATH
 * and HOME from the debug side (so the tools are found and run as on the debug side), and
 * TERM from the caller when there is a TTY. */
char **command_environment(const struct target *t, enum session_mode mode, bool tty);

/* argv given on the command line, else the default shell: attach -> $SHELL of the debug side
 * when the tools have it, or /bin/sh; exec -> /bin/sh of the target. Returns a malloc'd vector. */
char **command_argv(char *const *user_argv, enum session_mode mode, const struct tools_opts *tools);

/* execvpe with PATH from env. Only returns on failure: fills err with 127 (not found) or 126
 * (found but not executable). */
void exec_command(char *const *argv, char **env, struct cntr_err *err);
