/* Run an engine's command-line tool (podman, machinectl, lxc-info, crictl) without a shell:
 * fork + execvp with an argv, stdout captured through a pipe, stderr discarded, no inherited
 * descriptors, and a deadline so a hung engine cannot hang cntr. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct cntr_err;

/* Default deadline for one engine call. */
#define ENGINE_EXEC_TIMEOUT_MS 10000

/* True when `program` is an executable file in one of $PATH's directories (or, when it holds
 * a '/', at that path). */
bool engine_program_exists(const char *program);

/* Run argv, wait at most timeout_ms. *output (malloc'd, NUL-terminated) gets stdout and
 * *status the exit status (-1 when killed by a signal). Returns 0 when the program ran to the
 * end; -1 with err filled when it could not start or ran past the deadline (it is killed). */
int engine_run(char *const argv[], int timeout_ms, char **output, int *status,
	       struct cntr_err *err);
