/* SPDX-License-Identifier: MIT */
/*
 * One worker thread per queue pair.  It sleeps in poll() on the TX and RX
 * notify eventfds (ioeventfds: the guest's kick never exits to userspace), the
 * backend's readiness fds and its own wake-up eventfd, and it interrupts the
 * guest by writing the queue's MSI-X eventfd (an irqfd).  While it has work it
 * keeps the guest's kicks suppressed (EVENT_IDX or NO_NOTIFY) and re-enables
 * them, then checks once more, before sleeping.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "iov.h"
#include "net_stats.h"
#include "vnet.h"
#include "wakeup.h"

#define ETH_HLEN 14
#define NUM_BUFFERS_OFF 10               /* struct virtio_net_hdr: num_buffers (§5.1.6) */
#define BLOCKED_RETRY_MS 1

/* ---- RX filter (§5.1.6.5.1 and §5.1.6.5.2) ------------------------------------ */

bool vnet_filter_accept(const struct vnet_filter *f, const uint8_t *dst)
{
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	if (f->promisc || !memcmp(dst, bcast, ETH_ALEN))
		return true;
	unsigned from = 0, to = f->n_uni;
	if (dst[0] & 1) { /* multicast */
		if (f->allmulti || f->multi_overflow)
			return true;
		from = f->n_uni;
		to = f->n_uni + f->n_multi;
	} else if (f->alluni || !memcmp(dst, f->mac, ETH_ALEN)) {
		return true;
	}
	for (unsigned i = from; i < to; i++)
		if (!memcmp(dst, f->table[i], ETH_ALEN))
			return true;
	return false;
}

static void filter_refresh(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	unsigned gen = atomic_load_explicit(&n->filter_gen, memory_order_acquire);
	if (gen == p->filter_gen)
		return;
	pthread_mutex_lock(&n->flock);
	p->filter = n->filter;
	p->filter_gen = atomic_load(&n->filter_gen);
	pthread_mutex_unlock(&n->flock);
}

/* ---- notifications -------------------------------------------------------------- */

static void notify(struct vnet_pair *p, struct vq *vq, unsigned q, _Atomic uint64_t *irqs)
{
	if (vq_flush(vq) && vq_need_notify(vq)) {
		vpci_notify_queue(&p->n->pci, q);
		STAT_ADD(irqs, 1);
	}
}

static void broken(struct vnet_pair *p)
{
	vpci_needs_reset(&p->n->pci);
}

/* ---- TX: guest -> backend --------------------------------------------------------- */

static uint64_t gso_need(uint8_t gso_type)
{
	uint64_t need = gso_type & MODVMM_NET_GSO_ECN ? MODVMM_NET_OFF_TSO_ECN : 0;
	switch (gso_type & ~MODVMM_NET_GSO_ECN) {
	case MODVMM_NET_GSO_NONE: return need ? UINT64_MAX : 0;
	case MODVMM_NET_GSO_TCPV4: return need | MODVMM_NET_OFF_TSO4;
	case MODVMM_NET_GSO_TCPV6: return need | MODVMM_NET_OFF_TSO6;
	case MODVMM_NET_GSO_UDP: return need | MODVMM_NET_OFF_UFO;
	}
	return UINT64_MAX;
}

/* Is this a frame the driver may send with the features it negotiated? */
static bool tx_valid(const struct vnet_pair *p, const struct vq_elem *e)
{
	if (!e->nout || e->out_len < VNET_HDR_LEN + ETH_HLEN || e->out_len > VNET_HDR_LEN + MODVMM_NET_MAX_FRAME)
		return false;
	uint8_t h[2]; /* flags, gso_type */
	if (e->iov[0].iov_len >= sizeof(h))
		memcpy(h, e->iov[0].iov_base, sizeof(h));
	else
		iov_to_buf(e->iov, e->nout, 0, h, sizeof(h));
	if ((h[0] & MODVMM_NET_HDR_F_NEEDS_CSUM) && !p->csum)
		return false;
	uint64_t need = gso_need(h[1]);
	return !(need & ~p->tx_gso_ok);
}

