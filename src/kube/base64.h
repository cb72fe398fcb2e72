/* Base64 (RFC 4648, standard alphabet) as kubeconfig `*-data` fields and WebSocket keys use it. */
#pragma once
#include <stddef.h>

/* Decode text (whitespace and newlines ignored, padding optional) into a malloc'd buffer with a
 * NUL after the last byte. Returns 0, or -1 on an invalid character or length. */
int kube_base64_decode(const char *text, size_t len, unsigned char **out, size_t *out_len);

/* Encode into a malloc'd NUL-terminated string with padding. */
char *kube_base64_encode(const void *data, size_t len);
