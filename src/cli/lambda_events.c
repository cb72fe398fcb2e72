#include "cli/lambda_events.h"
#include "cli/lambda_json.h"
#include "cli/lambda_text.h"

#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/http.h"
#include "kube/rest.h"
#include "kube/timestamp.h"


/* core/v1 events carry lastTimestamp; those written through events.k8s.io/v1 often only
 * eventTime (and a series). 0 when neither parses. */
static time_t event_time(const json_t *ev)
{
	static const char *const fields[] = { "lastTimestamp", "eventTime", "firstTimestamp" };
	time_t t;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (kube_parse_rfc3339(json_string_value(json_object_get(ev, fields[i])), &t) == 0)
			return t;
	}
	return 0;
}

char *lambda_last_warning_of(const json_t *event_list)
{
	_cleanup_texts_ struct lambda_texts tx = { 0 };
	const json_t *newest = NULL;
	time_t newest_time = 0;
	size_t i;
	json_t *ev;

	json_array_foreach(json_object_get(event_list, "items"), i, ev) {
		time_t t = event_time(ev);

		if (strcmp(json_str(ev, "type"), "Warning") != 0)
			continue;
		/* Equal times: the later item, as the server lists in creation order. */
		if (!newest || t >= newest_time) {
			newest = ev;
			newest_time = t;
		}
	}
	if (!newest)
		return NULL;
	/* Events are written by kubelets, controllers, anyone allowed to create them. */
	return xasprintf("%s: %s", lambda_json_text(&tx, newest, "reason"), lambda_json_text(&tx, newest, "message"));
}

char *lambda_pod_last_warning(struct kube_config *cfg, const char *ns, const char *name)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *selector = xasprintf("involvedObject.kind=Pod,involvedObject.name=%s", name);
	_cleanup_free_ char *path = kube_api_path(ns, "events", NULL, NULL);
	struct cntr_err err = { 0 };

	kube_path_append_query(&path, "fieldSelector", selector);
	if (kube_get(cfg, path, &resp, &err) < 0) {
		log_info("reading the events of pod %s/%s: %s", ns, name, err.msg);
		return NULL;
	}
	return lambda_last_warning_of(resp.body);
}
