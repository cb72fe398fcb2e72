#include "err.h"

#include <stdio.h>
#include <string.h>

static void append(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t used = strnlen(buf, cap);
	if (used + 1 < cap)
		vsnprintf(buf + used, cap - used, fmt, ap);
}

static void append_str(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	append(buf, cap, fmt, ap);
	va_end(ap);
}

int cntr_fail(struct cntr_err *err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	err->code = code;
	err->errnum = errnum;
	err->msg[0] = '\0';
	va_start(ap, fmt);
	append(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (errnum)
		append_str(err->msg, sizeof(err->msg), ": %s", strerror(errnum));
	return -1;
}

int cntr_err_prefix(struct cntr_err *err, const char *fmt, ...)
{
	char old[CNTR_ERR_MSG_MAX];
	va_list ap;
	if (!err)
		return -1;
	memcpy(old, err->msg, sizeof(old));
	err->msg[0] = '\0';
	va_start(ap, fmt);
	append(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	append_str(err->msg, sizeof(err->msg), "%s", old);
	return -1;
}

int cntr_err_hint(struct cntr_err *err, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	append_str(err->msg, sizeof(err->msg), "; ");
	va_start(ap, fmt);
	append(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void cntr_err_clear(struct cntr_err *err)
{
	err->code = 0;
	err->errnum = 0;
	err->msg[0] = '\0';
}
