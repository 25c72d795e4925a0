/*
 * memdev - a freestanding ring driver for modvmm's ptnetmap-memdev: finds the
 * device on PCI bus 0 (1b36:000c, class 0xff), reads its BAR0 registers into a
 * checked view (nmport_view_from_regs) and drives one ring pair of the pipe end
 * that BAR1 maps, with the nm_uring_* protocol of <modvmm-netmap/netmap_ring.h>, at
 * CPL3 (where the nested guest runs natively).  No interrupts: the driver polls
 * while busy and kicks the host side (KICK(r) doorbells, ioeventfds) only when
 * the CSB says it sleeps.
 *
 * Cmdline:
 *   mode=tx|rx      send `count` pktgen packets (tools/pktgen's format,
 *                   <modvmm-netmap/pktgen.h>; the last one carries FIN), or receive
 *                   until a FIN and check the sequence: `count` packets
 *                   0..count-1 in the last session, in order
 *   mode=echo       send every packet received on the RX ring back on the
 *                   TX ring by swapping buffer indices (zero copy), until
 *                   `count` packets; a modvmm-pktgen ping goes back as its
 *                   pong (one flag written in the frame)
 *   mode=hostile    (needs 2 ring pairs) abuse ring 0 and the registers: CSB
 *                   address registers pointed outside RAM, scribbled ring
 *                   headers, a head and cur beyond the ring, slots with buffer
 *                   indices beyond the pool and lengths beyond the buffer; the
 *                   host must refuse all that without moving; then 100 good
 *                   packets on ring 0 and `count` on ring 1 (as mode=tx)
 *   mode=demo       a virtio-net NIC and a memdev on the two ends of one pipe
 *                   in this VM: `count` frames out of virtio-net come back
 *                   through the memdev's echo, in order (memdev-demo.c)
 *   count=N         packets (default 1000)
 *   sessions=K      rx: sessions expected (a restarted sender starts a new one;
 *                   default 1)
 *   late=1          rx: the last session may have started before this
 *                   receiver (it joined a running pipe): only its tail is seen
 *   hold=N          rx: stop consuming after N packets, print "memdev: holding"
 *                   and spin until killed
 *   size=B          tx packet size (default 64)
 *   batch=K         tx slots filled per publish (default 64)
 *   ring=I          ring pair (default 0)
 *   dev=K           the K-th memdev on the bus (default 0)
 *   timeout=S       give up after about S seconds without progress (default 30)
 *   session=X       tx session id (default 0x6d656d64)
 *   mac=N           our MAC is 02:00:00:00:00:N (1-254), for a learning switch
 *                   (modvmm-switch): tx sends from it; rx counts a frame for
 *                   another unicast address as an error ("foreign"); echo
 *                   answers to the frame's source from it (a plain echo would
 *                   send the frame back to its own address).  Default: tx
 *                   from 02:00:00:00:00:03, no address checks
 *   dst=N           tx: to 02:00:00:00:00:N, 255 for ff:ff:ff:ff:ff:ff
 *                   (default 1)
 *   announce=1      rx: first send one PKTGEN_F_HELLO broadcast from `mac`,
 *                   so that a learning switch knows our port before traffic
 *                   comes (modvmm-pktgen --announce); prints "memdev: announced"
 * Prints "memdev: ..." lines; the last is "memdev tx ok ..." / "memdev rx ok ..."
 * or "memdev FAIL: ..."; exits 0 on success.
 */
#include "memdev.h"
#include "pci.h"

uint32_t reg_rd(const void *ctx, unsigned int off)
{
	return *(const volatile uint32_t *)((uintptr_t)ctx + off);
}

void reg_wr(const struct memdev *m, unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(m->regs + off) = val;
}

int fail(struct params *p, const char *what)
{
	guest_printf("memdev FAIL: %s\n", what);
	p->status = 1;
	return 1;
}

