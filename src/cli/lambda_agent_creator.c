/* Who is creating agents: the user name the API server itself gives this client in a
 * SelfSubjectReview (authentication.k8s.io/v1, API servers >= 1.28), else the kubeconfig's user
 * entry name. Recorded on every agent (LAMBDA_AGENT_CREATOR_ANNOTATION) so that only its
 * creator reuses it warm. */
#include "cli/lambda_agent.h"

#include "cli/lambda_json.h"
#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/rest.h"

#define SELF_SUBJECT_REVIEWS "/apis/authentication.k8s.io/v1/selfsubjectreviews"

char *lambda_agent_creator(struct kube_config *cfg)
{
	_cleanup_kube_response_ struct kube_response resp = { 0 };
	json_auto_t *review = json_pack("{s:s, s:s}", "apiVersion", "authentication.k8s.io/v1", "kind",
					 "SelfSubjectReview");
	struct cntr_err err = { 0 };
	const char *user;

	if (kube_post(cfg, SELF_SUBJECT_REVIEWS, review, &resp, &err) == 0) {
		user = json_str(json_object_get(json_object_get(resp.body, "status"), "userInfo"), "username");
		if (*user)
			return xstrdup(user);
	}
	user = cfg->user_name ? cfg->user_name : "unknown";
	log_info("who am I: %s; agents are marked as created by the kubeconfig user \"%s\"",
		 err.msg[0] ? err.msg : "no user name in the SelfSubjectReview", user);
	return xstrdup(user);
}
