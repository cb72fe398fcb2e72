#include "kube/rest.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/log.h"
#include "common/strutil.h"
#include "kube/auth_retry.h"
#include "kube/bytebuf.h"
#include "kube/http.h"
#include "kube/http_body.h"
#include "kube/safe_text.h"
#include "kube/status.h"

/* A single REST call never legitimately takes this long; watches have their own timeouts. */
#define KUBE_REST_TIMEOUT_S 60L
/* An overloaded API server (API Priority and Fairness) answers 429 with Retry-After, having
 * done nothing: wait as asked and try again, a few times, as client-go does. */
#define KUBE_RETRY_ATTEMPTS 5
#define KUBE_RETRY_WAIT_MAX_S 10L

static int parse_success_body(struct kube_http *h, const char *method, struct bytebuf *body,
			      struct kube_response *resp, struct cntr_err *err)
{
	json_error_t jerr;

	if (!body->len)
		return 0;
	resp->body = json_loadb((const char *)body->data, body->len, 0, &jerr);
	if (!resp->body) {
		/* jansson's text quotes the offending bytes. */
		_cleanup_free_ char *why = kube_safe_text(jerr.text);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s %s: the server's answer is not JSON (%s)",
				 method, h->display_url, why);
	}
	return 0;
}

static int fail_from_status(const struct kube_config *cfg, struct kube_http *h, const char *method,
			    struct bytebuf *body, struct kube_response *resp, struct cntr_err *err)
{
	_cleanup_free_ char *msg = kube_status_message(resp->http_status, (const char *)body->data, body->len);
	json_t *parsed = body->len ? json_loadb((const char *)body->data, body->len, 0, NULL) : NULL;

	if (json_is_object(parsed))
		resp->body = parsed;
	else
		json_decref(parsed);
	/* A Status message names the object already; a bare "HTTP 502" needs the request. */
	if (resp->body && json_object_get(resp->body, "message"))
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s", msg);
	else
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s %s: %s", method, h->display_url, msg);
	if (resp->http_status == 401)
		cntr_err_hint(err, "the API server did not accept the credentials of user \"%s\" in %s",
			      cfg->user_name ? cfg->user_name : "(none)", cfg->source);
	return -1;
}

/* Whether a request must go out exactly once (see request_once). Reviews (SelfSubjectReview,
 * SubjectAccessReview, TokenReview: paths ending in "reviews") are POSTs the server answers
 * without storing anything, so a repeat is harmless and they may share the connection. */
static bool must_be_sent_once(const char *method, const char *path)
{
	size_t n = strlen(path);

	if (strcmp(method, "PATCH") == 0)
		return true;
	return strcmp(method, "POST") == 0 && !(n >= 7 && strcmp(path + n - 7, "reviews") == 0);
}

