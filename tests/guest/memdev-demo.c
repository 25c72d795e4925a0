/*
 * mode=demo of the memdev guest (configs/demo.ini): one pipe, both ends in
 * this VM.  A virtio-net NIC sits on one end (the pipe backend's packet I/O),
 * a ptnetmap-memdev on the other.  At CPL3, one loop sends `count` pktgen
 * frames through virtio-net (at most DEMO_WINDOW in flight), echoes them on
 * the memdev side by swapping RX and TX buffers, and receives them back on
 * virtio-net, checking their sequence numbers.  Prints
 * "demo: virtio-net sent N, memdev echoed N, received N in order".
 */
#include "irq.h"
#include "memdev.h"
#include "vnet.h"

#define DEMO_WINDOW 64 /* frames out and not back */
#define DEMO_QSIZE  256

struct demo {
	struct params *p;
	struct vn_dev *nic;
	struct memdev m;
	uint64_t sent, recvd;
	struct pktgen_rx_state st;
};

static uint8_t frame[VN_BUF_SIZE], rxf[VN_BUF_SIZE];

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
	if (d->st.errors || d->st.sessions != 1 || d->st.packets != p->count || !d->st.fin || e.bad)
		fail(p, "demo: lost, reordered or malformed frames");
}

int memdev_demo(struct params *p)
{
	static struct vn_dev nic;
	static struct demo d;

	guest_pic_disable();
	if (!vn_find(&nic, 0) || !vn_init(&nic, 0, 1, DEMO_QSIZE, VN_BUF_SIZE, false))
		return fail(p, "no usable virtio-net NIC");
	vn_irq_enable(&nic, 0, false);
	d = (struct demo){ .p = p, .nic = &nic };
	guest_user_run(demo_user, &d);
	return p->status;
}
