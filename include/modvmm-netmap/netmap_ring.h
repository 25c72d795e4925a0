/* SPDX-License-Identifier: MIT */
/*
 * The ring protocol of modvmm netmap-style ports, as static inline functions:
 * the one copy used by the pipe backend, the host library (modvmm-pktgen),
 * the freestanding test guests and the Linux guest library (lib/nmguest).
 *
 * Roles, per ring (netmap's "appl" and "kern"):
 *  - the USER owns slots [head, tail): it fills TX slots or consumes RX
 *    slots, then moves head (and cur) forward and publishes them in the
 *    ring's CSB (struct nm_csb_atok);
 *  - the KERNEL SIDE owns the rest: for a pipe, whoever runs the end's TX
 *    "engine" (nm_pipe_sync, nm_pipe_move) consumes [hwcur, head) of a TX
 *    ring and fills [hwtail, hwcur - 1) of the peer's RX ring, and publishes
 *    hwcur/hwtail (struct nm_csb_ktoa).
 * One slot always stays with the kernel side: head == tail means "nothing for
 * the user" (TX ring full, RX ring empty).
 *
 * Notifications (netmap's sync-kloop): each side polls while busy and asks for
 * a kick only before it sleeps.  The sleeper sets its need_kick flag, issues a
 * full barrier, checks again and sleeps only if nothing changed; the producer
 * publishes its index, issues a full barrier and kicks only if the flag is set.
 * A kick is an eventfd write or a doorbell register write; the helpers below
 * only decide, callers deliver.
 *
 * Trust: both sides keep their state privately (struct nm_uring, nm_kring) and
 * treat everything read from shared memory as hostile: indices outside the
 * allowed window are refused, cur is clamped, slots whose buffer index is
 * outside the pool or whose length exceeds the buffer are dropped, and every
 * shared field is read once.  A hostile peer can corrupt its own traffic,
 * never make the other side access memory outside the region.
 *
 * Compiles in userspace, freestanding (stdint/stddef/stdbool and __atomic
 * builtins only) and in the Linux kernel (__KERNEL__: READ_ONCE, smp_mb).
 */
#ifndef MODVMM_NETMAP_RING_H
#define MODVMM_NETMAP_RING_H

#include "netmap_port.h"

#ifdef __KERNEL__
#include <linux/compiler.h>
#include <asm/barrier.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- single-copy accesses and barriers (netmap.h nm_*_barrier) ------------ */

#ifdef __KERNEL__
#define NM_READ_ONCE(x)     READ_ONCE(x)
#define NM_WRITE_ONCE(x, v) WRITE_ONCE(x, v)
#define nm_stst_barrier()   smp_wmb()
#define nm_ldld_barrier()   smp_rmb()
#define nm_stld_barrier()   smp_mb()
#else
#define NM_READ_ONCE(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define NM_WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* store-store (and load-store): earlier writes are visible before later ones */
static inline void nm_stst_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* load-load (and load-store): later reads see at least what earlier ones saw */
static inline void nm_ldld_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}

/* full barrier: a store is visible before a later load (the need_kick races) */
static inline void nm_stld_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
#endif

/* ---- ring arithmetic (indices < n, 0 < n <= NMPORT_MAX_SLOTS) -------------- */

static inline uint32_t nm_idx_next(uint32_t i, uint32_t n)
{
	return i + 1 == n ? 0 : i + 1;
}

static inline uint32_t nm_idx_prev(uint32_t i, uint32_t n)
{
	return i == 0 ? n - 1 : i - 1;
}

/* i + k with wrap; k <= n */
static inline uint32_t nm_idx_add(uint32_t i, uint32_t k, uint32_t n)
{
	uint32_t r = i + k;

	return r >= n ? r - n : r;
}

/* Slots from `from` up to (not including) `to`, going forward. */
static inline uint32_t nm_idx_dist(uint32_t from, uint32_t to, uint32_t n)
{
	return to >= from ? to - from : to + n - from;
}

/* True if x lies in the circular interval [lo, hi]. */
static inline bool nm_idx_between(uint32_t x, uint32_t lo, uint32_t hi, uint32_t n)
{
	return nm_idx_dist(lo, x, n) <= nm_idx_dist(lo, hi, n);
}

/* ---- netmap_user.h-style helpers, for code that trusts the ring ------------ */

