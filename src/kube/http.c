#include "kube/http.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/safe_text.h"

static const volatile sig_atomic_t *interrupt_flag;
static bool interrupt_seen;
/* Keep-alive across the requests of one command: every handle shares one connection cache (and
 * TLS sessions and DNS), so REST calls after the first reuse its connection instead of a new
 * TCP and TLS handshake each (libcurl checks that the TLS settings of a cached connection match
 * before reusing it). One thread only: no locking callbacks needed. */
static CURLSH *shared;

static void global_cleanup(void)
{
	/* Closes the cached connections; every easy handle is gone by now. */
	curl_share_cleanup(shared);
	shared = NULL;
	curl_global_cleanup();
}

/* Connections, TLS sessions and DNS answers shared between requests; NULL on failure. */
static CURLSH *new_connection_cache(void)
{
	CURLSH *share = curl_share_init();

	if (share && (curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
		      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
		      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)) {
		curl_share_cleanup(share);
		share = NULL;
	}
	return share;
}

int kube_http_global_init(struct cntr_err *err)
{
	static bool done;
	CURLcode rc;

	if (done)
		return 0;
	rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "libcurl initialisation failed: %s",
				 curl_easy_strerror(rc));
	shared = new_connection_cache();
	if (!shared) {
		curl_global_cleanup();
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "libcurl: cannot share connections between requests");
	}
	atexit(global_cleanup);
	done = true;
	return 0;
}

void kube_http_after_fork(void)
{
	/* The parent's cached connections are its own (a TLS stream cannot be shared): abandon
	 * them without closing (that would send close_notify on the parent's connection). */
	shared = new_connection_cache(); /* NULL: every request makes its own connection */
}

void kube_http_set_interrupt_flag(const volatile sig_atomic_t *flag)
{
	interrupt_flag = flag;
	interrupt_seen = false;
}

bool kube_http_interrupted(void)
{
	if (interrupt_flag && *interrupt_flag)
		interrupt_seen = true;
	return interrupt_seen;
}

int kube_http_sleep(unsigned ms)
{
	for (unsigned slept = 0; slept < ms && !kube_http_interrupted(); slept += 100)
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000 * 1000 }, NULL);
	return kube_http_interrupted() ? -1 : 0;
}

/* libcurl calls this at least once a second during a transfer, even while idle: the hook that
 * lets Ctrl-C end a blocking request or watch promptly. */
static int xferinfo_check_interrupt(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
				   curl_off_t ultotal, curl_off_t ulnow)
{
	return kube_http_interrupted() ? 1 : 0;
}

static void apply_headers(struct kube_http *h)
{
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
}

void kube_http_add_header(struct kube_http *h, const char *line)
{
	struct curl_slist *n = curl_slist_append(h->headers, line);
	if (!n)
		abort();
	h->headers = n;
	apply_headers(h);
}

static void set_blob(CURL *curl, CURLoption opt, const struct kube_blob *b)
{
	struct curl_blob blob = { .data = b->data, .len = b->len, .flags = CURL_BLOB_COPY };
	curl_easy_setopt(curl, opt, &blob);
}

/* Trust: the cluster's CA only (never the system bundle, as kubectl), or nothing at all. */
static void apply_server_trust(struct kube_http *h, const struct kube_config *cfg)
{
	if (cfg->insecure_skip_tls_verify) {
		curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 0L);
		return;
	}
	if (cfg->ca_data.data || cfg->ca_file)
		curl_easy_setopt(h->curl, CURLOPT_CAPATH, NULL);
	if (cfg->ca_data.data)
		set_blob(h->curl, CURLOPT_CAINFO_BLOB, &cfg->ca_data);
	else if (cfg->ca_file)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, cfg->ca_file);
}

