/* users[].user.exec: the credential plugin spec (client.authentication.k8s.io/v1, v1beta1).
 * Running it is exec_credential.c's job. */
#include "kube/kubeconfig_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

static const struct {
	const char *name;
	enum kube_exec_interactive mode;
} interactive_modes[] = {
	{ "IfAvailable", KUBE_EXEC_INTERACTIVE_IF_AVAILABLE },
	{ "Never", KUBE_EXEC_INTERACTIVE_NEVER },
	{ "Always", KUBE_EXEC_INTERACTIVE_ALWAYS },
};

static const char exec_api_v1[] = "client.authentication.k8s.io/v1";
static const char *const exec_api_versions[] = {
	exec_api_v1,
	"client.authentication.k8s.io/v1beta1",
};

void kc_exec_plugin_free(struct kube_exec_plugin *p)
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

/* A sequence node, or NULL when the key is absent or null; -1 when it is something else. */
static int get_sequence(struct kc_file *f, yaml_node_t *map, const char *key, yaml_node_t **out)
{
	yaml_node_t *n = kc_map_get(f, map, key);
	*out = NULL;
	if (!n || kc_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return -1;
	*out = n;
	return 0;
}

static int parse_exec_args(struct kube_exec_plugin *p, struct kc_file *f, yaml_node_t *exec,
			   const char *name, struct cntr_err *err)
{
	yaml_node_t *args;

	if (get_sequence(f, exec, "args", &args) < 0)
		return kc_fail_key(err, f, "users", name, "user.exec.args", "expected a list of strings");
	for (yaml_node_item_t *it = args ? args->data.sequence.items.start : NULL;
	     args && it < args->data.sequence.items.top; it++) {
		yaml_node_t *a = yaml_document_get_node(&f->doc, *it);
		if (!a || a->type != YAML_SCALAR_NODE)
			return kc_fail_key(err, f, "users", name, "user.exec.args", "expected a list of strings");
		strv_push(&p->args, xstrdup((char *)a->data.scalar.value));
	}
	return 0;
}

static int parse_exec_env(struct kube_exec_plugin *p, struct kc_file *f, yaml_node_t *exec,
			  const char *name, struct cntr_err *err)
{
	yaml_node_t *env;

	if (get_sequence(f, exec, "env", &env) < 0)
		return kc_fail_key(err, f, "users", name, "user.exec.env", "expected a list of {name, value}");
	for (yaml_node_item_t *it = env ? env->data.sequence.items.start : NULL;
	     env && it < env->data.sequence.items.top; it++) {
		yaml_node_t *e = yaml_document_get_node(&f->doc, *it);
		const char *var = NULL, *value = NULL;
		if (kc_get_string(f, e, "name", "users", name, "user.exec.env[]", &var, err) < 0 ||
		    kc_get_string(f, e, "value", "users", name, "user.exec.env[]", &value, err) < 0)
			return -1;
		if (!var || !*var || strchr(var, '='))
			return kc_fail_key(err, f, "users", name, "user.exec.env[].name",
					   "missing or invalid variable name");
		strv_push(&p->env, xasprintf("%s=%s", var, value ? value : ""));
	}
	return 0;
}

static int parse_exec_modes(struct kube_exec_plugin *p, struct kc_file *f, yaml_node_t *exec,
			    const char *name, struct cntr_err *err)
{
	const char *mode = NULL, *provide = NULL;

	if (kc_get_string(f, exec, "interactiveMode", "users", name, "user.exec", &mode, err) < 0 ||
	    kc_get_string(f, exec, "provideClusterInfo", "users", name, "user.exec", &provide, err) < 0)
		return -1;
	if (provide && kube_parse_yaml_bool(provide, &p->provide_cluster_info) < 0)
		return kc_fail_key(err, f, "users", name, "user.exec.provideClusterInfo", "expected true or false");
	if (!mode) {
		/* kubectl insists on it for v1 so that a plugin never blocks on a prompt by surprise. */
		if (strcmp(p->api_version, exec_api_v1) == 0)
			return kc_fail_key(err, f, "users", name, "user.exec.interactiveMode",
					   "required for client.authentication.k8s.io/v1 (Never, IfAvailable or Always)");
		return 0;
	}
	for (size_t i = 0; i < sizeof(interactive_modes) / sizeof(interactive_modes[0]); i++) {
		if (strcmp(mode, interactive_modes[i].name) == 0) {
			p->interactive = interactive_modes[i].mode;
			return 0;
		}
	}
	return kc_fail_key(err, f, "users", name, "user.exec.interactiveMode",
			   "unknown mode (Never, IfAvailable or Always)");
}

static bool api_version_supported(const char *api)
{
	for (size_t i = 0; i < sizeof(exec_api_versions) / sizeof(exec_api_versions[0]); i++)
		if (strcmp(api, exec_api_versions[i]) == 0)
			return true;
	return false;
}

int kc_parse_exec_plugin(struct kube_config *cfg, struct kc_file *f, yaml_node_t *exec, const char *name,
			 struct cntr_err *err)
{
	struct kube_exec_plugin *p = calloc(1, sizeof(*p));
	const char *api = NULL, *command = NULL, *hint = NULL;

	if (!p)
		abort();
	cfg->exec = p; /* owned by cfg from now on, freed with it on failure */
	p->args = calloc(1, sizeof(char *));
	p->env = calloc(1, sizeof(char *));
	if (!p->args || !p->env)
		abort();
	if (exec->type != YAML_MAPPING_NODE)
		return kc_fail_key(err, f, "users", name, "user.exec", "expected a mapping");
	if (kc_get_string(f, exec, "apiVersion", "users", name, "user.exec", &api, err) < 0 ||
	    kc_get_string(f, exec, "command", "users", name, "user.exec", &command, err) < 0 ||
	    kc_get_string(f, exec, "installHint", "users", name, "user.exec", &hint, err) < 0)
		return -1;
	if (!command || !*command)
		return kc_fail_key(err, f, "users", name, "user.exec.command", "missing");
	if (!api)
		return kc_fail_key(err, f, "users", name, "user.exec.apiVersion", "missing");
	if (!api_version_supported(api))
		return kc_fail_key(err, f, "users", name, "user.exec.apiVersion",
				   "unsupported (use client.authentication.k8s.io/v1 or v1beta1)");
	p->api_version = xstrdup(api);
	/* kubectl resolves a command with a path separator against the kubeconfig's directory;
	 * a bare name is looked up in $PATH. */
	p->command = strchr(command, '/') ? kc_resolve_path(f, command) : xstrdup(command);
	p->install_hint = hint ? xstrdup(hint) : NULL;
	if (parse_exec_args(p, f, exec, name, err) < 0 || parse_exec_env(p, f, exec, name, err) < 0)
		return -1;
	return parse_exec_modes(p, f, exec, name, err);
}
