/* SPDX-License-Identifier: MIT */
/*
 * Internal (not installed): the two eventfd operations the ports, the pipe
 * and loopback backends use for doorbells, interrupts and wake-ups.
 */
#ifndef MODVMM_EFD_H
#define MODVMM_EFD_H

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

/* Add 1 to an eventfd's counter.  False for fd < 0 or a failed write (a
 * non-blocking eventfd refuses only when its counter is already huge: the
 * reader has a wake-up pending anyway). */
static inline bool efd_signal(int fd)
{
	uint64_t one = 1;

	return fd >= 0 && write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one);
}

/* Read an eventfd's counter back to zero (at once if it is non-blocking). */
static inline void efd_drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

#endif /* MODVMM_EFD_H */
