#include "cli/lambda_phase.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *phase_program = "lambda-cntr";
static bool phase_show;

void lambda_phase_init(const char *program, bool show)
{
	phase_program = program;
	phase_show = show;
}

void lambda_phase(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!phase_show)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "%s: %s\n", phase_program, line);
}
