/* Exec credential plugins (client.authentication.k8s.io/v1 and v1beta1): run the command
 * with $KUBERNETES_EXEC_INFO describing the request and parse the ExecCredential it prints. */
#pragma once
#include <stddef.h>

#include "kube/kubeconfig.h"

struct cntr_err;

/* What a plugin returned (status.token, status.clientCertificateData, status.clientKeyData).
 * Strings are malloc'd or NULL. */
struct kube_exec_credential {
	char *token;
	char *client_certificate_data; /* PEM text */
	char *client_key_data;         /* PEM text */
	char *expiration_timestamp;    /* RFC 3339 or NULL; informational */
};

/* The JSON put in $KUBERNETES_EXEC_INFO (malloc'd): apiVersion, kind ExecCredential,
 * spec.interactive, and spec.cluster (server, certificate-authority-data, tls-server-name,
 * insecure-skip-tls-verify, proxy-url) when the plugin asks for provideClusterInfo. */
char *kube_exec_info_json(const struct kube_exec_plugin *plugin, const struct kube_config *cfg,
			  int interactive);

/* Parse the plugin's stdout. Checks kind ExecCredential and that apiVersion matches the one
 * requested; requires a token or both certificate and key data. `who` names the plugin in
 * messages. */
int kube_exec_credential_parse(const char *json, size_t len, const char *api_version,
			       const char *who, struct kube_exec_credential *out, struct cntr_err *err);

/* Run the plugin of cfg (cfg->exec must be set) and parse its answer. stderr of the plugin
 * goes to ours; stdin is ours only when the plugin may be interactive and stdin is a tty.
 * A command that cannot be run yields an error with its installHint. */
int kube_exec_credential_run(const struct kube_config *cfg, struct kube_exec_credential *out,
			     struct cntr_err *err);

void kube_exec_credential_clear(struct kube_exec_credential *cred);
