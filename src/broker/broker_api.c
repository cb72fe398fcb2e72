#include "broker/broker.h"

int broker_api(struct broker *b, const char *method, const char *path, const json_t *body,
	       struct kube_response *resp, struct cntr_err *err)
{
	int r;

	pthread_mutex_lock(&b->api_lock);
	r = kube_request(b->cfg, method, path, body, resp, err);
	pthread_mutex_unlock(&b->api_lock);
	return r;
}