/* Returns true when a full batch was taken (there may be more). */
static bool tx_run(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	unsigned popped = 0;
	while (p->ntx < VNET_TX_BATCH) {
		struct vq_elem *e = &p->txe[p->ntx];
		int r = vq_pop(p->tx, e);
		if (r < 0)
			broken(p);
		if (r <= 0)
			break;
		popped++;
		if (!tx_valid(p, e)) {
			vq_push(p->tx, e->head, 0);
			STAT_ADD(&p->st.tx_dropped, 1);
			continue;
		}
		p->ntx++;
	}
	struct modvmm_net_pkt pkts[VNET_TX_BATCH];
	for (unsigned i = 0; i < p->ntx; i++)
		pkts[i] = (struct modvmm_net_pkt){ .iov = p->txe[i].iov, .iovcnt = p->txe[i].nout,
		                                   .len = p->txe[i].out_len };
	unsigned sent = 0;
	while (sent < p->ntx) {
		int k = modvmm_net_send(&n->be, p->bq, pkts + sent, p->ntx - sent);
		if (k == -EAGAIN) {
			p->tx_blocked = true;
			break;
		}
		sent += k > 0 ? (unsigned)k : 1; /* other errors: the first frame was consumed */
	}
	for (unsigned i = 0; i < sent; i++)
		vq_push(p->tx, p->txe[i].head, 0);
	if (sent && sent < p->ntx)
		memmove(p->txe, p->txe + sent, (p->ntx - sent) * sizeof(*p->txe));
	p->ntx -= sent;
	STAT_ADD(&p->st.tx_packets, sent);
	notify(p, p->tx, p->txq, &p->st.tx_irqs);
	return popped == VNET_TX_BATCH && !p->tx_blocked;
}

/* ---- RX: backend -> guest ---------------------------------------------------------- */

static struct vq_elem *stash_at(struct vnet_pair *p, unsigned k)
{
	return &p->rxe[(p->rx_head + k) % VNET_RX_STASH];
}

/* Make sure the stash holds at least k + 1 usable chains; false when the
 * driver has no more buffers (or the stash is full). */
static bool stash_fill(struct vnet_pair *p, unsigned k)
{
	while (p->rx_count <= k) {
		if (p->rx_count == VNET_RX_STASH)
			return false;
		struct vq_elem *e = stash_at(p, p->rx_count);
		int r = vq_pop(p->rx, e);
		if (r < 0)
			broken(p);
		if (r <= 0)
			return false;
		if (!e->nin || e->in_len < VNET_HDR_LEN) { /* not a receive buffer */
			vq_push(p->rx, e->head, 0);
			STAT_ADD(&p->st.rx_dropped, 1);
			continue;
		}
		p->rx_count++;
	}
	return true;
}

static void stash_take(struct vnet_pair *p, unsigned k)
{
	p->rx_head = (p->rx_head + k) % VNET_RX_STASH;
	p->rx_count -= k;
}

/* Drop the backend's next frame (no room for it in the guest). */
static void rx_drop(struct vnet_pair *p)
{
	uint8_t scratch[1];
	struct iovec v = { scratch, sizeof(scratch) };
	modvmm_net_recv(&p->n->be, p->bq, &v, 1);
	STAT_ADD(&p->st.rx_dropped, 1);
}

static bool rx_accept(struct vnet_pair *p, const struct iovec *iov, unsigned cnt)
{
	uint8_t dst[ETH_ALEN];
	if (p->filter.promisc)
		return true;
	if (iov_to_buf(iov, cnt, VNET_HDR_LEN, dst, ETH_ALEN) != ETH_ALEN)
		return false;
	if (vnet_filter_accept(&p->filter, dst))
		return true;
	STAT_ADD(&p->st.rx_filtered, 1);
	return false;
}

static void set_num_buffers(const struct iovec *iov, unsigned cnt, uint16_t nb)
{
	iov_from_buf(iov, cnt, NUM_BUFFERS_OFF, &nb, sizeof(nb));
}

