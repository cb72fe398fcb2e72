/* Phase messages ("agent created", "scheduled", "ready", "attached"): on stderr when it is a
 * terminal or with -v, silent otherwise so scripts see only the command's own output. */
#pragma once
#include <stdbool.h>

void lambda_phase_init(const char *program, bool show);
void lambda_phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
