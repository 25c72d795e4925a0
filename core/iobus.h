/* SPDX-License-Identifier: MIT */
/*
 * The I/O bus: port and MMIO ranges with their handlers.
 *
 * Lookup takes no lock: readers load the current table with an acquire load and
 * binary-search it.  Writers (registration, removal, BAR moves) serialize on a
 * mutex, build a new sorted table and publish it with a release store.  Replaced
 * tables are kept until the bus is destroyed, so a vCPU still searching an old
 * table never touches freed memory.
 */
#ifndef MODVMM_IOBUS_H
#define MODVMM_IOBUS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
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

/* Dispatch an access. Returns false when no range claims addr (reads then see
 * all ones in *value). */
bool iobus_access(struct iobus *bus, uint64_t addr, unsigned size, bool write, uint64_t *value);

#endif
