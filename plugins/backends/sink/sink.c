/* SPDX-License-Identifier: MIT */
/*
 * sink: a net backend that counts and drops every transmitted frame, and can
 * generate receive traffic: `rx_rate` frames per second per queue pair, each
 * `rx_size` bytes, to the broadcast address.  Used by benchmarks.
 *
 * A generated frame (after the vnet header, which is all zero):
 *   dst ff:ff:ff:ff:ff:ff, src 02:00:00:00:00:fe, ethertype 0x88b5 (IEEE 802
 *   local experimental), then a 64-bit big-endian sequence number, the 32-bit
 *   big-endian queue index, and bytes i & 0xff (i: offset in the frame) up to
 *   rx_size.  Only the sequence number changes from frame to frame.
 *
 * The generator owes rate * elapsed frames; at most `rx_backlog` of them wait,
 * the rest are counted in rx_dropped.  When nothing is owed, a one-shot timerfd
 * (the rx fd) fires when the next frame is due.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <modvmm/net.h>
#include <modvmm/plugin.h>

#include "iov.h"
#include "net_stats.h"
#include "wakeup.h"

#define SINK_MAX_QUEUES 8
#define NSEC_PER_SEC 1000000000ull
#define RATE_MAX NSEC_PER_SEC
#define ETH_HLEN 14
#define ETH_ALEN 6
#define SINK_ETHERTYPE 0x88b5          /* IEEE 802 local experimental ethertype 1 */
#define SEQ_OFF ETH_HLEN               /* sequence number */
#define QIDX_OFF (ETH_HLEN + 8)        /* queue index */
#define PATTERN_OFF (ETH_HLEN + 12)
#define RX_SIZE_MIN PATTERN_OFF


static const uint8_t sink_src_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xfe };

struct modvmm_net_queue {
	struct sink *s;
	unsigned idx;
	int tfd;                       /* timerfd: rx readiness */
	uint64_t t0;                   /* generator start, CLOCK_MONOTONIC ns */
	uint64_t owed_base;            /* frames accounted for (sent or dropped) */
	uint64_t owed_known;           /* frames known to be owed: no clock read for them */
	uint64_t seq;
	uint8_t *frame;                /* vnet header + frame template */
	struct net_queue_stats st;
};

struct sink {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	uint64_t rate, size, backlog;
	bool attached;
	unsigned nqueues;
	unsigned hdr_len;
	struct modvmm_net_queue q[SINK_MAX_QUEUES];
};

/* Frames due by time t: rate * (t - t0) / 1e9 without overflow (rate <= 1e9). */
static uint64_t due(const struct sink *s, const struct modvmm_net_queue *q, uint64_t t)
{
	uint64_t d = t - q->t0;
	return d / NSEC_PER_SEC * s->rate + d % NSEC_PER_SEC * s->rate / NSEC_PER_SEC;
}

static uint64_t sink_caps(void *be)
{
	return MODVMM_NET_CAP_PACKET_IO | MODVMM_NET_CAP_VNET_HDR | MODVMM_NET_CAP_MQ | MODVMM_NET_OFF_MASK;
}

static unsigned sink_max_queues(void *be)
{
	return SINK_MAX_QUEUES;
}

static void sink_detach(void *be)
{
	struct sink *s = be;
	for (unsigned i = 0; i < s->nqueues; i++) {
		struct modvmm_net_queue *q = &s->q[i];
		if (q->tfd >= 0)
			close(q->tfd);
		free(q->frame);
		*q = (struct modvmm_net_queue){ .tfd = -1 };
	}
	s->nqueues = 0;
	s->attached = false;
}

/* Fill the template: vnet header (zero) and the fixed part of the frame. */
static void build_template(struct sink *s, struct modvmm_net_queue *q)
{
	uint8_t *f = q->frame + s->hdr_len;
	memset(q->frame, 0, s->hdr_len);
	memset(f, 0xff, ETH_ALEN);
	memcpy(f + ETH_ALEN, sink_src_mac, ETH_ALEN);
	f[12] = SINK_ETHERTYPE >> 8;
	f[13] = SINK_ETHERTYPE & 0xff;
	for (unsigned b = 0; b < 4; b++)
		f[QIDX_OFF + b] = (uint8_t)(q->idx >> (24 - 8 * b));
	for (size_t i = PATTERN_OFF; i < s->size; i++)
		f[i] = (uint8_t)i;
}

