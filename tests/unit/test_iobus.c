/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vm/iobus.h"

struct rec {
	uint64_t last_off;
	uint64_t last_val;
	unsigned writes;
};

static uint64_t rd(void *opaque, uint64_t off, unsigned size)
{
	return 0x1000 + off;
}

static void wr(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct rec *r = opaque;
	r->last_off = off;
	r->last_val = v;
	__atomic_fetch_add(&r->writes, 1, __ATOMIC_RELAXED);
}

static const struct modvmm_io_ops ops = { .read = rd, .write = wr };

static void overlap_refused(void **state)
{
	struct iobus bus;
	struct io_range c;
	iobus_init(&bus, "pio");
	assert_true(iobus_add(&bus, 0x3f8, 8, &ops, NULL, NULL) > 0);
	assert_int_equal(iobus_add(&bus, 0x3ff, 1, &ops, NULL, &c), -EEXIST);
	assert_int_equal(c.base, 0x3f8);
	assert_int_equal(iobus_add(&bus, 0x3f0, 9, &ops, NULL, NULL), -EEXIST);
	assert_true(iobus_add(&bus, 0x3f0, 8, &ops, NULL, NULL) > 0);   /* adjacent below */
	assert_true(iobus_add(&bus, 0x400, 1, &ops, NULL, NULL) > 0);   /* adjacent above */
	assert_int_equal(iobus_add(&bus, 0x10, 0, &ops, NULL, NULL), -EINVAL);
	assert_int_equal(iobus_add(&bus, UINT64_MAX, 2, &ops, NULL, NULL), -EINVAL);
	iobus_destroy(&bus);
}

static void lookup_and_dispatch(void **state)
{
	struct iobus bus;
	struct rec r = { 0 };
	iobus_init(&bus, "mmio");
	int64_t ids[64];
	for (int i = 0; i < 64; i++)   /* inserted out of order */
		assert_true((ids[i] = iobus_add(&bus, 0x10000 + (uint64_t)((i * 37) % 64) * 0x100, 0x80, &ops, &r, NULL)) > 0);
	uint64_t v = 0;
	assert_true(iobus_access(&bus, 0x10000 + 5 * 0x100 + 4, 4, false, &v));
	assert_int_equal(v, 0x1004);
	assert_false(iobus_access(&bus, 0x10000 + 5 * 0x100 + 0x80, 4, false, &v)); /* gap */
	assert_int_equal(v, 0xffffffff);
	v = 0xab;
	assert_true(iobus_access(&bus, 0x10000 + 63 * 0x100 + 0x7f, 1, true, &v));
	assert_int_equal(r.last_off, 0x7f);
	assert_int_equal(r.last_val, 0xab);
	struct io_range out;
	assert_true(iobus_find(&bus, 0x10000, &out));
	assert_int_equal(iobus_remove(&bus, out.id), 0);
	assert_false(iobus_find(&bus, 0x10000, &out));
	assert_int_equal(iobus_remove(&bus, out.id), -ENOENT);
	/* move: old address no longer decodes, new one does; overlap refused */
	assert_int_equal(iobus_move(&bus, ids[1], 0x900000), 0);
	assert_true(iobus_find(&bus, 0x900010, &out));
	assert_int_equal(out.id, (uint64_t)ids[1]);
	assert_int_equal(iobus_move(&bus, ids[2], 0x900040), -EEXIST);
	iobus_destroy(&bus);
}

/* Readers race a writer that keeps moving one range; readers must always find
 * the static ranges and never crash. */
struct race {
	struct iobus *bus;
	volatile int stop;
	unsigned misses;
};

static void *reader(void *arg)
{
	struct race *ra = arg;
	struct io_range out;
	while (!ra->stop)
		for (uint64_t a = 0; a < 16; a++)
			if (!iobus_find(ra->bus, a * 0x10, &out))
				ra->misses++;
	return NULL;
}

static void concurrent_lookup(void **state)
{
	struct iobus bus;
	iobus_init(&bus, "pio");
	for (uint64_t a = 0; a < 16; a++)
		assert_true(iobus_add(&bus, a * 0x10, 0x10, &ops, NULL, NULL) > 0);
	int64_t mover = iobus_add(&bus, 0x1000, 4, &ops, NULL, NULL);
	assert_true(mover > 0);
	struct race ra = { .bus = &bus };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reader, &ra), 0);
	for (int i = 0; i < 2000; i++)
		assert_int_equal(iobus_move(&bus, mover, 0x1000 + (uint64_t)(i % 100) * 8), 0);
	ra.stop = 1;
	pthread_join(t, NULL);
	assert_int_equal(ra.misses, 0);
	/* with no reader left, the next update frees every replaced table */
	assert_int_equal(iobus_move(&bus, mover, 0x2000), 0);
	assert_int_equal(iobus_retired_count(&bus), 0);
	/* a reader inside a lookup keeps replaced tables alive until it leaves */
	atomic_fetch_add(&bus.readers, 1);
	assert_int_equal(iobus_move(&bus, mover, 0x3000), 0);
	assert_int_equal(iobus_retired_count(&bus), 1);
	atomic_fetch_sub(&bus.readers, 1);
	assert_int_equal(iobus_move(&bus, mover, 0x4000), 0);
	assert_int_equal(iobus_retired_count(&bus), 0);
	iobus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overlap_refused),
		cmocka_unit_test(lookup_and_dispatch),
		cmocka_unit_test(concurrent_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
