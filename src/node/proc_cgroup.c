/* /proc/PID/cgroup: "hierarchy-ID:controller-list:path" per line. Cgroup v1 prints one line per
 * hierarchy, v2 a single "0::/path", hybrid hosts both. The path is everything after the second
 * colon (a cgroup name may itself contain ':'). */
#include "proc_cgroup.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int append_entry(struct cgroup_list *list, size_t *cap, struct cgroup_entry entry)
{
	if (list->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct cgroup_entry *bigger = realloc(list->entries, ncap * sizeof(*bigger));
		if (!bigger)
			return -1;
		list->entries = bigger;
		*cap = ncap;
	}
	list->entries[list->n++] = entry;
	return 0;
}

static int parse_cgroup_line(const char *line, size_t len, struct cgroup_entry *entry,
			     struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrndup(line, len);
	char *first = strchr(copy, ':');
	char *second = first ? strchr(first + 1, ':') : NULL;
	uint64_t id;

	if (!second)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "proc cgroup: malformed line '%s' (expected ID:CONTROLLERS:PATH)", copy);
	*first = '\0';
	*second = '\0';
	if (parse_u64(copy, &id) < 0 || id > UINT32_MAX)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "proc cgroup: hierarchy id '%s' is not a number", copy);
	entry->hierarchy_id = (unsigned)id;
	entry->controllers = xstrdup(first + 1);
	entry->path = xstrdup(second + 1);
	return 0;
}

int proc_cgroup_parse(const char *text, struct cgroup_list *out, struct cntr_err *err)
{
	size_t cap = 0;
	const char *line = text;

	out->entries = NULL;
	out->n = 0;
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		struct cgroup_entry entry = { 0 };

		if (len > 0) {
			if (parse_cgroup_line(line, len, &entry, err) < 0)
				goto fail;
			if (append_entry(out, &cap, entry) < 0) {
				free(entry.controllers);
				free(entry.path);
				cntr_fail(err, CNTR_EXIT_FAILURE, ENOMEM, "proc cgroup");
				goto fail;
			}
		}
		line += len + (nl ? 1 : 0);
	}
	return 0;
fail:
	cgroup_list_release(out);
	return -1;
}

void cgroup_list_release(struct cgroup_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->entries[i].controllers);
		free(list->entries[i].path);
	}
	free(list->entries);
	list->entries = NULL;
	list->n = 0;
}

const struct cgroup_entry *cgroup_list_unified(const struct cgroup_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		if (list->entries[i].hierarchy_id == 0 && list->entries[i].controllers[0] == '\0')
			return &list->entries[i];
	return NULL;
}
