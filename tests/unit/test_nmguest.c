/* SPDX-License-Identifier: MIT */
/* The Linux-guest port library (lib/nmguest/nmguest.c) on the host: attached to
 * one end of a pipe region with a fake BAR0 filled the way ptnetmap-memdev
 * fills it (nmport_memdev_reg), talking to a host nmport end: geometry checks,
 * traffic both ways, doorbell writes and interrupt requests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <modvmm-netmap/pktgen.h>
#include <modvmm-netmap/nmport.h>
#include "nmguest.h"

#define MEMID 7
#define UNTOUCHED 0xffffffffu

struct fx {
	struct nmport *host;   /* end 0: a host program */
	struct nmport *dev;    /* end 1: only its TX engine runs (what modvmm does for a guest) */
	uint32_t regs[PTNET_MDEV_IO_SIZE / 4];
	uint8_t *win;
	size_t win_size;
	struct nmguest g;
};

static void fill_regs(struct fx *f)
{
	const struct nmport_mem *m = nmport_mem(f->dev);

	for (unsigned off = 0; off < PTNET_MDEV_IO_SIZE; off += 4)
		f->regs[off / 4] = off >= PTNET_MDEV_IO_KICK_BASE ? UNTOUCHED
								  : nmport_memdev_reg(m, 1, off, MEMID);
	f->regs[PTNET_MDEV_IO_LINK / 4] = 1;
}

static int setup(void **state)
{
	static struct fx f;
	struct nmport_geom g = { 2, 64, 2048, 0 };

	memset(&f, 0, sizeof(f));
	assert_int_equal(nmport_pair("guest", &g, &f.host, &f.dev), 0);
	const struct nmport_mem *m = nmport_mem(f.dev);
	f.win = nmport_region(f.dev)->base + m->end[1].win_ofs;
	f.win_size = m->end[1].win_size;
	fill_regs(&f);
	f.g.fd = -1;
	assert_int_equal(nmguest_attach(&f.g, f.regs, sizeof(f.regs), f.win, f.win_size), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	nmport_close(f->host);
	nmport_close(f->dev);
	return 0;
}

static void geometry(void **state)
{
	struct fx *f = *state;
	struct nmguest g = { .fd = -1 };

	assert_int_equal(f->g.nr, 2);
	assert_true(nmguest_link_up(&f->g));
	assert_int_equal(f->g.view.geom.num_slots, 64);
	/* the guest's ring 1 is the same memory as the host's view of end 1 */
	struct nmport_view v;
	nmport_region_view(nmport_region(f->dev), 1, &v);
	assert_ptr_equal(f->g.tx[1].ring, nmport_ring(&v, 1));
	assert_ptr_equal(f->g.rx[0].atok, nmport_atok(&v, 2));

	/* registers that do not describe a usable window are refused */
	struct { unsigned off; uint32_t val; } bad[] = {
		{ PTNET_MDEV_IO_VERSION, NMPORT_VERSION + 1 },
		{ PTNET_MDEV_IO_NUM_RX_RINGS, 1 },
		{ PTNET_MDEV_IO_NUM_RX_SLOTS, 32 },
		{ PTNET_MDEV_IO_RING_POOL_OBJNUM, 3 },
		{ PTNET_MDEV_IO_CSB_OFS, (uint32_t)f->win_size },
		{ PTNET_MDEV_IO_BUF_POOL_OFS, (uint32_t)f->win_size - 4096 },
		{ PTNET_MDEV_IO_BUF_POOL_OBJNUM, 0xffffff },
		{ PTNET_MDEV_IO_MEMSIZE_HI, 1 },
		{ PTNET_MDEV_IO_NUM_TX_RINGS, NMPORT_MAX_RINGS + 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t saved = f->regs[bad[i].off / 4];
		f->regs[bad[i].off / 4] = bad[i].val;
		assert_int_equal(nmguest_attach(&g, f->regs, sizeof(f->regs), f->win, f->win_size),
				 -EINVAL);
		f->regs[bad[i].off / 4] = saved;
	}
	assert_int_equal(nmguest_attach(&g, f->regs, 64, f->win, f->win_size), -EINVAL);
	assert_int_equal(nmguest_attach(&g, f->regs, sizeof(f->regs), f->win, f->win_size - 4096),
			 -EINVAL);
	assert_int_equal(nmguest_attach(&g, f->regs, sizeof(f->regs), f->win, f->win_size), 0);
}

static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 }; /* dst, src */

static void put_frames(struct nm_uring *u, uint64_t seq, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		struct netmap_slot *s = nm_uring_slot(u, k);
		struct pktgen_hdr *h = nm_uring_buf(u, s->buf_idx);
		pktgen_fill(h, macs, 9, seq + k, 0, 0, 64);
		s->len = 64;
	}
	nm_uring_advance(u, n);
}

