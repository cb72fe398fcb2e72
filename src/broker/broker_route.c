#include "broker/broker_route.h"

#include <stdlib.h>
#include <string.h>

#include "cli/lambda_ids.h"
#include "common/strutil.h"

#define GROUP_PATH "/apis/debug.lambda-cntr.io"
#define VERSION_PATH GROUP_PATH "/v1alpha1"

const char broker_api_group_json[] =
	"{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"debug.lambda-cntr.io\","
	"\"versions\":[{\"groupVersion\":\"debug.lambda-cntr.io/v1alpha1\",\"version\":\"v1alpha1\"}],"
	"\"preferredVersion\":{\"groupVersion\":\"debug.lambda-cntr.io/v1alpha1\",\"version\":\"v1alpha1\"}}";

const char broker_api_resources_json[] =
	"{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"debug.lambda-cntr.io/v1alpha1\","
	"\"resources\":[{\"name\":\"pods/attach\",\"singularName\":\"\",\"namespaced\":true,"
	"\"kind\":\"PodAttachOptions\",\"verbs\":[\"create\",\"get\"]},"
	"{\"name\":\"nodes/attach\",\"singularName\":\"\",\"namespaced\":false,"
	"\"kind\":\"NodeAttachOptions\",\"verbs\":[\"create\",\"get\"]},"
	"{\"name\":\"nodes/capsule\",\"singularName\":\"\",\"namespaced\":false,"
	"\"kind\":\"NodeCapsuleOptions\",\"verbs\":[\"create\",\"get\"]}]}";

/* Split path (after prefix) into at most max '/'-separated components; -1 when there are more. */
static int split(const char *rest, char **parts, int max)
{
	int n = 0;

	while (*rest == '/' && rest[1]) {
		const char *start = rest + 1, *end = strchr(start, '/');
		size_t len = end ? (size_t)(end - start) : strlen(start);
		if (n == max || len == 0)
			return -1;
		parts[n++] = xstrndup(start, len);
		rest = start + len;
	}
	return *rest ? -1 : n;
}

void broker_route_parse(const char *path, struct broker_route *r)
{
	char *parts[5] = { 0 };
	int n;

	memset(r, 0, sizeof(*r));
	if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz") || !strcmp(path, "/livez")) {
		r->kind = BROKER_ROUTE_HEALTH;
		return;
	}
	if (!strcmp(path, GROUP_PATH) || !strcmp(path, GROUP_PATH "/")) {
		r->kind = BROKER_ROUTE_GROUP;
		return;
	}
	if (!str_has_prefix(path, VERSION_PATH))
		return;
	if (!strcmp(path, VERSION_PATH) || !strcmp(path, VERSION_PATH "/")) {
		r->kind = BROKER_ROUTE_VERSION;
		return;
	}
	n = split(path + strlen(VERSION_PATH), parts, 5);
	if (n == 5 && !strcmp(parts[0], "namespaces") && !strcmp(parts[2], "pods") && !strcmp(parts[4], "attach") &&
	    lambda_object_name_is_valid(parts[1]) && lambda_object_name_is_valid(parts[3])) {
		r->kind = BROKER_ROUTE_POD_ATTACH;
		r->ns = parts[1];
		r->name = parts[3];
		parts[1] = parts[3] = NULL;
	} else if (n == 3 && !strcmp(parts[0], "nodes") &&
		   (!strcmp(parts[2], "attach") || !strcmp(parts[2], "capsule")) && lambda_object_name_is_valid(parts[1])) {
		r->kind = !strcmp(parts[2], "attach") ? BROKER_ROUTE_NODE_ATTACH : BROKER_ROUTE_NODE_CAPSULE;
		r->name = parts[1];
		parts[1] = NULL;
	}
	for (int i = 0; i < 5; i++)
		free(parts[i]);
}

void broker_route_free(struct broker_route *r)
{
	free(r->ns);
	free(r->name);
	memset(r, 0, sizeof(*r));
}
