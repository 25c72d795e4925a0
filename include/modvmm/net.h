/* SPDX-License-Identifier: MIT */
/*
 * modvmm net-backend ABI, part of plugin ABI 2 (plugins of kind MODVMM_KIND_NET_BACKEND).
 *
 * A network backend is a plugin instance named by its INI section:
 *
 *     [backend net0]            [device nic0]
 *     plugin = tap              plugin = virtio-net
 *                               backend = net0
 *
 * The backend's descriptor `.ops` points to a struct modvmm_net_backend_ops.  A
 * device (the "frontend") declares a key of type MODVMM_KEY_BACKEND and finds the
 * instance with modvmm_net_backend_get() below; it then sees only an opaque
 * backend pointer and the ops table, and calls every op through the thin wrappers
 * at the end of this file (one per op), which check the table's size and the
 * optional entries.
 *
 * A backend offers one or more of three modes, announced by capability bits:
 *
 *  - packet I/O (MODVMM_NET_CAP_PACKET_IO): the frontend moves packets.  It sends
 *    batches of frames given as iovecs and receives frames into iovecs it supplies
 *    (guest buffers), each frame led by a virtio-net header of the length the
 *    frontend chose (set_vnet_hdr_len).  Per-queue readiness fds tell the
 *    frontend's threads when to come back.
 *  - ring passthrough (MODVMM_NET_CAP_RING_PASSTHROUGH, ptnetmap): the backend owns
 *    netmap-style packet rings in shared memory that a device maps into the guest
 *    through a BAR, plus one eventfd per ring and direction; the frontend only
 *    wires the eventfds to ioeventfds/irqfds (ops pt_*).
 *  - virtqueue offload (MODVMM_NET_CAP_VQ_OFFLOAD, vhost-user): the frontend hands
 *    the backend the guest memory table, the vring addresses and the kick (an
 *    ioeventfd) and call (an irqfd) eventfds; the data path never enters modvmm
 *    (ops vq_*).
 *
 * Threads.  Ops marked [config] run on the thread that creates, starts or stops
 * plugins, or on a vCPU thread while the frontend guarantees that no [data] op
 * is running on any queue of this backend.  Ops marked [data] run on the
 * frontend's worker threads: for one queue, the TX side (send, tx_fd) is used by
 * one thread at a time and the RX side (peek_len, recv, rx_fd) by one thread at a
 * time, but the two sides of a queue, and different queues, may run concurrently.
 * Ops marked [any] may run on any thread at any time.
 *
 * Errors are negative errno values.  Data ops never block: a backend with nothing
 * to give or no room returns -EAGAIN, and the readiness fds say when to retry.
 * A backend must never keep a pointer into the frontend's iovecs after an op
 * returns: the guest reuses those buffers at once.
 *
 * Byte order: virtio-net headers are little-endian (virtio 1.2 §5.1.6); modvmm
 * runs on x86-64 only, so they are used as native structs.
 *
 * Compatibility: `size` and `version` lead the ops table; new entries are appended
 * in the reserved tail and bump MODVMM_NET_OPS_VERSION.  A frontend calls an entry
 * only when the table is large enough to hold it and the pointer is non-NULL
 * (the wrappers below do this).
 */
#ifndef MODVMM_NET_H
#define MODVMM_NET_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <modvmm/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MODVMM_NET_OPS_VERSION 2 /* 2: link_fd */

/* ---- capabilities (ops->caps) ------------------------------------------------ */

#define MODVMM_NET_CAP_PACKET_IO        (1ull << 0) /* send/recv/peek_len/rx_fd ops */
#define MODVMM_NET_CAP_RING_PASSTHROUGH (1ull << 1) /* pt_* ops (ptnetmap) */
#define MODVMM_NET_CAP_VQ_OFFLOAD       (1ull << 2) /* vq_* ops (vhost-user) */
#define MODVMM_NET_CAP_VNET_HDR         (1ull << 3) /* frames may carry a virtio-net header */
#define MODVMM_NET_CAP_MQ               (1ull << 4) /* max_queues() may exceed 1 */
#define MODVMM_NET_CAP_LINK_STATE       (1ull << 5) /* link_up() reports a real state;
                                                       link_fd() signals its changes */

/*
 * Offloads (also capability bits).  In caps(): with a vnet header the backend
 * accepts frames that ask for this offload (TX: partial checksum, GSO frames up
 * to 64 KiB), and it can deliver such frames (RX) once set_offloads() enabled
 * them.  Without the bit a frontend must not send such frames.
 */
