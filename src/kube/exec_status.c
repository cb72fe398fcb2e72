#include "kube/exec_status.h"

#include <jansson.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/strutil.h"
#include "kube/safe_text.h"
#include "kube/status.h"

/* The exit code carried by a NonZeroExitCode Status: details.causes[reason=ExitCode].message. */
static int exit_code_from_causes(const json_t *status, int *exit_code)
{
	json_t *causes = json_object_get(json_object_get(status, "details"), "causes");
	size_t i;
	json_t *cause;

	json_array_foreach(causes, i, cause) {
		const char *reason = json_string_value(json_object_get(cause, "reason"));
		const char *message = json_string_value(json_object_get(cause, "message"));
		uint64_t code;
		if (reason && strcmp(reason, "ExitCode") == 0 && message && parse_u64(message, &code) == 0 &&
		    code <= 255) {
			*exit_code = (int)code;
			return 0;
		}
	}
	return -1;
}

/* Runtimes report a command that could not be started only in the message text
 * (runc: `exec: "nope": executable file not found in $PATH`). Map it to the shell's codes. */
static const struct {
	const char *needle;
	int code;
} start_failures[] = {
	{ "executable file not found", CNTR_EXIT_NOTFOUND },
	{ "no such file or directory", CNTR_EXIT_NOTFOUND },
	{ "permission denied", CNTR_EXIT_NOEXEC },
	{ "exec format error", CNTR_EXIT_NOEXEC },
};

static int code_for_failure_message(const char *message)
{
	for (size_t i = 0; i < sizeof(start_failures) / sizeof(start_failures[0]); i++)
		if (message && strcasestr(message, start_failures[i].needle))
			return start_failures[i].code;
	return CNTR_EXIT_FAILURE;
}

int kube_exec_status_exit_code(const char *json, size_t len, int *exit_code, struct cntr_err *err)
{
	json_error_t jerr;
	json_auto_t *status = json_loadb(json, len, 0, &jerr);
	const char *state, *reason;
	_cleanup_free_ char *message = NULL, *text = NULL;

	if (!json_is_object(status)) {
		text = kube_safe_text(status ? "wrong type" : jerr.text);
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: the exit status from the server is not a JSON object (%s)",
				 text);
	}
	state = json_string_value(json_object_get(status, "status"));
	if (state && strcmp(state, "Success") == 0) {
		*exit_code = 0;
		return 0;
	}
	if (!state || strcmp(state, "Failure") != 0) {
		text = kube_safe_text(state ? state : "(none)");
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0, "exec: unexpected status \"%s\" from the server", text);
	}
	reason = kube_status_reason(status);
	if (reason && strcmp(reason, "NonZeroExitCode") == 0) {
		if (exit_code_from_causes(status, exit_code) == 0)
			return 0;
		return cntr_fail(err, CNTR_EXIT_FAILURE, 0,
				 "exec: the command failed but the server sent no ExitCode cause");
	}
	message = kube_status_message_json(kube_status_code(status), status);
	return cntr_fail(err, code_for_failure_message(message), 0, "exec: %s", message);
}
