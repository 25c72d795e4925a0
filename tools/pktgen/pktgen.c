/* SPDX-License-Identifier: MIT */
/*
 * modvmm-pktgen: send, receive or ping-pong packets over one end of a modvmm
 * pipe (the host-side equivalent of netmap's pkt-gen).
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

#include <modvmm-netmap/nmport.h>
#include "wakeup.h"

enum mode { MODE_TX, MODE_RX, MODE_PING, MODE_PONG };

struct opts {
	const char *pipe;
	enum mode mode;
	unsigned size, batch, ring;
	uint64_t count;     /* 0: unlimited */
	double duration;    /* seconds, 0: unlimited */
	uint64_t hold_after; /* rx: stop consuming after this many packets (tests) */
	uint64_t rate;      /* tx: packets per second, 0: as fast as possible */
	uint8_t macs[12];   /* destination then source MAC of what we send */
	bool check, busy, quiet, no_pull, offer_pull, announce;
	struct nmport_geom geom;
};

struct run {
	struct opts o;
	struct nmport *p;
	struct nm_uring *tx, *rx;
	bool was_up;
	uint32_t session;
	uint64_t t0, t1;    /* first packet, last completion (ns) */
};

static const char *mode_name[] = { "tx", "rx", "ping", "pong" };

static void fill(struct run *r, void *buf, uint64_t seq, uint16_t flags);

/* --announce: one broadcast frame from our MAC, so that a learning switch
 * knows where we are (receivers skip it: PKTGEN_F_HELLO). */
static void announce(struct run *r)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct nm_uring *tx = nmport_tx(r->p, r->o.ring);
	uint8_t dst[6];

	nmport_txsync(r->p, r->o.ring);
	if (nm_uring_space(tx) == 0)
		return;
	struct netmap_slot *s = nm_uring_slot(tx, 0);
	void *buf = nm_uring_buf(tx, NM_READ_ONCE(s->buf_idx));
	if (!buf)
		return;
	memcpy(dst, r->o.macs, 6);
	memcpy(r->o.macs, bcast, 6);
	fill(r, buf, 0, PKTGEN_F_HELLO);
	memcpy(r->o.macs, dst, 6);
	s->len = PKTGEN_MIN_SIZE;
	nm_uring_advance(tx, 1);
	nmport_txsync(r->p, r->o.ring);
}

/* Report link changes; returns the current state. */
static bool link_check(struct run *r)
{
	bool up = nmport_link_up(r->p);

	if (up != r->was_up) {
		printf("%s: link %s%s%s\n", mode_name[r->o.mode], up ? "up" : "down",
		       nmport_pulling(r->p) ? " (pulling the peer's TX ring)" : "",
		       nmport_pulled(r->p) ? " (the peer pulls our TX ring)" : "");
		fflush(stdout);
		r->was_up = up;
		if (up && r->o.announce)
			announce(r);
	}
	return up;
}

/* Block until the link is up. */
static int wait_link(struct run *r)
{
	while (!link_check(r)) {
		int err = nmport_poll(r->p, 0, -1);
		if (err < 0)
			return err;
	}
	return 0;
}

/* Wait for `events` on the port.  With --busy, return at once: the caller
 * syncs again (the syncs also look at the rendezvous now and then). */
static int wait_ready(struct run *r, unsigned events)
{
	if (r->o.busy) {
		__builtin_ia32_pause();
		link_check(r);
		return 0;
	}
	int err = nmport_poll_ring(r->p, r->o.ring, events, 1000);

	link_check(r);
	return err < 0 ? err : 0;
}

static void fill(struct run *r, void *buf, uint64_t seq, uint16_t flags)
{
	pktgen_fill(buf, r->o.macs, r->session, seq, flags, flags & PKTGEN_F_PING ? now_ns() : 0,
		    r->o.size);
}