#define MODVMM_NET_OFF_CSUM    (1ull << 16) /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
#define MODVMM_NET_OFF_TSO4    (1ull << 17) /* GSO_TCPV4 */
#define MODVMM_NET_OFF_TSO6    (1ull << 18) /* GSO_TCPV6 */
#define MODVMM_NET_OFF_TSO_ECN (1ull << 19) /* GSO_ECN */
#define MODVMM_NET_OFF_UFO     (1ull << 20) /* GSO_UDP */
#define MODVMM_NET_OFF_MASK    (0x1full << 16)

/* ---- the virtio-net header (virtio 1.2 §5.1.6) -------------------------------- */

struct modvmm_net_hdr {
	uint8_t flags;        /* MODVMM_NET_HDR_F_* */
	uint8_t gso_type;     /* MODVMM_NET_GSO_* */
	uint16_t hdr_len;     /* length of the L2-L4 headers (GSO) */
	uint16_t gso_size;    /* payload bytes per segment (GSO) */
	uint16_t csum_start;  /* checksum from this offset ... */
	uint16_t csum_offset; /* ... stored at csum_start + csum_offset */
	uint16_t num_buffers; /* mergeable RX buffers used; only in the 12-byte header */
};
#define MODVMM_NET_HDR_LEN        12 /* virtio 1.x (VERSION_1 or MRG_RXBUF) */
#define MODVMM_NET_HDR_LEN_LEGACY 10 /* without num_buffers */

#define MODVMM_NET_HDR_F_NEEDS_CSUM 1u
#define MODVMM_NET_HDR_F_DATA_VALID 2u
#define MODVMM_NET_GSO_NONE  0u
#define MODVMM_NET_GSO_TCPV4 1u
#define MODVMM_NET_GSO_UDP   3u
#define MODVMM_NET_GSO_TCPV6 4u
#define MODVMM_NET_GSO_ECN   0x80u

/* Largest frame a frontend may send or must be ready to receive: a 64 KiB GSO
 * frame plus the Ethernet and VLAN headers, not counting the vnet header. */
#define MODVMM_NET_MAX_FRAME (65535u + 14u + 4u)

/* ---- argument structs (each with a size field and a reserved tail) ------------ */

/* A frame in iovecs, vnet header first when the header length is not 0.  Frozen
 * for ABI major 2 (no size, no tail): send() takes an array of these. */
struct modvmm_net_pkt {
	const struct iovec *iov;
	uint32_t iovcnt;
	uint32_t len;             /* total bytes in iov, header included */
};

struct modvmm_net_attach {
	uint32_t size;            /* sizeof(struct modvmm_net_attach) */
	uint32_t nqueues;         /* queue pairs the frontend will drive, 1..max_queues() */
	const char *frontend;     /* the device instance name, for messages */
	void *reserved[6];
};

struct modvmm_net_stats {
	uint32_t size;            /* set by the caller: sizeof(struct modvmm_net_stats) */
	uint32_t reserved0;
	uint64_t tx_packets, tx_bytes;
	uint64_t tx_dropped;      /* frames consumed by send() but not carried */
	uint64_t tx_full;         /* send() calls that returned -EAGAIN */
	uint64_t rx_packets, rx_bytes;
	uint64_t rx_dropped;      /* frames lost by the backend (no room, truncated) */
	uint64_t reserved[9];
};
#define MODVMM_NET_ALL_QUEUES (-1)

struct modvmm_net_queue; /* a queue pair of an attached backend (opaque) */

/* Ring passthrough (ptnetmap): the shared memory holding the netmap-style port
 * (interface header, CSB, rings and buffers; layout in <modvmm-netmap/netmap_port.h>).
 * mem_offset/mem_size describe the window of the region this end's user maps. */
struct modvmm_net_pt_info {
	uint32_t size;            /* set by the caller */
	uint32_t num_tx_rings, num_rx_rings;
	uint32_t num_slots;       /* per ring */
	uint32_t buf_size;        /* bytes per packet buffer */
	int mem_fd;               /* memfd of the port memory (owned by the backend) */
	uint64_t mem_offset;      /* start of the port memory in mem_fd */
	uint64_t mem_size;        /* bytes, a multiple of 4096 */
	void *mem_hva;            /* the backend's own mapping */
	uint64_t if_offset;       /* offset of the port (interface) header in the memory */
	uint64_t csb_offset;      /* offset of the shared status block (need-kick flags), 0: none */
	void *reserved[7];
};

