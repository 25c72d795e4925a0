/* SPDX-License-Identifier: MIT */
/* The host library: regions (and what it refuses from a peer), an in-process
 * pipe driven by two threads, the rendezvous (join, busy, peer gone,
 * reconnect, survivor keeps the region, stale socket) and pulling (the
 * receiver runs the sender's TX engine; handed back when it leaves). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <modvmm-netmap/pktgen.h>
#include <modvmm-netmap/nmport.h>
#include "sendfds.h"

static const struct nmport_geom geom = { 1, 256, 2048, 0 };

/* ---- regions ---------------------------------------------------------------- */

static void name_rules(void **state)
{
	assert_true(nmport_name_ok("a"));
	assert_true(nmport_name_ok("vm1.net-0_x"));
	assert_false(nmport_name_ok(""));
	assert_false(nmport_name_ok(NULL));
	assert_false(nmport_name_ok(".hidden"));
	assert_false(nmport_name_ok("a/b"));
	assert_false(nmport_name_ok("../x"));
	assert_false(nmport_name_ok("sp ace"));
	char longname[NMPORT_NAME_MAX + 1];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[NMPORT_NAME_MAX] = '\0';
	assert_false(nmport_name_ok(longname));
	longname[NMPORT_NAME_MAX - 1] = '\0';
	assert_true(nmport_name_ok(longname));
}

static void region_roundtrip(void **state)
{
	struct nmport_region a, b;

	assert_int_equal(nmport_region_create("rt", &geom, &a), 0);
	assert_int_equal(nmport_region_open(dup(a.fd), &b), 0);
	assert_int_equal(b.mem.size, a.mem.size);
	assert_string_equal(b.mem.name, "rt");
	a.base[a.mem.buf_pool_ofs + 5] = 0x5a; /* one memory, two mappings */
	assert_int_equal(b.base[b.mem.buf_pool_ofs + 5], 0x5a);
	nmport_region_close(&b);
	nmport_region_close(&a);
	assert_int_equal(nmport_region_create("bad/name", &geom, &a), -EINVAL);
	struct nmport_geom g = geom;
	g.num_slots = 1;
	assert_int_equal(nmport_region_create("x", &g, &a), -EINVAL);
}

/* A memfd holding a copy of `src`'s bytes, sealed or not. */
static int copy_fd(const struct nmport_region *src, bool seal, size_t size)
{
	int fd = memfd_create("copy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	assert_int_equal(pwrite(fd, src->base, size < src->mem.size ? size : src->mem.size, 0),
			 (ssize_t)(size < src->mem.size ? size : src->mem.size));
	if (seal)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

static void region_refusals(void **state)
{
	struct nmport_region a, b;

	assert_int_equal(nmport_region_create("rf", &geom, &a), 0);
	/* the same bytes, sealed: accepted */
	assert_int_equal(nmport_region_open(copy_fd(&a, true, a.mem.size), &b), 0);
	nmport_region_close(&b);
	/* not sealed: the peer could shrink it under us (SIGBUS) */
	assert_int_equal(nmport_region_open(copy_fd(&a, false, a.mem.size), &b), -EPROTO);
	/* a size that does not match the descriptor */
	assert_int_equal(nmport_region_open(copy_fd(&a, true, a.mem.size + 4096), &b), -EPROTO);
	assert_int_equal(nmport_region_open(copy_fd(&a, true, 4096), &b), -EPROTO);
	/* a descriptor that does not match its own geometry */
	struct nmport_mem *m = (struct nmport_mem *)a.base;
	m->end[1].csb_ofs += 64;
	assert_int_equal(nmport_region_open(copy_fd(&a, true, a.mem.size), &b), -EPROTO);
	m->end[1].csb_ofs -= 64;
	/* a name that is no pipe name */
	memcpy(m->name, "../etc", 7);
	assert_int_equal(nmport_region_open(copy_fd(&a, true, a.mem.size), &b), -EPROTO);
	/* not a memfd at all */
	char path[] = "/tmp/nmport-test.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)a.mem.size), 0);
	assert_int_equal(nmport_region_open(fd, &b), -EPROTO);
	nmport_region_close(&a);
}

/* ---- an in-process pipe, two threads ------------------------------------------ */

#define PAIR_PACKETS 300000u
#define WAIT_MS 10000 /* a lost wakeup shows up as a timeout */

struct rx_result {
	struct nmport *p;
	unsigned ring;
	uint64_t got;
	struct pktgen_rx_state st;
	int err;
};

static void *rx_thread(void *arg)
{
	struct rx_result *r = arg;
	struct nm_uring *u = nmport_rx(r->p, r->ring);

	while (r->got < PAIR_PACKETS) {
		nmport_rxsync(r->p, r->ring);
		uint32_t n = nm_uring_space(u);
		if (n == 0) {
			int e = nmport_poll_ring(r->p, r->ring, NMPORT_POLLIN, WAIT_MS);
			if (e <= 0) {
				r->err = e == 0 ? -ETIMEDOUT : e;
				return NULL;
			}
			continue;
		}
		for (uint32_t k = 0; k < n; k++) {
			uint32_t len = 0;
			const void *b = nm_uring_slot_buf(u, nm_uring_slot(u, k), &len);
			if (b)
				pktgen_rx_check(&r->st, b, len);
			else
				r->st.errors++;
		}
		r->got += n;
		nm_uring_advance(u, n);
	}
	nmport_rxsync(r->p, r->ring);
	return NULL;
}

/* Send `count` pktgen frames with sequence numbers from `seq` on TX ring `ring`. */
static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 }; /* dst, src */

