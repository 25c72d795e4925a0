/* SPDX-License-Identifier: MIT */
/*
 * The I/O bus: port and MMIO ranges with their handlers.
 *
 * Lookup takes no lock: a reader announces itself in `readers`, loads the
 * current table, binary-searches it, copies the matching range out and leaves
 * before calling the handler.  Writers (registration, removal, BAR moves)
 * serialize on a mutex, build a new sorted table and publish it.  Replaced tables
 * go on a retired list that a writer frees once it has published and then seen no
 * reader inside a lookup: a reader arriving later can only find the new table.
 * So a guest moving a BAR in a loop does not grow host memory.
 */
#ifndef MODVMM_IOBUS_H
#define MODVMM_IOBUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modvmm/plugin.h>

struct io_range {
	uint64_t base;
	uint64_t len;
	const struct modvmm_io_ops *ops;
	void *opaque;
	uint64_t id;            /* stable handle across table rebuilds */
};

struct iobus_table;

struct iobus {
	const char *name;       /* "pio" or "mmio", for messages */
	struct iobus_table *_Atomic cur;
	struct iobus_table *retired;  /* singly linked through ->next */
	atomic_uint readers;          /* lookups in progress */
	pthread_mutex_t lock;
	uint64_t next_id;
};

void iobus_init(struct iobus *bus, const char *name);
void iobus_destroy(struct iobus *bus);

/* Register [base, base+len).  Returns a positive id, -EEXIST when it overlaps a
 * registered range (the existing range is described in *conflict when not NULL),
 * -EINVAL for len 0 or wrap-around, -ENOMEM. */
int64_t iobus_add(struct iobus *bus, uint64_t base, uint64_t len,
                  const struct modvmm_io_ops *ops, void *opaque,
                  struct io_range *conflict) __attribute__((warn_unused_result));
/* Remove the range with this id. Returns 0 or -ENOENT. */
int iobus_remove(struct iobus *bus, int64_t id);
/* Move the range with this id to new_base (-EEXIST on overlap, range unchanged). */
int iobus_move(struct iobus *bus, int64_t id, uint64_t new_base);

/* Lock-free: copy the range containing addr into *out. */
bool iobus_find(struct iobus *bus, uint64_t addr, struct io_range *out);

/* Tables replaced but not yet freed (for tests). */
size_t iobus_retired_count(struct iobus *bus);

/* Dispatch an access. Returns false when no range claims addr (reads then see
 * all ones in *value). */
bool iobus_access(struct iobus *bus, uint64_t addr, unsigned size, bool write, uint64_t *value);

#endif
