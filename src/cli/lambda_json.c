#include "cli/lambda_json.h"

#include <string.h>

const char *json_str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

const json_t *json_array_find(const json_t *array, const char *key, const char *value)
{
	size_t i;
	json_t *item;

	json_array_foreach(array, i, item) {
		if (strcmp(json_str(item, key), value) == 0)
			return item;
	}
	return NULL;
}
