/* SPDX-License-Identifier: MIT */
/*
 * pipe: a net backend that is one end of a named zero-copy channel (a netmap
 * pipe, see <modvmm-netmap/netmap_port.h>).  The other end is another modvmm or a host
 * program on lib/nmport (modvmm-pktgen).  The ends meet through the rendezvous
 * of lib/nmport (RUNDIR/pipe/NAME.sock): either may start first; when the peer
 * dies the link goes down, this end keeps running and a new peer reconnects.
 *
 * Mode: ring passthrough (ptnetmap-memdev).  The device hands over its eventfds
 * with pt_start(): the doorbell ioeventfds and the MSI-X irqfds, indexed by
 * the device's ring number r (kick register KICK(r), vector r).  The guest's
 * RX irqfds and RX doorbells go to the peer through the rendezvous, so the
 * peer's engine interrupts the guest and the guest kicks the peer's engine
 * without modvmm in between.  The guest's TX engine runs here, in the worker
 * thread (pt_engine.c), unless the peer pulls (`peer_pull`, see
 * struct nmport_rdv_fds): then the guest's TX doorbells and TX irqfds go to
 * the peer too, which moves the guest's TX ring into its RX ring inside its
 * own receive loop, and the worker leaves that ring alone until the link goes
 * down.  A control thread serves the rendezvous, so a stalled joiner never
 * blocks the worker or the event loop; after each link change it waits until
 * the worker has adopted it, so a new peer never meets a worker still moving
 * packets for the old one.
 *
 * Mode: packet I/O (virtio-net over a pipe, pkt_io.c).  A frontend that
 * attaches without pt_start() gets the same engine: the backend itself plays
 * the guest's part on ring pair 0, copying frames into TX slots and out of RX
 * slots, with its own eventfds in place of the doorbells and irqfds.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#include "wakeup.h"
#include "pipe.h"

#define TAG_STOP   0u
#define TAG_LINK   1u
#define TAG_KICK   2u                   /* + i: the guest's TX doorbell of ring i */
#define TAG_PEER   (TAG_KICK + NMPORT_MAX_RINGS) /* + i: the peer released RX room */
#define NSEC_PER_USEC 1000ull

static int fail(struct pipe_be *p, const char *what, int ret)
{
	p->host->log(p->dev, MODVMM_LOG_ERROR, "%s: %s", what, strerror(ret < 0 ? -ret : ret));
	return ret;
}

static void close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* ---- link state (control thread -> worker) ---------------------------------- */

/* Publish the rendezvous' current link state; called with the rdv quiet. */
static void link_publish(struct pipe_be *p)
{
	bool up = nmport_rdv_link_up(p->rdv);
	const struct nmport_rdv_fds *f = up ? nmport_rdv_peer_fds(p->rdv) : NULL;
	unsigned nr = p->reg->mem.geom.nr_rings;
	uint32_t pulled = up ? nmport_rdv_pulled(p->rdv) : 0;

	pthread_mutex_lock(&p->lock);
	close_fds(p->pend_irq, NMPORT_MAX_RINGS);
	close_fds(p->pend_kick, NMPORT_MAX_RINGS);
	for (unsigned i = 0; up && i < nr; i++) {
		p->pend_irq[i] = fcntl(f->rx_irq[i], F_DUPFD_CLOEXEC, 0);
		p->pend_kick[i] = fcntl(f->rx_kick[i], F_DUPFD_CLOEXEC, 0);
	}
	p->pend_up = up;
	p->pend_pulled = pulled;
	p->gen++;
	pthread_mutex_unlock(&p->lock);
	atomic_store(&p->up, up);
	(void)efd_signal(p->link_fd);
	(void)efd_signal(p->fe_link_fd);
	p->host->log(p->dev, MODVMM_LOG_INFO, "pipe %s end %u: link %s%s", p->name, p->end,
		     up ? "up" : "down", pulled ? " (the peer pulls the TX rings)" : "");
}

