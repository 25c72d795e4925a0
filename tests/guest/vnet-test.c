/*
 * vnet-test - end-to-end tests of modvmm's virtio-net device (tests/e2e/vnet-*.sh).
 *
 * Set-up runs at CPL0; traffic runs at CPL3 (polling, interrupts suppressed).
 * Prints "ok: ..." / "FAIL: ..." per check plus summary lines the scripts read,
 * and exits 0 only when every check passed.  Cmdline:
 *   mode=echo      send `frames` frames of several sizes on pair 0 and wait for
 *                  them to come back byte for byte (loopback); prints
 *                  "echo: sent N received M intact K merged J".  expect=0: none
 *                  may come back (sink); expect=any: report only.  window=N: at
 *                  most N frames out and not back (a peer that drops when the
 *                  RX ring is full).  mrg=0/1, rxbuf=BYTES, msix=1 (take one
 *                  RX interrupt first), indirect=0/1.
 *   mode=rxgen     count frames from the sink's generator for `ms` milliseconds
 *                  (tsc_khz= needed), check their sequence numbers.
 *   mode=mq        pairs=P: VQ_PAIRS_SET P, `frames` frames on every pair, each
 *                  back on its own pair.
 *   mode=host      an IPv4 host at ip=A.B.C.D: answers ARP and ICMP echo; after
 *                  `pings` echo replies sends one UDP datagram of `udplen` bytes
 *                  to peer=A.B.C.D port=N, then exits.
 *   mode=flap      the backend goes away and comes back (vhost-user reconnect):
 *                  echo `frames` frames, print "flap: phase 1 done", keep
 *                  sending while waiting for the link to go down and up again,
 *                  then echo `frames` new frames (`window` in flight, default
 *                  32), which must all come back.  go_serial=1: after the
 *                  link came back, keep sending until a byte arrives on COM1
 *                  (the test swaps the backend meanwhile).
 *   mode=link      wait for the link to go down and come back (no traffic);
 *                  with go_serial=1, then keep watching until a byte arrives on
 *                  COM1 (the test sends it once the peer is done: a peer that
 *                  flaps several times may show "up" between two flaps).
 *   mode=hostile   bad descriptors, an avail index jump, rings outside RAM; the
 *                  device must drop, report DEVICE_NEEDS_RESET, and work after a
 *                  reset.
 */
#include "guest.h"
#include "io.h"
#include "irq.h"
#include "pci.h"
#include "vnet.h"

#define ETH_HLEN       14
#define ETHERTYPE_TEST 0x88b5          /* IEEE 802 local experimental */
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806
#define WAIT_CYCLES    20000000000ull  /* ~7-10 s at 2-3 GHz: bound for any wait */
#define QUIET_CYCLES   2000000000ull   /* ~1 s: how long "nothing comes back" is watched */
#define MAX_FRAME      1514

static const unsigned sizes[] = { 60, 64, 128, 333, 1000, 1514 };
/* How long the flap test waits for a restarted backend: 6 x WAIT_CYCLES times
 * the cmdline's time_factor (the test runner's MODVMM_TIME_FACTOR: a peer such
 * as DPDK's testpmd restarts far slower inside an emulated KVM host). */
static uint64_t flap_wait = 6 * WAIT_CYCLES;
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static struct vn_dev dev;
static unsigned failures;
static uint8_t txf[MAX_FRAME], rxf[VN_BUF_SIZE * 8];

static bool check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool check(bool cond, const char *fmt, ...)
{
	va_list ap;
	guest_printf(cond ? "ok: " : "FAIL: ");
	va_start(ap, fmt);
	guest_vcprintf(CON_SERIAL, fmt, ap);
	va_end(ap);
	guest_printf("\n");
	failures += !cond;
	return cond;
}

static bool same(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }

/* Test frame `seq` of `len` bytes on pair `pair`: broadcast, our MAC, 0x88b5, seq, pair, pattern. */
static void test_frame(uint8_t *f, unsigned len, uint32_t seq, unsigned pair)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, dev.mac, 6);
	put16(f + 12, ETHERTYPE_TEST);
	put32(f + 14, seq);
	put16(f + 18, (uint16_t)pair);
	for (unsigned i = 20; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
}

