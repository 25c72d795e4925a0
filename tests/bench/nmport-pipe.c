/* SPDX-License-Identifier: MIT */
/*
 * Host thread -> host thread over the two ends of one in-process pipe
 * (nmport_pair): the limit of the ring protocol on this machine, which later
 * guest -> host and VM -> VM figures are compared against.
 *
 * The sender writes every 64-byte frame (header and padding) like
 * modvmm-pktgen; the receiver reads every slot (buffer index and length, as
 * netmap's pkt-gen does), and in the last configuration also every header,
 * checking the sequence numbers.  Prints the
 * median Mpps of RUNS runs of SECS seconds for each configuration, and the
 * notifications (eventfd writes) per 1000 packets.
 * usage: nmport-pipe [SECS [RUNS]]
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <modvmm-netmap/pktgen.h>
#include <modvmm-netmap/nmport.h>
#include "wakeup.h"

struct cfg {
	const char *label;
	uint32_t slots, batch, size;
	bool check; /* the receiver reads every header and checks the sequence */
};

struct run {
	const struct cfg *c;
	struct nmport *tx, *rx;
	volatile int stop;
	uint64_t sent, got, bytes, errors, st_next, t0, t1;
};

static void *rx_main(void *arg)
{
	struct run *r = arg;
	struct nm_uring *u = nmport_rx(r->rx, 0);
	struct pktgen_rx_state st = { 0 };

	for (;;) {
		nmport_rxsync(r->rx, 0);
		uint32_t n = nm_uring_space(u);
		if (n == 0) {
			if (r->stop && r->got == r->sent)
				break;
			nmport_poll(r->rx, NMPORT_POLLIN, 100);
			continue;
		}
		for (uint32_t k = 0; k < n; k++) {
			uint32_t len = 0;
			const void *b = nm_uring_slot_buf(u, nm_uring_slot(u, k), &len);
			if (!b)
				st.errors++;
			else if (r->c->check)
				pktgen_rx_check(&st, b, len);
			r->bytes += len;
		}
		r->got += n;
		nm_uring_advance(u, n);
	}
	r->errors = st.errors;
	r->st_next = st.next;
	return NULL;
}

static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 }; /* dst, src */

static void tx_main(struct run *r, double secs)
{
	struct nm_uring *u = nmport_tx(r->tx, 0);
	const struct cfg *c = r->c;
	uint64_t seq = 0, end;

	r->t0 = now_ns();
	end = r->t0 + (uint64_t)(secs * 1e9);
	for (unsigned iter = 0;; iter++) {
		if ((iter & 63) == 0 && now_ns() >= end)
			break;
		uint32_t n = nm_uring_space(u);
		if (n == 0) {
			nmport_txsync(r->tx, 0);
			if (nm_uring_space(u) == 0)
				nmport_poll(r->tx, NMPORT_POLLOUT, 100);
			continue;
		}
		if (n > c->batch)
			n = c->batch;
		for (uint32_t k = 0; k < n; k++, seq++) {
			struct netmap_slot *s = nm_uring_slot(u, k);
			struct pktgen_hdr *h = nm_uring_buf(u, s->buf_idx);
			pktgen_fill(h, macs, 1, seq, 0, 0, c->size);
			s->len = (uint16_t)c->size;
		}
		nm_uring_advance(u, n);
		nmport_txsync(r->tx, 0);
	}
	while (nmport_tx_pending(r->tx, 0))
		nmport_poll(r->tx, NMPORT_POLLDRAIN, 100);
	r->sent = seq;
	r->t1 = now_ns();
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	int runs = argc > 2 ? atoi(argv[2]) : 7;
	static const struct cfg cfgs[] = {
		{ "4096 slots, batch 1024", 4096, 1024, 64, false },
		{ "1024 slots, batch 256", 1024, 256, 64, false },
		{ "4096 slots, batch 1024, receiver checks every packet", 4096, 1024, 64, true },
	};
	int failed = 0;

	if (runs < 1 || runs > 99 || secs <= 0)
		return 2;
	for (size_t ci = 0; ci < sizeof(cfgs) / sizeof(cfgs[0]); ci++) {
		const struct cfg *c = &cfgs[ci];
		struct nmport_geom g = { 1, c->slots, 2048, 0 };
		double mpps[99], notif = 0;

		printf("host thread -> host thread, %u-byte packets, %s:", c->size, c->label);
		for (int i = 0; i < runs; i++) {
			struct run r = { .c = c };
			pthread_t t;
			struct nmport_stats a, b;

			if (nmport_pair("bench", &g, &r.tx, &r.rx) < 0 ||
			    pthread_create(&t, NULL, rx_main, &r) != 0) {
				fprintf(stderr, "cannot set up the pipe\n");
				return 1;
			}
			tx_main(&r, secs);
			r.stop = 1;
			pthread_join(t, NULL);
			nmport_get_stats(r.tx, &a);
			nmport_get_stats(r.rx, &b);
			mpps[i] = (double)r.sent / ((double)(r.t1 - r.t0) / 1e3);
			notif += (double)(a.kicks + b.kicks) * 1000 / (double)(r.sent ? r.sent : 1);
			if (r.got != r.sent || r.errors || r.bytes != r.sent * c->size ||
			    (c->check && r.st_next != r.sent)) {
				fprintf(stderr, "\nrun %d: sent %llu received %llu errors %llu\n", i,
					(unsigned long long)r.sent, (unsigned long long)r.got,
					(unsigned long long)r.errors);
				failed = 1;
			}
			printf(" %.2f", mpps[i]);
			fflush(stdout);
			nmport_close(r.tx);
			nmport_close(r.rx);
		}
		qsort(mpps, (size_t)runs, sizeof(mpps[0]), cmp_d);
		printf(" Mpps\n  median %.2f Mpps (%.2f Gbps), %.3f notifications per 1000 packets\n",
		       mpps[runs / 2], mpps[runs / 2] * c->size * 8 / 1e3, notif / runs);
	}
	return failed;
}
