/* SPDX-License-Identifier: MIT */
/*
 * Packet I/O over a pipe end (virtio-net over `plugin = pipe`): the backend is
 * the user of ring pair 0 of its end, the part a ptnetmap guest plays in ring
 * passthrough.  send() copies frames into TX slots (the vnet header stripped)
 * and kicks the worker's TX engine only when it sleeps; peek_len()/recv()
 * copy frames out of RX slots (a zero vnet header in front) and kick the
 * peer's engine only when it waits for room.  The peer sees plain Ethernet
 * frames, so a ptnetmap guest or modvmm-pktgen can sit on the other end.
 *
 * Threads: send()/tx_fd() on the frontend's TX thread own q->tx; peek_len(),
 * recv() and rx_fd() on its RX thread own q->rx; the worker (pipe.c) owns the
 * kernel side of the TX ring.  While the link is down send() drops frames, as
 * a NIC without carrier does.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "wakeup.h"
#include "iov.h"
#include "pipe.h"

#define RX_PUBLISH_EVERY 64u /* RX slots released between two publishes while busy */

void pipe_io_init(struct pipe_be *p)
{
	struct modvmm_net_queue *q = &p->q;

	q->p = p;
	q->tx_kick = q->tx_irq = q->rx_irq = q->rx_kick = -1;
}

void pipe_io_close(struct pipe_be *p)
{
	int *fds[] = { &p->q.tx_kick, &p->q.tx_irq, &p->q.rx_irq, &p->q.rx_kick };

	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Rendezvous with our own eventfds in the places of the device's: TX ring 0's
 * doorbell and completion irq, every RX ring's irq and doorbell (the peer
 * fills and watches RX ring i of our end; we use ring 0). */
int pipe_io_start(struct pipe_be *p)
{
	struct modvmm_net_queue *q = &p->q;
	int kick[MAX_PT_RINGS], irq[MAX_PT_RINGS];
	unsigned nr = p->geom.nr_rings;
	struct nmport_view me;
	int ret;

	q->tx_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->tx_irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->rx_irq = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->rx_kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->tx_kick < 0 || q->tx_irq < 0 || q->rx_irq < 0 || q->rx_kick < 0)
		return -errno;
	for (unsigned r = 0; r < 2 * nr; r++) {
		kick[r] = r < nr ? (r == 0 ? q->tx_kick : -1) : q->rx_kick;
		irq[r] = r < nr ? q->tx_irq : q->rx_irq;
	}
	struct modvmm_net_pt_cfg cfg = { .size = sizeof(cfg), .nrings = 2 * nr, .kick_fds = kick, .irq_fds = irq };
	if ((ret = pipe_pt_begin(p, &cfg)))
		return ret;
	nmport_region_view(p->reg, p->end, &me);
	nm_uring_attach(&q->tx, &me, 0);
	nm_uring_attach(&q->rx, &me, me.geom.nr_rings);
	p->io = true;
	return 0;
}

int pipe_set_vnet_hdr_len(void *be, unsigned len)
{
	struct pipe_be *p = be;

	if (len != 0 && len != MODVMM_NET_HDR_LEN_LEGACY && len != MODVMM_NET_HDR_LEN)
		return -EINVAL;
	p->q.hdr_len = len;
	return 0;
}

struct modvmm_net_queue *pipe_queue(void *be, unsigned idx)
{
	return idx == 0 ? &((struct pipe_be *)be)->q : NULL;
}

/* ---- TX ------------------------------------------------------------------------ */

static void tx_publish(struct modvmm_net_queue *q)
{
	if (nm_uring_publish(&q->tx))
		(void)efd_signal(q->tx_kick); /* the engine sleeps */
}

