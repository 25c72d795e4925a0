/* SPDX-License-Identifier: MIT */
#include "virtqueue.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Offsets in the rings (virtio 1.2 §2.7.6, §2.7.8). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX   1
#define AVAIL_RING  2                /* in uint16_t units */
#define USED_FLAGS  0
#define USED_IDX    2                /* in bytes */
#define USED_RING   VRING_USED_RING_OFF

#define barrier() __asm__ volatile("" ::: "memory")

static void guest_error(struct vq *vq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void guest_error(struct vq *vq, const char *fmt, ...)
{
	if (vq->logged || !vq->log)
		return;
	vq->logged = true; /* once per queue until reset: a hostile guest cannot flood the log */
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "%s: ", vq->name);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	vq->log(vq->opaque, msg);
}

/* A broken queue stops until reset, so its (single) report bypasses the once rule. */
static void fail_queue(struct vq *vq)
{
	vq->broken = true;
	vq->ready = false;
}

#define queue_error(vq, ...) do { (vq)->logged = false; guest_error((vq), __VA_ARGS__); fail_queue(vq); } while (0)

void vq_init(struct vq *vq, const char *name, uint16_t num_max, vq_translate_fn translate, vq_log_fn log,
             void *opaque)
{
	*vq = (struct vq){ .num_max = num_max, .translate = translate, .log = log, .opaque = opaque, .name = name };
	vq_reset(vq);
}

void vq_reset(struct vq *vq)
{
	vq->num = vq->num_max;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->event_idx = vq->indirect = false;
	vq->ready = vq->broken = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->last_avail = vq->shadow_avail = vq->used_idx = vq->pending = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->bad_chains = 0;
	vq->logged = false;
}

