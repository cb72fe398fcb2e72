#include "broker/broker_frontproxy.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"

/* A ConfigMap value holding a JSON array of strings. Absent key: an empty list. */
static int string_list(const json_t *data, const char *key, char ***out, struct cntr_err *err)
{
	const char *text = json_string_value(json_object_get(data, key));
	json_t *arr, *item;
	size_t i, n = 0;
	char **v;

	if (!text || !*text) {
		*out = calloc(1, sizeof(char *));
		if (!*out)
			abort();
		return 0;
	}
	arr = json_loads(text, 0, NULL);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s/%s: %s is not a JSON array of strings",
				 BROKER_AUTH_CONFIGMAP_NS, BROKER_AUTH_CONFIGMAP, key);
	}
	v = calloc(json_array_size(arr) + 1, sizeof(char *));
	if (!v)
		abort();
	json_array_foreach(arr, i, item)
		if (json_is_string(item) && *json_string_value(item))
			v[n++] = xstrdup(json_string_value(item));
	json_decref(arr);
	*out = v;
	return 0;
}

int broker_frontproxy_from_configmap(const json_t *configmap, struct broker_frontproxy *fp,
				     struct cntr_err *err)
{
	const json_t *data = json_object_get(configmap, "data");
	const char *ca = json_string_value(json_object_get(data, "requestheader-client-ca-file"));

	memset(fp, 0, sizeof(*fp));
	if (!ca || !strstr(ca, "-----BEGIN CERTIFICATE-----"))
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "%s/%s has no requestheader-client-ca-file: the API server is not configured "
				 "for aggregation (--requestheader-client-ca-file)",
				 BROKER_AUTH_CONFIGMAP_NS, BROKER_AUTH_CONFIGMAP);
	fp->client_ca_pem = xstrdup(ca);
	if (string_list(data, "requestheader-allowed-names", &fp->allowed_names, err) < 0 ||
	    string_list(data, "requestheader-username-headers", &fp->username_headers, err) < 0 ||
	    string_list(data, "requestheader-group-headers", &fp->group_headers, err) < 0 ||
	    string_list(data, "requestheader-extra-headers-prefix", &fp->extra_prefixes, err) < 0) {
		broker_frontproxy_free(fp);
		return -1;
	}
	if (!fp->username_headers[0]) {
		broker_frontproxy_free(fp);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "%s/%s: requestheader-username-headers is empty",
				 BROKER_AUTH_CONFIGMAP_NS, BROKER_AUTH_CONFIGMAP);
	}
	return 0;
}

void broker_frontproxy_free(struct broker_frontproxy *fp)
{
	free(fp->client_ca_pem);
	strv_free(fp->allowed_names);
	strv_free(fp->username_headers);
	strv_free(fp->group_headers);
	strv_free(fp->extra_prefixes);
	memset(fp, 0, sizeof(*fp));
}

bool broker_frontproxy_name_allowed(const struct broker_frontproxy *fp, const char *cn)
{
	if (!fp->allowed_names || !fp->allowed_names[0])
		return true;
	for (char **n = fp->allowed_names; cn && *n; n++)
		if (strcmp(*n, cn) == 0)
			return true;
	return false;
}

static const char *first_header(const struct broker_header *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0 && h[i].value && *h[i].value)
			return h[i].value;
	return NULL;
}

static void strv_push(char ***v, size_t *n, const char *s)
{
	char **grown = realloc(*v, (*n + 2) * sizeof(char *));

	if (!grown)
		abort();
	grown[(*n)++] = xstrdup(s);
	grown[*n] = NULL;
	*v = grown;
}

static int hex_digit(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : isxdigit((unsigned char)c) ? tolower((unsigned char)c) - 'a' + 10 : -1;
}

/* Extra keys travel in header names, lowercased and percent-encoded (a key such as
 * "example.org/scopes" cannot be a header name as it is): undo both, as Kubernetes does. */
static char *extra_key(const char *header_suffix)
{
	char *key = xstrdup(header_suffix), *out = key;

	for (const char *p = header_suffix; *p; p++) {
		if (*p == '%' && hex_digit(p[1]) >= 0 && hex_digit(p[2]) >= 0) {
			*out++ = (char)(hex_digit(p[1]) * 16 + hex_digit(p[2]));
			p += 2;
		} else {
			*out++ = (char)tolower((unsigned char)*p);
		}
	}
	*out = '\0';
	return key;
}

static void add_extra(json_t *extra, const char *key, const char *value)
{
	_cleanup_free_ char *lower = extra_key(key);
	json_t *list;

	list = json_object_get(extra, lower);
	if (!list) {
		list = json_array();
		json_object_set_new(extra, lower, list);
	}
	json_array_append_new(list, json_string(value));
}

int broker_identity_from_headers(const struct broker_frontproxy *fp, const struct broker_header *headers,
				 size_t n, struct broker_identity *id)
{
	const char *user = NULL;
	size_t ngroups = 0;

	memset(id, 0, sizeof(*id));
	for (char **h = fp->username_headers; h && *h && !user; h++)
		user = first_header(headers, n, *h);
	if (!user)
		return -1;
	id->user = xstrdup(user);
	id->groups = calloc(1, sizeof(char *));
	id->extra = json_object();
	if (!id->groups || !id->extra)
		abort();
	for (size_t i = 0; i < n; i++) {
		for (char **g = fp->group_headers; g && *g; g++)
			if (strcasecmp(headers[i].name, *g) == 0 && headers[i].value && *headers[i].value)
				strv_push(&id->groups, &ngroups, headers[i].value);
		for (char **p = fp->extra_prefixes; p && *p; p++) {
			size_t plen = strlen(*p);
			if (strncasecmp(headers[i].name, *p, plen) == 0 && headers[i].name[plen] && headers[i].value)
				add_extra(id->extra, headers[i].name + plen, headers[i].value);
		}
	}
	return 0;
}

void broker_identity_free(struct broker_identity *id)
{
	free(id->user);
	strv_free(id->groups);
	json_decref(id->extra);
	memset(id, 0, sizeof(*id));
}