static inline uint32_t nm_ring_next(const struct netmap_ring *r, uint32_t i)
{
	return nm_idx_next(i, r->num_slots);
}

/* Slots the user may use: [head, tail). */
static inline uint32_t nm_ring_space(const struct netmap_ring *r)
{
	return nm_idx_dist(r->head, r->tail, r->num_slots);
}

static inline bool nm_ring_empty(const struct netmap_ring *r)
{
	return r->head == r->tail;
}

/* TX: packets handed over but not yet completed (all done: head == tail + 1). */
static inline bool nm_tx_pending(const struct netmap_ring *r)
{
	return nm_ring_next(r, r->tail) != r->head;
}

#define NETMAP_TXRING(nifp, i) \
	((struct netmap_ring *)((char *)(nifp) + (nifp)->ring_ofs[(i)]))
#define NETMAP_RXRING(nifp, i) \
	((struct netmap_ring *)((char *)(nifp) + \
		(nifp)->ring_ofs[(i) + (nifp)->ni_tx_rings + (nifp)->ni_host_tx_rings]))
#define NETMAP_BUF(ring, index) \
	((char *)(ring) + (ring)->buf_ofs + ((size_t)(index) * (ring)->nr_buf_size))

/* ---- the CSB (netmap.h nm_sync_kloop_*) ----------------------------------- */

/* User: publish cur, then head (the kernel side never sees a head newer than cur). */
static inline void nm_sync_kloop_appl_write(struct nm_csb_atok *atok, uint32_t cur, uint32_t head)
{
	nm_stst_barrier();
	NM_WRITE_ONCE(atok->cur, cur);
	nm_stst_barrier();
	NM_WRITE_ONCE(atok->head, head);
}

/* User: read hwtail, then hwcur; later reads of slots see what came before. */
static inline void nm_sync_kloop_appl_read(const struct nm_csb_ktoa *ktoa, uint32_t *hwtail,
					   uint32_t *hwcur)
{
	*hwtail = NM_READ_ONCE(ktoa->hwtail);
	nm_ldld_barrier();
	*hwcur = NM_READ_ONCE(ktoa->hwcur);
	nm_ldld_barrier();
}

/* Kernel side: publish hwcur, then hwtail. */
static inline void nm_sync_kloop_kernel_write(struct nm_csb_ktoa *ktoa, uint32_t hwcur,
					      uint32_t hwtail)
{
	nm_stst_barrier();
	NM_WRITE_ONCE(ktoa->hwcur, hwcur);
	nm_stst_barrier();
	NM_WRITE_ONCE(ktoa->hwtail, hwtail);
}

/* Kernel side: read head, then cur. */
static inline void nm_sync_kloop_kernel_read(const struct nm_csb_atok *atok, uint32_t *head,
					     uint32_t *cur)
{
	*head = NM_READ_ONCE(atok->head);
	nm_ldld_barrier();
	*cur = NM_READ_ONCE(atok->cur);
	nm_ldld_barrier();
}

/* Initial state of a ring and its CSB (by the end's owner, with no user and no
 * kernel side running): TX all free, RX empty, no kicks requested.
 * Slots keep their buffers. */
static inline void nm_ring_reset(struct netmap_ring *r, struct nm_csb_atok *atok,
				 struct nm_csb_ktoa *ktoa, uint32_t dir, uint32_t n)
{
	uint32_t tail = dir == NMPORT_DIR_TX ? n - 1 : 0;

	NM_WRITE_ONCE(r->head, 0);
	NM_WRITE_ONCE(r->cur, 0);
	NM_WRITE_ONCE(r->tail, tail);
	NM_WRITE_ONCE(atok->head, 0);
	NM_WRITE_ONCE(atok->cur, 0);
	NM_WRITE_ONCE(atok->appl_need_kick, 0);
	NM_WRITE_ONCE(atok->sync_flags, 0);
	NM_WRITE_ONCE(ktoa->hwcur, 0);
	NM_WRITE_ONCE(ktoa->hwtail, tail);
	NM_WRITE_ONCE(ktoa->kern_need_kick, 0);
	nm_stst_barrier();
}

/* ---- the user side of a ring ---------------------------------------------- */