/* Wait until the worker runs with the latest link state. */
static void link_wait_applied(struct pipe_be *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->applied != p->gen && !p->worker_gone)
		pthread_cond_wait(&p->applied_cond, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

static void *ctl_thread(void *arg)
{
	struct pipe_be *p = arg;
	struct pollfd pf[2] = {
		{ .fd = nmport_rdv_fd(p->rdv), .events = POLLIN },
		{ .fd = p->stop_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		for (;;) {
			int ev = nmport_rdv_process(p->rdv);
			if (ev < 0) {
				p->host->log(p->dev, MODVMM_LOG_ERROR, "pipe %s: rendezvous: %s", p->name,
					     strerror(-ev));
				return NULL;
			}
			if (ev == NMPORT_RDV_NONE)
				break;
			link_publish(p);
			link_wait_applied(p);
		}
	}
	return NULL;
}

/* ---- the worker: the guest's TX engine ------------------------------------------ */

/* Watch the guest's TX doorbells of the rings this worker runs (a pulled
 * ring's doorbell is the peer's to read). */
static void watch_kicks(struct pipe_be *p, int epfd, uint32_t pulled)
{
	for (unsigned i = 0; i < p->eng.nr; i++) {
		if (p->kick_fds[i] < 0)
			continue;
		if (pulled & (1u << i))
			epoll_ctl(epfd, EPOLL_CTL_DEL, p->kick_fds[i], NULL);
		else if (ep_add(epfd, p->kick_fds[i], TAG_KICK + i) < 0 && errno != EEXIST)
			p->host->log(p->dev, MODVMM_LOG_WARN, "pipe %s: epoll: %s", p->name, strerror(errno));
	}
}

/* Adopt the control thread's latest link state (taking its fds). */
static void link_apply(struct pipe_be *p, int epfd, int *peer_irq, int *peer_kick, unsigned *gen)
{
	struct pt_engine *e = &p->eng;

	pthread_mutex_lock(&p->lock);
	if (*gen == p->gen) {
		pthread_mutex_unlock(&p->lock);
		return;
	}
	*gen = p->gen;
	for (unsigned i = 0; i < e->nr; i++)
		if (peer_kick[i] >= 0)
			epoll_ctl(epfd, EPOLL_CTL_DEL, peer_kick[i], NULL);
	close_fds(peer_irq, NMPORT_MAX_RINGS);
	close_fds(peer_kick, NMPORT_MAX_RINGS);
	pt_engine_link_down(e);
	if (p->pend_up) {
		memcpy(peer_irq, p->pend_irq, sizeof(p->pend_irq));
		memcpy(peer_kick, p->pend_kick, sizeof(p->pend_kick));
		for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
			p->pend_irq[i] = p->pend_kick[i] = -1;
		for (unsigned i = 0; i < e->nr; i++)
			if (peer_kick[i] >= 0 && ep_add(epfd, peer_kick[i], TAG_PEER + i) < 0)
				p->host->log(p->dev, MODVMM_LOG_WARN, "pipe %s: epoll: %s", p->name,
					     strerror(errno));
		pt_engine_link_up(e, peer_irq, p->pend_pulled);
	}
	watch_kicks(p, epfd, e->pulled);
	p->applied = *gen;
	pthread_cond_broadcast(&p->applied_cond);
	pthread_mutex_unlock(&p->lock);
}

static void stats_flush(struct pipe_be *p)
{
	uint64_t bad = pt_engine_bad(&p->eng);

	if (bad && !p->bad_logged) {
		p->bad_logged = true;
		p->host->log(p->dev, MODVMM_LOG_WARN,
			     "pipe %s: refused %llu ring values from the guest or the peer (head, cur, buffer "
			     "index or length beyond the ring, pool or buffer); dropped, logged once",
			     p->name, (unsigned long long)bad);
	}
	atomic_store_explicit(&p->st_delivered, p->eng.delivered, memory_order_relaxed);
	atomic_store_explicit(&p->st_dropped, p->eng.dropped, memory_order_relaxed);
	atomic_store_explicit(&p->st_irqs, p->eng.irqs, memory_order_relaxed);
}

static void *worker(void *arg)
{
	struct pipe_be *p = arg;
	struct pt_engine *e = &p->eng;
	int peer_irq[NMPORT_MAX_RINGS], peer_kick[NMPORT_MAX_RINGS];
	struct epoll_event evs[8];
	unsigned gen = 0;
	uint64_t idle_since = 0, sleeps = 0;
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
		peer_irq[i] = peer_kick[i] = -1;
	if (epfd < 0 || ep_add(epfd, p->stop_fd, TAG_STOP) < 0 || ep_add(epfd, p->link_fd, TAG_LINK) < 0) {
		p->host->log(p->dev, MODVMM_LOG_ERROR, "pipe %s: worker epoll: %s", p->name, strerror(errno));
		goto out;
	}
	watch_kicks(p, epfd, 0);
	for (;;) {
		bool progress = false, sleep_ok = true;

		link_apply(p, epfd, peer_irq, peer_kick, &gen);
		for (unsigned i = 0; i < e->nr; i++)
			progress |= pt_engine_tx(e, i);
		if (progress) {
			idle_since = 0;
			continue;
		}
		uint64_t t = now_ns();
		if (idle_since == 0)
			idle_since = t;
		if (t - idle_since < p->busy_poll_ns) {
			__asm__ volatile("pause");
			continue;
		}
		stats_flush(p);
		for (unsigned i = 0; i < e->nr && sleep_ok; i++)
			sleep_ok = pt_engine_prepare_sleep(e, i);
		if (!sleep_ok) {
			for (unsigned i = 0; i < e->nr; i++)
				pt_engine_awake(e, i);
			idle_since = 0;
			continue;
		}
		sleeps++;
		atomic_store_explicit(&p->st_sleeps, sleeps, memory_order_relaxed);
		int n = epoll_wait(epfd, evs, 8, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			uint64_t tag = evs[k].data.u64;
			if (tag == TAG_STOP)
				goto out;
			if (tag == TAG_LINK)
				efd_drain(p->link_fd);
			else if (tag >= TAG_PEER && tag - TAG_PEER < e->nr && peer_kick[tag - TAG_PEER] >= 0)
				efd_drain(peer_kick[tag - TAG_PEER]);
			else if (tag >= TAG_KICK && tag - TAG_KICK < e->nr && p->kick_fds[tag - TAG_KICK] >= 0)
				efd_drain(p->kick_fds[tag - TAG_KICK]);
		}
		for (unsigned i = 0; i < e->nr; i++)
			pt_engine_awake(e, i);
		idle_since = 0;
	}
out:
	pthread_mutex_lock(&p->lock);
	p->worker_gone = true;
	pthread_cond_broadcast(&p->applied_cond);
	pthread_mutex_unlock(&p->lock);
	stats_flush(p);
	close_fds(peer_irq, NMPORT_MAX_RINGS);
	close_fds(peer_kick, NMPORT_MAX_RINGS);
	if (epfd >= 0)
		close(epfd);
	return NULL;
}

/* ---- ops ---------------------------------------------------------------------- */

static uint64_t pipe_caps(void *be)
{
	(void)be;
	return MODVMM_NET_CAP_PACKET_IO | MODVMM_NET_CAP_VNET_HDR | MODVMM_NET_CAP_RING_PASSTHROUGH |
	       MODVMM_NET_CAP_LINK_STATE;
}

static int pipe_attach(void *be, const struct modvmm_net_attach *a)
{
	struct pipe_be *p = be;

	if (p->attached)
		return -EBUSY;
	if (a->nqueues != 1)
		return -EINVAL;
	p->attached = true;
	return 0;
}

static void pipe_detach(void *be)
{
	((struct pipe_be *)be)->attached = false;
}

static int pipe_link_up(void *be)
{
	return atomic_load(&((struct pipe_be *)be)->up) ? 1 : 0;
}

static int pipe_link_fd(void *be)
{
	return ((struct pipe_be *)be)->fe_link_fd;
}

static void pipe_stats(void *be, int q, struct modvmm_net_stats *out)
{
	struct pipe_be *p = be;

	(void)q;
	if (p->io) {
		pipe_io_stats(p, out);
		return;
	}
	if (out->size < offsetof(struct modvmm_net_stats, rx_packets))
		return;
	out->tx_packets = atomic_load_explicit(&p->st_delivered, memory_order_relaxed);
	out->tx_dropped = atomic_load_explicit(&p->st_dropped, memory_order_relaxed);
}

/* Rendezvous with the device's fds: the guest's RX irqfds and RX doorbells go
 * to the peer.  The region (and so the geometry) is known from here on. */
int pipe_pt_begin(struct pipe_be *p, const struct modvmm_net_pt_cfg *cfg)
{
	struct nmport_rdv_fds mine = { .offer_pull = 0 };
	unsigned nr = p->geom.nr_rings;
	int ret;

	if (cfg->size < sizeof(*cfg) || cfg->nrings > MAX_PT_RINGS || cfg->nrings < 2 * nr)
		return -EINVAL;
	for (unsigned r = 0; r < MAX_PT_RINGS; r++) {
		p->kick_fds[r] = r < cfg->nrings ? cfg->kick_fds[r] : -1;
		p->irq_fds[r] = r < cfg->nrings ? cfg->irq_fds[r] : -1;
	}
	if (!p->rdv) {
		/* A joined region may have fewer ring pairs than asked: the fds of
		 * ring r follow the device's numbering, so send for the maximum. */
		for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++) {
			unsigned rxr = nr + i < cfg->nrings ? nr + i : 0;
			mine.rx_irq[i] = p->irq_fds[rxr];
			mine.rx_kick[i] = p->kick_fds[rxr];
			mine.tx_kick[i] = i < nr ? p->kick_fds[i] : -1;
			mine.tx_irq[i] = i < nr ? p->irq_fds[i] : -1;
		}
		if (p->peer_pull)
			mine.offer_pull = (1u << nr) - 1; /* rings without both fds are not offered */
		ret = nmport_rdv_open(NULL, p->name, &p->geom, &mine, &p->rdv);
		if (ret < 0)
			return fail(p, "pipe rendezvous", ret);
		p->reg = nmport_rdv_region(p->rdv);
		p->end = nmport_rdv_end(p->rdv);
		if (p->reg->mem.geom.nr_rings != nr) {
			nmport_rdv_close(p->rdv);
			p->rdv = NULL;
			return fail(p, "the live end of the pipe has a different number of rings", -EPROTO);
		}
		if (p->want_end >= 0 && (unsigned)p->want_end != p->end) {
			nmport_rdv_close(p->rdv);
			p->rdv = NULL;
			return fail(p, "the requested end of the pipe is taken", -EBUSY);
		}
	}
	struct nmport_view me, peer;
	nmport_region_view(p->reg, p->end, &me);
	nmport_region_view(p->reg, p->end ^ 1u, &peer);
	pt_engine_init(&p->eng, &me, &peer, p->irq_fds);
	link_publish(p);
	return 0;
}

static int pipe_pt_start(void *be, const struct modvmm_net_pt_cfg *cfg)
{
	struct pipe_be *p = be;
	int ret;

	if (p->pt_started || p->io)
		return -EBUSY;
	if ((ret = pipe_pt_begin(p, cfg)))
		return ret;
	p->pt_started = true;
	return 0;
}

static void pipe_pt_stop(void *be)
{
	((struct pipe_be *)be)->pt_started = false;
}

static int pipe_pt_info(void *be, struct modvmm_net_pt_info *out)
{
	struct pipe_be *p = be;
	const struct nmport_mem *m;

	if (!p->rdv)
		return -EAGAIN; /* pt_start() first: the rendezvous decides the region */
	if (out->size < offsetof(struct modvmm_net_pt_info, reserved))
		return -EINVAL;
	m = &p->reg->mem;
	out->num_tx_rings = out->num_rx_rings = m->geom.nr_rings;
	out->num_slots = m->geom.num_slots;
	out->buf_size = m->geom.buf_size;
	out->mem_fd = p->reg->fd;
	out->mem_offset = m->end[p->end].win_ofs;
	out->mem_size = m->end[p->end].win_size;
	out->mem_hva = p->reg->base + m->end[p->end].win_ofs;
	out->if_offset = m->end[p->end].nifp_ofs;
	out->csb_offset = m->end[p->end].csb_ofs;
	return 0;
}

static const struct modvmm_net_backend_ops pipe_ops = {
	.size = sizeof(struct modvmm_net_backend_ops),
	.version = MODVMM_NET_OPS_VERSION,
	.caps = pipe_caps,
	.attach = pipe_attach,
	.detach = pipe_detach,
	.link_up = pipe_link_up,
	.link_fd = pipe_link_fd,
	.stats = pipe_stats,
	.queue = pipe_queue,
	.set_vnet_hdr_len = pipe_set_vnet_hdr_len,
	.send = pipe_send,
	.tx_fd = pipe_tx_fd,
	.peek_len = pipe_peek_len,
	.recv = pipe_recv,
	.rx_fd = pipe_rx_fd,
	.pt_info = pipe_pt_info,
	.pt_start = pipe_pt_start,
	.pt_stop = pipe_pt_stop,
};

/* ---- lifecycle ----------------------------------------------------------------- */

static void pipe_destroy(void *priv)
{
	struct pipe_be *p = priv;

	if (!p)
		return;
	if (p->rdv)
		nmport_rdv_close(p->rdv);
	pipe_io_close(p);
	close_fds(p->pend_irq, NMPORT_MAX_RINGS);
	close_fds(p->pend_kick, NMPORT_MAX_RINGS);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	if (p->link_fd >= 0)
		close(p->link_fd);
	if (p->fe_link_fd >= 0)
		close(p->fe_link_fd);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->applied_cond);
	free(p);
}