static void apply_client_identity(struct kube_http *h, const struct kube_config *cfg)
{
	if (cfg->client_cert_data.data)
		set_blob(h->curl, CURLOPT_SSLCERT_BLOB, &cfg->client_cert_data);
	else if (cfg->client_cert_file)
		curl_easy_setopt(h->curl, CURLOPT_SSLCERT, cfg->client_cert_file);
	if (cfg->client_key_data.data)
		set_blob(h->curl, CURLOPT_SSLKEY_BLOB, &cfg->client_key_data);
	else if (cfg->client_key_file)
		curl_easy_setopt(h->curl, CURLOPT_SSLKEY, cfg->client_key_file);
	curl_easy_setopt(h->curl, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(h->curl, CURLOPT_SSLKEYTYPE, "PEM");
	if (cfg->token) {
		_cleanup_free_ char *auth = xasprintf("Authorization: Bearer %s", cfg->token);
		kube_http_add_header(h, auth);
	}
}

/* libcurl 7.88 has no option for the TLS server name alone. Request the URL with the
 * tls-server-name as host (so SNI and certificate verification use it), connect to the real
 * server with CONNECT_TO, and send the real host in the Host header. */
static int route_by_tls_server_name(struct kube_http *h, const struct kube_config *cfg,
				    struct cntr_err *err)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *url = NULL;
	_cleanup_free_ char *connect_to = NULL, *host_header = NULL;
	int r = 0;

	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, h->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, cfg->tls_server_name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		r = cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: server %s with tls-server-name %s is not a valid URL",
			      cfg->source, cfg->server, cfg->tls_server_name);
	} else {
		connect_to = xasprintf("%s:%s:%s:%s", cfg->tls_server_name, port, host, port);
		host_header = xasprintf("Host: %s:%s", host, port);
		free(h->url);
		h->url = xstrdup(url);
		h->connect_to = curl_slist_append(NULL, connect_to);
		if (!h->connect_to)
			abort();
		curl_easy_setopt(h->curl, CURLOPT_CONNECT_TO, h->connect_to);
		kube_http_add_header(h, host_header);
	}
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return r;
}

static int build_url(struct kube_http *h, const struct kube_config *cfg, const char *path,
		     struct cntr_err *err)
{
	/* Messages show the path without its query: exec queries repeat the whole command. */
	h->display_url = xasprintf("%s%.*s", cfg->server, (int)strcspn(path, "?"), path);
	h->url = xasprintf("%s%s", cfg->server, path);
	return cfg->tls_server_name ? route_by_tls_server_name(h, cfg, err) : 0;
}

int kube_http_open(struct kube_http *h, const struct kube_config *cfg, const char *path,
		   const char *const *extra_headers, struct cntr_err *err)
{
	memset(h, 0, sizeof(*h));
	if (kube_http_global_init(err) < 0)
		return -1;
	h->curl = curl_easy_init();
	if (!h->curl)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "libcurl: cannot create a handle");
	if (build_url(h, cfg, path, err) < 0) {
		kube_http_close(h);
		return -1;
	}
	curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
	curl_easy_setopt(h->curl, CURLOPT_SHARE, shared);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "lambda-cntr/" CNTR_VERSION);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, xferinfo_check_interrupt);
	/* As kubectl: a proxy-url is used for every request, whatever $NO_PROXY says; without one,
	 * $HTTPS_PROXY/$https_proxy and $NO_PROXY apply (libcurl reads them). */
	if (cfg->proxy_url) {
		curl_easy_setopt(h->curl, CURLOPT_PROXY, cfg->proxy_url);
		curl_easy_setopt(h->curl, CURLOPT_NOPROXY, "");
	}
	apply_server_trust(h, cfg);
	kube_http_add_header(h, "Accept: application/json");
	apply_client_identity(h, cfg);
	for (const char *const *line = extra_headers; line && *line; line++)
		kube_http_add_header(h, *line);
	return 0;
}

static const char *hint_for(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
		return "is the API server running and reachable from here (server in the kubeconfig)?";
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return "the server certificate is not trusted: check certificate-authority(-data) and tls-server-name";
	case CURLE_SSL_CERTPROBLEM:
		return "check client-certificate(-data) and client-key(-data) in the kubeconfig";
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "check proxy-url in the kubeconfig";
	default:
		return NULL;
	}
}

int kube_http_fail(struct kube_http *h, const char *method, CURLcode rc, struct cntr_err *err)
{
	const char *hint = hint_for(rc);
	_cleanup_free_ char *detail = NULL;

	if (rc == CURLE_ABORTED_BY_CALLBACK && kube_http_interrupted())
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s %s: interrupted", method, h->display_url);
	/* libcurl's error buffer is the specific message; its strerror only the category. It may
	 * quote what the peer sent (a proxy's status line), hence the escaping. */
	detail = kube_safe_text(h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
	cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s %s: %s", method, h->display_url, detail);
	if (hint)
		cntr_err_hint(err, "%s", hint);
	return -1;
}

bool kube_http_connection_lost(CURLcode rc)
{
	switch (rc) {
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

void kube_http_close(struct kube_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->connect_to);
	curl_slist_free_all(h->headers);
	free(h->url);
	free(h->display_url);
	memset(h, 0, sizeof(*h));
}

char *kube_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		abort();
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}