/* Ring passthrough: eventfds, one per ring.  `kick` fds are written by the guest
 * (through an ioeventfd) when it asks the backend to look at a ring; the backend
 * writes `irq` fds (bound to an irqfd) to interrupt the guest. */
struct modvmm_net_pt_cfg {
	uint32_t size;            /* set by the caller */
	uint32_t nrings;          /* num_tx_rings + num_rx_rings: TX rings first */
	const int *kick_fds;      /* nrings entries */
	const int *irq_fds;       /* nrings entries */
	void *reserved[6];
};

/* Virtqueue offload (vhost-user): one vring.  Addresses are guest-physical; the
 * memory table given to vq_set_mem() translates them. */
struct modvmm_net_vring {
	uint32_t size;            /* set by the caller */
	uint32_t num;             /* queue size (power of two) */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t next_avail;      /* first avail index the backend processes */
	uint16_t reserved0[3];
	int kick_fd;              /* eventfd the guest's notify write signals (ioeventfd) */
	int call_fd;              /* eventfd whose write interrupts the guest (irqfd) */
	void *reserved[6];
};

/* ---- the ops table -------------------------------------------------------------- */

struct modvmm_net_backend_ops {
	uint32_t size;            /* sizeof(struct modvmm_net_backend_ops) as built */
	uint32_t version;         /* MODVMM_NET_OPS_VERSION as built */

	/* [config] MODVMM_NET_CAP_* and MODVMM_NET_OFF_* bits.  Constant after create(). */
	uint64_t (*caps)(void *be);
	/* [config] Most queue pairs attach() accepts (>= 1).  May be NULL: 1. */
	unsigned (*max_queues)(void *be);
	/* [config] Claim the backend for one frontend with a->nqueues queue pairs and
	 * allocate their resources (tap queues, rings, fds).  -EBUSY when another
	 * frontend holds it, -EINVAL for a bad nqueues, with a logged reason. */
	int (*attach)(void *be, const struct modvmm_net_attach *a);
	/* [config] Release what attach() took.  Queue handles become invalid.  May be NULL. */
	void (*detach)(void *be);
	/* [config] The handle of queue pair idx < nqueues (stable until detach). */
	struct modvmm_net_queue *(*queue)(void *be, unsigned idx);

	/* [config] Length of the vnet header leading every frame in both directions:
	 * 0, MODVMM_NET_HDR_LEN_LEGACY or MODVMM_NET_HDR_LEN (default 0 after attach).
	 * -EINVAL for other lengths; -ENOTSUP for non-zero without CAP_VNET_HDR. */
	int (*set_vnet_hdr_len)(void *be, unsigned len);
	/* [config] MODVMM_NET_OFF_* bits the frontend can receive: RX frames may then
	 * ask for these offloads (e.g. a partial checksum, a GSO frame).  Default 0:
	 * the backend delivers only complete frames with valid checksums (or drops
	 * what it cannot convert, counting rx_dropped).  -ENOTSUP for bits outside
	 * caps().  May be NULL when caps() has no offload bit. */
	int (*set_offloads)(void *be, uint64_t offloads);
	/* [config] Start (true) or stop (false) steering traffic to this queue pair
	 * (multiqueue: the guest may use fewer pairs than attached).  Queues start
	 * enabled.  May be NULL. */
	int (*queue_enable)(struct modvmm_net_queue *q, bool enable);

	/* [data] Send up to n frames.  Returns how many were consumed, in order: 1..n,
	 * including frames dropped because they cannot be carried (counted in
	 * tx_dropped; a frontend never retries a consumed frame).  Returns -EAGAIN
	 * when nothing could be consumed for lack of room: wait for tx_fd() to be
	 * writable (POLLOUT) and retry.  Other -errno: the first frame was malformed
	 * and is consumed.  The iovecs are not referenced after return. */
	int (*send)(struct modvmm_net_queue *q, const struct modvmm_net_pkt *pkts, unsigned n);
	/* [data] An fd that polls ready for *events (POLLOUT for a socket or tap,
	 * POLLIN for an eventfd the backend signals) once send() would consume again
	 * after -EAGAIN.  Owned by the backend; the frontend only polls it.  May be
	 * NULL or return -1 when send() never returns -EAGAIN. */
	int (*tx_fd)(struct modvmm_net_queue *q, short *events);
	/* [data] Length (vnet header included) of the next frame to receive, or
	 * -EAGAIN when none is pending.  Lets a frontend gather enough guest buffers
	 * (mergeable RX buffers) before recv(). */
	ssize_t (*peek_len)(struct modvmm_net_queue *q);
	/* [data] Receive the next frame into iov: the vnet header (its num_buffers is
	 * left for the frontend to fill), then the frame.  Returns its length, or
	 * -EAGAIN when none is pending.  A frame longer than the iovecs is dropped
	 * (rx_dropped) and -EMSGSIZE returned; call peek_len() first to avoid it. */
	ssize_t (*recv)(struct modvmm_net_queue *q, const struct iovec *iov, unsigned iovcnt);
	/* [data] An fd that polls readable (POLLIN) while frames are pending.  After
	 * recv() or peek_len() returned -EAGAIN it becomes readable again when a frame
	 * arrives.  Owned by the backend: the frontend only polls it, never reads it.
	 * A backend with no natural fd uses an eventfd it drains when empty. */
	int (*rx_fd)(struct modvmm_net_queue *q);

