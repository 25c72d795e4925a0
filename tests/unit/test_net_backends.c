/* SPDX-License-Identifier: MIT */
/* The loopback, sink and tap backends through their built .so files and the
 * net-backend ABI, against the fake host table. */
#include <dlfcn.h>
#include <errno.h>
#include <linux/capability.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "net_fake.h"

struct be {
	void *handle;
	const struct modvmm_plugin *desc;
	struct fake_host f;
	struct modvmm_net_backend b;
	void *priv;
};

/* Load `so`, create an instance with the given keys (NULL-terminated pairs). */
static int be_open(struct be *t, const char *so, ...)
{
	memset(t, 0, sizeof(*t));
	fake_init(&t->f, 0, NULL);
	va_list ap;
	va_start(ap, so);
	const char *k;
	while ((k = va_arg(ap, const char *)))
		fake_set_key(&t->f, k, va_arg(ap, const char *));
	va_end(ap);
	t->handle = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	assert_non_null(t->handle);
	t->desc = dlsym(t->handle, MODVMM_PLUGIN_SYMBOL);
	assert_non_null(t->desc);
	assert_int_equal(t->desc->kind, MODVMM_KIND_NET_BACKEND);
	/* schema defaults, as the core would supply them */
	for (const struct modvmm_key *key = t->desc->keys; key->name; key++)
		if (key->def && !t->f.host.config_str(fake_dev(&t->f), key->name))
			fake_set_key(&t->f, key->name, key->def);
	int ret = t->desc->create(&t->f.host, fake_dev(&t->f), &t->priv);
	if (ret)
		return ret;
	t->f.backend_desc = t->desc;
	t->f.backend_priv = t->priv;
	fake_set_key(&t->f, "backend", "net0");
	assert_int_equal(modvmm_net_backend_get(&t->f.host, fake_dev(&t->f), "backend", &t->b), 0);
	return 0;
}

static void be_close(struct be *t)
{
	if (t->desc->destroy)
		t->desc->destroy(t->priv);
	fake_free(&t->f);
	dlclose(t->handle);
}

static struct modvmm_net_pkt pkt2(struct iovec *v, void *a, size_t alen, void *b, size_t blen)
{
	v[0] = (struct iovec){ .iov_base = a, .iov_len = alen };
	v[1] = (struct iovec){ .iov_base = b, .iov_len = blen };
	return (struct modvmm_net_pkt){ .iov = v, .iovcnt = 2, .len = (uint32_t)(alen + blen) };
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

/* ---- loopback -------------------------------------------------------------- */

static void loopback_frames_come_back(void **state)
{
	struct be t;
	assert_int_equal(be_open(&t, LOOPBACK_SO, NULL), 0);
	uint64_t caps = modvmm_net_caps(&t.b);
	assert_true(caps & MODVMM_NET_CAP_PACKET_IO);
	assert_true(caps & MODVMM_NET_CAP_VNET_HDR);
	assert_true(modvmm_net_packet_io_ok(&t.b));
	assert_int_equal(modvmm_net_max_queues(&t.b), 8);
	assert_int_equal(modvmm_net_attach(&t.b, 2, "test"), 0);
	assert_int_equal(modvmm_net_attach(&t.b, 2, "second"), -EBUSY);
	assert_int_equal(modvmm_net_set_vnet_hdr_len(&t.b, 7), -EINVAL);
	assert_int_equal(modvmm_net_set_vnet_hdr_len(&t.b, MODVMM_NET_HDR_LEN), 0);
	struct modvmm_net_queue *q0 = modvmm_net_queue(&t.b, 0), *q1 = modvmm_net_queue(&t.b, 1);
	assert_non_null(q0);
	assert_non_null(q1);
	assert_null(modvmm_net_queue(&t.b, 2));

	/* nothing yet: -EAGAIN, and the rx fd is quiet */
	assert_int_equal(modvmm_net_peek_len(&t.b, q0), -EAGAIN);
	assert_false(fake_poll(modvmm_net_rx_fd(&t.b, q0), POLLIN, 0));

	static const size_t sizes[] = { 60, 1514, 9000, 65000 };
	static uint8_t frames[4][65000];
	struct modvmm_net_hdr hdr[4];
	struct iovec v[4][2];
	struct modvmm_net_pkt p[4];
	for (unsigned i = 0; i < 4; i++) {
		hdr[i] = (struct modvmm_net_hdr){ .num_buffers = 0x5555 };
		fill(frames[i], sizes[i], i);
		p[i] = pkt2(v[i], &hdr[i], MODVMM_NET_HDR_LEN, frames[i], sizes[i]);
	}
	assert_int_equal(modvmm_net_send(&t.b, q0, p, 4), 4);
	assert_true(fake_poll(modvmm_net_rx_fd(&t.b, q0), POLLIN, 0));
	assert_int_equal(modvmm_net_peek_len(&t.b, q1), -EAGAIN);

	static uint8_t buf[MODVMM_NET_HDR_LEN + 65000];
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(modvmm_net_peek_len(&t.b, q0), MODVMM_NET_HDR_LEN + sizes[i]);
		/* received in two pieces that split the header */
		struct iovec in[2] = { { buf, 5 }, { buf + 5, sizeof(buf) - 5 } };
		assert_int_equal(modvmm_net_recv(&t.b, q0, in, 2), MODVMM_NET_HDR_LEN + sizes[i]);
		struct modvmm_net_hdr h;
		memcpy(&h, buf, sizeof(h));
		assert_int_equal(h.num_buffers, 0); /* left for the frontend */
		assert_memory_equal(buf + MODVMM_NET_HDR_LEN, frames[i], sizes[i]);
	}
	assert_int_equal(modvmm_net_recv(&t.b, q0, (struct iovec[]){ { buf, sizeof(buf) } }, 1), -EAGAIN);