bool memdev_find(struct memdev *m, unsigned long which)
{
	struct pci_fn fns[MAX_FNS];
	unsigned n = pci_scan(fns, MAX_FNS), seen = 0;

	for (unsigned i = 0; i < n; i++) {
		struct pci_bar_info b1;
		uint32_t cls = pci_cfg_read(fns[i].bdf, PCI_REVISION, 4) >> 8;

		if (fns[i].vendor != PTNETMAP_PCI_VENDOR_ID || fns[i].device != PTNETMAP_PCI_DEVICE_ID ||
		    (cls & PTNETMAP_PCI_CLASS_MASK) != PTNETMAP_PCI_CLASS || seen++ != which)
			continue;
		m->bdf = fns[i].bdf;
		m->regs = (uintptr_t)pci_bar_addr(m->bdf, PTNETMAP_IO_PCI_BAR);
		pci_bar_probe(m->bdf, PTNETMAP_MEM_PCI_BAR, &b1);
		m->bar1_size = b1.size;
		if (!m->regs || !b1.addr || b1.mem64)
			return false;
		guest_printf("memdev: %02x.%x regs %p window %p (%lu KiB BAR)\n", PCI_BDF_DEV(m->bdf),
			     PCI_BDF_FN(m->bdf), (void *)m->regs, (void *)(uintptr_t)b1.addr,
			     (unsigned long)(b1.size >> 10));
		return nmport_view_from_regs(&m->v, reg_rd, (const void *)m->regs,
					     (uint8_t *)(uintptr_t)b1.addr, b1.size);
	}
	return false;
}

static bool wait_link(const struct memdev *m, uint64_t limit)
{
	uint64_t t0 = guest_rdtsc();

	while (!reg_rd((const void *)m->regs, PTNET_MDEV_IO_LINK)) {
		if (guest_rdtsc() - t0 > limit)
			return false;
		for (uint64_t t = guest_rdtsc(); guest_rdtsc() - t < LINK_POLL_CYCLES;)
			guest_pause();
	}
	return true;
}

/* dst=, then mac= (02:00:00:00:00:01 and :03 by default) */
uint8_t memdev_macs[12] = { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x03 };

/* Called per packet in the TX hot loop (pktgen_fill() is inlined here; the
 * library's memcpy/memset are `rep movsb/stosb`, whose start-up cost would
 * dominate a 64-byte packet). */
void memdev_fill(void *buf, uint32_t session, uint64_t seq, uint16_t flags, unsigned size)
{
	pktgen_fill(buf, memdev_macs, session, seq, flags, 0, size);
}

#define MAC_BCAST 255 /* dst=255: ff:ff:ff:ff:ff:ff */

/* 02:00:00:00:00:n, or the broadcast address for MAC_BCAST */
static void mac_set(uint8_t *a, unsigned long n)
{
	for (unsigned i = 0; i < 6; i++)
		a[i] = n == MAC_BCAST ? 0xff : 0;
	if (n != MAC_BCAST) {
		a[0] = 0x02;
		a[5] = (uint8_t)n;
	}
}

/* Is destination address d ours (02:00:00:00:00:mac), or broadcast? */
static bool mac_for_us(const uint8_t *d, unsigned long mac)
{
	uint8_t a[6];

	if (d[0] & 1) /* group address: broadcast, multicast */
		return true;
	mac_set(a, mac);
	for (unsigned i = 0; i < 6; i++)
		if (d[i] != a[i])
			return false;
	return true;
}

/* rx announce=1: one HELLO broadcast on TX ring r (it waits in the ring
 * until the link is up). */
static int announce(struct params *p, struct memdev *m, uint32_t r)
{
	struct nm_uring tx;
	uint8_t macs[12];
	void *buf;

	nm_uring_attach(&tx, &m->v, r);
	if (nm_uring_space(&tx) == 0)
		return fail(p, "announce: the tx ring is full");
	buf = nm_uring_buf(&tx, NM_READ_ONCE(nm_uring_slot(&tx, 0)->buf_idx));
	if (!buf)
		return fail(p, "announce: the host gave a buffer outside the pool");
	mac_set(macs, MAC_BCAST);
	mac_set(macs + 6, p->mac);
	pktgen_fill(buf, macs, (uint32_t)p->session, 0, PKTGEN_F_HELLO, 0, PKTGEN_DEFAULT_SIZE);
	nm_uring_slot(&tx, 0)->len = PKTGEN_DEFAULT_SIZE;
	nm_uring_advance(&tx, 1);
	if (nm_uring_publish(&tx))
		reg_wr(m, PTNET_MDEV_IO_KICK(r), 1);
	guest_printf("memdev: announced 02:00:00:00:00:%02lx\n", p->mac);
	return 0;
}

