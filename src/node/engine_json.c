/* Minimal JSON navigation: skip values by their syntax, compare keys, decode one scalar. */
#include "engine_json.h"

#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at '"': returns the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* Objects and arrays: count brackets, stepping over strings (which may contain brackets). */
static const char *skip_container(const char *p, const char *end)
{
	int depth = 0;
	while (p < end) {
		if (*p == '"') {
			p = skip_string(p, end);
			if (!p)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[') {
			if (++depth > JSON_MAX_DEPTH)
				return NULL;
		} else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return p + 1;
		}
		p++;
	}
	return NULL;
}

/* Numbers and literals run until a delimiter. */
static const char *skip_scalar(const char *p, const char *end)
{
	const char *start = p;
	while (p < end && !strchr(",}] \t\r\n", *p))
		p++;
	return p > start ? p : NULL;
}

static const char *skip_value(const char *p, const char *end)
{
	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p == '{' || *p == '[')
		return skip_container(p, end);
	return skip_scalar(p, end);
}

/* Keys in engine output are plain ASCII: compare the raw bytes between the quotes. */
static bool key_equals(const char *p, const char *after, const char *key)
{
	size_t klen = strlen(key);
	return (size_t)(after - p) == klen + 2 && memcmp(p + 1, key, klen) == 0;
}

int json_span_member(struct json_span obj, const char *key, struct json_span *value)
{
	const char *end = obj.start + obj.len;
	const char *p = skip_ws(obj.start, end);

	if (p >= end || *p != '{')
		return -1;
	p = skip_ws(p + 1, end);
	while (p < end && *p == '"') {
		const char *key_end = skip_string(p, end);
		const char *val, *val_end;
		if (!key_end)
			return -1;
		val = skip_ws(key_end, end);
		if (val >= end || *val != ':')
			return -1;
		val = skip_ws(val + 1, end);
		val_end = skip_value(val, end);
		if (!val_end)
			return -1;
		if (key_equals(p, key_end, key)) {
			value->start = val;
			value->len = (size_t)(val_end - val);
			return 0;
		}
		p = skip_ws(val_end, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	return -1;
}

int json_span_member_path(struct json_span obj, const char *const *keys, size_t nkeys,
			 struct json_span *value)
{
	struct json_span cur = obj;
	for (size_t i = 0; i < nkeys; i++)
		if (json_span_member(cur, keys[i], &cur) < 0)
			return -1;
	*value = cur;
	return 0;
}

int json_span_item(struct json_span arr, size_t index, struct json_span *value)
{
	const char *end = arr.start + arr.len;
	const char *p = skip_ws(arr.start, end);

	if (p >= end || *p != '[')
		return -1;
	p = skip_ws(p + 1, end);
	for (size_t i = 0; p < end && *p != ']'; i++) {
		const char *val_end = skip_value(p, end);
		if (!val_end)
			return -1;
		if (i == index) {
			value->start = p;
			value->len = (size_t)(val_end - p);
			return 0;
		}
		p = skip_ws(val_end, end);
		if (p < end && *p == ',')
			p = skip_ws(p + 1, end);
	}
	return -1;
}

struct json_span json_span_of(const char *text)
{
	size_t len = strlen(text);
	const char *p = skip_ws(text, text + len);
	return (struct json_span){ p, len - (size_t)(p - text) };
}

int json_span_int(struct json_span v, long long *out)
{
	char buf[32];
	char *endp;
	if (v.len == 0 || v.len >= sizeof(buf))
		return -1;
	memcpy(buf, v.start, v.len);
	buf[v.len] = '\0';
	if (!((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-'))
		return -1;
	*out = strtoll(buf, &endp, 10);
	return *endp ? -1 : 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One escape after the backslash at *pp; returns the decoded byte or -1. */
static int decode_escape(const char **pp, const char *end)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p = *pp + 1;
	const char *hit;
	int code = 0;

	if (p >= end)
		return -1;
	if (*p != 'u') {
		hit = strchr(from, *p);
		if (!hit || !*p)
			return -1;
		*pp = p + 1;
		return to[hit - from];
	}
	if (end - p < 5)
		return -1;
	for (int i = 1; i <= 4; i++) {
		int d = hex_digit(p[i]);
		if (d < 0)
			return -1;
		code = code * 16 + d;
	}
	*pp = p + 5;
	return code < 0x80 && code > 0 ? code : '?';
}

int json_span_string(struct json_span v, char *buf, size_t size)
{
	const char *p = v.start, *end = v.start + v.len;
	size_t n = 0;

	if (v.len < 2 || *p != '"' || end[-1] != '"')
		return -1;
	end--;
	for (p++; p < end;) {
		int c;
		if (*p == '\\') {
			c = decode_escape(&p, end);
			if (c < 0)
				return -1;
		} else {
			c = (unsigned char)*p++;
		}
		if (n + 1 >= size)
			return -1;
		buf[n++] = (char)c;
	}
	if (size == 0)
		return -1;
	buf[n] = '\0';
	return 0;
}