	/* a receive buffer too small drops the frame */
	assert_int_equal(modvmm_net_send(&t.b, q1, &p[1], 1), 1);
	assert_int_equal(modvmm_net_recv(&t.b, q1, (struct iovec[]){ { buf, 100 } }, 1), -EMSGSIZE);

	struct modvmm_net_stats s = { .size = sizeof(s) };
	modvmm_net_stats(&t.b, MODVMM_NET_ALL_QUEUES, &s);
	assert_int_equal(s.tx_packets, 5);
	assert_int_equal(s.rx_packets, 4);
	assert_int_equal(s.rx_dropped, 1);
	modvmm_net_stats(&t.b, 1, &s);
	assert_int_equal(s.tx_packets, 1);
	assert_int_equal(s.rx_packets, 0);
	/* a caller with an older, smaller stats struct gets only what fits */
	struct modvmm_net_stats small;
	memset(&small, 0xaa, sizeof(small));
	small.size = offsetof(struct modvmm_net_stats, tx_bytes);
	modvmm_net_stats(&t.b, 0, &small);
	assert_int_equal(small.tx_packets, 4);
	assert_int_equal(small.tx_bytes, 0xaaaaaaaaaaaaaaaaull);

	assert_int_equal(modvmm_net_link_up(&t.b), 1);
	modvmm_net_detach(&t.b);
	assert_int_equal(modvmm_net_attach(&t.b, 9, "test"), -EINVAL);
	assert_non_null(strstr(t.f.log, "loopback has 1-8"));
	be_close(&t);
}

static void loopback_pushes_back_when_full(void **state)
{
	struct be t;
	assert_int_equal(be_open(&t, LOOPBACK_SO, "buffer", "300K", NULL), 0);
	assert_int_equal(modvmm_net_attach(&t.b, 1, "test"), 0);
	struct modvmm_net_queue *q = modvmm_net_queue(&t.b, 0);
	static uint8_t frame[60000];
	struct iovec v = { frame, sizeof(frame) };
	struct modvmm_net_pkt p = { &v, 1, sizeof(frame) };
	unsigned sent = 0;
	int r;
	while ((r = modvmm_net_send(&t.b, q, &p, 1)) == 1)
		sent++;
	assert_int_equal(r, -EAGAIN);
	assert_int_equal(sent, 5); /* 300K holds five 60000-byte frames */
	short ev = 0;
	int txfd = modvmm_net_tx_fd(&t.b, q, &ev);
	assert_true(txfd >= 0);
	assert_false(fake_poll(txfd, ev, 0));
	static uint8_t buf[60000];
	assert_int_equal(modvmm_net_recv(&t.b, q, (struct iovec[]){ { buf, sizeof(buf) } }, 1), 60000);
	assert_true(fake_poll(txfd, ev, 0)); /* room again: the TX side is woken */
	assert_int_equal(modvmm_net_send(&t.b, q, &p, 1), 1);
	/* and everything still comes back in order, across the ring's wrap */
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(modvmm_net_recv(&t.b, q, (struct iovec[]){ { buf, sizeof(buf) } }, 1), 60000);
	assert_int_equal(modvmm_net_peek_len(&t.b, q), -EAGAIN);
	struct modvmm_net_stats s = { .size = sizeof(s) };
	modvmm_net_stats(&t.b, 0, &s);
	assert_int_equal(s.tx_full, 1);
	be_close(&t);
}

