/* /proc/PID/environ ("K=V\0K=V\0") to a NULL-terminated vector, and edits of such vectors. */
#pragma once
#include <stddef.h>

/* Returns a malloc'd NULL-terminated vector (free with strv_free) or NULL on OOM.
 * Entries without '=' are dropped; a missing trailing NUL is tolerated. */
char **environ_parse(const char *buf, size_t len);
/* Value of key in env or NULL. */
const char *env_get(char *const *env, const char *key);
/* Set key=value (replace or append); value NULL removes the key. Returns 0, -1 on OOM. */
int env_set(char ***env, const char *key, const char *value);