static bool frame_ok(const uint8_t *f, int len, uint32_t seq, unsigned pair)
{
	unsigned want = sizes[seq % NSIZES];
	if (len != (int)want || get16(f + 12) != ETHERTYPE_TEST || get32(f + 14) != seq || get16(f + 18) != pair)
		return false;
	for (unsigned i = 20; i < want; i++)
		if (f[i] != (uint8_t)(seq * 7 + i))
			return false;
	return true;
}

/* ---- echo and multiqueue --------------------------------------------------------- */

struct echo {
	unsigned pairs, frames;
	unsigned window;                   /* at most this many frames out and not back (0: no limit) */
	bool expect;                       /* frames must come back */
	unsigned sent[VN_MAX_PAIRS], recvd[VN_MAX_PAIRS], intact[VN_MAX_PAIRS], merged[VN_MAX_PAIRS];
	unsigned rx_other;                 /* frames that are not ours */
};

static void echo_rx(struct echo *e, unsigned p)
{
	int len;
	unsigned nb;
	while ((len = vn_rx(&dev, p, rxf, sizeof(rxf), &nb)) >= 0) {
		if (len < ETH_HLEN || get16(rxf + 12) != ETHERTYPE_TEST) {
			e->rx_other++;
			continue;
		}
		if (frame_ok(rxf, len, e->recvd[p], p))
			e->intact[p]++;
		e->merged[p] += nb > 1;
		e->recvd[p]++;
	}
	vn_rx_flush(&dev, p);
}

static void echo_user(void *arg)
{
	struct echo *e = arg;
	uint64_t end = guest_rdtsc() + WAIT_CYCLES;
	bool busy = true;
	while (busy && guest_rdtsc() < end) {
		busy = false;
		for (unsigned p = 0; p < e->pairs; p++) {
			busy |= e->sent[p] < e->frames;
			if (e->sent[p] < e->frames && (!e->window || e->sent[p] - e->recvd[p] < e->window)) {
				unsigned len = sizes[e->sent[p] % NSIZES];
				uint8_t *b = vn_tx_buf(&dev, p);
				if (b) {
					memset(b, 0, VN_HDR_LEN);
					test_frame(b + VN_HDR_LEN, len, e->sent[p], p);
					vn_tx_commit(&dev, p, len);
					e->sent[p]++;
				}
				vn_tx_flush(&dev, p);
			}
			echo_rx(e, p);
			if (e->expect && e->recvd[p] < e->frames)
				busy = true;
		}
	}
	if (!e->expect) { /* watch for a while: nothing may come back */
		uint64_t quiet = guest_rdtsc() + QUIET_CYCLES;
		while (guest_rdtsc() < quiet)
			for (unsigned p = 0; p < e->pairs; p++)
				echo_rx(e, p);
	}
}

static void run_echo(unsigned pairs)
{
	static struct echo e;
	size_t n;
	const char *x = guest_cmdline_get("expect", &n);
	bool any = x && n == 3 && same(x, "any", 3); /* report only: the host script judges */
	e = (struct echo){ .pairs = pairs, .frames = (unsigned)guest_cmdline_ulong("frames", 1000),
	                   .window = (unsigned)guest_cmdline_ulong("window", 0),
	                   .expect = !any && guest_cmdline_ulong("expect", 1) != 0 };
	for (unsigned p = 0; p < pairs; p++)
		vn_irq_enable(&dev, 2 * p, false);
	guest_user_run(echo_user, &e);
	unsigned sent = 0, recvd = 0, intact = 0, merged = 0;
	for (unsigned p = 0; p < pairs; p++) {
		sent += e.sent[p];
		recvd += e.recvd[p];
		intact += e.intact[p];
		merged += e.merged[p];
		if (pairs > 1)
			check(e.recvd[p] == e.frames && e.intact[p] == e.frames, "pair %u: %u frames out, %u back intact",
			      p, e.sent[p], e.intact[p]);
	}
	guest_printf("echo: sent %u received %u intact %u merged %u other %u\n", sent, recvd, intact, merged,
	             e.rx_other);
	check(sent == pairs * e.frames, "%u frames sent", sent);
	if (e.expect)
		check(recvd == sent && intact == sent, "%u frames of %u sizes came back intact", intact, (unsigned)NSIZES);
	else if (!any)
		check(recvd == 0, "no frame came back");
	if (vn_has(&dev, VIRTIO_NET_F_MRG_RXBUF) && dev.rxbuf < VN_HDR_LEN + MAX_FRAME && e.expect)
		check(merged > 0, "%u frames spanned several mergeable buffers", merged);
	guest_printf("kicks: tx %lu (suppressed %lu), rx %lu\n", (unsigned long)dev.q[1].kicks,
	             (unsigned long)dev.q[1].suppressed, (unsigned long)dev.q[0].kicks);
}

