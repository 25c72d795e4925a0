/* SPDX-License-Identifier: MIT */
/* The main thread's event loop: epoll over plugin fds, signals and a stop eventfd. */
#ifndef MODVMM_EVLOOP_H
#define MODVMM_EVLOOP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvmm/plugin.h>

struct watch;

struct evloop {
	int epfd;
	int stopfd;          /* eventfd: written by evloop_stop() */
	int sigfd;           /* signalfd for SIGINT, SIGTERM, SIGHUP */
	pthread_mutex_t lock;
	struct watch *watches;   /* live */
	struct watch *dead;      /* unwatched, freed between batches */
	int signal;          /* the signal that stopped the loop, 0 if none */
};

/* Blocks SIGINT/SIGTERM/SIGHUP in the calling thread (call before starting any
 * thread, so all threads inherit the mask) and creates the loop. */
int evloop_init(struct evloop *loop) __attribute__((warn_unused_result));
void evloop_destroy(struct evloop *loop);
int evloop_watch(struct evloop *loop, int fd, uint32_t events, modvmm_fd_cb cb, void *opaque,
                 const void *owner) __attribute__((warn_unused_result));
/* Change the events a watched fd waits for; -ENOENT when it is not watched. */
int evloop_rewatch(struct evloop *loop, int fd, uint32_t events) __attribute__((warn_unused_result));
void evloop_unwatch(struct evloop *loop, int fd);
/* Remove every watch registered with this owner. */
void evloop_unwatch_owner(struct evloop *loop, const void *owner);
/* Run until evloop_stop() or a terminating signal. */
void evloop_run(struct evloop *loop);
/* Make evloop_run() return; safe from any thread and from signal handlers. */
void evloop_stop(struct evloop *loop);

#endif
