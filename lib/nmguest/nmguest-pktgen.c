// SPDX-License-Identifier: GPL-2.0
/*
 * nmguest-pktgen: a tiny packet generator for a Linux guest, over a
 * ptnetmap-memdev port bound to ptnetmap_memdev_uio.  The packets are
 * modvmm-pktgen's (<modvmm-netmap/pktgen.h>), so either end can be the host tool:
 *
 *   host:  modvmm-pktgen -p PIPE -m rx -c
 *   guest: nmguest-pktgen -d 0000:00:05.0 -m tx -n 1000000
 *
 * Modes: tx (send -n packets, the last one marked FIN), rx (receive and check
 * sequence numbers until a FIN arrives), count (receive -n packets without
 * looking at them).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <modvmm-netmap/pktgen.h>

#include "nmguest.h"
#include "wakeup.h"

static void report(const char *what, uint64_t pkts, uint64_t t0, uint64_t t1, unsigned int size,
		   const struct nmguest *g)
{
	double secs = t1 > t0 ? (double)(t1 - t0) / 1e9 : 1e-9;

	printf("%s: %" PRIu64 " packets in %.6f s: %.3f Mpps %.3f Gbps (size %u); kicks %" PRIu64
	       ", interrupts %" PRIu64 "\n", what, pkts, secs, (double)pkts / secs / 1e6,
	       (double)pkts * size * 8 / secs / 1e9, size, g->kicks, g->irqs);
}

static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 }; /* dst, src */

static int do_tx(struct nmguest *g, unsigned int ring, uint64_t count, unsigned int size,
		 unsigned int batch)
{
	struct nm_uring *u = &g->tx[ring];
	uint32_t session = (uint32_t)(now_ns() ^ (uint64_t)getpid());
	uint64_t seq = 0, t0;

	while (!nmguest_link_up(g)) { /* each look is an exit to the VMM: not in a loop hot path */
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	t0 = now_ns();
	while (seq < count) {
		uint32_t n = nm_uring_space(u);

		if (n == 0) {
			if (nmguest_wait(g, ring, NMGUEST_POLLOUT, 1000) < 0)
				return -1;
			continue;
		}
		if (n > batch)
			n = batch;
		if (n > count - seq)
			n = (uint32_t)(count - seq);
		for (uint32_t k = 0; k < n; k++, seq++) {
			struct netmap_slot *s = nm_uring_slot(u, k);
			struct pktgen_hdr *h = nm_uring_buf(u, NM_READ_ONCE(s->buf_idx));

			if (!h) {
				s->len = 0;
				continue;
			}
			pktgen_fill(h, macs, session, seq, seq + 1 == count ? PKTGEN_F_FIN : 0, 0, size);
			s->len = (uint16_t)size;
		}
		nm_uring_advance(u, n);
		nmguest_txsync(g, ring);
	}
	report("tx", seq, t0, now_ns(), size, g);
	return 0;
}

static int do_rx(struct nmguest *g, unsigned int ring, uint64_t count, bool check)
{
	struct nm_uring *u = &g->rx[ring];
	struct pktgen_rx_state st = { 0 };
	uint64_t got = 0, t0 = 0, t1 = 0;
	uint32_t len = 0;

	while ((count == 0 || got < count) && !st.fin) {
		uint32_t n = nm_uring_space(u);

		if (n == 0) {
			if (nmguest_wait(g, ring, NMGUEST_POLLIN, 1000) < 0)
				return -1;
			continue;
		}
		if (!t0)
			t0 = now_ns();
		for (uint32_t k = 0; k < n && !st.fin; k++) {
			const void *b = nm_uring_slot_buf(u, nm_uring_slot(u, k), &len);

			got++;
			if (!b)
				st.errors++;
			else if (check && pktgen_rx_check(&st, b, len) == 1)
				printf("rx: session %08x at seq %" PRIu64 "\n", st.session, st.first);
			if (st.fin)
				n = k + 1;
		}
		nm_uring_advance(u, n);
		nmguest_rxsync(g, ring);
		t1 = now_ns();
	}
	report(check ? "rx" : "count", got, t0, t1, PKTGEN_DEFAULT_SIZE, g);
	if (check)
		printf("rx: sessions %u errors %" PRIu64 " last %" PRIu64 "\n", st.sessions, st.errors,
		       st.next ? st.next - 1 : 0);
	return check && st.errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *dev = NULL, *mode = "tx";
	unsigned int size = PKTGEN_DEFAULT_SIZE, batch = 256, ring = 0;
	uint64_t count = 1000000;
	struct nmguest g;
	int c, err;

	while ((c = getopt(argc, argv, "d:m:n:s:b:r:h")) != -1) {
		switch (c) {
		case 'd': dev = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': count = strtoull(optarg, NULL, 0); break;
		case 's': size = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'b': batch = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'r': ring = (unsigned int)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: nmguest-pktgen -d PCI_ADDR [-m tx|rx|count] [-n COUNT] [-s SIZE] [-b BATCH] [-r RING]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (!dev || batch == 0) {
		fprintf(stderr, "nmguest-pktgen: -d PCI_ADDR is required (see lspci -d 1b36:000c)\n");
		return 2;
	}
	err = nmguest_open(dev, &g);
	if (err < 0) {
		fprintf(stderr, "nmguest-pktgen: %s: %s (is ptnetmap_memdev_uio bound?)\n", dev,
			strerror(-err));
		return 1;
	}
	if (ring >= g.nr || size < PKTGEN_MIN_SIZE || size > g.view.geom.buf_size) {
		fprintf(stderr, "nmguest-pktgen: ring %u or size %u out of range\n", ring, size);
		nmguest_close(&g);
		return 2;
	}
	if (strcmp(mode, "tx") == 0)
		err = do_tx(&g, ring, count, size, batch);
	else if (strcmp(mode, "rx") == 0 || strcmp(mode, "count") == 0)
		err = do_rx(&g, ring, strcmp(mode, "rx") == 0 ? 0 : count, strcmp(mode, "rx") == 0);
	else
		err = 2;
	nmguest_close(&g);
	return err < 0 ? 1 : err;
}
