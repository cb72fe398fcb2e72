/* One logging function with levels. Errors and warnings always print; -v enables INFO
 * (each step, and every best-effort step skipped with its reason); -vv enables DEBUG. */
#pragma once

enum log_level { CNTR_LOG_ERROR = 0, CNTR_LOG_WARN = 1, CNTR_LOG_INFO = 2, CNTR_LOG_DEBUG = 3 };

void log_init(const char *program, enum log_level level);
enum log_level log_get_level(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(CNTR_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(CNTR_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(CNTR_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(CNTR_LOG_DEBUG, __VA_ARGS__)
/* A best-effort step that was not done: visible with -v, never silently dropped. */
#define log_skip(...) log_msg(CNTR_LOG_INFO, "skipped: " __VA_ARGS__)
