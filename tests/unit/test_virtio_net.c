/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net device against the fake host and a recording backend (an ops
 * table that keeps what was sent and hands out injected frames): PCI layout,
 * feature negotiation, TX and RX with and without mergeable buffers, the
 * control queue, device reset, hostile rings, the PCI_CFG window, configuration
 * interrupts on link changes.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "net_fake.h"
#include "virtio.h"
#include "virtio_pci.h"
#include "vring_drv.h"

extern const struct modvmm_plugin modvmm_plugin;

#define RAM_SIZE (8u << 20)
#define RING_BASE 0x10000
#define RING_STRIDE 0x8000
#define BUF_BASE 0x200000
#define BUF_STRIDE 0x40000
#define SLOT 4096
#define WAIT_MS 3000
#define REC_FRAMES 32
#define REC_FRAME_MAX 2048

/* ---- the recording backend ------------------------------------------------------ */

struct modvmm_net_queue {
	pthread_mutex_t lock;
	uint8_t tx[REC_FRAMES][REC_FRAME_MAX];
	size_t tx_len[REC_FRAMES];
	unsigned ntx;
	uint8_t rx[REC_FRAMES][REC_FRAME_MAX];
	size_t rx_len[REC_FRAMES];
	unsigned rx_head, rx_tail;
	int rx_efd;
	bool enabled;
	unsigned enable_calls;
};

struct rec_be {
	uint64_t caps;
	unsigned nq;
	unsigned hdr_len;
	uint64_t offloads;
	int link;
	int link_efd;                     /* link_fd(): written by the test on each change */
	bool attached;
	struct modvmm_net_queue q[8];
	uint64_t peer_features;           /* vq_features(), with MODVMM_NET_CAP_VQ_OFFLOAD */
	uint64_t vq_features_set;
};

static uint64_t rb_caps(void *be) { return ((struct rec_be *)be)->caps; }
static unsigned rb_max_queues(void *be) { return 8; }

static int rb_attach(void *be, const struct modvmm_net_attach *a)
{
	struct rec_be *b = be;
	b->nq = a->nqueues;
	b->attached = true;
	for (unsigned i = 0; i < 8; i++) {
		pthread_mutex_init(&b->q[i].lock, NULL);
		b->q[i].rx_efd = eventfd(0, EFD_NONBLOCK);
		b->q[i].enabled = true;
	}
	return 0;
}

static void rb_detach(void *be)
{
	struct rec_be *b = be;
	for (unsigned i = 0; i < 8; i++) {
		close(b->q[i].rx_efd);
		pthread_mutex_destroy(&b->q[i].lock);
	}
	b->attached = false;
}

static struct modvmm_net_queue *rb_queue(void *be, unsigned i) { return &((struct rec_be *)be)->q[i]; }

static int rb_set_hdr(void *be, unsigned len)
{
	((struct rec_be *)be)->hdr_len = len;
	return 0;
}

static int rb_set_off(void *be, uint64_t off)
{
	((struct rec_be *)be)->offloads = off;
	return 0;
}

static int rb_queue_enable(struct modvmm_net_queue *q, bool en)
{
	q->enabled = en;
	q->enable_calls++;
	return 0;
}

static int rb_send(struct modvmm_net_queue *q, const struct modvmm_net_pkt *p, unsigned n)
{
	pthread_mutex_lock(&q->lock);
	for (unsigned i = 0; i < n; i++) {
		if (q->ntx < REC_FRAMES && p[i].len <= REC_FRAME_MAX) {
			size_t off = 0;
			for (unsigned k = 0; k < p[i].iovcnt; k++) {
				memcpy(q->tx[q->ntx] + off, p[i].iov[k].iov_base, p[i].iov[k].iov_len);
				off += p[i].iov[k].iov_len;
			}
			q->tx_len[q->ntx++] = off;
		}
	}
	pthread_mutex_unlock(&q->lock);
	return (int)n;
}

static ssize_t rb_take(struct modvmm_net_queue *q, const struct iovec *iov, unsigned cnt, bool peek)
{
	pthread_mutex_lock(&q->lock);
	if (q->rx_head == q->rx_tail) {
		uint64_t v;
		ssize_t r = read(q->rx_efd, &v, sizeof(v));
		(void)r;
		pthread_mutex_unlock(&q->lock);
		return -EAGAIN;
	}
	unsigned i = q->rx_head % REC_FRAMES;
	ssize_t len = (ssize_t)q->rx_len[i];
	if (!peek) {
		size_t room = 0;
		for (unsigned k = 0; k < cnt; k++)
			room += iov[k].iov_len;
		q->rx_head++;
		if ((size_t)len > room) {
			len = -EMSGSIZE;
		} else {
			size_t off = 0;
			for (unsigned k = 0; k < cnt && off < (size_t)len; k++) {
				size_t c = iov[k].iov_len < (size_t)len - off ? iov[k].iov_len : (size_t)len - off;
				memcpy(iov[k].iov_base, q->rx[i] + off, c);
				off += c;
			}
		}
	}
	pthread_mutex_unlock(&q->lock);
	return len;
}

