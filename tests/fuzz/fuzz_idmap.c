/* /proc/PID/uid_map and gid_map (src/node/idmap.c), and the translation through the result. */
#include "fuzz.h"

#include "common/err.h"
#include "node/idmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_cstring(data, size);
	struct id_map *map = malloc(sizeof(*map));
	struct cntr_err err;

	if (!map)
		abort();
	if (id_map_parse(text, map, &err) == 0) {
		static const uint32_t probes[] = { 0, 1, 1000, 65534, 100000, 0x7fffffff, 0xfffffffe, 0xffffffff };
		if (map->n > IDMAP_MAX_RANGES)
			abort();
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			id_map_to_inner(map, probes[i]);
		for (size_t i = 0; i < map->n; i++)
			id_map_to_inner(map, map->ranges[i].outer);
	}
	free(map);
	return 0;
}
