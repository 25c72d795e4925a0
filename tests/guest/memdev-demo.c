/*
 * mode=demo of the memdev guest (configs/demo.ini): one pipe, both ends in
 * this VM.  A virtio-net NIC sits on one end (the pipe backend's packet I/O),
 * a ptnetmap-memdev on the other.  At CPL3, one loop sends `count` pktgen
 * frames through virtio-net (at most DEMO_WINDOW in flight), echoes them on
 * the memdev side by swapping RX and TX buffers, and receives them back on
 * virtio-net, checking their sequence numbers.  Prints
 * "demo: virtio-net sent N, memdev echoed N, received N in order".  When a
 * second virtio-net NIC is there (on the loopback backend in demo.ini), the
 * same frames then go out on it and come back from the backend: "demo:
 * loopback sent N, received N in order".
 */
#include "irq.h"
#include "memdev.h"
#include "vnet.h"

#define DEMO_WINDOW 64 /* frames out and not back */
#define DEMO_QSIZE  256

struct demo {
	struct params *p;
	struct vn_dev *nic;
	struct vn_dev *lo;               /* NULL: no second NIC */
	uint64_t lo_sent, lo_recvd;
	struct pktgen_rx_state lo_st;
	struct memdev m;
	uint64_t sent, recvd;
	struct pktgen_rx_state st;
};

static uint8_t frame[VN_BUF_SIZE], rxf[VN_BUF_SIZE];

/* CPL3: `count` frames out through the loopback NIC and back. */
static void loopback_phase(struct demo *d)
{
	struct params *p = d->p;
	uint64_t limit = p->timeout * CYCLES_PER_SEC, last = guest_rdtsc();
	int len;

	while (d->lo_recvd < p->count) {
		bool progress = false;

		if (d->lo_sent < p->count && d->lo_sent - d->lo_recvd < DEMO_WINDOW) {
			memdev_fill(frame, (uint32_t)p->session + 1, d->lo_sent,
				    d->lo_sent + 1 == p->count ? PKTGEN_F_FIN : 0, (unsigned)p->size);
			if (vn_tx(d->lo, 0, frame, (uint32_t)p->size, false)) {
				d->lo_sent++;
				progress = true;
			}
		}
		vn_tx_reclaim(d->lo, 0);
		while ((len = vn_rx(d->lo, 0, rxf, sizeof(rxf), NULL)) >= 0) {
			(void)pktgen_rx_check(&d->lo_st, rxf, (uint32_t)len);
			d->lo_recvd++;
			progress = true;
		}
		vn_rx_flush(d->lo, 0);
		if (progress) {
			last = guest_rdtsc();
		} else if (guest_rdtsc() - last > limit) {
			fail(p, "demo: frames stopped coming back from loopback");
			return;
		}
	}
	guest_printf("demo: loopback sent %lu, received %lu in order (errors %lu)\n", (unsigned long)d->lo_sent,
		     (unsigned long)d->lo_st.packets, (unsigned long)d->lo_st.errors);
	if (d->lo_st.errors || d->lo_st.sessions != 1 || d->lo_st.packets != p->count || !d->lo_st.fin)
		fail(p, "demo: lost, reordered or malformed frames on loopback");
}

/* CPL3 */
static void demo_user(void *arg)
{
	struct demo *d = arg;
	struct params *p = d->p;
	struct echo e;
	uint64_t limit = p->timeout * CYCLES_PER_SEC, last = guest_rdtsc();
	int len;

	if (!memdev_find(&d->m, 0)) {
		fail(p, "no usable ptnetmap-memdev");
		return;
	}
	echo_init(&e, &d->m, 0);
	while (d->recvd < p->count) {
		bool progress = false;

		if (d->sent < p->count && d->sent - d->recvd < DEMO_WINDOW) {
			memdev_fill(frame, (uint32_t)p->session, d->sent, d->sent + 1 == p->count ? PKTGEN_F_FIN : 0,
				    (unsigned)p->size);
			if (vn_tx(d->nic, 0, frame, (uint32_t)p->size, false)) {
				d->sent++;
				progress = true;
			}
		}
		vn_tx_reclaim(d->nic, 0);
		progress |= echo_step(&e, UINT64_MAX) != 0;
		while ((len = vn_rx(d->nic, 0, rxf, sizeof(rxf), NULL)) >= 0) {
			(void)pktgen_rx_check(&d->st, rxf, (uint32_t)len);
			d->recvd++;
			progress = true;
		}
		vn_rx_flush(d->nic, 0);
		if (progress) {
			last = guest_rdtsc();
		} else if (guest_rdtsc() - last > limit) {
			fail(p, "demo: frames stopped coming back");
			return;
		}
	}
	guest_printf("demo: virtio-net sent %lu, memdev echoed %lu, received %lu in order (errors %lu, memdev kicks %lu)\n",
		     (unsigned long)d->sent, (unsigned long)e.moved, (unsigned long)d->st.packets,
		     (unsigned long)d->st.errors, (unsigned long)e.kicks);
	if (d->st.errors || d->st.sessions != 1 || d->st.packets != p->count || !d->st.fin || e.bad) {
		fail(p, "demo: lost, reordered or malformed frames");
		return;
	}
	if (d->lo)
		loopback_phase(d);
}

int memdev_demo(struct params *p)
{
	static struct vn_dev nic, lo;
	static struct demo d;
	bool have_lo;

	guest_pic_disable();
	if (!vn_find(&nic, 0) || !vn_init(&nic, 0, 1, DEMO_QSIZE, VN_BUF_SIZE, false))
		return fail(p, "no usable virtio-net NIC");
	vn_irq_enable(&nic, 0, false);
	have_lo = vn_find(&lo, 1);
	if (have_lo && !vn_init(&lo, 0, 1, DEMO_QSIZE, VN_BUF_SIZE, false))
		return fail(p, "the second virtio-net NIC did not initialise");
	if (have_lo)
		vn_irq_enable(&lo, 0, false);
	d = (struct demo){ .p = p, .nic = &nic, .lo = have_lo ? &lo : NULL };
	guest_user_run(demo_user, &d);
	return p->status;
}
