/*
 * vnet.h - a small virtio-net driver for the test guests (virtio 1.2, modern
 * PCI transport only): finds the device by PCI id, maps its virtio
 * capabilities, negotiates features, sets up split virtqueues (EVENT_IDX
 * aware), sends and receives frames, runs control commands, and can take
 * MSI-X interrupts.  Set-up runs at CPL0; vn_tx/vn_rx and the reclaim paths
 * are plain loads and stores plus the notify write, so they run at CPL3.
 *
 * Each descriptor owns one buffer for good (TX: header + frame in one buffer;
 * RX: `rxbuf` bytes, device-writable), so the hot paths only touch the avail
 * and used rings.  Layout constants come from plugins/virtio-net/virtio.h (the
 * spec's); the same guest also drives QEMU's virtio-net-pci, whose independent
 * implementation keeps both honest.
 */
#ifndef GUEST_VNET_H
#define GUEST_VNET_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define VN_MAX_PAIRS   8
#define VN_MAX_QUEUES  (2 * VN_MAX_PAIRS + 1)
#define VN_QSIZE_MAX   256
#define VN_BUF_SIZE    2048          /* per descriptor: 12-byte header + 1514-byte frame fit */
#define VN_HDR_LEN     12            /* struct virtio_net_hdr with num_buffers (§5.1.6) */
#define VN_VEC_BASE    0x60          /* IDT vector of MSI-X vector 0 */

struct vn_queue {
	uint16_t idx, num;
	struct vring_desc *desc;
	volatile uint16_t *avail;        /* flags, idx, ring[num], used_event */
	volatile uint8_t *used;          /* flags, idx, ring[num], avail_event */
	volatile uint16_t *notify;
	uint8_t *bufs;                   /* num * VN_BUF_SIZE */
	uint16_t avail_idx;              /* next index to publish */
	uint16_t kicked;                 /* avail idx at the last kick decision */
	uint16_t last_used;
	uint16_t free[VN_QSIZE_MAX];
	uint16_t nfree;
	bool event_idx;
	uint64_t kicks;                  /* notify writes */
	uint64_t suppressed;             /* kick decisions that needed no write */
};

struct vn_dev {
	unsigned bdf;
	uintptr_t common, isr, devcfg, notify;
	uint32_t notify_mult;
	uint64_t offered, features;
	unsigned max_pairs, pairs;
	unsigned nq;                     /* queues set up: 2 * pairs (+ control) */
	uint16_t qsize;
	uint32_t rxbuf;                  /* bytes per RX buffer */
	uint8_t mac[6];
	bool msix;
	uintptr_t msix_table;
	unsigned nvec;
	struct vn_queue q[VN_MAX_QUEUES];
	bool top_slots;                  /* the second NIC: ring memory from the top of
	                                  * the pool, so two NICs share it when their
	                                  * queues together fit (demo: 2 + 2) */
};

extern volatile unsigned vn_irqs[VN_MAX_QUEUES + 1]; /* per MSI-X vector */

/* Find the nth virtio-net function on bus 0 and map its capabilities; turns on
 * memory decode and bus mastering.  CPL0. */
bool vn_find(struct vn_dev *d, unsigned nth);
/* Reset and negotiate want & offered (VERSION_1 always), set up `pairs` queue
 * pairs of qsize entries (and the control queue when negotiated), post RX
 * buffers of rxbuf bytes, MSI-X vectors if msix, DRIVER_OK, and VQ_PAIRS_SET
 * when pairs > 1.  Returns false (with a message) on any refusal.  CPL0. */
bool vn_init(struct vn_dev *d, uint64_t want, unsigned pairs, uint16_t qsize, uint32_t rxbuf, bool msix);
/* Reset the device (status 0) and wait for it to read back 0. */
void vn_reset(struct vn_dev *d);
uint8_t vn_status(struct vn_dev *d);

static inline bool vn_has(const struct vn_dev *d, unsigned bit)
{
	return (d->features >> bit) & 1;
}

/* Control command (§5.1.6.5); returns the ack (VIRTIO_NET_OK/ERR), 0xff on timeout. */
uint8_t vn_ctrl(struct vn_dev *d, uint8_t cls, uint8_t cmd, const void *data, unsigned len);

/* Queue a frame (without vnet header) on pair p; false when the ring is full.
 * Publishes at once unless `batch` (then call vn_tx_flush). */
bool vn_tx(struct vn_dev *d, unsigned p, const void *frame, uint32_t len, bool batch);
/* Publish queued frames and notify the device if it asked for it. */
void vn_tx_flush(struct vn_dev *d, unsigned p);
/* Take back buffers the device finished with; returns how many. */
unsigned vn_tx_reclaim(struct vn_dev *d, unsigned p);
/* TX without copying: a free buffer of pair p (NULL when none) to fill from byte
 * VN_HDR_LEN on, then vn_tx_commit(len) it. */
uint8_t *vn_tx_buf(struct vn_dev *d, unsigned p);
void vn_tx_commit(struct vn_dev *d, unsigned p, uint32_t len);

/* Receive one frame on pair p into out (at most max bytes, header stripped).
 * Returns its length, -1 when none is pending.  *nbufs (if not NULL) gets the
 * header's num_buffers.  Buffers go back to the device at once. */
int vn_rx(struct vn_dev *d, unsigned p, void *out, unsigned max, unsigned *nbufs);
/* Give the driver's re-posted RX buffers to the device (kick if asked). */
void vn_rx_flush(struct vn_dev *d, unsigned p);

/* Ask (or not) for interrupts on queue q (EVENT_IDX: used_event; else flags). */
void vn_irq_enable(struct vn_dev *d, unsigned q, bool on);

/* Full barrier between publishing an index and reading the other side's
 * event/flags (§2.7.7, §2.7.10). */
static inline void vn_mb(void)
{
	__asm__ volatile("lock addl $0, (%%rsp)" ::: "memory", "cc");
}

#endif
