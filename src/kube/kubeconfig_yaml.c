/* YAML access for the kubeconfig loader. libyaml gives every scalar as a string and resolves
 * nothing (no booleans, no `<<` merges): the typing is done here and by the field tables. */
#include "kube/kubeconfig_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

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

void kc_file_init(struct kc_file *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->dir = absolute_dir_of(path);
}

void kc_file_clear(struct kc_file *f)
{
	free(f->path);
	free(f->dir);
	if (f->has_doc)
		yaml_document_delete(&f->doc);
	memset(f, 0, sizeof(*f));
}

/* Walk the YAML events only as far as the nesting stays within KUBE_CONFIG_DEPTH_MAX: a
 * document nested deeper is refused after reading a little more than the cap's worth of it,
 * before libyaml's loader (or its scanner, over the whole text) spends minutes on it.
 * Syntax errors are left to the loader, which reports them. */
static int check_depth(const struct kc_file *f, const char *text, size_t len, struct cntr_err *err)
{
	yaml_parser_t parser;
	yaml_event_t event;
	unsigned depth = 0;
	int r = 0;

	if (!yaml_parser_initialize(&parser))
		return cntr_fail(err, CNTR_EXIT_FAILURE, ENOMEM, "%s: cannot initialise YAML parser", f->path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_type_t type;
		size_t line;

		if (!yaml_parser_parse(&parser, &event))
			break;
		type = event.type;
		line = event.start_mark.line + 1;
		yaml_event_delete(&event);
		if (type == YAML_STREAM_END_EVENT)
			break;
		if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT)
			depth--;
		if ((type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) &&
		    ++depth > KUBE_CONFIG_DEPTH_MAX) {
			r = cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				      "%s: nested deeper than %u levels at line %zu (the cap for a kubeconfig)",
				      f->path, KUBE_CONFIG_DEPTH_MAX, line);
			break;
		}
	}
	yaml_parser_delete(&parser);
	return r;
}

int kc_file_parse(struct kc_file *f, const char *text, size_t len, struct cntr_err *err)
{
	yaml_parser_t parser;
	int ok;

	if (len > KUBE_CONFIG_SIZE_MAX)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: larger than %u MiB (the cap for a kubeconfig)",
				 f->path, KUBE_CONFIG_SIZE_MAX >> 20);
	if (check_depth(f, text, len, err) < 0)
		return -1;
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
	if (kc_root(f) && kc_root(f)->type != YAML_MAPPING_NODE)
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: not a kubeconfig (top level is not a mapping)",
				 f->path);
	return 0;
}

yaml_node_t *kc_root(struct kc_file *f)
{
	return f->has_doc ? yaml_document_get_root_node(&f->doc) : NULL;
}

yaml_node_t *kc_map_get(struct kc_file *f, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&f->doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(&f->doc, p->value);
	}
	return NULL;
}

bool kc_is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp((const char *)n->data.scalar.value, nulls[i]) == 0)
			return true;
	return false;
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

int kc_fail_key(struct cntr_err *err, const struct kc_file *f, const char *section, const char *name,
		const char *key, const char *why)
{
	return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s: %s[\"%s\"].%s: %s", f->path, section, name,
			 key, why);
}

int kc_get_string(struct kc_file *f, yaml_node_t *map, const char *key, const char *section,
		  const char *name, const char *prefix, const char **out, struct cntr_err *err)
{
	yaml_node_t *n = kc_map_get(f, map, key);
	*out = NULL;
	if (!n)
		return 0;
	if (n->type != YAML_SCALAR_NODE) {
		_cleanup_free_ char *k = xasprintf("%s.%s", prefix, key);
		return kc_fail_key(err, f, section, name, k, "expected a string");
	}
	if (!kc_is_null(n))
		*out = (const char *)n->data.scalar.value;
	return 0;
}

char *kc_resolve_path(const struct kc_file *f, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	if (path[0] == '~' && path[1] == '/' && getenv("HOME"))
		return xasprintf("%s/%s", getenv("HOME"), path + 2);
	return xasprintf("%s/%s", f->dir, path);
}
