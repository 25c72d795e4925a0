/* SPDX-License-Identifier: MIT */
/*
 * loopback: a net backend that returns every frame transmitted on queue pair k
 * to the receive side of the same pair, vnet header included.  Used by tests.
 *
 * Each queue pair owns a byte ring (`buffer` bytes) of variable-length records,
 * written by the TX side and read by the RX side without a lock (one producer,
 * one consumer).  A full ring pushes back: send() returns -EAGAIN until the RX
 * side frees room, and the tx_fd eventfd says when.  Partial checksums the
 * receiver did not enable (set_offloads) are completed in software; GSO frames
 * it cannot receive are dropped and counted.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#include "wakeup.h"
#include "iov.h"
#include "net_stats.h"
#include "netcsum.h"

#define LOOPBACK_MAX_QUEUES 8
#define REC_ALIGN 8u
#define REC_WRAP 0xffffffffu   /* record header: the rest of the ring is padding */
#define BUFFER_MIN (4u * (MODVMM_NET_MAX_FRAME + MODVMM_NET_HDR_LEN + 2 * REC_ALIGN))


struct rec {
	uint32_t len;          /* bytes of frame (vnet header included), or REC_WRAP */
	uint32_t reserved;
	uint8_t data[];
};

struct modvmm_net_queue {
	struct loopback *lb;
	uint8_t *buf;
	size_t cap;
	_Atomic uint64_t head;         /* bytes ever written (TX side) */
	_Atomic uint64_t tail;         /* bytes ever consumed (RX side) */
	int rx_efd, tx_efd;
	atomic_bool rx_waiting, tx_waiting;
	atomic_bool enabled;
	struct net_queue_stats st;
};

struct loopback {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	uint64_t buffer;
	bool tso;
	bool link;
	bool attached;
	unsigned nqueues;
	unsigned hdr_len;
	uint64_t rx_offloads;
	struct modvmm_net_queue q[LOOPBACK_MAX_QUEUES];
};

static size_t rec_size(uint32_t len)
{
	return (sizeof(struct rec) + len + REC_ALIGN - 1) & ~(size_t)(REC_ALIGN - 1);
}

static uint64_t lb_caps(void *be)
{
	struct loopback *lb = be;
	uint64_t caps = MODVMM_NET_CAP_PACKET_IO | MODVMM_NET_CAP_VNET_HDR | MODVMM_NET_CAP_MQ |
	                MODVMM_NET_CAP_LINK_STATE | MODVMM_NET_OFF_CSUM;
	if (lb->tso)
		caps |= MODVMM_NET_OFF_TSO4 | MODVMM_NET_OFF_TSO6 | MODVMM_NET_OFF_TSO_ECN | MODVMM_NET_OFF_UFO;
	return caps;
}

static unsigned lb_max_queues(void *be)
{
	return LOOPBACK_MAX_QUEUES;
}

static void queue_free(struct modvmm_net_queue *q)
{
	free(q->buf);
	if (q->rx_efd >= 0)
		close(q->rx_efd);
	if (q->tx_efd >= 0)
		close(q->tx_efd);
	*q = (struct modvmm_net_queue){ .rx_efd = -1, .tx_efd = -1 };
}

static void lb_detach(void *be)
{
	struct loopback *lb = be;
	for (unsigned i = 0; i < lb->nqueues; i++)
		queue_free(&lb->q[i]);
	lb->nqueues = 0;
	lb->attached = false;
}

static int lb_attach(void *be, const struct modvmm_net_attach *a)
{
	struct loopback *lb = be;
	if (lb->attached) {
		lb->host->log(lb->dev, MODVMM_LOG_ERROR, "already used by another device; %s cannot attach",
		              a->frontend ? a->frontend : "a device");
		return -EBUSY;
	}
	if (a->nqueues < 1 || a->nqueues > LOOPBACK_MAX_QUEUES) {
		lb->host->log(lb->dev, MODVMM_LOG_ERROR, "%u queue pairs requested; loopback has 1-%u",
		              a->nqueues, LOOPBACK_MAX_QUEUES);
		return -EINVAL;
	}
	lb->attached = true;
	lb->hdr_len = 0;
	lb->rx_offloads = 0;
	for (unsigned i = 0; i < a->nqueues; i++) {
		struct modvmm_net_queue *q = &lb->q[i];
		*q = (struct modvmm_net_queue){ .lb = lb, .cap = lb->buffer, .rx_efd = -1, .tx_efd = -1 };
		lb->nqueues = i + 1;
		atomic_init(&q->enabled, true);
		q->buf = aligned_alloc(REC_ALIGN, q->cap);
		q->rx_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		q->tx_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (!q->buf || q->rx_efd < 0 || q->tx_efd < 0) {
			lb_detach(lb);
			return -ENOMEM;
		}
	}
	return 0;
}

