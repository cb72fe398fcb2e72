/* TARGET as a container ID, full or a unique hex prefix, or as the exact name of a container's
 * cgroup (plain runc names its cgroup after the container: "/mytest"). No engine involved. */
#include "resolve_internal.h"

#include "container_id.h"
#include "engine_runc.h"
#include "resolve_scan.h"

#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"

#include <stdio.h>
#include <string.h>

static bool match_id_query(const char *path, const void *ctx, char *id, size_t id_size,
			   const char **runtime)
{
	const char *query = ctx;

	if (!cgroup_path_matches_id(path, query, true))
		return false;
	if (!cgroup_path_container_id(path, id, id_size, runtime)) {
		/* Matched exactly as a plain name: the name is the ID. */
		snprintf(id, id_size, "%s", query);
		*runtime = NULL;
	}
	return true;
}

static void cleanup_scanp(struct cgroup_scan *s)
{
	cgroup_scan_release(s);
}

/* A full ID beats prefixes: "abc...64" must not be ambiguous with itself plus a longer one. */
static size_t keep_exact_matches(struct cgroup_scan *scan, const char *query)
{
	size_t exact = 0;
	for (size_t i = 0; i < scan->n; i++)
		if (strcmp(scan->items[i].id, query) == 0)
			exact++;
	if (exact == 0)
		return scan->n;
	for (size_t i = 0, w = 0; i < scan->n; i++) {
		if (strcmp(scan->items[i].id, query) == 0) {
			struct cgroup_container tmp = scan->items[w];
			scan->items[w++] = scan->items[i];
			scan->items[i] = tmp;
		}
	}
	return exact;
}

static int fail_ambiguous(const struct cgroup_scan *scan, size_t n, const char *query,
			  struct cntr_err *err)
{
	char list[CNTR_ERR_MSG_MAX / 2];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s (pid %d)",
					 i ? ", " : "", scan->items[i].id, (int)scan->items[i].pid);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "container ID prefix '%s' is ambiguous: matches %s; give more characters",
			 query, list);
}

static void fill_ref(struct container_ref *out, const struct cgroup_container *c)
{
	memset(out, 0, sizeof(*out));
	out->pid = c->pid;
	out->start_time = c->start_time;
	snprintf(out->runtime, sizeof(out->runtime), "%s", cgroup_container_runtime(c));
	snprintf(out->id, sizeof(out->id), "%s", c->id);
}

/* runc containers whose cgroup is not named after them (a cgroupsPath in config.json). */
static int resolve_runc_state(const char *target, struct container_ref *out)
{
	pid_t pid = runc_find(target);

	if (pid <= 0)
		return RESOLVE_NO_MATCH;
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	snprintf(out->runtime, sizeof(out->runtime), "runc");
	snprintf(out->id, sizeof(out->id), "%s", target);
	snprintf(out->name, sizeof(out->name), "%s", target);
	return RESOLVE_FOUND;
}

int resolve_by_id(const char *target, struct container_ref *out, struct cntr_err *err)
{
	__attribute__((cleanup(cleanup_scanp))) struct cgroup_scan scan = { 0 };
	size_t n;

	if (strchr(target, '/'))
		return RESOLVE_NO_MATCH; /* never a single cgroup path component */
	if (cgroup_scan_containers(match_id_query, target, &scan, err) < 0)
		return -1;
	n = keep_exact_matches(&scan, target);
	if (n == 0)
		return resolve_runc_state(target, out);
	if (n > 1)
		return fail_ambiguous(&scan, n, target, err);
	fill_ref(out, &scan.items[0]);
	log_info("id: '%s' is container %s (cgroup %s)", target, out->id, scan.items[0].cgroup_path);
	return RESOLVE_FOUND;
}
