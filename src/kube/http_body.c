#include "kube/http_body.h"

#include "common/err.h"
#include "kube/http.h"

size_t kube_body_collect(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct kube_body *b = userdata;
	size_t n = size * nmemb;

	if (n > KUBE_HTTP_BODY_MAX - b->data.len) {
		b->too_large = true;
		return 0; /* less than given: libcurl stops the transfer */
	}
	bytebuf_append(&b->data, data, n);
	return n;
}

int kube_body_fail_too_large(const struct kube_http *h, const char *method, struct cntr_err *err)
{
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
			 "%s %s: the server's answer is larger than %u MiB (lambda-cntr's limit for one API "
			 "response)", method, h->display_url, KUBE_HTTP_BODY_MAX >> 20);
}

void kube_body_free(struct kube_body *body)
{
	bytebuf_free(&body->data);
	body->too_large = false;
}