/* One RX interrupt through MSI-X, at CPL0, before the polled traffic. */
static void check_msix(void)
{
	unsigned before = vn_irqs[1];
	vn_irq_enable(&dev, 0, true);
	test_frame(txf, 60, 0xabcd, 0);
	vn_tx(&dev, 0, txf, 60, false);
	check(guest_irq_wait(&vn_irqs[1], before + 1, WAIT_CYCLES), "MSI-X interrupt for receiveq1 (vector 1)");
	int len = vn_rx(&dev, 0, rxf, sizeof(rxf), NULL);
	check(len == 60 && get32(rxf + 14) == 0xabcd, "the interrupting frame came back (%d bytes)", len);
	vn_rx_flush(&dev, 0);
	vn_irq_enable(&dev, 0, false);
}

/* ---- the backend goes away and comes back ------------------------------------------- */

#define FLAP_SEQ_BASE 0x100000u        /* phase 3 frames: sequence numbers from here */

struct flap {
	unsigned frames, window;
	bool no_traffic;                   /* mode=link: only watch the link */
	bool until_serial;                 /* mode=link go_serial=1: end on a COM1 byte */
	unsigned sent2, recvd2;            /* phase 2: while the link flaps */
	bool saw_down, saw_up;
	bool got_serial;                   /* go_serial=1: the byte came (after the link came up) */
	unsigned cfg_irqs;                 /* configuration interrupts seen (ISR CONFIG bit) */
	unsigned sent3, recvd3, intact3, stale3;
};

#define COM1_LSR    0x3fd   /* 16550 line status register */
#define LSR_DR      0x01    /* a received byte is ready */
#define COM1_RBR    0x3f8   /* receive buffer */

/* Has a byte arrived on COM1?  Consumes it.  Each read exits to modvmm. */
static bool serial_byte(void)
{
	if (!(inb(COM1_LSR) & LSR_DR))
		return false;
	(void)inb(COM1_RBR);
	return true;
}

