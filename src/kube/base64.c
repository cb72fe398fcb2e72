/* Base64 through OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock (already linked for TLS). Only
 * what OpenSSL leaves to the caller is here: kubeconfig data may carry newlines and may omit
 * the padding, and EVP_DecodeBlock counts padding bytes as data. */
#include "kube/base64.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

char *kube_base64_encode(const void *data, size_t len)
{
	unsigned char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (!out)
		abort();
	EVP_EncodeBlock(out, data, (int)len); /* NUL-terminated */
	return (char *)out;
}

/* The base64 characters of text, whitespace dropped, padded to a multiple of 4. */
static char *compact_and_pad(const char *text, size_t len, size_t *out_len)
{
	char *buf = malloc(len + 4);
	size_t n = 0;

	if (!buf)
		abort();
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", text[i]))
			buf[n++] = text[i];
	while (n % 4)
		buf[n++] = '=';
	buf[n] = '\0';
	*out_len = n;
	return buf;
}

int kube_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
	size_t n, pad = 0;
	char *clean = compact_and_pad(text, len, &n);
	unsigned char *buf = malloc(n / 4 * 3 + 1);
	int decoded;

	if (!buf)
		abort();
	for (size_t i = n; i > 0 && clean[i - 1] == '=' && pad < 2; i--)
		pad++;
	/* "=" only at the end: EVP_DecodeBlock would take "ab=c" as data. */
	decoded = memchr(clean, '=', n - pad) || (n > 0 && clean[n - pad - 1] == '=')
			  ? -1 : EVP_DecodeBlock(buf, (unsigned char *)clean, (int)n);
	free(clean);
	if (decoded < 0 || (size_t)decoded < pad) {
		free(buf);
		return -1;
	}
	*out_len = (size_t)decoded - pad;
	buf[*out_len] = '\0';
	*out = buf;
	return 0;
}
