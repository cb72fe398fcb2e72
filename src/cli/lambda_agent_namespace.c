/* Which namespace the agent pods go to in agent-pod mode: --agent-namespace when given, else
 * lambda-cntr-system when it exists (created by deploy/, Pod Security "privileged" there only),
 * else nothing: a privileged hostPID pod never lands in the application's namespace unasked. */
#include "cli/lambda_agent.h"

#include <stdlib.h>

#include "cli/lambda_agent_spec.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/http.h"
#include "kube/rest.h"

int lambda_agent_namespace(struct kube_config *cfg, const char *explicit_ns, char **ns, struct cntr_err *err)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	_cleanup_free_ char *name = kube_url_escape(LAMBDA_AGENT_DEFAULT_NAMESPACE);
	_cleanup_free_ char *path = xasprintf("/api/v1/namespaces/%s", name);

	if (explicit_ns) {
		*ns = xstrdup(explicit_ns);
		return 0;
	}
	if (kube_get(cfg, path, &resp, err) == 0) {
		*ns = xstrdup(LAMBDA_AGENT_DEFAULT_NAMESPACE);
		return 0;
	}
	if (resp.http_status == 404)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "no namespace for the agent: %s does not exist; install it (kubectl apply -f deploy/) "
				 "or pass --agent-namespace NS (a namespace that admits privileged pods)",
				 LAMBDA_AGENT_DEFAULT_NAMESPACE);
	/* Reading a namespace is often not granted even where pods may be created: the requests
	 * made there next give the real answer (and the hint, lambda_agent_create.c). */
	if (resp.http_status == 403) {
		log_info("cannot check that namespace %s exists (%s); using it", LAMBDA_AGENT_DEFAULT_NAMESPACE,
			 err->msg);
		cntr_err_clear(err);
		*ns = xstrdup(LAMBDA_AGENT_DEFAULT_NAMESPACE);
		return 0;
	}
	return cntr_err_prefix(err, "looking for the agent namespace %s: ", LAMBDA_AGENT_DEFAULT_NAMESPACE);
}