	/* [any] 1 when the link is up, 0 when down.  May be NULL: always up.  A
	 * backend whose link changes at run time also offers link_fd(). */
	int (*link_up)(void *be);
	/* [any] Counters of queue q, or of all queues (q = MODVMM_NET_ALL_QUEUES); fills
	 * at most out->size bytes.  Counters are monotonic; reads may lag a little.
	 * May be NULL. */
	void (*stats)(void *be, int q, struct modvmm_net_stats *out);

	/* Ring passthrough (CAP_RING_PASSTHROUGH), all [config]: */
	/* Describe the port memory and its rings. */
	int (*pt_info)(void *be, struct modvmm_net_pt_info *out);
	/* Start the backend's side of the rings with these eventfds. */
	int (*pt_start)(void *be, const struct modvmm_net_pt_cfg *cfg);
	/* Stop using the rings and the eventfds (guest reset, VM stop). */
	void (*pt_stop)(void *be);
	void *pt_reserved[3];

	/* Virtqueue offload (CAP_VQ_OFFLOAD, vhost-user), all [config]: */
	/* virtio feature bits the peer implements (virtio 1.2 §5.1.3 and §6). */
	uint64_t (*vq_features)(void *be);
	/* The features the driver accepted (called before any vq_start). */
	int (*vq_set_features)(void *be, uint64_t features);
	/* The guest memory table (host->mem_regions(); regions carry memfds). */
	int (*vq_set_mem)(void *be, const struct modvmm_mem_region *r, unsigned n);
	/* Start virtqueue `vq` (2k: RX of pair k, 2k+1: TX, 2N: control). */
	int (*vq_start)(void *be, unsigned vq, const struct modvmm_net_vring *vr);
	/* Stop it; stores the next avail index the backend would have processed. */
	int (*vq_stop)(void *be, unsigned vq, uint16_t *next_avail);
	void *vq_reserved[3];

	/* [config] An eventfd the backend writes on every link change (after
	 * link_up() reports the new state).  Owned by the backend: the frontend polls
	 * it readable, reads it to clear it, then calls link_up() (several changes
	 * may collapse into one wake-up; the frontend compares with the state it last
	 * reported).  May be NULL or return -1: the link never changes.  (Version 2;
	 * in a version-1 table this slot was reserved, hence zero: NULL.) */
	int (*link_fd)(void *be);

	void *reserved[15];
};

/* ---- frontend side: an opaque handle and thin wrappers ---------------------------- */

/* Lives in the frontend only (never crosses the ABI). */
struct modvmm_net_backend {
	const struct modvmm_net_backend_ops *ops;
	void *be;
	const char *name;           /* the backend's plugin name */
};

/* True when the ops table holds the entry `field` (as built here). */
#define MODVMM_NET_HAS(ops, field) \
	((ops)->size >= offsetof(struct modvmm_net_backend_ops, field) + sizeof((ops)->field) && (ops)->field)

/* The net-backend ops of a backend plugin's descriptor, or NULL when `p` is not a
 * net backend of this ABI (usable from a validate() hook, before any instance). */
static inline const struct modvmm_net_backend_ops *modvmm_net_plugin_ops(const struct modvmm_plugin *p)
{
	const struct modvmm_net_backend_ops *ops = p ? (const struct modvmm_net_backend_ops *)p->ops : NULL;
	if (!p || p->kind != MODVMM_KIND_NET_BACKEND || !ops || ops->version < 1 ||
	    ops->size < offsetof(struct modvmm_net_backend_ops, pt_info) || !ops->caps)
		return NULL;
	return ops;
}