/* An Ethernet + IPv4 + UDP frame with a partial checksum, as a guest with
 * checksum offload would send it (virtio 1.2 §5.1.6.2). */
static size_t udp_frame(uint8_t *f, struct modvmm_net_hdr *h, uint16_t *expected)
{
	static const uint8_t head[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,            /* Ethernet */
		0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,           /* IPv4 */
		0x30, 0x39, 0x00, 0x35, 0, 12, 0, 0,                                          /* UDP */
		'p', 'i', 'n', 'g',
	};
	memcpy(f, head, sizeof(head));
	/* pseudo header sum: src + dst + proto + udp length, folded, not complemented */
	uint32_t ph = 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 17 + 12;
	/* full checksum for comparison: pseudo header + UDP header + data */
	uint32_t full = ph + 0x3039 + 0x0035 + 12 + ('p' << 8 | 'i') + ('n' << 8 | 'g');
	while (full >> 16)
		full = (full & 0xffff) + (full >> 16);
	*expected = (uint16_t)~full;
	f[14 + 20 + 6] = (uint8_t)(ph >> 8);
	f[14 + 20 + 7] = (uint8_t)ph;
	*h = (struct modvmm_net_hdr){ .flags = MODVMM_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 6 };
	return sizeof(head);
}

static void loopback_offloads(void **state)
{
	struct be t;
	assert_int_equal(be_open(&t, LOOPBACK_SO, NULL), 0);
	assert_false(modvmm_net_caps(&t.b) & MODVMM_NET_OFF_TSO4); /* tso = false */
	assert_int_equal(modvmm_net_attach(&t.b, 1, "test"), 0);
	assert_int_equal(modvmm_net_set_vnet_hdr_len(&t.b, MODVMM_NET_HDR_LEN), 0);
	assert_int_equal(modvmm_net_set_offloads(&t.b, MODVMM_NET_OFF_TSO4), -ENOTSUP);
	struct modvmm_net_queue *q = modvmm_net_queue(&t.b, 0);
	uint8_t f[64], out[MODVMM_NET_HDR_LEN + 64];
	struct modvmm_net_hdr h, rh;
	uint16_t want;
	size_t len = udp_frame(f, &h, &want);
	struct iovec v[2];
	struct modvmm_net_pkt p = pkt2(v, &h, MODVMM_NET_HDR_LEN, f, len);

	/* the receiver cannot take partial checksums: completed in software */
	assert_int_equal(modvmm_net_send(&t.b, q, &p, 1), 1);
	assert_int_equal(modvmm_net_recv(&t.b, q, (struct iovec[]){ { out, sizeof(out) } }, 1),
	                 MODVMM_NET_HDR_LEN + len);
	memcpy(&rh, out, sizeof(rh));
	assert_int_equal(rh.flags & MODVMM_NET_HDR_F_NEEDS_CSUM, 0);
	uint8_t *udp = out + MODVMM_NET_HDR_LEN + 34;
	assert_int_equal(udp[6] << 8 | udp[7], want);

	/* it can: the frame is passed through untouched */
	assert_int_equal(modvmm_net_set_offloads(&t.b, MODVMM_NET_OFF_CSUM), 0);
	assert_int_equal(modvmm_net_send(&t.b, q, &p, 1), 1);
	assert_int_equal(modvmm_net_recv(&t.b, q, (struct iovec[]){ { out, sizeof(out) } }, 1),
	                 MODVMM_NET_HDR_LEN + len);
	memcpy(&rh, out, sizeof(rh));
	assert_int_equal(rh.flags, MODVMM_NET_HDR_F_NEEDS_CSUM);
	assert_memory_equal(out + MODVMM_NET_HDR_LEN, f, len);

	/* a GSO frame the receiver did not enable is dropped (consumed, counted) */
	h.gso_type = MODVMM_NET_GSO_TCPV4;
	h.gso_size = 1448;
	assert_int_equal(modvmm_net_send(&t.b, q, &p, 1), 1);
	assert_int_equal(modvmm_net_peek_len(&t.b, q), -EAGAIN);
	struct modvmm_net_stats s = { .size = sizeof(s) };
	modvmm_net_stats(&t.b, 0, &s);
	assert_int_equal(s.tx_dropped, 1);
	be_close(&t);

	/* with tso = true the same frame reaches a receiver that enabled TSO4 */
	assert_int_equal(be_open(&t, LOOPBACK_SO, "tso", "true", NULL), 0);
	assert_true(modvmm_net_caps(&t.b) & MODVMM_NET_OFF_TSO4);
	assert_int_equal(modvmm_net_attach(&t.b, 1, "test"), 0);
	assert_int_equal(modvmm_net_set_vnet_hdr_len(&t.b, MODVMM_NET_HDR_LEN), 0);
	assert_int_equal(modvmm_net_set_offloads(&t.b, MODVMM_NET_OFF_CSUM | MODVMM_NET_OFF_TSO4), 0);
	q = modvmm_net_queue(&t.b, 0);
	assert_int_equal(modvmm_net_send(&t.b, q, &p, 1), 1);
	assert_int_equal(modvmm_net_peek_len(&t.b, q), MODVMM_NET_HDR_LEN + len);
	be_close(&t);
}

