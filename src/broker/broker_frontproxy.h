/* Front-proxy authentication, as every aggregated API server does it: the API server proxies a
 * request with a client certificate (issued by the requestheader CA, CN among the allowed names)
 * and says who the user is in request headers. The settings come from the ConfigMap
 * kube-system/extension-apiserver-authentication; these functions are pure (the TLS check of
 * the certificate itself is broker_tls.c). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct cntr_err;

#define BROKER_AUTH_CONFIGMAP_NS "kube-system"
#define BROKER_AUTH_CONFIGMAP "extension-apiserver-authentication"

struct broker_frontproxy {
	char *client_ca_pem;     /* requestheader-client-ca-file (PEM) */
	char **allowed_names;    /* requestheader-allowed-names; empty = any CN of that CA */
	char **username_headers; /* requestheader-username-headers, e.g. X-Remote-User */
	char **group_headers;    /* requestheader-group-headers, e.g. X-Remote-Group */
	char **extra_prefixes;   /* requestheader-extra-headers-prefix, e.g. X-Remote-Extra- */
};

/* From the ConfigMap object. Fails (naming the key) when the CA or the username headers are
 * missing: without them no request could ever be authenticated, and accepting any would be
 * worse. */
int broker_frontproxy_from_configmap(const json_t *configmap, struct broker_frontproxy *fp,
				     struct cntr_err *err);
void broker_frontproxy_free(struct broker_frontproxy *fp);

/* The certificate's CN may act as the front proxy. */
bool broker_frontproxy_name_allowed(const struct broker_frontproxy *fp, const char *cn);

/* One request header, as received (names compared case-insensitively; repeated headers come as
 * several entries). */
struct broker_header {
	const char *name;
	const char *value;
};

struct broker_identity {
	char *user;
	char **groups; /* NULL-terminated, never NULL */
	json_t *extra; /* {"key":["v",...]} (keys lowercased), never NULL */
};

/* The user from the first username header present (non-empty), the groups from every value of
 * the group headers (comma lists are not split: each header is one group, as Kubernetes does),
 * extras from the prefixed headers. -1 when no username header is present. Call only after the
 * client certificate was verified. */
int broker_identity_from_headers(const struct broker_frontproxy *fp, const struct broker_header *headers,
				 size_t n, struct broker_identity *id);
void broker_identity_free(struct broker_identity *id);
