#include "kube/status.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

#include "common/strutil.h"
#include "kube/safe_text.h"

static bool is_status_object(const json_t *obj)
{
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	return json_is_object(obj) && kind && strcmp(kind, "Status") == 0;
}

char *kube_status_message_json(long http_status, const json_t *status)
{
	const char *message = json_string_value(json_object_get(status, "message"));
	const char *reason = kube_status_reason(status);

	_cleanup_free_ char *safe_reason = NULL;

	if (message && *message)
		return kube_safe_text(message);
	if (reason && *reason) {
		safe_reason = kube_safe_text(reason);
		return xasprintf("%s (HTTP %ld)", safe_reason, http_status);
	}
	return xasprintf("HTTP %ld", http_status);
}

char *kube_status_message(long http_status, const char *body, size_t len)
{
	json_t *obj;
	char *msg;
	size_t line_len;

	if (body && len) {
		obj = json_loadb(body, len, 0, NULL);
		if (is_status_object(obj)) {
			msg = kube_status_message_json(http_status, obj);
			json_decref(obj);
			return msg;
		}
		json_decref(obj);
		/* Not a Status (a proxy's HTML page, a plain-text error): its first line. */
		while (len && (*body == '\n' || *body == '\r' || *body == ' '))
			body++, len--;
		for (line_len = 0; line_len < len && line_len < 200; line_len++)
			if (body[line_len] == '\n' || body[line_len] == '\r')
				break;
		if (line_len) {
			char *line = kube_safe_textn(body, line_len);
			msg = xasprintf("HTTP %ld: %s", http_status, line);
			free(line);
			return msg;
		}
	}
	return xasprintf("HTTP %ld", http_status);
}

const char *kube_status_reason(const json_t *status)
{
	return json_string_value(json_object_get(status, "reason"));
}

long kube_status_code(const json_t *status)
{
	return (long)json_integer_value(json_object_get(status, "code"));
}
