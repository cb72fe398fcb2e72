#include "idmap.h"

#include "common/err.h"

#include <inttypes.h>
#include <stdio.h>

int id_map_parse(const char *text, struct id_map *map, struct cntr_err *err)
{
	const char *p = text;

	map->n = 0;
	while (*p) {
		unsigned long inner, outer, count;
		int used = 0;

		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (sscanf(p, "%lu %lu %lu%n", &inner, &outer, &count, &used) != 3)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "malformed id map line: '%.40s'", p);
		if (map->n == IDMAP_MAX_RANGES)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "id map has more than %d ranges",
					 IDMAP_MAX_RANGES);
		map->ranges[map->n++] = (struct id_range){ (uint32_t)inner, (uint32_t)outer, (uint32_t)count };
		p += used;
	}
	return 0;
}

int64_t id_map_to_inner(const struct id_map *map, uint32_t outer)
{
	for (size_t i = 0; i < map->n; i++) {
		const struct id_range *r = &map->ranges[i];
		if (outer >= r->outer && (uint64_t)outer < (uint64_t)r->outer + r->count)
			return (int64_t)r->inner + (outer - r->outer);
	}
	return -1;
}