/* Find the backend named by this device's `key` (a MODVMM_KEY_BACKEND).  Returns
 * 0, -ENOENT (no such instance), -EINVAL (not a net backend, or an ops table
 * too old or too small for this header). */
static inline int modvmm_net_backend_get(const struct modvmm_host *host, struct modvmm_dev *dev,
                                         const char *key, struct modvmm_net_backend *out)
{
	const struct modvmm_plugin *p = NULL;
	void *be = host->backend_get(dev, key, &p);
	if (!be || !p)
		return -ENOENT;
	const struct modvmm_net_backend_ops *ops = modvmm_net_plugin_ops(p);
	if (!ops)
		return -EINVAL;
	*out = (struct modvmm_net_backend){ .ops = ops, .be = be, .name = p->name };
	return 0;
}

static inline uint64_t modvmm_net_caps(const struct modvmm_net_backend *b)
{
	return b->ops->caps(b->be);
}

static inline unsigned modvmm_net_max_queues(const struct modvmm_net_backend *b)
{
	return MODVMM_NET_HAS(b->ops, max_queues) ? b->ops->max_queues(b->be) : 1;
}

static inline int modvmm_net_attach(const struct modvmm_net_backend *b, unsigned nqueues, const char *frontend)
{
	if (!MODVMM_NET_HAS(b->ops, attach))
		return -ENOTSUP;
	struct modvmm_net_attach a = { .size = sizeof(a), .nqueues = nqueues, .frontend = frontend };
	return b->ops->attach(b->be, &a);
}

static inline void modvmm_net_detach(const struct modvmm_net_backend *b)
{
	if (MODVMM_NET_HAS(b->ops, detach))
		b->ops->detach(b->be);
}

static inline struct modvmm_net_queue *modvmm_net_queue(const struct modvmm_net_backend *b, unsigned idx)
{
	return MODVMM_NET_HAS(b->ops, queue) ? b->ops->queue(b->be, idx) : NULL;
}

static inline int modvmm_net_set_vnet_hdr_len(const struct modvmm_net_backend *b, unsigned len)
{
	if (!MODVMM_NET_HAS(b->ops, set_vnet_hdr_len))
		return len ? -ENOTSUP : 0;
	return b->ops->set_vnet_hdr_len(b->be, len);
}

static inline int modvmm_net_set_offloads(const struct modvmm_net_backend *b, uint64_t offloads)
{
	if (!MODVMM_NET_HAS(b->ops, set_offloads))
		return offloads ? -ENOTSUP : 0;
	return b->ops->set_offloads(b->be, offloads);
}

static inline int modvmm_net_queue_enable(const struct modvmm_net_backend *b, struct modvmm_net_queue *q,
                                          bool enable)
{
	return MODVMM_NET_HAS(b->ops, queue_enable) ? b->ops->queue_enable(q, enable) : 0;
}

static inline int modvmm_net_send(const struct modvmm_net_backend *b, struct modvmm_net_queue *q,
                                  const struct modvmm_net_pkt *pkts, unsigned n)
{
	return b->ops->send(q, pkts, n);
}

static inline int modvmm_net_tx_fd(const struct modvmm_net_backend *b, struct modvmm_net_queue *q,
                                   short *events)
{
	return MODVMM_NET_HAS(b->ops, tx_fd) ? b->ops->tx_fd(q, events) : -1;
}

static inline ssize_t modvmm_net_peek_len(const struct modvmm_net_backend *b, struct modvmm_net_queue *q)
{
	return b->ops->peek_len(q);
}

static inline ssize_t modvmm_net_recv(const struct modvmm_net_backend *b, struct modvmm_net_queue *q,
                                      const struct iovec *iov, unsigned iovcnt)
{
	return b->ops->recv(q, iov, iovcnt);
}

static inline int modvmm_net_rx_fd(const struct modvmm_net_backend *b, struct modvmm_net_queue *q)
{
	return b->ops->rx_fd(q);
}

static inline int modvmm_net_link_up(const struct modvmm_net_backend *b)
{
	return MODVMM_NET_HAS(b->ops, link_up) ? b->ops->link_up(b->be) : 1;
}

static inline int modvmm_net_link_fd(const struct modvmm_net_backend *b)
{
	return MODVMM_NET_HAS(b->ops, link_fd) ? b->ops->link_fd(b->be) : -1;
}

