/* kubeconfig loading: file discovery and merging, the context/cluster/user lookup, and the
 * field tables that copy YAML values into struct kube_config. YAML access is in
 * kubeconfig_yaml.c, the exec plugin spec in kubeconfig_exec.c, credentials that need I/O in
 * kubeconfig_credentials.c, the in-cluster config in incluster.c. */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/base64.h"
#include "kube/incluster.h"
#include "kube/kubeconfig_internal.h"

/* The files of the merge list, in order. */
struct kc_set {
	struct kc_file *files;
	size_t count;
	char *source; /* for messages: "FILE" or "$KUBECONFIG (a:b)" */
};

/* ---------------------------------------------------------------- files */

static void kc_set_free(struct kc_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		kc_file_clear(&set->files[i]);
	free(set->files);
	free(set->source);
	memset(set, 0, sizeof(*set));
}

static struct kc_file *kc_set_add(struct kc_set *set, const char *path)
{
	struct kc_file *f;
	set->files = realloc(set->files, (set->count + 1) * sizeof(*set->files));
	if (!set->files)
		abort();
	f = &set->files[set->count++];
	kc_file_init(f, path);
	return f;
}

/* Read path, stopping past KUBE_CONFIG_SIZE_MAX bytes (a huge file, a device or a pipe that
 * never ends is not read to its end): the same one-line refusal as kc_file_parse's. */
static int read_kubeconfig(const char *path, char **text, size_t *len, struct cntr_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return cntr_fail_errno(err, "kubeconfig: open %s", path);
	if (read_fd_upto(fd, KUBE_CONFIG_SIZE_MAX, text, len) == 0)
		return 0;
	if (errno == EFBIG)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: larger than %u MiB (the cap for a kubeconfig)", path,
				 KUBE_CONFIG_SIZE_MAX >> 20);
	return cntr_fail_errno(err, "kubeconfig: read %s", path);
}

static int kc_set_add_file(struct kc_set *set, const char *path, struct cntr_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct kc_file *f;

	if (read_kubeconfig(path, &text, &len, err) < 0)
		return -1;
	f = kc_set_add(set, path);
	return kc_file_parse(f, text, len, err);
}

/* $KUBECONFIG: every existing file of the list, in order. Returns the number added. */
static int load_env_list(struct kc_set *set, const char *list, struct cntr_err *err)
{
	_cleanup_free_ char *copy = xstrdup(list);
	char *save = NULL;
	int added = 0;

	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (access(p, F_OK) < 0)
			continue; /* kubectl skips missing entries of the list */
		if (kc_set_add_file(set, p, err) < 0)
			return -1;
		added++;
	}
	return added;
}

/* ---------------------------------------------------------------- named entries */

/* The `inner` mapping of the first entry called name in section (clusters/users/contexts),
 * searching the files in merge order. *owner is the file that defined it. */
static yaml_node_t *find_named(struct kc_set *set, const char *section, const char *inner,
			       const char *name, struct kc_file **owner)
{
	for (size_t i = 0; i < set->count; i++) {
		struct kc_file *f = &set->files[i];
		yaml_node_t *seq = kc_map_get(f, kc_root(f), section);
		if (!seq || seq->type != YAML_SEQUENCE_NODE)
			continue;
		for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
			yaml_node_t *entry = yaml_document_get_node(&f->doc, *it);
			yaml_node_t *n = kc_map_get(f, entry, "name");
			if (n && n->type == YAML_SCALAR_NODE && strcmp((char *)n->data.scalar.value, name) == 0) {
				yaml_node_t *body = kc_map_get(f, entry, inner);
				*owner = f;
				return body ? body : entry; /* an entry with no body: empty map semantics */
			}
		}
	}
	return NULL;
}

static const char *find_current_context(struct kc_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		yaml_node_t *n = kc_map_get(&set->files[i], kc_root(&set->files[i]), "current-context");
		if (n && n->type == YAML_SCALAR_NODE && !kc_is_null(n))
			return (const char *)n->data.scalar.value;
	}
	return NULL;
}

/* ---------------------------------------------------------------- field tables */

enum field_kind {
	FIELD_STRING,
	FIELD_PATH,   /* relative to the defining file's directory */
	FIELD_BASE64, /* into a struct kube_blob */
	FIELD_BOOL,
};

struct field {
	const char *key;
	enum field_kind kind;
	size_t offset;
};