static struct modvmm_net_queue *lb_queue(void *be, unsigned idx)
{
	struct loopback *lb = be;
	return idx < lb->nqueues ? &lb->q[idx] : NULL;
}

/* Drop what is queued: the frames were stored with the old header length. */
static void flush(struct modvmm_net_queue *q)
{
	uint64_t t = atomic_load(&q->tail), h = atomic_load(&q->head);
	while (t != h) {
		struct rec *r = (struct rec *)(q->buf + t % q->cap);
		if (r->len == REC_WRAP) {
			t += q->cap - t % q->cap;
			continue;
		}
		t += rec_size(r->len);
		STAT_ADD(&q->st.rx_dropped, 1);
	}
	atomic_store(&q->tail, t);
}

static int lb_set_vnet_hdr_len(void *be, unsigned len)
{
	struct loopback *lb = be;
	if (len != 0 && len != MODVMM_NET_HDR_LEN_LEGACY && len != MODVMM_NET_HDR_LEN)
		return -EINVAL;
	if (len != lb->hdr_len)
		for (unsigned i = 0; i < lb->nqueues; i++)
			flush(&lb->q[i]);
	lb->hdr_len = len;
	return 0;
}

static int lb_set_offloads(void *be, uint64_t offloads)
{
	struct loopback *lb = be;
	if (offloads & ~(lb_caps(lb) & MODVMM_NET_OFF_MASK))
		return -ENOTSUP;
	lb->rx_offloads = offloads;
	return 0;
}

static int lb_queue_enable(struct modvmm_net_queue *q, bool enable)
{
	atomic_store(&q->enabled, enable);
	return 0;
}

static uint64_t gso_offload(uint8_t gso_type)
{
	switch (gso_type & ~MODVMM_NET_GSO_ECN) {
	case MODVMM_NET_GSO_TCPV4: return MODVMM_NET_OFF_TSO4;
	case MODVMM_NET_GSO_TCPV6: return MODVMM_NET_OFF_TSO6;
	case MODVMM_NET_GSO_UDP: return MODVMM_NET_OFF_UFO;
	}
	return 0;
}

/* Can the receiver take this frame as it is?  Returns false to drop it; clears
 * *needs_csum when the checksum must be completed in software. */
static bool rx_can_take(const struct loopback *lb, const struct modvmm_net_hdr *h, bool *needs_csum)
{
	*needs_csum = false;
	if (h->gso_type != MODVMM_NET_GSO_NONE) {
		uint64_t need = gso_offload(h->gso_type);
		if (h->gso_type & MODVMM_NET_GSO_ECN)
			need |= MODVMM_NET_OFF_TSO_ECN;
		if (!need || (need & ~lb->rx_offloads))
			return false;
	}
	if ((h->flags & MODVMM_NET_HDR_F_NEEDS_CSUM) && !(lb->rx_offloads & MODVMM_NET_OFF_CSUM))
		*needs_csum = true;
	return true;
}

