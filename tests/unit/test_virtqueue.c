/* SPDX-License-Identifier: MIT */
/* The split-virtqueue walker against a fake guest memory: chains, indirect
 * tables, index wrap-around, EVENT_IDX arithmetic, and hostile rings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtqueue.h"
#include "vring_drv.h"

#define MEM_SIZE (1u << 20)
#define DESC_GPA 0x1000
#define AVAIL_GPA 0x3000
#define USED_GPA 0x4000
#define BUF_GPA 0x10000
#define TABLE_GPA 0x8000

struct t {
	uint8_t *mem;
	struct vq vq;
	struct vring_drv d;
	char log[1024];
	unsigned nlog;
};

static void *translate(void *opaque, uint64_t gpa, uint64_t len)
{
	struct t *t = opaque;
	if (!len)
		len = 1;
	if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
		return NULL;
	return t->mem + gpa;
}

static void logger(void *opaque, const char *msg)
{
	struct t *t = opaque;
	snprintf(t->log, sizeof(t->log), "%s", msg);
	t->nlog++;
}

static struct t *setup_q(uint16_t num, bool indirect, bool event_idx)
{
	struct t *t = calloc(1, sizeof(*t));
	t->mem = calloc(1, MEM_SIZE);
	vq_init(&t->vq, "txq", 256, translate, logger, t);
	t->vq.num = num;
	t->vq.desc_gpa = DESC_GPA;
	t->vq.avail_gpa = AVAIL_GPA;
	t->vq.used_gpa = USED_GPA;
	t->vq.indirect = indirect;
	t->vq.event_idx = event_idx;
	drv_init(&t->d, t->mem, num, DESC_GPA, AVAIL_GPA, USED_GPA);
	assert_int_equal(vq_start(&t->vq), 0);
	return t;
}

static void teardown_q(struct t *t)
{
	free(t->mem);
	free(t);
}

/* The next popped chain must be dropped: returned used with length 0. */
static void expect_dropped(struct t *t, uint16_t head, const char *why)
{
	struct vq_elem e;
	unsigned before = t->nlog;
	uint64_t bad = t->vq.bad_chains;
	assert_int_equal(vq_pop(&t->vq, &e), 0);
	assert_int_equal(t->vq.bad_chains, bad + 1);
	assert_int_equal(vq_flush(&t->vq), 1);
	uint32_t id, len;
	assert_true(drv_get_used(&t->d, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	if (before == 0 && !strstr(t->log, why))
		fail_msg("log '%s' lacks '%s'", t->log, why);
	assert_false(t->vq.broken);
}

static void simple_chain(void **state)
{
	struct t *t = setup_q(8, false, false);
	struct drv_buf b[3] = { { BUF_GPA, 10, false }, { BUF_GPA + 100, 1500, false }, { BUF_GPA + 4096, 64, true } };
	uint16_t head = drv_add(&t->d, b, 3);
	struct vq_elem e;
	assert_int_equal(vq_pop(&t->vq, &e), 1);
	assert_int_equal(e.head, head);
	assert_int_equal(e.nout, 2);
	assert_int_equal(e.nin, 1);
	assert_int_equal(e.out_len, 1510);
	assert_int_equal(e.in_len, 64);
	assert_ptr_equal(e.iov[0].iov_base, t->mem + BUF_GPA);
	assert_ptr_equal(e.iov[2].iov_base, t->mem + BUF_GPA + 4096);
	assert_int_equal(vq_pop(&t->vq, &e), 0);            /* empty now */
	vq_push(&t->vq, head, 64);
	assert_int_equal(drv_used_idx(&t->d), 0);            /* not visible before flush */
	assert_int_equal(vq_flush(&t->vq), 1);
	uint32_t id, len;
	assert_true(drv_get_used(&t->d, &id, &len));
	assert_int_equal(id, head);
	assert_int_equal(len, 64);
	assert_int_equal(t->nlog, 0);
	teardown_q(t);
}

static void indirect_table(void **state)
{
	struct t *t = setup_q(8, true, false);
	struct vring_desc *tab = (struct vring_desc *)(t->mem + TABLE_GPA);
	for (unsigned i = 0; i < 5; i++)
		tab[i] = (struct vring_desc){ .addr = BUF_GPA + i * 2048, .len = 100 + i,
		                              .flags = (uint16_t)((i >= 3 ? VRING_DESC_F_WRITE : 0) |
		                                                  (i < 4 ? VRING_DESC_F_NEXT : 0)),
		                              .next = (uint16_t)(i + 1) };
	*drv_desc(&t->d, 0) = (struct vring_desc){ .addr = TABLE_GPA, .len = 5 * 16, .flags = VRING_DESC_F_INDIRECT };
	drv_publish(&t->d, 0);
	struct vq_elem e;
	assert_int_equal(vq_pop(&t->vq, &e), 1);
	assert_int_equal(e.head, 0);
	assert_int_equal(e.nout, 3);
	assert_int_equal(e.nin, 2);
	assert_int_equal(e.out_len, 100 + 101 + 102);
	assert_int_equal(e.in_len, 103 + 104);
	assert_ptr_equal(e.iov[4].iov_base, t->mem + BUF_GPA + 4 * 2048);
	teardown_q(t);

	/* not negotiated: the chain is dropped */
	t = setup_q(8, false, false);
	*drv_desc(&t->d, 0) = (struct vring_desc){ .addr = TABLE_GPA, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	drv_publish(&t->d, 0);
	expect_dropped(t, 0, "without VIRTIO_F_RING_INDIRECT_DESC");
	teardown_q(t);
}

/* Indices run through 65535 -> 0, and the ring positions wrap many times. */
static void wrap_around(void **state)
{
	struct t *t = setup_q(4, false, false);
	uint16_t start = 65530;
	t->vq.last_avail = t->vq.shadow_avail = start;
	t->vq.used_idx = start;
	t->d.avail_idx = start;
	t->d.last_used = start;
	*(uint16_t *)(drv_used(&t->d) + 2) = start;
	for (unsigned round = 0; round < 20; round++) {
		struct drv_buf b[2] = { { BUF_GPA + round, 10, false }, { BUF_GPA + 512, 20, true } };
		uint16_t h = drv_add(&t->d, b, 2);
		struct vq_elem e;
		assert_int_equal(vq_pop(&t->vq, &e), 1);
		assert_int_equal(e.head, h);
		assert_ptr_equal(e.iov[0].iov_base, t->mem + BUF_GPA + round);
		vq_push(&t->vq, e.head, round);
		vq_flush(&t->vq);
		uint32_t id, len;
		assert_true(drv_get_used(&t->d, &id, &len));
		assert_int_equal(id, h);
		assert_int_equal(len, round);
	}
	assert_int_equal(t->vq.last_avail, (uint16_t)(start + 20));
	/* a full ring: four chains of one buffer each */
	for (unsigned i = 0; i < 4; i++)
		drv_add(&t->d, (struct drv_buf[]){ { BUF_GPA, 1, false } }, 1);
	struct vq_elem e;
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(vq_pop(&t->vq, &e), 1);
	assert_int_equal(vq_pop(&t->vq, &e), 0);
	teardown_q(t);
}

static void event_idx_arithmetic(void **state)
{
	/* §2.7.10: notify when new_idx has passed event since old */
	assert_true(vq_need_event(0, 1, 0));
	assert_false(vq_need_event(1, 1, 0));
	assert_true(vq_need_event(1, 2, 0));
	assert_false(vq_need_event(5, 5, 2));
	assert_true(vq_need_event(4, 5, 2));
	assert_true(vq_need_event(65535, 2, 65530));  /* across the wrap */
	assert_false(vq_need_event(3, 2, 65530));
	assert_true(vq_need_event(65530, 65531, 65530));

	struct t *t = setup_q(8, false, true);
	struct vq_elem e;
	/* first publication always interrupts; later ones only past used_event */
	*drv_used_event(&t->d) = 2;
	for (unsigned i = 0; i < 4; i++)
		drv_add(&t->d, (struct drv_buf[]){ { BUF_GPA, 1, false } }, 1);
	bool got[4];
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(vq_pop(&t->vq, &e), 1);
		vq_push(&t->vq, e.head, 0);
		vq_flush(&t->vq);
		got[i] = vq_need_notify(&t->vq);
	}
	assert_true(got[0]);  /* no earlier signal */
	assert_false(got[1]); /* used idx 2: event 2 not yet crossed */
	assert_true(got[2]);  /* used idx 3 crosses event 2 */
	assert_false(got[3]);
	/* enable_notify writes avail_event = next index to consume */
	assert_false(vq_enable_notify(&t->vq));
	assert_int_equal(drv_avail_event(&t->d), 4);
	drv_add(&t->d, (struct drv_buf[]){ { BUF_GPA, 1, false } }, 1);
	assert_true(vq_enable_notify(&t->vq)); /* something arrived: do not sleep */
	teardown_q(t);
}

static void flags_suppression(void **state)
{
	struct t *t = setup_q(8, false, false);
	vq_disable_notify(&t->vq);
	assert_int_equal(*(uint16_t *)drv_used(&t->d), VRING_USED_F_NO_NOTIFY);
	assert_false(vq_enable_notify(&t->vq));
	assert_int_equal(*(uint16_t *)drv_used(&t->d), 0);
	struct vq_elem e;
	drv_add(&t->d, (struct drv_buf[]){ { BUF_GPA, 1, false } }, 1);
	assert_int_equal(vq_pop(&t->vq, &e), 1);
	vq_push(&t->vq, e.head, 0);
	vq_flush(&t->vq);
	drv_avail(&t->d)[0] = VRING_AVAIL_F_NO_INTERRUPT;
	assert_false(vq_need_notify(&t->vq));
	drv_avail(&t->d)[0] = 0;
	assert_true(vq_need_notify(&t->vq));
	teardown_q(t);
}

/* ---- hostile guests ------------------------------------------------------------ */

static void hostile_buffers(void **state)
{
	struct t *t = setup_q(8, true, false);
	/* outside RAM */
	uint16_t h = drv_add(&t->d, (struct drv_buf[]){ { MEM_SIZE - 8, 16, false } }, 1);
	expect_dropped(t, h, "outside guest RAM");
	/* a length that wraps the address space */
	h = drv_add(&t->d, (struct drv_buf[]){ { 0xfffffffffffff000ull, 0x2000, false } }, 1);
	expect_dropped(t, h, "");
	/* readable after writable */
	h = drv_add(&t->d, (struct drv_buf[]){ { BUF_GPA, 8, true }, { BUF_GPA, 8, false } }, 2);
	expect_dropped(t, h, "");
	/* still usable afterwards */
	h = drv_add(&t->d, (struct drv_buf[]){ { BUF_GPA, 8, false } }, 1);
	struct vq_elem e;
	assert_int_equal(vq_pop(&t->vq, &e), 1);
	assert_int_equal(e.head, h);
	assert_int_equal(t->nlog, 1); /* reported once */
	teardown_q(t);
}

static void hostile_chains(void **state)
{
	struct t *t = setup_q(8, true, false);
	/* a loop: descriptor 3 points at itself */
	*drv_desc(&t->d, 3) = (struct vring_desc){ .addr = BUF_GPA, .len = 4, .flags = VRING_DESC_F_NEXT, .next = 3 };
	drv_publish(&t->d, 3);
	expect_dropped(t, 3, "a loop");
	/* next out of range */
	*drv_desc(&t->d, 4) = (struct vring_desc){ .addr = BUF_GPA, .len = 4, .flags = VRING_DESC_F_NEXT, .next = 200 };
	drv_publish(&t->d, 4);
	expect_dropped(t, 4, "");
	/* indirect inside indirect */
	struct vring_desc *tab = (struct vring_desc *)(t->mem + TABLE_GPA);
	tab[0] = (struct vring_desc){ .addr = TABLE_GPA + 256, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	*drv_desc(&t->d, 5) = (struct vring_desc){ .addr = TABLE_GPA, .len = 16, .flags = VRING_DESC_F_INDIRECT };
	drv_publish(&t->d, 5);
	expect_dropped(t, 5, "");
	/* indirect with NEXT, bad table lengths, table outside RAM */
	*drv_desc(&t->d, 6) = (struct vring_desc){ .addr = TABLE_GPA, .len = 16,
	                                          .flags = VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, .next = 7 };
	drv_publish(&t->d, 6);
	expect_dropped(t, 6, "");
	*drv_desc(&t->d, 7) = (struct vring_desc){ .addr = TABLE_GPA, .len = 24, .flags = VRING_DESC_F_INDIRECT };
	drv_publish(&t->d, 7);
	expect_dropped(t, 7, "");
	*drv_desc(&t->d, 0) = (struct vring_desc){ .addr = MEM_SIZE - 16, .len = 32, .flags = VRING_DESC_F_INDIRECT };
	drv_publish(&t->d, 0);
	expect_dropped(t, 0, "");
	/* an indirect loop, and more buffers than VQ_MAX_IOV */
	for (unsigned i = 0; i < 100; i++)
		tab[i] = (struct vring_desc){ .addr = BUF_GPA, .len = 1, .flags = VRING_DESC_F_NEXT, .next = (uint16_t)(i + 1) };
	tab[99].next = 0;
	*drv_desc(&t->d, 1) = (struct vring_desc){ .addr = TABLE_GPA, .len = 100 * 16, .flags = VRING_DESC_F_INDIRECT };
	drv_publish(&t->d, 1);
	expect_dropped(t, 1, "");
	tab[99].flags = 0;
	drv_publish(&t->d, 1);
	expect_dropped(t, 1, "");
	/* a chain of 9 in a queue of 8 wraps onto itself */
	for (unsigned i = 0; i < 8; i++)
		*drv_desc(&t->d, i) = (struct vring_desc){ .addr = BUF_GPA, .len = 1, .flags = VRING_DESC_F_NEXT,
		                                          .next = (uint16_t)((i + 1) % 8) };
	drv_publish(&t->d, 2);
	expect_dropped(t, 2, "");
	teardown_q(t);
}

static void hostile_rings(void **state)
{
	/* avail idx more than a queue ahead: broken, NEEDS_RESET for the device */
	struct t *t = setup_q(8, false, false);
	drv_avail(&t->d)[1] = 9;
	struct vq_elem e;
	assert_int_equal(vq_pop(&t->vq, &e), -EIO);
	assert_true(t->vq.broken);
	assert_non_null(strstr(t->log, "avail index jumped"));
	assert_int_equal(vq_pop(&t->vq, &e), -EIO);
	assert_false(vq_enable_notify(&t->vq));
	teardown_q(t);

	/* the avail ring names a descriptor beyond the queue */
	t = setup_q(8, false, false);
	drv_avail(&t->d)[2] = 8;
	drv_avail(&t->d)[1] = 1;
	assert_int_equal(vq_pop(&t->vq, &e), -EIO);
	teardown_q(t);

	/* rings outside RAM (e.g. a used ring in a ROM or MMIO area), misaligned, bad size */
	t = setup_q(8, false, false);
	vq_reset(&t->vq);
	t->vq.num = 8;
	t->vq.desc_gpa = DESC_GPA;
	t->vq.avail_gpa = AVAIL_GPA;
	t->vq.used_gpa = 0xfee00000ull;
	assert_int_equal(vq_start(&t->vq), -EFAULT);
	assert_true(t->vq.broken);
	t->vq.used_gpa = MEM_SIZE - 8;    /* starts in RAM, ends outside */
	assert_int_equal(vq_start(&t->vq), -EFAULT);
	t->vq.used_gpa = USED_GPA + 2;
	assert_int_equal(vq_start(&t->vq), -EINVAL);
	t->vq.used_gpa = USED_GPA;
	t->vq.num = 6;
	assert_int_equal(vq_start(&t->vq), -EINVAL);
	t->vq.num = 512;                  /* more than num_max */
	assert_int_equal(vq_start(&t->vq), -EINVAL);
	/* a reset brings the queue back */
	vq_reset(&t->vq);
	assert_int_equal(t->vq.num, 256);
	assert_false(t->vq.broken);
	assert_false(t->vq.ready);
	assert_int_equal(t->vq.desc_gpa, 0);
	teardown_q(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(simple_chain),
		cmocka_unit_test(indirect_table),
		cmocka_unit_test(wrap_around),
		cmocka_unit_test(event_idx_arithmetic),
		cmocka_unit_test(flags_suppression),
		cmocka_unit_test(hostile_buffers),
		cmocka_unit_test(hostile_chains),
		cmocka_unit_test(hostile_rings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
