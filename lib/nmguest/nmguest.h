/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nmguest: drive a ptnetmap-memdev port from Linux userspace in a guest,
 * through the UIO device of kmod/ptnetmap_memdev_uio (map 0 = BAR0 registers,
 * map 1 = BAR1 port memory), with the ring protocol of <modvmm-netmap/netmap_ring.h>.
 *
 * The guest is the USER of its end's rings: it fills TX slots and consumes
 * RX slots; modvmm (or the peer process) runs the kernel side.  A kick is a
 * 32-bit write to the ring's doorbell register (an ioeventfd on the host, no
 * exit to modvmm); the host's notification is an MSI-X interrupt that UIO
 * turns into a read() on /dev/uioN.  Both are only used when the other side
 * asked for them (need_kick flags in the CSB).
 */
#ifndef NMGUEST_H
#define NMGUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modvmm-netmap/netmap_ring.h>

struct nmguest {
	int fd;                 /* /dev/uioN, -1 when attached to plain memory */
	uint8_t *regs;          /* BAR0 */
	size_t regs_size;
	uint8_t *mem;           /* BAR1: this end's window */
	size_t mem_size;
	bool mapped;            /* regs/mem are our mmap()s */
	struct nmport_view view;
	unsigned int nr;        /* ring pairs */
	struct nm_uring tx[NMPORT_MAX_RINGS], rx[NMPORT_MAX_RINGS];
	uint64_t kicks;         /* doorbell writes */
	uint64_t irqs;          /* interrupts waited for */
};

/* Open the port of PCI function `pci_addr` ("0000:00:05.0"), bound to
 * ptnetmap_memdev_uio.  Returns 0 or -errno. */
int nmguest_open(const char *pci_addr, struct nmguest *g);
/* Attach to already-mapped registers and window (what nmguest_open does after
 * mmap; also used by tests).  Checks the geometry; returns 0 or -EINVAL. */
int nmguest_attach(struct nmguest *g, void *regs, size_t regs_size, void *mem,
		   size_t mem_size);
void nmguest_close(struct nmguest *g);

/* The peer's end is connected (the LINK register: an exit to the VMM). */
bool nmguest_link_up(const struct nmguest *g);

/* TX ring i: publish filled slots, kick the host if it sleeps, take completions. */
void nmguest_txsync(struct nmguest *g, unsigned int i);
/* RX ring i: release consumed slots (kicking the host if it waits for room),
 * take new packets. */
void nmguest_rxsync(struct nmguest *g, unsigned int i);

#define NMGUEST_POLLIN  1u /* a packet at cur of the RX ring */
#define NMGUEST_POLLOUT 2u /* a free slot at cur of the TX ring */
/* Wait until `events` hold on ring pair i, sleeping in read() on the UIO
 * device after asking the host for an interrupt.  Returns 1 when ready, 0 on
 * timeout, -errno on error. */
int nmguest_wait(struct nmguest *g, unsigned int i, unsigned int events, int timeout_ms);

#endif /* NMGUEST_H */