static void loopback_link_and_keys(void **state)
{
	struct be t;
	assert_int_equal(be_open(&t, LOOPBACK_SO, "link", "down", NULL), 0);
	assert_int_equal(modvmm_net_link_up(&t.b), 0);
	assert_int_equal(modvmm_net_link_fd(&t.b), -1); /* fixed by the key: never changes */
	be_close(&t);
	assert_int_equal(be_open(&t, LOOPBACK_SO, "buffer", "4K", NULL), -EINVAL);
	assert_non_null(strstr(t.f.log, "buffer = 4096"));
	be_close(&t);
}

/* link_fd took the first reserved slot: the table keeps its size and offsets, and
 * a table built before it (smaller, or with that slot zeroed) reads as "none". */
_Static_assert(offsetof(struct modvmm_net_backend_ops, link_fd) ==
               offsetof(struct modvmm_net_backend_ops, vq_reserved) + sizeof(void *[3]), "link_fd slot");
_Static_assert(sizeof(struct modvmm_net_backend_ops) ==
               offsetof(struct modvmm_net_backend_ops, reserved) + sizeof(void *[15]), "ops size");

static int fixed_link_fd(void *be) { return 42; }

static void link_fd_compat(void **state)
{
	struct modvmm_net_backend_ops ops = { .size = sizeof(ops), .version = MODVMM_NET_OPS_VERSION };
	struct modvmm_net_backend b = { .ops = &ops };
	assert_int_equal(modvmm_net_link_fd(&b), -1);
	ops.link_fd = fixed_link_fd;
	assert_int_equal(modvmm_net_link_fd(&b), 42);
	ops.size = offsetof(struct modvmm_net_backend_ops, link_fd); /* an older, shorter table */
	assert_int_equal(modvmm_net_link_fd(&b), -1);
}

/* ---- sink ------------------------------------------------------------------- */

static void sink_counts_and_drops(void **state)
{
	struct be t;
	assert_int_equal(be_open(&t, SINK_SO, NULL), 0);
	assert_int_equal(modvmm_net_attach(&t.b, 3, "test"), 0);
	struct modvmm_net_queue *q = modvmm_net_queue(&t.b, 2);
	uint8_t f[100];
	struct iovec v = { f, sizeof(f) };
	struct modvmm_net_pkt p[3] = { { &v, 1, 100 }, { &v, 1, 100 }, { &v, 1, 100 } };
	assert_int_equal(modvmm_net_send(&t.b, q, p, 3), 3);
	struct modvmm_net_stats s = { .size = sizeof(s) };
	modvmm_net_stats(&t.b, MODVMM_NET_ALL_QUEUES, &s);
	assert_int_equal(s.tx_packets, 3);
	assert_int_equal(s.tx_bytes, 300);
	/* rx_rate = 0: no traffic, ever */
	assert_int_equal(modvmm_net_peek_len(&t.b, q), -EAGAIN);
	assert_false(fake_poll(modvmm_net_rx_fd(&t.b, q), POLLIN, 20));
	be_close(&t);
}

