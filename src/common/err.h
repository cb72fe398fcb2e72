/* One way to report errors: every fallible function returns a negative int and fills a
 * struct cntr_err passed as its last argument. The message is written once, where the
 * failure happens (what, on which object, why); callers only add context in front. */
#pragma once
#include <stdarg.h>

/* Exit codes shared by cntr and lambda-cntr (documented in README.md and --help). */
enum cntr_exit {
	CNTR_EXIT_OK = 0,
	CNTR_EXIT_USAGE = 2,        /* bad command line */
	CNTR_EXIT_FAILURE = 125,    /* cntr/lambda-cntr itself or the environment failed */
	CNTR_EXIT_NOEXEC = 126,     /* the command exists but could not be executed */
	CNTR_EXIT_NOTFOUND = 127,   /* the command was not found */
	CNTR_EXIT_SIGINT = 130,
	CNTR_EXIT_SIGTERM = 143,
};

#define CNTR_ERR_MSG_MAX 1024

struct cntr_err {
	int code;                    /* exit code the program should end with */
	int errnum;                  /* errno at the failure, 0 if none */
	char msg[CNTR_ERR_MSG_MAX];  /* one line, no trailing newline */
};

/* Fill err with code and a formatted message; appends ": strerror(errnum)" when errnum != 0.
 * Always returns -1 so callers can write `return cntr_fail(err, ...)`. */
int cntr_fail(struct cntr_err *err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Shorthand for the most common case: environment failure (125) with errno. */
#define cntr_fail_errno(err, ...) cntr_fail((err), CNTR_EXIT_FAILURE, errno, __VA_ARGS__)

/* Prefix the existing message with context ("attach: " + msg). Returns -1. */
int cntr_err_prefix(struct cntr_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append a hint to the existing message ("...; run as root"). Returns -1. */
int cntr_err_hint(struct cntr_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void cntr_err_clear(struct cntr_err *err);
