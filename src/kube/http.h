/* The one place that turns a kube_config into a configured libcurl easy handle: server URL,
 * TLS trust (CA file or in-memory CA), client certificate/key (files or in-memory PEM),
 * insecure-skip-tls-verify, tls-server-name, proxy, bearer token, timeouts, and the
 * process-wide interrupt flag. REST, watch and exec all start from kube_http_open(). */
#pragma once
#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>

#include "kube/kubeconfig.h"

struct cntr_err;

struct kube_http {
	CURL *curl;
	struct curl_slist *headers;  /* owned; applied with CURLOPT_HTTPHEADER by kube_http_open */
	char *url;                   /* the full URL requested (after tls-server-name rewriting) */
	char *display_url;           /* server + path as the user knows it, for messages */
	struct curl_slist *connect_to; /* owned; CURLOPT_CONNECT_TO when tls-server-name is set */
	char errbuf[CURL_ERROR_SIZE];
};

/* Call once before any request (wraps curl_global_init); safe to call repeatedly. */
int kube_http_global_init(struct cntr_err *err);

/* In a forked child that makes API calls of its own: a fresh connection cache (the parent's
 * connections stay the parent's). */
void kube_http_after_fork(void);

/* Make every transfer (REST, watch, exec) abort soon after *flag becomes non-zero, e.g. from a
 * SIGINT/SIGTERM handler. Such transfers fail with err->code CNTR_EXIT_FAILURE and
 * kube_http_interrupted() returns true. NULL disables. */
void kube_http_set_interrupt_flag(const volatile sig_atomic_t *flag);
bool kube_http_interrupted(void);

/* Sleep ms, in small steps so that an interrupt ends the wait: -1 when interrupted. */
int kube_http_sleep(unsigned ms);

/* Prepare h for `server + path` (path starts with '/', may carry a query string).
 * extra_headers: NULL-terminated "Name: value" lines to add (may be NULL).
 * Sets TLS/auth/proxy options, Accept: application/json, a connect timeout, and the interrupt
 * hook; the caller adds the method, body and callbacks. On failure h is closed. */
int kube_http_open(struct kube_http *h, const struct kube_config *cfg, const char *path,
		   const char *const *extra_headers, struct cntr_err *err);

/* Append one header and re-apply the header list. */
void kube_http_add_header(struct kube_http *h, const char *line);

/* Fill err for a failed curl call: "GET https://...: <curl detail>" with a hint for TLS and
 * connection failures. Returns -1. */
int kube_http_fail(struct kube_http *h, const char *method, CURLcode rc, struct cntr_err *err);

void kube_http_close(struct kube_http *h);

/* The connection broke under the request (closed without an answer, reset, cut mid-body):
 * the server may or may not have acted on it. */
bool kube_http_connection_lost(CURLcode rc);

static inline void cleanup_kube_httpp(struct kube_http *h)
{
	kube_http_close(h);
}
#define _cleanup_kube_http_ __attribute__((cleanup(cleanup_kube_httpp)))

/* Percent-encode a query or path component (RFC 3986 unreserved kept). malloc'd. */
char *kube_url_escape(const char *s);