static void report(struct run *r, const char *what, uint64_t pkts)
{
	struct nmport_stats st;
	double secs = (double)(r->t1 - r->t0) / 1e9;

	nmport_get_stats(r->p, &st);
	if (secs <= 0)
		secs = 1e-9;
	printf("%s: %" PRIu64 " packets in %.6f s: %.3f Mpps %.3f Gbps (size %u, batch %u)\n",
	       what, pkts, secs, (double)pkts / secs / 1e6,
	       (double)pkts * r->o.size * 8 / secs / 1e9, r->o.size, r->o.batch);
	printf("%s: notifications %" PRIu64 " (%.3f per 1000 packets), sleeps %" PRIu64
	       ", dropped %" PRIu64 ", refused %" PRIu64 ", pulled %" PRIu64 "\n",
	       what, st.kicks, pkts ? (double)st.kicks * 1000 / (double)pkts : 0.0, st.sleeps,
	       st.tx_dropped, st.bad, st.pulled);
}

/* ---- tx ---------------------------------------------------------------------- */

/* --rate: wait until packet seq is due. */
static void pace(struct run *r, uint64_t seq)
{
	uint64_t due = r->t0 + (uint64_t)((double)seq * 1e9 / (double)r->o.rate);
	struct timespec ts = { .tv_sec = (time_t)(due / 1000000000ull),
			       .tv_nsec = (long)(due % 1000000000ull) };

	if (now_ns() < due)
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int do_tx(struct run *r)
{
	uint64_t seq = 0, limit = r->o.count, deadline = 0;
	int err;

	if ((err = wait_link(r)) < 0)
		return err;
	r->t0 = now_ns();
	if (r->o.duration > 0)
		deadline = r->t0 + (uint64_t)(r->o.duration * 1e9);
	while (limit == 0 || seq < limit) {
		if (!link_check(r) && (err = wait_link(r)) < 0)
			return err;
		uint32_t space = nm_uring_space(r->tx);
		if (space == 0) {
			nmport_txsync(r->p, r->o.ring);
			if (nm_uring_space(r->tx) == 0 && (err = wait_ready(r, NMPORT_POLLOUT)) < 0)
				return err;
			continue;
		}
		if (deadline && limit == 0 && now_ns() >= deadline)
			limit = seq + 1; /* time is up: the next packet is the last */
		uint32_t n = space < r->o.batch ? space : r->o.batch;
		if (limit && limit - seq < n)
			n = (uint32_t)(limit - seq);
		if (r->o.rate)
			pace(r, seq);
		for (uint32_t k = 0; k < n; k++, seq++) {
			struct netmap_slot *s = nm_uring_slot(r->tx, k);
			void *buf = nm_uring_buf(r->tx, NM_READ_ONCE(s->buf_idx));
			if (!buf) { /* a peer scribbled on our ring: send nothing */
				s->len = 0;
				continue;
			}
			fill(r, buf, seq, seq + 1 == limit ? PKTGEN_F_FIN : 0);
			s->len = (uint16_t)r->o.size;
		}
		nm_uring_advance(r->tx, n);
		nmport_txsync(r->p, r->o.ring);
	}
	/* wait until the peer took everything (or the link went down) */
	while (nmport_tx_pending(r->p, r->o.ring) && nmport_link_up(r->p)) {
		nmport_txsync(r->p, r->o.ring);
		if (nmport_tx_pending(r->p, r->o.ring) && (err = wait_ready(r, NMPORT_POLLDRAIN)) < 0)
			return err;
	}
	r->t1 = now_ns();
	report(r, "tx", seq);
	return 0;
}

/* ---- rx ---------------------------------------------------------------------- */

static void rx_session_line(const struct pktgen_rx_state *s)
{
	printf("rx: session %08x: first %" PRIu64 " last %" PRIu64 " packets %" PRIu64 "%s\n",
	       s->session, s->first, s->next - 1, s->packets, s->fin ? " fin" : "");
}

static int do_rx(struct run *r)
{
	struct pktgen_rx_state st = { 0 };
	uint64_t got = 0;
	bool started = false, fin = false;
	int err;

	link_check(r);
	while ((r->o.count == 0 || got < r->o.count) && !fin) {
		uint32_t space = nm_uring_space(r->rx);
		if (space == 0) {
			nmport_rxsync(r->p, r->o.ring);
			if (nm_uring_space(r->rx) == 0 && (err = wait_ready(r, NMPORT_POLLIN)) < 0)
				return err;
			if (started && r->o.duration > 0 &&
			    now_ns() - r->t0 >= (uint64_t)(r->o.duration * 1e9))
				break;
			continue;
		}
		if (!started) {
			r->t0 = now_ns();
			started = true;
		}
		uint32_t n = space;
		if (r->o.count && r->o.count - got < n)
			n = (uint32_t)(r->o.count - got);
		if (r->o.hold_after && r->o.hold_after - got < n)
			n = (uint32_t)(r->o.hold_after - got);
		for (uint32_t k = 0; k < n && !fin; k++) {
			uint32_t len;
			const void *buf = nm_uring_slot_buf(r->rx, nm_uring_slot(r->rx, k), &len);
			got++;
			if (!buf) {
				st.errors++;
				continue;
			}
			if (!r->o.check && r->o.quiet)
				continue; /* count only: do not touch the payload */
			int c = pktgen_rx_check(&st, buf, len);
			if (c == 2) {
				got--; /* a switch port's announcement: not ours to count */
				continue;
			}
			if (c == 1 && st.sessions > 1 && !r->o.quiet)
				printf("rx: new session %08x at seq %" PRIu64 "\n", st.session, st.first);
			else if (c == 1 && !r->o.quiet)
				printf("rx: session %08x at seq %" PRIu64 "\n", st.session, st.first);
			if (c == 1)
				fflush(stdout);
			if (st.fin) {
				fin = true;
				n = k + 1;
			}
		}
		nm_uring_advance(r->rx, n);
		nmport_rxsync(r->p, r->o.ring);
		r->t1 = now_ns(); /* the last packet so far */
		if (r->o.hold_after && got >= r->o.hold_after) {
			printf("rx: holding after %" PRIu64 " packets\n", got);
			fflush(stdout);
			for (;;)
				pause(); /* keep the link up, consume nothing, until killed */
		}
	}
	report(r, "rx", got);
	if (r->o.check || !r->o.quiet) {
		if (st.sessions)
			rx_session_line(&st);
		printf("rx: sessions %u errors %" PRIu64 "\n", st.sessions, st.errors);
	}
	return r->o.check && st.errors ? 1 : 0;
}

/* ---- ping-pong ---------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int do_ping(struct run *r)
{
	uint64_t n = r->o.count ? r->o.count : 100000, done = 0;
	uint64_t *rtt = malloc(sizeof(*rtt) * n);
	int err = 0;

	if (!rtt)
		return -ENOMEM;
	if ((err = wait_link(r)) < 0)
		goto out;
	r->t0 = now_ns();
	for (uint64_t seq = 0; seq < n; seq++) {
		while (nm_uring_space(r->tx) == 0) {
			nmport_txsync(r->p, r->o.ring);
			if (nm_uring_space(r->tx) == 0 && (err = wait_ready(r, NMPORT_POLLOUT)) < 0)
				goto out;
		}
		struct netmap_slot *s = nm_uring_slot(r->tx, 0);
		void *buf = nm_uring_buf(r->tx, NM_READ_ONCE(s->buf_idx));
		if (!buf) {
			err = -EPROTO;
			goto out;
		}
		fill(r, buf, seq, (uint16_t)(PKTGEN_F_PING | (seq + 1 == n ? PKTGEN_F_FIN : 0)));
		s->len = (uint16_t)r->o.size;
		nm_uring_advance(r->tx, 1);
		nmport_txsync(r->p, r->o.ring);
		for (;;) { /* wait for the echo of this seq */
			nmport_rxsync(r->p, r->o.ring);
			if (nm_uring_space(r->rx) == 0) {
				if (!nmport_link_up(r->p)) {
					err = -ENOTCONN;
					goto out;
				}
				if ((err = wait_ready(r, NMPORT_POLLIN)) < 0)
					goto out;
				continue;
			}
			uint32_t len;
			const struct pktgen_hdr *h = nm_uring_slot_buf(r->rx, nm_uring_slot(r->rx, 0), &len);
			bool mine = h && len >= PKTGEN_MIN_SIZE && (h->flags & PKTGEN_F_PONG) &&
				    h->session == r->session && h->seq == seq;
			if (mine)
				rtt[done++] = now_ns() - h->tstamp_ns;
			nm_uring_advance(r->rx, 1);
			if (mine)
				break;
		}
	}
	nmport_rxsync(r->p, r->o.ring);
	r->t1 = now_ns();
	qsort(rtt, done, sizeof(*rtt), cmp_u64);
	report(r, "ping", done);
	if (done)
		printf("ping: rtt min %.2f median %.2f p99 %.2f max %.2f us\n", (double)rtt[0] / 1e3,
		       (double)rtt[done / 2] / 1e3, (double)rtt[done * 99 / 100] / 1e3,
		       (double)rtt[done - 1] / 1e3);