static ssize_t rb_peek(struct modvmm_net_queue *q) { return rb_take(q, NULL, 0, true); }
static ssize_t rb_recv(struct modvmm_net_queue *q, const struct iovec *iov, unsigned n) { return rb_take(q, iov, n, false); }
static int rb_rx_fd(struct modvmm_net_queue *q) { return q->rx_efd; }
static int rb_link(void *be) { return ((struct rec_be *)be)->link; }
static int rb_link_fd(void *be) { return ((struct rec_be *)be)->link_efd; }

/* Virtqueue offload (a vhost-user peer), enough to negotiate features. */
static uint64_t rb_vq_features(void *be) { return ((struct rec_be *)be)->peer_features; }
static int rb_vq_set_features(void *be, uint64_t f)
{
	((struct rec_be *)be)->vq_features_set = f;
	return 0;
}
static int rb_vq_set_mem(void *be, const struct modvmm_mem_region *r, unsigned n) { return 0; }
static int rb_vq_start(void *be, unsigned vq, const struct modvmm_net_vring *vr) { return 0; }
static int rb_vq_stop(void *be, unsigned vq, uint16_t *next_avail) { return 0; }

static const struct modvmm_net_backend_ops rec_ops = {
	.size = sizeof(struct modvmm_net_backend_ops), .version = MODVMM_NET_OPS_VERSION,
	.caps = rb_caps, .max_queues = rb_max_queues, .attach = rb_attach, .detach = rb_detach, .queue = rb_queue,
	.set_vnet_hdr_len = rb_set_hdr, .set_offloads = rb_set_off, .queue_enable = rb_queue_enable,
	.send = rb_send, .peek_len = rb_peek, .recv = rb_recv, .rx_fd = rb_rx_fd, .link_up = rb_link,
	.link_fd = rb_link_fd, .vq_features = rb_vq_features, .vq_set_features = rb_vq_set_features,
	.vq_set_mem = rb_vq_set_mem, .vq_start = rb_vq_start, .vq_stop = rb_vq_stop,
};

static const struct modvmm_plugin rec_desc = {
	MODVMM_PLUGIN_ABI, .kind = MODVMM_KIND_NET_BACKEND, .name = "recorder", .ops = &rec_ops,
};

/* Queue a frame (vnet header included) for the device to receive. */
static void inject(struct modvmm_net_queue *q, const void *frame, size_t len)
{
	pthread_mutex_lock(&q->lock);
	unsigned i = q->rx_tail++ % REC_FRAMES;
	memcpy(q->rx[i], frame, len);
	q->rx_len[i] = len;
	pthread_mutex_unlock(&q->lock);
	eventfd_write(q->rx_efd, 1);
}

/* ---- the device under test and a driver for it ------------------------------------ */

struct dut {
	struct fake_host f;
	struct rec_be be;
	void *priv;
	struct vring_drv q[17];
	unsigned nq;
	uint64_t features;
	bool started;
};

static uint64_t dut_peer_features; /* what the next dut's backend gives vq_features() */

static int dut_create(struct dut *d, uint64_t caps, ...)
{
	memset(d, 0, sizeof(*d));
	fake_init(&d->f, RAM_SIZE, "backend", "net0", NULL);
	va_list ap;
	va_start(ap, caps);
	const char *k;
	while ((k = va_arg(ap, const char *)))
		fake_set_key(&d->f, k, va_arg(ap, const char *));
	va_end(ap);
	for (const struct modvmm_key *key = modvmm_plugin.keys; key->name; key++)
		if (key->def && !d->f.host.config_str(fake_dev(&d->f), key->name))
			fake_set_key(&d->f, key->name, key->def);
	d->be = (struct rec_be){ .caps = caps, .link = 1, .link_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
	                         .peer_features = dut_peer_features };
	d->f.backend_desc = &rec_desc;
	d->f.backend_priv = &d->be;
	int ret = modvmm_plugin.create(&d->f.host, fake_dev(&d->f), &d->priv);
	if (!ret) {
		ret = modvmm_plugin.start(d->priv);
		d->started = true;
	}
	return ret;
}

static void dut_destroy(struct dut *d)
{
	if (d->started)
		modvmm_plugin.stop(d->priv);
	fake_join_threads(&d->f);
	modvmm_plugin.destroy(d->priv);
	fake_free(&d->f);
	if (d->be.link_efd >= 0)
		close(d->be.link_efd);
	d->be.link_efd = -1;
}

static uint64_t rd(struct dut *d, uint64_t off, unsigned size)
{
	return d->f.bars[VPCI_BAR].ops->read(d->f.bars[VPCI_BAR].opaque, off, size);
}

static void wr(struct dut *d, uint64_t off, unsigned size, uint64_t v)
{
	d->f.bars[VPCI_BAR].ops->write(d->f.bars[VPCI_BAR].opaque, off, size, v);
}

static uint64_t device_features(struct dut *d)
{
	wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	uint64_t f = rd(d, VIRTIO_PCI_COMMON_DF, 4);
	wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	return f | rd(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

/* §3.1.1 steps 1-6; returns the status read back after FEATURES_OK. */
static uint8_t negotiate(struct dut *d, uint64_t want)
{
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	d->features = want;
	wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)want);
	wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)(want >> 32));
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return (uint8_t)rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

