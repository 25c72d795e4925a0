/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the split-virtqueue walker (plugins/virtio-net/virtqueue.c).
 *
 * The input becomes the guest: its first bytes choose the queue size, the ring
 * addresses, the negotiated ring features and how many chains to take; the rest
 * is copied into a small guest memory that holds the rings, the descriptors and
 * any indirect tables.  The walker must never touch memory outside that guest
 * RAM (AddressSanitizer guards both ends), never loop, and never hand out a
 * buffer that does not lie inside RAM.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtqueue.h"

#define RAM_SIZE 0x10000
#define HEADER 16
#define MAX_POPS 64

struct fuzz_ram {
	uint8_t *ram;
};

static void *translate(void *opaque, uint64_t gpa, uint64_t len)
{
	struct fuzz_ram *r = opaque;
	if (!len)
		len = 1;
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return r->ram + gpa;
}

static void check_elem(const struct fuzz_ram *r, const struct vq_elem *e)
{
	uint64_t out = 0, in = 0;
	if (e->nout + e->nin > VQ_MAX_IOV)
		abort();
	for (unsigned i = 0; i < (unsigned)e->nout + e->nin; i++) {
		const uint8_t *p = e->iov[i].iov_base;
		if (p < r->ram || p + e->iov[i].iov_len > r->ram + RAM_SIZE)
			abort();
		*(i < e->nout ? &out : &in) += e->iov[i].iov_len;
	}
	if (out != e->out_len || in != e->in_len)
		abort();
}

static uint16_t u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HEADER)
		return 0;
	struct fuzz_ram r = { .ram = calloc(1, RAM_SIZE) };
	memcpy(r.ram, data + HEADER, size - HEADER < RAM_SIZE ? size - HEADER : RAM_SIZE);
	struct vq vq;
	vq_init(&vq, "fuzz", 1024, translate, NULL, &r);
	vq.num = (uint16_t)(1u << (data[0] % 11));               /* 1..1024, sometimes odd below */
	if (data[1] & 0x80)
		vq.num = u16(data + 2);                          /* anything at all */
	vq.desc_gpa = u16(data + 4) * 16ull;
	vq.avail_gpa = u16(data + 6) * 2ull;
	vq.used_gpa = u16(data + 8) * 4ull;
	vq.indirect = data[1] & 1;
	vq.event_idx = data[1] & 2;
	unsigned pops = data[10] % MAX_POPS;
	if (vq_start(&vq) == 0) {
		struct vq_elem e;
		for (unsigned i = 0; i < pops; i++) {
			int ret = vq_pop(&vq, &e);
			if (ret <= 0)
				break;
			check_elem(&r, &e);
			/* the guest may rewrite its rings meanwhile */
			if (data[11] & (1u << (i % 8)))
				r.ram[(data[12] + i * 97u) % RAM_SIZE] ^= data[13];
			vq_push(&vq, e.head, e.in_len);
			if (i % 4 == 3) {
				vq_flush(&vq);
				vq_need_notify(&vq);
			}
		}
		vq_flush(&vq);
		vq_need_notify(&vq);
		vq_disable_notify(&vq);
		vq_enable_notify(&vq);
	}
	vq_reset(&vq);
	free(r.ram);
	return 0;
}