out:
	free(rtt);
	return err;
}

/* Echo pings by swapping each RX buffer into the TX ring (no copy). */
static int do_pong(struct run *r)
{
	uint64_t echoed = 0;
	bool fin = false;
	int err;

	link_check(r);
	while (!fin && (r->o.count == 0 || echoed < r->o.count)) {
		nmport_rxsync(r->p, r->o.ring);
		if (nm_uring_space(r->rx) == 0) {
			if ((err = wait_ready(r, NMPORT_POLLIN)) < 0)
				return err;
			continue;
		}
		while (nm_uring_space(r->tx) == 0) {
			nmport_txsync(r->p, r->o.ring);
			if (nm_uring_space(r->tx) == 0 && (err = wait_ready(r, NMPORT_POLLOUT)) < 0)
				return err;
		}
		if (echoed == 0)
			r->t0 = now_ns();
		struct netmap_slot *rs = nm_uring_slot(r->rx, 0), *ts = nm_uring_slot(r->tx, 0);
		uint32_t len, tidx = NM_READ_ONCE(ts->buf_idx);
		struct pktgen_hdr *h = nm_uring_slot_buf(r->rx, rs, &len);
		/* only pings are answered: on a switch, others' floods arrive too */
		if (h && nm_uring_buf(r->tx, tidx) && len >= PKTGEN_MIN_SIZE && pktgen_pong(h, len)) {
			fin = (h->flags & PKTGEN_F_FIN) != 0;
			uint8_t peer[6]; /* answer the sender: swap the addresses */
			memcpy(peer, h->src, 6);
			memcpy(h->src, h->dst, 6);
			memcpy(h->dst, peer, 6);
			ts->buf_idx = rs->buf_idx;
			ts->len = (uint16_t)len;
			ts->flags = NS_BUF_CHANGED;
			rs->buf_idx = tidx;
			rs->flags = NS_BUF_CHANGED;
			nm_uring_advance(r->tx, 1);
			echoed++;
		}
		nm_uring_advance(r->rx, 1);
		nmport_txsync(r->p, r->o.ring);
	}
	r->t1 = now_ns();
	report(r, "pong", echoed);
	return 0;
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: modvmm-pktgen -p PIPE [-m tx|rx|ping|pong] [options]\n"
		"  -p, --pipe NAME     pipe to open (RUNDIR/pipe/NAME.sock; RUNDIR from $MODVMM_RUNDIR,\n"
		"                      $XDG_RUNTIME_DIR/modvmm, /run/modvmm or /tmp/modvmm-UID)\n"
		"  -m, --mode MODE     tx (default), rx, ping (latency), pong (echo)\n"
		"  -s, --size BYTES    packet size, %u..buffer size (default %u)\n"
		"  -b, --batch N       packets per sync (default 256)\n"
		"  -n, --count N       packets (tx, rx), round trips (ping); 0 = unlimited\n"
		"  -d, --duration SEC  stop after SEC seconds (tx: then send the last packet)\n"
		"  -c, --check         rx: verify sequence numbers; exit 1 on loss or reordering\n"
		"      --busy          poll without sleeping\n"
		"      --ring I        ring pair to use (default 0)\n"
		"      --no-pull       rx, ping, pong: leave the peer's TX engine to the peer (by default\n"
		"                      one that offers it, a memdev guest's pipe, is pulled in our receive loop)\n"
		"      --offer-pull    let the peer pull our TX ring (it does the move, we only kick)\n"
		"      --hold-after N  rx: stop consuming after N packets and wait to be killed\n"
		"      --src MAC / --dst MAC  addresses of what we send (02:00:00:00:00:01 /\n"
		"                      02:00:00:00:00:02)\n"
		"      --rate PPS      tx: at most PPS packets per second\n"
		"      --announce      send a broadcast from --src at each link up (a switch learns us)\n"
		"  -r, --rings N / -S, --slots N / -B, --buf-size N   geometry if this end creates the pipe\n"
		"  -q, --quiet         only the summary\n",
		PKTGEN_MIN_SIZE, PKTGEN_DEFAULT_SIZE);
}

