/* REST calls to the API server: JSON in, JSON out, API errors as one-line messages. */
#pragma once
#include <jansson.h>

#include "kube/kubeconfig.h"

struct cntr_err;

/* The response of one call. */
struct kube_response {
	long http_status; /* 0 when no HTTP response was received (connection, TLS, timeout) */
	json_t *body;     /* parsed JSON body (object) when the server sent one, else NULL;
			   * set on failures too, e.g. the Status of a 404/409 */
};

/* One request: method "GET", "POST", "PUT", "PATCH" or "DELETE"; path as in kube_http_open;
 * body sent as application/json when non-NULL (PATCH: application/merge-patch+json). Returns 0 for a 2xx response with a JSON body
 * (or an empty body). Otherwise -1 with err->code CNTR_EXIT_FAILURE, err->msg the Status
 * message (`pods "web" not found`), and resp->http_status kept so callers can tell 404 from
 * 403. resp must be released with kube_response_clear in both cases. */
int kube_request(struct kube_config *cfg, const char *method, const char *path,
		 const json_t *body, struct kube_response *resp, struct cntr_err *err);

static inline int kube_get(struct kube_config *cfg, const char *path,
			   struct kube_response *resp, struct cntr_err *err)
{
	return kube_request(cfg, "GET", path, NULL, resp, err);
}

static inline int kube_post(struct kube_config *cfg, const char *path, const json_t *body,
			    struct kube_response *resp, struct cntr_err *err)
{
	return kube_request(cfg, "POST", path, body, resp, err);
}

/* body: DeleteOptions (e.g. {"gracePeriodSeconds":1}) or NULL. */
static inline int kube_delete(struct kube_config *cfg, const char *path, const json_t *body,
			      struct kube_response *resp, struct cntr_err *err)
{
	return kube_request(cfg, "DELETE", path, body, resp, err);
}

/* PATCH with an explicit patch media type ("application/strategic-merge-patch+json",
 * "application/json-patch+json"...); otherwise as kube_request. */
int kube_patch(struct kube_config *cfg, const char *path, const json_t *body, const char *content_type,
	       struct kube_response *resp, struct cntr_err *err);

void kube_response_clear(struct kube_response *resp);

static inline void cleanup_kube_responsep(struct kube_response *r)
{
	kube_response_clear(r);
}
#define _cleanup_kube_response_ __attribute__((cleanup(cleanup_kube_responsep)))
