/* Just enough JSON to read a few fields out of an engine's answer (docker's inspect, runc's
 * state.json) in the static binary, which links no JSON library. It navigates, it does not
 * build a tree: a span points into the caller's text. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct json_span {
	const char *start;  /* first byte of the value ('{', '"', digit, 't', ...) */
	size_t len;         /* bytes of the value, quotes included for strings */
};

/* The member `key` of the object in `obj` (top level of that object only). Returns 0 when
 * found, -1 when absent or when the text is not well-formed enough to walk. */
int json_span_member(struct json_span obj, const char *key, struct json_span *value);
/* Follow a path of keys through nested objects: {"State":{"Pid":1}} with "State", "Pid". */
int json_span_member_path(struct json_span obj, const char *const *keys, size_t nkeys,
			 struct json_span *value);
/* Element `index` of the array in `arr`. Returns 0, or -1 past the end / when not an array. */
int json_span_item(struct json_span arr, size_t index, struct json_span *value);
/* A span over a whole NUL-terminated text (leading whitespace skipped). */
struct json_span json_span_of(const char *text);
/* Integer value (no fraction or exponent). Returns 0 or -1. */
int json_span_int(struct json_span v, long long *out);
/* String value with escapes decoded into buf (\uXXXX outside ASCII becomes '?').
 * Returns 0, or -1 when v is not a string or buf is too small. */
int json_span_string(struct json_span v, char *buf, size_t size);
