/* SPDX-License-Identifier: MIT */
/* modvmm-switch's table and data path (tools/switch/fdb.c, fwd.c) on real
 * pipes (nmport_pair: the switch's end and the port's end in one process):
 * learning, ageing, moves, a full table; unicast, flooding, never back to the
 * source; a full destination holding its sources, then dropped once stalled
 * while the other ports go on; a hostile port's slots, tails and heads
 * refused without touching the other ports; a pipe of two ring pairs refused
 * as a port. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fdb.h"
#include "fwd.h"

static const struct nmport_geom geom = { 1, 256, 2048, 0 };
#define RING_ROOM 255u /* usable slots of a 256-slot ring */
#define NPORTS 3

struct bench {
	struct sw s;
	struct nmport *host[NPORTS]; /* the endpoints' ends */
};

static void mac(uint8_t m[6], unsigned i)
{
	static const uint8_t base[6] = { 0x02, 0, 0, 0, 0, 0 };

	memcpy(m, base, 6);
	m[5] = (uint8_t)i;
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static int setup(void **state)
{
	struct bench *b = calloc(1, sizeof(*b));
	char name[16];

	sw_init(&b->s, 1000000000ull);
	for (unsigned i = 0; i < NPORTS; i++) {
		struct nmport *swe;
		snprintf(name, sizeof(name), "sw.p%u", i);
		assert_int_equal(nmport_pair(name, &geom, &swe, &b->host[i]), 0);
		assert_int_equal(sw_port_add(&b->s, swe, name), (int)i);
	}
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bench *b = *state;

	for (unsigned i = 0; i < NPORTS; i++) {
		sw_port_del(&b->s, i);
		nmport_close(b->host[i]);
	}
	free(b);
	return 0;
}

/* Port i's endpoint sends n frames dst <- mac(i), carrying seq in byte 14.. */
static void send(struct bench *b, unsigned i, const uint8_t dst[6], uint32_t seq0, unsigned n)
{
	struct nm_uring *tx = nmport_tx(b->host[i], 0);

	for (unsigned k = 0; k < n; k++) {
		nmport_txsync(b->host[i], 0);
		assert_true(nm_uring_space(tx) > 0);
		struct netmap_slot *s = nm_uring_slot(tx, 0);
		uint8_t *f = nm_uring_buf(tx, s->buf_idx);
		uint32_t seq = seq0 + k;
		memcpy(f, dst, 6);
		mac(f + 6, i);
		f[12] = 0x88;
		f[13] = 0xb5;
		memcpy(f + 14, &seq, 4);
		s->len = 60;
		nm_uring_advance(tx, 1);
	}
	nmport_txsync(b->host[i], 0);
}

/* Frames waiting at port i's endpoint (consumed); their seqs into seqs. */
static unsigned recv(struct bench *b, unsigned i, uint32_t *seqs, unsigned max)
{
	struct nm_uring *rx = nmport_rx(b->host[i], 0);
	unsigned n = 0;

	nmport_rxsync(b->host[i], 0);
	while (nm_uring_space(rx) > 0) {
		uint32_t len;
		const uint8_t *f = nm_uring_slot_buf(rx, nm_uring_slot(rx, 0), &len);
		assert_non_null(f);
		assert_int_equal(len, 60);
		if (seqs && n < max)
			memcpy(&seqs[n], f + 14, 4);
		n++;
		nm_uring_advance(rx, 1);
		nmport_rxsync(b->host[i], 0);
	}
	return n;
}

/* ---- the table ---------------------------------------------------------------- */

static void fdb_learn_age_move_full(void **state)
{
	static struct fdb t;
	uint8_t m[6];

	fdb_init(&t, 100);
	mac(m, 7);
	assert_int_equal(fdb_lookup(&t, fdb_mac(m), 0), FDB_NONE);
	assert_true(fdb_learn(&t, fdb_mac(m), 3, 0));
	assert_int_equal(fdb_lookup(&t, fdb_mac(m), 50), 3);
	assert_true(fdb_learn(&t, fdb_mac(m), 5, 60)); /* moved */
	assert_int_equal(fdb_lookup(&t, fdb_mac(m), 100), 5);
	assert_int_equal(t.moved, 1);
	assert_int_equal(t.learned, 1);
	assert_int_equal(fdb_lookup(&t, fdb_mac(m), 161), FDB_NONE); /* aged */
	fdb_flush_port(&t, 5);
	assert_int_equal(fdb_expire(&t, 0), 0);

	/* twice as many MACs as entries: some find no room, the rest are right */
	unsigned ok = 0;
	for (uint64_t k = 1; k <= 2 * FDB_SIZE; k++)
		if (fdb_learn(&t, 0x020000000000ull | k, (unsigned)(k % 60), 1000))
			ok++;
	assert_true(t.full > 0);
	assert_int_equal(ok + t.full, 2 * FDB_SIZE);
	assert_true(ok <= FDB_SIZE);
	unsigned found = 0;
	for (uint64_t k = 1; k <= 2 * FDB_SIZE; k++) {
		unsigned p = fdb_lookup(&t, 0x020000000000ull | k, 1000);
		if (p != FDB_NONE) {
			assert_int_equal(p, k % 60);
			found++;
		}
	}
	assert_int_equal(found, ok);
	/* once they age, a new MAC finds room again */
	uint64_t fresh = 0x02aa00000000ull;
	assert_true(fdb_learn(&t, fresh, 1, 2000));
	assert_int_equal(fdb_lookup(&t, fresh, 2000), 1);
	assert_int_equal(fdb_expire(&t, 2000), 1);
	fdb_flush_port(&t, 1);
	assert_int_equal(fdb_lookup(&t, fresh, 2000), FDB_NONE);
}

/* ---- forwarding ------------------------------------------------------------------ */

static void unicast_flood_never_back(void **state)
{
	struct bench *b = *state;
	uint8_t m1[6], m2[6];
	uint32_t seqs[8];

	mac(m1, 1);
	mac(m2, 2);
	/* unknown destination: flooded to 1 and 2, not back to 0 */
	send(b, 0, m1, 100, 1);
	assert_int_equal(sw_forward(&b->s, 10), 1);
	assert_int_equal(recv(b, 1, seqs, 8), 1);
	assert_int_equal(seqs[0], 100);
	assert_int_equal(recv(b, 2, NULL, 0), 1);
	assert_int_equal(recv(b, 0, NULL, 0), 0);
	/* port 1 answers: 0 is learned, so only 0 gets it */
	send(b, 1, (uint8_t[6]){ 0x02, 0, 0, 0, 0, 0 }, 200, 1);
	sw_forward(&b->s, 20);
	assert_int_equal(recv(b, 0, seqs, 8), 1);
	assert_int_equal(seqs[0], 200);
	assert_int_equal(recv(b, 2, NULL, 0), 0);
	/* now 1 is known: 0 -> 1 reaches 1 only, in order */
	send(b, 0, m1, 300, 5);
	sw_forward(&b->s, 30);
	assert_int_equal(recv(b, 1, seqs, 8), 5);
	for (unsigned k = 0; k < 5; k++)
		assert_int_equal(seqs[k], 300 + k);
	assert_int_equal(recv(b, 2, NULL, 0), 0);
	/* broadcast and multicast from 2: everyone but 2 */
	send(b, 2, bcast, 400, 2);
	send(b, 2, (uint8_t[6]){ 0x01, 0x00, 0x5e, 0, 0, 1 }, 402, 1);
	sw_forward(&b->s, 40);
	assert_int_equal(recv(b, 0, NULL, 0), 3);
	assert_int_equal(recv(b, 1, NULL, 0), 3);
	assert_int_equal(recv(b, 2, NULL, 0), 0);
	/* a frame for a MAC learned on its own source port goes nowhere */
	send(b, 1, m1, 500, 1);
	sw_forward(&b->s, 50);
	for (unsigned i = 0; i < NPORTS; i++)
		assert_int_equal(recv(b, i, NULL, 0), 0);
	assert_int_equal(b->s.port[1].to_self, 1);
	/* MAC 1 moves to port 2 */
	uint8_t m1_from2[6];
	mac(m1_from2, 1);
	struct nm_uring *tx = nmport_tx(b->host[2], 0);
	struct netmap_slot *s = nm_uring_slot(tx, 0);
	uint8_t *f = nm_uring_buf(tx, s->buf_idx);
	memcpy(f, bcast, 6);
	memcpy(f + 6, m1_from2, 6);
	s->len = 60;
	nm_uring_advance(tx, 1);
	nmport_txsync(b->host[2], 0);
	sw_forward(&b->s, 60);
	recv(b, 0, NULL, 0);
	recv(b, 1, NULL, 0);
	send(b, 0, m1, 700, 1);
	sw_forward(&b->s, 70);
	assert_int_equal(recv(b, 2, seqs, 8), 1);
	assert_int_equal(seqs[0], 700);
	assert_int_equal(recv(b, 1, NULL, 0), 0);
	assert_true(b->s.fdb.moved >= 1);
	/* a port that leaves takes its MACs along: traffic to it floods */
	sw_port_del(&b->s, 2);
	assert_int_equal(sw_port_find(&b->s, "sw.p2"), -1);
	send(b, 0, m1, 800, 1);
	sw_forward(&b->s, 80);
	assert_int_equal(recv(b, 1, NULL, 0), 1);
}

static void full_destination_holds_then_drops(void **state)
{
	struct bench *b = *state;
	uint8_t m0[6], m1[6], m2[6];
	uint32_t seqs[RING_ROOM];

	mac(m0, 0);
	mac(m1, 1);
	mac(m2, 2);
	send(b, 1, bcast, 0, 1); /* learn 1 and 2 */
	send(b, 2, bcast, 0, 1);
	sw_forward(&b->s, 1);
	for (unsigned i = 0; i < NPORTS; i++)
		recv(b, i, NULL, 0);

	/* 0 -> 1 while 1 reads nothing: its RX ring and the switch's TX ring
	 * toward it fill, then frames wait in the switch's RX ring from 0 */
	uint32_t sent = 0, t = 2;
	for (unsigned round = 0; round < 4; round++) {
		send(b, 0, m1, sent, 200);
		sent += 200;
		sw_forward(&b->s, t++);
	}
	assert_int_equal(b->s.port[1].drop_full, 0);
	assert_true(b->s.port[0].held);
	assert_true(b->s.port[1].tx >= 2 * RING_ROOM && b->s.port[1].tx < sent);
	/* the empty destination 2 is not held up by the full one, once the
	 * queue from 0 is past: 2 -> 0 flows */
	send(b, 2, m0, 9000, 10);
	sw_forward(&b->s, t++);
	assert_int_equal(recv(b, 0, NULL, 0), 10);
	/* 1 drains: everything arrives, in order, nothing lost */
	unsigned got = 0;
	for (unsigned iter = 0; got < sent && iter < 100; iter++) {
		unsigned n = recv(b, 1, seqs, RING_ROOM);
		for (unsigned k = 0; k < n && k < RING_ROOM; k++)
			assert_int_equal(seqs[k], got + k);
		got += n;
		nmport_txsync(b->host[0], 0); /* 0's engine: what waited in its TX ring */
		sw_forward(&b->s, t++);
	}
	assert_int_equal(b->s.port[1].drop_full, 0);
	assert_false(b->s.port[0].held);

	/* 1 stops reading for longer than the hold time: it is stalled, its frames
	 * are dropped and 0's other traffic goes on */
	uint64_t now = 1000;
	for (unsigned round = 0; round < 4; round++) {
		send(b, 0, m1, 0, 200);
		sw_forward(&b->s, now);
	}
	assert_true(b->s.port[0].held);
	now += b->s.hold_ns + 1;
	sw_forward(&b->s, now);
	assert_true(b->s.port[1].drop_full > 0);
	assert_false(b->s.port[0].held);
	send(b, 0, m2, 50, 3);
	sw_forward(&b->s, now + 1);
	assert_int_equal(recv(b, 2, seqs, RING_ROOM), 3);
	assert_int_equal(seqs[0], 50);
}

/* The port's endpoint writes anything anywhere in its own pipe. */
static void hostile_port(void **state)
{
	struct bench *b = *state;
	struct nmport *swe0 = b->s.port[0].np;
	struct nm_uring *srx = nmport_rx(swe0, 0); /* the switch's RX ring from port 0 */
	uint8_t m2[6];
	uint32_t seqs[8];

	mac(m2, 2);
	send(b, 2, bcast, 0, 1); /* learn 2 */
	sw_forward(&b->s, 1);
	recv(b, 0, NULL, 0);
	recv(b, 1, NULL, 0);

	/* four frames, then the endpoint rewrites the switch's RX slots under it */
	send(b, 0, m2, 10, 5);
	nmport_rxsync(swe0, 0);
	assert_int_equal(nm_uring_space(srx), 5);
	nm_uring_slot(srx, 0)->buf_idx = 0xffffffffu; /* beyond the pool */
	nm_uring_slot(srx, 1)->len = 65535;           /* beyond the buffer */
	nm_uring_slot(srx, 2)->len = 5;               /* not even a header */
	sw_forward(&b->s, 2);
	assert_int_equal(recv(b, 2, seqs, 8), 2);     /* the two intact ones */
	assert_int_equal(seqs[0], 13);
	assert_int_equal(seqs[1], 14);
	assert_int_equal(b->s.port[0].bad, 3);
	assert_int_equal(recv(b, 1, NULL, 0), 0);

	/* a tail beyond the ring (the endpoint is the kernel side of that RX
	 * ring) and a head beyond its own RX ring: refused, others go on */
	struct nmport_region *reg = nmport_region(b->host[0]);
	struct nmport_view v;
	nmport_region_view(reg, nmport_end(swe0), &v);
	nmport_ktoa(&v, 1)->hwtail = 9999;  /* ring 1 = RX ring 0 of the switch's end */
	nmport_region_view(reg, nmport_end(b->host[0]), &v);
	nmport_atok(&v, 1)->head = 7777;    /* the endpoint's own RX ring */
	send(b, 1, bcast, 20, 3);           /* floods into the hostile port too */
	sw_forward(&b->s, 3);
	sw_forward(&b->s, 4);
	assert_int_equal(recv(b, 2, seqs, 8), 3);
	assert_int_equal(seqs[2], 22);
	struct nmport_stats st;
	nmport_get_stats(swe0, &st);
	assert_true(st.bad > 0);
	/* and 2 -> 1 still works */
	send(b, 2, (uint8_t[6]){ 0x02, 0, 0, 0, 0, 1 }, 30, 2);
	sw_forward(&b->s, 5);
	assert_int_equal(recv(b, 1, NULL, 0), 2);
}

/* A port gets frames on its RX ring 0 only: a pipe of two ring pairs is
 * refused (its endpoint would wait on ring 1 for ever), the others stay. */
static void multi_ring_port_refused(void **state)
{
	struct bench *b = *state;
	struct nmport *swe, *host;
	uint64_t used = b->s.used;

	assert_int_equal(nmport_pair("sw.mr", &(struct nmport_geom){ 2, 256, 2048, 0 }, &swe, &host), 0);
	assert_int_equal(sw_port_add(&b->s, swe, "sw.mr"), -EPROTO);
	assert_int_equal(b->s.used, used);
	assert_int_equal(sw_port_find(&b->s, "sw.mr"), -1);
	nmport_close(swe);
	nmport_close(host);
	/* the ports there go on */
	send(b, 0, bcast, 0, 1);
	sw_forward(&b->s, 1);
	assert_int_equal(recv(b, 1, NULL, 0), 1);
	assert_int_equal(recv(b, 2, NULL, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fdb_learn_age_move_full),
		cmocka_unit_test_setup_teardown(unicast_flood_never_back, setup, teardown),
		cmocka_unit_test_setup_teardown(full_destination_holds_then_drops, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_port, setup, teardown),
		cmocka_unit_test_setup_teardown(multi_ring_port_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