static void sink_generates(void **state)
{
	struct be t;
	assert_int_equal(be_open(&t, SINK_SO, "rx_rate", "1000000000", "rx_size", "100", "rx_backlog", "4", NULL), 0);
	assert_int_equal(modvmm_net_attach(&t.b, 2, "test"), 0);
	assert_int_equal(modvmm_net_set_vnet_hdr_len(&t.b, MODVMM_NET_HDR_LEN), 0);
	struct modvmm_net_queue *q = modvmm_net_queue(&t.b, 1);
	uint8_t buf[200];
	usleep(1000); /* let the generator owe more than the backlog */
	for (uint64_t seq = 0; seq < 3; seq++) {
		assert_int_equal(modvmm_net_peek_len(&t.b, q), MODVMM_NET_HDR_LEN + 100);
		assert_int_equal(modvmm_net_recv(&t.b, q, (struct iovec[]){ { buf, sizeof(buf) } }, 1),
		                 MODVMM_NET_HDR_LEN + 100);
		const uint8_t *f = buf + MODVMM_NET_HDR_LEN;
		assert_int_equal(f[0] & f[5], 0xff);          /* broadcast */
		assert_int_equal(f[12] << 8 | f[13], 0x88b5);
		uint64_t got = 0;
		for (unsigned b = 0; b < 8; b++)
			got = got << 8 | f[14 + b];
		assert_int_equal(got, seq);
		assert_int_equal(f[14 + 8 + 3], 1);            /* queue index */
		assert_int_equal(f[99], 99);
	}
	struct modvmm_net_stats s = { .size = sizeof(s) };
	modvmm_net_stats(&t.b, 1, &s);
	assert_int_equal(s.rx_packets, 3);
	assert_true(s.rx_dropped > 0);                          /* the backlog capped what was owed */
	be_close(&t);

	/* 1000 frames per second: nothing owed at first, then the timerfd fires */
	assert_int_equal(be_open(&t, SINK_SO, "rx_rate", "1000", NULL), 0);
	assert_int_equal(modvmm_net_attach(&t.b, 1, "test"), 0);
	q = modvmm_net_queue(&t.b, 0);
	if (modvmm_net_peek_len(&t.b, q) == -EAGAIN)
		assert_true(fake_poll(modvmm_net_rx_fd(&t.b, q), POLLIN, 1000));
	assert_int_equal(modvmm_net_peek_len(&t.b, q), 64);
	be_close(&t);

	assert_int_equal(be_open(&t, SINK_SO, "rx_size", "10", NULL), -EINVAL);
	assert_non_null(strstr(t.f.log, "rx_size = 10"));
	be_close(&t);
}

/* ---- tap ------------------------------------------------------------------------ */

static bool can_tap(void)
{
	return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
}

