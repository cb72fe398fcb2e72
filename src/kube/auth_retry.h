/* The one place where an expired or revoked credential is renewed around a call to the API
 * server (REST, watch and exec all go through it), as kubectl does: renew what is known to be
 * expired before the call; when the server answers 401 all the same, renew once and call again. */
#pragma once

#include "kube/kubeconfig.h"

struct cntr_err;

/* One attempt of the call: returns < 0 on failure with err filled, and *http_status the HTTP
 * status the server answered (0 when none); any other return value is passed through. An
 * attempt answered 401 must have done nothing, so calling it again is safe. */
typedef int (*kube_attempt_fn)(struct kube_config *cfg, void *ctx, long *http_status, struct cntr_err *err);

/* Run attempt with fresh credentials, once more after a 401 if the credentials could be
 * renewed. Returns what the last attempt returned; a failed renewal is added to err as a hint. */
int kube_with_fresh_credentials(struct kube_config *cfg, kube_attempt_fn attempt, void *ctx,
				struct cntr_err *err);
