/* SPDX-License-Identifier: MIT */
/*
 * A pipe end driven by one host thread: the user side of its rings plus the
 * engine of its TX rings, which runs inside nmport_txsync() and swaps buffers
 * into the peer's RX rings (netmap pipes' txsync).  The peer's engine fills
 * this end's RX rings the same way, from its own process.
 *
 * Pulling (see struct nmport_rdv_fds): on a ring pair this end pulls, its
 * nmport_rxsync() runs the peer's TX engine instead, moving the peer's TX
 * ring straight into its own RX ring; on a ring pair the peer pulls, its
 * nmport_txsync() only publishes and kicks, like a guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "wakeup.h"
#include <modvmm-netmap/nmport.h>

#define TAG_CTL       0u
#define TAG_IRQ       1u
#define TAG_PEER_KICK 2u   /* + ring index */
#define TAG_PULL_KICK (TAG_PEER_KICK + NMPORT_MAX_RINGS) /* + ring index */
#define CTL_EVERY     1024 /* syncs between two looks at the rendezvous */
#define NMPORT_PULL_BUSY_NS 50000ull /* a puller polls this long before it sleeps */

/* The region of an nmport_pair(), shared by both ends. */
struct pair_shared {
	struct nmport_region reg;
	int refs;
};

struct nmport {
	struct nmport_rdv *rdv;       /* NULL for nmport_pair() ends */
	struct pair_shared *pair;     /* NULL for rendezvous ends */
	struct nmport_region *reg;
	unsigned end, nr;
	struct nmport_view me, peer;
	struct nm_uring tx[NMPORT_MAX_RINGS], rx[NMPORT_MAX_RINGS]; /* my user side */
	struct nm_kring ktx[NMPORT_MAX_RINGS];  /* kernel side of my TX rings */
	struct nm_kring kprx[NMPORT_MAX_RINGS]; /* producer side of the peer's RX rings */
	struct nm_kring kptx[NMPORT_MAX_RINGS]; /* pulling: kernel side of the peer's TX rings */
	struct nm_kring krx[NMPORT_MAX_RINGS];  /* pulling: producer side of my RX rings */
	uint32_t offer, want;         /* pull bitmaps asked at open */
	uint32_t pulled, pulling;     /* this link: my TX rings the peer pulls, its rings I pull */
	int pull_kick[NMPORT_MAX_RINGS], pull_irq[NMPORT_MAX_RINGS]; /* dups of its tx_kick/tx_irq */
	int irq_fd;                   /* the peer wakes my RX user (my rx_irq) */
	int kick_fd;                  /* I wake the peer's engine (my rx_kick) */
	int peer_irq[NMPORT_MAX_RINGS], peer_kick[NMPORT_MAX_RINGS]; /* dups, -1 when down */
	int epfd;
	bool up;
	unsigned ctl_countdown;
	struct nmport_stats st;
};

static void kick(struct nmport *p, int fd)
{
	if (efd_signal(fd))
		p->st.kicks++;
}

static void attach_own(struct nmport *p)
{
	for (unsigned i = 0; i < p->nr; i++) {
		nm_uring_attach(&p->tx[i], &p->me, i);
		nm_uring_attach(&p->rx[i], &p->me, p->nr + i);
		nm_kring_attach(&p->ktx[i], &p->me, i);
		nm_kring_resume(&p->ktx[i]);
	}
}

static void close_watched(struct nmport *p, int *fd)
{
	if (*fd >= 0) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, *fd, NULL);
		close(*fd);
	}
	*fd = -1;
}

static void link_down(struct nmport *p)
{
	for (unsigned i = 0; i < p->nr; i++) {
		close_watched(p, &p->peer_kick[i]);
		close_watched(p, &p->pull_kick[i]);
		if (p->peer_irq[i] >= 0)
			close(p->peer_irq[i]);
		if (p->pull_irq[i] >= 0)
			close(p->pull_irq[i]);
		p->peer_irq[i] = p->pull_irq[i] = -1;
		/* a puller of my TX ring left it where it published: go on from there */
		if (p->pulled & (1u << i))
			nm_kring_resume(&p->ktx[i]);
	}
	if (p->up)
		p->st.link_downs++;
	p->up = false;
	p->pulled = p->pulling = 0;
}

