/* Reading Kubernetes objects with jansson: absent fields read as "" or NULL, never crash. */
#pragma once
#include <jansson.h>

/* obj[key] as a string, "" when absent or not a string. */
const char *json_str(const json_t *obj, const char *key);

/* The element of array whose string field key equals value (containers by "name",
 * conditions by "type"), or NULL. */
const json_t *json_array_find(const json_t *array, const char *key, const char *value);
