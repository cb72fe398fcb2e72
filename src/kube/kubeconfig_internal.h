/* Private to the kubeconfig loader (kubeconfig*.c): one parsed file, YAML lookups that name the
 * file and key in their errors, the exec plugin spec, and credential resolution helpers. */
#pragma once
#include <stdbool.h>
#include <yaml.h>

#include "kube/kubeconfig.h"

struct cntr_err;

/* One parsed kubeconfig file. */
struct kc_file {
	char *path;
	char *dir; /* absolute directory of path: base for relative paths in it */
	yaml_document_t doc;
	bool has_doc;
};

/* kubeconfig_yaml.c */
void kc_file_init(struct kc_file *f, const char *path);
int kc_file_parse(struct kc_file *f, const char *text, size_t len, struct cntr_err *err);
void kc_file_clear(struct kc_file *f);
yaml_node_t *kc_root(struct kc_file *f);
yaml_node_t *kc_map_get(struct kc_file *f, yaml_node_t *map, const char *key);
/* A plain `key:`, `key: ~` or `key: null`: "not set", as in kubectl. */
bool kc_is_null(const yaml_node_t *n);
/* Fill err with "FILE: section["name"].key: why". Returns -1. */
int kc_fail_key(struct cntr_err *err, const struct kc_file *f, const char *section, const char *name,
		const char *key, const char *why);
/* Scalar value of map[key] or NULL when absent/null; a non-scalar fails naming prefix.key. */
int kc_get_string(struct kc_file *f, yaml_node_t *map, const char *key, const char *section,
		  const char *name, const char *prefix, const char **out, struct cntr_err *err);
/* A path from f made absolute against f's directory (`~/` against $HOME). malloc'd. */
char *kc_resolve_path(const struct kc_file *f, const char *path);

/* kubeconfig_exec.c: users[name].user.exec into cfg->exec (owned by cfg even on failure). */
int kc_parse_exec_plugin(struct kube_config *cfg, struct kc_file *f, yaml_node_t *exec, const char *name,
			 struct cntr_err *err);
void kc_exec_plugin_free(struct kube_exec_plugin *p);

/* kubeconfig_credentials.c */
void kc_blob_clear(struct kube_blob *b);
