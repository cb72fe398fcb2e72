/* Which of the target's environment variables may reach the debug tools (attach mode).
 *
 * The target's environment is untrusted input to programs that are not the target's: a
 * variable that makes the dynamic loader, libc, a shell, an interpreter or a pager load or run
 * something would run the target's code with the session's rights (docs/security.md). The
 * session keeps the target's other variables (its configuration is what one debugs). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Whether the variable named name (len bytes, no '=') may pass: a shell identifier
 * ([A-Za-z_][A-Za-z0-9_]*, so no exported bash function "BASH_FUNC_f%%") that is not a loader,
 * libc, shell, interpreter or tool hook. */
bool env_name_is_safe(const char *name, size_t len);

/* Remove from env (NULL-terminated, malloc'd entries) every variable that is not safe, and
 * every entry without '='.
 * Returns the dropped names joined by ", " (malloc'd), or NULL when nothing was dropped. */
char *env_drop_unsafe(char **env);