static int sink_attach(void *be, const struct modvmm_net_attach *a)
{
	struct sink *s = be;
	if (s->attached) {
		s->host->log(s->dev, MODVMM_LOG_ERROR, "already used by another device; %s cannot attach",
		             a->frontend ? a->frontend : "a device");
		return -EBUSY;
	}
	if (a->nqueues < 1 || a->nqueues > SINK_MAX_QUEUES) {
		s->host->log(s->dev, MODVMM_LOG_ERROR, "%u queue pairs requested; sink has 1-%u", a->nqueues,
		             SINK_MAX_QUEUES);
		return -EINVAL;
	}
	s->attached = true;
	s->hdr_len = 0;
	uint64_t t = now_ns();
	for (unsigned i = 0; i < a->nqueues; i++) {
		struct modvmm_net_queue *q = &s->q[i];
		*q = (struct modvmm_net_queue){ .s = s, .idx = i, .t0 = t, .tfd = -1 };
		s->nqueues = i + 1;
		q->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		q->frame = calloc(1, MODVMM_NET_HDR_LEN + s->size);
		if (q->tfd < 0 || !q->frame) {
			sink_detach(s);
			return -ENOMEM;
		}
		build_template(s, q);
	}
	return 0;
}

static struct modvmm_net_queue *sink_queue(void *be, unsigned idx)
{
	struct sink *s = be;
	return idx < s->nqueues ? &s->q[idx] : NULL;
}

static int sink_set_vnet_hdr_len(void *be, unsigned len)
{
	struct sink *s = be;
	if (len != 0 && len != MODVMM_NET_HDR_LEN_LEGACY && len != MODVMM_NET_HDR_LEN)
		return -EINVAL;
	s->hdr_len = len;
	for (unsigned i = 0; i < s->nqueues; i++)
		build_template(s, &s->q[i]);
	return 0;
}

static int sink_set_offloads(void *be, uint64_t offloads)
{
	return (offloads & ~MODVMM_NET_OFF_MASK) ? -ENOTSUP : 0; /* nothing generated needs them */
}

static int sink_send(struct modvmm_net_queue *q, const struct modvmm_net_pkt *pkts, unsigned n)
{
	uint64_t bytes = 0;
	for (unsigned i = 0; i < n; i++)
		bytes += pkts[i].len;
	STAT_ADD(&q->st.tx_packets, n);
	STAT_ADD(&q->st.tx_bytes, bytes);
	return (int)n;
}

/* Frames owed now, at most rx_backlog (the excess is dropped); 0 arms the timer. */
static uint64_t owed(struct modvmm_net_queue *q)
{
	const struct sink *s = q->s;
	if (q->owed_known)
		return q->owed_known;
	if (!s->rate)
		return 0;
	uint64_t t = now_ns(), n = due(s, q, t) - q->owed_base;
	if (n > s->backlog) {
		STAT_ADD(&q->st.rx_dropped, n - s->backlog);
		q->owed_base += n - s->backlog;
		n = s->backlog;
	}
	if (n)
		return q->owed_known = n;
	uint64_t v;
	ssize_t r = read(q->tfd, &v, sizeof(v)); /* drain a past expiry */
	(void)r;
	/* first instant at which one more frame is due */
	uint64_t next = q->owed_base + 1;
	uint64_t at = q->t0 + next / s->rate * NSEC_PER_SEC + ((next % s->rate) * NSEC_PER_SEC + s->rate - 1) / s->rate;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(at / NSEC_PER_SEC),
	                                        .tv_nsec = (long)(at % NSEC_PER_SEC) } };
	timerfd_settime(q->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	n = due(s, q, now_ns()) - q->owed_base; /* the clock may have moved on meanwhile */
	return q->owed_known = n < s->backlog ? n : s->backlog;
}

static ssize_t sink_peek_len(struct modvmm_net_queue *q)
{
	return owed(q) ? (ssize_t)(q->s->hdr_len + q->s->size) : -EAGAIN;
}

static ssize_t sink_recv(struct modvmm_net_queue *q, const struct iovec *iov, unsigned iovcnt)
{
	const struct sink *s = q->s;
	if (!owed(q))
		return -EAGAIN;
	size_t len = s->hdr_len + s->size;
	q->owed_base++;
	if (q->owed_known)
		q->owed_known--;
	if (iov_size(iov, iovcnt) < len) {
		STAT_ADD(&q->st.rx_dropped, 1);
		return -EMSGSIZE;
	}
	uint8_t *f = q->frame + s->hdr_len;
	uint64_t seq = q->seq++;
	for (unsigned b = 0; b < 8; b++)
		f[SEQ_OFF + b] = (uint8_t)(seq >> (56 - 8 * b));
	iov_from_buf(iov, iovcnt, 0, q->frame, len);
	STAT_ADD(&q->st.rx_packets, 1);
	STAT_ADD(&q->st.rx_bytes, len);
	return (ssize_t)len;
}

