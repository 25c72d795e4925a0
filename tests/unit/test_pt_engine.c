/*
 * The pipe backend's ring-passthrough engine (plugins/backends/pipe/
 * pt_engine.c), driven by a fake guest on end 0 of a real region: packets
 * move by buffer swap into end 1's RX ring, a hostile guest's head, cur,
 * buffer indices and lengths are refused on one ring while the other ring
 * keeps moving, and while the link is down packets stay in the guest's ring
 * until a peer arrives.  A ring the peer pulls is left alone while the link is
 * up and resumed where the puller left it afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <modvmm-netmap/nmport.h>
#include "pt_engine.h"

#define NSLOTS 64
#define NRINGS 2

struct fx {
	struct nmport_region reg;
	struct nmport_view v0, v1;
	struct pt_engine e;
	int irq[NMPORT_MAX_RINGS];
	struct nm_uring tx[NRINGS], rx1[NRINGS]; /* the guest's TX rings, end 1's RX rings */
};

static int fx_setup(void **state)
{
	static struct fx f;
	struct nmport_geom g = { NRINGS, NSLOTS, 2048, 0 };

	memset(&f, 0, sizeof(f));
	assert_int_equal(nmport_region_create("pt-engine", &g, &f.reg), 0);
	nmport_region_view(&f.reg, 0, &f.v0);
	nmport_region_view(&f.reg, 1, &f.v1);
	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
		f.irq[i] = i < NRINGS ? eventfd(0, EFD_NONBLOCK) : -1;
	pt_engine_init(&f.e, &f.v0, &f.v1, f.irq);
	for (unsigned i = 0; i < NRINGS; i++) {
		nm_uring_attach(&f.tx[i], &f.v0, i);
		nm_uring_attach(&f.rx1[i], &f.v1, NRINGS + i);
	}
	*state = &f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	for (unsigned i = 0; i < NRINGS; i++)
		close(f->irq[i]);
	nmport_region_close(&f->reg);
	return 0;
}

static void link_up_pulled(struct fx *f, uint32_t pulled)
{
	int none[NMPORT_MAX_RINGS];

	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
		none[i] = -1;
	pt_engine_link_up(&f->e, none, pulled);
}

static void link_up(struct fx *f)
{
	link_up_pulled(f, 0);
}

/* The guest sends n packets on ring r, first byte tag + k. */
static void guest_send(struct fx *f, unsigned r, uint32_t n, uint8_t tag)
{
	struct nm_uring *u = &f->tx[r];

	nm_uring_update(u);
	assert_true(nm_uring_space(u) >= n);
	for (uint32_t k = 0; k < n; k++) {
		struct netmap_slot *s = nm_uring_slot(u, k);
		uint8_t *b = nm_uring_buf(u, s->buf_idx);

		assert_non_null(b);
		b[0] = (uint8_t)(tag + k);
		s->len = 60;
	}
	nm_uring_advance(u, n);
	nm_uring_publish(u);
}

/* End 1 receives on ring r: returns how many, checking the tags in order. */
static uint32_t peer_recv(struct fx *f, unsigned r, uint8_t tag)
{
	struct nm_uring *u = &f->rx1[r];
	uint32_t n, len;

	nm_uring_update(u);
	n = nm_uring_space(u);
	for (uint32_t k = 0; k < n; k++) {
		const uint8_t *b = nm_uring_slot_buf(u, nm_uring_slot(u, k), &len);

		assert_non_null(b);
		assert_int_equal(len, 60);
		assert_int_equal(b[0], (uint8_t)(tag + k));
	}
	nm_uring_advance(u, n);
	nm_uring_publish(u);
	return n;
}

static void moves_by_swap(void **state)
{
	struct fx *f = *state;

	link_up(f);
	guest_send(f, 0, 10, 1);
	assert_true(pt_engine_tx(&f->e, 0));
	assert_int_equal(peer_recv(f, 0, 1), 10);
	assert_int_equal(f->e.delivered, 10);
	assert_false(pt_engine_tx(&f->e, 0)); /* nothing pending */
	assert_int_equal(pt_engine_bad(&f->e), 0);
}

static void link_down_holds(void **state)
{
	struct fx *f = *state;

	guest_send(f, 0, 5, 20); /* no peer yet */
	assert_false(pt_engine_tx(&f->e, 0));
	assert_int_equal(f->e.dropped, 0);
	link_up(f);
	assert_true(pt_engine_tx(&f->e, 0));
	assert_int_equal(peer_recv(f, 0, 20), 5);
	pt_engine_link_down(&f->e);
	guest_send(f, 0, 3, 40);
	assert_false(pt_engine_tx(&f->e, 0));
	link_up(f);
	assert_true(pt_engine_tx(&f->e, 0));
	assert_int_equal(peer_recv(f, 0, 40), 3);
}