static bool link_up(void)
{
	return mmio_read16(dev.devcfg + VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
}

/* Without MSI-X a configuration change sets VIRTIO_PCI_ISR_CONFIG in the ISR
 * status, and reading the ISR clears it (§4.1.4.5); polled at CPL3 like the
 * rings.  With MSI-X the interrupt would wait for IF: not counted here. */
static void count_cfg_irq(struct flap *f)
{
	if (!dev.msix && (mmio_read8(dev.isr) & VIRTIO_PCI_ISR_CONFIG))
		f->cfg_irqs++;
}

/* Phase 2: send test frames whenever a buffer is free, drop what comes back, and
 * watch the link status until it went down and came up again (with go_serial=1:
 * and then until a byte arrives on COM1, traffic going on); count the
 * configuration interrupts the changes raise (the one for "up" may follow the
 * status the guest already saw: wait a little for it). */
static void flap_wait_user(void *arg)
{
	struct flap *f = arg;
	uint64_t end = guest_rdtsc() + flap_wait;
	while (!(f->saw_up && (!f->until_serial || f->got_serial)) && guest_rdtsc() < end) {
		count_cfg_irq(f);
		uint8_t *b = f->no_traffic ? NULL : vn_tx_buf(&dev, 0);
		if (b) {
			memset(b, 0, VN_HDR_LEN);
			test_frame(b + VN_HDR_LEN, sizes[f->sent2 % NSIZES], f->sent2, 0);
			vn_tx_commit(&dev, 0, sizes[f->sent2 % NSIZES]);
			vn_tx_flush(&dev, 0);
			f->sent2++;
		}
		while (vn_rx(&dev, 0, rxf, sizeof(rxf), NULL) >= 0)
			f->recvd2++;
		vn_rx_flush(&dev, 0);
		bool up = link_up();
		f->saw_down |= !up;
		f->saw_up = f->saw_down && up;
		f->got_serial = f->saw_up && f->until_serial && serial_byte();
	}
	end = guest_rdtsc() + WAIT_CYCLES;
	while (f->saw_up && !dev.msix && f->cfg_irqs < 2 && guest_rdtsc() < end)
		count_cfg_irq(f);
}

/* Phase 3: once the frames queued while the link was down have left, `frames`
 * new frames, at most `window` in flight, must all come back in order; late
 * phase-2 frames are counted apart. */
static void flap_echo_user(void *arg)
{
	struct flap *f = arg;
	struct vn_queue *tx = &dev.q[1];
	uint64_t end = guest_rdtsc() + WAIT_CYCLES;
	while (guest_rdtsc() < end && (vn_tx_reclaim(&dev, 0), tx->nfree < tx->num)) {
		while (vn_rx(&dev, 0, rxf, sizeof(rxf), NULL) >= 0)
			f->stale3++;
		vn_rx_flush(&dev, 0);
	}
	while (vn_rx(&dev, 0, rxf, sizeof(rxf), NULL) >= 0) /* the RX ring free again */
		f->stale3++;
	vn_rx_flush(&dev, 0);
	while (f->recvd3 < f->frames && guest_rdtsc() < end) {
		if (f->sent3 < f->frames && f->sent3 - f->recvd3 < f->window) {
			uint32_t seq = FLAP_SEQ_BASE + f->sent3;
			uint8_t *b = vn_tx_buf(&dev, 0);
			if (b) {
				memset(b, 0, VN_HDR_LEN);
				test_frame(b + VN_HDR_LEN, sizes[seq % NSIZES], seq, 0);
				vn_tx_commit(&dev, 0, sizes[seq % NSIZES]);
				f->sent3++;
			}
			vn_tx_flush(&dev, 0);
		}
		int len;
		while ((len = vn_rx(&dev, 0, rxf, sizeof(rxf), NULL)) >= 0) {
			if (len < 18 || get32(rxf + 14) < FLAP_SEQ_BASE) {
				f->stale3++;
				continue;
			}
			f->intact3 += frame_ok(rxf, len, FLAP_SEQ_BASE + f->recvd3, 0);
			f->recvd3++;
		}
		vn_rx_flush(&dev, 0);
	}
}

/* mode=link: the link goes down and comes back (a peer that breaks the protocol). */
static void run_link(void)
{
	static struct flap f;
	f = (struct flap){ .no_traffic = true, .until_serial = guest_cmdline_ulong("go_serial", 0) != 0 };
	guest_user_run(flap_wait_user, &f);
	check(f.saw_down && f.saw_up, "the link went down and came back");
	guest_printf("link: %u configuration interrupts\n", f.cfg_irqs);
}

static void run_flap(void)
{
	static struct flap f;
	f = (struct flap){ .frames = (unsigned)guest_cmdline_ulong("frames", 1000),
	                   .window = (unsigned)guest_cmdline_ulong("window", 32),
	                   .until_serial = guest_cmdline_ulong("go_serial", 0) != 0 };
	run_echo(1);
	guest_printf("flap: phase 1 done\n");
	guest_user_run(flap_wait_user, &f);
	guest_printf("flap: phase 2 sent %u received %u while the link went %s\n", f.sent2, f.recvd2,
	             f.saw_up ? "down and up" : f.saw_down ? "down" : "nowhere");
	guest_printf("link: %u configuration interrupts\n", f.cfg_irqs);
	check(f.saw_down && f.saw_up, "the link went down and came back");
	guest_user_run(flap_echo_user, &f);
	guest_printf("flap: phase 3 sent %u received %u intact %u stale %u\n", f.sent3, f.recvd3, f.intact3,
	             f.stale3);
	check(f.sent3 == f.frames && f.recvd3 == f.frames && f.intact3 == f.frames,
	      "after the reconnect %u frames came back intact", f.intact3);
}

/* ---- the sink's generator ----------------------------------------------------------- */

struct rxgen {
	uint64_t cycles;
	unsigned frames, bad, gaps;
	uint64_t last_seq;
};

static void rxgen_user(void *arg)
{
	struct rxgen *g = arg;
	uint64_t end = guest_rdtsc() + g->cycles;
	while (guest_rdtsc() < end) {
		int len = vn_rx(&dev, 0, rxf, sizeof(rxf), NULL);
		if (len < 0)
			continue;
		if (len < 26 || get16(rxf + 12) != ETHERTYPE_TEST || rxf[6] != 0x02 || rxf[11] != 0xfe) {
			g->bad++;
		} else {
			uint64_t seq = (uint64_t)get32(rxf + 14) << 32 | get32(rxf + 18);
			if (g->frames && seq != g->last_seq + 1)
				g->gaps++;
			g->last_seq = seq;
			g->frames++;
		}
		vn_rx_flush(&dev, 0);
	}
}

static void run_rxgen(void)
{
	static struct rxgen g;
	g = (struct rxgen){ .cycles = guest_cmdline_ulong("tsc_khz", 2000000) * guest_cmdline_ulong("ms", 1000) };
	vn_irq_enable(&dev, 0, false);
	guest_user_run(rxgen_user, &g);
	guest_printf("rxgen: %u frames, %u gaps, %u bad, last seq %lu\n", g.frames, g.gaps, g.bad,
	             (unsigned long)g.last_seq);
	check(g.frames > 0 && g.bad == 0, "%u generated frames received, none malformed", g.frames);
}

/* ---- an IPv4 host for the tap test ------------------------------------------------------ */

static uint32_t parse_ip(const char *key)
{
	size_t n;
	const char *s = guest_cmdline_get(key, &n);
	uint32_t ip = 0, part = 0;
	for (size_t i = 0; s && i <= n; i++) {
		if (i == n || s[i] == '.') {
			ip = ip << 8 | (part & 0xff);
			part = 0;
		} else {
			part = part * 10 + (uint32_t)(s[i] - '0');
		}
	}
	return ip;
}

static uint16_t csum(uint32_t sum, const uint8_t *p, unsigned len)
{
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct host {
	unsigned pair;                      /* the pair being served */
	unsigned per_pair[VN_MAX_PAIRS];
	uint32_t ip, peer;
	uint16_t port;
	unsigned pings, udplen;
	unsigned answered, arps;
	bool udp_sent, peer_known;
	uint8_t peer_mac[6];
};

static void eth_reply(uint8_t *o, const uint8_t *dst)
{
	memcpy(o, dst, 6);
	memcpy(o + 6, dev.mac, 6);
}

static void ipv4_header(uint8_t *ip, uint16_t total, uint8_t proto, uint32_t src, uint32_t dst)
{
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, total);
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, csum(0, ip, 20));
}