static int send_frames(struct nmport *p, unsigned ring, uint64_t seq, uint64_t count,
		       uint32_t session, bool block)
{
	struct nm_uring *u = nmport_tx(p, ring);
	uint64_t end = seq + count;

	while (seq < end) {
		uint32_t n = nm_uring_space(u);
		if (n == 0) {
			nmport_txsync(p, ring);
			if (nm_uring_space(u) == 0) {
				if (!block)
					return -EAGAIN;
				int e = nmport_poll_ring(p, ring, NMPORT_POLLOUT, WAIT_MS);
				if (e <= 0)
					return e == 0 ? -ETIMEDOUT : e;
			}
			continue;
		}
		if (n > end - seq)
			n = (uint32_t)(end - seq);
		if (n > 64)
			n = 64;
		for (uint32_t k = 0; k < n; k++, seq++) {
			struct netmap_slot *s = nm_uring_slot(u, k);
			struct pktgen_hdr *h = nm_uring_buf(u, s->buf_idx);
			pktgen_fill(h, macs, session, seq, 0, 0, 64);
			s->len = 64;
		}
		nm_uring_advance(u, n);
		nmport_txsync(p, ring);
	}
	while (block && nmport_tx_pending(p, ring)) { /* hand everything to the peer */
		int e = nmport_poll_ring(p, ring, NMPORT_POLLDRAIN, WAIT_MS);
		if (e <= 0)
			return e == 0 ? -ETIMEDOUT : e;
	}
	return 0;
}

/* Receive up to `max` frames already waiting, checking them. */
static uint64_t recv_frames(struct nmport *p, unsigned ring, struct pktgen_rx_state *st, uint64_t max)
{
	struct nm_uring *u = nmport_rx(p, ring);
	uint64_t got = 0;

	nmport_rxsync(p, ring);
	while (got < max && nm_uring_space(u)) {
		uint32_t len = 0;
		const void *b = nm_uring_slot_buf(u, nm_uring_slot(u, 0), &len);
		assert_non_null(b);
		pktgen_rx_check(st, b, len);
		nm_uring_advance(u, 1);
		got++;
		if (!nm_uring_space(u))
			nmport_rxsync(p, ring);
	}
	nmport_rxsync(p, ring);
	return got;
}

static void pair_threads(void **state)
{
	struct nmport_geom g = { 2, 128, 2048, 0 }; /* small ring: both sides sleep often */
	struct nmport *a, *b;
	struct rx_result r = { 0 };
	pthread_t t;

	assert_int_equal(nmport_pair("pair", &g, &a, &b), 0);
	assert_true(nmport_link_up(a) && nmport_link_up(b));
	assert_int_equal(nmport_nrings(a), 2);
	r.p = b;
	r.ring = 1;
	assert_int_equal(pthread_create(&t, NULL, rx_thread, &r), 0);
	assert_int_equal(send_frames(a, 1, 0, PAIR_PACKETS, 7, true), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.got, PAIR_PACKETS);
	assert_int_equal(r.st.sessions, 1);
	assert_int_equal(r.st.errors, 0);
	assert_int_equal(r.st.next, PAIR_PACKETS);

	struct nmport_stats st;
	nmport_get_stats(a, &st);
	assert_int_equal(st.tx_delivered, PAIR_PACKETS);
	assert_int_equal(st.tx_dropped, 0);
	assert_int_equal(st.bad, 0);
	nmport_close(a);
	nmport_close(b);
}

/* ---- the rendezvous -------------------------------------------------------------- */