struct nm_uring {
	struct netmap_ring *ring;  /* shared; head/cur/tail are mirrored there */
	struct netmap_slot *slot;  /* shared */
	uint8_t *buf0;             /* buffer 0 of the pool */
	struct nm_csb_atok *atok;  /* shared, written by this user */
	struct nm_csb_ktoa *ktoa;  /* shared, written by the kernel side: not trusted */
	uint32_t num_slots, buf_size, nbufs, dir; /* private copies of the geometry */
	uint32_t head, cur, tail;  /* private and authoritative for this user */
	uint32_t pub_head;         /* head as last published */
	uint32_t pub_cur;          /* cur as last published */
	uint32_t bad_tail;         /* kernel-side tails refused */
	uint32_t bad_slot;         /* slots refused: buffer index or length */
};

/*
 * Attach to ring r (TX 0..nr-1, RX nr..2nr-1) of a trusted view, resuming
 * from the CSB: head/cur from atok (what this user published last), tail from
 * ktoa.  Out-of-range values fall back to the reset state.
 */
static inline void nm_uring_attach(struct nm_uring *u, const struct nmport_view *v, uint32_t r)
{
	uint32_t n = v->geom.num_slots, head, tail;

	u->dir = r < v->geom.nr_rings ? NMPORT_DIR_TX : NMPORT_DIR_RX;
	u->ring = nmport_ring(v, r);
	u->slot = u->ring->slot;
	u->buf0 = nmport_buf0(v);
	u->atok = nmport_atok(v, r);
	u->ktoa = nmport_ktoa(v, r);
	u->num_slots = n;
	u->buf_size = v->geom.buf_size;
	u->nbufs = v->nbufs;
	u->bad_tail = u->bad_slot = 0;
	head = NM_READ_ONCE(u->atok->head);
	tail = NM_READ_ONCE(u->ktoa->hwtail);
	if (head >= n || tail >= n) {
		head = 0;
		tail = u->dir == NMPORT_DIR_TX ? n - 1 : 0;
		u->bad_tail++;
	}
	u->head = u->cur = u->pub_head = u->pub_cur = head;
	u->tail = tail;
}

/* Slots available to the user at cur. */
static inline uint32_t nm_uring_space(const struct nm_uring *u)
{
	return nm_idx_dist(u->cur, u->tail, u->num_slots);
}

/* The k-th slot from cur (k < nm_uring_space()). */
static inline struct netmap_slot *nm_uring_slot(const struct nm_uring *u, uint32_t k)
{
	return &u->slot[nm_idx_add(u->cur, k, u->num_slots)];
}

/* Buffer `idx` of the pool, or NULL outside the pool. */
static inline void *nm_uring_buf(const struct nm_uring *u, uint32_t idx)
{
	return idx < u->nbufs ? u->buf0 + (size_t)idx * u->buf_size : NULL;
}

/* Read a slot once: its buffer (and in *len its length), or NULL when the
 * index is outside the pool or the length exceeds the buffer (counted). */
static inline void *nm_uring_slot_buf(struct nm_uring *u, const struct netmap_slot *s,
				      uint32_t *len)
{
	uint32_t idx = NM_READ_ONCE(s->buf_idx);
	uint32_t l = NM_READ_ONCE(s->len);

	if (idx >= u->nbufs || l > u->buf_size) {
		u->bad_slot++;
		return NULL;
	}
	*len = l;
	return u->buf0 + (size_t)idx * u->buf_size;
}

/* Hand k slots from cur over (TX: filled; RX: consumed): head = cur = cur + k. */
static inline void nm_uring_advance(struct nm_uring *u, uint32_t k)
{
	u->cur = nm_idx_add(u->cur, k, u->num_slots);
	u->head = u->cur;
}

/* Adopt head/cur that netmap-style code wrote into the shared ring header.
 * Refused (false) unless tail >= cur >= head >= the previous head. */
static inline bool nm_uring_load(struct nm_uring *u)
{
	uint32_t n = u->num_slots;
	uint32_t head = NM_READ_ONCE(u->ring->head), cur = NM_READ_ONCE(u->ring->cur);

	if (head >= n || cur >= n || !nm_idx_between(head, u->head, u->tail, n) ||
	    !nm_idx_between(cur, head, u->tail, n))
		return false;
	u->head = head;
	u->cur = cur;
	return true;
}

/*
 * Publish head/cur to the kernel side and stop asking for notifications (a
 * publishing user is awake).  Returns true when the kernel side sleeps and
 * head moved: the caller must kick it.
 */
