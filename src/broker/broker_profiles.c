#include "broker/broker_profiles.h"

#include <string.h>

bool broker_profile_known(const char *profile)
{
	static const char *const known[] = { "general", "restricted", "netadmin", "sysadmin" };

	for (size_t i = 0; profile && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(profile, known[i]) == 0)
			return true;
	return false;
}

static bool listed(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; p && *p;) {
		const char *end;
		size_t len;

		while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n')
			p++;
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n'))
			len--;
		if (len == n && len && strncmp(p, item, n) == 0)
			return true;
		p = end;
	}
	return false;
}

bool broker_profile_allowed(const json_t *configmap, const char *ns, const char *profile)
{
	const json_t *data = json_object_get(configmap, "data");
	const json_t *value = json_object_get(data, ns);

	if (!configmap)
		return true;
	if (!value)
		value = json_object_get(data, "*");
	if (!value)
		return true;
	return json_is_string(value) && listed(json_string_value(value), profile);
}
