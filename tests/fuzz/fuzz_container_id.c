/* Container IDs in cgroup paths (src/node/container_id.c): the input is "PATH\nQUERY", a
 * cgroup path the container may have named and the ID the user typed. */
#include "fuzz.h"

#include <stdbool.h>

#include "node/container_id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_cstring(data, size);
	char *query = strchr(path, '\n');
	char id[128];
	const char *runtime = NULL;

	if (query)
		*query++ = '\0';
	else
		query = path;
	if (cgroup_path_container_id(path, id, sizeof(id), &runtime)) {
		if (!memchr(id, '\0', sizeof(id)))
			abort();
		/* The ID found in a path names that path. */
		if (!cgroup_path_matches_id(path, id, false))
			abort();
	}
	/* A buffer too small for any ID must fail cleanly. */
	cgroup_path_container_id(path, id, 8, NULL);
	cgroup_path_matches_id(path, query, true);
	cgroup_path_matches_id(path, query, false);
	return 0;
}