static void setup_queue(struct dut *d, unsigned qi, uint16_t num)
{
	uint64_t base = RING_BASE + (uint64_t)qi * RING_STRIDE;
	drv_init(&d->q[qi], d->f.ram, num, base, base + 0x1000, base + 0x2000);
	wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, qi);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_NOFF, 2), qi);
	wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, num);
	wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, base);          /* a 64-bit write ... */
	wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, base + 0x1000); /* ... and 32-bit halves */
	wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
	wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, base + 0x2000);
	wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
	wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, qi + 1);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_MSIX, 2), qi + 1);
	wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

/* Negotiate `want`, set up nq queues of `num` entries, DRIVER_OK. */
static void bring_up(struct dut *d, uint64_t want, unsigned nq, uint16_t num)
{
	assert_true(negotiate(d, want) & VIRTIO_STATUS_FEATURES_OK);
	wr(d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	d->nq = nq;
	for (unsigned i = 0; i < nq; i++)
		setup_queue(d, i, num);
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DRIVER_OK, VIRTIO_STATUS_DRIVER_OK);
}

static void kick(struct dut *d, unsigned qi)
{
	for (unsigned i = 0; i < d->f.nbells; i++)
		if (d->f.bells[i].offset == VPCI_NOTIFY_OFF + qi * VPCI_NOTIFY_MULT) {
			eventfd_write(d->f.bells[i].fd, 1);
			return;
		}
	fail_msg("no doorbell for queue %u", qi);
}

/* Wait for queue qi's MSI-X vector (qi + 1). */
static bool wait_irq(struct dut *d, unsigned vec)
{
	if (!fake_poll(d->f.msix_fd[vec], POLLIN, WAIT_MS))
		return false;
	fake_efd_read(d->f.msix_fd[vec]);
	return true;
}

/* Wait until the device returned `n` more used entries on queue qi. */
static void wait_used(struct dut *d, unsigned qi, uint16_t n)
{
	uint16_t want = (uint16_t)(d->q[qi].last_used + n);
	for (unsigned tries = 0; (uint16_t)(drv_used_idx(&d->q[qi]) - want) > 0x7fff; tries++) {
		*drv_used_event(&d->q[qi]) = (uint16_t)(want - 1);
		if (drv_used_idx(&d->q[qi]) == want)
			break;
		if (!wait_irq(d, qi + 1) || tries > 100)
			fail_msg("queue %u: used idx %u, expected %u", qi, drv_used_idx(&d->q[qi]), want);
	}
}

static uint64_t buf_gpa(unsigned qi, unsigned slot)
{
	return BUF_BASE + (uint64_t)qi * BUF_STRIDE + (uint64_t)slot * SLOT;
}

static uint8_t *buf(struct dut *d, unsigned qi, unsigned slot)
{
	return d->f.ram + buf_gpa(qi, slot);
}

static const uint64_t base_features = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                                      VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) |
                                      VIRTIO_BIT(VIRTIO_NET_F_CTRL_RX);
static const uint64_t all_offloads = MODVMM_NET_OFF_CSUM | MODVMM_NET_OFF_TSO4 | MODVMM_NET_OFF_TSO6;
static const uint64_t be_caps = MODVMM_NET_CAP_PACKET_IO | MODVMM_NET_CAP_VNET_HDR | MODVMM_NET_CAP_MQ;

