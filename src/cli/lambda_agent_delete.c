/* Deleting an agent pod, and releasing what a struct lambda_agent holds. */
#include "cli/lambda_agent.h"
#include "cli/lambda_agent_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cli/lambda_json.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/rest.h"
#include "kube/safe_text.h"

int lambda_agent_delete(struct kube_config *cfg, const struct lambda_agent *a,
			struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *path = kube_pod_path(a->namespace, a->name, NULL);

	if (kube_delete(cfg, path, NULL, &resp, err) < 0) {
		if (resp.http_status == 404)
			return 0;  /* already gone (idle exit and someone else's cleanup) */
		return cntr_err_prefix(err, "deleting agent pod %s/%s: ", a->namespace, a->name);
	}
	return 0;
}

void lambda_agent_clear(struct lambda_agent *a)
{
	free(a->name);
	free(a->namespace);
	memset(a, 0, sizeof(*a));
}
