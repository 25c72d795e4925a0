/* SPDX-License-Identifier: MIT */
/*
 * The pipe backend's ring-passthrough engine: the kernel side of one end's TX
 * rings (driven by a guest through ptnetmap-memdev) and the producer side of
 * the peer's RX rings.  Pure ring logic over a region, no threads: the backend's
 * worker calls pt_engine_tx() per ring, the unit tests call it directly.
 * Every value read from the region is validated by the nm_kring_* helpers of
 * <modvmm-netmap/netmap_ring.h>; the engine never touches payload.
 */
#ifndef PIPE_PT_ENGINE_H
#define PIPE_PT_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <modvmm-netmap/netmap_ring.h>

struct pt_engine {
	unsigned nr;                            /* ring pairs per end */
	struct nmport_view me, peer;            /* trusted views of the two windows */
	struct nm_kring ktx[NMPORT_MAX_RINGS];  /* kernel side of my (the guest's) TX rings */
	struct nm_kring kprx[NMPORT_MAX_RINGS]; /* producer side of the peer's RX rings */
	int tx_irq[NMPORT_MAX_RINGS];           /* interrupts my TX ring's user (completions) */
	int peer_irq[NMPORT_MAX_RINGS];         /* interrupts the peer's RX user; -1: none */
	bool up;                                /* a peer is attached */
	uint32_t pulled;                        /* TX rings the peer runs (pulls) itself */
	uint64_t delivered, dropped, irqs;      /* counters (single writer: the worker) */
};

/* Attach to the TX rings of `me`, resuming where a previous kernel side left them. */
void pt_engine_init(struct pt_engine *e, const struct nmport_view *me,
		    const struct nmport_view *peer, const int *tx_irq);
/* A peer arrived: take over its RX rings at the state they are in.  The TX
 * rings in `pulled` are the peer's to run (it pulls them into its RX rings):
 * the engine leaves them alone until the link goes down. */
void pt_engine_link_up(struct pt_engine *e, const int *peer_irq, uint32_t pulled);
/* The peer left; pulled TX rings resume where the puller published them. */
void pt_engine_link_down(struct pt_engine *e);
/* Serve TX ring i once: read the user's head, move pending packets to the peer,
 * publish, notify.  While the link is down pending packets stay in the ring
 * (back-pressure, like a full peer) and move once a new peer arrives: a guest
 * that wants to drop instead reads the LINK register.  Returns true on
 * progress. */
bool pt_engine_tx(struct pt_engine *e, unsigned i);
/* Before sleeping: ask the guest (and, when blocked on a full peer RX ring, the
 * peer) for a kick.  Returns false when there is work after all. */
bool pt_engine_prepare_sleep(struct pt_engine *e, unsigned i);
/* After waking up: no kicks needed while busy. */
void pt_engine_awake(struct pt_engine *e, unsigned i);
/* Values refused from the guest and the peer (heads, curs, slots). */
uint64_t pt_engine_bad(const struct pt_engine *e);

#endif