static int cfg_u32(struct pipe_be *p, const char *key, uint32_t *out)
{
	uint64_t v;
	int ret = p->host->config_u64(p->dev, key, &v);

	if (ret)
		return fail(p, key, ret);
	if (v > UINT32_MAX)
		return fail(p, key, -ERANGE);
	*out = (uint32_t)v;
	return 0;
}

static int pipe_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct pipe_be *p = calloc(1, sizeof(*p));
	uint64_t us;
	int ret;

	if (!p)
		return -ENOMEM;
	p->host = host;
	p->dev = dev;
	p->stop_fd = p->link_fd = p->fe_link_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->applied_cond, NULL);
	for (unsigned i = 0; i < NMPORT_MAX_RINGS; i++)
		p->pend_irq[i] = p->pend_kick[i] = -1;
	pipe_io_init(p);
	*priv = p;
	const char *name = host->config_str(dev, "name");
	if (!name || !*name)
		name = host->instance_name(dev);
	if (!nmport_name_ok(name))
		return fail(p, "name: 1-63 characters from [A-Za-z0-9_.-], not starting with '.'", -EINVAL);
	const char *sw = host->config_str(dev, "switch");
	if (sw && *sw) {
		if (!pipe_switch_name_ok(sw) || strlen(sw) + 1 + strlen(name) >= NMPORT_NAME_MAX)
			return fail(p, "switch: 1-31 characters from [A-Za-z0-9_-], with the name 62 at most",
				    -EINVAL);
		size_t ls = strlen(sw), ln = strlen(name); /* both checked above */
		memcpy(p->switch_name, sw, ls + 1);
		memcpy(p->name, sw, ls);
		p->name[ls] = '.';
		memcpy(p->name + ls + 1, name, ln + 1);
	} else {
		snprintf(p->name, sizeof(p->name), "%s", name);
	}
	const char *end = host->config_str(dev, "end");
	p->want_end = !end || !strcmp(end, "auto") ? -1 : atoi(end);
	if ((ret = cfg_u32(p, "rings", &p->geom.nr_rings)) || (ret = cfg_u32(p, "slots", &p->geom.num_slots)) ||
	    (ret = cfg_u32(p, "buf_size", &p->geom.buf_size)))
		return ret;
	if (!nmport_geom_ok(&p->geom))
		return fail(p, "rings (1-16), slots (4-32768) or buf_size (64-32768, a multiple of 64)", -EINVAL);
	if ((ret = host->config_u64(dev, "busy_poll_us", &us)))
		return fail(p, "busy_poll_us", ret);
	p->busy_poll_ns = us * NSEC_PER_USEC;
	if ((ret = host->config_bool(dev, "peer_pull", &p->peer_pull)))
		return fail(p, "peer_pull", ret);
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->link_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->fe_link_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->stop_fd < 0 || p->link_fd < 0 || p->fe_link_fd < 0)
		return fail(p, "eventfd", -errno);
	return 0;
}

