/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdio.h>

int log_verbosity;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_vmsg(int level, const char *who, const char *fmt, va_list ap)
{
	if (level < 0)
		level = 0;
	if (level > 3)
		level = 3;
	/* errors and warnings always; info with -v; debug with -vv */
	if (level >= 2 && log_verbosity < level - 1)
		return;
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (who)
		fprintf(stderr, "modvmm: %s: %s: %s\n", who, level_names[level], buf);
	else
		fprintf(stderr, "modvmm: %s: %s\n", level_names[level], buf);
}

void log_msg(int level, const char *who, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(level, who, fmt, ap);
	va_end(ap);
}
