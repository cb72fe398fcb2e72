/* The broker's shared state: one per process, read by every connection thread. */
#pragma once
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "broker/broker_frontproxy.h"
#include "kube/kubeconfig.h"
#include "kube/rest.h"

struct cntr_err;

struct broker {
	struct kube_config *cfg;      /* the broker's own ServiceAccount (or --kubeconfig) */
	pthread_mutex_t api_lock;     /* REST calls share one libcurl connection cache: one at a time */
	struct broker_frontproxy fp;  /* from kube-system/extension-apiserver-authentication */
	const char *ns;               /* lambda-cntr-system: agents, profiles ConfigMap */
	char instance[256];           /* reportingInstance of Events: the broker pod's host name */
	int stop_fd;                  /* readable once SIGTERM/SIGINT arrived: sessions close */
	atomic_int sessions;          /* relays running */
};

/* kube_request under api_lock. */
int broker_api(struct broker *b, const char *method, const char *path, const json_t *body,
	       struct kube_response *resp, struct cntr_err *err);
