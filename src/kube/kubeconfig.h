/* Client configuration: which API server, how to trust it, who we are.
 *
 * Sources, in kubectl's order:
 *   1. `--kubeconfig FILE` (opts->kubeconfig): only that file.
 *   2. `$KUBECONFIG`: a colon-separated list, merged as kubectl does: for every named
 *      cluster/user/context the first file that defines the name wins; `current-context`
 *      comes from the first file that sets it. Missing files in the list are skipped.
 *   3. `~/.kube/config` when it exists.
 *   4. In-cluster: when none of the above exists and KUBERNETES_SERVICE_HOST and
 *      KUBERNETES_SERVICE_PORT are set, the service account in
 *      /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}
 *      (directory overridable with $KUBE_SERVICEACCOUNT_DIR, e.g. for tests).
 * `--context NAME` (opts->context) picks a context instead of `current-context`.
 * Relative file paths in a kubeconfig resolve against that file's directory.
 * Errors name the file and the key (`/root/.kube/config: users[0].user.token: ...`). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct cntr_err;

/* Bytes from a `*-data` field (base64-decoded) or from the exec plugin (PEM text). */
struct kube_blob {
	unsigned char *data; /* NULL when absent; always NUL-terminated for convenience */
	size_t len;
};

enum kube_exec_interactive {
	KUBE_EXEC_INTERACTIVE_IF_AVAILABLE = 0, /* default of v1beta1; stdin given when a tty */
	KUBE_EXEC_INTERACTIVE_NEVER,
	KUBE_EXEC_INTERACTIVE_ALWAYS,           /* fails when stdin is not a terminal */
};

/* users[].user.exec: a client.authentication.k8s.io/v1 or v1beta1 credential plugin. */
struct kube_exec_plugin {
	char *api_version;  /* "client.authentication.k8s.io/v1" or ".../v1beta1" (required) */
	char *command;      /* absolute, relative to the kubeconfig dir when it has a '/', or $PATH */
	char **args;        /* NULL-terminated, never NULL (may be empty) */
	char **env;         /* "NAME=VALUE" entries added to our environment; never NULL */
	char *install_hint; /* printed when the command cannot be run; may be NULL */
	enum kube_exec_interactive interactive;
	bool provide_cluster_info;
};

struct kube_config {
	char *source;          /* where it came from, for messages: a path, "$KUBECONFIG", "in-cluster" */
	char *context_name;    /* NULL for in-cluster */
	char *cluster_name;
	char *user_name;

	/* cluster */
	char *server;          /* "https://host:port" without trailing '/' */
	char *ca_file;         /* absolute path or NULL */
	struct kube_blob ca_data;
	bool insecure_skip_tls_verify;
	char *tls_server_name; /* NULL unless set */
	char *proxy_url;       /* NULL unless set */

	/* user (after kube_config_load they hold the final credentials, see below) */
	char *client_cert_file;
	struct kube_blob client_cert_data;
	char *client_key_file;
	struct kube_blob client_key_data;
	char *token;           /* bearer token (from `token`, `tokenFile`, the exec plugin, or SA) */
	char *token_file;
	struct kube_exec_plugin *exec; /* NULL when the user has no exec plugin */

	/* context */
	char *namespace;       /* context namespace, in-cluster namespace file, else "default" */
	bool namespace_from_config; /* false when `namespace` is the "default" fallback */

	bool credentials_resolved; /* set by kube_config_resolve_credentials */
	time_t credential_expiry;  /* the exec plugin's expirationTimestamp; 0 = none given */
	bool token_from_file;      /* token was read from token_file (renewable by re-reading) */
};

struct kube_config_opts {
	const char *kubeconfig; /* --kubeconfig, or NULL */
	const char *context;    /* --context, or NULL */
	/* Parse only: do not read tokenFile nor run the exec plugin (tests, diagnostics).
	 * Otherwise kube_config_load resolves credentials before returning. */
	bool skip_credentials;
};

/* Caps on a kubeconfig file, checked before anything is built from it. Real ones are a few KiB
 * (tens of KiB with many contexts and embedded certificates) and nest about five levels deep
 * (users[].user.exec.env[].value). Without a cap, a few MiB of `[[[[...` keep libyaml busy for
 * an hour (its simple-key bookkeeping is quadratic in the nesting). Either cap fails the load
 * with one line naming the file and the cap. */
#define KUBE_CONFIG_SIZE_MAX (4u << 20)
#define KUBE_CONFIG_DEPTH_MAX 64

/* Load and validate the configuration. On success *out is a new config (free with
 * kube_config_free). Failures use CNTR_EXIT_FAILURE (125) with the file and key named. */
int kube_config_load(const struct kube_config_opts *opts, struct kube_config **out, struct cntr_err *err);

/* Parse one YAML document given in memory as if it were the single file `path` (its directory
 * resolves relative paths). For unit tests and for callers that already hold the text. */
int kube_config_load_buffer(const char *path, const char *yaml, size_t len,
			    const struct kube_config_opts *opts, struct kube_config **out,
			    struct cntr_err *err);

/* Resolve credentials that need I/O: read `tokenFile`, run the exec plugin (see
 * exec_credential.h) and store its token / client cert+key in cfg. kube_config_load calls it
 * unless opts->skip_credentials. Idempotent. */
int kube_config_resolve_credentials(struct kube_config *cfg, struct cntr_err *err);

/* Credentials can go stale during a long session: exec plugin tokens expire (EKS after 15
 * minutes) and projected service-account token files are rotated. As client-go does:
 *  - kube_config_renew_expired, before every request: runs the exec plugin again when its
 *    credential's expirationTimestamp has passed (or is about to).
 *  - kube_config_renew_after_unauthorized, after a 401: runs the exec plugin again and re-reads
 *    a tokenFile; the caller retries the request once when it returns 1.
 * Both return 1 when the credentials were renewed, 0 when there was nothing to renew, -1 with
 * err when the plugin or the file failed. */
int kube_config_renew_expired(struct kube_config *cfg, struct cntr_err *err);
int kube_config_renew_after_unauthorized(struct kube_config *cfg, struct cntr_err *err);

void kube_config_free(struct kube_config *cfg);

static inline void cleanup_kube_configp(struct kube_config **cfg)
{
	kube_config_free(*cfg);
}
#define _cleanup_kube_config_ __attribute__((cleanup(cleanup_kube_configp)))

/* YAML 1.1 booleans as kubeconfigs use them: true/false, yes/no, on/off, y/n in any case.
 * Returns 0 and sets *out, or -1 when text is not a boolean. */
int kube_parse_yaml_bool(const char *text, bool *out);
