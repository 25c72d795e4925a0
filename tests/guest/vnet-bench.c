/*
 * vnet-bench - virtio-net packet rates at CPL3 (tests/bench/vnet.sh).
 *
 * mode=tx: transmit `size`-byte frames (Ethernet header included, vnet header
 * not) as fast as the device takes them, for `ms` milliseconds.  Buffers are
 * filled once; per frame the loop only hands a descriptor to the avail ring,
 * publishes in batches of `batch` and notifies when the device asked for it
 * (EVENT_IDX), reclaiming used buffers as it goes.
 * mode=rx: receive for `ms` milliseconds, re-posting every buffer.
 *
 * Prints one line the script reads:
 *   bench: mode tx size 64 packets N cycles C tsc_khz F kicks K irqs I
 * preceded by "phase: data path starts".  hold_ms=N: stay N ms after the
 * result line before exiting (a script samples the VMM's CPU time meanwhile).
 * The TSC rate comes from tsc_khz= (the host's), else CPUID 0x40000010 (the
 * hypervisor timing leaf), else 2 GHz is assumed.  Runs the same under QEMU.
 */
#include "guest.h"
#include "io.h"
#include "irq.h"
#include "pci.h"
#include "vnet.h"

#define CPUID_HV_BASE   0x40000000u
#define CPUID_HV_TIMING 0x40000010u
#define DEFAULT_KHZ     2000000ul

static struct vn_dev dev;
static uint8_t rxf[VN_BUF_SIZE * 8];

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static unsigned long tsc_khz(void)
{
	unsigned long k = guest_cmdline_ulong("tsc_khz", 0);
	uint32_t a, b, c, d;
	if (k)
		return k;
	cpuid(CPUID_HV_BASE, &a, &b, &c, &d);
	if (a >= CPUID_HV_TIMING) {
		cpuid(CPUID_HV_TIMING, &a, &b, &c, &d);
		if (a)
			return a;
	}
	return DEFAULT_KHZ;
}

struct run {
	bool tx;
	unsigned size, batch;
	uint64_t cycles, packets, elapsed;
};

static void tx_user(void *arg)
{
	struct run *r = arg;
	struct vn_queue *q = &dev.q[1];
	/* fill every buffer once: zero vnet header, broadcast frame, pattern */
	for (uint16_t i = 0; i < q->num; i++) {
		uint8_t *b = (uint8_t *)(uintptr_t)q->desc[i].addr;
		memset(b, 0, VN_HDR_LEN);
		memset(b + VN_HDR_LEN, 0xff, 6);
		memcpy(b + VN_HDR_LEN + 6, dev.mac, 6);
		b[VN_HDR_LEN + 12] = 0x88;
		b[VN_HDR_LEN + 13] = 0xb5;
		for (unsigned k = 14; k < r->size; k++)
			b[VN_HDR_LEN + k] = (uint8_t)k;
		q->desc[i].len = VN_HDR_LEN + r->size;
		q->desc[i].flags = 0;
	}
	uint64_t t0 = guest_rdtsc(), end = t0 + r->cycles, n = 0, now = t0;
	while (now < end) {
		if (q->nfree < r->batch)
			vn_tx_reclaim(&dev, 0);
		unsigned k = 0;
		for (; k < r->batch && q->nfree; k++) {
			q->avail[2 + q->avail_idx % q->num] = q->free[--q->nfree];
			q->avail_idx++;
		}
		if (k) {
			vn_tx_flush(&dev, 0);
			n += k;
		}
		now = guest_rdtsc();
	}
	r->elapsed = now - t0;
	r->packets = n;
}

static void rx_user(void *arg)
{
	struct run *r = arg;
	uint64_t t0 = guest_rdtsc(), end = t0 + r->cycles, n = 0, now = t0;
	unsigned since = 0;
	while (now < end) {
		if (vn_rx(&dev, 0, rxf, 64, 0) >= 0) { /* copy only the headers */
			n++;
			if (++since >= r->batch) {
				vn_rx_flush(&dev, 0);
				since = 0;
			}
			continue;
		}
		if (since) {
			vn_rx_flush(&dev, 0);
			since = 0;
		}
		now = guest_rdtsc();
	}
	r->elapsed = now - t0;
	r->packets = n;
}

int guest_main(void)
{
	guest_pic_disable();
	if (!vn_find(&dev, 0)) {
		guest_printf("FAIL: no virtio-net function\n");
		return 1;
	}
	uint64_t want = VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX) | VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (guest_cmdline_ulong("mrg", 0))
		want |= VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	uint16_t qsize = (uint16_t)guest_cmdline_ulong("qsize", 256);
	if (!vn_init(&dev, want, 1, qsize, VN_BUF_SIZE, false)) {
		guest_printf("FAIL: device initialisation\n");
		return 1;
	}
	size_t n;
	const char *mode = guest_cmdline_get("mode", &n);
	static struct run r;
	unsigned long khz = tsc_khz();
	r = (struct run){ .tx = !(mode && n == 2 && mode[0] == 'r' && mode[1] == 'x'),
	                  .size = (unsigned)guest_cmdline_ulong("size", 64),
	                  .batch = (unsigned)guest_cmdline_ulong("batch", 32),
	                  .cycles = (uint64_t)khz * guest_cmdline_ulong("ms", 2000) };
	if (r.size < 60)
		r.size = 60;
	if (r.size > VN_BUF_SIZE - VN_HDR_LEN)
		r.size = VN_BUF_SIZE - VN_HDR_LEN;
	if (!r.batch || r.batch > qsize)
		r.batch = 32;
	vn_irq_enable(&dev, 0, false);   /* polling: no interrupts wanted */
	vn_irq_enable(&dev, 1, false);
	guest_printf("phase: data path starts\n");
	guest_user_run(r.tx ? tx_user : rx_user, &r);
	struct vn_queue *q = &dev.q[r.tx ? 1 : 0];
	guest_printf("bench: mode %s size %u packets %lu cycles %lu tsc_khz %lu kicks %lu suppressed %lu\n",
	             r.tx ? "tx" : "rx", r.size, (unsigned long)r.packets, (unsigned long)r.elapsed, khz,
	             (unsigned long)q->kicks, (unsigned long)q->suppressed);
	uint64_t hold = guest_rdtsc() + (uint64_t)khz * guest_cmdline_ulong("hold_ms", 0);
	while (guest_rdtsc() < hold)
		guest_pause();
	return 0;
}
