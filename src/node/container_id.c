/* The container ID is the last component of a container's cgroup path in every runtime; some
 * runtimes decorate it. All decorations live in the one table below. */
#include "container_id.h"

#include "common/strutil.h"

#include <stdio.h>
#include <string.h>

/* Order matters only for readability: a component matches at most one row because the middle
 * part must be lowercase hex. That same rule keeps the monitor processes out: conmon lives in
 * "libpod-conmon-ID" / "crio-conmon-ID.scope", whose middle "conmon-ID" is not hex. */
static const struct cgroup_id_pattern cgroup_id_patterns[] = {
	{ "docker-", ".scope", "docker" },                /* systemd driver */
	{ "cri-containerd-", ".scope", "containerd" },    /* Kubernetes, systemd driver */
	{ "crio-", ".scope", "crio" },                    /* Kubernetes, systemd driver */
	{ "crio-", "", "crio" },                          /* CRI-O, cgroupfs driver */
	{ "libpod-", ".scope", "podman" },                /* podman, systemd driver */
	{ "libpod-", "", "podman" },                      /* podman, cgroupfs driver */
};

/* Runtimes name containers with 64 hex digits; decorated components are unambiguous enough to
 * accept shorter ones. Undecorated components need the full length: a bare shorter hex name is
 * as likely a session or service cgroup as a container. */
#define DECORATED_ID_MIN_LEN 12
#define UNDECORATED_ID_LEN 64

/* Pointer to the last non-empty component of path and its length (0 when there is none). */
static const char *last_component(const char *path, size_t *len)
{
	size_t end = strlen(path);
	size_t start;

	while (end > 0 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	*len = end - start;
	return path + start;
}

static bool span_is_hex(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* If comp (len bytes) is pattern-decorated hex, point *id at the hex part. */
static bool match_pattern(const struct cgroup_id_pattern *p, const char *comp, size_t len,
			  const char **id, size_t *id_len)
{
	size_t pl = strlen(p->prefix), sl = strlen(p->suffix);

	if (len < pl + sl + DECORATED_ID_MIN_LEN)
		return false;
	if (strncmp(comp, p->prefix, pl) != 0 || strncmp(comp + len - sl, p->suffix, sl) != 0)
		return false;
	if (!span_is_hex(comp + pl, len - pl - sl))
		return false;
	*id = comp + pl;
	*id_len = len - pl - sl;
	return true;
}

/* The component with any runtime decoration removed; runtime set when one was recognised. */
static void bare_component(const char *path, const char **bare, size_t *bare_len,
			   const char **runtime)
{
	size_t len;
	const char *comp = last_component(path, &len);

	*runtime = NULL;
	for (size_t i = 0; i < sizeof(cgroup_id_patterns) / sizeof(cgroup_id_patterns[0]); i++) {
		if (match_pattern(&cgroup_id_patterns[i], comp, len, bare, bare_len)) {
			*runtime = cgroup_id_patterns[i].runtime;
			return;
		}
	}
	*bare = comp;
	*bare_len = len;
}

bool cgroup_path_container_id(const char *path, char *id, size_t id_size, const char **runtime)
{
	const char *bare, *rt;
	size_t len;

	bare_component(path, &bare, &len, &rt);
	if (!rt && !(len == UNDECORATED_ID_LEN && span_is_hex(bare, len)))
		return false;
	if (len + 1 > id_size)
		return false;
	memcpy(id, bare, len);
	id[len] = '\0';
	if (runtime)
		*runtime = rt;
	return true;
}

bool cgroup_path_matches_id(const char *path, const char *query, bool allow_prefix)
{
	const char *bare, *rt;
	size_t len, qlen = strlen(query);
	char id[UNDECORATED_ID_LEN + 64];

	bare_component(path, &bare, &len, &rt);
	if (qlen == 0 || len == 0)
		return false;
	if (len == qlen && memcmp(bare, query, len) == 0)
		return true;
	/* Prefixes only of things that really are container IDs, so a short hex query can never
	 * pick an arbitrary service cgroup. */
	if (!allow_prefix || qlen < CONTAINER_ID_MIN_PREFIX || !str_is_hex(query))
		return false;
	if (!cgroup_path_container_id(path, id, sizeof(id), NULL))
		return false;
	return strncmp(id, query, qlen) == 0;
}