static int dup_fd(int fd, int *out)
{
	*out = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return *out < 0 ? -errno : 0;
}

/* The peer's fds are duplicated: the rendezvous closes its copies on its own. */
static int link_up(struct nmport *p, const struct nmport_rdv_fds *fds, uint32_t pulled,
		   uint32_t pulling)
{
	int err = 0;

	p->pulled = pulled;
	p->pulling = pulling;
	for (unsigned i = 0; i < p->nr && err == 0; i++) {
		if ((err = dup_fd(fds->rx_irq[i], &p->peer_irq[i])) < 0 ||
		    (err = dup_fd(fds->rx_kick[i], &p->peer_kick[i])) < 0 ||
		    (err = ep_add(p->epfd, p->peer_kick[i], TAG_PEER_KICK + i)) < 0)
			break;
		/* take over the peer's RX ring where its previous producer left it */
		nm_kring_attach(&p->kprx[i], &p->peer, p->nr + i);
		nm_kring_resume(&p->kprx[i]);
		if (!(pulling & (1u << i)))
			continue;
		/* and, pulling, the peer's TX ring and my RX ring likewise */
		if ((err = dup_fd(fds->tx_kick[i], &p->pull_kick[i])) < 0 ||
		    (err = dup_fd(fds->tx_irq[i], &p->pull_irq[i])) < 0 ||
		    (err = ep_add(p->epfd, p->pull_kick[i], TAG_PULL_KICK + i)) < 0)
			break;
		nm_kring_attach(&p->kptx[i], &p->peer, i);
		nm_kring_resume(&p->kptx[i]);
		nm_kring_attach(&p->krx[i], &p->me, p->nr + i);
		nm_kring_resume(&p->krx[i]);
	}
	p->up = true;
	p->st.link_ups++;
	if (err < 0)
		link_down(p);
	return err;
}

/* Handle every pending rendezvous event. */
static int ctl(struct nmport *p)
{
	if (!p->rdv)
		return 0;
	for (;;) {
		int ev = nmport_rdv_process(p->rdv);
		if (ev < 0)
			return ev;
		if (ev == NMPORT_RDV_NONE)
			return 0;
		if (ev == NMPORT_RDV_LINK_DOWN) {
			link_down(p);
		} else {
			int err = link_up(p, nmport_rdv_peer_fds(p->rdv), nmport_rdv_pulled(p->rdv),
					  nmport_rdv_pulling(p->rdv));
			if (err < 0)
				return err;
		}
	}
}

static void ctl_tick(struct nmport *p)
{
	if (p->rdv && --p->ctl_countdown == 0) {
		p->ctl_countdown = CTL_EVERY;
		(void)ctl(p);
	}
}

/* Move TX ring i's pending packets into the peer's RX ring i. */
static void engine(struct nmport *p, unsigned i)
{
	struct nm_kring *k = &p->ktx[i], *kp = &p->kprx[i];
	struct nm_pipe_result res;

	if (!nm_kring_tx_pending(k))
		return;
	nm_kring_awake(kp);
	res = nm_pipe_sync(k, kp);
	if (res.delivered && nm_kring_user_wants_kick(kp))
		kick(p, p->peer_irq[i]);
	p->st.tx_delivered += res.delivered;
	p->st.tx_dropped += res.dropped;
}

/* Pulling: move the peer's TX ring i into my RX ring i. */
static void pull(struct nmport *p, unsigned i)
{
	struct nm_kring *k = &p->kptx[i], *kr = &p->krx[i];
	struct nm_pipe_result res;

	nm_kring_read_user(k);
	if (!nm_kring_tx_pending(k))
		return;
	nm_kring_awake(k);
	res = nm_pipe_sync(k, kr);
	if (res.consumed && nm_kring_user_wants_kick(k))
		kick(p, p->pull_irq[i]);
	p->st.pulled += res.delivered;
}

