/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the control socket's request parser (core/ctl/proto.c):
 * any bytes a client may send as one line.  The parser must never crash, leak
 * (LeakSanitizer) or accept a request that breaks its own limits, and a reply
 * built from what it accepted must be one line of JSON.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_req r;
	char err[256];
	int ret = ctl_req_parse((const char *)data, size, &r, err, sizeof(err));
	if (ret == 0) {
		if (r.argc > CTL_MAX_ARGS || strlen(r.device) > CTL_NAME_MAX || strlen(r.name) > CTL_NAME_MAX)
			abort();
		for (unsigned i = 0; i < r.argc; i++)
			if (strlen(r.argv[i]) > CTL_MAX_ARG)
				abort();
		if ((unsigned)r.cmd > CTL_COMMAND)
			abort();
	} else if (!err[0] || !memchr(err, 0, sizeof(err))) {
		abort(); /* a refusal always says why */
	}
	char *line = ret ? ctl_reply_err(r.id, "%s", err) : ctl_reply_ok(r.id, NULL);
	if (!line)
		abort();
	size_t n = strlen(line);
	if (n == 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1))
		abort();
	free(line);
	ctl_req_free(&r);
	return 0;
}
