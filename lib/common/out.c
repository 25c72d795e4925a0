/* SPDX-License-Identifier: MIT */
#include "out.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int out_open(struct out *o, const char *kind, const char *path)
{
	*o = (struct out){ .fd = -1 };
	if (!kind || !strcmp(kind, "stdout"))
		o->fd = STDOUT_FILENO;
	else if (!strcmp(kind, "stderr"))
		o->fd = STDERR_FILENO;
	else if (!strcmp(kind, "file")) {
		if (!path || !*path)
			return -EINVAL;
		o->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (o->fd < 0)
			return -errno;
		o->owned = 1;
	} else if (strcmp(kind, "none"))
		return -EINVAL;
	return 0;
}

int out_check(const struct modvmm_check_ops *chk, struct modvmm_check *c, const char *kind_key,
              const char *file_key)
{
	const char *kind = chk->config_str(c, kind_key), *path = chk->config_str(c, file_key);
	if (kind && !strcmp(kind, "file") && (!path || !*path)) {
		chk->error(c, kind_key, "needs '%s = FILE'", file_key);
		return -EINVAL;
	}
	return 0;
}

void out_write(const struct out *o, const void *buf, size_t len)
{
	const char *p = buf;
	while (o->fd >= 0 && len) {
		ssize_t n = write(o->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

void out_close(struct out *o)
{
	if (o->owned && o->fd >= 0)
		close(o->fd);
	*o = (struct out){ .fd = -1 };
}