/* An Ethernet frame after a zero vnet header: dst, src, ethertype 0x88b5, pattern. */
static size_t frame(uint8_t *p, const uint8_t *dst, size_t len, unsigned seed)
{
	memset(p, 0, VIRTIO_NET_CFG_SIZE);
	uint8_t *f = p + MODVMM_NET_HDR_LEN;
	memcpy(f, dst, 6);
	memcpy(f + 6, (uint8_t[]){ 2, 0, 0, 0, 0, 9 }, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i);
	return MODVMM_NET_HDR_LEN + len;
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- tests ------------------------------------------------------------------------------- */

static void pci_layout(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, "queues", "2", NULL), 0);
	assert_true(d->f.pci_registered);
	assert_int_equal(d->f.pci_id.vendor, 0x1af4);
	assert_int_equal(d->f.pci_id.device, 0x1041);
	assert_int_equal(d->f.pci_id.class_code, 0x02);
	assert_int_equal(d->f.bars[VPCI_BAR].type, MODVMM_BAR_MEM32);
	assert_int_equal(d->f.bars[VPCI_BAR].backing, MODVMM_BAR_TRAPPED);
	assert_int_equal(d->f.bars[VPCI_MSIX_BAR].type, MODVMM_BAR_MEM32);
	unsigned seen = 0;
	for (unsigned i = 0; i < d->f.ncaps; i++) {
		const struct fake_cap *c = &d->f.caps[i];
		if (c->id != PCI_CAP_ID_VNDR)
			continue;
		struct virtio_pci_cap_body b;
		memcpy(&b, c->body, c->len < sizeof(b) ? c->len : sizeof(b));
		seen |= 1u << b.cfg_type;
		if (b.cfg_type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			assert_int_equal(b.cap_len, VIRTIO_PCI_NOTIFY_CAP_LEN);
			assert_int_equal(b.notify_off_multiplier, VPCI_NOTIFY_MULT);
			assert_int_equal(b.length, 5 * VPCI_NOTIFY_MULT);
		}
		if (b.cfg_type == VIRTIO_PCI_CAP_COMMON_CFG)
			assert_int_equal(b.length, VIRTIO_PCI_COMMON_SIZE);
	}
	assert_int_equal(seen, 0x3e); /* types 1-5 */
	assert_int_equal(d->f.msix_nvec, 6);   /* config + 5 queues */
	assert_int_equal(d->f.nbells, 5);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_NUMQ, 2), 5);
	/* device configuration: MAC, link status, pairs, MTU */
	uint8_t mac[6];
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)rd(d, VPCI_DEVCFG_OFF + i, 1);
	assert_int_equal(mac[0], 0x52);
	assert_int_equal(rd(d, VPCI_DEVCFG_OFF + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(rd(d, VPCI_DEVCFG_OFF + VIRTIO_NET_CFG_MAX_PAIRS, 2), 2);
	assert_int_equal(rd(d, VPCI_DEVCFG_OFF + VIRTIO_NET_CFG_MTU, 2), 1500);
	d->be.link = 0;
	assert_int_equal(rd(d, VPCI_DEVCFG_OFF + VIRTIO_NET_CFG_STATUS, 2), 0);
	/* the PCI_CFG window reads BAR0 through configuration space (§4.1.4.9) */
	unsigned cap = 0;
	for (unsigned i = 0; i < d->f.ncaps; i++)
		if (d->f.caps[i].id == PCI_CAP_ID_VNDR && d->f.caps[i].body[1] == VIRTIO_PCI_CAP_PCI_CFG)
			cap = d->f.caps[i].offset;
	assert_true(cap);
	fake_cfg_write(&d->f, cap + VIRTIO_PCI_CAP_BAR, 1, 0);
	fake_cfg_write(&d->f, cap + VIRTIO_PCI_CAP_OFFSET, 4, VIRTIO_PCI_COMMON_NUMQ);
	fake_cfg_write(&d->f, cap + VIRTIO_PCI_CAP_LENGTH, 4, 2);
	assert_int_equal(fake_cfg_read(&d->f, cap + VIRTIO_PCI_CFG_DATA, 2), 5);
	assert_int_equal(fake_cfg_read(&d->f, cap + VIRTIO_PCI_CAP_OFFSET, 4), VIRTIO_PCI_COMMON_NUMQ);
	dut_destroy(d);
	free(d);
}

static void features(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	/* a backend without offloads: none offered */
	assert_int_equal(dut_create(d, be_caps, NULL), 0);
	uint64_t f = device_features(d);
	assert_true(f & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX));
	assert_true(f & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MTU));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_MQ));          /* one pair */
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4));
	/* refusals: VERSION_1 missing, a bit not offered, a broken dependency */
	assert_false(negotiate(d, VIRTIO_BIT(VIRTIO_NET_F_MAC)) & VIRTIO_STATUS_FEATURES_OK);
	assert_false(negotiate(d, base_features | VIRTIO_BIT(VIRTIO_NET_F_CSUM)) & VIRTIO_STATUS_FEATURES_OK);
	assert_true(negotiate(d, base_features) & VIRTIO_STATUS_FEATURES_OK);
	/* features are fixed after FEATURES_OK */
	wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(d, VIRTIO_PCI_COMMON_GF, 4, 0);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_GF, 4), (uint32_t)base_features);
	dut_destroy(d);

	/* a backend that carries offloads: offered in both directions */
	assert_int_equal(dut_create(d, be_caps | all_offloads, "queues", "4", NULL), 0);
	f = device_features(d);
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_MQ));
	assert_false(negotiate(d, base_features | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4)) & VIRTIO_STATUS_FEATURES_OK);
	assert_false(negotiate(d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_MQ)) &
	             VIRTIO_STATUS_FEATURES_OK);
	uint64_t want = base_features | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4);
	bring_up(d, want, 9, 8);
	/* DRIVER_OK told the backend the header length and what the guest can take */
	assert_int_equal(d->be.hdr_len, MODVMM_NET_HDR_LEN);
	assert_int_equal(d->be.offloads, MODVMM_NET_OFF_CSUM | MODVMM_NET_OFF_TSO4);
	assert_false(d->be.q[1].enabled); /* one pair until VQ_PAIRS_SET */
	assert_true(d->be.q[0].enabled);
	dut_destroy(d);

	/* offloads = false: none offered even though the backend could */
	assert_int_equal(dut_create(d, be_caps | all_offloads, "offloads", "false", "mrg_rxbuf", "false", NULL), 0);
	f = device_features(d);
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF));
	dut_destroy(d);
	free(d);
}

static void tx_frames(struct dut *d, unsigned txq, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		size_t len = frame(buf(d, txq, i), bcast, 60 + 500 * i, i);
		/* header and frame in two descriptors */
		drv_add(&d->q[txq], (struct drv_buf[]){ { buf_gpa(txq, i), MODVMM_NET_HDR_LEN, false },
		                                        { buf_gpa(txq, i) + MODVMM_NET_HDR_LEN,
		                                          (uint32_t)(len - MODVMM_NET_HDR_LEN), false } }, 2);
	}
	kick(d, txq);
	wait_used(d, txq, (uint16_t)count);
	uint32_t id = 0, len = 0;
	for (unsigned i = 0; i < count; i++)
		assert_true(drv_get_used(&d->q[txq], &id, &len));
}

