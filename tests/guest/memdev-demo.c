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

/* `count` frames out through one NIC and back, sequence-checked. */
struct flow {
	struct vn_dev *nic;
	uint32_t session;
	uint64_t sent, recvd;
	struct pktgen_rx_state st;
};

struct demo {
	struct params *p;
	struct flow pipe, lo;            /* lo.nic NULL: no second NIC */
	struct memdev m;
};

static uint8_t frame[VN_BUF_SIZE], rxf[VN_BUF_SIZE];

/* One round of a flow: send while the window allows, reclaim, receive.  CPL3. */
static bool flow_step(struct flow *f, const struct params *p)
{
	bool progress = false;
	int len;

	if (f->sent < p->count && f->sent - f->recvd < DEMO_WINDOW) {
		memdev_fill(frame, f->session, f->sent, f->sent + 1 == p->count ? PKTGEN_F_FIN : 0, (unsigned)p->size);
		if (vn_tx(f->nic, 0, frame, (uint32_t)p->size, false)) {
			f->sent++;
			progress = true;
		}
	}
	vn_tx_reclaim(f->nic, 0);
	while ((len = vn_rx(f->nic, 0, rxf, sizeof(rxf), NULL)) >= 0) {
		(void)pktgen_rx_check(&f->st, rxf, (uint32_t)len);
		f->recvd++;
		progress = true;
	}
	vn_rx_flush(f->nic, 0);
	return progress;
}

/* Run f (and the memdev echo e, when given) until all came back.  CPL3. */
static bool flow_run(struct flow *f, struct params *p, struct echo *e)
{
	uint64_t limit = p->timeout * CYCLES_PER_SEC, last = guest_rdtsc();

	while (f->recvd < p->count) {
		bool progress = flow_step(f, p);

		if (e)
			progress |= echo_step(e, UINT64_MAX) != 0;
		if (progress)
			last = guest_rdtsc();
		else if (guest_rdtsc() - last > limit)
			return false;
	}
	return true;
}

static bool flow_in_order(const struct flow *f, const struct params *p)
{
	return !f->st.errors && f->st.sessions == 1 && f->st.packets == p->count && f->st.fin;
}

/* CPL3 */
static void demo_user(void *arg)
{
	struct demo *d = arg;
	struct params *p = d->p;
	struct echo e;

	if (!memdev_find(&d->m, 0)) {
		fail(p, "no usable ptnetmap-memdev");
		return;
	}
	echo_init(&e, &d->m, 0);
	if (!flow_run(&d->pipe, p, &e)) {
		fail(p, "demo: frames stopped coming back");
		return;
	}
	guest_printf("demo: virtio-net sent %lu, memdev echoed %lu, received %lu in order (errors %lu, memdev kicks %lu)\n",
		     (unsigned long)d->pipe.sent, (unsigned long)e.moved, (unsigned long)d->pipe.st.packets,
		     (unsigned long)d->pipe.st.errors, (unsigned long)e.kicks);
	if (!flow_in_order(&d->pipe, p) || e.bad) {
		fail(p, "demo: lost, reordered or malformed frames");
		return;
	}
	if (!d->lo.nic)
		return;
	if (!flow_run(&d->lo, p, NULL)) {
		fail(p, "demo: frames stopped coming back from loopback");
		return;
	}
	guest_printf("demo: loopback sent %lu, received %lu in order (errors %lu)\n", (unsigned long)d->lo.sent,
		     (unsigned long)d->lo.st.packets, (unsigned long)d->lo.st.errors);
	if (!flow_in_order(&d->lo, p))
		fail(p, "demo: lost, reordered or malformed frames on loopback");
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
	d = (struct demo){ .p = p,
	                   .pipe = { .nic = &nic, .session = (uint32_t)p->session },
	                   .lo = { .nic = have_lo ? &lo : NULL, .session = (uint32_t)p->session + 1 } };
	guest_user_run(demo_user, &d);
	return p->status;
}
