#include "cli/lambda_capsule_argv.h"

#include <stdlib.h>
#include <string.h>

#include "cli/lambda_capsule_internal.h"
#include "cli/lambda_ids.h"
#include "common/cleanup.h"
#include "common/strutil.h"

static void push(char ***argv, size_t *n, char *s)
{
	*argv = realloc(*argv, (*n + 2) * sizeof(char *));
	if (!*argv)
		abort();
	(*argv)[(*n)++] = s;
	(*argv)[*n] = NULL;
}

static void push_policy(const struct capsule_request *req, char ***argv, size_t *n)
{
	if (req->iterative)
		push(argv, n, xstrdup("--iterative"));
	else if (req->parallel)
		push(argv, n, xasprintf("--parallel=%u", req->parallel));
	if (req->fail_fast)
		push(argv, n, xstrdup("--fail-fast"));
	if (req->timeout_s)
		push(argv, n, xasprintf("--timeout=%llus", (unsigned long long)req->timeout_s));
	if (req->profile)
		push(argv, n, xasprintf("--profile=%s", req->profile));
	if (req->share)
		push(argv, n, xasprintf("--share=%s", req->share));
	if (req->seccomp_profile)
		push(argv, n, xasprintf("--seccomp-profile=%s", req->seccomp_profile));
}

char **capsule_cntr_argv(const struct capsule_request *req, const char *capsule_id, const struct capsule_node *node)
{
	_cleanup_strv_ char **argv = NULL;
	size_t n = 0;

	/* Checked again where they go on the command line, whoever built the request. */
	if (!lambda_container_id_is_valid(capsule_id))
		return NULL;
	push(&argv, &n, xstrdup("cntr"));
	push(&argv, &n, xstrdup("capsule"));
	push(&argv, &n, xstrdup("run"));
	push(&argv, &n, xstrdup("-t"));
	push(&argv, &n, xstrdup("id"));
	if (req->verbose_cntr)
		push(&argv, &n, xstrdup("-v"));
	push(&argv, &n, xstrdup("--json"));
	push(&argv, &n, xasprintf("--from-container=%s", capsule_id));
	push_policy(req, &argv, &n);
	for (size_t i = 0; i < node->n; i++) {
		const struct capsule_container *t = node->targets[i];
		if (!lambda_container_id_is_valid(t->container_id))
			return NULL;
		push(&argv, &n, xasprintf("--name=%s=%s", t->container_id, t->name));
	}
	push(&argv, &n, xstrdup("--"));
	for (size_t i = 0; i < node->n; i++)
		push(&argv, &n, xstrdup(node->targets[i]->container_id));
	push(&argv, &n, xstrdup("--"));
	for (char *const *c = req->command; *c; c++)
		push(&argv, &n, xstrdup(*c));
	return steal_pointer(&argv);
}

bool lambda_capsule_share_is_valid(const char *text)
{
	static const char *const known[] = { "uts", "ipc", "net", "pid", "cgroup" };
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, ","), k;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (strlen(known[k]) == len && strncmp(p, known[k], len) == 0)
				break;
		if (k == sizeof(known) / sizeof(known[0]))
			return false;
		p += len;
		if (*p == ',' && *++p == '\0')
			return false;
	}
	return *text != '\0';
}