static void traffic(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, "mrg_rxbuf", "true", NULL), 0);
	bring_up(d, base_features | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF), 3, 16);
	/* TX: three frames reach the backend intact */
	tx_frames(d, 1, 3);
	struct modvmm_net_queue *bq = &d->be.q[0];
	assert_int_equal(bq->ntx, 3);
	for (unsigned i = 0; i < 3; i++) {
		uint8_t want[2048];
		size_t len = frame(want, bcast, 60 + 500 * i, i);
		assert_int_equal(bq->tx_len[i], len);
		assert_memory_equal(bq->tx[i], want, len);
	}
	/* RX with mergeable buffers: a 1514-byte frame over 512-byte buffers */
	for (unsigned i = 0; i < 8; i++)
		drv_add(&d->q[0], (struct drv_buf[]){ { buf_gpa(0, i), 512, true } }, 1);
	kick(d, 0);
	uint8_t f[2048];
	size_t len = frame(f, bcast, 1514, 7);
	inject(bq, f, len);
	wait_used(d, 0, 3);
	uint32_t id = 0, ulen = 0, total = 0;
	uint8_t got[2048];
	for (unsigned i = 0; i < 3; i++) {
		assert_true(drv_get_used(&d->q[0], &id, &ulen));
		memcpy(got + total, buf(d, 0, id), ulen);
		total += ulen;
	}
	assert_int_equal(total, len);
	struct modvmm_net_hdr h;
	memcpy(&h, got, sizeof(h));
	assert_int_equal(h.num_buffers, 3);
	assert_memory_equal(got + MODVMM_NET_HDR_LEN, f + MODVMM_NET_HDR_LEN, 1514);
	/* a small frame uses one buffer */
	len = frame(f, bcast, 60, 1);
	inject(bq, f, len);
	wait_used(d, 0, 1);
	assert_true(drv_get_used(&d->q[0], &id, &ulen));
	assert_int_equal(ulen, len);
	memcpy(&h, buf(d, 0, id), sizeof(h));
	assert_int_equal(h.num_buffers, 1);
	dut_destroy(d);

	/* without MRG_RXBUF each frame takes one (large) chain */
	assert_int_equal(dut_create(d, be_caps, NULL), 0);
	bring_up(d, base_features, 3, 16);
	bq = &d->be.q[0];
	for (unsigned i = 0; i < 4; i++)
		drv_add(&d->q[0], (struct drv_buf[]){ { buf_gpa(0, i), MODVMM_NET_HDR_LEN, true },
		                                     { buf_gpa(0, i) + MODVMM_NET_HDR_LEN, 2000, true } }, 2);
	kick(d, 0);
	len = frame(f, bcast, 1514, 3);
	inject(bq, f, len);
	wait_used(d, 0, 1);
	assert_true(drv_get_used(&d->q[0], &id, &ulen));
	assert_int_equal(ulen, len);
	assert_memory_equal(buf(d, 0, id) + MODVMM_NET_HDR_LEN, f + MODVMM_NET_HDR_LEN, 1514);
	memcpy(&h, buf(d, 0, id), sizeof(h));
	assert_int_equal(h.num_buffers, 1);
	/* TX frames asking for an offload that was not negotiated are dropped */
	size_t l2 = frame(buf(d, 1, 0), bcast, 60, 0);
	buf(d, 1, 0)[0] = MODVMM_NET_HDR_F_NEEDS_CSUM;
	drv_add(&d->q[1], (struct drv_buf[]){ { buf_gpa(1, 0), (uint32_t)l2, false } }, 1);
	kick(d, 1);
	wait_used(d, 1, 1);
	assert_int_equal(bq->ntx, 0);
	dut_destroy(d);
	free(d);
}

/* Send a control command; returns the ack byte. */
static uint8_t ctrl(struct dut *d, unsigned cq, uint8_t cls, uint8_t cmd, const void *data, size_t len)
{
	uint8_t *p = buf(d, cq, 0);
	p[0] = cls;
	p[1] = cmd;
	memcpy(p + 2, data, len);
	p[SLOT - 1] = 0xee;
	struct drv_buf b[3];
	unsigned nb = 0;
	b[nb++] = (struct drv_buf){ buf_gpa(cq, 0), 2, false };
	if (len)
		b[nb++] = (struct drv_buf){ buf_gpa(cq, 0) + 2, (uint32_t)len, false };
	b[nb++] = (struct drv_buf){ buf_gpa(cq, 0) + SLOT - 1, 1, true };
	uint16_t old = d->q[cq].avail_idx;
	drv_add(&d->q[cq], b, nb);
	/* with EVENT_IDX a driver kicks only when avail_event says so (Linux's
	 * virtqueue_kick_prepare); the device must have asked for this kick */
	if (d->features & VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) &&
	    !vq_need_event(drv_avail_event(&d->q[cq]), d->q[cq].avail_idx, old))
		fail_msg("control command %u: avail_event %u asks for no kick: the driver would wait forever", old,
		         drv_avail_event(&d->q[cq]));
	kick(d, cq);
	assert_true(fake_run_watches(&d->f, WAIT_MS) > 0); /* the event loop runs the handler */
	uint32_t id = 0, ulen = 0;
	assert_true(drv_get_used(&d->q[cq], &id, &ulen));
	assert_int_equal(ulen, 1);
	return p[SLOT - 1];
}

