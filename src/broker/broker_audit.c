#include "broker/broker_audit.h"

#include <stdlib.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/strutil.h"

char *broker_audit_start_message(const struct broker_session_info *s)
{
	if (s->pod)
		return xasprintf("user \"%s\" attached to container \"%s\" with profile \"%s\"", s->user, s->container,
				 s->profile);
	return xasprintf("user \"%s\" attached to node \"%s\" with profile \"%s\"", s->user, s->node, s->profile);
}

char *broker_audit_end_message(const struct broker_session_info *s, int exit_status, const char *why,
			       double seconds)
{
	_cleanup_free_ char *subject = s->pod ? xasprintf("container \"%s\"", s->container)
					      : xasprintf("node \"%s\"", s->node);

	if (exit_status >= 0)
		return xasprintf("session of user \"%s\" on %s with profile \"%s\" ended: exit status %d after %.1fs",
				 s->user, subject, s->profile, exit_status, seconds);
	return xasprintf("session of user \"%s\" on %s with profile \"%s\" ended without an exit status (%s) "
			 "after %.1fs", s->user, subject, s->profile, why ? why : "connection closed", seconds);
}

char *broker_audit_agent_line(const struct broker_session_info *s, const char *instance)
{
	if (s->pod)
		return xasprintf("user \"%s\" on pod \"%s/%s\" container \"%s\" with profile \"%s\", broker \"%s\"",
				 s->user, s->ns, s->pod, s->container, s->profile, instance);
	return xasprintf("user \"%s\" on node \"%s\" with profile \"%s\", broker \"%s\"", s->user, s->node,
			 s->profile, instance);
}

static char *now_rfc3339(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

json_t *broker_audit_event(const struct broker_session_info *s, const char *reason, const char *message,
			   const char *reporting_instance)
{
	_cleanup_free_ char *now = now_rfc3339();
	const char *ns = s->pod ? s->ns : "default";
	json_t *involved = s->pod ? json_pack("{s:s, s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Pod", "namespace",
					      s->ns, "name", s->pod)
				  : json_pack("{s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Node", "name", s->node);
	json_t *ev;

	if (s->pod && s->pod_uid)
		json_object_set_new(involved, "uid", json_string(s->pod_uid));
	if (s->pod && s->container)
		json_object_set_new(involved, "fieldPath", json_sprintf("spec.containers{%s}", s->container));
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:i}",
		       "apiVersion", "v1", "kind", "Event", "metadata", "generateName",
		       s->pod ? "lambda-cntr-debug-" : "lambda-cntr-node-debug-", "namespace", ns, "involvedObject",
		       involved, "reason", reason, "message", message, "type", "Normal", "source", "component",
		       BROKER_COMPONENT, "host", s->node ? s->node : "", "reportingComponent", BROKER_COMPONENT,
		       "reportingInstance", reporting_instance ? reporting_instance : BROKER_COMPONENT,
		       "firstTimestamp", now, "lastTimestamp", now, "count", 1);
	if (!ev)
		abort();
	return ev;
}

char *broker_audit_capsule_start_message(const struct broker_session_info *s, const char *image)
{
	return xasprintf("user \"%s\" started capsule image \"%s\" in container \"%s\" with profile \"%s\"", s->user,
			 image, s->container, s->profile);
}

char *broker_audit_capsule_end_message(const struct broker_session_info *s, const char *image, int exit_status,
				       const char *why, double seconds)
{
	if (exit_status >= 0)
		return xasprintf("capsule run of user \"%s\" (image \"%s\") in container \"%s\" ended: the node's run "
				 "exited %d after %.1fs", s->user, image, s->container, exit_status, seconds);
	return xasprintf("capsule run of user \"%s\" (image \"%s\") in container \"%s\" ended without an exit status "
			 "(%s) after %.1fs", s->user, image, s->container, why ? why : "connection closed", seconds);
}
