#include "broker/broker_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/strutil.h"

json_t *broker_status(int code, const char *reason, const char *message, json_t *details)
{
	json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
			      "metadata", "status", "Failure", "message", message, "reason", reason, "code", code);

	if (!s)
		abort();
	if (details)
		json_object_set_new(s, "details", details);
	return s;
}

json_t *broker_status_fmt(int code, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	return broker_status(code, broker_status_reason(code), msg, NULL);
}

json_t *broker_status_unauthorized(void)
{
	return broker_status(401, "Unauthorized", "Unauthorized", NULL);
}

static char *with_reason(char *message, const char *why)
{
	char *full;

	if (!why || !*why)
		return message;
	full = xasprintf("%s: %s", message, why);
	free(message);
	return full;
}

json_t *broker_status_forbidden_pod(const char *user, const char *ns, const char *pod, const char *why)
{
	_cleanup_free_ char *msg = with_reason(
		xasprintf("pods \"%s\" is forbidden: User \"%s\" cannot create resource \"pods/exec\" in API "
			  "group \"\" in the namespace \"%s\"", pod, user, ns),
		why);

	return broker_status(403, "Forbidden", msg, json_pack("{s:s, s:s}", "name", pod, "kind", "pods"));
}

json_t *broker_status_forbidden_node(const char *user, const char *node, const char *why)
{
	_cleanup_free_ char *msg = with_reason(
		xasprintf("nodes \"%s\" is forbidden: User \"%s\" cannot create resource \"nodes/attach\" in "
			  "API group \"debug.lambda-cntr.io\" at the cluster scope", node, user),
		why);

	return broker_status(403, "Forbidden", msg,
			     json_pack("{s:s, s:s, s:s}", "name", node, "group", "debug.lambda-cntr.io", "kind", "nodes"));
}

const char *broker_status_reason(int code)
{
	static const struct {
		int code;
		const char *reason;
	} reasons[] = {
		{ 400, "BadRequest" },	      { 401, "Unauthorized" },	     { 403, "Forbidden" },
		{ 404, "NotFound" },	      { 405, "MethodNotAllowed" },   { 500, "InternalError" },
		{ 503, "ServiceUnavailable" },
	};
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].reason;
	return "InternalError";
}