static void rx_one_buffer(struct dut *d, unsigned slot)
{
	drv_add(&d->q[0], (struct drv_buf[]){ { buf_gpa(0, slot), 2048, true } }, 1);
	kick(d, 0);
}

static void control_queue(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, "queues", "2", "mac", "02:11:22:33:44:55", NULL), 0);
	uint64_t want = base_features | VIRTIO_BIT(VIRTIO_NET_F_MQ) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_MAC_ADDR);
	bring_up(d, want, 5, 16);
	unsigned cq = 4;
	uint8_t off = 0, on = 1;
	assert_int_equal(ctrl(d, cq, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1), VIRTIO_NET_OK);
	/* filter: own MAC and broadcast pass, another unicast and a multicast do not */
	const uint8_t own[6] = { 2, 0x11, 0x22, 0x33, 0x44, 0x55 }, other[6] = { 2, 9, 9, 9, 9, 9 },
	              mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	rx_one_buffer(d, 0);
	uint8_t f[2048];
	inject(&d->be.q[0], f, frame(f, other, 60, 0));
	inject(&d->be.q[0], f, frame(f, mcast, 60, 0));
	inject(&d->be.q[0], f, frame(f, own, 60, 42));
	wait_used(d, 0, 1);
	uint32_t id = 0, len = 0;
	assert_true(drv_get_used(&d->q[0], &id, &len));
	assert_int_equal(buf(d, 0, id)[MODVMM_NET_HDR_LEN + 20], (uint8_t)(42 + 20)); /* the own-MAC frame */
	/* a MAC table with the multicast address lets it through */
	uint8_t table[4 + 4 + 6] = { 0, 0, 0, 0, 1, 0, 0, 0 };
	memcpy(table + 8, mcast, 6);
	assert_int_equal(ctrl(d, cq, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table)),
	                 VIRTIO_NET_OK);
	assert_int_equal(ctrl(d, cq, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 7), VIRTIO_NET_ERR);
	rx_one_buffer(d, 1);
	inject(&d->be.q[0], f, frame(f, other, 60, 0));
	inject(&d->be.q[0], f, frame(f, mcast, 60, 77));
	wait_used(d, 0, 1);
	assert_true(drv_get_used(&d->q[0], &id, &len));
	assert_int_equal(buf(d, 0, id)[MODVMM_NET_HDR_LEN + 20], (uint8_t)(77 + 20));
	assert_int_equal(ctrl(d, cq, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &on, 1), VIRTIO_NET_OK);
	/* MAC_ADDR_SET changes the configuration (and the generation) */
	uint8_t gen = (uint8_t)rd(d, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	const uint8_t newmac[6] = { 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	assert_int_equal(ctrl(d, cq, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, newmac, 6), VIRTIO_NET_OK);
	assert_int_equal(rd(d, VPCI_DEVCFG_OFF + 1, 1), 0xaa);
	assert_int_not_equal(rd(d, VIRTIO_PCI_COMMON_CFGGENERATION, 1), gen);
	/* MQ: two pairs are accepted and reach the backend, nine are not */
	uint16_t pairs = 2;
	assert_int_equal(ctrl(d, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2), VIRTIO_NET_OK);
	assert_true(d->be.q[1].enabled);
	pairs = 9;
	assert_int_equal(ctrl(d, cq, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2), VIRTIO_NET_ERR);
	/* frames on the second pair arrive on receiveq2 (queue 2) */
	drv_add(&d->q[2], (struct drv_buf[]){ { buf_gpa(2, 0), 2048, true } }, 1);
	kick(d, 2);
	inject(&d->be.q[1], f, frame(f, bcast, 100, 5));
	wait_used(d, 2, 1);
	/* unknown class, malformed data */
	assert_int_equal(ctrl(d, cq, 77, 0, NULL, 0), VIRTIO_NET_ERR);
	assert_int_equal(ctrl(d, cq, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, table, 2), VIRTIO_NET_ERR);
	dut_destroy(d);
	free(d);
}

/* Root cause of Linux's "soft lockup ... [ip]" at `ip link set eth0 up`: with
 * EVENT_IDX the control queue never published avail_event, so after the first
 * command (RX_PROMISC) the driver saw no reason to kick for the second
 * (RX_ALLMULTI) and spun waiting for its answer.  Each command of a driver that
 * kicks only as EVENT_IDX says must be answered (ctrl() checks the kick rule). */
static void control_queue_event_idx(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, NULL), 0);
	bring_up(d, base_features | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX), 3, 8);
	uint8_t on = 1, off = 0;
	uint8_t table[8] = { 0 };
	for (unsigned i = 0; i < 20; i++) { /* more than the queue size: the indexes wrap the ring */
		assert_int_equal(ctrl(d, 2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &on, 1), VIRTIO_NET_OK);
		assert_int_equal(ctrl(d, 2, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_ALLMULTI, &off, 1), VIRTIO_NET_OK);
		assert_int_equal(ctrl(d, 2, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table)),
		                 VIRTIO_NET_OK);
	}
	assert_int_equal(drv_avail_event(&d->q[2]), d->q[2].avail_idx);
	dut_destroy(d);
	free(d);
}

