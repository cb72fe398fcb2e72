/* `cntr list`: every container the resolvers can see. The cgroup scan finds them all (one entry
 * per container init); engine state directories add containers whose cgroup is not named after
 * them; engines that are reachable fill in names. */
#include "resolve_internal.h"

#include "engine_cli.h"
#include "engine_containerd.h"
#include "engine_docker.h"
#include "engine_runc.h"
#include "resolve_scan.h"

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Which -t type shows a runtime's containers; runtimes without their own type belong to id. */
static const struct {
	const char *runtime;
	unsigned type;
} runtime_types[] = {
	{ "docker", RESOLVE_DOCKER },         { "podman", RESOLVE_PODMAN },
	{ "containerd", RESOLVE_CONTAINERD }, { "crio", RESOLVE_CRIO },
	{ "nspawn", RESOLVE_NSPAWN },         { "lxc", RESOLVE_LXC },
};

static unsigned runtime_type(const char *runtime)
{
	for (size_t i = 0; i < sizeof(runtime_types) / sizeof(runtime_types[0]); i++)
		if (strcmp(runtime_types[i].runtime, runtime) == 0)
			return runtime_types[i].type;
	return RESOLVE_ID;
}

static struct container_ref *list_find(struct container_list *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].id, id) == 0)
			return &l->items[i];
	return NULL;
}

static struct container_ref *list_add(struct container_list *l, const char *runtime,
				      const char *id, pid_t pid)
{
	struct container_ref *bigger = realloc(l->items, (l->n + 1) * sizeof(*bigger));
	struct container_ref *ref;

	if (!bigger)
		abort();
	l->items = bigger;
	ref = &l->items[l->n++];
	memset(ref, 0, sizeof(*ref));
	ref->pid = pid;
	snprintf(ref->runtime, sizeof(ref->runtime), "%s", runtime);
	snprintf(ref->id, sizeof(ref->id), "%s", id);
	return ref;
}

static void cleanup_scanp(struct cgroup_scan *s)
{
	cgroup_scan_release(s);
}

static int add_cgroup_containers(struct container_list *l, struct cntr_err *err)
{
	__attribute__((cleanup(cleanup_scanp))) struct cgroup_scan scan = { 0 };

	if (cgroup_scan_containers(cgroup_match_any_container, NULL, &scan, err) < 0)
		return -1;
	for (size_t i = 0; i < scan.n; i++)
		list_add(l, cgroup_container_runtime(&scan.items[i]), scan.items[i].id,
			 scan.items[i].pid);
	return 0;
}

/* containerd and runc have no names apart from the IDs users chose; a generated 64-hex ID
 * (Kubernetes, docker's moby tasks) is not a name anyone typed, so leave NAME empty there. */
static void set_name_from_chosen_id(struct container_ref *ref)
{
	if (ref->name[0] || (strlen(ref->id) == 64 && str_is_hex(ref->id)))
		return;
	snprintf(ref->name, sizeof(ref->name), "%s", ref->id);
}

static void add_containerd_task(const char *ns, const char *id, pid_t pid, void *ctx)
{
	struct container_list *l = ctx;
	struct container_ref *ref = list_find(l, id);

	if (!ref)
		ref = list_add(l, strcmp(ns, "moby") == 0 ? "docker" : "containerd", id, pid);
	if (strcmp(ref->runtime, "containerd") == 0)
		set_name_from_chosen_id(ref);
}

static void add_runc_container(const char *id, pid_t pid, void *ctx)
{
	struct container_list *l = ctx;
	struct container_ref *ref = list_find(l, id);

	if (!ref)
		ref = list_add(l, "runc", id, pid);
	if (strcmp(ref->runtime, "runc") == 0)
		set_name_from_chosen_id(ref);
}

static bool list_has_runtime(const struct container_list *l, const char *runtime)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].runtime, runtime) == 0)
			return true;
	return false;
}

static void fill_docker_names(struct container_list *l)
{
	if (!list_has_runtime(l, "docker"))
		return;
	if (access(docker_socket_path(), F_OK) < 0) {
		log_skip("docker: no socket %s; names of docker containers not shown",
			 docker_socket_path());
		return;
	}
	for (size_t i = 0; i < l->n; i++) {
		struct container_ref info = { .pid = 0 };
		struct cntr_err failure = { .code = 0 };
		if (strcmp(l->items[i].runtime, "docker") != 0 || l->items[i].name[0])
			continue;
		if (docker_inspect(l->items[i].id, &info, &failure) < 0)
			log_skip("docker: name of %.12s: %s", l->items[i].id, failure.msg);
		else if (strcmp(info.id, l->items[i].id) == 0)
			memcpy(l->items[i].name, info.name, sizeof(info.name));
	}
}

/* `podman ps` lines "ID NAME". */
static void fill_podman_names(struct container_list *l, struct cntr_err *err)
{
	_cleanup_free_ char *output = NULL;
	char *save = NULL;

	if (!list_has_runtime(l, "podman") || engine_podman_names(&output, err) <= 0 || !output)
		return;
	for (char *line = strtok_r(output, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *space = strchr(line, ' ');
		struct container_ref *ref;
		if (!space)
			continue;
		*space = '\0';
		ref = list_find(l, line);
		if (ref && !ref->name[0])
			snprintf(ref->name, sizeof(ref->name), "%s", space + 1);
	}
}

static int compare_refs(const void *a, const void *b)
{
	const struct container_ref *x = a, *y = b;
	int c = strcmp(x->runtime, y->runtime);
	if (c)
		return c;
	c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->id, y->id);
}

/* Keep only the runtimes the -t types ask for. */
static void filter_by_types(struct container_list *l, unsigned types)
{
	size_t w = 0;
	for (size_t i = 0; i < l->n; i++)
		if (types & runtime_type(l->items[i].runtime))
			l->items[w++] = l->items[i];
	l->n = w;
}

int list_containers(unsigned types, struct container_list *out, struct cntr_err *err)
{
	struct cntr_err soft = { .code = 0 };

	out->items = NULL;
	out->n = 0;
	if (add_cgroup_containers(out, err) < 0)
		return -1;
	containerd_for_each_task(add_containerd_task, out);
	runc_for_each(add_runc_container, out);
	filter_by_types(out, types);
	if (types & RESOLVE_DOCKER)
		fill_docker_names(out);
	if (types & RESOLVE_PODMAN) {
		fill_podman_names(out, &soft);
		if (soft.msg[0] && soft.code)
			log_warn("%s", soft.msg);
	}
	if (out->n > 1)
		qsort(out->items, out->n, sizeof(out->items[0]), compare_refs);
	return 0;
}

void container_list_release(struct container_list *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
}
