/* WATCH: `GET <collection>?watch=true&resourceVersion=...` read as newline-delimited JSON
 * events ({"type":"ADDED","object":{...}}), robust to events split across reads. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/bytebuf.h"
#include "kube/kubeconfig.h"

struct cntr_err;

/* 4 MiB for one event line. An event carries one object: a pod is a few KiB to a few hundred
 * KiB, and the API server itself refuses objects over about 1.5 MiB (etcd's request limit), so
 * no real event comes near; the cap bounds what a broken or hostile stream can make us buffer
 * while waiting for a newline. A longer line ends the watch with an error naming the cap. */
#define KUBE_WATCH_EVENT_MAX (4u << 20)

enum kube_watch_type {
	KUBE_WATCH_ADDED,
	KUBE_WATCH_MODIFIED,
	KUBE_WATCH_DELETED,
	KUBE_WATCH_BOOKMARK,
	KUBE_WATCH_ERROR, /* object is a Status */
};

struct kube_watch_event {
	enum kube_watch_type type;
	json_t *object; /* borrowed: valid during the callback only (json_incref to keep) */
};

/* Called once per event except ERROR events (handled by kube_watch, see below).
 * Return 0 to keep watching, 1 to stop (kube_watch then returns KUBE_WATCH_STOPPED),
 * or -1 after filling err to abort with that error. */
typedef int (*kube_watch_cb)(const struct kube_watch_event *ev, void *userdata, struct cntr_err *err);

struct kube_watch_opts {
	const char *resource_version; /* from the list; NULL = from "now" semantics of the server */
	const char *label_selector;   /* NULL or e.g. "app.kubernetes.io/managed-by=lambda-cntr" */
	const char *field_selector;   /* NULL or e.g. "metadata.name=web" */
	unsigned timeout_ms;          /* 0 = none; also sent as timeoutSeconds (rounded up) */
	bool bookmarks;               /* ask for BOOKMARK events (allowWatchBookmarks=true): they
				       * carry only a newer resourceVersion to resume from */
};

/* kube_watch results (non-negative): */
enum {
	KUBE_WATCH_STOPPED = 0,  /* the callback returned 1 */
	KUBE_WATCH_TIMEOUT = 1,  /* opts->timeout_ms elapsed */
	KUBE_WATCH_ENDED = 2,    /* the server closed the stream normally (also when its timeoutSeconds
				  * ran out first): re-watch from the last rv if time is left */
	KUBE_WATCH_GONE = 3,     /* 410 Gone (HTTP or ERROR event): the rv is too old, relist */
	KUBE_WATCH_FORBIDDEN = 4,/* 403 on the watch itself (RBAC without "watch"): err holds the
				  * server's message; a caller may fall back to polling with GET */
	KUBE_WATCH_LOST = 5,     /* the connection broke (closed without an answer, reset, cut
				  * mid-stream): err says how; re-watch from the last rv */
};

/* Watch `path` (a collection, e.g. /api/v1/namespaces/NS/pods) until one of the results above,
 * or -1 with err on failure (HTTP error with the Status message, an ERROR event other than
 * 410, an unparsable event, an interrupt via kube_http_set_interrupt_flag). */
int kube_watch(struct kube_config *cfg, const char *path, const struct kube_watch_opts *opts,
	       kube_watch_cb cb, void *userdata, struct cntr_err *err);

/* --- The decoder behind kube_watch, exposed for unit tests. --- */

/* Parse one event line (without the newline). On success *type and *object (new reference)
 * are set. The type is unpacked first, then the object (a Status for ERROR). */
int kube_watch_parse_event(const char *line, size_t len, enum kube_watch_type *type,
			   json_t **object, struct cntr_err *err);

/* Splits a byte stream into lines and dispatches each parsed event, in time linear in the bytes
 * fed; a line longer than KUBE_WATCH_EVENT_MAX is an error. */
struct kube_watch_decoder {
	struct bytebuf pending;        /* an incomplete line carried over to the next feed */
	kube_watch_cb cb;
	void *userdata;
	int result;                    /* -1 none yet, else a KUBE_WATCH_* result */
	char *last_resource_version;   /* of the last object seen (malloc'd), for re-watching */
};

void kube_watch_decoder_init(struct kube_watch_decoder *d, kube_watch_cb cb, void *userdata);
/* Feed bytes as they arrive. Returns 0 to continue, 1 when a result is set in d->result
 * (stopped by the callback, or 410 Gone), -1 with err on a bad event, an ERROR event or an
 * event line over KUBE_WATCH_EVENT_MAX. */
int kube_watch_decoder_feed(struct kube_watch_decoder *d, const char *data, size_t len,
			    struct cntr_err *err);
void kube_watch_decoder_free(struct kube_watch_decoder *d);
