#include "cli/lambda_ids.h"

#include <string.h>

#include "common/strutil.h"

#define CONTAINER_ID_LEN 64

/* The CRI runtimes whose IDs cntr finds in the node's cgroup tree. */
static const char *const known_runtimes[] = { "containerd", "cri-o", "docker" };

bool lambda_container_id_is_valid(const char *id)
{
	return strlen(id) == CONTAINER_ID_LEN && str_is_hex(id);
}

static bool is_known_runtime(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(known_runtimes) / sizeof(known_runtimes[0]); i++) {
		if (strlen(known_runtimes[i]) == len && strncmp(known_runtimes[i], name, len) == 0)
			return true;
	}
	return false;
}

int lambda_container_id_parse(const char *url, char **runtime, char **id)
{
	const char *sep = strstr(url, "://");

	if (!sep || !is_known_runtime(url, (size_t)(sep - url)) || !lambda_container_id_is_valid(sep + 3))
		return -1;
	*runtime = xstrndup(url, (size_t)(sep - url));
	*id = xstrdup(sep + 3);
	return 0;
}

#define OBJECT_NAME_MAX 253

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool lambda_object_name_is_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > OBJECT_NAME_MAX || !is_lower_alnum(name[0]) || !is_lower_alnum(name[n - 1]))
		return false;
	for (const char *c = name; *c; c++) {
		if (!is_lower_alnum(*c) && *c != '-' && *c != '.')
			return false;
	}
	return true;
}
