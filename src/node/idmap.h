/* /proc/PID/uid_map and gid_map: translate ids seen from cntr's user namespace into the ids
 * of the target's user namespace (needed after joining it: setresuid takes the inner ids). */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct cntr_err;

struct id_range {
	uint32_t inner, outer, count;
};

#define IDMAP_MAX_RANGES 340

struct id_map {
	struct id_range ranges[IDMAP_MAX_RANGES];
	size_t n;
};

/* Parse "inner outer count" lines. */
int id_map_parse(const char *text, struct id_map *map, struct cntr_err *err);
/* Map an outer id (as cntr sees it) to the inner id; -1 when unmapped. */
int64_t id_map_to_inner(const struct id_map *map, uint32_t outer);
