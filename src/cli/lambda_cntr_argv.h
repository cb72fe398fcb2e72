/* The cntr command line of a session: `cntr attach -t id [-v] -- ID [-- CMD...]`.
 * `-t id` turns every other resolver off, so the ID can only ever name a container found by
 * its ID in the node's cgroup tree (never a PID, a name or a command); the `--` before it ends
 * cntr's options, so nothing in it can be read as one. lambda_ids.h checks the ID itself. */
#pragma once
/* profile: --profile for cntr (general, restricted, netadmin, sysadmin; checked by the option
 * parser), or NULL for cntr's default. */
#include <stdbool.h>

/* NULL-terminated, free with strv_free; NULL when container_id is not a valid ID. command may
 * be NULL or empty (cntr then starts a shell). */
char **lambda_cntr_attach_argv(const char *container_id, bool verbose, const char *profile,
			       char *const command[]);

/* `cntr attach --host [-v] [--profile P] [-- CMD...]`: a session on the node itself (the init of
 * the hostPID agent's pid namespace), its root at /var/lib/cntr. NULL-terminated, free with
 * strv_free. */
char **lambda_cntr_host_argv(bool verbose, const char *profile, char *const command[]);

/* A TERM value worth passing on to a session: a terminfo name (letters, digits, "._+-", at most
 * 64 bytes), nothing a shell or terminal could trip on. */
bool lambda_term_is_plain(const char *term);

/* `env NAME=value ARGV...`, or NAME=value added after the assignments when argv already starts
 * with `env` (so `env TERM=x LAMBDA_CNTR_AUDIT=... cntr ...`). argv is consumed.
 * NULL-terminated, strv_free. */
char **lambda_argv_with_env(char **argv, const char *name, const char *value);

/* `env TERM=term ARGV...`: the session's terminal type for cntr (which hands its own TERM to the
 * command). argv is consumed; returned as is when term is NULL. NULL-terminated, strv_free. */
char **lambda_argv_with_term(const char *term, char **argv);
