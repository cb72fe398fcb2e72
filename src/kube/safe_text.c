#include "kube/safe_text.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (RFC 3629: shortest form, no surrogates, at most
 * U+10FFFF), or 0 when the byte there does not start one. */
static size_t utf8_sequence_length(const uint8_t *s, size_t avail)
{
	uint8_t lo = 0x80, hi = 0xBF;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4;
	else
		return 0;
	/* The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF. */
	if (s[0] == 0xE0)
		lo = 0xA0;
	else if (s[0] == 0xED)
		hi = 0x9F;
	else if (s[0] == 0xF0)
		lo = 0x90;
	else if (s[0] == 0xF4)
		hi = 0x8F;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	}
	return n;
}

static char *put_escape(char *o, const char *prefix, unsigned value)
{
	static const char hex[] = "0123456789abcdef";

	o = stpcpy(o, prefix);
	*o++ = hex[(value >> 4) & 15];
	*o++ = hex[value & 15];
	return o;
}

static bool is_c1_in_utf8(const uint8_t *s, size_t n)
{
	return n == 2 && s[0] == 0xC2 && s[1] <= 0x9F;
}

char *kube_safe_textn(const char *text, size_t len)
{
	const uint8_t *s = (const uint8_t *)text;
	/* Worst case: every byte becomes "\xNN". */
	char *out = malloc(len * 4 + 1), *o = out;

	if (!out)
		abort();
	for (size_t i = 0; i < len;) {
		size_t n = utf8_sequence_length(s + i, len - i);

		if (n == 0) {
			o = put_escape(o, "\\x", s[i]);
			n = 1;
		} else if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
			*o++ = ' ';
		} else if (s[i] < 0x20 || s[i] == 0x7F) {
			o = put_escape(o, "\\x", s[i]);
		} else if (is_c1_in_utf8(s + i, n)) {
			o = put_escape(o, "\\u00", (unsigned)(0x80 | (s[i + 1] & 0x3F)));
		} else {
			memcpy(o, s + i, n);
			o += n;
		}
		i += n;
	}
	while (o > out && o[-1] == ' ')
		o--;
	*o = '\0';
	return out;
}

char *kube_safe_text(const char *text)
{
	return kube_safe_textn(text ? text : "", text ? strlen(text) : 0);
}