static inline bool nm_uring_publish(struct nm_uring *u)
{
	bool moved = u->head != u->pub_head;

	if (NM_READ_ONCE(u->atok->appl_need_kick))
		NM_WRITE_ONCE(u->atok->appl_need_kick, 0);
	if (!moved && u->cur == u->pub_cur)
		return false;
	nm_sync_kloop_appl_write(u->atok, u->cur, u->head);
	NM_WRITE_ONCE(u->ring->head, u->head);
	NM_WRITE_ONCE(u->ring->cur, u->cur);
	u->pub_head = u->head;
	u->pub_cur = u->cur;
	if (!moved)
		return false;
	nm_stld_barrier();
	return NM_READ_ONCE(u->ktoa->kern_need_kick) != 0;
}

/*
 * Take the kernel side's progress: tail moves forward, never past the slot
 * before the published head.  A hwtail outside that window is refused
 * (counted in bad_tail).  Returns the number of new slots.
 */
static inline uint32_t nm_uring_update(struct nm_uring *u)
{
	uint32_t n = u->num_slots, hwtail, hwcur, gained;

	nm_sync_kloop_appl_read(u->ktoa, &hwtail, &hwcur);
	(void)hwcur;
	if (hwtail == u->tail)
		return 0;
	if (hwtail >= n || !nm_idx_between(hwtail, u->tail, nm_idx_prev(u->pub_head, n), n)) {
		u->bad_tail++;
		return 0;
	}
	gained = nm_idx_dist(u->tail, hwtail, n);
	u->tail = hwtail;
	NM_WRITE_ONCE(u->ring->tail, hwtail);
	return gained;
}

/* A whole netmap-style sync: publish, then update.  Returns the kick decision. */
static inline bool nm_uring_sync(struct nm_uring *u)
{
	bool kick = nm_uring_publish(u);

	nm_uring_update(u);
	return kick;
}

/*
 * Before sleeping until the kernel side makes progress at cur (TX: a free
 * slot; RX: a packet): ask for a notification and check again.  Returns true
 * if the caller may sleep; false if there is work (notifications off again)
 * or head/cur are not published yet (publish first).
 */
static inline bool nm_uring_prepare_sleep(struct nm_uring *u)
{
	if (u->head == u->pub_head && u->cur == u->pub_cur) {
		nm_uring_update(u);
		if (u->cur == u->tail) {
			NM_WRITE_ONCE(u->atok->appl_need_kick, 1);
			nm_stld_barrier();
			nm_uring_update(u);
			if (u->cur == u->tail)
				return true;
		}
	}
	if (NM_READ_ONCE(u->atok->appl_need_kick))
		NM_WRITE_ONCE(u->atok->appl_need_kick, 0);
	return false;
}

/* ---- the kernel side of a ring --------------------------------------------- */

struct nm_kring {
	struct netmap_slot *slot;  /* shared */
	struct nm_csb_atok *atok;  /* shared, written by the ring's user: not trusted */
	struct nm_csb_ktoa *ktoa;  /* shared, written here (a copy of the state below) */
	uint32_t nkr_num_slots, nbufs, buf_size, dir;
	uint32_t nr_hwcur;         /* TX: next slot to consume; RX: first slot the user holds */
	uint32_t nr_hwtail;        /* TX: last slot returned; RX: next slot to fill */
	uint32_t rhead, rcur;      /* the user's head/cur as last accepted */
	uint32_t bad_head;         /* user heads refused */
	uint32_t bad_cur;          /* user curs clamped */
	uint32_t bad_slot;         /* slots dropped: buffer index or length */
};

/* Attach to ring r of a trusted view in the reset state (TX: all free, RX:
 * empty).  Use nm_kring_resume() to take over from a previous kernel side. */
static inline void nm_kring_attach(struct nm_kring *k, const struct nmport_view *v, uint32_t r)
{
	uint32_t n = v->geom.num_slots;

	k->dir = r < v->geom.nr_rings ? NMPORT_DIR_TX : NMPORT_DIR_RX;
	k->slot = nmport_ring(v, r)->slot;
	k->atok = nmport_atok(v, r);
	k->ktoa = nmport_ktoa(v, r);
	k->nkr_num_slots = n;
	k->nbufs = v->nbufs;
	k->buf_size = v->geom.buf_size;
	k->nr_hwcur = k->rhead = k->rcur = 0;
	k->nr_hwtail = k->dir == NMPORT_DIR_TX ? n - 1 : 0;
	k->bad_head = k->bad_cur = k->bad_slot = 0;
}

