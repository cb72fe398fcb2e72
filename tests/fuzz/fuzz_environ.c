/* /proc/PID/environ (src/node/environ.c): "K=V\0K=V\0", whatever the target put there; then
 * the edits cntr makes to such a vector. */
#include "fuzz.h"

#include "common/cleanup.h"
#include "node/environ.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* /proc gives a length, and the last entry may lack its NUL. */
	const char *buf = fuzz_guarded(data, size);
	char **env;

	env = environ_parse(buf, size);
	if (!env)
		abort();
	for (char **e = env; *e; e++)
		if (!strchr(*e, '='))
			abort(); /* entries without '=' are dropped */
	env_get(env, "PATH");
	if (env[0]) {
		/* Replace and remove the first variable by its own name. */
		char *name = strndup(env[0], (size_t)(strchr(env[0], '=') - env[0]));
		if (!name || env_set(&env, name, "x") < 0 || env_set(&env, name, NULL) < 0)
			abort();
		free(name);
	}
	if (env_set(&env, "TERM", "xterm") < 0)
		abort();
	strv_free(env);
	return 0;
}
