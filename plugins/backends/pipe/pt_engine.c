/* SPDX-License-Identifier: MIT */
/* The ring-passthrough engine of the pipe backend (see pt_engine.h). */
#include <stdint.h>

#include "wakeup.h"
#include "pt_engine.h"

void pt_engine_init(struct pt_engine *e, const struct nmport_view *me,
		    const struct nmport_view *peer, const int *tx_irq)
{
	e->nr = me->geom.nr_rings;
	e->me = *me;
	e->peer = *peer;
	e->up = false;
	e->pulled = 0;
	e->delivered = e->dropped = e->irqs = 0;
	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++) {
		e->tx_irq[i] = i < e->nr ? tx_irq[i] : -1;
		e->peer_irq[i] = -1;
	}
	for (unsigned i = 0; i < e->nr; i++) {
		nm_kring_attach(&e->ktx[i], &e->me, i);
		nm_kring_resume(&e->ktx[i]);
		nm_kring_attach(&e->kprx[i], &e->peer, e->nr + i);
	}
}

static bool pulled(const struct pt_engine *e, unsigned i)
{
	return e->pulled & (1u << i);
}

void pt_engine_link_up(struct pt_engine *e, const int *peer_irq, uint32_t pulled_rings)
{
	for (unsigned i = 0; i < e->nr; i++) {
		e->peer_irq[i] = peer_irq[i];
		nm_kring_attach(&e->kprx[i], &e->peer, e->nr + i);
		nm_kring_resume(&e->kprx[i]);
	}
	e->pulled = pulled_rings;
	e->up = true;
}

void pt_engine_link_down(struct pt_engine *e)
{
	for (unsigned i = 0; i < e->nr; i++) {
		e->peer_irq[i] = -1;
		if (pulled(e, i))
			nm_kring_resume(&e->ktx[i]);
	}
	e->pulled = 0;
	e->up = false;
}

bool pt_engine_tx(struct pt_engine *e, unsigned i)
{
	struct nm_kring *k = &e->ktx[i], *kp = &e->kprx[i];
	struct nm_pipe_result res;

	if (pulled(e, i))
		return false;
	nm_kring_read_user(k);
	if (!nm_kring_tx_pending(k) || !e->up)
		return false; /* link down: packets wait for the next peer */
	nm_kring_awake(kp);
	res = nm_pipe_sync(k, kp);
	e->delivered += res.delivered;
	e->dropped += res.dropped;
	if (res.delivered && nm_kring_user_wants_kick(kp) && efd_signal(e->peer_irq[i]))
		e->irqs++;
	if (!res.consumed)
		return false;
	if (nm_kring_user_wants_kick(k) && efd_signal(e->tx_irq[i]))
		e->irqs++;
	return true;
}

bool pt_engine_prepare_sleep(struct pt_engine *e, unsigned i)
{
	struct nm_kring *k = &e->ktx[i];

	if (pulled(e, i))
		return true;
	if (e->up && nm_kring_tx_pending(k) && !nm_kring_prepare_sleep(&e->kprx[i]))
		return false; /* the peer released room meanwhile */
	return nm_kring_prepare_sleep(k);
}

void pt_engine_awake(struct pt_engine *e, unsigned i)
{
	if (pulled(e, i))
		return;
	nm_kring_awake(&e->ktx[i]);
	if (e->up)
		nm_kring_awake(&e->kprx[i]);
}

uint64_t pt_engine_bad(const struct pt_engine *e)
{
	uint64_t bad = 0;

	for (unsigned i = 0; i < e->nr; i++)
		bad += e->ktx[i].bad_head + e->ktx[i].bad_cur + e->ktx[i].bad_slot +
		       e->kprx[i].bad_head + e->kprx[i].bad_cur + e->kprx[i].bad_slot;
	return bad;
}