/* Copy one frame into the ring.  Returns 1 stored, 0 dropped, -EAGAIN full. */
static int put(struct modvmm_net_queue *q, const struct modvmm_net_pkt *p)
{
	const struct loopback *lb = q->lb;
	size_t len = iov_size(p->iov, p->iovcnt);
	struct modvmm_net_hdr h = { 0 };
	bool soft_csum = false;
	if (len < lb->hdr_len || len > lb->hdr_len + MODVMM_NET_MAX_FRAME)
		return 0;
	if (lb->hdr_len) {
		iov_to_buf(p->iov, p->iovcnt, 0, &h, lb->hdr_len < sizeof(h) ? lb->hdr_len : sizeof(h));
		if (!rx_can_take(lb, &h, &soft_csum))
			return 0;
	}
	uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	size_t pos = head % q->cap, need = rec_size((uint32_t)len), to_end = q->cap - pos;
	size_t total = to_end < need ? to_end + need : need;
	if (q->cap - (head - atomic_load_explicit(&q->tail, memory_order_acquire)) < total)
		return -EAGAIN;
	if (to_end < need) {
		((struct rec *)(q->buf + pos))->len = REC_WRAP;
		head += to_end;
		pos = 0;
	}
	struct rec *r = (struct rec *)(q->buf + pos);
	r->len = (uint32_t)len;
	iov_to_buf(p->iov, p->iovcnt, 0, r->data, len);
	if (lb->hdr_len == MODVMM_NET_HDR_LEN)
		((struct modvmm_net_hdr *)r->data)->num_buffers = 0; /* the frontend's to fill */
	if (soft_csum) {
		if (netcsum_complete(r->data + lb->hdr_len, len - lb->hdr_len, h.csum_start, h.csum_offset))
			return 0;
		((struct modvmm_net_hdr *)r->data)->flags &= (uint8_t)~MODVMM_NET_HDR_F_NEEDS_CSUM;
	}
	atomic_store_explicit(&q->head, head + need, memory_order_release);
	return 1;
}

static int lb_send(struct modvmm_net_queue *q, const struct modvmm_net_pkt *pkts, unsigned n)
{
	unsigned done = 0;
	uint64_t bytes = 0, dropped = 0;
	while (done < n) {
		int r = put(q, &pkts[done]);
		if (r == -EAGAIN) {
			/* ask the RX side for a wake-up, then look once more */
			if (!atomic_load(&q->tx_waiting))
				efd_drain(q->tx_efd);
			atomic_store(&q->tx_waiting, true);
			atomic_thread_fence(memory_order_seq_cst); /* tx_waiting before tail */
			r = put(q, &pkts[done]);
			if (r == -EAGAIN)
				break;
		}
		if (r == 1)
			bytes += pkts[done].len;
		else
			dropped++;
		done++;
	}
	if (done) {
		STAT_ADD(&q->st.tx_packets, done - dropped);
		STAT_ADD(&q->st.tx_bytes, bytes);
		STAT_ADD(&q->st.tx_dropped, dropped);
		atomic_thread_fence(memory_order_seq_cst); /* head before rx_waiting */
		if (atomic_exchange(&q->rx_waiting, false))
			(void)efd_signal(q->rx_efd);
		return (int)done;
	}
	STAT_ADD(&q->st.tx_full, 1);
	return -EAGAIN;
}

static int lb_tx_fd(struct modvmm_net_queue *q, short *events)
{
	*events = POLLIN;
	return q->tx_efd;
}

/* The next record, skipping a wrap marker; NULL when the ring is empty. */
static struct rec *next(struct modvmm_net_queue *q)
{
	uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	if (t == atomic_load_explicit(&q->head, memory_order_acquire))
		return NULL;
	struct rec *r = (struct rec *)(q->buf + t % q->cap);
	if (r->len != REC_WRAP)
		return r;
	t += q->cap - t % q->cap;
	atomic_store_explicit(&q->tail, t, memory_order_release);
	if (t == atomic_load_explicit(&q->head, memory_order_acquire))
		return NULL;
	return (struct rec *)(q->buf + t % q->cap);
}

/* next(), or after arming the RX wake-up when the ring looks empty. */
static struct rec *next_or_wait(struct modvmm_net_queue *q)
{
	struct rec *r = next(q);
	if (r || !atomic_load(&q->enabled))
		return r;
	if (!atomic_load(&q->rx_waiting))
		efd_drain(q->rx_efd);
	atomic_store(&q->rx_waiting, true);
	atomic_thread_fence(memory_order_seq_cst); /* rx_waiting before head */
	return next(q);
}

static void consume(struct modvmm_net_queue *q, const struct rec *r)
{
	atomic_fetch_add_explicit(&q->tail, rec_size(r->len), memory_order_release);
	atomic_thread_fence(memory_order_seq_cst); /* tail before tx_waiting */
	if (atomic_exchange(&q->tx_waiting, false))
		(void)efd_signal(q->tx_efd);
}