static void check_reset_state(struct dut *d, unsigned nq)
{
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_GF, 4), 0);
	for (unsigned i = 0; i < nq; i++) {
		wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, i);
		assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 256);
		assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
		assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
		assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
		assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4), 0);
	}
}

static void reset(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, NULL), 0);
	for (unsigned round = 0; round < 3; round++) {
		bring_up(d, base_features | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX), 3, 16);
		/* RX buffers posted but not used, TX traffic, then a reset in the middle */
		for (unsigned i = 0; i < 4; i++)
			rx_one_buffer(d, i);
		tx_frames(d, 1, 2);
		wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
		check_reset_state(d, 3);
		assert_int_equal(d->be.q[0].ntx, 2 * (round + 1));
	}
	/* after the last reset the device works again from a clean state */
	bring_up(d, base_features, 3, 16);
	rx_one_buffer(d, 0);
	uint8_t f[128];
	inject(&d->be.q[0], f, frame(f, bcast, 60, 0));
	wait_used(d, 0, 1);
	dut_destroy(d);
	free(d);
}

static void hostile(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, NULL), 0);
	bring_up(d, base_features, 3, 16);
	/* a TX chain outside RAM is dropped; the queue keeps working */
	drv_add(&d->q[1], (struct drv_buf[]){ { RAM_SIZE - 4, 64, false } }, 1);
	kick(d, 1);
	wait_used(d, 1, 1);
	uint32_t id = 0, len = 0;
	assert_true(drv_get_used(&d->q[1], &id, &len));
	assert_int_equal(len, 0);
	tx_frames(d, 1, 1);
	assert_int_equal(d->be.q[0].ntx, 1);
	/* the avail index jumps ahead: DEVICE_NEEDS_RESET and a configuration interrupt */
	uint8_t gen = (uint8_t)rd(d, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	*(uint16_t *)(d->f.ram + d->q[1].avail + 2) = (uint16_t)(d->q[1].avail_idx + 100);
	kick(d, 1);
	assert_true(wait_irq(d, 0));
	assert_true(rd(d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	assert_int_not_equal(rd(d, VIRTIO_PCI_COMMON_CFGGENERATION, 1), gen);
	assert_non_null(strstr(d->f.log, "avail index jumped"));
	/* rings outside RAM at enable: NEEDS_RESET too */
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_true(negotiate(d, base_features) & VIRTIO_STATUS_FEATURES_OK);
	wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 8, 0xfee00000ull);
	wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_true(rd(d, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	/* odd accesses are ignored, not crashes */
	wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 999);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	wr(d, VIRTIO_PCI_COMMON_STATUS + 1, 2, 0xffff);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_DF + 1, 2), 0);
	wr(d, VPCI_DEVCFG_OFF + 0xff, 4, 1);
	wr(d, VPCI_NOTIFY_OFF + 4 * 100, 2, 1);
	wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	bring_up(d, base_features, 3, 16);
	tx_frames(d, 1, 1);
	dut_destroy(d);
	free(d);
}

/* MSI-X off and no vector: INTx with the ISR (§4.1.4.5); reading the ISR clears
 * it and drops the line. */