static const struct field cluster_fields[] = {
	{ "server", FIELD_STRING, offsetof(struct kube_config, server) },
	{ "certificate-authority", FIELD_PATH, offsetof(struct kube_config, ca_file) },
	{ "certificate-authority-data", FIELD_BASE64, offsetof(struct kube_config, ca_data) },
	{ "insecure-skip-tls-verify", FIELD_BOOL, offsetof(struct kube_config, insecure_skip_tls_verify) },
	{ "tls-server-name", FIELD_STRING, offsetof(struct kube_config, tls_server_name) },
	{ "proxy-url", FIELD_STRING, offsetof(struct kube_config, proxy_url) },
};

static const struct field user_fields[] = {
	{ "client-certificate", FIELD_PATH, offsetof(struct kube_config, client_cert_file) },
	{ "client-certificate-data", FIELD_BASE64, offsetof(struct kube_config, client_cert_data) },
	{ "client-key", FIELD_PATH, offsetof(struct kube_config, client_key_file) },
	{ "client-key-data", FIELD_BASE64, offsetof(struct kube_config, client_key_data) },
	{ "token", FIELD_STRING, offsetof(struct kube_config, token) },
	{ "tokenFile", FIELD_PATH, offsetof(struct kube_config, token_file) },
};

static int apply_field(struct kube_config *cfg, const struct field *fd, struct kc_file *f,
		       const char *value, const char *section, const char *name, const char *prefix,
		       struct cntr_err *err)
{
	void *slot = (char *)cfg + fd->offset;
	_cleanup_free_ char *key = xasprintf("%s.%s", prefix, fd->key);

	switch (fd->kind) {
	case FIELD_STRING:
		*(char **)slot = xstrdup(value);
		return 0;
	case FIELD_PATH:
		*(char **)slot = kc_resolve_path(f, value);
		return 0;
	case FIELD_BASE64: {
		struct kube_blob *blob = slot;
		if (kube_base64_decode(value, strlen(value), &blob->data, &blob->len) < 0)
			return kc_fail_key(err, f, section, name, key, "invalid base64");
		return 0;
	}
	case FIELD_BOOL:
		if (kube_parse_yaml_bool(value, (bool *)slot) < 0)
			return kc_fail_key(err, f, section, name, key, "expected true or false");
		return 0;
	}
	return 0;
}

