/* In-cluster configuration: the pod's service account, used when no kubeconfig exists. */
#pragma once
#include <stdbool.h>

#include "kube/kubeconfig.h"

struct cntr_err;

/* Where the service account is mounted; $KUBE_SERVICEACCOUNT_DIR overrides it. */
#define KUBE_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* True when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are both set. */
bool kube_incluster_available(void);

/* server https://HOST:PORT (IPv6 hosts bracketed), CA DIR/ca.crt, token DIR/token (read unless
 * opts->skip_credentials), namespace from DIR/namespace when present. */
int kube_incluster_load(const struct kube_config_opts *opts, struct kube_config **out,
			struct cntr_err *err);