void nmport_txsync(struct nmport *p, unsigned i)
{
	struct nm_kring *k = &p->ktx[i];

	if (p->pulled & (1u << i)) { /* the peer runs this ring's engine */
		if (nm_uring_publish(&p->tx[i]))
			kick(p, p->kick_fd);
		nm_uring_update(&p->tx[i]);
		ctl_tick(p);
		return;
	}
	nm_uring_publish(&p->tx[i]); /* our own engine runs right here: no kick */
	nm_kring_read_user(k);
	if (p->up) {
		engine(p, i);
	} else if (nm_kring_tx_pending(k)) {
		p->st.tx_dropped += nm_kring_tx_drop(k);
		nm_kring_publish(k);
	}
	nm_uring_update(&p->tx[i]);
	ctl_tick(p);
}

void nmport_rxsync(struct nmport *p, unsigned i)
{
	if (p->pulling & (1u << i)) { /* I am my RX ring's producer */
		nm_uring_publish(&p->rx[i]);
		pull(p, i);
	} else if (nm_uring_publish(&p->rx[i]) && p->up) {
		kick(p, p->kick_fd); /* the peer's engine waits for room */
	}
	nm_uring_update(&p->rx[i]);
	ctl_tick(p);
}

/* A pulled TX ring: packets published and not yet completed by the puller. */
static uint32_t pulled_pending(const struct nm_uring *u)
{
	return nm_idx_dist(nm_idx_next(u->tail, u->num_slots), u->pub_head, u->num_slots);
}

/* TX ring i has a free slot (or, with `drain`, nothing pending). */
static bool tx_ok(struct nmport *p, unsigned i, bool drain)
{
	if (!drain)
		return nm_uring_space(&p->tx[i]) > 0;
	if (p->pulled & (1u << i))
		return pulled_pending(&p->tx[i]) == 0;
	return !nm_kring_tx_pending(&p->ktx[i]);
}

/* A pulled TX ring about to wait for completions: ask the puller for an
 * interrupt and check again. */
static bool pulled_tx_sleep(struct nm_uring *u, bool drain)
{
	if (!drain)
		return nm_uring_prepare_sleep(u);
	NM_WRITE_ONCE(u->atok->appl_need_kick, 1);
	nm_stld_barrier();
	nm_uring_update(u);
	if (pulled_pending(u))
		return true;
	NM_WRITE_ONCE(u->atok->appl_need_kick, 0);
	return false;
}

static bool tx_ready(struct nmport *p, unsigned i, bool drain)
{
	nmport_txsync(p, i);
	if (tx_ok(p, i, drain) || !p->up)
		return true;
	if (p->pulled & (1u << i)) { /* the puller completes them */
		if (pulled_tx_sleep(&p->tx[i], drain))
			return false;
	} else if (nm_kring_prepare_sleep(&p->kprx[i])) {
		return false; /* pending packets wait for room in the peer's RX ring */
	}
	nmport_txsync(p, i);
	return tx_ok(p, i, drain);
}