static uint32_t take_frames(struct nm_uring *u, struct pktgen_rx_state *st)
{
	uint32_t n = nm_uring_space(u), len = 0;

	for (uint32_t k = 0; k < n; k++) {
		const void *b = nm_uring_slot_buf(u, nm_uring_slot(u, k), &len);
		assert_non_null(b);
		pktgen_rx_check(st, b, len);
	}
	nm_uring_advance(u, n);
	return n;
}

static void guest_to_host(void **state)
{
	struct fx *f = *state;
	struct pktgen_rx_state st = { 0 };
	uint64_t seq = 0;

	for (int round = 0; round < 20; round++) {
		uint32_t n = nm_uring_space(&f->g.tx[1]);
		assert_true(n > 0);
		put_frames(&f->g.tx[1], seq, n > 40 ? 40 : n);
		seq += n > 40 ? 40 : n;
		nmguest_txsync(&f->g, 1);
		nmport_txsync(f->dev, 1);   /* the host side of the guest's TX ring */
		nmport_rxsync(f->host, 1);
		take_frames(nmport_rx(f->host, 1), &st);
		nmport_rxsync(f->host, 1);
		nmguest_txsync(&f->g, 1);   /* completions */
	}
	assert_int_equal(st.sessions, 1);
	assert_int_equal(st.errors, 0);
	assert_int_equal(st.next, seq);
	assert_int_equal(f->g.kicks, 0); /* the host side never slept */
	assert_int_equal(f->regs[PTNET_MDEV_IO_KICK(1) / 4], UNTOUCHED);
}

static void host_to_guest(void **state)
{
	struct fx *f = *state;
	struct pktgen_rx_state st = { 0 };
	uint64_t seq = 0;
	uint32_t got = 0;

	for (int round = 0; round < 20; round++) {
		struct nm_uring *u = nmport_tx(f->host, 0);
		nmport_txsync(f->host, 0);
		uint32_t n = nm_uring_space(u) > 50 ? 50 : nm_uring_space(u);
		put_frames(u, seq, n);
		seq += n;
		nmport_txsync(f->host, 0);
		nmguest_rxsync(&f->g, 0);
		got += take_frames(&f->g.rx[0], &st);
		nmguest_rxsync(&f->g, 0);
	}
	assert_int_equal(got, seq);
	assert_int_equal(st.errors, 0);
	assert_int_equal(f->g.rx[0].bad_tail + f->g.rx[0].bad_slot, 0);
}

static void doorbells_and_interrupts(void **state)
{
	struct fx *f = *state;
	struct nmport_view v;
	struct nmport_stats st;

	nmport_region_view(nmport_region(f->dev), 1, &v);

	/* the host side of TX ring 0 sleeps: publishing rings its doorbell */
	nmport_ktoa(&v, 0)->kern_need_kick = 1;
	put_frames(&f->g.tx[0], 0, 3);
	nmguest_txsync(&f->g, 0);
	assert_int_equal(f->regs[PTNET_MDEV_IO_KICK(0) / 4], 0);
	assert_int_equal(f->g.kicks, 1);
	nmguest_txsync(&f->g, 0); /* nothing new: no second kick */
	assert_int_equal(f->g.kicks, 1);

	/* the producer of RX ring 1 waits for room: a release rings RX ring 1's doorbell */
	struct nm_uring *u = nmport_tx(f->host, 1);
	put_frames(u, 0, 5);
	nmport_txsync(f->host, 1);
	nmguest_rxsync(&f->g, 1);
	nmport_ktoa(&v, 2 + 1)->kern_need_kick = 1;
	struct pktgen_rx_state rs = { 0 };
	assert_int_equal(take_frames(&f->g.rx[1], &rs), 5);
	nmguest_rxsync(&f->g, 1);
	assert_int_equal(f->regs[PTNET_MDEV_IO_KICK(2 + 1) / 4], 2 + 1);
	assert_int_equal(f->g.kicks, 2);

	/* an empty RX ring: the guest asks for an interrupt before sleeping, and the
	 * host's engine answers it (an eventfd write; an MSI-X vector under modvmm) */
	assert_int_equal(nmguest_wait(&f->g, 0, NMGUEST_POLLIN, 0), 0);
	assert_int_equal(nmport_atok(&v, 2)->appl_need_kick, 1);
	nmport_get_stats(f->host, &st);
	uint64_t before = st.kicks;
	put_frames(nmport_tx(f->host, 0), 100, 1);
	nmport_txsync(f->host, 0);
	nmport_get_stats(f->host, &st);
	assert_int_equal(st.kicks, before + 1);
	assert_int_equal(nmguest_wait(&f->g, 0, NMGUEST_POLLIN, 0), 1);
	/* a TX ring with room needs no interrupt */
	assert_int_equal(nmguest_wait(&f->g, 1, NMGUEST_POLLOUT, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(geometry, setup, teardown),
		cmocka_unit_test_setup_teardown(guest_to_host, setup, teardown),
		cmocka_unit_test_setup_teardown(host_to_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(doorbells_and_interrupts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