static int pipe_start(void *priv)
{
	struct pipe_be *p = priv;
	int ret;

	if (p->attached && !p->pt_started && (ret = pipe_io_start(p)))
		return ret; /* a packet I/O frontend (virtio-net) */
	if (!p->pt_started && !p->io)
		return 0; /* no device uses the pipe */
	if ((ret = p->host->thread_start(p->dev, "pipe-tx", worker, p)))
		return fail(p, "cannot start the pipe threads", ret);
	p->threads = true; /* the worker first: the control thread waits for it */
	if ((ret = p->host->thread_start(p->dev, "pipe-ctl", ctl_thread, p)))
		return fail(p, "cannot start the pipe threads", ret);
	/* on a switch: make sure it runs, now that pipe-ctl answers its join */
	return p->switch_name[0] ? pipe_switch_ensure(p) : 0;
}

static void pipe_stop(void *priv)
{
	struct pipe_be *p = priv;

	if (p->threads)
		(void)efd_signal(p->stop_fd);
}

_Static_assert(NMPORT_MAX_RINGS == 16 && NMPORT_MIN_SLOTS == 4 && NMPORT_MAX_SLOTS == 32768 &&
	       NMPORT_MIN_BUF_SIZE == 64 && NMPORT_MAX_BUF_SIZE == 32768, "the ranges of the keys below");

