/* Small string helpers used by the parsers. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
/* Decimal unsigned integer, whole string; 0 on success, -1 otherwise (no errno games). */
int parse_u64(const char *s, uint64_t *out);
/* Hex unsigned integer (capability masks), whole string. */
int parse_hex_u64(const char *s, uint64_t *out);
/* True when every char is a lowercase hex digit and the string is non-empty. */
bool str_is_hex(const char *s);
/* Duplicate at most n bytes; aborts the process on out of memory. */
char *xstrndup(const char *s, size_t n);
char *xstrdup(const char *s);
/* asprintf that aborts on out-of-memory. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Number of entries of a NULL-terminated vector. */
size_t strv_len(char *const *v);