static int apply_fields(struct kube_config *cfg, const struct field *fields, size_t n,
			struct kc_file *f, yaml_node_t *map, const char *section, const char *name,
			const char *prefix, struct cntr_err *err)
{
	for (size_t i = 0; i < n; i++) {
		const char *value;
		if (kc_get_string(f, map, fields[i].key, section, name, prefix, &value, err) < 0)
			return -1;
		if (value && apply_field(cfg, &fields[i], f, value, section, name, prefix, err) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- assembling a config */

static int apply_cluster(struct kube_config *cfg, struct kc_set *set, struct cntr_err *err)
{
	struct kc_file *f = NULL;
	yaml_node_t *cluster = find_named(set, "clusters", "cluster", cfg->cluster_name, &f);

	if (!cluster)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: context \"%s\" refers to cluster \"%s\", which is not defined",
				 set->source, cfg->context_name, cfg->cluster_name);
	if (apply_fields(cfg, cluster_fields, sizeof(cluster_fields) / sizeof(cluster_fields[0]), f,
			 cluster, "clusters", cfg->cluster_name, "cluster", err) < 0)
		return -1;
	if (!cfg->server || !*cfg->server)
		return kc_fail_key(err, f, "clusters", cfg->cluster_name, "cluster.server", "missing");
	if (!str_has_prefix(cfg->server, "https://") && !str_has_prefix(cfg->server, "http://"))
		return kc_fail_key(err, f, "clusters", cfg->cluster_name, "cluster.server",
				"must start with https:// (or http://)");
	if (cfg->insecure_skip_tls_verify && (cfg->ca_file || cfg->ca_data.data))
		return kc_fail_key(err, f, "clusters", cfg->cluster_name, "cluster.insecure-skip-tls-verify",
				"cannot be combined with a certificate authority (remove one of them)");
	return 0;
}

/* The legacy auth-provider plugins. kubectl 1.26 removed gcp and azure (exec plugins replace
 * them); oidc remains: its id-token is the bearer token (refreshing it with the identity
 * provider is not done here; `kubelogin` as an exec plugin does that). */
static const struct {
	const char *name;
	const char *replacement; /* NULL: supported */
} auth_providers[] = {
	{ "oidc", NULL },
	{ "gcp", "install gke-gcloud-auth-plugin and run `gcloud container clusters get-credentials` again" },
	{ "azure", "use kubelogin: `kubelogin convert-kubeconfig -l azurecli`" },
};

static int apply_auth_provider(struct kube_config *cfg, struct kc_file *f, yaml_node_t *provider,
			       struct cntr_err *err)
{
	const char *name = NULL, *id_token = NULL;
	yaml_node_t *config = kc_map_get(f, provider, "config");

	if (kc_get_string(f, provider, "name", "users", cfg->user_name, "user.auth-provider", &name, err) < 0)
		return -1;
	for (size_t i = 0; name && i < sizeof(auth_providers) / sizeof(auth_providers[0]); i++) {
		if (strcmp(name, auth_providers[i].name) != 0)
			continue;
		if (auth_providers[i].replacement) {
			cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: users[\"%s\"].user.auth-provider: the \"%s\" "
				  "auth-provider was removed from kubectl and is not supported; %s", f->path,
				  cfg->user_name, name, auth_providers[i].replacement);
			return -1;
		}
		if (config && kc_get_string(f, config, "id-token", "users", cfg->user_name,
					    "user.auth-provider.config", &id_token, err) < 0)
			return -1;
		if (!id_token || !*id_token)
			return kc_fail_key(err, f, "users", cfg->user_name, "user.auth-provider.config.id-token",
					   "missing: log in again (e.g. with kubelogin) to get a token");
		cfg->token = xstrdup(id_token);
		return 0;
	}
	return kc_fail_key(err, f, "users", cfg->user_name, "user.auth-provider.name",
			   "unsupported auth-provider (only oidc is; use an exec credential plugin instead)");
}

static int apply_user(struct kube_config *cfg, struct kc_set *set, struct cntr_err *err)
{
	struct kc_file *f = NULL;
	yaml_node_t *user, *exec, *provider;

	if (!cfg->user_name || !*cfg->user_name)
		return 0; /* anonymous */
	user = find_named(set, "users", "user", cfg->user_name, &f);
	if (!user)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: context \"%s\" refers to user \"%s\", which is not defined",
				 set->source, cfg->context_name, cfg->user_name);
	if (apply_fields(cfg, user_fields, sizeof(user_fields) / sizeof(user_fields[0]), f, user,
			 "users", cfg->user_name, "user", err) < 0)
		return -1;
	provider = kc_map_get(f, user, "auth-provider");
	if (provider && !kc_is_null(provider) && !cfg->token && apply_auth_provider(cfg, f, provider, err) < 0)
		return -1;
	exec = kc_map_get(f, user, "exec");
	if (exec && !(exec->type == YAML_SCALAR_NODE && kc_is_null(exec)) &&
	    kc_parse_exec_plugin(cfg, f, exec, cfg->user_name, err) < 0)
		return -1;
	if (!!(cfg->client_cert_file || cfg->client_cert_data.data) !=
	    !!(cfg->client_key_file || cfg->client_key_data.data))
		return kc_fail_key(err, f, "users", cfg->user_name, "user",
				"client-certificate and client-key must be given together");
	return 0;
}

static int apply_context(struct kube_config *cfg, struct kc_set *set, const char *wanted,
			 struct cntr_err *err)
{
	struct kc_file *f = NULL;
	const char *name = wanted ? wanted : find_current_context(set);
	const char *cluster = NULL, *user = NULL, *ns = NULL;
	yaml_node_t *ctx;

	if (!name)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "%s: no current-context is set; pass --context NAME or run `kubectl config use-context NAME`",
				 set->source);
	ctx = find_named(set, "contexts", "context", name, &f);
	if (!ctx)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: context \"%s\" not found%s", set->source,
				 name, wanted ? "" : " (it is the current-context)");
	if (kc_get_string(f, ctx, "cluster", "contexts", name, "context", &cluster, err) < 0 ||
	    kc_get_string(f, ctx, "user", "contexts", name, "context", &user, err) < 0 ||
	    kc_get_string(f, ctx, "namespace", "contexts", name, "context", &ns, err) < 0)
		return -1;
	if (!cluster || !*cluster)
		return kc_fail_key(err, f, "contexts", name, "context.cluster", "missing");
	cfg->context_name = xstrdup(name);
	cfg->cluster_name = xstrdup(cluster);
	cfg->user_name = user ? xstrdup(user) : NULL;
	if (ns && *ns) {
		cfg->namespace = xstrdup(ns);
		cfg->namespace_from_config = true;
	}
	return 0;
}