static int pipe_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	int ret = 0;
	const char *name = chk->config_str(c, "name");
	if (name && !nmport_name_ok(name)) {
		chk->error(c, "name", "1-63 characters from [A-Za-z0-9_.-], not starting with '.'");
		ret = -EINVAL;
	}
	const char *sw = chk->config_str(c, "switch");
	if (sw && *sw && !pipe_switch_name_ok(sw)) {
		chk->error(c, "switch", "1-31 characters from [A-Za-z0-9_-]");
		ret = -EINVAL;
	} else if (sw && *sw && name && strlen(sw) + 1 + strlen(name) >= NMPORT_NAME_MAX) {
		chk->error(c, "switch", "the port's pipe SWITCH.NAME is longer than %u characters",
			   NMPORT_NAME_MAX - 1);
		ret = -EINVAL;
	}
	uint64_t r = 0, s = 0, b = 0;
	struct nmport_mem m;
	if (sw && *sw && chk->config_u64(c, "rings", &r) == 0 && r != PIPE_SWITCH_RINGS) {
		chk->error(c, "rings", "a switch port has %u ring pair (modvmm-switch delivers on ring 0 only)",
			   PIPE_SWITCH_RINGS);
		ret = -EINVAL;
	}
	if (chk->config_u64(c, "buf_size", &b) == 0 && b % NMPORT_CACHE_LINE) {
		chk->error(c, "buf_size", "must be a multiple of %u", NMPORT_CACHE_LINE);
		ret = -EINVAL;
	} else if (!chk->config_u64(c, "rings", &r) && !chk->config_u64(c, "slots", &s) &&
	           !nmport_layout(&(struct nmport_geom){ .nr_rings = (uint32_t)r, .num_slots = (uint32_t)s,
	                                                 .buf_size = (uint32_t)b }, &m)) {
		chk->error(c, "slots", "rings * slots * buf_size is too large for one region");
		ret = -EINVAL;
	}
	return ret;
}