/* One frame into one chain.  Returns 1 delivered/dropped, 0 stop. */
static int rx_one(struct vnet_pair *p)
{
	if (!stash_fill(p, 0)) {
		p->rx_no_bufs = true;
		return 0;
	}
	struct vq_elem *e = stash_at(p, 0);
	const struct iovec *in = e->iov + e->nout;
	ssize_t len = modvmm_net_recv(&p->n->be, p->bq, in, e->nin);
	if (len == -EMSGSIZE) { /* the driver's buffers are smaller than the frame */
		STAT_ADD(&p->st.rx_dropped, 1);
		return 1;
	}
	if (len < 0)
		return 0;
	if (!rx_accept(p, in, e->nin))
		return 1; /* the chain stays for the next frame */
	set_num_buffers(in, e->nin, 1);
	vq_push(p->rx, e->head, (uint32_t)len);
	stash_take(p, 1);
	STAT_ADD(&p->st.rx_packets, 1);
	return 1;
}

/* One frame over as many chains as it needs (VIRTIO_NET_F_MRG_RXBUF, §5.1.6.4). */
static int rx_merged(struct vnet_pair *p)
{
	ssize_t len = modvmm_net_peek_len(&p->n->be, p->bq);
	if (len < 0)
		return 0;
	unsigned k = 0, cnt = 0;
	size_t room = 0;
	while (room < (size_t)len) {
		if (!stash_fill(p, k)) {
			if (p->rx_count < VNET_RX_STASH) {
				p->rx_no_bufs = true;
				return 0;
			}
			rx_drop(p); /* even every stashed chain is too small */
			return 1;
		}
		struct vq_elem *e = stash_at(p, k);
		if (cnt + e->nin > VNET_RX_IOV) {
			rx_drop(p);
			return 1;
		}
		memcpy(p->rx_iov + cnt, e->iov + e->nout, e->nin * sizeof(struct iovec));
		cnt += e->nin;
		room += e->in_len;
		k++;
	}
	len = modvmm_net_recv(&p->n->be, p->bq, p->rx_iov, cnt);
	if (len < 0)
		return len == -EMSGSIZE ? 1 : 0;
	if (!rx_accept(p, p->rx_iov, cnt))
		return 1;
	unsigned used = 0;
	for (size_t left = (size_t)len; (left || !used) && used < k; used++) {
		struct vq_elem *e = stash_at(p, used);
		uint32_t part = left < e->in_len ? (uint32_t)left : e->in_len;
		vq_push(p->rx, e->head, part);
		left -= part;
	}
	set_num_buffers(p->rx_iov, cnt, (uint16_t)used);
	stash_take(p, used);
	STAT_ADD(&p->st.rx_packets, 1);
	return 1;
}

/* Returns true when a full batch was delivered (there may be more). */
static bool rx_run(struct vnet_pair *p)
{
	filter_refresh(p);
	unsigned done = 0;
	while (done < VNET_RX_BATCH && (p->mrg ? rx_merged(p) : rx_one(p)))
		done++;
	notify(p, p->rx, p->rxq, &p->st.rx_irqs);
	return done == VNET_RX_BATCH;
}

/* ---- the thread ------------------------------------------------------------------------ */

/* Park until resumed; take the new state.  Returns false when stopping. */
static bool park(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	pthread_mutex_lock(&n->wlock);
	p->parked = true;
	pthread_cond_broadcast(&n->wcond);
	while (atomic_load(&p->pause) && !n->stopping)
		pthread_cond_wait(&n->wcond, &n->wlock);
	p->parked = false;
	bool go = !n->stopping;
	const struct vpci *v = &n->pci;
	p->tx_ok = n->live && p->tx->ready;
	p->rx_ok = n->live && p->rx->ready;
	p->active = p->idx < n->active_pairs;
	p->mrg = vpci_has(v, VIRTIO_NET_F_MRG_RXBUF);
	p->csum = vpci_has(v, VIRTIO_NET_F_CSUM);
	p->tx_gso_ok = (vpci_has(v, VIRTIO_NET_F_HOST_TSO4) ? MODVMM_NET_OFF_TSO4 : 0) |
	               (vpci_has(v, VIRTIO_NET_F_HOST_TSO6) ? MODVMM_NET_OFF_TSO6 : 0) |
	               (vpci_has(v, VIRTIO_NET_F_HOST_ECN) ? MODVMM_NET_OFF_TSO_ECN : 0) |
	               (vpci_has(v, VIRTIO_NET_F_HOST_UFO) ? MODVMM_NET_OFF_UFO : 0);
	p->tx_kick = v->q[p->txq].kick_fd;
	p->rx_kick = v->q[p->rxq].kick_fd;
	bool new_session = p->epoch != n->epoch;
	p->epoch = n->epoch;
	pthread_mutex_unlock(&n->wlock);
	if (new_session || !p->tx_ok || !p->rx_ok) { /* a reset: forget what was popped */
		p->ntx = 0;
		p->rx_head = p->rx_count = 0;
		p->tx_blocked = p->rx_no_bufs = false;
	}
	if (p->tx_ok)
		vq_disable_notify(p->tx);
	if (p->rx_ok)
		vq_disable_notify(p->rx);
	return go;
}