static int do_tx(struct params *p, struct memdev *m)
{
	struct nm_uring tx;
	uint64_t seq = 0, kicks = 0, limit = p->timeout * CYCLES_PER_SEC, t0, last;
	uint32_t r = (uint32_t)p->ring, n = m->v.geom.num_slots;

	if (p->size < PKTGEN_MIN_SIZE || p->size > m->v.geom.buf_size)
		return fail(p, "size out of range");
	nm_uring_attach(&tx, &m->v, r);
	if (!wait_link(m, limit))
		return fail(p, "the pipe link never came up");
	t0 = last = guest_rdtsc();
	while (seq < p->count) {
		uint32_t space = nm_uring_space(&tx);

		if (space == 0) {
			if (nm_uring_update(&tx))
				last = guest_rdtsc();
			else if (guest_rdtsc() - last > limit)
				return fail(p, "tx ring stuck");
			guest_pause();
			continue;
		}
		uint32_t k, batch = space < p->batch ? space : (uint32_t)p->batch;
		if (p->count - seq < batch)
			batch = (uint32_t)(p->count - seq);
		for (k = 0; k < batch; k++, seq++) {
			struct netmap_slot *s = nm_uring_slot(&tx, k);
			void *buf = nm_uring_buf(&tx, NM_READ_ONCE(s->buf_idx));

			if (!buf)
				return fail(p, "the host gave a buffer outside the pool");
			memdev_fill(buf, (uint32_t)p->session, seq, seq + 1 == p->count ? PKTGEN_F_FIN : 0,
			     (unsigned)p->size);
			s->len = (uint16_t)p->size;
		}
		nm_uring_advance(&tx, batch);
		if (nm_uring_publish(&tx)) {
			reg_wr(m, PTNET_MDEV_IO_KICK(r), 1);
			kicks++;
		}
		nm_uring_update(&tx);
	}
	/* all moved to the peer: every slot but one is free again */
	while (nm_uring_space(&tx) != n - 1) {
		if (nm_uring_update(&tx))
			last = guest_rdtsc();
		else if (guest_rdtsc() - last > limit)
			return fail(p, "tx completions stuck");
		guest_pause();
	}
	guest_printf("memdev tx ok: %lu packets of %lu bytes in %lu cycles, kicks %lu, refused %u\n",
		     (unsigned long)seq, p->size, (unsigned long)(guest_rdtsc() - t0), (unsigned long)kicks,
		     tx.bad_tail + tx.bad_slot);
	return 0;
}

static int do_rx(struct params *p, struct memdev *m)
{
	struct nm_uring rx;
	struct pktgen_rx_state st = { 0 };
	uint64_t got = 0, kicks = 0, foreign = 0, limit = p->timeout * CYCLES_PER_SEC, t0 = 0, last;
	uint32_t r = (uint32_t)(m->v.geom.nr_rings + p->ring);

	if (p->announce && announce(p, m, (uint32_t)p->ring))
		return 1;
	nm_uring_attach(&rx, &m->v, r);
	guest_printf("memdev: rx ready on ring %lu\n", p->ring);
	last = guest_rdtsc();
	while (!st.fin) {
		uint32_t space, k;

		nm_uring_update(&rx);
		space = nm_uring_space(&rx);
		if (space == 0) {
			if (guest_rdtsc() - last > limit)
				return fail(p, "no packets");
			guest_pause();
			continue;
		}
		if (!t0)
			t0 = guest_rdtsc();
		last = guest_rdtsc();
		for (k = 0; k < space && !st.fin; k++) {
			uint32_t len;
			const void *buf = nm_uring_slot_buf(&rx, nm_uring_slot(&rx, k), &len);

			if (p->hold && got == p->hold) {
				guest_printf("memdev: holding after %lu packets\n", (unsigned long)got);
				for (;;)
					guest_pause();
			}
			got++;
			if (!buf)
				st.errors++;
			else if (p->mac && len >= 6 && !mac_for_us(buf, p->mac))
				foreign++; /* a switch sent us somebody else's unicast */
			else if (pktgen_rx_check(&st, buf, len) == 1)
				guest_printf("memdev: %ssession %x at seq %lu\n", st.sessions > 1 ? "new " : "",
					     st.session, (unsigned long)st.first);
		}
		nm_uring_advance(&rx, k);
		if (nm_uring_publish(&rx)) {
			reg_wr(m, PTNET_MDEV_IO_KICK(r), 1);
			kicks++;
		}
	}
	guest_printf("memdev rx: %lu packets in %lu cycles, sessions %u, first %lu, last %lu, errors %lu, kicks %lu%s\n",
		     (unsigned long)got, (unsigned long)(last - t0), st.sessions, (unsigned long)st.first,
		     (unsigned long)(st.next - 1), (unsigned long)st.errors, (unsigned long)kicks,
		     st.fin ? ", fin" : "");
	if (p->mac)
		guest_printf("memdev rx: foreign %lu\n", (unsigned long)foreign);
	if (foreign)
		return fail(p, "frames for another address came in");
	if (st.errors || st.sessions != p->sessions || st.next != p->count ||
	    (!p->late && (st.first != 0 || st.packets != p->count)))
		return fail(p, "lost, reordered or malformed packets");
	guest_printf("memdev rx ok: %lu packets in order\n", (unsigned long)st.packets);
	return 0;
}