/* Take over from a previous kernel side (which died or went away) at the
 * hwcur/hwtail it published.  Returns false (state unchanged) if they are out
 * of range. */
static inline bool nm_kring_resume(struct nm_kring *k)
{
	uint32_t n = k->nkr_num_slots;
	uint32_t hwcur = NM_READ_ONCE(k->ktoa->hwcur), hwtail = NM_READ_ONCE(k->ktoa->hwtail);

	if (hwcur >= n || hwtail >= n) {
		k->bad_head++;
		return false;
	}
	if (k->dir == NMPORT_DIR_TX)
		hwtail = nm_idx_prev(hwcur, n); /* everything consumed is complete */
	k->nr_hwcur = k->rhead = k->rcur = hwcur;
	k->nr_hwtail = hwtail;
	return true;
}

/*
 * Read the user's head/cur (netmap's txsync/rxsync prologue).  head may only
 * move forward, up to hwtail: anything else is refused and the state stays
 * (counted in bad_head).  cur outside [head, hwtail] is clamped to head.
 * RX: slots the user released become free (hwcur = head).
 * Returns the number of slots head advanced, or -1 if refused.
 */
static inline int nm_kring_read_user(struct nm_kring *k)
{
	uint32_t n = k->nkr_num_slots, head, cur, moved;

	nm_sync_kloop_kernel_read(k->atok, &head, &cur);
	if (head >= n || !nm_idx_between(head, k->rhead, k->nr_hwtail, n)) {
		k->bad_head++;
		return -1;
	}
	if (cur >= n || !nm_idx_between(cur, head, k->nr_hwtail, n)) {
		k->bad_cur++;
		cur = head;
	}
	moved = nm_idx_dist(k->rhead, head, n);
	k->rhead = head;
	k->rcur = cur;
	if (k->dir == NMPORT_DIR_RX)
		k->nr_hwcur = head;
	return (int)moved;
}

/* Publish hwcur/hwtail to the user. */
static inline void nm_kring_publish(struct nm_kring *k)
{
	nm_sync_kloop_kernel_write(k->ktoa, k->nr_hwcur, k->nr_hwtail);
}

/* After publishing progress: does the user sleep and want a notification? */
static inline bool nm_kring_user_wants_kick(const struct nm_kring *k)
{
	nm_stld_barrier();
	return NM_READ_ONCE(k->atok->appl_need_kick) != 0;
}

/* Before sleeping until the user moves head: ask for a kick and check again.
 * Returns true if the caller may sleep; false if head moved meanwhile (kicks
 * off again; the new head is already read). */
static inline bool nm_kring_prepare_sleep(struct nm_kring *k)
{
	NM_WRITE_ONCE(k->ktoa->kern_need_kick, 1);
	nm_stld_barrier();
	if (nm_kring_read_user(k) > 0) {
		NM_WRITE_ONCE(k->ktoa->kern_need_kick, 0);
		return false;
	}
	return true;
}

/* The kernel side is busy again: no kicks needed. */
static inline void nm_kring_awake(struct nm_kring *k)
{
	if (NM_READ_ONCE(k->ktoa->kern_need_kick))
		NM_WRITE_ONCE(k->ktoa->kern_need_kick, 0);
}

/* TX: packets handed over by the user and not consumed yet. */
static inline uint32_t nm_kring_tx_pending(const struct nm_kring *k)
{
	return nm_idx_dist(k->nr_hwcur, k->rhead, k->nkr_num_slots);
}

/* RX: free slots the kernel side may fill. */
static inline uint32_t nm_kring_rx_space(const struct nm_kring *k)
{
	uint32_t n = k->nkr_num_slots;

	return nm_idx_dist(k->nr_hwtail, nm_idx_prev(k->nr_hwcur, n), n);
}

/* TX with nowhere to go (link down): complete every pending packet unsent.
 * Returns how many were dropped; publish afterwards. */
static inline uint32_t nm_kring_tx_drop(struct nm_kring *k)
{
	uint32_t pending = nm_kring_tx_pending(k);

	k->nr_hwcur = k->rhead;
	k->nr_hwtail = nm_idx_prev(k->nr_hwcur, k->nkr_num_slots);
	return pending;
}

