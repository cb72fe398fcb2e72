#include "kube/api_path.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "kube/http.h"

char *kube_api_path(const char *ns, const char *resource, const char *name, const char *subresource)
{
	_cleanup_free_ char *ns_esc = kube_url_escape(ns);
	_cleanup_free_ char *name_esc = name ? kube_url_escape(name) : NULL;

	if (!name)
		return xasprintf("/api/v1/namespaces/%s/%s", ns_esc, resource);
	if (!subresource)
		return xasprintf("/api/v1/namespaces/%s/%s/%s", ns_esc, resource, name_esc);
	return xasprintf("/api/v1/namespaces/%s/%s/%s/%s", ns_esc, resource, name_esc, subresource);
}

void kube_path_append_query(char **path, const char *key, const char *value)
{
	_cleanup_free_ char *escaped = kube_url_escape(value);
	char *old = *path;

	*path = xasprintf("%s%c%s=%s", old, strchr(old, '?') ? '&' : '?', key, escaped);
	free(old);
}
