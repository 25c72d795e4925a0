/* SPDX-License-Identifier: MIT */
/*
 * The switch's forwarding table: learned source MACs and the port each was
 * last seen on, with ageing (VALE's learning bridge).  Fixed size, open
 * addressing with a short probe, no allocation after fdb_init(): learning
 * and lookup cost no lock and no allocation per packet.  One thread.
 */
#ifndef SWITCH_FDB_H
#define SWITCH_FDB_H

#include <stdbool.h>
#include <stdint.h>

#define FDB_SIZE   4096u /* entries (a power of two) */
#define FDB_PROBE  8u    /* slots looked at per MAC: a full window means "table full" */
#define FDB_NONE   0xffu /* lookup: unknown MAC */

struct fdb_entry {
	uint64_t mac;        /* 48 bits; 0 = free */
	uint64_t seen_ns;    /* last time it was a source */
	uint8_t port;
};

struct fdb {
	struct fdb_entry e[FDB_SIZE];
	uint64_t age_ns;     /* entries older than this are forgotten */
	uint64_t learned, moved, full; /* counters */
};

void fdb_init(struct fdb *t, uint64_t age_ns);
/* The 6 bytes at p as a table key. */
uint64_t fdb_mac(const uint8_t *p);
static inline bool fdb_is_multicast(const uint8_t *mac)
{
	return mac[0] & 1; /* the I/G bit: broadcast included */
}
/* Source `mac` seen on `port` at now_ns: learn it, refresh it or move it.
 * Returns false when the table has no room for it (counted in full). */
bool fdb_learn(struct fdb *t, uint64_t mac, unsigned port, uint64_t now_ns);
/* The port of `mac`, or FDB_NONE when unknown or aged. */
unsigned fdb_lookup(const struct fdb *t, uint64_t mac, uint64_t now_ns);
/* Forget every entry of `port` (it left). */
void fdb_flush_port(struct fdb *t, unsigned port);
/* Forget aged entries; returns how many are left. */
unsigned fdb_expire(struct fdb *t, uint64_t now_ns);

#endif
