#include "kube/base64.h"

#include <stdint.h>
#include <stdlib.h>

static const char base64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int is_base64_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int kube_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = malloc(len / 4 * 3 + 4);
	size_t n = 0, digits = 0, padding = 0;
	uint32_t acc = 0;

	if (!buf)
		abort();
	for (size_t i = 0; i < len; i++) {
		int v;
		if (is_base64_space(text[i]))
			continue;
		if (text[i] == '=') {
			padding++;
			continue;
		}
		v = base64_value(text[i]);
		if (v < 0 || padding) /* data after padding is malformed */
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		if (++digits % 4 == 0) {
			buf[n++] = (unsigned char)(acc >> 16);
			buf[n++] = (unsigned char)(acc >> 8);
			buf[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	switch (digits % 4) {
	case 1:
		goto bad;
	case 2:
		buf[n++] = (unsigned char)(acc >> 4);
		break;
	case 3:
		buf[n++] = (unsigned char)(acc >> 10);
		buf[n++] = (unsigned char)(acc >> 2);
		break;
	}
	if (padding > 2 || (padding && (digits + padding) % 4))
		goto bad;
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
bad:
	free(buf);
	return -1;
}

char *kube_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	char *out = malloc((len + 2) / 3 * 4 + 1);
	size_t o = 0;

	if (!out)
		abort();
	for (size_t i = 0; i < len; i += 3) {
		uint32_t acc = (uint32_t)in[i] << 16;
		size_t left = len - i;
		if (left > 1)
			acc |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			acc |= in[i + 2];
		out[o++] = base64_alphabet[acc >> 18 & 63];
		out[o++] = base64_alphabet[acc >> 12 & 63];
		out[o++] = left > 1 ? base64_alphabet[acc >> 6 & 63] : '=';
		out[o++] = left > 2 ? base64_alphabet[acc & 63] : '=';
	}
	out[o] = '\0';
	return out;
}
