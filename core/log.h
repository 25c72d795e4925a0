/* SPDX-License-Identifier: MIT */
/* Diagnostics on stderr. -v raises the level: 0 warnings+errors, 1 info, 2 debug. */
#ifndef MODVMM_LOG_H
#define MODVMM_LOG_H

#include <stdarg.h>

extern int log_verbosity;

void log_msg(int level, const char *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void log_vmsg(int level, const char *who, const char *fmt, va_list ap);

/* levels as in enum modvmm_log_level */
#define pr_err(...)   log_msg(0, NULL, __VA_ARGS__)
#define pr_warn(...)  log_msg(1, NULL, __VA_ARGS__)
#define pr_info(...)  log_msg(2, NULL, __VA_ARGS__)
#define pr_debug(...) log_msg(3, NULL, __VA_ARGS__)

#endif
