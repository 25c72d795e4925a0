/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2 §2.7), device side: walking descriptor chains
 * (direct and indirect), returning used buffers, and notification suppression
 * (flags or EVENT_IDX).
 *
 * Nothing from the guest is trusted.  Every guest-physical range goes through
 * the `translate` callback (the core's bounds-checked host->gpa_to_hva), each
 * descriptor is read once, and a chain is refused when it points outside RAM,
 * has a length that wraps, is longer than its table (a loop), nests an indirect
 * table, puts a readable buffer after a writable one or has more than
 * VQ_MAX_IOV buffers.  A refused chain is returned to the driver as used with
 * length 0 (dropped), counted in bad_chains and reported once.  A queue whose
 * rings lie outside RAM, whose avail index runs ahead by more than the queue
 * size or whose avail ring names a descriptor out of range is broken: every
 * call then fails with -EIO and the device should set DEVICE_NEEDS_RESET.
 *
 * Not thread-safe: one thread drives a queue at a time.
 */
#ifndef VIRTQUEUE_H
#define VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio.h"

#define VQ_MAX_IOV 64          /* buffers per chain after indirect expansion */
#define VQ_MAX_INDIRECT 1024   /* entries of one indirect table */

typedef void *(*vq_translate_fn)(void *opaque, uint64_t gpa, uint64_t len);
typedef void (*vq_log_fn)(void *opaque, const char *msg);

/* One popped chain: device-readable buffers iov[0..nout), then device-writable
 * buffers iov[nout..nout+nin). */
struct vq_elem {
	uint16_t head;
	uint16_t nout, nin;
	uint32_t out_len, in_len;
	struct iovec iov[VQ_MAX_IOV];
};

struct vq {
	/* configured by the driver through the transport */
	uint16_t num;               /* queue size */
	uint16_t num_max;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx;             /* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool indirect;              /* VIRTIO_F_RING_INDIRECT_DESC negotiated */

	/* running state */
	bool ready;
	bool broken;
	const struct vring_desc *desc;
	uint16_t *avail;            /* flags, idx, ring[num], used_event */
	uint8_t *used;              /* flags, idx, ring[num], avail_event */
	uint16_t last_avail;        /* next avail entry to take */
	uint16_t shadow_avail;      /* avail idx as last read */
	uint16_t used_idx;          /* published used idx */
	uint16_t pending;           /* pushed but not flushed */
	uint16_t signalled_used;
	bool signalled_valid;
	uint64_t bad_chains;
	bool logged;                /* a guest error was reported */

	vq_translate_fn translate;
	vq_log_fn log;
	void *opaque;
	const char *name;           /* "rx0", "tx0", "ctrl" */
};

/* Set callbacks and the largest size; the queue starts reset. */
void vq_init(struct vq *vq, const char *name, uint16_t num_max, vq_translate_fn translate,
             vq_log_fn log, void *opaque);
/* Back to the initial state: size num_max, no addresses, not ready. */
void vq_reset(struct vq *vq);
/* Map the rings the driver configured.  Returns 0, or -EINVAL (size not a power
 * of two, misaligned) / -EFAULT (outside RAM) with the queue marked broken. */
int vq_start(struct vq *vq);

/* Take the next chain: 1 when *e holds one, 0 when the ring is empty, -EIO when
 * the queue is broken. */
int vq_pop(struct vq *vq, struct vq_elem *e);
/* Return a chain with `len` bytes written; visible to the driver at vq_flush(). */
void vq_push(struct vq *vq, uint16_t head, uint32_t len);
/* Publish pushed entries (used idx, release order).  Returns how many. */
unsigned vq_flush(struct vq *vq);
/* After vq_flush(): does the driver want an interrupt for what was published
 * since the last call? */
bool vq_need_notify(struct vq *vq);

/* Ask the driver to stop kicking while the device polls the ring. */
void vq_disable_notify(struct vq *vq);
/* Ask for a kick on the next available buffer.  Returns true when buffers are
 * already available (process them instead of sleeping).  A device that waits
 * for the driver's kick must call it after finding the ring empty and before
 * it sleeps: with EVENT_IDX the driver kicks only when its avail index passes
 * avail_event, which nothing else moves. */
bool vq_enable_notify(struct vq *vq);

/* EVENT_IDX test (§2.7.10): has the index crossed `event` going from old to new? */
static inline bool vq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif
