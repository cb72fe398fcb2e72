#include "kube/watch.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/api_path.h"
#include "kube/auth_retry.h"
#include "kube/http.h"
#include "kube/http_body.h"
#include "kube/safe_text.h"
#include "kube/status.h"

static const struct {
	const char *name;
	enum kube_watch_type type;
} watch_types[] = {
	{ "ADDED", KUBE_WATCH_ADDED },
	{ "MODIFIED", KUBE_WATCH_MODIFIED },
	{ "DELETED", KUBE_WATCH_DELETED },
	{ "BOOKMARK", KUBE_WATCH_BOOKMARK },
	{ "ERROR", KUBE_WATCH_ERROR },
};

/* The start of a bad event, for the message: enough to recognise it, never the whole line. */
static char *event_excerpt(const char *line, size_t len)
{
	return kube_safe_textn(line, len > 120 ? 120 : len);
}

int kube_watch_parse_event(const char *line, size_t len, enum kube_watch_type *type,
			   json_t **object, struct cntr_err *err)
{
	json_error_t jerr;
	json_auto_t *root = json_loadb(line, len, 0, &jerr);
	_cleanup_free_ char *excerpt = NULL, *why = NULL, *type_text = NULL;
	const char *type_name = NULL;
	json_t *obj;

	if (!root) {
		/* jansson quotes the offending token in its text: server bytes too. */
		why = kube_safe_text(jerr.text);
		excerpt = event_excerpt(line, len);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "watch: event is not JSON (%s): %s", why, excerpt);
	}
	/* The type decides what `object` is (a Status for ERROR): unpack it alone first, since
	 * json_unpack fails on any type mismatch, even of optional keys. */
	if (json_unpack_ex(root, &jerr, 0, "{s:s}", "type", &type_name) < 0) {
		excerpt = event_excerpt(line, len);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "watch: event without a type: %s", excerpt);
	}
	type_text = kube_safe_text(type_name);
	obj = json_object_get(root, "object");
	if (!json_is_object(obj))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "watch: %s event without an object", type_text);
	for (size_t i = 0; i < sizeof(watch_types) / sizeof(watch_types[0]); i++) {
		if (strcmp(type_name, watch_types[i].name) == 0) {
			*type = watch_types[i].type;
			*object = json_incref(obj);
			return 0;
		}
	}
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "watch: unknown event type \"%s\"", type_text);
}

void kube_watch_decoder_init(struct kube_watch_decoder *d, kube_watch_cb cb, void *userdata)
{
	memset(d, 0, sizeof(*d));
	d->cb = cb;
	d->userdata = userdata;
	d->result = -1;
}

void kube_watch_decoder_free(struct kube_watch_decoder *d)
{
	bytebuf_free(&d->pending);
	free(d->last_resource_version);
	d->last_resource_version = NULL;
}

static void remember_resource_version(struct kube_watch_decoder *d, const json_t *object)
{
	const char *rv = json_string_value(json_object_get(json_object_get(object, "metadata"), "resourceVersion"));
	if (!rv || !*rv)
		return;
	free(d->last_resource_version);
	d->last_resource_version = xstrdup(rv);
}

/* An ERROR event: 410 Gone means "relist", anything else is reported as it is. */
static int handle_error_event(struct kube_watch_decoder *d, const json_t *status, struct cntr_err *err)
{
	_cleanup_free_ char *msg = NULL;
	const char *reason = kube_status_reason(status);

	if (kube_status_code(status) == 410 || (reason && (strcmp(reason, "Expired") == 0 || strcmp(reason, "Gone") == 0))) {
		d->result = KUBE_WATCH_GONE;
		return 1;
	}
	msg = kube_status_message_json(kube_status_code(status), status);
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "watch: %s", msg);
}

static int dispatch_line(struct kube_watch_decoder *d, const char *line, size_t len, struct cntr_err *err)
{
	struct kube_watch_event ev;
	json_auto_t *object = NULL;
	int r;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return 0; /* keep-alive blank lines */
	if (kube_watch_parse_event(line, len, &ev.type, &object, err) < 0)
		return -1;
	if (ev.type == KUBE_WATCH_ERROR)
		return handle_error_event(d, object, err);
	remember_resource_version(d, object);
	ev.object = object;
	r = d->cb(&ev, d->userdata, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		d->result = KUBE_WATCH_STOPPED;
		return 1;
	}
	return 0;
}

static int fail_event_too_large(struct cntr_err *err)
{
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "watch: an event is larger than %u MiB (lambda-cntr's limit for one watch event); "
			 "the server's stream is not a Kubernetes watch", KUBE_WATCH_EVENT_MAX >> 20);
}

/* Linear in the bytes fed: only the new bytes are searched for a newline, and each byte is
 * copied at most once (into `pending`, when its line is split across feeds). */
int kube_watch_decoder_feed(struct kube_watch_decoder *d, const char *data, size_t len,
			    struct cntr_err *err)
{
	if (d->result >= 0)
		return 1;
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t part = nl ? (size_t)(nl - data) : len;
		int r;

		if (part > KUBE_WATCH_EVENT_MAX - d->pending.len)
			return fail_event_too_large(err);
		if (!nl) {
			bytebuf_append(&d->pending, data, len);
			return 0;
		}
		if (d->pending.len) {
			bytebuf_append(&d->pending, data, part);
			r = dispatch_line(d, (const char *)d->pending.data, d->pending.len, err);
			bytebuf_reset(&d->pending);
		} else {
			r = dispatch_line(d, data, part, err);
		}
		if (r != 0)
			return r;
		data += part + 1;
		len -= part + 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- the HTTP side */

struct watch_transfer {
	struct kube_http *h;
	struct kube_watch_decoder decoder;
	struct kube_body error_body; /* body of a non-2xx answer */
	struct cntr_err *err;
	int feed_result;           /* last non-zero kube_watch_decoder_feed result */
};

static size_t watch_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct watch_transfer *t = userdata;
	long code = 0;

	curl_easy_getinfo(t->h->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code >= 300)
		return kube_body_collect(data, size, nmemb, &t->error_body);
	t->feed_result = kube_watch_decoder_feed(&t->decoder, data, size * nmemb, t->err);
	/* Returning less than given makes libcurl stop the transfer (CURLE_WRITE_ERROR). */
	return t->feed_result != 0 ? 0 : size * nmemb;
}

static char *watch_path(const char *path, const struct kube_watch_opts *opts)
{
	char *full = xstrdup(path);

	kube_path_append_query(&full, "watch", "true");
	if (opts->bookmarks)
		kube_path_append_query(&full, "allowWatchBookmarks", "true");
	if (opts->resource_version && *opts->resource_version)
		kube_path_append_query(&full, "resourceVersion", opts->resource_version);
	if (opts->label_selector && *opts->label_selector)
		kube_path_append_query(&full, "labelSelector", opts->label_selector);
	if (opts->field_selector && *opts->field_selector)
		kube_path_append_query(&full, "fieldSelector", opts->field_selector);
	if (opts->timeout_ms) {
		_cleanup_free_ char *s = xasprintf("%u", (opts->timeout_ms + 999) / 1000);
		kube_path_append_query(&full, "timeoutSeconds", s);
	}
	return full;
}

static int watch_outcome(struct watch_transfer *t, CURLcode rc, struct cntr_err *err)
{
	long code = 0;

	if (t->feed_result < 0)
		return -1; /* err already filled by the decoder or the callback */
	if (t->feed_result > 0)
		return t->decoder.result;
	if (t->error_body.too_large)
		return kube_body_fail_too_large(t->h, "WATCH", err);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return KUBE_WATCH_TIMEOUT;
	if (rc != CURLE_OK) {
		kube_http_fail(t->h, "WATCH", rc, err);
		return kube_http_connection_lost(rc) && !kube_http_interrupted() ? KUBE_WATCH_LOST : -1;
	}
	curl_easy_getinfo(t->h->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code == 410)
		return KUBE_WATCH_GONE;
	if (code < 200 || code >= 300) {
		_cleanup_free_ char *msg = kube_status_message(code, (const char *)t->error_body.data.data,
							       t->error_body.data.len);
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "watch %s: %s", t->h->display_url, msg);
		return code == 403 ? KUBE_WATCH_FORBIDDEN : -1;
	}
	/* A last event without its newline still counts. */
	if (t->decoder.pending.len && kube_watch_decoder_feed(&t->decoder, "\n", 1, err) != 0)
		return t->decoder.result >= 0 ? t->decoder.result : -1;
	return KUBE_WATCH_ENDED;
}

static int watch_once(const struct kube_config *cfg, const char *path, const struct kube_watch_opts *opts,
		      kube_watch_cb cb, void *userdata, long *http_status, struct cntr_err *err)
{
	_cleanup_kube_http_ struct kube_http h = { 0 };
	_cleanup_free_ char *full = watch_path(path, opts);
	struct watch_transfer t = { .h = &h, .err = err };
	CURLcode rc;
	int r;

	if (kube_http_open(&h, cfg, full, NULL, err) < 0)
		return -1;
	kube_watch_decoder_init(&t.decoder, cb, userdata);
	curl_easy_setopt(h.curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h.curl, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(h.curl, CURLOPT_WRITEDATA, &t);
	if (opts->timeout_ms)
		curl_easy_setopt(h.curl, CURLOPT_TIMEOUT_MS, (long)opts->timeout_ms);
	rc = curl_easy_perform(h.curl);
	r = watch_outcome(&t, rc, err);
	curl_easy_getinfo(h.curl, CURLINFO_RESPONSE_CODE, http_status);
	kube_watch_decoder_free(&t.decoder);
	kube_body_free(&t.error_body);
	return r;
}

struct watch_call {
	const char *path;
	const struct kube_watch_opts *opts;
	kube_watch_cb cb;
	void *userdata;
};

static int watch_attempt(struct kube_config *cfg, void *ctx, long *http_status, struct cntr_err *err)
{
	struct watch_call *w = ctx;

	return watch_once(cfg, w->path, w->opts, w->cb, w->userdata, http_status, err);
}

int kube_watch(struct kube_config *cfg, const char *path, const struct kube_watch_opts *opts,
	       kube_watch_cb cb, void *userdata, struct cntr_err *err)
{
	static const struct kube_watch_opts no_opts;
	struct watch_call w = { .path = path, .opts = opts ? opts : &no_opts, .cb = cb, .userdata = userdata };

	return kube_with_fresh_credentials(cfg, watch_attempt, &w, err);
}
