/* SPDX-License-Identifier: MIT */
/*
 * The switch's data path: ports (one pipe end each, the switch's side of a
 * pipe whose other end is a VM's backend or a host program) and batch
 * forwarding by destination MAC with learning (fdb.h).
 *
 * A batch is up to SW_BATCH frames taken from one source port's RX rings.
 * Each frame is classified once (learn the source, look up the destination:
 * one port, or a flood to every other live port for broadcast, multicast
 * and unknown unicast; never the source); then each destination port is
 * filled in one pass over the batch, copying each frame into a buffer of the
 * destination's own pipe (TX ring 0), and the source's RX slots are released.
 * Ports share no memory: a port can only ever corrupt its own frames.
 *
 * Full destinations: VALE drops at once.  Here a frame whose destination's
 * TX ring is full stays in the source's RX ring (with every frame after it),
 * so the source's sender waits as on a plain pipe and nothing is lost while
 * the receivers keep up on average; a destination full for longer than
 * hold_ns (default SW_HOLD_NS) is "stalled" and its frames are dropped (counted), so a stuck
 * or dead port holds the others up for at most that long.  One thread.
 */
#ifndef SWITCH_FWD_H
#define SWITCH_FWD_H

#include <stdbool.h>
#include <stdint.h>

#include <modvmm-netmap/nmport.h>

#include "fdb.h"

#define SW_MAX_PORTS 64u   /* a port bit in a uint64_t mask */
#define SW_BATCH     1024u /* frames per batch: VALE's default */
#define SW_ETH_HLEN  14u   /* shorter frames are dropped (counted in bad) */
#define SW_TAP_FRAME 2048u /* bytes read per frame from a tap (MTU 1500 and more) */
#define SW_HOLD_NS   200000000ull /* default: a full destination holds its sources this long at most */
/* Ring pairs of a port.  Frames are delivered on a port's RX ring 0 only (as
 * VALE's learning bridge does): an endpoint with more rings would wait on
 * rings that never fill, so such a pipe is refused, not joined half-way. */
#define SW_PORT_RINGS 1u

struct sw_port {
	struct nmport *np;    /* a pipe port; NULL for the tap port */
	int tap_fd;           /* the host port: a tap (frames by read/write), else -1 */
	char name[NMPORT_NAME_MAX];
	bool was_up;          /* the link was seen up: down again means gone */
	uint64_t rx, tx;      /* frames taken from / copied to the port */
	uint64_t drop_full;   /* frames for this port dropped: its TX ring was full */
	uint64_t bad;         /* its slots refused: buffer index, length, runt */
	uint64_t to_self;     /* frames whose destination was learned on the source */
	uint64_t full_since;  /* when its TX ring was first seen full (0: it has room) */
	bool held;            /* frames wait in its RX ring for a full destination */
};

struct sw_pkt {
	const uint8_t *buf;
	uint32_t len;
	uint32_t ring, upto;  /* source RX ring, slots of it consumed with this frame */
	uint64_t dst;         /* destination port mask */
};

struct sw {
	struct sw_port port[SW_MAX_PORTS];
	uint64_t used;        /* port slots in use */
	struct fdb fdb;
	struct sw_pkt batch[SW_BATCH];
	uint64_t floods;      /* frames flooded */
	uint64_t hold_ns;     /* a port full for longer is stalled (SW_HOLD_NS) */
	uint8_t *tapbuf;      /* SW_BATCH frames read from the tap port */
	bool verbose;         /* print each MAC learned or moved (not per frame) */
};

void sw_init(struct sw *s, uint64_t age_ns);
/* Take over pipe end np as a new port; returns its index, -ENOSPC, or
 * -EPROTO for a pipe of more than SW_PORT_RINGS ring pairs (left to the
 * caller to close). */
int sw_port_add(struct sw *s, struct nmport *np, const char *name);
/* Take over tap fd (non-blocking, no packet info) as the host port;
 * returns its index, -ENOSPC or -ENOMEM. */
int sw_port_add_tap(struct sw *s, int fd, const char *name);
/* Close port i (its pipe end, slots and buffers) and forget its MACs. */
void sw_port_del(struct sw *s, unsigned i);
/* The port of pipe `name`, or -1. */
int sw_port_find(const struct sw *s, const char *name);
/* Ports whose link is up. */
uint64_t sw_live(const struct sw *s);
/* Forward one batch from port src; returns the RX slots released. */
unsigned sw_forward_port(struct sw *s, unsigned src, uint64_t now_ns);
/* One batch from every port; returns the RX slots released. */
unsigned sw_forward(struct sw *s, uint64_t now_ns);

#endif