static int packet_socket(const char *ifname)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	assert_true(s >= 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
	                           .sll_ifindex = (int)if_nametoindex(ifname) };
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static void tap_traffic(void **state)
{
	if (!can_tap())
		skip();
	struct be t;
	assert_int_equal(be_open(&t, TAP_SO, "ifname", "mvunit0", "up", "true", NULL), 0);
	assert_int_equal(modvmm_net_attach(&t.b, 1, "test"), 0);
	assert_int_equal(modvmm_net_set_vnet_hdr_len(&t.b, MODVMM_NET_HDR_LEN), 0);
	assert_int_equal(modvmm_net_set_offloads(&t.b, MODVMM_NET_OFF_CSUM | MODVMM_NET_OFF_TSO4), 0);
	assert_int_equal(modvmm_net_link_up(&t.b), 1);
	struct modvmm_net_queue *q = modvmm_net_queue(&t.b, 0);
	int ps = packet_socket("mvunit0");

	/* guest -> host: the frame appears on the interface */
	uint8_t f[80];
	fill(f, sizeof(f), 3);
	memset(f, 0xff, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	struct modvmm_net_hdr h = { 0 };
	struct iovec v[2];
	struct modvmm_net_pkt p = pkt2(v, &h, MODVMM_NET_HDR_LEN, f, sizeof(f));
	assert_int_equal(modvmm_net_send(&t.b, q, &p, 1), 1);
	uint8_t got[2048];
	assert_true(fake_poll(ps, POLLIN, 1000));
	ssize_t n;
	do /* skip anything the kernel sent on its own (IPv6 router solicitations...) */
		n = recv(ps, got, sizeof(got), 0);
	while (n > 0 && !(got[12] == 0x88 && got[13] == 0xb5) && fake_poll(ps, POLLIN, 1000));
	assert_int_equal(n, sizeof(f));
	assert_memory_equal(got, f, sizeof(f));

	/* host -> guest: written on the interface, read with its vnet header */
	fill(f + 14, sizeof(f) - 14, 9);
	assert_int_equal(send(ps, f, sizeof(f), 0), sizeof(f));
	assert_true(fake_poll(modvmm_net_rx_fd(&t.b, q), POLLIN, 1000));
	uint8_t buf[MODVMM_NET_HDR_LEN + 2048];
	ssize_t len;
	for (;;) { /* again skip the kernel's own frames */
		assert_true((len = modvmm_net_peek_len(&t.b, q)) > 0 || fake_poll(modvmm_net_rx_fd(&t.b, q), POLLIN, 1000));
		if (len <= 0)
			continue;
		len = modvmm_net_recv(&t.b, q, (struct iovec[]){ { buf, sizeof(buf) } }, 1);
		if (len == MODVMM_NET_HDR_LEN + (ssize_t)sizeof(f) && buf[MODVMM_NET_HDR_LEN + 12] == 0x88)
			break;
	}
	assert_memory_equal(buf + MODVMM_NET_HDR_LEN, f, sizeof(f));
	close(ps);
	modvmm_net_detach(&t.b);

	/* two queue pairs: IFF_MULTI_QUEUE on a new interface */
	be_close(&t);
	assert_int_equal(be_open(&t, TAP_SO, "ifname", "mvunit1", NULL), 0);
	assert_int_equal(modvmm_net_attach(&t.b, 2, "test"), 0);
	assert_int_equal(modvmm_net_queue_enable(&t.b, modvmm_net_queue(&t.b, 1), false), 0);
	assert_int_equal(modvmm_net_queue_enable(&t.b, modvmm_net_queue(&t.b, 1), true), 0);
	assert_true(modvmm_net_rx_fd(&t.b, modvmm_net_queue(&t.b, 0)) != modvmm_net_rx_fd(&t.b, modvmm_net_queue(&t.b, 1)));
	be_close(&t);
}

/* Without CAP_NET_ADMIN the error says what is missing and how to fix it. */
static void tap_needs_cap_net_admin(void **state)
{
	if (!can_tap())
		skip();
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct data[2];
		syscall(SYS_capget, &hdr, data);
		data[0].effective &= ~(1u << CAP_NET_ADMIN);
		syscall(SYS_capset, &hdr, data);
		struct be t;
		int ret = be_open(&t, TAP_SO, "ifname", "mvunit2", NULL);
		if (!ret)
			ret = modvmm_net_attach(&t.b, 1, "test");
		ssize_t w = write(pfd[1], t.f.log, strlen(t.f.log) + 1);
		(void)w;
		_exit(ret == -EPERM ? 0 : 1);
	}
	close(pfd[1]);
	char log[FAKE_LOG_SIZE] = "";
	ssize_t n = read(pfd[0], log, sizeof(log) - 1);
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	assert_true(n > 0);
	if (!strstr(log, "needs CAP_NET_ADMIN") || !strstr(log, "ip tuntap add dev mvunit2"))
		fail_msg("unexpected message: %s", log);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loopback_frames_come_back),
		cmocka_unit_test(loopback_pushes_back_when_full),
		cmocka_unit_test(loopback_offloads),
		cmocka_unit_test(loopback_link_and_keys),
		cmocka_unit_test(link_fd_compat),
		cmocka_unit_test(sink_counts_and_drops),
		cmocka_unit_test(sink_generates),
		cmocka_unit_test(tap_traffic),
		cmocka_unit_test(tap_needs_cap_net_admin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