static inline void modvmm_net_stats(const struct modvmm_net_backend *b, int q, struct modvmm_net_stats *out)
{
	uint32_t size = out->size;
	memset(out, 0, size < sizeof(*out) ? size : sizeof(*out));
	out->size = size;
	if (MODVMM_NET_HAS(b->ops, stats))
		b->ops->stats(b->be, q, out);
}

/* Ring passthrough: -ENOTSUP (pt_stop: nothing) when the backend lacks the op. */
static inline int modvmm_net_pt_info(const struct modvmm_net_backend *b, struct modvmm_net_pt_info *out)
{
	return MODVMM_NET_HAS(b->ops, pt_info) ? b->ops->pt_info(b->be, out) : -ENOTSUP;
}

static inline int modvmm_net_pt_start(const struct modvmm_net_backend *b, const struct modvmm_net_pt_cfg *cfg)
{
	return MODVMM_NET_HAS(b->ops, pt_start) ? b->ops->pt_start(b->be, cfg) : -ENOTSUP;
}

static inline void modvmm_net_pt_stop(const struct modvmm_net_backend *b)
{
	if (MODVMM_NET_HAS(b->ops, pt_stop))
		b->ops->pt_stop(b->be);
}

/* Virtqueue offload: -ENOTSUP (vq_features: 0) when the backend lacks the op. */
static inline uint64_t modvmm_net_vq_features(const struct modvmm_net_backend *b)
{
	return MODVMM_NET_HAS(b->ops, vq_features) ? b->ops->vq_features(b->be) : 0;
}

static inline int modvmm_net_vq_set_features(const struct modvmm_net_backend *b, uint64_t features)
{
	return MODVMM_NET_HAS(b->ops, vq_set_features) ? b->ops->vq_set_features(b->be, features) : -ENOTSUP;
}

static inline int modvmm_net_vq_set_mem(const struct modvmm_net_backend *b, const struct modvmm_mem_region *r,
                                        unsigned n)
{
	return MODVMM_NET_HAS(b->ops, vq_set_mem) ? b->ops->vq_set_mem(b->be, r, n) : -ENOTSUP;
}

static inline int modvmm_net_vq_start(const struct modvmm_net_backend *b, unsigned vq,
                                      const struct modvmm_net_vring *vr)
{
	return MODVMM_NET_HAS(b->ops, vq_start) ? b->ops->vq_start(b->be, vq, vr) : -ENOTSUP;
}

static inline int modvmm_net_vq_stop(const struct modvmm_net_backend *b, unsigned vq, uint16_t *next_avail)
{
	return MODVMM_NET_HAS(b->ops, vq_stop) ? b->ops->vq_stop(b->be, vq, next_avail) : -ENOTSUP;
}

/* True when a backend offering PACKET_IO fills every entry packet I/O needs. */
static inline bool modvmm_net_packet_io_ok(const struct modvmm_net_backend *b)
{
	const struct modvmm_net_backend_ops *o = b->ops;
	return (modvmm_net_caps(b) & MODVMM_NET_CAP_PACKET_IO) && MODVMM_NET_HAS(o, attach) &&
	       MODVMM_NET_HAS(o, queue) && MODVMM_NET_HAS(o, send) && MODVMM_NET_HAS(o, peek_len) &&
	       MODVMM_NET_HAS(o, recv) && MODVMM_NET_HAS(o, rx_fd);
}

/* True when a backend offering RING_PASSTHROUGH fills every entry it needs. */
static inline bool modvmm_net_ring_passthrough_ok(const struct modvmm_net_backend *b)
{
	return (modvmm_net_caps(b) & MODVMM_NET_CAP_RING_PASSTHROUGH) && MODVMM_NET_HAS(b->ops, pt_info) &&
	       MODVMM_NET_HAS(b->ops, pt_start);
}

/* True when a backend offering VQ_OFFLOAD fills every entry it needs. */
static inline bool modvmm_net_vq_offload_ok(const struct modvmm_net_backend *b)
{
	const struct modvmm_net_backend_ops *o = b->ops;
	return (modvmm_net_caps(b) & MODVMM_NET_CAP_VQ_OFFLOAD) && MODVMM_NET_HAS(o, attach) &&
	       MODVMM_NET_HAS(o, queue) && MODVMM_NET_HAS(o, vq_features) && MODVMM_NET_HAS(o, vq_set_features) &&
	       MODVMM_NET_HAS(o, vq_set_mem) && MODVMM_NET_HAS(o, vq_start) && MODVMM_NET_HAS(o, vq_stop);
}

#ifdef __cplusplus
}
#endif
#endif /* MODVMM_NET_H */