static void handle_arp(struct host *h, const uint8_t *f, int len)
{
	/* RFC 826: htype 1, ptype 0x0800, hlen 6, plen 4, op 1 request */
	if (len < ETH_HLEN + 28 || get16(f + 14) != 1 || get16(f + 16) != ETHERTYPE_IPV4 || get16(f + 20) != 1 ||
	    get32(f + 38) != h->ip)
		return;
	memcpy(h->peer_mac, f + 22, 6);
	h->peer_known = get32(f + 28) == h->peer;
	uint8_t o[ETH_HLEN + 28];
	eth_reply(o, f + 22);
	put16(o + 12, ETHERTYPE_ARP);
	memcpy(o + 14, f + 14, 6);          /* htype, ptype, hlen, plen */
	put16(o + 20, 2);                   /* reply */
	memcpy(o + 22, dev.mac, 6);
	put32(o + 28, h->ip);
	memcpy(o + 32, f + 22, 10);         /* the asker's MAC and IP */
	vn_tx(&dev, h->pair, o, sizeof(o), false);
	h->arps++;
}

static void handle_ipv4(struct host *h, const uint8_t *f, int len)
{
	const uint8_t *ip = f + ETH_HLEN;
	if (len < ETH_HLEN + 28 || ip[0] != 0x45 || ip[9] != 1 || get32(ip + 16) != h->ip)
		return;
	unsigned total = get16(ip + 2);
	if (total < 28 || ETH_HLEN + total > (unsigned)len || ip[20] != 8) /* ICMP echo request */
		return;
	static uint8_t o[MAX_FRAME];
	if (ETH_HLEN + total > sizeof(o))
		return;
	eth_reply(o, f + 6);
	put16(o + 12, ETHERTYPE_IPV4);
	ipv4_header(o + ETH_HLEN, (uint16_t)total, 1, h->ip, get32(ip + 12));
	uint8_t *icmp = o + ETH_HLEN + 20;
	memcpy(icmp, ip + 20, total - 20);
	icmp[0] = 0;                        /* echo reply */
	put16(icmp + 2, 0);
	put16(icmp + 2, csum(0, icmp, total - 20));
	vn_tx(&dev, h->pair, o, ETH_HLEN + total, false);
	h->answered++;
}

