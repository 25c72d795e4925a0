/* SPDX-License-Identifier: MIT */
/* The port memory format and the ring protocol (<modvmm-netmap/netmap_ring.h>):
 * arithmetic, layout checks, pipe buffer swapping, CSB kick decisions and a
 * hostile peer's ring fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <modvmm-netmap/nmport.h>

#define NSLOTS 8

/* A region with one ring pair per end; end 0's TX ring 0 feeds end 1's RX ring 0. */
struct fx {
	struct nmport_region reg;
	struct nmport_view v0, v1;
	struct nm_uring tx, rx;   /* users: end 0 TX 0, end 1 RX 0 */
	struct nm_kring ktx, krx; /* kernel sides of the same rings */
};

static int fx_setup(void **state)
{
	static struct fx f;
	struct nmport_geom g = { 1, NSLOTS, 64, 0 };

	memset(&f, 0, sizeof(f));
	assert_int_equal(nmport_region_create("ringtest", &g, &f.reg), 0);
	nmport_region_view(&f.reg, 0, &f.v0);
	nmport_region_view(&f.reg, 1, &f.v1);
	nm_uring_attach(&f.tx, &f.v0, 0);
	nm_uring_attach(&f.rx, &f.v1, 1);
	nm_kring_attach(&f.ktx, &f.v0, 0);
	nm_kring_attach(&f.krx, &f.v1, 1);
	*state = &f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	nmport_region_close(&f->reg);
	return 0;
}

/* ---- arithmetic ---------------------------------------------------------------- */

static void arithmetic(void **state)
{
	assert_int_equal(nm_idx_next(0, 8), 1);
	assert_int_equal(nm_idx_next(7, 8), 0);
	assert_int_equal(nm_idx_prev(0, 8), 7);
	assert_int_equal(nm_idx_prev(5, 8), 4);
	assert_int_equal(nm_idx_add(6, 3, 8), 1);
	assert_int_equal(nm_idx_add(6, 8, 8), 6);
	assert_int_equal(nm_idx_dist(2, 5, 8), 3);
	assert_int_equal(nm_idx_dist(6, 1, 8), 3);
	assert_int_equal(nm_idx_dist(4, 4, 8), 0);
	assert_true(nm_idx_between(7, 6, 1, 8));  /* wrapping interval */
	assert_true(nm_idx_between(0, 6, 1, 8));
	assert_true(nm_idx_between(1, 6, 1, 8));
	assert_false(nm_idx_between(2, 6, 1, 8));
	assert_false(nm_idx_between(5, 6, 1, 8));
	assert_true(nm_idx_between(3, 3, 3, 8));
	assert_false(nm_idx_between(4, 3, 3, 8));
}

static void netmap_style_space(void **state)
{
	struct fx *f = *state;
	struct netmap_ring *r = nmport_ring(&f->v0, 0);

	/* TX after reset: everything but one slot free */
	assert_int_equal(nm_ring_space(r), NSLOTS - 1);
	assert_false(nm_ring_empty(r));
	assert_false(nm_tx_pending(r));
	r->head = r->cur = 3; /* three handed over, none completed */
	assert_int_equal(nm_ring_space(r), NSLOTS - 4);
	assert_true(nm_tx_pending(r));
	r->head = r->cur = NSLOTS - 1; /* full */
	assert_true(nm_ring_empty(r));
	assert_int_equal(nm_ring_next(r, NSLOTS - 1), 0);
	r->head = r->cur = 0;
	/* RX after reset: empty */
	assert_true(nm_ring_empty(nmport_ring(&f->v1, 1)));
	/* netmap-style addressing agrees with the private view */
	struct netmap_if *nifp = nmport_nifp(&f->v1);
	assert_ptr_equal(NETMAP_TXRING(nifp, 0), nmport_ring(&f->v1, 0));
	assert_ptr_equal(NETMAP_RXRING(nifp, 0), nmport_ring(&f->v1, 1));
	assert_ptr_equal(NETMAP_BUF(r, 5), nm_uring_buf(&f->tx, 5));
	assert_ptr_equal((char *)nifp + nifp->ni_csb_ofs, (char *)nmport_atok(&f->v1, 0));
	assert_string_equal(nifp->ni_name, "ringtest}1");
}

/* ---- layout ---------------------------------------------------------------------- */