struct opener {
	const char *dir, *name;
	struct nmport_geom geom;
	uint32_t want_pull;
	struct nmport *p;
	int err;
};

static void *open_thread(void *arg)
{
	struct opener *o = arg;

	o->err = nmport_open_ex(o->dir, o->name, &o->geom, 0, o->want_pull, &o->p);
	return NULL;
}

/* Open a joining end (pulling the rings in want_pull) in a thread while
 * `holder` answers; returns its result. */
static int join_pull(struct nmport *holder, const char *dir, const char *name,
		     uint32_t want_pull, struct nmport **out, bool expect_up)
{
	struct opener o = { .dir = dir, .name = name, .geom = { 2, 64, 2048, 0 }, /* the holder's wins */
			    .want_pull = want_pull };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, open_thread, &o), 0);
	if (expect_up) {
		assert_int_equal(nmport_poll(holder, 0, WAIT_MS), 1); /* link change */
		assert_true(nmport_link_up(holder));
	} else {
		while (pthread_tryjoin_np(t, NULL) == EBUSY)
			nmport_poll(holder, 0, 50);
		*out = o.p;
		return o.err;
	}
	pthread_join(t, NULL);
	*out = o.p;
	return o.err;
}

static int join_name(struct nmport *holder, const char *dir, const char *name,
		     struct nmport **out, bool expect_up)
{
	return join_pull(holder, dir, name, 0, out, expect_up);
}

static int join(struct nmport *holder, const char *dir, struct nmport **out, bool expect_up)
{
	return join_name(holder, dir, "rv", out, expect_up);
}

static void rm_pipe_dir(char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/pipe/%s.sock", dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pipe/%s.lock", dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pipe", dir);
	rmdir(path);
	rmdir(dir);
}

static void rendezvous(void **state)
{
	char dir[] = "/tmp/nmport-rdv.XXXXXX";
	struct pktgen_rx_state sa = { 0 }, sb = { 0 };
	struct nmport *a, *b, *c;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(nmport_open(dir, "rv", &geom, &a), 0);
	assert_false(nmport_link_up(a));
	assert_int_equal(nmport_end(a), 0);
	assert_int_equal(nmport_poll(a, NMPORT_POLLIN, 0), 0);

	/* a joiner adopts the holder's region and takes the other end */
	assert_int_equal(join(a, dir, &b, true), 0);
	assert_true(nmport_link_up(b));
	assert_int_equal(nmport_end(b), 1);
	assert_int_equal(nmport_nrings(b), 1);
	assert_int_equal(nmport_mem(b)->geom.num_slots, geom.num_slots);

	/* a third end is turned away */
	assert_int_equal(join(a, dir, &c, false), -EBUSY);

	/* traffic both ways; b leaves five packets in a's RX ring */
	assert_int_equal(send_frames(a, 0, 0, 100, 1, false), 0);
	assert_int_equal(recv_frames(b, 0, &sb, 1000), 100);
	assert_int_equal(send_frames(b, 0, 0, 5, 2, false), 0);

	/* b goes away: a sees the link go down, its sends are dropped */
	nmport_close(b);
	assert_int_equal(nmport_poll(a, NMPORT_POLLIN, WAIT_MS), 1);
	assert_false(nmport_link_up(a));
	assert_int_equal(send_frames(a, 0, 100, 3, 1, false), 0);
	struct nmport_stats st;
	nmport_get_stats(a, &st);
	assert_int_equal(st.tx_dropped, 3);
	assert_int_equal(st.link_downs, 1);

	/* a new b joins; its engine resumes a's RX ring where the old one left it */
	assert_int_equal(join(a, dir, &b, true), 0);
	assert_int_equal(nmport_end(b), 1);
	assert_int_equal(send_frames(b, 0, 5, 5, 2, false), 0);
	assert_int_equal(recv_frames(a, 0, &sa, 1000), 10);
	assert_int_equal(sa.sessions, 1);
	assert_int_equal(sa.errors, 0);
	assert_int_equal(sa.next, 10);
	assert_int_equal(send_frames(a, 0, 103, 50, 1, false), 0);
	assert_int_equal(recv_frames(b, 0, &sb, 1000), 50);
	assert_int_equal(sb.errors, 1); /* the three dropped while down: one gap, nothing else */

	/* the creator goes away: b keeps the region and the socket, a new a joins it */
	nmport_close(a);
	assert_int_equal(nmport_poll(b, NMPORT_POLLIN, WAIT_MS), 1);
	assert_false(nmport_link_up(b));
	assert_int_equal(join(b, dir, &a, true), 0);
	assert_int_equal(nmport_end(a), 0);
	assert_int_equal(send_frames(a, 0, 0, 20, 3, false), 0);
	memset(&sb, 0, sizeof(sb));
	assert_int_equal(recv_frames(b, 0, &sb, 1000), 20);
	assert_int_equal(sb.errors, 0);
	nmport_close(a);
	nmport_close(b);

	/* nobody alive: the stale socket is replaced by a new region */
	assert_int_equal(nmport_open(dir, "rv", &geom, &a), 0);
	assert_false(nmport_link_up(a));
	nmport_close(a);

	rm_pipe_dir(dir, "rv");
}

