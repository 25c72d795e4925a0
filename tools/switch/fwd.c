/* SPDX-License-Identifier: MIT */
/* The switch's data path (fwd.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fwd.h"

void sw_init(struct sw *s, uint64_t age_ns)
{
	memset(s, 0, sizeof(*s));
	fdb_init(&s->fdb, age_ns);
}

int sw_port_add(struct sw *s, struct nmport *np, const char *name)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		if (s->used & (1ull << i))
			continue;
		memset(&s->port[i], 0, sizeof(s->port[i]));
		s->port[i].np = np;
		snprintf(s->port[i].name, sizeof(s->port[i].name), "%s", name);
		s->port[i].was_up = nmport_link_up(np);
		s->used |= 1ull << i;
		return (int)i;
	}
	return -ENOSPC;
}

void sw_port_del(struct sw *s, unsigned i)
{
	if (i >= SW_MAX_PORTS || !(s->used & (1ull << i)))
		return;
	nmport_close(s->port[i].np);
	s->port[i].np = NULL;
	s->used &= ~(1ull << i);
	fdb_flush_port(&s->fdb, i);
}

int sw_port_find(const struct sw *s, const char *name)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if ((s->used & (1ull << i)) && strcmp(s->port[i].name, name) == 0)
			return (int)i;
	return -1;
}

uint64_t sw_live(const struct sw *s)
{
	uint64_t live = 0;

	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if ((s->used & (1ull << i)) && nmport_link_up(s->port[i].np))
			live |= 1ull << i;
	return live;
}

/* Where a frame from src goes (learning its source on the way). */
static uint64_t classify(struct sw *s, unsigned src, const uint8_t *f, uint64_t live,
			 uint64_t now_ns)
{
	uint64_t others = live & ~(1ull << src);
	uint64_t smac = fdb_mac(f + 6);

	if (!fdb_is_multicast(f + 6) && smac != 0)
		fdb_learn(&s->fdb, smac, src, now_ns);
	if (fdb_is_multicast(f)) {
		s->floods++;
		return others;
	}
	unsigned d = fdb_lookup(&s->fdb, fdb_mac(f), now_ns);
	if (d == FDB_NONE) {
		s->floods++;
		return others;
	}
	if (d == src) {
		s->port[src].to_self++;
		return 0;
	}
	return others & (1ull << d);
}

/* Copy the frames of the batch bound for port d into its TX ring 0. */
static void fill(struct sw *s, unsigned d, unsigned n)
{
	struct sw_port *p = &s->port[d];
	struct nm_uring *u = nmport_tx(p->np, 0);
	uint32_t space, k = 0;

	nmport_txsync(p->np, 0); /* take completions first */
	space = nm_uring_space(u);
	for (unsigned i = 0; i < n; i++) {
		const struct sw_pkt *pk = &s->batch[i];
		if (!(pk->dst & (1ull << d)))
			continue;
		if (k == space) {
			p->drop_full++;
			continue;
		}
		struct netmap_slot *sl = nm_uring_slot(u, k++);
		/* the slot is shared with the port's peer: read its index once */
		uint8_t *buf = nm_uring_buf(u, NM_READ_ONCE(sl->buf_idx));
		if (!buf || pk->len > u->buf_size) {
			NM_WRITE_ONCE(sl->len, 0); /* the engine completes it unsent */
			p->bad++;
			continue;
		}
		memcpy(buf, pk->buf, pk->len);
		NM_WRITE_ONCE(sl->len, pk->len);
		NM_WRITE_ONCE(sl->flags, 0);
		p->tx++;
	}
	if (k) {
		nm_uring_advance(u, k);
		nmport_txsync(p->np, 0);
	}
}

unsigned sw_forward_port(struct sw *s, unsigned src, uint64_t now_ns)
{
	struct sw_port *p = &s->port[src];
	unsigned nr = nmport_nrings(p->np), n = 0;
	uint32_t taken[NMPORT_MAX_RINGS];
	uint64_t live = sw_live(s), dsts = 0;

	for (unsigned r = 0; r < nr; r++) {
		struct nm_uring *u = nmport_rx(p->np, r);
		uint32_t avail, k;

		nmport_rxsync(p->np, r);
		avail = nm_uring_space(u);
		if (avail > SW_BATCH - n)
			avail = SW_BATCH - n;
		for (k = 0; k < avail; k++) {
			uint32_t len;
			const uint8_t *f = nm_uring_slot_buf(u, nm_uring_slot(u, k), &len);
			if (!f || len < SW_ETH_HLEN) {
				p->bad++;
				continue;
			}
			struct sw_pkt *pk = &s->batch[n++];
			pk->buf = f;
			pk->len = len;
			pk->dst = classify(s, src, f, live, now_ns);
			dsts |= pk->dst;
		}
		taken[r] = k;
		p->rx += k;
	}
	for (unsigned d = 0; dsts; d++, dsts >>= 1)
		if (dsts & 1)
			fill(s, d, n);
	for (unsigned r = 0; r < nr; r++) {
		if (!taken[r])
			continue;
		nm_uring_advance(nmport_rx(p->np, r), taken[r]);
		nmport_rxsync(p->np, r);
	}
	return n;
}

unsigned sw_forward(struct sw *s, uint64_t now_ns)
{
	unsigned total = 0;

	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (s->used & (1ull << i))
			total += sw_forward_port(s, i, now_ns);
	return total;
}