static ssize_t lb_peek_len(struct modvmm_net_queue *q)
{
	struct rec *r = next_or_wait(q);
	return r ? (ssize_t)r->len : -EAGAIN;
}

static ssize_t lb_recv(struct modvmm_net_queue *q, const struct iovec *iov, unsigned iovcnt)
{
	struct rec *r = next_or_wait(q);
	if (!r)
		return -EAGAIN;
	ssize_t len = r->len;
	if (iov_size(iov, iovcnt) < r->len) {
		STAT_ADD(&q->st.rx_dropped, 1);
		len = -EMSGSIZE;
	} else {
		iov_from_buf(iov, iovcnt, 0, r->data, r->len);
		STAT_ADD(&q->st.rx_packets, 1);
		STAT_ADD(&q->st.rx_bytes, r->len);
	}
	consume(q, r);
	return len;
}

static int lb_rx_fd(struct modvmm_net_queue *q)
{
	return q->rx_efd;
}

static int lb_link_up(void *be)
{
	return ((struct loopback *)be)->link;
}

static void lb_stats(void *be, int qi, struct modvmm_net_stats *out)
{
	struct loopback *lb = be;
	struct modvmm_net_stats s = { 0 };
	for (unsigned i = 0; i < lb->nqueues; i++)
		if (net_stats_wanted(qi, i))
			net_stats_add(&s, &lb->q[i].st);
	net_stats_out(out, &s);
}

static const struct modvmm_net_backend_ops loopback_ops = {
	.size = sizeof(struct modvmm_net_backend_ops),
	.version = MODVMM_NET_OPS_VERSION,
	.caps = lb_caps,
	.max_queues = lb_max_queues,
	.attach = lb_attach,
	.detach = lb_detach,
	.queue = lb_queue,
	.set_vnet_hdr_len = lb_set_vnet_hdr_len,
	.set_offloads = lb_set_offloads,
	.queue_enable = lb_queue_enable,
	.send = lb_send,
	.tx_fd = lb_tx_fd,
	.peek_len = lb_peek_len,
	.recv = lb_recv,
	.rx_fd = lb_rx_fd,
	.link_up = lb_link_up,
	.stats = lb_stats,
};

static void lb_destroy(void *priv)
{
	struct loopback *lb = priv;
	if (!lb)
		return;
	lb_detach(lb);
	free(lb);
}

static int lb_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct loopback *lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	*lb = (struct loopback){ .host = host, .dev = dev };
	*priv = lb;
	const char *link = host->config_str(dev, "link");
	int ret = host->config_u64(dev, "buffer", &lb->buffer);
	if (!ret)
		ret = host->config_bool(dev, "tso", &lb->tso);
	if (ret)
		return ret;
	lb->link = !link || strcmp(link, "down") != 0;
	if (lb->buffer < BUFFER_MIN || lb->buffer > (1ull << 30)) {
		host->log(dev, MODVMM_LOG_ERROR, "buffer = %llu: must be between %u bytes and 1G",
		          (unsigned long long)lb->buffer, BUFFER_MIN);
		return -EINVAL;
	}
	lb->buffer &= ~(uint64_t)(REC_ALIGN - 1);
	return 0;
}

static int lb_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	uint64_t buffer = 0;
	if (chk->config_u64(c, "buffer", &buffer) == 0 && (buffer < BUFFER_MIN || buffer > (1ull << 30))) {
		chk->error(c, "buffer", "must be between %u bytes and 1G", BUFFER_MIN);
		return -EINVAL;
	}
	return 0;
}

static const struct modvmm_key keys[] = {
	{ .name = "buffer", .type = MODVMM_KEY_SIZE, .def = "1M",
	  .help = "bytes of frames held per queue pair before send() pushes back" },
	{ .name = "tso", .type = MODVMM_KEY_BOOL, .def = "false",
	  .help = "carry GSO frames (TSO4/TSO6/ECN/UFO) to receivers that enable them" },
	{ .name = "link", .type = MODVMM_KEY_ENUM, .def = "up", .choices = "up|down",
	  .help = "link state reported to the device" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_NET_BACKEND,
	.name = "loopback",
	.description = "returns every transmitted frame to the same queue pair",
	.keys = keys,
	.create = lb_create,
	.destroy = lb_destroy,
	.validate = lb_validate,
	.ops = &loopback_ops,
};