static void layout_limits(void **state)
{
	struct nmport_mem m;
	struct nmport_geom ok = { 2, 256, 2048, 16 };

	assert_true(nmport_layout(&ok, &m));
	struct nmport_geom bad[] = {
		{ 0, 256, 2048, 0 }, { NMPORT_MAX_RINGS + 1, 256, 2048, 0 },
		{ 1, NMPORT_MIN_SLOTS - 1, 2048, 0 }, { 1, NMPORT_MAX_SLOTS + 1, 2048, 0 },
		{ 1, 256, 32, 0 }, { 1, 256, 100, 0 }, { 1, 256, NMPORT_MAX_BUF_SIZE + 64, 0 },
		{ 1, 256, 2048, NMPORT_MAX_EXTRA_BUFS + 1 },
		{ NMPORT_MAX_RINGS, NMPORT_MAX_SLOTS, NMPORT_MAX_BUF_SIZE, 0 }, /* > 1 GiB */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(nmport_layout(&bad[i], &m));
}

static void layout_windows(void **state)
{
	struct nmport_mem m;
	struct nmport_geom g = { 3, 512, 2048, 10 };

	assert_true(nmport_layout(&g, &m));
	assert_int_equal(m.nbufs, 2 * 2 * 3 * 512 + 10);
	assert_int_equal(m.size % NMPORT_PAGE_SIZE, 0);
	assert_true(m.buf_pool_size >= (uint64_t)m.nbufs * g.buf_size);
	for (unsigned e = 0; e < NMPORT_ENDS; e++) {
		const struct nmport_end_desc *d = &m.end[e];
		assert_int_equal(d->win_ofs % NMPORT_PAGE_SIZE, 0);
		assert_true(d->win_ofs + d->win_size <= m.size);
		/* the pool is inside every window, at the same region offset */
		assert_int_equal(d->win_ofs + d->buf_pool_ofs, m.buf_pool_ofs);
		assert_true(nmport_window_check(&g, m.nbufs, m.ring_objsz, d, d->win_size));
		assert_false(nmport_window_check(&g, m.nbufs, m.ring_objsz, d, d->win_size - 4096));
	}
	/* the windows only share the pool: end 0's rings are not in end 1's window */
	assert_int_equal(m.end[0].win_ofs + m.end[0].win_size, m.buf_pool_ofs + m.buf_pool_size);
	assert_int_equal(m.end[1].win_ofs, m.buf_pool_ofs);
	assert_true(m.end[0].win_ofs + m.end[0].ring_pool_ofs < m.end[1].win_ofs);

	struct nmport_end_desc d = m.end[1];
	d.ring_pool_ofs = d.win_size - 64; /* rings past the end of the window */
	assert_false(nmport_window_check(&g, m.nbufs, m.ring_objsz, &d, d.win_size));
	d = m.end[1];
	d.csb_ofs += 8; /* misaligned CSB */
	assert_false(nmport_window_check(&g, m.nbufs, m.ring_objsz, &d, d.win_size));
	assert_false(nmport_window_check(&g, 10, m.ring_objsz, &m.end[1], m.end[1].win_size));
}

static void mem_check_refuses_tampering(void **state)
{
	struct nmport_mem m, out, t;
	struct nmport_geom g = { 2, 64, 2048, 0 };

	assert_true(nmport_layout(&g, &m));
	memset(m.name, 0, sizeof(m.name));
	assert_true(nmport_mem_check(&m, m.size, &out));
	assert_false(nmport_mem_check(&m, m.size + 4096, &out)); /* mapping size differs */
	/* every derived field is recomputed: changing any of them is refused */
	size_t fields[] = {
		offsetof(struct nmport_mem, magic), offsetof(struct nmport_mem, version),
		offsetof(struct nmport_mem, size), offsetof(struct nmport_mem, geom.num_slots),
		offsetof(struct nmport_mem, nbufs), offsetof(struct nmport_mem, ring_objsz),
		offsetof(struct nmport_mem, buf_pool_ofs), offsetof(struct nmport_mem, buf_pool_size),
		offsetof(struct nmport_mem, end[0].win_ofs), offsetof(struct nmport_mem, end[1].win_size),
		offsetof(struct nmport_mem, end[1].csb_ofs), offsetof(struct nmport_mem, end[0].buf_pool_ofs),
		offsetof(struct nmport_mem, end[1].ring_pool_ofs), offsetof(struct nmport_mem, end[0].nifp_ofs),
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		t = m;
		((uint8_t *)&t)[fields[i]] ^= 0x40;
		assert_false(nmport_mem_check(&t, m.size, &out));
	}
	/* an unterminated name comes back terminated */
	t = m;
	memset(t.name, 'x', sizeof(t.name));
	assert_true(nmport_mem_check(&t, m.size, &out));
	assert_int_equal(strlen(out.name), NMPORT_NAME_MAX - 1);
}

/* ---- the pipe ---------------------------------------------------------------------- */

/* Send `n` packets whose first byte is tag + k; returns how many fitted. */
static uint32_t send_some(struct nm_uring *u, uint32_t n, uint8_t tag)
{
	uint32_t space = nm_uring_space(u);

	if (n > space)
		n = space;
	for (uint32_t k = 0; k < n; k++) {
		struct netmap_slot *s = nm_uring_slot(u, k);
		uint8_t *b = nm_uring_buf(u, s->buf_idx);
		assert_non_null(b);
		b[0] = (uint8_t)(tag + k);
		s->len = 60;
	}
	nm_uring_advance(u, n);
	return n;
}

/* The engine of end 0's TX ring: what nmport_txsync() does around nm_pipe_move(). */
static struct nm_pipe_result engine(struct fx *f, uint32_t budget)
{
	nm_kring_read_user(&f->ktx);
	nm_kring_read_user(&f->krx);
	struct nm_pipe_result res = nm_pipe_move(&f->ktx, &f->krx, budget);
	nm_kring_publish(&f->ktx);
	nm_kring_publish(&f->krx);
	return res;
}

/* Every buffer of the pool is held by exactly one slot of the region. */
static void assert_permutation(struct fx *f)
{
	static uint8_t seen[2 * 2 * NSLOTS];

	memset(seen, 0, sizeof(seen));
	for (unsigned e = 0; e < 2; e++)
		for (uint32_t r = 0; r < 2; r++)
			for (uint32_t s = 0; s < NSLOTS; s++) {
				uint32_t idx = nmport_ring(e ? &f->v1 : &f->v0, r)->slot[s].buf_idx;
				assert_true(idx < sizeof(seen));
				assert_int_equal(seen[idx]++, 0);
			}
}

static void pipe_swaps_buffers(void **state)
{
	struct fx *f = *state;
	uint32_t before[NSLOTS], rx_before[NSLOTS];

	for (uint32_t s = 0; s < NSLOTS; s++) {
		before[s] = f->tx.slot[s].buf_idx;
		rx_before[s] = f->rx.slot[s].buf_idx;
	}
	assert_int_equal(send_some(&f->tx, 5, 100), 5);
	nm_uring_publish(&f->tx);
	struct nm_pipe_result res = engine(f, UINT32_MAX);
	assert_int_equal(res.consumed, 5);
	assert_int_equal(res.delivered, 5);
	assert_int_equal(res.dropped, 0);

	assert_int_equal(nm_uring_update(&f->rx), 5);
	for (uint32_t k = 0; k < 5; k++) {
		struct netmap_slot *s = nm_uring_slot(&f->rx, k);
		uint32_t len;
		uint8_t *b = nm_uring_slot_buf(&f->rx, s, &len);
		/* the very buffer the sender filled, not a copy */
		assert_int_equal(s->buf_idx, before[k]);
		assert_int_equal(len, 60);
		assert_int_equal(b[0], 100 + k);
		assert_true(s->flags & NS_BUF_CHANGED);
		/* and the sender got the receiver's empty buffer back */
		assert_int_equal(f->tx.slot[k].buf_idx, rx_before[k]);
		assert_true(f->tx.slot[k].flags & NS_BUF_CHANGED);
	}
	/* the five TX slots are complete: the sender's space is back to n - 1 */
	assert_int_equal(nm_uring_update(&f->tx), 5);
	assert_int_equal(nm_uring_space(&f->tx), NSLOTS - 1);
	assert_permutation(f);
}

static void pipe_full_and_wrap(void **state)
{
	struct fx *f = *state;
	uint8_t expect = 0, tag = 0;
	uint32_t got = 0;

	/* fill the receiver completely: n - 1 packets, then it is full */
	assert_int_equal(send_some(&f->tx, NSLOTS, tag), NSLOTS - 1);
	tag = (uint8_t)(tag + NSLOTS - 1);
	nm_uring_publish(&f->tx);
	assert_int_equal(engine(f, UINT32_MAX).delivered, NSLOTS - 1);
	assert_int_equal(nm_kring_rx_space(&f->krx), 0);
	assert_int_equal(nm_uring_update(&f->tx), NSLOTS - 1); /* completions came back */
	assert_int_equal(send_some(&f->tx, 3, tag), 3);
	tag = (uint8_t)(tag + 3);
	nm_uring_publish(&f->tx);
	struct nm_pipe_result res = engine(f, UINT32_MAX);
	assert_int_equal(res.consumed, 0); /* nowhere to go: pending */
	assert_int_equal(nm_kring_tx_pending(&f->ktx), 3);

	/* many rounds of uneven batches around the ring: order and buffers survive */
	for (int round = 0; round < 200; round++) {
		nm_uring_update(&f->rx);
		uint32_t n = nm_uring_space(&f->rx), take = (uint32_t)(round % 5) + 1;
		if (take > n)
			take = n;
		for (uint32_t k = 0; k < take; k++) {
			uint32_t len;
			uint8_t *b = nm_uring_slot_buf(&f->rx, nm_uring_slot(&f->rx, k), &len);
			assert_non_null(b);
			assert_int_equal(b[0], expect++);
		}
		got += take;
		nm_uring_advance(&f->rx, take);
		nm_uring_publish(&f->rx);
		nm_uring_update(&f->tx);
		uint32_t sent = send_some(&f->tx, (uint32_t)(round % 7) + 1, tag);
		tag = (uint8_t)(tag + sent);
		nm_uring_publish(&f->tx);
		engine(f, (uint32_t)(round % 3) + 2); /* a small budget: partial moves */
		assert_permutation(f);
	}
	assert_true(got > 300);
}

/* ---- CSB kick decisions ---------------------------------------------------------- */

static void kick_decisions(void **state)
{
	struct fx *f = *state;

	/* the kernel side is busy: publishing asks for no kick */
	send_some(&f->tx, 1, 0);
	assert_false(nm_uring_publish(&f->tx));
	engine(f, UINT32_MAX);

	/* nothing pending: the kernel side prepares to sleep, a head move kicks it */
	assert_true(nm_kring_prepare_sleep(&f->ktx));
	assert_int_equal(f->ktx.ktoa->kern_need_kick, 1);
	assert_false(nm_uring_publish(&f->tx)); /* head did not move: no kick */
	send_some(&f->tx, 2, 0);
	assert_true(nm_uring_publish(&f->tx));
	nm_kring_awake(&f->ktx);
	assert_int_equal(f->ktx.ktoa->kern_need_kick, 0);

	/* the sleeper's re-check: a head published before it looks again wins */
	send_some(&f->tx, 1, 0);
	nm_uring_publish(&f->tx);
	engine(f, 0); /* reads head, moves nothing */
	send_some(&f->tx, 1, 0);
	nm_uring_publish(&f->tx);
	assert_false(nm_kring_prepare_sleep(&f->ktx));
	assert_int_equal(f->ktx.ktoa->kern_need_kick, 0);

	/* the RX user: packets waiting, so no sleep and no request */
	engine(f, UINT32_MAX);
	assert_false(nm_uring_prepare_sleep(&f->rx));
	assert_int_equal(f->rx.atok->appl_need_kick, 0);
	nm_uring_advance(&f->rx, nm_uring_space(&f->rx));
	nm_uring_publish(&f->rx);
	/* empty now: it asks for a notification, the producer then sees it */
	assert_true(nm_uring_prepare_sleep(&f->rx));
	assert_int_equal(f->rx.atok->appl_need_kick, 1);
	assert_false(nm_kring_user_wants_kick(&f->ktx)); /* the TX user does not sleep */
	assert_true(nm_kring_user_wants_kick(&f->krx));
	/* a packet that lands between the request and the re-check cancels the sleep */
	send_some(&f->tx, 1, 0);
	nm_uring_publish(&f->tx);
	engine(f, UINT32_MAX);
	assert_false(nm_uring_prepare_sleep(&f->rx));
	assert_int_equal(f->rx.atok->appl_need_kick, 0);
	/* unpublished progress: publish before sleeping */
	nm_uring_advance(&f->rx, 1);
	assert_false(nm_uring_prepare_sleep(&f->rx));
	/* a publishing user is awake: its request is withdrawn */
	f->rx.atok->appl_need_kick = 1;
	nm_uring_publish(&f->rx);
	assert_int_equal(f->rx.atok->appl_need_kick, 0);
	/* the RX kernel side waits for room: a release kicks it */
	nm_kring_read_user(&f->krx);
	assert_true(nm_kring_prepare_sleep(&f->krx));
	assert_int_equal(send_some(&f->tx, 1, 0), 1);
	nm_uring_publish(&f->tx);
	engine(f, UINT32_MAX);
	nm_uring_update(&f->rx);
	nm_uring_advance(&f->rx, 1);
	assert_true(nm_uring_publish(&f->rx));
}

/* ---- a hostile peer ---------------------------------------------------------------- */

static void hostile_heads(void **state)
{
	struct fx *f = *state;

	f->tx.atok->head = NSLOTS + 5; /* beyond the ring */
	assert_int_equal(nm_kring_read_user(&f->ktx), -1);
	assert_int_equal(f->ktx.rhead, 0);
	assert_int_equal(f->ktx.bad_head, 1);
	f->tx.atok->head = 0xffffffffu;
	assert_int_equal(nm_kring_read_user(&f->ktx), -1);

	send_some(&f->tx, 2, 0);
	nm_uring_publish(&f->tx);
	assert_int_equal(nm_kring_read_user(&f->ktx), 2);
	f->tx.atok->head = 1; /* backwards */
	assert_int_equal(nm_kring_read_user(&f->ktx), -1);
	assert_int_equal(f->ktx.rhead, 2);
	/* forward up to hwtail (the last slot the user owns) is fine, beyond is not */
	f->tx.atok->head = f->tx.atok->cur = NSLOTS - 1;
	assert_int_equal(nm_kring_read_user(&f->ktx), NSLOTS - 3);
	f->tx.atok->head = 0;
	assert_int_equal(nm_kring_read_user(&f->ktx), -1);
	assert_int_equal(f->ktx.bad_head, 4);

	/* cur outside [head, hwtail] is clamped to head */
	struct nm_kring *k = &f->krx;
	f->rx.atok->head = k->rhead;
	f->rx.atok->cur = NSLOTS * 3;
	assert_int_equal(nm_kring_read_user(k), 0);
	assert_int_equal(k->rcur, k->rhead);
	assert_int_equal(k->bad_cur, 1);
}

static void hostile_slots(void **state)
{
	struct fx *f = *state;
	uint32_t nbufs = f->tx.nbufs, len;

	/* TX slots with an index outside the pool or an oversized length are dropped */
	send_some(&f->tx, 4, 10);
	uint32_t orig = f->tx.slot[1].buf_idx;
	f->tx.slot[1].buf_idx = nbufs;      /* just past the pool */
	f->tx.slot[2].len = 64 + 1;         /* longer than the buffer */
	nm_uring_publish(&f->tx);
	struct nm_pipe_result res = engine(f, UINT32_MAX);
	assert_int_equal(res.consumed, 4);
	assert_int_equal(res.dropped, 2);
	assert_int_equal(res.delivered, 2);
	assert_int_equal(f->ktx.bad_slot, 2);
	assert_int_equal(f->tx.slot[1].buf_idx, nbufs); /* never swapped anywhere */
	f->tx.slot[1].buf_idx = orig;
	nm_uring_update(&f->rx);
	assert_int_equal(nm_uring_space(&f->rx), 2);
	assert_int_equal(((uint8_t *)nm_uring_slot_buf(&f->rx, nm_uring_slot(&f->rx, 0), &len))[0], 10);
	assert_int_equal(((uint8_t *)nm_uring_slot_buf(&f->rx, nm_uring_slot(&f->rx, 1), &len))[0], 13);

	/* a receiver that releases a slot with a bad index gets it back empty, and
	 * the sender never receives the bad index */
	struct netmap_slot *bad = nm_uring_slot(&f->rx, 0);
	bad->buf_idx = 0x7fffffff;
	nm_uring_advance(&f->rx, 2);
	nm_uring_publish(&f->rx);
	nm_uring_update(&f->tx);
	for (int i = 0; i < 3; i++) { /* around the ring, past the bad slot */
		send_some(&f->tx, NSLOTS, 20);
		nm_uring_publish(&f->tx);
		engine(f, UINT32_MAX);
		nm_uring_update(&f->rx);
		nm_uring_advance(&f->rx, nm_uring_space(&f->rx));
		nm_uring_publish(&f->rx);
		nm_uring_update(&f->tx);
	}
	assert_true(f->krx.bad_slot >= 1);
	assert_int_equal(bad->buf_idx, 0x7fffffff);
	assert_int_equal(bad->len, 0);
	for (uint32_t s = 0; s < NSLOTS; s++)
		assert_true(f->tx.slot[s].buf_idx < nbufs);

	/* the user side refuses bad slots too */
	struct netmap_slot s = { .buf_idx = nbufs, .len = 10 };
	assert_null(nm_uring_slot_buf(&f->rx, &s, &len));
	s.buf_idx = 0;
	s.len = 65;
	assert_null(nm_uring_slot_buf(&f->rx, &s, &len));
	assert_null(nm_uring_buf(&f->rx, nbufs));
}

static void hostile_tails(void **state)
{
	struct fx *f = *state;
	uint32_t tail = f->rx.tail;

	f->rx.ktoa->hwtail = NSLOTS; /* beyond the ring */
	assert_int_equal(nm_uring_update(&f->rx), 0);
	assert_int_equal(f->rx.tail, tail);
	/* a tail moving backwards would hand the user slots it already holds */
	send_some(&f->tx, 3, 0);
	nm_uring_publish(&f->tx);
	engine(f, UINT32_MAX);
	assert_int_equal(nm_uring_update(&f->rx), 3);
	f->rx.ktoa->hwtail = 1;
	assert_int_equal(nm_uring_update(&f->rx), 0);
	assert_int_equal(f->rx.tail, 3);
	assert_int_equal(f->rx.bad_tail, 2);
	f->rx.ktoa->hwtail = 3;

	/* netmap-style head/cur written into the ring header are checked */
	struct netmap_ring *r = f->tx.ring;
	r->head = NSLOTS;
	assert_false(nm_uring_load(&f->tx));
	r->head = f->tx.head;
	r->cur = nm_idx_add(f->tx.tail, 1, NSLOTS); /* past tail */
	assert_false(nm_uring_load(&f->tx));
	r->cur = nm_idx_add(f->tx.head, 2, NSLOTS);
	assert_true(nm_uring_load(&f->tx));
	assert_int_equal(f->tx.cur, r->cur);

	/* garbage CSB values: attach and resume fall back to the reset state */
	f->rx.atok->head = 1000;
	struct nm_uring u;
	nm_uring_attach(&u, &f->v1, 1);
	assert_int_equal(u.head, 0);
	assert_int_equal(u.tail, 0);
	f->tx.ktoa->hwcur = 99;
	struct nm_kring k;
	nm_kring_attach(&k, &f->v0, 0);
	assert_false(nm_kring_resume(&k));
	assert_int_equal(k.nr_hwtail, NSLOTS - 1);
}

static void link_down_drops(void **state)
{
	struct fx *f = *state;

	send_some(&f->tx, 3, 0);
	nm_uring_publish(&f->tx);
	nm_kring_read_user(&f->ktx);
	assert_int_equal(nm_kring_tx_drop(&f->ktx), 3);
	nm_kring_publish(&f->ktx);
	assert_int_equal(nm_uring_update(&f->tx), 3);
	assert_int_equal(nm_uring_space(&f->tx), NSLOTS - 1);
	nm_uring_update(&f->rx);
	assert_int_equal(nm_uring_space(&f->rx), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arithmetic),
		cmocka_unit_test(layout_limits),
		cmocka_unit_test(layout_windows),
		cmocka_unit_test(mem_check_refuses_tampering),
		T(netmap_style_space),
		T(pipe_swaps_buffers),
		T(pipe_full_and_wrap),
		T(kick_decisions),
		T(hostile_heads),
		T(hostile_slots),
		T(hostile_tails),
		T(link_down_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