static void intx(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, NULL), 0);
	bring_up(d, base_features, 3, 16);
	wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(rd(d, VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	rx_one_buffer(d, 0);
	uint8_t f[128];
	inject(&d->be.q[0], f, frame(f, bcast, 60, 0));
	for (unsigned spins = 0; !__atomic_load_n(&d->f.intx, __ATOMIC_ACQUIRE); spins++) {
		if (spins > 100000000)
			fail_msg("no INTx");
		sched_yield();
	}
	assert_int_equal(drv_used_idx(&d->q[0]), 1);
	assert_int_equal(rd(d, VPCI_ISR_OFF, 1), VIRTIO_PCI_ISR_QUEUE);
	assert_int_equal(d->f.intx, 0);
	assert_int_equal(rd(d, VPCI_ISR_OFF, 1), 0);
	/* with the vector set again, the irqfd is used and INTx stays low */
	wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	rx_one_buffer(d, 1);
	inject(&d->be.q[0], f, frame(f, bcast, 60, 1));
	assert_true(wait_irq(d, 1));
	assert_int_equal(d->f.intx, 0);
	dut_destroy(d);
	free(d);
}

/* The backend flips its link and writes link_fd: the event loop's watch reads it. */
static void flip_link(struct dut *d, int up)
{
	d->be.link = up;
	eventfd_write(d->be.link_efd, 1);
	assert_int_equal(fake_run_watches(&d->f, WAIT_MS), 1);
}

static bool link_watched(struct dut *d)
{
	for (unsigned i = 0; i < d->f.nwatch; i++)
		if (d->f.watch[i].fd == d->be.link_efd)
			return true;
	return false;
}

/* A link change is a STATUS change (§5.1.4.2): one configuration interrupt per
 * change once DRIVER_OK is set, none before, none for a wake-up without a change. */
static void link_change(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, NULL), 0);
	assert_true(link_watched(d));
	/* before DRIVER_OK (config vector 0 set): the state is read, no interrupt */
	assert_true(negotiate(d, base_features) & VIRTIO_STATUS_FEATURES_OK);
	wr(d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	flip_link(d, 0);
	assert_int_equal(rd(d, VPCI_DEVCFG_OFF + VIRTIO_NET_CFG_STATUS, 2), 0);
	flip_link(d, 1);
	assert_false(fake_poll(d->f.msix_fd[0], POLLIN, 0));
	bring_up(d, base_features, 3, 16);
	/* down: one interrupt, a new generation, STATUS without LINK_UP */
	uint8_t gen = (uint8_t)rd(d, VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	flip_link(d, 0);
	assert_true(wait_irq(d, 0));
	assert_false(fake_poll(d->f.msix_fd[0], POLLIN, 0));
	assert_int_not_equal(rd(d, VIRTIO_PCI_COMMON_CFGGENERATION, 1), gen);
	assert_int_equal(rd(d, VPCI_DEVCFG_OFF + VIRTIO_NET_CFG_STATUS, 2), 0);
	/* a wake-up without a change: nothing */
	flip_link(d, 0);
	assert_false(fake_poll(d->f.msix_fd[0], POLLIN, 0));
	/* up: one more */
	flip_link(d, 1);
	assert_true(wait_irq(d, 0));
	assert_false(fake_poll(d->f.msix_fd[0], POLLIN, 0));
	assert_int_equal(rd(d, VPCI_DEVCFG_OFF + VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	/* stop() stops watching the backend's fd */
	modvmm_plugin.stop(d->priv);
	d->started = false;
	assert_false(link_watched(d));
	dut_destroy(d);
	free(d);
}

static void bad_config(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	assert_int_equal(dut_create(d, be_caps, "queues", "9", NULL), -EINVAL);
	assert_non_null(strstr(d->f.log, "queues = 9"));
	dut_destroy(d);
	assert_int_equal(dut_create(d, be_caps, "queue_size", "100", NULL), -EINVAL);
	dut_destroy(d);
	assert_int_equal(dut_create(d, be_caps, "mac", "01:00:00:00:00:01", NULL), -EINVAL);
	dut_destroy(d);
	assert_int_equal(dut_create(d, be_caps, "worker_cpus", "1,x", NULL), -EINVAL);
	dut_destroy(d);
	assert_int_equal(dut_create(d, MODVMM_NET_CAP_RING_PASSTHROUGH, NULL), -ENOTSUP);
	assert_non_null(strstr(d->f.log, "does not offer packet I/O"));
	dut_destroy(d);
	free(d);
}

/* device_features of a dut on a virtqueue-offload backend whose peer offers peer */
static uint64_t offered_with_peer(struct dut *d, uint64_t peer)
{
	dut_peer_features = peer;
	assert_int_equal(dut_create(d, MODVMM_NET_CAP_VQ_OFFLOAD, NULL), 0);
	dut_peer_features = 0;
	return device_features(d);
}

/* A vhost-user peer's offloads pass through, but never one without what it
 * requires (§5.1.3.1): DPDK's vhost library with TSO off (testpmd's default)
 * offers HOST_ECN and GUEST_ECN without HOST_TSO4/6 and GUEST_TSO4/6, and
 * Linux's driver, taking every bit offered, was refused FEATURES_OK. */
static void offload_peer_features(void **state)
{
	struct dut *d = calloc(1, sizeof(*d));
	uint64_t ecn_without_tso = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) |
	                           VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) | VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
	                           VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN) |
	                           VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO);
	uint64_t f = offered_with_peer(d, ecn_without_tso);
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_CSUM));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN));
	assert_false(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN));
	/* a driver taking everything offered (Linux's) gets FEATURES_OK */
	assert_true(negotiate(d, f) & VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(d->be.vq_features_set & VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN), 0);
	dut_destroy(d);
	/* with TSO the ECN bits stay */
	f = offered_with_peer(d, ecn_without_tso | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
	                      VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_HOST_ECN));
	assert_true(f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN));
	assert_true(negotiate(d, f) & VIRTIO_STATUS_FEATURES_OK);
	dut_destroy(d);
	/* a chain: GUEST_ECN needs GUEST_TSO4/6, which need GUEST_CSUM */
	f = offered_with_peer(d, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |
	                      VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN));
	assert_false(f & (VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_ECN)));
	dut_destroy(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pci_layout),
		cmocka_unit_test(features),
		cmocka_unit_test(offload_peer_features),
		cmocka_unit_test(traffic),
		cmocka_unit_test(control_queue),
		cmocka_unit_test(control_queue_event_idx),
		cmocka_unit_test(reset),
		cmocka_unit_test(hostile),
		cmocka_unit_test(intx),
		cmocka_unit_test(link_change),
		cmocka_unit_test(bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