/* a offers its TX ring 0, b pulls it: a's txsync never moves a packet, b's
 * rxsync does, both sleep and wake through the exchanged eventfds (small
 * rings: often).  When b leaves, a takes its TX ring back where b left it;
 * with a peer that does not pull, a's own engine moves it again. */
static void pull_threads(void **state)
{
	char dir[] = "/tmp/nmport-pull.XXXXXX";
	struct nmport_geom g = { 1, 64, 2048, 0 };
	struct rx_result r = { 0 };
	struct pktgen_rx_state sb = { 0 };
	struct nmport_stats sa_st, sb_st;
	struct nmport *a, *b;
	pthread_t t;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(nmport_open_ex(dir, "pl", &g, 1, 0, &a), 0);
	assert_int_equal(join_pull(a, dir, "pl", 1, &b, true), 0);
	assert_int_equal(nmport_pulled(a), 1);
	assert_int_equal(nmport_pulling(b), 1);
	assert_int_equal(nmport_pulled(b), 0); /* b offers nothing: a never pulls */
	r.p = b;
	assert_int_equal(pthread_create(&t, NULL, rx_thread, &r), 0);
	assert_int_equal(send_frames(a, 0, 0, PAIR_PACKETS, 9, true), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.got, PAIR_PACKETS);
	assert_int_equal(r.st.errors, 0);
	assert_int_equal(r.st.next, PAIR_PACKETS);
	nmport_get_stats(a, &sa_st);
	nmport_get_stats(b, &sb_st);
	assert_int_equal(sa_st.tx_delivered, 0);
	assert_int_equal(sb_st.pulled, PAIR_PACKETS);
	assert_true(sa_st.sleeps > 0 || sb_st.sleeps > 0);
	assert_int_equal(sa_st.bad + sb_st.bad, 0);

	/* b leaves: a's sends while down are dropped from where b left the ring */
	nmport_close(b);
	assert_int_equal(nmport_poll(a, 0, WAIT_MS), 1);
	assert_false(nmport_link_up(a));
	assert_int_equal(nmport_pulled(a), 0);
	assert_int_equal(send_frames(a, 0, PAIR_PACKETS, 3, 9, false), 0);
	nmport_get_stats(a, &sa_st);
	assert_int_equal(sa_st.tx_dropped, 3);
	assert_int_equal(sa_st.bad, 0);

	/* a peer that does not pull: a's own engine moves the ring again */
	assert_int_equal(join_pull(a, dir, "pl", 0, &b, true), 0);
	assert_int_equal(nmport_pulled(a), 0);
	assert_int_equal(send_frames(a, 0, PAIR_PACKETS + 3, 20, 9, false), 0);
	assert_int_equal(recv_frames(b, 0, &sb, 1000), 20);
	assert_int_equal(sb.errors, 0);
	assert_int_equal(sb.first, PAIR_PACKETS + 3);
	nmport_get_stats(a, &sa_st);
	assert_int_equal(sa_st.tx_delivered, 20);
	assert_int_equal(sa_st.bad, 0);
	nmport_close(b);
	nmport_close(a);
	rm_pipe_dir(dir, "pl");
}

/* A hostile sender whose TX ring b pulls: a head beyond the ring is refused
 * (nothing moves), bad buffer indices and lengths are dropped, and b keeps
 * pulling the good packets after them; nothing of b's leaves its region. */
