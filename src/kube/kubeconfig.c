/* kubeconfig loading: file discovery and merging, the context/cluster/user lookup, and the
 * field tables that copy YAML values into struct kube_config. In-cluster config lives in
 * incluster.c, credentials that need I/O in kube_config_resolve_credentials below. */
#include "kube/kubeconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/strutil.h"
#include "kube/base64.h"
#include "kube/exec_credential.h"
#include "kube/incluster.h"

/* One parsed kubeconfig file of the merge list. */
struct kc_file {
	char *path;
	char *dir; /* absolute directory of path: base for relative paths in it */
	yaml_document_t doc;
	bool has_doc;
};

struct kc_set {
	struct kc_file *files;
	size_t count;
	char *source; /* for messages: "FILE" or "$KUBECONFIG (a:b)" */
};

/* ---------------------------------------------------------------- YAML access */

static yaml_node_t *yaml_root(struct kc_file *f)
{
	return f->has_doc ? yaml_document_get_root_node(&f->doc) : NULL;
}

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* A plain `key:`, `key: ~` or `key: null` means "not set", as in kubectl. */
static bool scalar_is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

int kube_parse_yaml_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "y" };
	static const char *const no[] = { "false", "no", "off", "n" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* key path for messages, e.g. users["alice"].user.token */
static int fail_key(struct cntr_err *err, const struct kc_file *f, const char *section,
		    const char *name, const char *key, const char *why)
{
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: %s[\"%s\"].%s: %s", f->path, section, name,
			 key, why);
}

/* Scalar value of map[key]; NULL when absent or null. A non-scalar fails. */
static int get_string(struct kc_file *f, yaml_node_t *map, const char *key, const char *section,
		      const char *name, const char *prefix, const char **out, struct cntr_err *err)
{
	yaml_node_t *n = map_get(&f->doc, map, key);
	*out = NULL;
	if (!n)
		return 0;
	if (n->type != YAML_SCALAR_NODE) {
		_cleanup_free_ char *k = xasprintf("%s.%s", prefix, key);
		return fail_key(err, f, section, name, k, "expected a string");
	}
	if (!scalar_is_null(n))
		*out = (const char *)n->data.scalar.value;
	return 0;
}

/* ---------------------------------------------------------------- files */

static void kc_set_free(struct kc_set *set)
{
	for (size_t i = 0; i < set->count; i++) {
		free(set->files[i].path);
		free(set->files[i].dir);
		if (set->files[i].has_doc)
			yaml_document_delete(&set->files[i].doc);
	}
	free(set->files);
	free(set->source);
	memset(set, 0, sizeof(*set));
}

static char *absolute_dir_of(const char *path)
{
	_cleanup_free_ char *copy = xstrdup(path);
	char *slash = strrchr(copy, '/');
	char resolved[PATH_MAX];

	if (!slash)
		return realpath(".", resolved) ? xstrdup(resolved) : xstrdup(".");
	if (slash == copy)
		return xstrdup("/");
	*slash = '\0';
	return realpath(copy, resolved) ? xstrdup(resolved) : steal_pointer(&copy);
}

static int parse_yaml_text(struct kc_file *f, const char *text, size_t len, struct cntr_err *err)
{
	yaml_parser_t parser;
	int ok;

	if (!yaml_parser_initialize(&parser))
		return cntr_fail(err, CNTR_EXIT_FAILURE, ENOMEM, "%s: cannot initialise YAML parser", f->path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	ok = yaml_parser_load(&parser, &f->doc);
	if (!ok) {
		cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: invalid YAML at line %zu: %s", f->path,
			  parser.problem_mark.line + 1, parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);
	f->has_doc = true;
	if (yaml_root(f) && yaml_root(f)->type != YAML_MAPPING_NODE)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: not a kubeconfig (top level is not a mapping)",
				 f->path);
	return 0;
}

static struct kc_file *kc_set_add(struct kc_set *set, const char *path)
{
	struct kc_file *f;
	set->files = realloc(set->files, (set->count + 1) * sizeof(*set->files));
	if (!set->files)
		abort();
	f = &set->files[set->count++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->dir = absolute_dir_of(path);
	return f;
}

static int kc_set_add_file(struct kc_set *set, const char *path, struct cntr_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;
	struct kc_file *f;

	if (read_file_at(AT_FDCWD, path, &text, &len, err) < 0)
		return cntr_err_prefix(err, "kubeconfig: ");
	f = kc_set_add(set, path);
	return parse_yaml_text(f, text, len, err);
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
		yaml_node_t *seq = map_get(&f->doc, yaml_root(f), section);
		if (!seq || seq->type != YAML_SEQUENCE_NODE)
			continue;
		for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
			yaml_node_t *entry = yaml_document_get_node(&f->doc, *it);
			yaml_node_t *n = map_get(&f->doc, entry, "name");
			if (n && n->type == YAML_SCALAR_NODE && strcmp((char *)n->data.scalar.value, name) == 0) {
				yaml_node_t *body = map_get(&f->doc, entry, inner);
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
		yaml_node_t *n = map_get(&set->files[i].doc, yaml_root(&set->files[i]), "current-context");
		if (n && n->type == YAML_SCALAR_NODE && !scalar_is_null(n))
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

static char *resolve_path(const struct kc_file *f, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (path[0] == '~' && path[1] == '/' && getenv("HOME"))
		return xasprintf("%s/%s", getenv("HOME"), path + 2);
	return xasprintf("%s/%s", f->dir, path);
}

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
		*(char **)slot = resolve_path(f, value);
		return 0;
	case FIELD_BASE64: {
		struct kube_blob *blob = slot;
		if (kube_base64_decode(value, strlen(value), &blob->data, &blob->len) < 0)
			return fail_key(err, f, section, name, key, "invalid base64");
		return 0;
	}
	case FIELD_BOOL:
		if (kube_parse_yaml_bool(value, (bool *)slot) < 0)
			return fail_key(err, f, section, name, key, "expected true or false");
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
		if (get_string(f, map, fields[i].key, section, name, prefix, &value, err) < 0)
			return -1;
		if (value && apply_field(cfg, &fields[i], f, value, section, name, prefix, err) < 0)
			return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- exec plugin spec */

static const struct {
	const char *name;
	enum kube_exec_interactive mode;
} interactive_modes[] = {
	{ "IfAvailable", KUBE_EXEC_INTERACTIVE_IF_AVAILABLE },
	{ "Never", KUBE_EXEC_INTERACTIVE_NEVER },
	{ "Always", KUBE_EXEC_INTERACTIVE_ALWAYS },
};

static const char *const exec_api_versions[] = {
	"client.authentication.k8s.io/v1",
	"client.authentication.k8s.io/v1beta1",
};

static void exec_plugin_free(struct kube_exec_plugin *p)
{
	if (!p)
		return;
	free(p->api_version);
	free(p->command);
	strv_free(p->args);
	strv_free(p->env);
	free(p->install_hint);
	free(p);
}

/* Append to a NULL-terminated vector. */
static void strv_push(char ***v, char *s)
{
	size_t n = strv_len(*v);
	*v = realloc(*v, (n + 2) * sizeof(char *));
	if (!*v)
		abort();
	(*v)[n] = s;
	(*v)[n + 1] = NULL;
}

static int parse_exec_args(struct kube_exec_plugin *p, struct kc_file *f, yaml_node_t *exec,
			   const char *name, struct cntr_err *err)
{
	yaml_node_t *args = map_get(&f->doc, exec, "args");
	if (!args || (args->type == YAML_SCALAR_NODE && scalar_is_null(args)))
		return 0;
	if (args->type != YAML_SEQUENCE_NODE)
		return fail_key(err, f, "users", name, "user.exec.args", "expected a list of strings");
	for (yaml_node_item_t *it = args->data.sequence.items.start; it < args->data.sequence.items.top; it++) {
		yaml_node_t *a = yaml_document_get_node(&f->doc, *it);
		if (!a || a->type != YAML_SCALAR_NODE)
			return fail_key(err, f, "users", name, "user.exec.args", "expected a list of strings");
		strv_push(&p->args, xstrdup((char *)a->data.scalar.value));
	}
	return 0;
}

static int parse_exec_env(struct kube_exec_plugin *p, struct kc_file *f, yaml_node_t *exec,
			  const char *name, struct cntr_err *err)
{
	yaml_node_t *env = map_get(&f->doc, exec, "env");
	if (!env || (env->type == YAML_SCALAR_NODE && scalar_is_null(env)))
		return 0;
	if (env->type != YAML_SEQUENCE_NODE)
		return fail_key(err, f, "users", name, "user.exec.env", "expected a list of {name, value}");
	for (yaml_node_item_t *it = env->data.sequence.items.start; it < env->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(&f->doc, *it);
		const char *var = NULL, *value = NULL;
		if (get_string(f, e, "name", "users", name, "user.exec.env[]", &var, err) < 0 ||
		    get_string(f, e, "value", "users", name, "user.exec.env[]", &value, err) < 0)
			return -1;
		if (!var || !*var || strchr(var, '='))
			return fail_key(err, f, "users", name, "user.exec.env[].name",
					"missing or invalid variable name");
		strv_push(&p->env, xasprintf("%s=%s", var, value ? value : ""));
	}
	return 0;
}

static int parse_exec_modes(struct kube_exec_plugin *p, struct kc_file *f, yaml_node_t *exec,
			    const char *name, struct cntr_err *err)
{
	const char *mode = NULL, *provide = NULL;
	size_t i;

	if (get_string(f, exec, "interactiveMode", "users", name, "user.exec", &mode, err) < 0 ||
	    get_string(f, exec, "provideClusterInfo", "users", name, "user.exec", &provide, err) < 0)
		return -1;
	if (provide && kube_parse_yaml_bool(provide, &p->provide_cluster_info) < 0)
		return fail_key(err, f, "users", name, "user.exec.provideClusterInfo", "expected true or false");
	if (!mode) {
		/* kubectl insists on it for v1 so that a plugin never blocks on a prompt by surprise. */
		if (strcmp(p->api_version, exec_api_versions[0]) == 0)
			return fail_key(err, f, "users", name, "user.exec.interactiveMode",
					"required for client.authentication.k8s.io/v1 (Never, IfAvailable or Always)");
		return 0;
	}
	for (i = 0; i < sizeof(interactive_modes) / sizeof(interactive_modes[0]); i++) {
		if (strcmp(mode, interactive_modes[i].name) == 0) {
			p->interactive = interactive_modes[i].mode;
			return 0;
		}
	}
	return fail_key(err, f, "users", name, "user.exec.interactiveMode",
			"unknown mode (Never, IfAvailable or Always)");
}

static int parse_exec_plugin(struct kube_config *cfg, struct kc_file *f, yaml_node_t *exec,
			     const char *name, struct cntr_err *err)
{
	struct kube_exec_plugin *p = calloc(1, sizeof(*p));
	const char *api = NULL, *command = NULL, *hint = NULL;
	bool known = false;

	if (!p)
		abort();
	cfg->exec = p; /* owned by cfg from now on, freed with it on failure */
	p->args = calloc(1, sizeof(char *));
	p->env = calloc(1, sizeof(char *));
	if (!p->args || !p->env)
		abort();
	if (exec->type != YAML_MAPPING_NODE)
		return fail_key(err, f, "users", name, "user.exec", "expected a mapping");
	if (get_string(f, exec, "apiVersion", "users", name, "user.exec", &api, err) < 0 ||
	    get_string(f, exec, "command", "users", name, "user.exec", &command, err) < 0 ||
	    get_string(f, exec, "installHint", "users", name, "user.exec", &hint, err) < 0)
		return -1;
	if (!command || !*command)
		return fail_key(err, f, "users", name, "user.exec.command", "missing");
	if (!api)
		return fail_key(err, f, "users", name, "user.exec.apiVersion", "missing");
	for (size_t i = 0; i < sizeof(exec_api_versions) / sizeof(exec_api_versions[0]); i++)
		known = known || strcmp(api, exec_api_versions[i]) == 0;
	if (!known)
		return fail_key(err, f, "users", name, "user.exec.apiVersion",
				"unsupported (use client.authentication.k8s.io/v1 or v1beta1)");
	p->api_version = xstrdup(api);
	/* kubectl resolves a command with a path separator against the kubeconfig's directory;
	 * a bare name is looked up in $PATH. */
	p->command = strchr(command, '/') ? resolve_path(f, command) : xstrdup(command);
	p->install_hint = hint ? xstrdup(hint) : NULL;
	if (parse_exec_args(p, f, exec, name, err) < 0 || parse_exec_env(p, f, exec, name, err) < 0)
		return -1;
	return parse_exec_modes(p, f, exec, name, err);
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
		return fail_key(err, f, "clusters", cfg->cluster_name, "cluster.server", "missing");
	if (!str_has_prefix(cfg->server, "https://") && !str_has_prefix(cfg->server, "http://"))
		return fail_key(err, f, "clusters", cfg->cluster_name, "cluster.server",
				"must start with https:// (or http://)");
	if (cfg->insecure_skip_tls_verify && (cfg->ca_file || cfg->ca_data.data))
		return fail_key(err, f, "clusters", cfg->cluster_name, "cluster.insecure-skip-tls-verify",
				"cannot be combined with a certificate authority (remove one of them)");
	return 0;
}

static int apply_user(struct kube_config *cfg, struct kc_set *set, struct cntr_err *err)
{
	struct kc_file *f = NULL;
	yaml_node_t *user, *exec;

	if (!cfg->user_name || !*cfg->user_name)
		return 0; /* anonymous */
	user = find_named(set, "users", "user", cfg->user_name, &f);
	if (!user)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: context \"%s\" refers to user \"%s\", which is not defined",
				 set->source, cfg->context_name, cfg->user_name);
	if (apply_fields(cfg, user_fields, sizeof(user_fields) / sizeof(user_fields[0]), f, user,
			 "users", cfg->user_name, "user", err) < 0)
		return -1;
	exec = map_get(&f->doc, user, "exec");
	if (exec && !(exec->type == YAML_SCALAR_NODE && scalar_is_null(exec)) &&
	    parse_exec_plugin(cfg, f, exec, cfg->user_name, err) < 0)
		return -1;
	if (!!(cfg->client_cert_file || cfg->client_cert_data.data) !=
	    !!(cfg->client_key_file || cfg->client_key_data.data))
		return fail_key(err, f, "users", cfg->user_name, "user",
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
	if (get_string(f, ctx, "cluster", "contexts", name, "context", &cluster, err) < 0 ||
	    get_string(f, ctx, "user", "contexts", name, "context", &user, err) < 0 ||
	    get_string(f, ctx, "namespace", "contexts", name, "context", &ns, err) < 0)
		return -1;
	if (!cluster || !*cluster)
		return fail_key(err, f, "contexts", name, "context.cluster", "missing");
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
	r = parse_yaml_text(kc_set_add(&set, path), yaml, len, err);
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
			return kube_incluster_load(opts, out, err);
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

static void blob_clear(struct kube_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

static void blob_set_string(struct kube_blob *b, const char *text)
{
	blob_clear(b);
	b->data = (unsigned char *)xstrdup(text);
	b->len = strlen(text);
}

static int read_token_file(struct kube_config *cfg, struct cntr_err *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (read_file_at(AT_FDCWD, cfg->token_file, &text, &len, err) < 0)
		return cntr_err_prefix(err, "%s: user \"%s\" tokenFile: ", cfg->source,
				       cfg->user_name ? cfg->user_name : "");
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!len)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "token file %s is empty", cfg->token_file);
	free(cfg->token);
	cfg->token = steal_pointer(&text);
	return 0;
}

static int run_exec_plugin(struct kube_config *cfg, struct cntr_err *err)
{
	struct kube_exec_credential cred = { 0 };

	if (kube_exec_credential_run(cfg, &cred, err) < 0)
		return -1;
	if (cred.token) {
		free(cfg->token);
		cfg->token = steal_pointer(&cred.token);
	}
	if (cred.client_certificate_data && cred.client_key_data) {
		blob_set_string(&cfg->client_cert_data, cred.client_certificate_data);
		blob_set_string(&cfg->client_key_data, cred.client_key_data);
		free(cfg->client_cert_file);
		free(cfg->client_key_file);
		cfg->client_cert_file = cfg->client_key_file = NULL;
	}
	kube_exec_credential_clear(&cred);
	return 0;
}

int kube_config_resolve_credentials(struct kube_config *cfg, struct cntr_err *err)
{
	if (cfg->credentials_resolved)
		return 0;
	/* A static token wins over tokenFile, as in client-go. */
	if (cfg->token_file && !cfg->token && read_token_file(cfg, err) < 0)
		return -1;
	if (cfg->exec && run_exec_plugin(cfg, err) < 0)
		return -1;
	cfg->credentials_resolved = true;
	return 0;
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
	blob_clear(&cfg->ca_data);
	free(cfg->tls_server_name);
	free(cfg->proxy_url);
	free(cfg->client_cert_file);
	blob_clear(&cfg->client_cert_data);
	free(cfg->client_key_file);
	blob_clear(&cfg->client_key_data);
	free(cfg->token);
	free(cfg->token_file);
	exec_plugin_free(cfg->exec);
	free(cfg->namespace);
	free(cfg);
}