static uint8_t udp_byte(unsigned i)
{
	return (uint8_t)(i * 13 + 5);
}

static void send_udp(struct host *h)
{
	static uint8_t o[MAX_FRAME];
	unsigned ulen = 8 + h->udplen, total = 20 + ulen;
	eth_reply(o, h->peer_mac);
	put16(o + 12, ETHERTYPE_IPV4);
	ipv4_header(o + ETH_HLEN, (uint16_t)total, 17, h->ip, h->peer);
	uint8_t *u = o + ETH_HLEN + 20;
	put16(u, 40000);
	put16(u + 2, h->port);
	put16(u + 4, (uint16_t)ulen);
	put16(u + 6, 0);
	for (unsigned i = 0; i < h->udplen; i++)
		u[8 + i] = udp_byte(i);
	uint32_t pseudo = (h->ip >> 16) + (h->ip & 0xffff) + (h->peer >> 16) + (h->peer & 0xffff) + 17 + ulen;
	uint16_t c = csum(pseudo, u, ulen);
	put16(u + 6, c ? c : 0xffff);       /* RFC 768: a computed 0 is sent as all ones */
	h->udp_sent = vn_tx(&dev, h->pair, o, ETH_HLEN + total, false);
}

static void host_user(void *arg)
{
	struct host *h = arg;
	uint64_t end = guest_rdtsc() + 6 * WAIT_CYCLES;
	while (guest_rdtsc() < end && !h->udp_sent) {
		for (h->pair = 0; h->pair < dev.pairs; h->pair++) {
			int len = vn_rx(&dev, h->pair, rxf, sizeof(rxf), NULL);
			vn_tx_reclaim(&dev, h->pair);
			if (len < ETH_HLEN)
				continue;
			h->per_pair[h->pair]++;
			uint16_t type = get16(rxf + 12);
			if (type == ETHERTYPE_ARP)
				handle_arp(h, rxf, len);
			else if (type == ETHERTYPE_IPV4)
				handle_ipv4(h, rxf, len);
			vn_rx_flush(&dev, h->pair);
		}
		h->pair = 0;
		if (h->answered >= h->pings && h->peer_known)
			send_udp(h);
	}
	/* let the last frames leave */
	uint64_t drain = guest_rdtsc() + QUIET_CYCLES;
	while (guest_rdtsc() < drain && dev.q[1].nfree < dev.q[1].num)
		vn_tx_reclaim(&dev, 0);
}

static void run_host(void)
{
	static struct host h;
	h = (struct host){ .ip = parse_ip("ip"), .peer = parse_ip("peer"),
	                   .port = (uint16_t)guest_cmdline_ulong("port", 5555),
	                   .pings = (unsigned)guest_cmdline_ulong("pings", 3),
	                   .udplen = (unsigned)guest_cmdline_ulong("udplen", 1000) };
	if (h.udplen > MAX_FRAME - ETH_HLEN - 28)
		h.udplen = MAX_FRAME - ETH_HLEN - 28;
	guest_printf("host: ip %x, waiting for %u pings from %x\n", h.ip, h.pings, h.peer);
	vn_irq_enable(&dev, 0, false);
	guest_user_run(host_user, &h);
	guest_printf("host: answered %u ARP requests and %u echo requests\n", h.arps, h.answered);
	for (unsigned p = 0; p < dev.pairs; p++)
		guest_printf("host: pair %u received %u frames\n", p, h.per_pair[p]);
	check(h.arps > 0, "answered ARP");
	check(h.answered >= h.pings, "answered %u ICMP echo requests", h.answered);
	check(h.udp_sent, "sent a %u-byte UDP datagram to port %u", h.udplen, h.port);
}

/* ---- hostile descriptors (CPL0: few, slow instructions are fine) ---------------------- */

/* Publish `head` on TX queue 1 and wait for it to come back; returns the used length. */
static long tx_raw(uint16_t head)
{
	struct vn_queue *q = &dev.q[1];
	q->avail[2 + q->avail_idx % q->num] = head;
	q->avail_idx++;
	vn_tx_flush(&dev, 0);
	uint64_t end = guest_rdtsc() + WAIT_CYCLES;
	while (*(volatile uint16_t *)(q->used + 2) == q->last_used)
		if (guest_rdtsc() > end)
			return -1;
	const struct vring_used_elem *e =
		(const struct vring_used_elem *)(q->used + VRING_USED_RING_OFF) + q->last_used % q->num;
	q->last_used++;
	return e->id == head ? (long)e->len : -2;
}

static bool echo_one(uint32_t seq)
{
	test_frame(txf, 100, seq, 0);
	if (!vn_tx(&dev, 0, txf, 100, false))
		return false;
	uint64_t end = guest_rdtsc() + WAIT_CYCLES;
	int len;
	while ((len = vn_rx(&dev, 0, rxf, sizeof(rxf), NULL)) < 0)
		if (guest_rdtsc() > end)
			return false;
	vn_rx_flush(&dev, 0);
	vn_tx_reclaim(&dev, 0);
	return len == 100 && get32(rxf + 14) == seq;
}