enum { FD_WAKE, FD_TX_KICK, FD_BE_TX, FD_RX_KICK, FD_BE_RX, NFDS };

static void wait_events(struct vnet_pair *p)
{
	struct vnet *n = p->n;
	struct pollfd fds[NFDS];
	for (unsigned i = 0; i < NFDS; i++)
		fds[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
	fds[FD_WAKE].fd = p->wake_efd;
	if (p->tx_ok && !p->tx_blocked)
		fds[FD_TX_KICK].fd = p->tx_kick;
	if (p->tx_ok && p->tx_blocked)
		fds[FD_BE_TX].fd = modvmm_net_tx_fd(&n->be, p->bq, &fds[FD_BE_TX].events);
	bool rx = p->rx_ok && p->active;
	if (rx && p->rx_no_bufs)
		fds[FD_RX_KICK].fd = p->rx_kick;
	if (rx && !p->rx_no_bufs)
		fds[FD_BE_RX].fd = modvmm_net_rx_fd(&n->be, p->bq);
	/* a backend that pushes back without a tx fd breaks its contract: retry soon */
	int timeout = p->tx_ok && p->tx_blocked && fds[FD_BE_TX].fd < 0 ? BLOCKED_RETRY_MS : -1;
	int r = poll(fds, NFDS, timeout);
	if (r == 0 && timeout >= 0)
		p->tx_blocked = false;
	if (r <= 0)
		return;
	STAT_ADD(&p->st.wakeups, 1);
	if (fds[FD_WAKE].revents)
		efd_drain(p->wake_efd);
	if (fds[FD_TX_KICK].revents)
		STAT_ADD(&p->st.tx_kicks, efd_drain(p->tx_kick));
	if (fds[FD_RX_KICK].revents) {
		STAT_ADD(&p->st.rx_kicks, efd_drain(p->rx_kick));
		p->rx_no_bufs = false;
	}
	if (fds[FD_BE_TX].revents)
		p->tx_blocked = false;
	if (p->tx_ok)
		vq_disable_notify(p->tx);
	if (rx && !p->rx_no_bufs)
		vq_disable_notify(p->rx);
}

/* Anything to do without sleeping?  Re-arms the guest's kicks first. */
static bool recheck(struct vnet_pair *p)
{
	if (p->tx_ok && !p->tx_blocked && vq_enable_notify(p->tx)) {
		vq_disable_notify(p->tx);
		return true;
	}
	if (p->rx_ok && p->active && p->rx_no_bufs && vq_enable_notify(p->rx)) {
		vq_disable_notify(p->rx);
		p->rx_no_bufs = false;
		return true;
	}
	return false;
}

static void pin(struct vnet_pair *p)
{
	if (p->cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(p->cpu, &set);
	int ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (ret)
		vnet_log(p->n, MODVMM_LOG_WARN, "%s: cannot pin to CPU %d: %s", p->name, p->cpu, strerror(ret));
}

static void *worker(void *arg)
{
	struct vnet_pair *p = arg;
	pin(p);
	uint64_t idle_since = 0;
	for (;;) {
		if (atomic_load(&p->pause) && !park(p))
			break;
		bool more = false;
		if (p->tx_ok && !p->tx_blocked)
			more |= tx_run(p);
		if (p->rx_ok && p->active && !p->rx_no_bufs)
			more |= rx_run(p);
		if (more) {
			idle_since = 0;
			continue;
		}
		if (p->n->poll_us) { /* busy-poll a little: the guest need not kick */
			uint64_t t = now_ns();
			if (!idle_since)
				idle_since = t;
			if (t - idle_since < p->n->poll_us * 1000ull) {
				if (p->rx_no_bufs && p->rx->ready && !p->rx->broken)
					p->rx_no_bufs = false;
				sched_yield();
				continue;
			}
		}
		idle_since = 0;
		if (recheck(p))
			continue;
		wait_events(p);
	}
	return NULL;
}

/* ---- control from the transport --------------------------------------------------------- */

int vnet_workers_init(struct vnet *n)
{
	for (unsigned i = 0; i < n->max_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];
		p->n = n;
		p->idx = i;
		snprintf(p->name, sizeof(p->name), "vnet-q%u", i);
		p->rxq = 2 * i;
		p->txq = 2 * i + 1;
		p->rx = &n->vqs[p->rxq];
		p->tx = &n->vqs[p->txq];
		p->bq = modvmm_net_queue(&n->be, i);
		atomic_init(&p->pause, true);
		p->wake_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		p->txe = calloc(VNET_TX_BATCH, sizeof(*p->txe));
		p->rxe = calloc(VNET_RX_STASH, sizeof(*p->rxe));
		p->rx_iov = calloc(VNET_RX_IOV, sizeof(*p->rx_iov));
		p->filter.promisc = true;
		if (p->wake_efd < 0 || !p->txe || !p->rxe || !p->rx_iov || !p->bq)
			return p->bq ? -ENOMEM : -EINVAL;
	}
	return 0;
}

int vnet_workers_start(struct vnet *n)
{
	for (unsigned i = 0; i < n->max_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];
		int ret = n->host->thread_start(n->dev, p->name, worker, p);
		if (ret) {
			vnet_log(n, MODVMM_LOG_ERROR, "cannot start %s: %s", p->name, strerror(-ret));
			return ret;
		}
		pthread_mutex_lock(&n->wlock);
		p->running = true;
		pthread_mutex_unlock(&n->wlock);
	}
	return 0;
}

