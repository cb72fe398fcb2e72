/* A response body collected in memory, with a cap: a server (or anything in between) that
 * sends more than any API response can legitimately be stops the transfer with a one-line
 * error naming the cap, instead of growing our memory without bound. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "kube/bytebuf.h"

struct kube_http;
struct cntr_err;

/* 16 MiB for one REST response. The largest bodies lambda-cntr asks for are lists (the agent
 * pods of a namespace, a pod's events) and single pods: a pod is a few KiB to a few hundred
 * KiB (managed fields, big annotations), a list of a few hundred pods a few MiB. 16 MiB is
 * several times that and still a small amount of memory. Bodies of failed requests (Status
 * objects, a proxy's error page) are capped the same way. */
#define KUBE_HTTP_BODY_MAX (16u << 20)

struct kube_body {
	struct bytebuf data;
	bool too_large;  /* the transfer was stopped at KUBE_HTTP_BODY_MAX */
};

/* CURLOPT_WRITEFUNCTION for a struct kube_body (CURLOPT_WRITEDATA): appends, or stops the
 * transfer (CURLE_WRITE_ERROR) and sets too_large when the cap would be passed. */
size_t kube_body_collect(char *data, size_t size, size_t nmemb, void *body);

/* "GET https://...: the server's answer is larger than 16 MiB (lambda-cntr's limit for one API
 * response)". Returns -1. */
int kube_body_fail_too_large(const struct kube_http *h, const char *method, struct cntr_err *err);

void kube_body_free(struct kube_body *body);

static inline void cleanup_kube_bodyp(struct kube_body *b)
{
	kube_body_free(b);
}
#define _cleanup_kube_body_ __attribute__((cleanup(cleanup_kube_bodyp)))
