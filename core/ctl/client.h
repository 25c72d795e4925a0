/* SPDX-License-Identifier: MIT */
/* The control socket's client: modvmm list, status, stats, pause, resume, stop,
 * events, swap and command (README "Control socket"). */
#ifndef MODVMM_CLIENT_H
#define MODVMM_CLIENT_H

#include <stdbool.h>

struct client_opts {
	bool json;            /* print the replies' JSON, one object a line */
	bool watch;           /* stats: again every `interval` seconds */
	unsigned interval;    /* seconds */
	unsigned timeout;     /* stop: seconds the guest gets to power off */
	bool force;           /* stop: at once, without the power button */
	const char *backend;  /* swap: the new backend's plugin */
};

#define CLIENT_FAILED 1   /* exit status: no such VM, or it refused the request */

/* True when `cmd` is one of the client's commands. */
bool client_is_command(const char *cmd);
/* Run `cmd` with its arguments; returns the exit status (messages printed). */
int client_main(const char *cmd, int argc, char **argv, const struct client_opts *o);

#endif