void vnet_quiesce(struct vnet *n)
{
	pthread_mutex_lock(&n->wlock);
	n->live = false;
	for (unsigned i = 0; i < n->max_pairs; i++) {
		atomic_store(&n->pairs[i].pause, true);
		eventfd_write(n->pairs[i].wake_efd, 1);
	}
	for (unsigned i = 0; i < n->max_pairs; i++)
		while (n->pairs[i].running && !n->pairs[i].parked && !n->stopping)
			pthread_cond_wait(&n->wcond, &n->wlock);
	pthread_mutex_unlock(&n->wlock);
}

void vnet_resume(struct vnet *n)
{
	pthread_mutex_lock(&n->wlock);
	n->live = atomic_load(&n->pci.status) & VIRTIO_STATUS_DRIVER_OK;
	for (unsigned i = 0; i < n->max_pairs; i++)
		atomic_store(&n->pairs[i].pause, !n->live);
	pthread_cond_broadcast(&n->wcond);
	pthread_mutex_unlock(&n->wlock);
}

void vnet_workers_stop(struct vnet *n)
{
	pthread_mutex_lock(&n->wlock);
	n->stopping = true;
	pthread_cond_broadcast(&n->wcond);
	pthread_mutex_unlock(&n->wlock);
	for (unsigned i = 0; i < n->max_pairs; i++) {
		atomic_store(&n->pairs[i].pause, true);
		if (n->pairs[i].wake_efd >= 0)
			eventfd_write(n->pairs[i].wake_efd, 1);
	}
}

void vnet_workers_free(struct vnet *n)
{
	for (unsigned i = 0; i < n->max_pairs; i++) {
		struct vnet_pair *p = &n->pairs[i];
		if (p->wake_efd >= 0)
			close(p->wake_efd);
		p->wake_efd = -1;
		free(p->txe);
		free(p->rxe);
		free(p->rx_iov);
		p->txe = p->rxe = NULL;
		p->rx_iov = NULL;
	}
}