int vq_start(struct vq *vq)
{
	uint16_t n = vq->num;
	if (!n || (n & (n - 1)) || n > vq->num_max) {
		guest_error(vq, "queue size %u is not a power of two up to %u", n, vq->num_max);
		fail_queue(vq);
		return -EINVAL;
	}
	if (vq->desc_gpa % VRING_DESC_ALIGN || vq->avail_gpa % VRING_AVAIL_ALIGN || vq->used_gpa % VRING_USED_ALIGN) {
		guest_error(vq, "misaligned rings (desc 0x%llx, driver 0x%llx, device 0x%llx)",
		            (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
		            (unsigned long long)vq->used_gpa);
		fail_queue(vq);
		return -EINVAL;
	}
	vq->desc = vq->translate(vq->opaque, vq->desc_gpa, VRING_DESC_SIZE(n));
	vq->avail = vq->translate(vq->opaque, vq->avail_gpa, VRING_AVAIL_SIZE(n));
	vq->used = vq->translate(vq->opaque, vq->used_gpa, VRING_USED_SIZE(n));
	if (!vq->desc || !vq->avail || !vq->used) {
		guest_error(vq, "rings outside guest RAM (desc 0x%llx, driver 0x%llx, device 0x%llx, size %u)",
		            (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
		            (unsigned long long)vq->used_gpa, n);
		fail_queue(vq);
		return -EFAULT;
	}
	vq->last_avail = vq->shadow_avail = 0;
	vq->used_idx = vq->pending = 0;
	vq->signalled_valid = false;
	vq->broken = false;
	vq->ready = true;
	return 0;
}

static uint16_t avail_idx(const struct vq *vq)
{
	return __atomic_load_n(&vq->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
}

static uint16_t *used_event(const struct vq *vq)
{
	return &vq->avail[AVAIL_RING + vq->num];
}

static uint16_t *used_u16(const struct vq *vq, size_t off)
{
	return (uint16_t *)(vq->used + off);
}

static uint16_t *avail_event(const struct vq *vq)
{
	return used_u16(vq, USED_RING + sizeof(struct vring_used_elem) * vq->num);
}

/* Read a descriptor once: later uses see this copy even if the guest changes it. */
static struct vring_desc read_desc(const struct vring_desc *table, unsigned i)
{
	struct vring_desc d;
	memcpy(&d, &table[i], sizeof(d));
	barrier();
	return d;
}

/* Fill e from the chain at `head`.  Returns 0, or -EINVAL after reporting. */
static int walk(struct vq *vq, uint16_t head, struct vq_elem *e)
{
	const struct vring_desc *table = vq->desc;
	unsigned table_num = vq->num, idx = head, count = 0;
	bool indirect = false;
	uint64_t out_len = 0, in_len = 0;
	e->head = head;
	e->nout = e->nin = 0;
	for (;;) {
		if (idx >= table_num) {
			guest_error(vq, "descriptor index %u out of range (%u entries%s), driver confused?", idx,
			            table_num, indirect ? " in an indirect table" : "");
			return -EINVAL;
		}
		if (++count > table_num) {
			guest_error(vq, "chain at head %u is longer than its table of %u (a loop?)", head, table_num);
			return -EINVAL;
		}
		struct vring_desc d = read_desc(table, idx);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect || indirect || (d.flags & VRING_DESC_F_NEXT)) {
				guest_error(vq, "chain at head %u: %s", head,
				            !vq->indirect ? "indirect descriptor without VIRTIO_F_RING_INDIRECT_DESC"
				            : indirect ? "indirect table inside an indirect table"
				                       : "indirect descriptor with NEXT set");
				return -EINVAL;
			}
			if (!d.len || d.len % sizeof(struct vring_desc) ||
			    d.len / sizeof(struct vring_desc) > VQ_MAX_INDIRECT) {
				guest_error(vq, "indirect table of %u bytes (a multiple of 16 up to %u entries expected)",
				            d.len, VQ_MAX_INDIRECT);
				return -EINVAL;
			}
			table = vq->translate(vq->opaque, d.addr, d.len);
			if (!table) {
				guest_error(vq, "indirect table at 0x%llx+%u outside guest RAM", (unsigned long long)d.addr,
				            d.len);
				return -EINVAL;
			}
			table_num = d.len / sizeof(struct vring_desc);
			idx = 0;
			count = 0;
			indirect = true;
			continue;
		}
		void *hva = vq->translate(vq->opaque, d.addr, d.len);
		if (!hva) {
			guest_error(vq, "buffer 0x%llx+%u outside guest RAM (chain at head %u)",
			            (unsigned long long)d.addr, d.len, head);
			return -EINVAL;
		}
		if (d.len) {
			if (e->nout + e->nin == VQ_MAX_IOV) {
				guest_error(vq, "chain at head %u has more than %u buffers", head, VQ_MAX_IOV);
				return -EINVAL;
			}
			if (d.flags & VRING_DESC_F_WRITE) {
				in_len += d.len;
				e->nin++;
			} else {
				if (e->nin) {
					guest_error(vq, "chain at head %u: readable buffer after a writable one", head);
					return -EINVAL;
				}
				out_len += d.len;
				e->nout++;
			}
			e->iov[e->nout + e->nin - 1] = (struct iovec){ .iov_base = hva, .iov_len = d.len };
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
	}
	if (out_len > UINT32_MAX || in_len > UINT32_MAX) {
		guest_error(vq, "chain at head %u is longer than 4 GiB", head);
		return -EINVAL;
	}
	e->out_len = (uint32_t)out_len;
	e->in_len = (uint32_t)in_len;
	return 0;
}

int vq_pop(struct vq *vq, struct vq_elem *e)
{
	for (;;) {
		if (vq->broken)
			return -EIO;
		if (!vq->ready)
			return 0;
		if (vq->last_avail == vq->shadow_avail) {
			uint16_t idx = avail_idx(vq);
			if ((uint16_t)(idx - vq->last_avail) > vq->num) {
				queue_error(vq, "avail index jumped from %u to %u with a queue of %u", vq->last_avail, idx,
				            vq->num);
				return -EIO;
			}
			vq->shadow_avail = idx;
			if (idx == vq->last_avail)
				return 0;
		}
		uint16_t head = __atomic_load_n(&vq->avail[AVAIL_RING + (vq->last_avail & (vq->num - 1))],
		                                __ATOMIC_RELAXED);
		if (head >= vq->num) {
			queue_error(vq, "avail ring names descriptor %u of %u", head, vq->num);
			return -EIO;
		}
		vq->last_avail++;
		if (walk(vq, head, e) == 0)
			return 1;
		vq->bad_chains++;
		vq_push(vq, head, 0); /* dropped: the driver gets its buffers back */
	}
}

void vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	if (!vq->ready)
		return;
	uint16_t slot = (uint16_t)(vq->used_idx + vq->pending) & (vq->num - 1);
	struct vring_used_elem *u = (struct vring_used_elem *)(vq->used + USED_RING) + slot;
	__atomic_store_n(&u->id, head, __ATOMIC_RELAXED);
	__atomic_store_n(&u->len, len, __ATOMIC_RELAXED);
	vq->pending++;
}

unsigned vq_flush(struct vq *vq)
{
	unsigned n = vq->pending;
	if (!n || !vq->ready)
		return 0;
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	vq->pending = 0;
	__atomic_store_n(used_u16(vq, USED_IDX), vq->used_idx, __ATOMIC_RELEASE);
	return n;
}

bool vq_need_notify(struct vq *vq)
{
	if (!vq->ready)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used idx before the driver's flags/event */
	if (!vq->event_idx)
		return !(__atomic_load_n(&vq->avail[AVAIL_FLAGS], __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT);
	uint16_t old = vq->signalled_used, now = vq->used_idx;
	bool valid = vq->signalled_valid;
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	return vq_need_event(__atomic_load_n(used_event(vq), __ATOMIC_RELAXED), now, old);
}

void vq_disable_notify(struct vq *vq)
{
	if (!vq->ready || vq->event_idx)
		return; /* with EVENT_IDX a stale avail_event already suppresses kicks */
	__atomic_store_n(used_u16(vq, USED_FLAGS), VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

bool vq_enable_notify(struct vq *vq)
{
	if (!vq->ready)
		return false;
	if (vq->event_idx)
		__atomic_store_n(avail_event(vq), vq->last_avail, __ATOMIC_RELAXED);
	else
		__atomic_store_n(used_u16(vq, USED_FLAGS), 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the request before re-reading avail idx */
	return avail_idx(vq) != vq->last_avail;
}
