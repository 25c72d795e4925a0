/* SPDX-License-Identifier: MIT */
/*
 * A pipe end driven by one host thread: the user side of its rings plus the
 * engine of its TX rings, which runs inside nmport_txsync() and swaps buffers
 * into the peer's RX rings (netmap pipes' txsync).  The peer's engine fills
 * this end's RX rings the same way, from its own process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "nmport.h"

#define TAG_CTL       0u
#define TAG_IRQ       1u
#define TAG_PEER_KICK 2u   /* + ring index */
#define CTL_EVERY     1024 /* syncs between two looks at the rendezvous */

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
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		p->st.kicks++;
}

static void drain(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

static int ep_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
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

static void link_down(struct nmport *p)
{
	for (unsigned i = 0; i < p->nr; i++) {
		if (p->peer_kick[i] >= 0) {
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->peer_kick[i], NULL);
			close(p->peer_kick[i]);
		}
		if (p->peer_irq[i] >= 0)
			close(p->peer_irq[i]);
		p->peer_kick[i] = p->peer_irq[i] = -1;
	}
	if (p->up)
		p->st.link_downs++;
	p->up = false;
}

/* The peer's fds are duplicated: the rendezvous closes its copies on its own. */
static int link_up(struct nmport *p, const struct nmport_rdv_fds *fds)
{
	int err = 0;

	for (unsigned i = 0; i < p->nr && err == 0; i++) {
		p->peer_irq[i] = fcntl(fds->rx_irq[i], F_DUPFD_CLOEXEC, 0);
		p->peer_kick[i] = fcntl(fds->rx_kick[i], F_DUPFD_CLOEXEC, 0);
		if (p->peer_irq[i] < 0 || p->peer_kick[i] < 0)
			err = -errno;
		else
			err = ep_add(p->epfd, p->peer_kick[i], TAG_PEER_KICK + i);
		/* take over the peer's RX ring where its previous producer left it */
		nm_kring_attach(&p->kprx[i], &p->peer, p->nr + i);
		nm_kring_resume(&p->kprx[i]);
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
			int err = link_up(p, nmport_rdv_peer_fds(p->rdv));
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
	nm_kring_read_user(kp);
	nm_kring_awake(kp);
	res = nm_pipe_move(k, kp, UINT32_MAX);
	if (res.consumed)
		nm_kring_publish(k);
	if (res.delivered) {
		nm_kring_publish(kp);
		if (nm_kring_user_wants_kick(kp))
			kick(p, p->peer_irq[i]);
	}
	p->st.tx_delivered += res.delivered;
	p->st.tx_dropped += res.dropped;
}

void nmport_txsync(struct nmport *p, unsigned i)
{
	struct nm_kring *k = &p->ktx[i];

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
	if (nm_uring_publish(&p->rx[i]) && p->up)
		kick(p, p->kick_fd); /* the peer's engine waits for room */
	nm_uring_update(&p->rx[i]);
	ctl_tick(p);
}

/* TX ring i has a free slot (or, with `drain`, nothing pending). */
static bool tx_ok(struct nmport *p, unsigned i, bool drain)
{
	return drain ? !nm_kring_tx_pending(&p->ktx[i]) : nm_uring_space(&p->tx[i]) > 0;
}

static bool tx_ready(struct nmport *p, unsigned i, bool drain)
{
	nmport_txsync(p, i);
	if (tx_ok(p, i, drain) || !p->up)
		return true;
	/* pending packets wait for room in the peer's RX ring */
	if (nm_kring_prepare_sleep(&p->kprx[i]))
		return false;
	nmport_txsync(p, i);
	return tx_ok(p, i, drain);
}

static bool rx_ready(struct nmport *p, unsigned i)
{
	nmport_rxsync(p, i);
	return nm_uring_space(&p->rx[i]) > 0 || !nm_uring_prepare_sleep(&p->rx[i]);
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
			if (left <= 0)
				return 0;
			wait = left > 60000 ? 60000 : (int)left;
		}
		p->st.sleeps++;
		int n = epoll_wait(p->epfd, evs, 8, wait);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int e = 0; e < n; e++) {
			uint64_t tag = evs[e].data.u64;
			if (tag == TAG_IRQ)
				drain(p->irq_fd);
			else if (tag >= TAG_PEER_KICK && tag - TAG_PEER_KICK < p->nr &&
				 p->peer_kick[tag - TAG_PEER_KICK] >= 0)
				drain(p->peer_kick[tag - TAG_PEER_KICK]);
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
	return ring < p->nr ? nm_kring_tx_pending(&p->ktx[ring]) : 0;
}

/* ---- opening and closing --------------------------------------------------- */

static struct nmport *port_new(void)
{
	struct nmport *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->ctl_countdown = CTL_EVERY;
	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
		p->peer_irq[i] = p->peer_kick[i] = -1;
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

static void own_fds(const struct nmport *p, struct nmport_rdv_fds *f)
{
	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++) {
		f->rx_irq[i] = p->irq_fd;
		f->rx_kick[i] = p->kick_fd;
	}
}

int nmport_open(const char *rundir, const char *name, const struct nmport_geom *g,
		struct nmport **out)
{
	struct nmport_rdv_fds mine;
	struct nmport *p = port_new();
	int err;

	if (!p)
		return -ENOMEM;
	own_fds(p, &mine);
	err = nmport_rdv_open(rundir, name, g, &mine, &p->rdv);
	if (err == 0) {
		p->reg = nmport_rdv_region(p->rdv);
		port_bind(p, nmport_rdv_end(p->rdv));
		err = ep_add(p->epfd, nmport_rdv_fd(p->rdv), TAG_CTL);
	}
	if (err == 0 && nmport_rdv_link_up(p->rdv))
		err = link_up(p, nmport_rdv_peer_fds(p->rdv));
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
		if ((err = link_up(p[e], &f[e ^ 1u])) < 0)
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
			   p->kprx[i].bad_slot;
	}
}