static int config_from_set(struct kc_set *set, const struct kube_config_opts *opts,
			   struct kube_config **out, struct cntr_err *err)
{
	struct kube_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		abort();
	cfg->source = xstrdup(set->source);
	if (apply_context(cfg, set, opts->context, err) < 0 || apply_cluster(cfg, set, err) < 0 ||
	    apply_user(cfg, set, err) < 0) {
		kube_config_free(cfg);
		return -1;
	}
	/* "https://host:6443/" and "https://host:6443" must build the same URLs. */
	while (str_has_suffix(cfg->server, "/"))
		cfg->server[strlen(cfg->server) - 1] = '\0';
	if (!cfg->namespace)
		cfg->namespace = xstrdup("default");
	if (!opts->skip_credentials && kube_config_resolve_credentials(cfg, err) < 0) {
		kube_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

/* ---------------------------------------------------------------- public */

static const struct kube_config_opts default_opts;

int kube_config_load_buffer(const char *path, const char *yaml, size_t len,
			    const struct kube_config_opts *opts, struct kube_config **out,
			    struct cntr_err *err)
{
	struct kc_set set = { 0 };
	int r;

	if (!opts)
		opts = &default_opts;
	set.source = xstrdup(path);
	r = kc_file_parse(kc_set_add(&set, path), yaml, len, err);
	if (r == 0)
		r = config_from_set(&set, opts, out, err);
	kc_set_free(&set);
	return r;
}

static int load_default_file(struct kc_set *set, struct cntr_err *err)
{
	const char *home = getenv("HOME");
	_cleanup_free_ char *path = NULL;

	if (!home || !*home)
		return 0;
	path = xasprintf("%s/.kube/config", home);
	if (access(path, F_OK) < 0)
		return 0;
	set->source = xstrdup(path);
	return kc_set_add_file(set, path, err) < 0 ? -1 : 1;
}

/* The pod's service account, with credentials resolved here like any other source's. */
static int load_incluster(const struct kube_config_opts *opts, struct kube_config **out, struct cntr_err *err)
{
	struct kube_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		abort();
	if (kube_incluster_fill(cfg, err) < 0 ||
	    (!(opts && opts->skip_credentials) && kube_config_resolve_credentials(cfg, err) < 0)) {
		kube_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int kube_config_load(const struct kube_config_opts *opts, struct kube_config **out, struct cntr_err *err)
{
	struct kc_set set = { 0 };
	const char *env = getenv("KUBECONFIG");
	int found, r;

	if (!opts)
		opts = &default_opts;
	if (opts->kubeconfig) {
		set.source = xstrdup(opts->kubeconfig);
		found = kc_set_add_file(&set, opts->kubeconfig, err) < 0 ? -1 : 1;
	} else if (env && *env) {
		set.source = xasprintf("$KUBECONFIG (%s)", env);
		found = load_env_list(&set, env, err);
	} else {
		found = load_default_file(&set, err);
	}
	if (found < 0) {
		kc_set_free(&set);
		return -1;
	}
	if (found == 0) {
		kc_set_free(&set);
		if (kube_incluster_available())
			return load_incluster(opts, out, err);
		if (env && *env)
			return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
					 "no kubeconfig: none of the files in $KUBECONFIG (%s) exists", env);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "no kubeconfig: ~/.kube/config does not exist, $KUBECONFIG is unset and this is not a pod; "
				 "pass --kubeconfig FILE");
	}
	r = config_from_set(&set, opts, out, err);
	kc_set_free(&set);
	return r;
}

void kube_config_free(struct kube_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->source);
	free(cfg->context_name);
	free(cfg->cluster_name);
	free(cfg->user_name);
	free(cfg->server);
	free(cfg->ca_file);
	kc_blob_clear(&cfg->ca_data);
	free(cfg->tls_server_name);
	free(cfg->proxy_url);
	free(cfg->client_cert_file);
	kc_blob_clear(&cfg->client_cert_data);
	free(cfg->client_key_file);
	kc_blob_clear(&cfg->client_key_data);
	free(cfg->token);
	free(cfg->token_file);
	kc_exec_plugin_free(cfg->exec);
	free(cfg->namespace);
	free(cfg);
}

