/* SPDX-License-Identifier: MIT */
/* The switch's data path (fwd.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwd.h"

void sw_init(struct sw *s, uint64_t age_ns)
{
	memset(s, 0, sizeof(*s));
	fdb_init(&s->fdb, age_ns);
	s->hold_ns = SW_HOLD_NS;
}

static int port_add(struct sw *s, struct nmport *np, int tap_fd, const char *name)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
		if (s->used & (1ull << i))
			continue;
		memset(&s->port[i], 0, sizeof(s->port[i]));
		s->port[i].np = np;
		s->port[i].tap_fd = tap_fd;
		snprintf(s->port[i].name, sizeof(s->port[i].name), "%s", name);
		s->port[i].was_up = np ? nmport_link_up(np) : true;
		s->used |= 1ull << i;
		return (int)i;
	}
	return -ENOSPC;
}

int sw_port_add(struct sw *s, struct nmport *np, const char *name)
{
	if (nmport_nrings(np) != SW_PORT_RINGS)
		return -EPROTO;
	return port_add(s, np, -1, name);
}

int sw_port_add_tap(struct sw *s, int fd, const char *name)
{
	if (!s->tapbuf && !(s->tapbuf = malloc((size_t)SW_BATCH * SW_TAP_FRAME)))
		return -ENOMEM;
	return port_add(s, NULL, fd, name);
}

void sw_port_del(struct sw *s, unsigned i)
{
	if (i >= SW_MAX_PORTS || !(s->used & (1ull << i)))
		return;
	if (s->port[i].np)
		nmport_close(s->port[i].np);
	else
		close(s->port[i].tap_fd);
	s->port[i].np = NULL;
	s->port[i].tap_fd = -1;
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
		if ((s->used & (1ull << i)) && (!s->port[i].np || nmport_link_up(s->port[i].np)))
			live |= 1ull << i;
	return live;
}

/* Where a frame from src goes (learning its source on the way). */
static uint64_t classify(struct sw *s, unsigned src, const uint8_t *f, uint64_t live,
			 uint64_t now_ns)
{
	uint64_t others = live & ~(1ull << src);
	uint64_t smac = fdb_mac(f + 6);

	if (!fdb_is_multicast(f + 6) && smac != 0) {
		uint64_t before = s->fdb.learned + s->fdb.moved;
		fdb_learn(&s->fdb, smac, src, now_ns);
		if (s->verbose && s->fdb.learned + s->fdb.moved != before) {
			printf("learned %02x:%02x:%02x:%02x:%02x:%02x on %s\n", f[6], f[7], f[8], f[9],
			       f[10], f[11], s->port[src].name);
			fflush(stdout);
		}
	}
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

/* Room in port d's TX ring 0 (completions taken first), tracking how long
 * it has been full. */
static uint32_t room(struct sw *s, unsigned d, uint64_t now_ns)
{
	struct sw_port *p = &s->port[d];
	uint32_t space;

	if (!p->np)
		return SW_BATCH; /* a tap takes what it can; what it refuses is dropped */
	nmport_txsync(p->np, 0);
	space = nm_uring_space(nmport_tx(p->np, 0));
	if (space)
		p->full_since = 0;
	else if (!p->full_since)
		p->full_since = now_ns;
	return space;
}

static bool stalled(const struct sw *s, const struct sw_port *p, uint64_t now_ns)
{
	return p->full_since && now_ns - p->full_since > s->hold_ns;
}

/* How many frames of the batch go now: a frame goes when each of its
 * destinations has room or is stalled (dropped there); with `all` (a source
 * that cannot hold frames back: the tap), every frame, dropped where full. */
static unsigned cutoff(struct sw *s, unsigned n, uint64_t dsts, bool all, uint64_t now_ns)
{
	uint32_t space[SW_MAX_PORTS];
	uint64_t drop = 0;

	for (unsigned d = 0; d < SW_MAX_PORTS; d++) {
		if (!(dsts & (1ull << d)))
			continue;
		space[d] = room(s, d, now_ns);
		if (!space[d] && (all || stalled(s, &s->port[d], now_ns)))
			drop |= 1ull << d;
	}
	for (unsigned i = 0; i < n; i++) {
		struct sw_pkt *pk = &s->batch[i];
		uint64_t want = pk->dst & ~drop;
		for (uint64_t m = want; m; m &= m - 1) {
			unsigned d = (unsigned)__builtin_ctzll(m);
			if (space[d])
				continue;
			if (!all)
				return i;
			want &= ~(1ull << d); /* full now: dropped there */
			s->port[d].drop_full++;
		}
		for (uint64_t m = want; m; m &= m - 1)
			space[__builtin_ctzll(m)]--;
		for (uint64_t m = pk->dst & drop; m; m &= m - 1)
			s->port[__builtin_ctzll(m)].drop_full++;
		pk->dst = want;
	}
	return n;
}

/* The tap port: one write() per frame; refused ones are dropped. */
static void tap_fill(struct sw *s, unsigned d, unsigned n)
{
	struct sw_port *p = &s->port[d];

	for (unsigned i = 0; i < n; i++) {
		const struct sw_pkt *pk = &s->batch[i];
		if (!(pk->dst & (1ull << d)))
			continue;
		if (write(p->tap_fd, pk->buf, pk->len) == (ssize_t)pk->len)
			p->tx++;
		else
			p->drop_full++;
	}
}

/* Copy the first n frames of the batch bound for port d into its TX ring 0
 * (cutoff() checked the room). */
static void fill(struct sw *s, unsigned d, unsigned n)
{
	struct sw_port *p = &s->port[d];
	struct nm_uring *u;
	uint32_t k = 0;

	if (!p->np) {
		tap_fill(s, d, n);
		return;
	}
	u = nmport_tx(p->np, 0);
	for (unsigned i = 0; i < n; i++) {
		const struct sw_pkt *pk = &s->batch[i];
		if (!(pk->dst & (1ull << d)))
			continue;
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

/* The tap port as a source: read up to a batch, forward it all. */
static unsigned tap_forward(struct sw *s, unsigned src, uint64_t now_ns)
{
	struct sw_port *p = &s->port[src];
	uint64_t live = sw_live(s), dsts = 0;
	unsigned n = 0;

	while (n < SW_BATCH) {
		uint8_t *f = s->tapbuf + (size_t)n * SW_TAP_FRAME;
		ssize_t len = read(p->tap_fd, f, SW_TAP_FRAME);
		if (len < 0)
			break; /* EAGAIN: nothing more for now */
		if (len < (ssize_t)SW_ETH_HLEN) {
			p->bad++;
			continue;
		}
		struct sw_pkt *pk = &s->batch[n++];
		pk->buf = f;
		pk->len = (uint32_t)len;
		pk->dst = classify(s, src, f, live, now_ns);
		dsts |= pk->dst;
	}
	cutoff(s, n, dsts, true, now_ns);
	for (unsigned d = 0; dsts; d++, dsts >>= 1)
		if (dsts & 1)
			fill(s, d, n);
	p->rx += n;
	return n;
}

unsigned sw_forward_port(struct sw *s, unsigned src, uint64_t now_ns)
{
	struct sw_port *p = &s->port[src];
	unsigned nr, n = 0, go, released = 0;
	uint32_t taken[NMPORT_MAX_RINGS];
	uint64_t live = sw_live(s), dsts = 0;

	if (!p->np)
		return tap_forward(s, src, now_ns);
	nr = nmport_nrings(p->np);

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
				p->bad++; /* refused slots go with the next frame */
				continue;
			}
			struct sw_pkt *pk = &s->batch[n++];
			pk->buf = f;
			pk->len = len;
			pk->ring = r;
			pk->upto = k + 1;
			pk->dst = classify(s, src, f, live, now_ns);
			dsts |= pk->dst;
		}
		taken[r] = k;
	}
	go = cutoff(s, n, dsts, false, now_ns);
	p->held = go < n;
	if (go < n) { /* release up to the first frame that waits */
		const struct sw_pkt *w = &s->batch[go];
		for (unsigned r = w->ring; r < nr; r++)
			taken[r] = r == w->ring ? w->upto - 1 : 0;
	}
	for (unsigned d = 0; dsts; d++, dsts >>= 1)
		if (dsts & 1)
			fill(s, d, go);
	p->rx += go;
	for (unsigned r = 0; r < nr; r++) {
		if (!taken[r])
			continue;
		nm_uring_advance(nmport_rx(p->np, r), taken[r]);
		nmport_rxsync(p->np, r);
		released += taken[r];
	}
	return released;
}

unsigned sw_forward(struct sw *s, uint64_t now_ns)
{
	unsigned total = 0;

	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (s->used & (1ull << i))
			total += sw_forward_port(s, i, now_ns);
	/* frames copied earlier and still waiting for room at their port */
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if ((s->used & (1ull << i)) && s->port[i].np && nmport_tx_pending(s->port[i].np, 0))
			nmport_txsync(s->port[i].np, 0);
	return total;
}
