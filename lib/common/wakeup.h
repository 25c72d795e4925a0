/* SPDX-License-Identifier: MIT */
/*
 * Internal (not installed): the pieces of a loop that polls while busy and
 * sleeps on eventfds otherwise (the host library's ports, the pipe and
 * loopback backends, virtio-net's workers, the sink backend, modvmm-pktgen,
 * the guest library): signal and drain an eventfd, watch an fd
 * with epoll, read the monotonic clock.
 */
#ifndef MODVMM_WAKEUP_H
#define MODVMM_WAKEUP_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Add 1 to an eventfd's counter.  False for fd < 0 or a failed write (a
 * non-blocking eventfd refuses only when its counter is already huge: the
 * reader has a wake-up pending anyway). */
static inline bool efd_signal(int fd)
{
	uint64_t one = 1;

	return fd >= 0 && write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one);
}

/* Read an eventfd's counter back to zero (at once if it is non-blocking);
 * returns the count read, 0 when there was none. */
static inline uint64_t efd_drain(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? v : 0;
}

/* Watch fd for input in epfd, reported with `tag`.  0 or -errno. */
static inline int ep_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* MODVMM_WAKEUP_H */
