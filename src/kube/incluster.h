/* In-cluster configuration: the pod's service account, used when no kubeconfig exists. */
#pragma once
#include <stdbool.h>

#include "kube/kubeconfig.h"

struct cntr_err;

/* Where the service account is mounted; $KUBE_SERVICEACCOUNT_DIR overrides it. */
#define KUBE_SERVICEACCOUNT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* True when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are both set. */
bool kube_incluster_available(void);

/* Fill a zeroed config (the caller owns and frees it, also on failure): server
 * https://HOST:PORT (IPv6 hosts bracketed), CA DIR/ca.crt, token file DIR/token, namespace from
 * DIR/namespace when present. Credentials are resolved by the loader (kubeconfig.c), as for
 * every other source: this file depends on the config's type only. */
int kube_incluster_fill(struct kube_config *cfg, struct cntr_err *err);
