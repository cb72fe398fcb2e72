/* Request paths of the core API and their query strings, built in one place: every component
 * percent-encoded, namespaced resources under /api/v1/namespaces/NS. */
#pragma once
#include <stddef.h>

/* "/api/v1/namespaces/NS/RESOURCE[/NAME[/SUBRESOURCE]]" (name and subresource may be NULL).
 * malloc'd. */
char *kube_api_path(const char *ns, const char *resource, const char *name, const char *subresource);

/* The pods collection of a namespace, and one pod (sub: NULL, "exec", "log"...). malloc'd. */
static inline char *kube_pods_path(const char *ns)
{
	return kube_api_path(ns, "pods", NULL, NULL);
}

static inline char *kube_pod_path(const char *ns, const char *name, const char *sub)
{
	return kube_api_path(ns, "pods", name, sub);
}

/* Append key=value (value percent-encoded) to *path with '?' or '&'; *path is reallocated. */
void kube_path_append_query(char **path, const char *key, const char *value);
