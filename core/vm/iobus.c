/* SPDX-License-Identifier: MIT */
#include "vm/iobus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct iobus_table {
	struct iobus_table *next;   /* retired list */
	size_t n;
	struct io_range r[];        /* sorted by base, non-overlapping */
};

void iobus_init(struct iobus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_mutex_init(&bus->lock, NULL);
	bus->next_id = 1;
	atomic_store(&bus->cur, NULL);
}

static void free_retired(struct iobus *bus)
{
	while (bus->retired) {
		struct iobus_table *t = bus->retired;
		bus->retired = t->next;
		free(t);
	}
}

void iobus_destroy(struct iobus *bus)
{
	free(atomic_load(&bus->cur));
	free_retired(bus);
	atomic_store(&bus->cur, NULL);
	pthread_mutex_destroy(&bus->lock);
}

static struct iobus_table *table_alloc(size_t n)
{
	struct iobus_table *t = calloc(1, sizeof(*t) + n * sizeof(struct io_range));
	if (t)
		t->n = n;
	return t;
}

/* Publish t and retire the old table.  Both the store and the load of `readers`
 * are sequentially consistent, as are the reader's increment and load of `cur`:
 * if no reader is seen after the store, no reader can still hold a retired
 * table, so all of them are freed. */
static void publish(struct iobus *bus, struct iobus_table *t)
{
	struct iobus_table *old = atomic_load_explicit(&bus->cur, memory_order_relaxed);
	atomic_store(&bus->cur, t);
	if (old) {
		old->next = bus->retired;
		bus->retired = old;
	}
	if (atomic_load(&bus->readers) == 0)
		free_retired(bus);
}

static bool overlaps(const struct io_range *r, uint64_t base, uint64_t len)
{
	return base <= r->base + (r->len - 1) && r->base <= base + (len - 1);
}

/* Insert `nr` into a copy of `old` minus the range with id `skip` (0: none). */
static int rebuild(struct iobus *bus, const struct iobus_table *old, int64_t skip,
                   const struct io_range *nr, struct io_range *conflict)
{
	size_t n = old ? old->n : 0;
	if (nr) {
		for (size_t i = 0; i < n; i++) {
			if ((int64_t)old->r[i].id == skip || !overlaps(&old->r[i], nr->base, nr->len))
				continue;
			if (conflict)
				*conflict = old->r[i];
			return -EEXIST;
		}
	}
	struct iobus_table *t = table_alloc(n + (nr ? 1 : 0));
	if (!t)
		return -ENOMEM;
	size_t j = 0;
	bool placed = !nr;
	for (size_t i = 0; i < n; i++) {
		if ((int64_t)old->r[i].id == skip)
			continue;
		if (!placed && nr->base < old->r[i].base) {
			t->r[j++] = *nr;
			placed = true;
		}
		t->r[j++] = old->r[i];
	}
	if (!placed)
		t->r[j++] = *nr;
	t->n = j;
	publish(bus, t);
	return 0;
}

int64_t iobus_add(struct iobus *bus, uint64_t base, uint64_t len,
                  const struct modvmm_io_ops *ops, void *opaque, struct io_range *conflict)
{
	if (len == 0 || base + (len - 1) < base || !ops)
		return -EINVAL;
	pthread_mutex_lock(&bus->lock);
	struct io_range nr = { .base = base, .len = len, .ops = ops, .opaque = opaque, .id = bus->next_id };
	int ret = rebuild(bus, atomic_load(&bus->cur), 0, &nr, conflict);
	if (ret == 0)
		bus->next_id++;
	pthread_mutex_unlock(&bus->lock);
	return ret < 0 ? ret : (int64_t)nr.id;
}

static const struct io_range *find_id(const struct iobus_table *t, int64_t id)
{
	for (size_t i = 0; t && i < t->n; i++)
		if ((int64_t)t->r[i].id == id)
			return &t->r[i];
	return NULL;
}

int iobus_remove(struct iobus *bus, int64_t id)
{
	pthread_mutex_lock(&bus->lock);
	struct iobus_table *cur = atomic_load(&bus->cur);
	int ret = find_id(cur, id) ? rebuild(bus, cur, id, NULL, NULL) : -ENOENT;
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

int iobus_move(struct iobus *bus, int64_t id, uint64_t new_base)
{
	pthread_mutex_lock(&bus->lock);
	struct iobus_table *cur = atomic_load(&bus->cur);
	const struct io_range *r = find_id(cur, id);
	int ret = -ENOENT;
	if (r) {
		struct io_range nr = *r;
		nr.base = new_base;
		ret = (nr.base + (nr.len - 1) < nr.base) ? -EINVAL : rebuild(bus, cur, id, &nr, NULL);
	}
	pthread_mutex_unlock(&bus->lock);
	return ret;
}

static bool search(const struct iobus_table *t, uint64_t addr, struct io_range *out)
{
	if (!t)
		return false;
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct io_range *r = &t->r[mid];
		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else {
			*out = *r;
			return true;
		}
	}
	return false;
}

bool iobus_find(struct iobus *bus, uint64_t addr, struct io_range *out)
{
	atomic_fetch_add(&bus->readers, 1);
	bool found = search(atomic_load(&bus->cur), addr, out);
	atomic_fetch_sub(&bus->readers, 1);
	return found;
}

size_t iobus_retired_count(struct iobus *bus)
{
	size_t n = 0;
	pthread_mutex_lock(&bus->lock);
	for (const struct iobus_table *t = bus->retired; t; t = t->next)
		n++;
	pthread_mutex_unlock(&bus->lock);
	return n;
}

bool iobus_access(struct iobus *bus, uint64_t addr, unsigned size, bool write, uint64_t *value)
{
	struct io_range r;
	if (!iobus_find(bus, addr, &r)) {
		if (!write)
			*value = size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
		return false;
	}
	uint64_t off = addr - r.base;
	if (write) {
		if (r.ops->write)
			r.ops->write(r.opaque, off, size, *value);
	} else {
		*value = r.ops->read ? r.ops->read(r.opaque, off, size)
		                     : (size >= 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1);
	}
	return true;
}
