#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *log_program = "cntr";
static enum log_level log_level = CNTR_LOG_WARN;

void log_init(const char *program, enum log_level level)
{
	log_program = program;
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	char line[2048];
	va_list ap;
	int saved_errno = errno;
	int n;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "%s: %s", log_program, prefix[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so concurrent processes (relay and child) never interleave. */
	dprintf(STDERR_FILENO, "%s\n", line);
	errno = saved_errno;
}
