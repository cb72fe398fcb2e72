/* Durations as the CLI accepts them (`--timeout`, `--idle-timeout`): Go-style units
 * `90s`, `2m`, `1h`, `1h30m`, `1m30s`, or plain seconds `45`. */
#pragma once
#include <stdint.h>

struct cntr_err;

/* Parse text into whole seconds. Units: h, m, s (each at most once, in that order);
 * a bare number means seconds. Zero is accepted ("0s"); negative, fractional, empty,
 * unknown units and overflow are usage errors (err->code = CNTR_EXIT_USAGE) naming the text. */
int kube_parse_duration(const char *text, uint64_t *seconds, struct cntr_err *err);