/* ---- the pipe: one end's TX ring feeds the other end's RX ring -------------- */

struct nm_pipe_result {
	uint32_t consumed;  /* TX slots completed (delivered + dropped) */
	uint32_t delivered; /* RX slots filled with a packet */
	uint32_t dropped;   /* TX slots dropped: bad buffer index or length */
};

/*
 * Move up to `budget` packets from tx's pending slots [hwcur, head) into rx's
 * free slots [hwtail, hwcur - 1) by swapping buffer indices: the RX slot gets
 * the packet's buffer and length, the TX slot gets the RX slot's empty buffer;
 * both are marked NS_BUF_CHANGED.  No payload is touched.  Both rings must
 * belong to one pool; read the users' heads first (nm_kring_read_user) and
 * publish both rings afterwards (nm_kring_publish).
 *  - a TX slot with a buffer index outside the pool or a length beyond the
 *    buffer is completed without delivery (dropped, counted in tx->bad_slot);
 *  - an RX slot whose (user-released) buffer index is outside the pool is
 *    delivered empty (len 0, index untouched, counted in rx->bad_slot), so
 *    the TX side never receives a bad index.
 */
static inline struct nm_pipe_result nm_pipe_move(struct nm_kring *tx, struct nm_kring *rx,
						 uint32_t budget)
{
	struct nm_pipe_result res = { 0, 0, 0 };
	uint32_t nt = tx->nkr_num_slots, nr = rx->nkr_num_slots;
	uint32_t pending = nm_kring_tx_pending(tx), space = nm_kring_rx_space(rx);
	uint32_t i = tx->nr_hwcur, j = rx->nr_hwtail;

	while (res.consumed < pending && budget > 0) {
		struct netmap_slot *ts = &tx->slot[i];
		uint32_t tidx = NM_READ_ONCE(ts->buf_idx);
		uint32_t tlen = NM_READ_ONCE(ts->len);
		uint32_t tflags = NM_READ_ONCE(ts->flags);
		struct netmap_slot *rs;
		uint32_t ridx;

		if (tidx >= tx->nbufs || tlen > tx->buf_size) {
			tx->bad_slot++;
			res.dropped++;
			res.consumed++;
			i = nm_idx_next(i, nt);
			continue;
		}
		if (space == 0)
			break;
		rs = &rx->slot[j];
		ridx = NM_READ_ONCE(rs->buf_idx);
		space--;
		budget--;
		j = nm_idx_next(j, nr);
		res.delivered++;
		if (ridx >= rx->nbufs) {
			rx->bad_slot++;
			NM_WRITE_ONCE(rs->len, 0);
			NM_WRITE_ONCE(rs->flags, 0);
			continue; /* the packet stays pending for the next RX slot */
		}
		NM_WRITE_ONCE(rs->buf_idx, tidx);
		NM_WRITE_ONCE(rs->len, (uint16_t)tlen);
		NM_WRITE_ONCE(rs->flags, (uint16_t)(NS_BUF_CHANGED | (tflags & NS_MOREFRAG)));
		NM_WRITE_ONCE(ts->buf_idx, ridx);
		NM_WRITE_ONCE(ts->flags, (uint16_t)NS_BUF_CHANGED);
		res.consumed++;
		i = nm_idx_next(i, nt);
	}
	tx->nr_hwcur = i;
	if (res.consumed)
		tx->nr_hwtail = nm_idx_prev(i, nt);
	rx->nr_hwtail = j;
	return res;
}

/*
 * One pass of a pipe's kernel side: read the slots rx's user released, move
 * every pending packet of tx into rx, publish the rings that changed.  The
 * caller has read tx's user first (nm_kring_read_user) and kicks from the
 * result: rx's user when res.delivered, tx's user when res.consumed (each
 * only if nm_kring_user_wants_kick()).
 */
static inline struct nm_pipe_result nm_pipe_sync(struct nm_kring *tx, struct nm_kring *rx)
{
	struct nm_pipe_result res;

	nm_kring_read_user(rx);
	res = nm_pipe_move(tx, rx, ~(uint32_t)0); /* no budget (UINT32_MAX: not in the kernel) */
	if (res.consumed)
		nm_kring_publish(tx);
	if (res.delivered)
		nm_kring_publish(rx);
	return res;
}

#ifdef __cplusplus
}
#endif
#endif /* MODVMM_NETMAP_RING_H */
