/* SPDX-License-Identifier: MIT */
/* A minimal driver side of a split virtqueue in a flat test memory, for the
 * virtqueue and virtio-net unit tests and the fuzzer. */
#ifndef VRING_DRV_H
#define VRING_DRV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "virtio.h"

struct vring_drv {
	uint8_t *mem;          /* guest memory, gpa 0 */
	uint16_t num;
	uint64_t desc, avail, used;  /* gpas */
	uint16_t avail_idx, last_used, next_free;
};

struct drv_buf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

static inline struct vring_desc *drv_desc(struct vring_drv *d, unsigned i)
{
	return (struct vring_desc *)(d->mem + d->desc) + i;
}

static inline uint16_t *drv_avail(struct vring_drv *d)
{
	return (uint16_t *)(d->mem + d->avail);
}

static inline uint8_t *drv_used(struct vring_drv *d)
{
	return d->mem + d->used;
}

static inline void drv_init(struct vring_drv *d, uint8_t *mem, uint16_t num, uint64_t desc, uint64_t avail,
                            uint64_t used)
{
	*d = (struct vring_drv){ .mem = mem, .num = num, .desc = desc, .avail = avail, .used = used };
	memset(mem + desc, 0, VRING_DESC_SIZE(num));
	memset(mem + avail, 0, VRING_AVAIL_SIZE(num));
	memset(mem + used, 0, VRING_USED_SIZE(num));
}

/* Write a chain of n buffers into descriptors starting at `first` (consecutive,
 * wrapping) and return its head. */
static inline uint16_t drv_chain_at(struct vring_drv *d, uint16_t first, const struct drv_buf *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((first + i) % d->num);
		*drv_desc(d, idx) = (struct vring_desc){
			.addr = b[i].addr, .len = b[i].len,
			.flags = (uint16_t)((b[i].write ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			.next = (uint16_t)((idx + 1) % d->num),
		};
	}
	return first;
}

/* Make `head` available (and bump the index). */
static inline void drv_publish(struct vring_drv *d, uint16_t head)
{
	drv_avail(d)[2 + d->avail_idx % d->num] = head;
	d->avail_idx++;
	__atomic_store_n(&drv_avail(d)[1], d->avail_idx, __ATOMIC_RELEASE);
}

/* Add a chain at the next free descriptors and publish it; returns its head. */
static inline uint16_t drv_add(struct vring_drv *d, const struct drv_buf *b, unsigned n)
{
	uint16_t head = drv_chain_at(d, d->next_free, b, n);
	d->next_free = (uint16_t)((d->next_free + n) % d->num);
	drv_publish(d, head);
	return head;
}

static inline uint16_t drv_used_idx(struct vring_drv *d)
{
	return __atomic_load_n((uint16_t *)(drv_used(d) + 2), __ATOMIC_ACQUIRE);
}

/* Take the next used element; false when none. */
static inline bool drv_get_used(struct vring_drv *d, uint32_t *id, uint32_t *len)
{
	if (d->last_used == drv_used_idx(d))
		return false;
	const struct vring_used_elem *u =
		(const struct vring_used_elem *)(drv_used(d) + VRING_USED_RING_OFF) + d->last_used % d->num;
	*id = u->id;
	*len = u->len;
	d->last_used++;
	return true;
}

/* EVENT_IDX fields: used_event (driver writes), avail_event (device writes). */
static inline uint16_t *drv_used_event(struct vring_drv *d)
{
	return &drv_avail(d)[2 + d->num];
}

static inline uint16_t drv_avail_event(struct vring_drv *d)
{
	return *(uint16_t *)(drv_used(d) + VRING_USED_RING_OFF + 8 * d->num);
}

#endif