/* Swap the buffers of an RX slot and a TX slot: the packet goes out, the TX
 * slot's free buffer takes its place in the RX ring. */
static void swap_slots(struct netmap_slot *rs, struct netmap_slot *ts, uint32_t len)
{
	uint32_t idx = NM_READ_ONCE(ts->buf_idx);

	NM_WRITE_ONCE(ts->buf_idx, NM_READ_ONCE(rs->buf_idx));
	NM_WRITE_ONCE(ts->len, (uint16_t)len);
	NM_WRITE_ONCE(ts->flags, (uint16_t)NS_BUF_CHANGED);
	NM_WRITE_ONCE(rs->buf_idx, idx);
	NM_WRITE_ONCE(rs->flags, (uint16_t)NS_BUF_CHANGED);
}

void echo_init(struct echo *e, struct memdev *m, uint32_t r)
{
	e->m = m;
	e->r = r;
	e->mac = 0;
	e->moved = e->bad = e->kicks = 0;
	nm_uring_attach(&e->tx, &m->v, r);
	nm_uring_attach(&e->rx, &m->v, m->v.geom.nr_rings + r);
}

uint32_t echo_step(struct echo *e, uint64_t max)
{
	uint32_t k, n, txs, nr = e->m->v.geom.nr_rings;

	nm_uring_update(&e->rx);
	nm_uring_update(&e->tx);
	n = nm_uring_space(&e->rx);
	txs = nm_uring_space(&e->tx);
	if (txs < n)
		n = txs;
	if (max < n)
		n = (uint32_t)max;
	if (n == 0)
		return 0;
	for (k = 0; k < n; k++) {
		struct netmap_slot *rs = nm_uring_slot(&e->rx, k), *ts = nm_uring_slot(&e->tx, k);
		uint32_t len;
		void *b = nm_uring_slot_buf(&e->rx, rs, &len);

		if (!b || !nm_uring_buf(&e->tx, NM_READ_ONCE(ts->buf_idx))) {
			e->bad++;
			NM_WRITE_ONCE(ts->len, 0); /* a bad buffer from the host: send nothing useful */
			continue;
		}
		pktgen_pong(b, len);
		if (e->mac && len >= 12) { /* back to the sender, from us */
			uint8_t *h = b;
			for (unsigned i = 0; i < 6; i++)
				h[i] = h[6 + i];
			mac_set(h + 6, e->mac);
		}
		swap_slots(rs, ts, len);
	}
	e->moved += n;
	nm_uring_advance(&e->rx, n);
	nm_uring_advance(&e->tx, n);
	if (nm_uring_publish(&e->tx)) {
		reg_wr(e->m, PTNET_MDEV_IO_KICK(e->r), 1);
		e->kicks++;
	}
	if (nm_uring_publish(&e->rx)) {
		reg_wr(e->m, PTNET_MDEV_IO_KICK(nr + e->r), 1);
		e->kicks++;
	}
	return n;
}

static int do_echo(struct params *p, struct memdev *m)
{
	struct echo e;
	uint64_t limit = p->timeout * CYCLES_PER_SEC, last;

	echo_init(&e, m, (uint32_t)p->ring);
	e.mac = (uint8_t)p->mac;
	guest_printf("memdev: echo ready on ring %lu\n", p->ring);
	last = guest_rdtsc();
	while (e.moved < p->count) {
		if (echo_step(&e, p->count - e.moved)) {
			last = guest_rdtsc();
		} else {
			if (guest_rdtsc() - last > limit)
				return fail(p, "echo: nothing to do");
			guest_pause();
		}
	}
	guest_printf("memdev echo ok: %lu packets, bad %lu, kicks %lu\n", (unsigned long)e.moved,
		     (unsigned long)e.bad, (unsigned long)e.kicks);
	return e.bad ? 1 : 0;
}

/* ---- hostile --------------------------------------------------------------- */

#define HOSTILE_SLOTS   8            /* bad slots handed over on ring 0 */
#define HOSTILE_GOOD    100          /* good packets on ring 0 afterwards */
#define SETTLE_CYCLES   300000000ull /* ~0.1 s: time for the host to (not) react */

static void settle(void)
{
	for (uint64_t t = guest_rdtsc(); guest_rdtsc() - t < SETTLE_CYCLES;)
		guest_pause();
}

/* Wait until the host side published hwcur == want on ring r; false on timeout. */
static bool wait_hwcur(const struct memdev *m, uint32_t r, uint32_t want, uint64_t limit)
{
	const struct nm_csb_ktoa *k = nmport_ktoa(&m->v, r);

	for (uint64_t t = guest_rdtsc(); NM_READ_ONCE(k->hwcur) != want;) {
		if (guest_rdtsc() - t > limit)
			return false;
		guest_pause();
	}
	return true;
}

static int do_hostile(struct params *p, struct memdev *m)
{
	uint32_t n = m->v.geom.num_slots, saved[HOSTILE_SLOTS];
	uint64_t limit = p->timeout * CYCLES_PER_SEC;
	struct nm_csb_atok *a0 = nmport_atok(&m->v, 0);
	const struct nm_csb_ktoa *k0 = nmport_ktoa(&m->v, 0);
	struct netmap_ring *ring0 = nmport_ring(&m->v, 0);
	struct nm_uring tx;

	if (m->v.geom.nr_rings < 2)
		return fail(p, "hostile needs 2 ring pairs");
	if (!wait_link(m, limit))
		return fail(p, "the pipe link never came up");
	/* the CSB stays in BAR1: guest-RAM CSB addresses (here outside RAM) are ignored */
	reg_wr(m, PTNET_MDEV_IO_CSB_GH_BAH, 0xffffffffu);
	reg_wr(m, PTNET_MDEV_IO_CSB_GH_BAL, 0xfffff000u);
	reg_wr(m, PTNET_MDEV_IO_CSB_HG_BAH, 0x00000fffu);
	reg_wr(m, PTNET_MDEV_IO_CSB_HG_BAL, 0x12345000u);
	reg_wr(m, PTNET_MDEV_IO_MEMSIZE_LO, 0x1000u);
	reg_wr(m, PTNET_MDEV_IO_KICK(PTNET_MDEV_MSIX_MAX - 1), 1); /* a ring that does not exist */
	if (reg_rd((const void *)m->regs, PTNET_MDEV_IO_CSB_GH_BAL) != 0 ||
	    reg_rd((const void *)m->regs, PTNET_MDEV_IO_CSB_HG_BAL) != 0 ||
	    reg_rd((const void *)m->regs, PTNET_MDEV_IO_MEMSIZE_LO) != (uint32_t)m->v.win_size)
		return fail(p, "read-only registers changed");
	guest_printf("memdev: hostile: registers refused\n");
	/* the host keeps private copies of the geometry: scribble over the shared one,
	 * and over the BAR's tail past the window */
	NM_WRITE_ONCE(ring0->num_slots, 0xffffffffu);
	NM_WRITE_ONCE(ring0->nr_buf_size, 0xffffffffu);
	NM_WRITE_ONCE(ring0->buf_ofs, (int64_t)1 << 62);
	NM_WRITE_ONCE(nmport_nifp(&m->v)->ring_ofs[0], -((int64_t)1 << 40));
	*(volatile uint8_t *)(m->v.win + m->bar1_size - 1) = 0xff;
	/* head and cur beyond the ring */
	NM_WRITE_ONCE(a0->cur, n + 9);
	NM_WRITE_ONCE(a0->head, n + 7);
	reg_wr(m, PTNET_MDEV_IO_KICK(0), 1);
	settle();
	if (NM_READ_ONCE(k0->hwcur) != 0 || NM_READ_ONCE(k0->hwtail) != n - 1)
		return fail(p, "the host followed a head beyond the ring");
	NM_WRITE_ONCE(a0->head, 0);
	NM_WRITE_ONCE(a0->cur, 0);
	guest_printf("memdev: hostile: head beyond the ring refused\n");
	/* slots with buffers beyond the pool and lengths beyond the buffer, and a
	 * cur beyond the ring: the host completes them without delivering */
	nm_uring_attach(&tx, &m->v, 0);
	for (uint32_t k = 0; k < HOSTILE_SLOTS; k++) {
		struct netmap_slot *sl = nm_uring_slot(&tx, k);

		saved[k] = sl->buf_idx;
		if (k % 2) {
			sl->buf_idx = m->v.nbufs + k * 1000;
			sl->len = PKTGEN_MIN_SIZE;
		} else {
			sl->len = (uint16_t)(k == 0 ? 0xffffu : m->v.geom.buf_size + 1);
		}
	}
	nm_uring_advance(&tx, HOSTILE_SLOTS);
	nm_uring_publish(&tx);
	NM_WRITE_ONCE(a0->cur, n + 100);
	reg_wr(m, PTNET_MDEV_IO_KICK(0), 1);
	if (!wait_hwcur(m, 0, HOSTILE_SLOTS, limit))
		return fail(p, "the host stopped serving ring 0 after bad slots");
	for (uint32_t k = 0; k < HOSTILE_SLOTS; k++)
		tx.slot[k].buf_idx = saved[k]; /* our own ring: put the good buffers back */
	guest_printf("memdev: hostile: bad slots dropped\n");
	/* ring 0 still works (its packets wait in the peer's RX ring 0) ... */
	struct params p0 = *p;
	p0.ring = 0;
	p0.count = HOSTILE_GOOD;
	p0.session = p->session + 1;
	if (do_tx(&p0, m))
		return fail(p, "ring 0 no longer works");
	/* ... and so does the other ring: the checked stream (pktgen rx on ring 1) */
	if (do_tx(p, m))
		return 1;
	guest_printf("memdev hostile ok\n");
	return 0;
}