static bool rx_ready(struct nmport *p, unsigned i)
{
	nmport_rxsync(p, i);
	if (nm_uring_space(&p->rx[i]) > 0)
		return true;
	if (!(p->pulling & (1u << i)))
		return !nm_uring_prepare_sleep(&p->rx[i]);
	/* pulling: poll a while before asking the peer's TX user (a guest, whose
	 * doorbell is a VM exit) for a kick, as a pipe-tx thread would */
	for (uint64_t until = now_ns() + NMPORT_PULL_BUSY_NS; now_ns() < until;) {
		__builtin_ia32_pause();
		nmport_rxsync(p, i);
		if (nm_uring_space(&p->rx[i]) > 0)
			return true;
	}
	while (!nm_kring_prepare_sleep(&p->kptx[i])) {
		nmport_rxsync(p, i);
		if (nm_uring_space(&p->rx[i]) > 0)
			return true;
	}
	return false;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int poll_rings(struct nmport *p, unsigned lo, unsigned hi, unsigned events,
		      int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct epoll_event evs[8];
	bool consumed = false;

	for (;;) {
		bool was_up = p->up, ready = false;
		int err = ctl(p);

		if (err < 0)
			return err;
		if (p->up != was_up)
			return 1;
		for (unsigned i = lo; i < hi; i++) {
			if ((events & (NMPORT_POLLOUT | NMPORT_POLLDRAIN)) &&
			    tx_ready(p, i, events & NMPORT_POLLDRAIN))
				ready = true;
			if ((events & NMPORT_POLLIN) && rx_ready(p, i))
				ready = true;
		}
		if (ready)
			return 1;
		int wait = -1;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0 && consumed)
				return 0;
			/* out of time: take the wake-ups that came (so that an epoll
			 * watching nmport_fd() calms down) and look once more */
			wait = left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
			consumed = left <= 0;
		}
		if (wait != 0)
			p->st.sleeps++;
		int n = epoll_wait(p->epfd, evs, 8, wait);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int e = 0; e < n; e++) {
			uint64_t tag = evs[e].data.u64;
			if (tag == TAG_IRQ)
				efd_drain(p->irq_fd);
			else if (tag >= TAG_PULL_KICK && tag - TAG_PULL_KICK < p->nr &&
				 p->pull_kick[tag - TAG_PULL_KICK] >= 0)
				efd_drain(p->pull_kick[tag - TAG_PULL_KICK]);
			else if (tag >= TAG_PEER_KICK && tag - TAG_PEER_KICK < p->nr &&
				 p->peer_kick[tag - TAG_PEER_KICK] >= 0)
				efd_drain(p->peer_kick[tag - TAG_PEER_KICK]);
		}
	}
}

int nmport_poll(struct nmport *p, unsigned events, int timeout_ms)
{
	return poll_rings(p, 0, p->nr, events, timeout_ms);
}

int nmport_poll_ring(struct nmport *p, unsigned ring, unsigned events, int timeout_ms)
{
	if (ring >= p->nr)
		return -EINVAL;
	return poll_rings(p, ring, ring + 1, events, timeout_ms);
}

uint32_t nmport_tx_pending(const struct nmport *p, unsigned ring)
{
	if (ring >= p->nr)
		return 0;
	if (p->pulled & (1u << ring))
		return pulled_pending(&p->tx[ring]);
	return nm_kring_tx_pending(&p->ktx[ring]);
}

/* ---- opening and closing --------------------------------------------------- */

static struct nmport *port_new(void)
{
	struct nmport *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->ctl_countdown = CTL_EVERY;
	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
		p->peer_irq[i] = p->peer_kick[i] = p->pull_irq[i] = p->pull_kick[i] = -1;
	p->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->irq_fd < 0 || p->kick_fd < 0 || p->epfd < 0 ||
	    ep_add(p->epfd, p->irq_fd, TAG_IRQ) < 0) {
		nmport_close(p);
		return NULL;
	}
	return p;
}

/* Point p at end `end` of its region and attach the user side. */
static void port_bind(struct nmport *p, unsigned end)
{
	p->end = end;
	p->nr = p->reg->mem.geom.nr_rings;
	nmport_region_view(p->reg, end, &p->me);
	nmport_region_view(p->reg, end ^ 1u, &p->peer);
	attach_own(p);
}

/* One wakeup fd each way serves every ring: my sleeps wait on irq_fd, the
 * peer's on kick_fd (as RX doorbell and, when it pulls, as TX doorbell). */
static void own_fds(const struct nmport *p, struct nmport_rdv_fds *f)
{
	f->offer_pull = p->offer;
	f->want_pull = p->want;
	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++) {
		f->rx_irq[i] = f->tx_irq[i] = p->irq_fd;
		f->rx_kick[i] = f->tx_kick[i] = p->kick_fd;
	}
}

int nmport_open(const char *rundir, const char *name, const struct nmport_geom *g,
		struct nmport **out)
{
	return nmport_open_ex(rundir, name, g, 0, 0, out);
}

int nmport_open_ex(const char *rundir, const char *name, const struct nmport_geom *g,
		   uint32_t offer_pull, uint32_t want_pull, struct nmport **out)
{
	struct nmport_rdv_fds mine;
	struct nmport *p = port_new();
	int err;

	if (!p)
		return -ENOMEM;
	p->offer = offer_pull;
	p->want = want_pull;
	own_fds(p, &mine);
	err = nmport_rdv_open(rundir, name, g, &mine, &p->rdv);
	if (err == 0) {
		p->reg = nmport_rdv_region(p->rdv);
		port_bind(p, nmport_rdv_end(p->rdv));
		err = ep_add(p->epfd, nmport_rdv_fd(p->rdv), TAG_CTL);
	}
	if (err == 0 && nmport_rdv_link_up(p->rdv))
		err = link_up(p, nmport_rdv_peer_fds(p->rdv), nmport_rdv_pulled(p->rdv),
			      nmport_rdv_pulling(p->rdv));
	if (err < 0) {
		nmport_close(p);
		return err;
	}
	*out = p;
	return 0;
}

int nmport_pair(const char *name, const struct nmport_geom *g, struct nmport **a,
		struct nmport **b)
{
	struct pair_shared *sh = calloc(1, sizeof(*sh));
	struct nmport *p[2] = { NULL, NULL };
	struct nmport_rdv_fds f[2];
	int err;

	if (!sh)
		return -ENOMEM;
	err = nmport_region_create(name, g, &sh->reg);
	if (err < 0) {
		free(sh);
		return err;
	}
	for (unsigned e = 0; e < NMPORT_ENDS; e++) {
		p[e] = port_new();
		if (!p[e]) {
			err = -ENOMEM;
			goto fail;
		}
		p[e]->pair = sh;
		sh->refs++;
		p[e]->reg = &sh->reg;
		port_bind(p[e], e);
		own_fds(p[e], &f[e]);
	}
	for (unsigned e = 0; e < NMPORT_ENDS; e++)
		if ((err = link_up(p[e], &f[e ^ 1u], 0, 0)) < 0)
			goto fail;
	*a = p[0];
	*b = p[1];
	return 0;

fail:
	if (sh->refs == 0) {
		nmport_region_close(&sh->reg);
		free(sh);
	}
	nmport_close(p[0]);
	nmport_close(p[1]);
	return err;
}

void nmport_close(struct nmport *p)
{
	if (!p)
		return;
	link_down(p);
	if (p->rdv)
		nmport_rdv_close(p->rdv);
	if (p->pair && --p->pair->refs == 0) {
		nmport_region_close(&p->pair->reg);
		free(p->pair);
	}
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->irq_fd >= 0)
		close(p->irq_fd);
	if (p->kick_fd >= 0)
		close(p->kick_fd);
	free(p);
}

int nmport_fd(const struct nmport *p)
{
	return p->epfd;
}

unsigned nmport_nrings(const struct nmport *p)
{
	return p->nr;
}

unsigned nmport_end(const struct nmport *p)
{
	return p->end;
}

bool nmport_link_up(const struct nmport *p)
{
	return p->up;
}

uint32_t nmport_pulled(const struct nmport *p)
{
	return p->pulled;
}

uint32_t nmport_pulling(const struct nmport *p)
{
	return p->pulling;
}

const struct nmport_mem *nmport_mem(const struct nmport *p)
{
	return &p->reg->mem;
}

struct nmport_region *nmport_region(struct nmport *p)
{
	return p->reg;
}

struct nm_uring *nmport_tx(struct nmport *p, unsigned i)
{
	return i < p->nr ? &p->tx[i] : NULL;
}

struct nm_uring *nmport_rx(struct nmport *p, unsigned i)
{
	return i < p->nr ? &p->rx[i] : NULL;
}

void nmport_get_stats(const struct nmport *p, struct nmport_stats *st)
{
	*st = p->st;
	st->bad = 0;
	for (unsigned i = 0; i < p->nr; i++) {
		st->bad += p->tx[i].bad_tail + p->tx[i].bad_slot + p->rx[i].bad_tail +
			   p->rx[i].bad_slot + p->ktx[i].bad_head + p->ktx[i].bad_cur +
			   p->ktx[i].bad_slot + p->kprx[i].bad_head + p->kprx[i].bad_cur +
			   p->kprx[i].bad_slot + p->kptx[i].bad_head + p->kptx[i].bad_cur +
			   p->kptx[i].bad_slot + p->krx[i].bad_head + p->krx[i].bad_cur +
			   p->krx[i].bad_slot;
	}
}