static void hostile_guest(void **state)
{
	struct fx *f = *state;
	struct nm_csb_atok *a0 = nmport_atok(&f->v0, 0);
	const struct nm_csb_ktoa *k0 = nmport_ktoa(&f->v0, 0);
	struct netmap_slot *s;
	uint32_t saved;

	link_up(f);
	/* head and cur beyond the ring: refused, nothing moves */
	a0->head = NSLOTS + 3;
	a0->cur = NSLOTS + 5;
	assert_false(pt_engine_tx(&f->e, 0));
	assert_int_equal(k0->hwcur, 0);
	assert_int_equal(k0->hwtail, NSLOTS - 1);
	assert_true(pt_engine_bad(&f->e) > 0);
	a0->head = a0->cur = 0;
	/* the other ring keeps moving */
	guest_send(f, 1, 7, 60);
	assert_true(pt_engine_tx(&f->e, 1));
	assert_int_equal(peer_recv(f, 1, 60), 7);
	/* a buffer beyond the pool and a length beyond the buffer: dropped */
	s = &nmport_ring(&f->v0, 0)->slot[0];
	saved = s->buf_idx;
	s->buf_idx = f->v0.nbufs + 100;
	s->len = 60;
	nmport_ring(&f->v0, 0)->slot[1].len = 2049;
	nm_uring_advance(&f->tx[0], 2);
	nm_uring_publish(&f->tx[0]);
	a0->cur = NSLOTS + 9; /* clamped */
	assert_true(pt_engine_tx(&f->e, 0));
	assert_int_equal(f->e.dropped, 2);
	assert_int_equal(f->e.delivered, 7);
	assert_int_equal(peer_recv(f, 0, 0), 0);
	assert_int_equal(k0->hwcur, 2);
	s->buf_idx = saved;
	/* and ring 0 works again */
	guest_send(f, 0, 4, 80);
	assert_true(pt_engine_tx(&f->e, 0));
	assert_int_equal(peer_recv(f, 0, 80), 4);
}

/* The peer pulls ring 0: the engine leaves it alone (ring 1 still moves);
 * the puller's moves (what lib/nmport's rxsync does) stand, and after the
 * link goes down the engine resumes from the puller's published state. */
static void pulled_ring_handover(void **state)
{
	struct fx *f = *state;
	const struct nm_csb_ktoa *k0 = nmport_ktoa(&f->v0, 0);
	struct nm_kring gtx, prx; /* the puller's krings: the guest's TX ring 0, its own RX ring 0 */

	link_up_pulled(f, 1u << 0);
	guest_send(f, 0, 5, 100);
	guest_send(f, 1, 2, 120);
	assert_false(pt_engine_tx(&f->e, 0));
	assert_true(pt_engine_prepare_sleep(&f->e, 0));
	assert_int_equal(nmport_ktoa(&f->v0, 0)->kern_need_kick, 0); /* the puller's to set */
	assert_int_equal(k0->hwcur, 0);
	assert_true(pt_engine_tx(&f->e, 1));
	assert_int_equal(peer_recv(f, 1, 120), 2);

	nm_kring_attach(&gtx, &f->v0, 0);
	assert_true(nm_kring_resume(&gtx));
	nm_kring_attach(&prx, &f->v1, NRINGS + 0);
	assert_true(nm_kring_resume(&prx));
	assert_int_equal(nm_kring_read_user(&gtx), 5);
	nm_kring_read_user(&prx);
	assert_int_equal(nm_pipe_move(&gtx, &prx, UINT32_MAX).delivered, 5);
	nm_kring_publish(&gtx);
	nm_kring_publish(&prx);
	assert_int_equal(peer_recv(f, 0, 100), 5);
	assert_int_equal(k0->hwcur, 5);

	pt_engine_link_down(&f->e);
	guest_send(f, 0, 3, 140);
	link_up(f);
	assert_true(pt_engine_tx(&f->e, 0));
	assert_int_equal(peer_recv(f, 0, 140), 3);
	assert_int_equal(k0->hwcur, 8);
	assert_int_equal(f->e.delivered, 2 + 3);
	assert_int_equal(pt_engine_bad(&f->e), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(moves_by_swap),
		T(link_down_holds),
		T(hostile_guest),
		T(pulled_ring_handover),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
