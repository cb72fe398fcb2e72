/* The resolver table (order = resolution order) and `-t TYPES` parsing. */
#include "resolve_internal.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

#include <stdio.h>
#include <string.h>

const struct resolver resolvers[] = {
	{ RESOLVE_PID, "pid", resolve_by_pid },
	{ RESOLVE_ID, "id", resolve_by_id },
	{ RESOLVE_DOCKER, "docker", resolve_by_docker },
	{ RESOLVE_PODMAN, "podman", resolve_by_podman },
	{ RESOLVE_CONTAINERD, "containerd", resolve_by_containerd },
	{ RESOLVE_CRIO, "crio", resolve_by_crio },
	{ RESOLVE_NSPAWN, "nspawn", resolve_by_nspawn },
	{ RESOLVE_LXC, "lxc", resolve_by_lxc },
	{ RESOLVE_COMMAND, "command", resolve_by_command },
};
const size_t n_resolvers = sizeof(resolvers) / sizeof(resolvers[0]);

static void valid_type_list(char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n_resolvers && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? "," : "",
					 resolvers[i].name);
}

int resolver_types_parse(const char *list, unsigned *mask, struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char valid[256];
	char *save = NULL;
	unsigned result = 0;

	valid_type_list(valid, sizeof(valid));
	for (char *word = strtok_r(copy, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < n_resolvers && strcmp(resolvers[i].name, word) != 0)
			i++;
		if (i == n_resolvers)
			return cntr_fail(err, CNTR_EXIT_USAGE, 0,
					 "unknown container type '%s' (valid: %s)", word, valid);
		result |= resolvers[i].type;
	}
	if (!result)
		return cntr_fail(err, CNTR_EXIT_USAGE, 0, "empty container type list (valid: %s)",
				 valid);
	*mask = result;
	return 0;
}