static void pull_hostile_sender(void **state)
{
	char dir[] = "/tmp/nmport-pullh.XXXXXX";
	struct nmport_geom g = { 1, 64, 2048, 0 };
	struct pktgen_rx_state sb = { 0 };
	struct nmport_stats st;
	struct nmport *a, *b;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(nmport_open_ex(dir, "ph", &g, 1, 0, &a), 0);
	assert_int_equal(join_pull(a, dir, "ph", 1, &b, true), 0);
	assert_int_equal(nmport_pulling(b), 1);

	struct nmport_view v;
	nmport_region_view(nmport_region(a), nmport_end(a), &v);
	struct nm_csb_atok *atok = nmport_atok(&v, 0);
	const struct nm_csb_ktoa *ktoa = nmport_ktoa(&v, 0);
	NM_WRITE_ONCE(atok->head, 64 + 7);
	NM_WRITE_ONCE(atok->cur, 64 + 9);
	assert_int_equal(recv_frames(b, 0, &sb, 1000), 0);
	assert_int_equal(ktoa->hwcur, 0);
	nmport_get_stats(b, &st);
	assert_true(st.bad > 0);
	NM_WRITE_ONCE(atok->head, 0);
	NM_WRITE_ONCE(atok->cur, 0);

	/* two bad slots, then good packets */
	struct nm_uring *u = nmport_tx(a, 0);
	struct netmap_slot *s0 = nm_uring_slot(u, 0), *s1 = nm_uring_slot(u, 1);
	s0->buf_idx = v.nbufs + 5;
	s0->len = 64;
	s1->len = 2049;
	nm_uring_advance(u, 2);
	nmport_txsync(a, 0);
	assert_int_equal(send_frames(a, 0, 0, 10, 4, false), 0);
	assert_int_equal(recv_frames(b, 0, &sb, 1000), 10);
	assert_int_equal(sb.errors, 0);
	assert_int_equal(sb.next, 10);
	assert_int_equal(ktoa->hwcur, 12);
	nmport_get_stats(b, &st);
	assert_int_equal(st.pulled, 10);
	nmport_get_stats(a, &st);
	assert_int_equal(st.tx_delivered + st.tx_dropped, 0); /* a's engine never ran */
	nmport_close(b);
	nmport_close(a);
	rm_pipe_dir(dir, "ph");
}

/* A joiner that answers with the wrong things is dropped; the holder stays
 * available.  The wire format is the one in lib/nmport/pipe.c. */
struct wire_msg {
	uint32_t magic;
	uint16_t version, type;
	uint32_t end, nr_rings;
	uint32_t offer_pull, want_pull;
	uint64_t size;
	char name[NMPORT_NAME_MAX];
};

static int raw_join(const char *dir, const struct wire_msg *m, const int *fds, unsigned nfds)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/pipe/hj.sock", dir);
	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
	/* queued before the holder's HELLO: the holder reads it as the answer */
	assert_int_equal(sendmsg_fds(s, &iov, 1, fds, nfds), (ssize_t)sizeof(*m));
	return s;
}

static void hostile_joiner(void **state)
{
	char dir[] = "/tmp/nmport-hj.XXXXXX";
	struct nmport *a, *b;
	int p[2];

	assert_non_null(mkdtemp(dir));
	assert_int_equal(nmport_open(dir, "hj", &geom, &a), 0);
	assert_int_equal(pipe(p), 0);
	struct wire_msg ack = { .magic = 0x6e6d7264u, .version = 2, .type = 2, .nr_rings = 1 };
	int fds[2] = { p[0], p[1] };

	/* pipes instead of eventfds: a kick could block on a full pipe */
	int s1 = raw_join(dir, &ack, fds, 2);
	/* a bad magic */
	struct wire_msg bad = ack;
	bad.magic ^= 1;
	int e[2] = { eventfd(0, 0), eventfd(0, 0) };
	int s2 = raw_join(dir, &bad, e, 2);
	/* too few fds */
	int s3 = raw_join(dir, &ack, e, 1);
	/* a pull offer without its fds, and one for a ring that does not exist */
	struct wire_msg offer = ack;
	offer.offer_pull = 1;
	int s4 = raw_join(dir, &offer, e, 2);
	offer.offer_pull = 2;
	int e4[4] = { e[0], e[1], e[0], e[1] };
	int s5 = raw_join(dir, &offer, e4, 4);
	assert_int_equal(nmport_poll(a, 0, 200), 0);
	assert_false(nmport_link_up(a));
	close(s1);
	close(s2);
	close(s3);
	close(s4);
	close(s5);
	close(p[0]);
	close(p[1]);
	close(e[0]);
	close(e[1]);

	/* a proper joiner still gets in */
	assert_int_equal(join_name(a, dir, "hj", &b, true), 0);
	assert_true(nmport_link_up(b));
	nmport_close(b);
	nmport_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name_rules),
		cmocka_unit_test(region_roundtrip),
		cmocka_unit_test(region_refusals),
		cmocka_unit_test(pair_threads),
		cmocka_unit_test(rendezvous),
		cmocka_unit_test(hostile_joiner),
		cmocka_unit_test(pull_threads),
		cmocka_unit_test(pull_hostile_sender),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
