/* The memdev test guest's shared parts (memdev.c, memdev-demo.c). */
#ifndef MEMDEV_GUEST_H
#define MEMDEV_GUEST_H

#include <modvmm-netmap/netmap_ring.h>
#include <modvmm-netmap/pktgen.h>

#include "guest.h"

#define MAX_FNS         32
#define CYCLES_PER_SEC  3000000000ull /* an upper bound of the TSC rate, for timeouts */
#define LINK_POLL_CYCLES 1000000ull   /* between two LINK register reads (each exits) */

enum mode { MODE_TX, MODE_RX, MODE_ECHO, MODE_HOSTILE, MODE_DEMO };

struct params {
	enum mode mode;
	unsigned long count, size, batch, ring, dev, timeout, session, sessions, late, hold;
	unsigned long mac;          /* our MAC is 02:00:00:00:00:MAC; 0: none given */
	unsigned long announce;     /* rx: one PKTGEN_F_HELLO broadcast first */
	int status;
};

struct memdev {
	unsigned bdf;
	uintptr_t regs;             /* BAR0 */
	uint64_t bar1_size;
	struct nmport_view v;       /* BAR1, checked */
};

uint32_t reg_rd(const void *ctx, unsigned int off);
void reg_wr(const struct memdev *m, unsigned int off, uint32_t val);
/* Print "memdev FAIL: what", set p->status; returns 1. */
int fail(struct params *p, const char *what);
/* The which-th ptnetmap-memdev on bus 0, its registers checked into m->v. */
bool memdev_find(struct memdev *m, unsigned long which);
/* The addresses memdev_fill() writes: destination, then source. */
extern uint8_t memdev_macs[12];
/* A pktgen packet of `size` bytes in buf. */
void memdev_fill(void *buf, uint32_t session, uint64_t seq, uint16_t flags, unsigned size);

/* Echo: RX ring r's packets go out on TX ring r by buffer swap. */
struct echo {
	struct memdev *m;
	uint32_t r;
	uint8_t mac;                /* nonzero: answer from 02:00:00:00:00:mac to the sender (a switch port) */
	struct nm_uring rx, tx;
	uint64_t moved, bad, kicks;
};
void echo_init(struct echo *e, struct memdev *m, uint32_t r);
/* Echo up to max packets now; returns how many. */
uint32_t echo_step(struct echo *e, uint64_t max);

/* mode=demo (memdev-demo.c), at CPL0; returns the exit status. */
int memdev_demo(struct params *p);

#endif
