/* SPDX-License-Identifier: MIT */
/*
 * A Unix-socket server of newline-framed lines on the core's event loop: every
 * socket is non-blocking and served from the main thread, so a client that
 * sends garbage, a huge line, half a line, or never reads blocks nobody.
 *
 *  - a line longer than CTL_MAX_LINE: an error line, then the client is dropped;
 *  - more than CTL_MAX_CLIENTS at once: the newcomer gets an error line and is closed;
 *  - more than CTL_MAX_OUT bytes waiting for a client that does not read: dropped.
 */
#ifndef MODVMM_CTL_SERVER_H
#define MODVMM_CTL_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct evloop;
struct ctl_server;
struct ctl_client;

#define CTL_MAX_CLIENTS 128
#define CTL_MAX_OUT     (1u << 20)

/* Called for each complete line (newline stripped, NUL-terminated). */
typedef void (*ctl_line_fn)(void *opaque, struct ctl_client *c, const char *line, size_t len);

/* Listen on `path` (mode 0600; an existing socket nobody answers on is replaced,
 * -EADDRINUSE when one answers).  `greeting` (a line, copied) goes to every new client. */
int ctl_server_open(struct ctl_server **out, struct evloop *loop, const char *path, const char *greeting,
                    ctl_line_fn fn, void *opaque) __attribute__((warn_unused_result));
/* Flush what can be sent without waiting, close every client, unlink the socket. */
void ctl_server_close(struct ctl_server *s);
const char *ctl_server_path(const struct ctl_server *s);
unsigned ctl_server_clients(const struct ctl_server *s);

/* Queue a line (newline included) for the client; takes `line` (malloc'd; NULL
 * means out of memory: the client is dropped). */
void ctl_client_send(struct ctl_client *c, char *line);
/* Mark the client as wanting events. */
void ctl_client_subscribe(struct ctl_client *c);
/* Send a copy of `line` to every client that wants events. */
void ctl_server_broadcast(struct ctl_server *s, const char *line);

#endif