static const struct modvmm_key keys[] = {
	{ .name = "name", .type = MODVMM_KEY_STRING,
	  .help = "pipe name, met at RUNDIR/pipe/NAME.sock (default: the section name)" },
	{ .name = "switch", .type = MODVMM_KEY_STRING,
	  .help = "be port NAME of learning switch SWITCH instead (pipe SWITCH.NAME), starting "
		  "modvmm-switch SWITCH ($MODVMM_SWITCH or the installed one) when it is not running; "
		  "a switch port has one ring pair (rings = 1)" },
	{ .name = "end", .type = MODVMM_KEY_ENUM, .def = "auto", .choices = "auto|0|1",
	  .help = "which end to be: auto takes whichever is free; 0 or 1 refuse the other" },
	{ .name = "rings", .type = MODVMM_KEY_U64, .def = "1",
	  .help = "ring pairs per end when this end creates the pipe (a joiner must match)", .range = "1-16" },
	{ .name = "slots", .type = MODVMM_KEY_U64, .def = "1024",
	  .help = "slots per ring when this end creates the pipe", .range = "4-32768" },
	{ .name = "buf_size", .type = MODVMM_KEY_U64, .def = "2048",
	  .help = "bytes per packet buffer when this end creates the pipe, a multiple of 64",
	  .range = "64-32768" },
	{ .name = "busy_poll_us", .type = MODVMM_KEY_U64, .def = "50",
	  .help = "microseconds the TX engine polls an idle ring before it sleeps" },
	{ .name = "peer_pull", .type = MODVMM_KEY_BOOL, .def = "true",
	  .help = "let a peer that asks (modvmm-pktgen) move this end's TX rings into its RX rings "
		  "itself, in its receive loop, instead of this process's pipe-tx thread" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_NET_BACKEND,
	.name = "pipe",
	.description = "one end of a named zero-copy netmap pipe (ring passthrough for ptnetmap-memdev, "
		       "packet I/O for virtio-net)",
	.keys = keys,
	.create = pipe_create,
	.start = pipe_start,
	.stop = pipe_stop,
	.destroy = pipe_destroy,
	.validate = pipe_validate,
	.ops = &pipe_ops,
};
