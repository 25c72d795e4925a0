/* SPDX-License-Identifier: MIT */
/*
 * Build check: <modvmm-netmap/netmap_ring.h> and <modvmm-netmap/pktgen.h> compile for the
 * freestanding test guests (their flags, see lib/nmport/meson.build) and
 * instantiate every helper a guest uses.  Never linked.
 */
#include <modvmm-netmap/netmap_ring.h>
#include <modvmm-netmap/pktgen.h>

static uint32_t rd(const void *ctx, unsigned int off)
{
	return *(const volatile uint32_t *)((const uint8_t *)ctx + off);
}

uint32_t nmport_freestanding_check(struct nmport_view *v, struct nm_uring *u, struct nm_kring *k,
				   struct nm_kring *k2, struct nmport_mem *m);

uint32_t nmport_freestanding_check(struct nmport_view *v, struct nm_uring *u, struct nm_kring *k,
				   struct nm_kring *k2, struct nmport_mem *m)
{
	struct pktgen_rx_state st = { 0 };
	uint32_t len = 0, r = 0;

	if (!nmport_view_from_regs(v, rd, (const void *)0xfebf0000ul, v->win, 1u << 20))
		return 0;
	nm_uring_attach(u, v, 0);
	nm_kring_attach(k, v, 1);
	nm_kring_resume(k);
	r += nm_uring_space(u);
	if (nm_uring_slot_buf(u, nm_uring_slot(u, 0), &len))
		r += (uint32_t)pktgen_rx_check(&st, nm_uring_buf(u, 0), len);
	nm_uring_advance(u, 1);
	r += nm_uring_load(u) + nm_uring_publish(u) + nm_uring_update(u) + nm_uring_sync(u);
	r += nm_uring_prepare_sleep(u);
	r += (uint32_t)nm_kring_read_user(k) + nm_kring_prepare_sleep(k) + nm_kring_user_wants_kick(k);
	nm_kring_awake(k);
	r += nm_pipe_move(k, k2, 16).consumed + nm_kring_tx_drop(k) + nm_kring_rx_space(k2);
	nm_kring_publish(k);
	r += nm_ring_space(nmport_ring(v, 0)) + nm_tx_pending(nmport_ring(v, 0));
	r += nmport_memdev_reg(m, 1, PTNET_MDEV_IO_CSB_OFS, 0) + nmport_layout(&m->geom, m);
	r += nmport_mem_check(m, m->size, m);
	return r;
}