int pipe_send(struct modvmm_net_queue *q, const struct modvmm_net_pkt *pkts, unsigned n)
{
	struct nm_uring *u = &q->tx;
	unsigned done = 0;

	if (!q->p->io)
		return -ENOTCONN;
	if (!atomic_load_explicit(&q->p->up, memory_order_relaxed)) {
		STAT_ADD(&q->st.tx_dropped, n);
		return (int)n;
	}
	nm_uring_update(u);
	while (done < n) {
		const struct modvmm_net_pkt *pk = &pkts[done];

		if (nm_uring_space(u) == 0) {
			tx_publish(q);
			if (done)
				break;
			efd_drain(q->tx_irq); /* tx_fd() polls readable again after the next completion */
			if (nm_uring_prepare_sleep(u)) {
				STAT_ADD(&q->st.tx_full, 1);
				return -EAGAIN;
			}
			continue;
		}
		if (pk->len < q->hdr_len) {
			if (done)
				break;
			STAT_ADD(&q->st.tx_dropped, 1);
			return -EINVAL;
		}
		struct netmap_slot *s = nm_uring_slot(u, 0);
		uint8_t *buf = nm_uring_buf(u, NM_READ_ONCE(s->buf_idx));
		size_t flen = pk->len - q->hdr_len;

		done++;
		if (!buf || flen > u->buf_size) {
			STAT_ADD(&q->st.tx_dropped, 1); /* a peer's bad buffer, or a frame too big for one */
			continue;
		}
		flen = iov_to_buf(pk->iov, pk->iovcnt, q->hdr_len, buf, flen);
		NM_WRITE_ONCE(s->len, (uint16_t)flen);
		NM_WRITE_ONCE(s->flags, 0);
		nm_uring_advance(u, 1);
		STAT_ADD(&q->st.tx_packets, 1);
		STAT_ADD(&q->st.tx_bytes, flen);
	}
	tx_publish(q);
	return (int)done;
}

int pipe_tx_fd(struct modvmm_net_queue *q, short *events)
{
	*events = POLLIN;
	return q->tx_irq;
}

/* ---- RX ------------------------------------------------------------------------ */

static void rx_publish(struct modvmm_net_queue *q)
{
	q->rx_unpub = 0;
	if (nm_uring_publish(&q->rx))
		(void)efd_signal(q->rx_kick); /* the peer's engine waits for room */
}

/* The next valid RX slot at cur and its buffer, or NULL when none (the RX
 * irq armed).  Slots the peer filled with a bad buffer are skipped. */
static const uint8_t *rx_next(struct modvmm_net_queue *q, uint32_t *len)
{
	struct nm_uring *u = &q->rx;

	for (;;) {
		if (nm_uring_space(u) == 0 && nm_uring_update(u) == 0) {
			rx_publish(q);
			efd_drain(q->rx_irq); /* rx_fd() polls readable again on the next packet */
			if (nm_uring_prepare_sleep(u))
				return NULL;
			continue;
		}
		const uint8_t *buf = nm_uring_slot_buf(u, nm_uring_slot(u, 0), len);
		if (buf)
			return buf;
		STAT_ADD(&q->st.rx_dropped, 1);
		nm_uring_advance(u, 1);
		q->rx_unpub++;
	}
}

static void rx_consume(struct modvmm_net_queue *q)
{
	nm_uring_advance(&q->rx, 1);
	if (++q->rx_unpub >= RX_PUBLISH_EVERY || nm_uring_space(&q->rx) == 0)
		rx_publish(q);
}

ssize_t pipe_peek_len(struct modvmm_net_queue *q)
{
	uint32_t len;

	if (!q->p->io || !rx_next(q, &len))
		return -EAGAIN;
	return (ssize_t)len + q->hdr_len;
}

ssize_t pipe_recv(struct modvmm_net_queue *q, const struct iovec *iov, unsigned iovcnt)
{
	struct modvmm_net_hdr hdr;
	const uint8_t *buf;
	uint32_t len;

	if (!q->p->io || !(buf = rx_next(q, &len)))
		return -EAGAIN;
	if (iov_size(iov, iovcnt) < (size_t)len + q->hdr_len) {
		STAT_ADD(&q->st.rx_dropped, 1);
		rx_consume(q);
		return -EMSGSIZE;
	}
	memset(&hdr, 0, sizeof(hdr)); /* a complete frame: no offload asked */
	iov_from_buf(iov, iovcnt, 0, &hdr, q->hdr_len);
	iov_from_buf(iov, iovcnt, q->hdr_len, buf, len);
	rx_consume(q);
	STAT_ADD(&q->st.rx_packets, 1);
	STAT_ADD(&q->st.rx_bytes, len);
	return (ssize_t)len + q->hdr_len;
}

int pipe_rx_fd(struct modvmm_net_queue *q)
{
	return q->rx_irq;
}

void pipe_io_stats(struct pipe_be *p, struct modvmm_net_stats *out)
{
	struct modvmm_net_stats s = { 0 };

	net_stats_add(&s, &p->q.st);
	s.tx_dropped += atomic_load_explicit(&p->st_dropped, memory_order_relaxed);
	net_stats_out(out, &s);
}