static int parse(int argc, char **argv, struct opts *o)
{
	enum { OPT_BUSY = 256, OPT_RING, OPT_HOLD, OPT_NO_PULL, OPT_OFFER_PULL, OPT_SRC, OPT_DST,
	       OPT_RATE, OPT_ANNOUNCE };
	static const struct option lo[] = {
		{ "pipe", required_argument, 0, 'p' }, { "mode", required_argument, 0, 'm' },
		{ "size", required_argument, 0, 's' }, { "batch", required_argument, 0, 'b' },
		{ "count", required_argument, 0, 'n' }, { "duration", required_argument, 0, 'd' },
		{ "check", no_argument, 0, 'c' }, { "busy", no_argument, 0, OPT_BUSY },
		{ "ring", required_argument, 0, OPT_RING }, { "hold-after", required_argument, 0, OPT_HOLD },
		{ "rings", required_argument, 0, 'r' }, { "slots", required_argument, 0, 'S' },
		{ "buf-size", required_argument, 0, 'B' }, { "quiet", no_argument, 0, 'q' },
		{ "no-pull", no_argument, 0, OPT_NO_PULL }, { "offer-pull", no_argument, 0, OPT_OFFER_PULL },
		{ "src", required_argument, 0, OPT_SRC }, { "dst", required_argument, 0, OPT_DST },
		{ "rate", required_argument, 0, OPT_RATE }, { "announce", no_argument, 0, OPT_ANNOUNCE },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "p:m:s:b:n:d:cr:S:B:qh", lo, NULL)) != -1) {
		char *end = NULL;
		unsigned long long v = 0;
		if (c == OPT_SRC || c == OPT_DST) {
			uint8_t *m = o->macs + (c == OPT_SRC ? 6 : 0);
			if (sscanf(optarg, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%c", &m[0], &m[1], &m[2],
				   &m[3], &m[4], &m[5], (char[1]){ 0 }) != 6) {
				fprintf(stderr, "modvmm-pktgen: bad MAC address '%s'\n", optarg);
				return -1;
			}
			continue;
		}
		if (optarg && c != 'p' && c != 'm' && c != 'd') {
			errno = 0;
			v = strtoull(optarg, &end, 0);
			if (errno || *end || end == optarg) {
				fprintf(stderr, "modvmm-pktgen: bad number '%s'\n", optarg);
				return -1;
			}
		}
		switch (c) {
		case 'p': o->pipe = optarg; break;
		case 'm':
			for (o->mode = MODE_TX; o->mode <= MODE_PONG; o->mode++)
				if (strcmp(optarg, mode_name[o->mode]) == 0)
					break;
			if (o->mode > MODE_PONG) {
				fprintf(stderr, "modvmm-pktgen: unknown mode '%s'\n", optarg);
				return -1;
			}
			break;
		case 's': o->size = (unsigned)v; break;
		case 'b': o->batch = (unsigned)v; break;
		case 'n': o->count = v; break;
		case 'd':
			o->duration = strtod(optarg, &end);
			if (*end || o->duration < 0) {
				fprintf(stderr, "modvmm-pktgen: bad duration '%s'\n", optarg);
				return -1;
			}
			break;
		case 'c': o->check = true; break;
		case OPT_BUSY: o->busy = true; break;
		case OPT_RING: o->ring = (unsigned)v; break;
		case OPT_HOLD: o->hold_after = v; break;
		case OPT_NO_PULL: o->no_pull = true; break;
		case OPT_OFFER_PULL: o->offer_pull = true; break;
		case OPT_RATE: o->rate = v; break;
		case OPT_ANNOUNCE: o->announce = true; break;
		case 'r': o->geom.nr_rings = (uint32_t)v; break;
		case 'S': o->geom.num_slots = (uint32_t)v; break;
		case 'B': o->geom.buf_size = (uint32_t)v; break;
		case 'q': o->quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (!o->pipe || optind != argc) {
		usage(stderr);
		return -1;
	}
	if (o->batch == 0)
		o->batch = 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct run r = { .o = { .size = PKTGEN_DEFAULT_SIZE, .batch = 256,
				.macs = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 },
				.geom = { NMPORT_DEFAULT_RINGS, NMPORT_DEFAULT_SLOTS,
					  NMPORT_DEFAULT_BUF_SIZE, 0 } } };
	int err;

	if (parse(argc, argv, &r.o) < 0)
		return 2;
	uint32_t ring = r.o.ring < 32 ? 1u << r.o.ring : 0;
	err = nmport_open_ex(NULL, r.o.pipe, &r.o.geom, r.o.offer_pull ? ring : 0,
			     r.o.mode == MODE_TX || r.o.no_pull ? 0 : ring, &r.p);
	if (err < 0) {
		fprintf(stderr, "modvmm-pktgen: pipe %s: %s\n", r.o.pipe,
			err == -EBUSY ? "both ends are already connected" : strerror(-err));
		return 1;
	}
	const struct nmport_mem *m = nmport_mem(r.p);
	if (r.o.ring >= nmport_nrings(r.p) || r.o.size < PKTGEN_MIN_SIZE ||
	    r.o.size > m->geom.buf_size) {
		fprintf(stderr, "modvmm-pktgen: ring %u / size %u out of range (rings %u, buffers of %u bytes)\n",
			r.o.ring, r.o.size, nmport_nrings(r.p), m->geom.buf_size);
		nmport_close(r.p);
		return 2;
	}
	r.tx = nmport_tx(r.p, r.o.ring);
	r.rx = nmport_rx(r.p, r.o.ring);
	r.session = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
	if (!r.o.quiet) {
		printf("%s: pipe %s end %u, %u ring(s) of %u slots, buffers of %u bytes\n",
		       mode_name[r.o.mode], r.o.pipe, nmport_end(r.p), m->geom.nr_rings,
		       m->geom.num_slots, m->geom.buf_size);
		fflush(stdout);
	}
	switch (r.o.mode) {
	case MODE_TX: err = do_tx(&r); break;
	case MODE_RX: err = do_rx(&r); break;
	case MODE_PING: err = do_ping(&r); break;
	case MODE_PONG: err = do_pong(&r); break;
	}
	fflush(stdout);
	nmport_close(r.p);
	if (err < 0) {
		fprintf(stderr, "modvmm-pktgen: %s\n", strerror(-err));
		return 1;
	}
	return err;
}