static void run_hostile(uint64_t want)
{
	struct vn_queue *q = &dev.q[1];
	vn_tx_reclaim(&dev, 0);
	/* take four descriptors off the free list for the hand-made chains */
	uint16_t a = q->free[--q->nfree], b = q->free[--q->nfree], c = q->free[--q->nfree], dd = q->free[--q->nfree];
	struct vring_desc saved[4] = { q->desc[a], q->desc[b], q->desc[c], q->desc[dd] };
	q->desc[a] = (struct vring_desc){ .addr = 0x7f00000000ull, .len = 64 };
	check(tx_raw(a) == 0, "a buffer outside guest RAM is returned unused");
	q->desc[a] = (struct vring_desc){ .addr = 0xfffffffffffff000ull, .len = 0x2000 };
	check(tx_raw(a) == 0, "a buffer whose length wraps the address space is returned unused");
	q->desc[a] = (struct vring_desc){ .addr = saved[0].addr, .len = 64, .flags = VRING_DESC_F_NEXT, .next = a };
	check(tx_raw(a) == 0, "a descriptor looping onto itself is returned unused");
	for (uint16_t i = 0; i < q->num; i++) {
		q->desc[i].flags |= VRING_DESC_F_NEXT;
		q->desc[i].next = (uint16_t)((i + 1) % q->num);
	}
	check(tx_raw(a) == 0, "a chain longer than the queue is returned unused");
	for (uint16_t i = 0; i < q->num; i++)
		q->desc[i].flags = 0;
	static struct vring_desc tab[2] __attribute__((aligned(16)));
	tab[0] = (struct vring_desc){ .addr = (uintptr_t)tab, .len = sizeof(tab), .flags = VRING_DESC_F_INDIRECT };
	q->desc[a] = (struct vring_desc){ .addr = (uintptr_t)tab, .len = sizeof(tab), .flags = VRING_DESC_F_INDIRECT };
	check(tx_raw(a) == 0, "an indirect table inside an indirect table is returned unused");
	q->desc[a] = (struct vring_desc){ .addr = saved[0].addr, .len = 64, .flags = VRING_DESC_F_WRITE,
	                                  .next = b };
	check(tx_raw(a) == 0, "a TX chain of device-writable buffers is returned unused");
	q->desc[a] = saved[0];
	q->desc[b] = saved[1];
	q->desc[c] = saved[2];
	q->desc[dd] = saved[3];
	q->free[q->nfree++] = dd;
	q->free[q->nfree++] = c;
	q->free[q->nfree++] = b;
	q->free[q->nfree++] = a;
	check(!(vn_status(&dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET), "no reset needed for dropped chains");
	check(echo_one(1), "a good frame still goes out and comes back");

	/* the avail index runs ahead by more than the queue: the device gives up on it */
	q->avail[1] = (uint16_t)(q->avail_idx + q->num + 5);
	*q->notify = q->idx;
	uint64_t end = guest_rdtsc() + WAIT_CYCLES;
	while (!(vn_status(&dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && guest_rdtsc() < end)
		guest_pause();
	check(vn_status(&dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "avail index jump: DEVICE_NEEDS_RESET");

	/* a used ring outside RAM (the LAPIC page, MMIO): refused at enable */
	vn_reset(&dev);
	check(vn_status(&dev) == 0, "reset reads back 0");
	check(vn_init(&dev, want, 1, 16, VN_BUF_SIZE, false), "re-initialised after the reset");
	vn_reset(&dev);
	mmio_write8(dev.common + VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_write32(dev.common + VIRTIO_PCI_COMMON_GFSELECT, 1);
	mmio_write32(dev.common + VIRTIO_PCI_COMMON_GF, 1);  /* VERSION_1 */
	mmio_write8(dev.common + VIRTIO_PCI_COMMON_STATUS,
	            VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	mmio_write16(dev.common + VIRTIO_PCI_COMMON_Q_SELECT, 1);
	mmio_write16(dev.common + VIRTIO_PCI_COMMON_Q_SIZE, 16);
	mmio_write32(dev.common + VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)LAPIC_BASE);
	mmio_write16(dev.common + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	check(vn_status(&dev) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, "used ring in MMIO space: DEVICE_NEEDS_RESET");
	check(vn_init(&dev, want, 1, 16, VN_BUF_SIZE, false), "re-initialised again");
	check(echo_one(2), "traffic flows after the resets");
}

int guest_main(void)
{
	guest_pic_disable();
	bool found = vn_find(&dev, 0);
	if (!check(found, "virtio-net function found (BDF 0x%x)", dev.bdf))
		return 1;
	size_t n;
	const char *mode = guest_cmdline_get("mode", &n);
	bool is = false;
	flap_wait *= guest_cmdline_ulong("time_factor", 1);
#define MODE(m) (mode && n == sizeof(m) - 1 && same(mode, m, n) && (is = true))
	uint64_t want = VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MAC) |
	                VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_NET_F_CTRL_VQ) | VIRTIO_BIT(VIRTIO_NET_F_MQ);
	if (guest_cmdline_ulong("mrg", 0))
		want |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (guest_cmdline_ulong("indirect", 1))
		want |= VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC);
	if (!guest_cmdline_ulong("event_idx", 1))
		want &= ~VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX);
	unsigned pairs = (unsigned)guest_cmdline_ulong("pairs", 1);
	uint32_t rxbuf = (uint32_t)guest_cmdline_ulong("rxbuf", VN_BUF_SIZE);
	bool msix = guest_cmdline_ulong("msix", 0) != 0;
	uint16_t qsize = (uint16_t)guest_cmdline_ulong("qsize", 256);
	bool up = vn_init(&dev, want, pairs, qsize, rxbuf, msix);
	if (!check(up, "device initialised: features 0x%lx, %u pair(s)", (unsigned long)dev.features, pairs))
		return 1;
	if (!(mode && n == 4 && same(mode, "link", 4))) /* mode=link: the peer may already be misbehaving */
		check(mmio_read16(dev.devcfg + VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP, "link up");
	guest_printf("mac %x:%x:%x:%x:%x:%x\n", dev.mac[0], dev.mac[1], dev.mac[2], dev.mac[3], dev.mac[4], dev.mac[5]);
	if (msix)
		check_msix();
	if (MODE("echo"))
		run_echo(1);
	else if (MODE("mq"))
		run_echo(pairs);
	else if (MODE("rxgen"))
		run_rxgen();
	else if (MODE("host"))
		run_host();
	else if (MODE("hostile"))
		run_hostile(want);
	else if (MODE("flap"))
		run_flap();
	else if (MODE("link"))
		run_link();
	check(is, "mode given (echo, mq, rxgen, host, hostile, flap, link)");
	guest_printf("vnet-test: %u failure(s)\n", failures);
	return failures ? 1 : 0;
}
