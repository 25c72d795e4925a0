/* SPDX-License-Identifier: MIT */
/* The forwarding table (fdb.h). */
#include <string.h>

#include "fdb.h"

void fdb_init(struct fdb *t, uint64_t age_ns)
{
	memset(t, 0, sizeof(*t));
	t->age_ns = age_ns;
}

uint64_t fdb_mac(const uint8_t *p)
{
	uint64_t m = 0;

	for (unsigned i = 0; i < 6; i++)
		m = m << 8 | p[i];
	return m;
}

static unsigned slot0(uint64_t mac)
{
	mac *= 0x9e3779b97f4a7c15ull; /* Fibonacci hashing */
	return (unsigned)(mac >> 52) & (FDB_SIZE - 1);
}

static bool aged(const struct fdb *t, const struct fdb_entry *e, uint64_t now_ns)
{
	return now_ns - e->seen_ns > t->age_ns;
}

bool fdb_learn(struct fdb *t, uint64_t mac, unsigned port, uint64_t now_ns)
{
	unsigned s = slot0(mac);
	struct fdb_entry *room = NULL;

	for (unsigned k = 0; k < FDB_PROBE; k++) {
		struct fdb_entry *e = &t->e[(s + k) & (FDB_SIZE - 1)];
		if (e->mac == mac) {
			if (e->port != port)
				t->moved++;
			e->port = (uint8_t)port;
			e->seen_ns = now_ns;
			return true;
		}
		if (!room && (e->mac == 0 || aged(t, e, now_ns)))
			room = e;
	}
	if (!room) {
		t->full++;
		return false;
	}
	room->mac = mac;
	room->port = (uint8_t)port;
	room->seen_ns = now_ns;
	t->learned++;
	return true;
}

unsigned fdb_lookup(const struct fdb *t, uint64_t mac, uint64_t now_ns)
{
	unsigned s = slot0(mac);

	for (unsigned k = 0; k < FDB_PROBE; k++) {
		const struct fdb_entry *e = &t->e[(s + k) & (FDB_SIZE - 1)];
		if (e->mac == mac)
			return aged(t, e, now_ns) ? FDB_NONE : e->port;
	}
	return FDB_NONE;
}

void fdb_flush_port(struct fdb *t, unsigned port)
{
	for (unsigned i = 0; i < FDB_SIZE; i++)
		if (t->e[i].mac && t->e[i].port == port)
			t->e[i].mac = 0;
}

unsigned fdb_expire(struct fdb *t, uint64_t now_ns)
{
	unsigned left = 0;

	for (unsigned i = 0; i < FDB_SIZE; i++) {
		if (t->e[i].mac && aged(t, &t->e[i], now_ns))
			t->e[i].mac = 0;
		left += t->e[i].mac != 0;
	}
	return left;
}
