#include "broker/broker_argv.h"

#include <stdlib.h>

#include "common/cleanup.h"
#include "common/strutil.h"

char **broker_node_argv(const char *profile, char *const command[])
{
	size_t n = command ? strv_len(command) : 0, i = 0;
	char **argv = calloc(7 + n + 1, sizeof(char *));

	if (!argv)
		abort();
	argv[i++] = xstrdup("cntr");
	argv[i++] = xstrdup("attach");
	argv[i++] = xstrdup("--host");
	if (profile) {
		argv[i++] = xstrdup("--profile");
		argv[i++] = xstrdup(profile);
	}
	if (n) {
		argv[i++] = xstrdup("--");
		for (size_t k = 0; k < n; k++)
			argv[i++] = xstrdup(command[k]);
	}
	return argv;
}