static int sink_rx_fd(struct modvmm_net_queue *q)
{
	return q->tfd;
}

static void sink_stats(void *be, int qi, struct modvmm_net_stats *out)
{
	struct sink *s = be;
	struct modvmm_net_stats st = { 0 };
	for (unsigned i = 0; i < s->nqueues; i++)
		if (net_stats_wanted(qi, i))
			net_stats_add(&st, &s->q[i].st);
	net_stats_out(out, &st);
}

static const struct modvmm_net_backend_ops sink_ops = {
	.size = sizeof(struct modvmm_net_backend_ops),
	.version = MODVMM_NET_OPS_VERSION,
	.caps = sink_caps,
	.max_queues = sink_max_queues,
	.attach = sink_attach,
	.detach = sink_detach,
	.queue = sink_queue,
	.set_vnet_hdr_len = sink_set_vnet_hdr_len,
	.set_offloads = sink_set_offloads,
	.send = sink_send,
	.peek_len = sink_peek_len,
	.recv = sink_recv,
	.rx_fd = sink_rx_fd,
	.stats = sink_stats,
};

static void sink_destroy(void *priv)
{
	struct sink *s = priv;
	if (!s)
		return;
	sink_detach(s);
	free(s);
}

static int sink_create(const struct modvmm_host *host, struct modvmm_dev *dev, void **priv)
{
	struct sink *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct sink){ .host = host, .dev = dev };
	*priv = s;
	int ret = host->config_u64(dev, "rx_rate", &s->rate);
	if (!ret)
		ret = host->config_u64(dev, "rx_size", &s->size);
	if (!ret)
		ret = host->config_u64(dev, "rx_backlog", &s->backlog);
	if (ret)
		return ret;
	if (s->rate > RATE_MAX) {
		host->log(dev, MODVMM_LOG_ERROR, "rx_rate = %llu: at most %llu frames per second",
		          (unsigned long long)s->rate, RATE_MAX);
		return -EINVAL;
	}
	if (s->size < RX_SIZE_MIN || s->size > MODVMM_NET_MAX_FRAME) {
		host->log(dev, MODVMM_LOG_ERROR, "rx_size = %llu: must be between %u and %u bytes",
		          (unsigned long long)s->size, RX_SIZE_MIN, MODVMM_NET_MAX_FRAME);
		return -EINVAL;
	}
	if (s->backlog < 1) {
		host->log(dev, MODVMM_LOG_ERROR, "rx_backlog must be at least 1");
		return -EINVAL;
	}
	return 0;
}

/* The ranges below, written out for the schema */
_Static_assert(RX_SIZE_MIN == 26 && MODVMM_NET_MAX_FRAME == 65553 && RATE_MAX == 1000000000, "sink key ranges");

static int sink_validate(const struct modvmm_check_ops *chk, struct modvmm_check *c)
{
	uint64_t backlog = 1;
	if (chk->config_u64(c, "rx_backlog", &backlog) == 0 && backlog < 1) {
		chk->error(c, "rx_backlog", "must be at least 1");
		return -EINVAL;
	}
	return 0;
}

static const struct modvmm_key keys[] = {
	{ .name = "rx_rate", .type = MODVMM_KEY_U64, .def = "0",
	  .help = "frames per second generated per queue pair (0: none; 1000000000: as fast as taken)",
	  .range = "0-1000000000" },
	{ .name = "rx_size", .type = MODVMM_KEY_U64, .def = "64", .help = "bytes per generated frame",
	  .range = "26-65553" },
	{ .name = "rx_backlog", .type = MODVMM_KEY_U64, .def = "256",
	  .help = "generated frames that may wait for the guest; the excess is dropped" },
	{ 0 },
};

MODVMM_PLUGIN_DEFINE = {
	MODVMM_PLUGIN_ABI,
	.kind = MODVMM_KIND_NET_BACKEND,
	.name = "sink",
	.description = "counts and drops transmitted frames; can generate receive traffic",
	.keys = keys,
	.create = sink_create,
	.destroy = sink_destroy,
	.validate = sink_validate,
	.ops = &sink_ops,
};
