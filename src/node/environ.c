/* /proc/PID/environ is "K=V\0K=V\0...": split it into an envp-style vector and edit such
 * vectors (the session takes the target's environment with the debug side's PATH/TERM). */
#include "environ.h"

#include "common/cleanup.h"
#include "common/strutil.h"

#include <stdlib.h>
#include <string.h>

char **environ_parse(const char *buf, size_t len)
{
	size_t n = 0, count = 0;
	char **env;

	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			count++;
	env = calloc(count + 2, sizeof(*env)); /* +1 for a missing trailing NUL, +1 for NULL */
	if (!env)
		return NULL;
	for (size_t pos = 0; pos < len;) {
		const char *entry = buf + pos;
		const char *nul = memchr(entry, '\0', len - pos);
		size_t elen = nul ? (size_t)(nul - entry) : len - pos;

		/* Entries without '=' cannot be passed to execve meaningfully; a process may have
		 * scribbled over its own environ area, so drop them rather than fail. */
		if (elen > 0 && memchr(entry, '=', elen) && entry[0] != '=') {
			env[n] = strndup(entry, elen);
			if (!env[n]) {
				strv_free(env);
				return NULL;
			}
			n++;
		}
		pos += elen + 1;
	}
	env[n] = NULL;
	return env;
}

/* Index of key in env, or -1. */
static long env_find(char *const *env, const char *key)
{
	size_t klen = strlen(key);
	for (size_t i = 0; env && env[i]; i++)
		if (strncmp(env[i], key, klen) == 0 && env[i][klen] == '=')
			return (long)i;
	return -1;
}

const char *env_get(char *const *env, const char *key)
{
	long i = env_find(env, key);
	return i < 0 ? NULL : env[i] + strlen(key) + 1;
}

static void env_remove_at(char **env, size_t i)
{
	free(env[i]);
	for (; env[i]; i++)
		env[i] = env[i + 1];
}

int env_set(char ***env, const char *key, const char *value)
{
	long i = env_find(*env, key);
	char *entry;
	size_t n;
	char **bigger;

	if (!value) {
		if (i >= 0)
			env_remove_at(*env, (size_t)i);
		return 0;
	}
	entry = malloc(strlen(key) + strlen(value) + 2);
	if (!entry)
		return -1;
	strcpy(stpcpy(stpcpy(entry, key), "="), value);
	if (i >= 0) {
		free((*env)[i]);
		(*env)[i] = entry;
		return 0;
	}
	n = strv_len(*env);
	bigger = realloc(*env, (n + 2) * sizeof(*bigger));
	if (!bigger) {
		free(entry);
		return -1;
	}
	bigger[n] = entry;
	bigger[n + 1] = NULL;
	*env = bigger;
	return 0;
}