/* CPL3 */
static void run(void *arg)
{
	struct params *p = arg;
	struct memdev m;

	if (!memdev_find(&m, p->dev)) {
		fail(p, "no usable ptnetmap-memdev");
		return;
	}
	guest_printf("memdev: %u ring pair(s), %u slots, %u buffers of %u bytes, memid %u\n",
		     m.v.geom.nr_rings, m.v.geom.num_slots, m.v.nbufs, m.v.geom.buf_size,
		     reg_rd((const void *)m.regs, PTNET_MDEV_IO_MEMID));
	if (p->ring >= m.v.geom.nr_rings) {
		fail(p, "ring out of range");
		return;
	}
	switch (p->mode) {
	case MODE_TX:      p->status = do_tx(p, &m); break;
	case MODE_RX:      p->status = do_rx(p, &m); break;
	case MODE_ECHO:    p->status = do_echo(p, &m); break;
	case MODE_HOSTILE: p->status = do_hostile(p, &m); break;
	case MODE_DEMO:    break;
	}
}

/* The cmdline value (s, len) equals the string w. */
static bool is(const char *s, size_t len, const char *w)
{
	size_t i = 0;

	while (i < len && w[i] && s[i] == w[i])
		i++;
	return i == len && !w[i];
}

int guest_main(void)
{
	struct params p = {
		.count = guest_cmdline_ulong("count", 1000),
		.size = guest_cmdline_ulong("size", PKTGEN_DEFAULT_SIZE),
		.batch = guest_cmdline_ulong("batch", 64),
		.ring = guest_cmdline_ulong("ring", 0),
		.dev = guest_cmdline_ulong("dev", 0),
		.timeout = guest_cmdline_ulong("timeout", 30),
		.session = guest_cmdline_ulong("session", 0x6d656d64),
		.sessions = guest_cmdline_ulong("sessions", 1),
		.late = guest_cmdline_ulong("late", 0),
		.hold = guest_cmdline_ulong("hold", 0),
		.mac = guest_cmdline_ulong("mac", 0),
		.announce = guest_cmdline_ulong("announce", 0),
	};
	unsigned long dst = guest_cmdline_ulong("dst", 1);
	size_t len;
	const char *mode = guest_cmdline_get("mode", &len);

	if (!mode || is(mode, len, "tx"))
		p.mode = MODE_TX;
	else if (is(mode, len, "rx"))
		p.mode = MODE_RX;
	else if (is(mode, len, "echo"))
		p.mode = MODE_ECHO;
	else if (is(mode, len, "hostile"))
		p.mode = MODE_HOSTILE;
	else if (is(mode, len, "demo"))
		return memdev_demo(&p);
	else
		return fail(&p, "mode must be tx, rx, echo, hostile or demo");
	if (p.batch == 0)
		p.batch = 1;
	if (p.mac >= MAC_BCAST || dst == 0 || dst > MAC_BCAST || (p.announce && !p.mac))
		return fail(&p, "mac wants 1-254, dst 1-255, announce a mac");
	mac_set(memdev_macs, dst);
	if (p.mac)
		mac_set(memdev_macs + 6, p.mac);
	guest_user_run(run, &p);
	return p.status;
}
