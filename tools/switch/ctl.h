/* SPDX-License-Identifier: MIT */
/*
 * The switch's control socket, RUNDIR/switch/NAME.sock (a stream socket, one
 * request line per connection): "ports" and "macs" answer with text tables.
 * The same file holds the client side (the list, ports and macs subcommands).
 */
#ifndef SWITCH_CTL_H
#define SWITCH_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "fwd.h"

#define SW_NAME_MAX 32

/* A valid switch name: 1-31 characters from [A-Za-z0-9_-] (no '.': port
 * pipes are named SWITCH.PORT). */
int sw_name_ok(const char *name);
/* RUNDIR/switch into buf, created when `create`. */
int sw_dir(char *buf, size_t len, int create);
/* Listen on RUNDIR/switch/NAME.sock, holding NAME.lock for the switch's life
 * (a second switch of that name gets -EADDRINUSE). */
int ctl_listen(const char *name, int *lock_fd);
/* Serve one connection on the listening socket. */
void ctl_serve(int listen_fd, const struct sw *s, uint64_t now_ns);
/* Client: send `req` to switch NAME and copy the answer to stdout. */
int ctl_request(const char *name, const char *req);
/* Client: print the names of the live switches. */
int ctl_list(void);

#endif
