/* SPDX-License-Identifier: MIT */
/* Where a character device's output goes: stdout, stderr, a file or nowhere.
 * Shared by plugins as a static helper (not part of the ABI). */
#ifndef MODVMM_PLUGIN_OUT_H
#define MODVMM_PLUGIN_OUT_H

#include <stddef.h>

#include <modvmm/plugin.h>

struct out {
	int fd;       /* -1: discard */
	int owned;    /* fd was opened by out_open */
};

#define OUT_CHOICES "stdout|stderr|file|none"

/* `kind` is one of OUT_CHOICES; `path` is used for "file" (appended to). */
int out_open(struct out *o, const char *kind, const char *path);
/* Write everything (retrying on EINTR/partial writes); errors are ignored. */
void out_write(const struct out *o, const void *buf, size_t len);
void out_close(struct out *o);
/* For a validate() hook: `kind_key` = file needs `file_key` set. 0 or -EINVAL (reported). */
int out_check(const struct modvmm_check_ops *chk, struct modvmm_check *c, const char *kind_key,
              const char *file_key);

#endif
