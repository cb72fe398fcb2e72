#include "kube/auth_retry.h"

#include "common/err.h"

int kube_with_fresh_credentials(struct kube_config *cfg, kube_attempt_fn attempt, void *ctx,
				struct cntr_err *err)
{
	struct cntr_err renew_err = { 0 };
	long http_status = 0;
	int r;

	if (kube_config_renew_expired(cfg, err) < 0)
		return -1;
	r = attempt(cfg, ctx, &http_status, err);
	if (r >= 0 || http_status != 401)
		return r;
	/* Expired or revoked before its time: renew once and try again. */
	switch (kube_config_renew_after_unauthorized(cfg, &renew_err)) {
	case 1:
		cntr_err_clear(err);
		return attempt(cfg, ctx, &http_status, err);
	case -1:
		return cntr_err_hint(err, "renewing the credentials failed: %s", renew_err.msg);
	default:
		return r;
	}
}
