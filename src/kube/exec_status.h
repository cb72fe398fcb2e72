/* The exec protocol's channel 3: a `Status` JSON telling how the remote command ended. */
#pragma once
#include <stddef.h>

struct cntr_err;

/* Success -> 0. Failure with reason NonZeroExitCode and details.causes[{reason:"ExitCode",
 * message:"N"}] -> N. Any other Failure (e.g. the command could not be started, "container not
 * found") -> -1 with err->msg the Status message and err->code CNTR_EXIT_FAILURE, or
 * CNTR_EXIT_NOTFOUND/CNTR_EXIT_NOEXEC when the message says the executable was not found /
 * could not be executed. Malformed JSON -> -1. */
int kube_exec_status_exit_code(const char *json, size_t len, int *exit_code, struct cntr_err *err);