static int request_once(const struct kube_config *cfg, const char *method, const char *path,
			const json_t *body, const char *content_type, struct kube_response *resp,
			long *retry_after_s, bool *connection_lost, struct cntr_err *err)
{
	_cleanup_kube_http_ struct kube_http h = { 0 };
	_cleanup_kube_body_ struct kube_body received = { 0 };
	_cleanup_free_ char *payload = NULL, *type_header = NULL;
	curl_off_t retry_after;
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	*retry_after_s = 0;
	*connection_lost = false;
	if (kube_http_open(&h, cfg, path, NULL, err) < 0)
		return -1;
	curl_easy_setopt(h.curl, CURLOPT_CUSTOMREQUEST, method);
	/* libcurl sends a request again, unasked, when a reused connection dies before any answer,
	 * which would repeat a POST the server may have carried out (a second agent pod). What is
	 * not idempotent goes on a connection of its own, so it is sent once, as Go's net/http
	 * does; the connection then joins the shared cache for the requests after it. */
	if (must_be_sent_once(method, path))
		curl_easy_setopt(h.curl, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h.curl, CURLOPT_TIMEOUT, KUBE_REST_TIMEOUT_S);
	curl_easy_setopt(h.curl, CURLOPT_WRITEFUNCTION, kube_body_collect);
	curl_easy_setopt(h.curl, CURLOPT_WRITEDATA, &received);
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s %s: cannot encode the request body",
					 method, h.display_url);
		/* The API server only takes patches in a patch media type; JSON merge patch is the
		 * one a plain JSON object means. */
		if (!content_type)
			content_type = strcmp(method, "PATCH") == 0 ? "application/merge-patch+json" : "application/json";
		type_header = xasprintf("Content-Type: %s", content_type);
		kube_http_add_header(&h, type_header);
		curl_easy_setopt(h.curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(h.curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h.curl, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(h.curl);
	if (received.too_large)
		return kube_body_fail_too_large(&h, method, err);
	if (rc != CURLE_OK) {
		*connection_lost = kube_http_connection_lost(rc);
		return kube_http_fail(&h, method, rc, err);
	}
	curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, &resp->http_status);
	retry_after = 0;
	if (curl_easy_getinfo(h.curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK && retry_after > 0)
		*retry_after_s = retry_after > KUBE_RETRY_WAIT_MAX_S ? KUBE_RETRY_WAIT_MAX_S : (long)retry_after;
	if (resp->http_status >= 200 && resp->http_status < 300)
		return parse_success_body(&h, method, &received.data, resp, err);
	return fail_from_status(cfg, &h, method, &received.data, resp, err);
}


/* 429 always means "not done, come back later"; a 5xx only when the server says when. A
 * connection that broke under a GET or DELETE (idempotent: a repeated DELETE is a 404 callers
 * take as "gone") is tried again at once, as client-go does for GETs; a POST may have been
 * carried out, so its caller decides. */
static bool worth_retrying(const char *method, long http_status, long retry_after_s, bool connection_lost)
{
	if (connection_lost)
		return strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0;
	return http_status == 429 || (http_status >= 500 && retry_after_s > 0);
}

static int request_with_retries(const struct kube_config *cfg, const char *method, const char *path,
				const json_t *body, const char *content_type, struct kube_response *resp,
				struct cntr_err *err)
{
	for (int attempt = 1;; attempt++) {
		long retry_after_s = 0;
		bool lost = false;
		int r = request_once(cfg, method, path, body, content_type, resp, &retry_after_s, &lost, err);

		if (r == 0 || attempt == KUBE_RETRY_ATTEMPTS || kube_http_interrupted() ||
		    !worth_retrying(method, resp->http_status, retry_after_s, lost))
			return r;
		if (lost) {
			log_info("%s; trying again", err->msg);
		} else {
			if (!retry_after_s)
				retry_after_s = 1;
			log_info("%s; trying again in %lds", err->msg, retry_after_s);
			if (kube_http_sleep((unsigned)retry_after_s * 1000) < 0)
				return r;
		}
		kube_response_clear(resp);
	}
}

struct request {
	const char *method, *path;
	const json_t *body;
	const char *content_type;  /* NULL: application/json, merge patch for PATCH */
	struct kube_response *resp;
};

static int request_attempt(struct kube_config *cfg, void *ctx, long *http_status, struct cntr_err *err)
{
	struct request *q = ctx;
	int r;

	kube_response_clear(q->resp);
	r = request_with_retries(cfg, q->method, q->path, q->body, q->content_type, q->resp, err);
	*http_status = q->resp->http_status;
	return r;
}

int kube_request(struct kube_config *cfg, const char *method, const char *path,
		 const json_t *body, struct kube_response *resp, struct cntr_err *err)
{
	struct request q = { .method = method, .path = path, .body = body, .resp = resp };

	memset(resp, 0, sizeof(*resp));
	return kube_with_fresh_credentials(cfg, request_attempt, &q, err);
}

int kube_patch(struct kube_config *cfg, const char *path, const json_t *body, const char *content_type,
	       struct kube_response *resp, struct cntr_err *err)
{
	struct request q = { .method = "PATCH", .path = path, .body = body, .content_type = content_type,
			     .resp = resp };

	memset(resp, 0, sizeof(*resp));
	return kube_with_fresh_credentials(cfg, request_attempt, &q, err);
}

void kube_response_clear(struct kube_response *resp)
{
	json_decref(resp->body);
	resp->body = NULL;
	resp->http_status = 0;
}
