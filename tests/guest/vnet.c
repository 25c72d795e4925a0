/*
 * vnet.c - the test guests' virtio-net driver (see vnet.h).
 */
#include "vnet.h"

#include "guest.h"
#include "io.h"
#include "irq.h"
#include "pci.h"

#define RING_BYTES     0x3000         /* desc 4 KiB, avail at 4 KiB, used at 8 KiB (qsize <= 256) */
#define RING_AVAIL_OFF 0x1000
#define RING_USED_OFF  0x2000
#define CTRL_WAIT      2000000000ull  /* TSC cycles to wait for a control command */
#define PCI_CAP_VNDR   0x09

static uint8_t rings[VN_MAX_QUEUES][RING_BYTES] __attribute__((aligned(4096)));
static uint8_t bufs[VN_MAX_QUEUES][VN_QSIZE_MAX * VN_BUF_SIZE] __attribute__((aligned(4096)));
volatile unsigned vn_irqs[VN_MAX_QUEUES + 1];

/* ---- registers --------------------------------------------------------------------- */

static uint8_t c8(struct vn_dev *d, unsigned off) { return mmio_read8(d->common + off); }
static uint16_t c16(struct vn_dev *d, unsigned off) { return mmio_read16(d->common + off); }
static uint32_t c32(struct vn_dev *d, unsigned off) { return mmio_read32(d->common + off); }
static void w8(struct vn_dev *d, unsigned off, uint8_t v) { mmio_write8(d->common + off, v); }
static void w16(struct vn_dev *d, unsigned off, uint16_t v) { mmio_write16(d->common + off, v); }
static void w32(struct vn_dev *d, unsigned off, uint32_t v) { mmio_write32(d->common + off, v); }

uint8_t vn_status(struct vn_dev *d)
{
	return c8(d, VIRTIO_PCI_COMMON_STATUS);
}

void vn_reset(struct vn_dev *d)
{
	w8(d, VIRTIO_PCI_COMMON_STATUS, 0);
	while (vn_status(d) != 0) /* §4.1.4.3.2: wait for the reset to complete */
		guest_pause();
}

static uintptr_t bar_base(struct vn_dev *d, unsigned bar)
{
	uint64_t a = pci_bar_addr(d->bdf, bar);
	pci_map_high(a);
	return (uintptr_t)a;
}

bool vn_find(struct vn_dev *d, unsigned nth)
{
	struct pci_fn fns[32];
	unsigned n = pci_scan(fns, 32), seen = 0;
	*d = (struct vn_dev){ .top_slots = nth > 0 };
	if (nth > 1) {
		guest_printf("vnet: this driver serves at most two NICs\n");
		return false;
	}
	for (unsigned i = 0; i < n && i < 32; i++) {
		if (fns[i].vendor != VIRTIO_PCI_VENDOR_ID ||
		    fns[i].device != VIRTIO_PCI_DEVICE_ID_BASE + VIRTIO_ID_NET || seen++ != nth)
			continue;
		d->bdf = fns[i].bdf;
		uint16_t cmd = (uint16_t)pci_cfg_read(d->bdf, PCI_COMMAND, 2);
		pci_cfg_write(d->bdf, PCI_COMMAND, 2, cmd | PCI_CMD_MEM | PCI_CMD_MASTER);
		for (unsigned c = pci_cfg_read(d->bdf, PCI_CAP_PTR, 1); c >= 0x40; c = pci_cfg_read(d->bdf, c + 1, 1)) {
			if (pci_cfg_read(d->bdf, c, 1) != PCI_CAP_VNDR)
				continue;
			unsigned type = pci_cfg_read(d->bdf, c + 3, 1), bar = pci_cfg_read(d->bdf, c + VIRTIO_PCI_CAP_BAR, 1);
			uint32_t off = pci_cfg_read(d->bdf, c + VIRTIO_PCI_CAP_OFFSET, 4);
			if (bar >= PCI_NUM_BARS)
				continue;
			uintptr_t base = bar_base(d, bar) + off;
			if (type == VIRTIO_PCI_CAP_COMMON_CFG && !d->common)
				d->common = base;
			else if (type == VIRTIO_PCI_CAP_ISR_CFG && !d->isr)
				d->isr = base;
			else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !d->devcfg)
				d->devcfg = base;
			else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !d->notify) {
				d->notify = base;
				d->notify_mult = pci_cfg_read(d->bdf, c + VIRTIO_PCI_NOTIFY_CAP_LEN - 4, 4);
			}
		}
		unsigned m = pci_find_cap(d->bdf, PCI_CAP_ID_MSIX);
		if (m) {
			uint32_t t = pci_cfg_read(d->bdf, m + PCI_MSIX_TABLE, 4);
			d->msix_table = bar_base(d, t & PCI_MSIX_BIR_MASK) + (t & ~PCI_MSIX_BIR_MASK);
			d->nvec = (pci_cfg_read(d->bdf, m + PCI_MSIX_CTRL, 2) & PCI_MSIX_SIZE_MASK) + 1u;
		}
		return d->common && d->notify && d->devcfg;
	}
	return false;
}

/* ---- MSI-X ---------------------------------------------------------------------------- */

#define ISR(n) \
	__attribute__((interrupt)) static void isr##n(struct guest_intr_frame *f) \
	{ (void)f; vn_irqs[n]++; guest_lapic_eoi(); }
ISR(0) ISR(1) ISR(2) ISR(3) ISR(4) ISR(5) ISR(6) ISR(7) ISR(8)
ISR(9) ISR(10) ISR(11) ISR(12) ISR(13) ISR(14) ISR(15) ISR(16) ISR(17)
static void (*const isrs[VN_MAX_QUEUES + 1])(struct guest_intr_frame *) = {
	isr0, isr1, isr2, isr3, isr4, isr5, isr6, isr7, isr8, isr9, isr10, isr11, isr12, isr13, isr14, isr15, isr16, isr17,
};

static void msix_setup(struct vn_dev *d)
{
	unsigned m = pci_find_cap(d->bdf, PCI_CAP_ID_MSIX);
	guest_lapic_enable();
	for (unsigned v = 0; v < d->nvec && v <= VN_MAX_QUEUES; v++) {
		guest_irq_set(VN_VEC_BASE + v, isrs[v]);
		uintptr_t e = d->msix_table + v * PCI_MSIX_ENTRY_SIZE;
		mmio_write32(e + PCI_MSIX_ADDR_LO, MSI_ADDR_BASE | guest_lapic_id() << MSI_ADDR_DEST_SHIFT);
		mmio_write32(e + PCI_MSIX_ADDR_HI, 0);
		mmio_write32(e + PCI_MSIX_DATA, VN_VEC_BASE + v);
		mmio_write32(e + PCI_MSIX_VCTRL, 0);
	}
	uint16_t ctrl = (uint16_t)pci_cfg_read(d->bdf, m + PCI_MSIX_CTRL, 2);
	pci_cfg_write(d->bdf, m + PCI_MSIX_CTRL, 2, (ctrl & ~PCI_MSIX_FMASK) | PCI_MSIX_ENABLE);
	d->msix = true;
}

/* ---- queues ---------------------------------------------------------------------------- */

static uint16_t *used_event(struct vn_queue *q)
{
	return (uint16_t *)&q->avail[2 + q->num];
}

static uint16_t avail_event(struct vn_queue *q)
{
	return *(volatile uint16_t *)(q->used + VRING_USED_RING_OFF + 8 * q->num);
}

static uint16_t used_idx(struct vn_queue *q)
{
	return *(volatile uint16_t *)(q->used + 2);
}

static bool setup_queue(struct vn_dev *d, unsigned i, uint16_t qsize)
{
	struct vn_queue *q = &d->q[i];
	w16(d, VIRTIO_PCI_COMMON_Q_SELECT, (uint16_t)i);
	uint16_t max = c16(d, VIRTIO_PCI_COMMON_Q_SIZE);
	if (!max) {
		guest_printf("vnet: queue %u does not exist\n", i);
		return false;
	}
	uint16_t num = qsize < max ? qsize : max;
	unsigned m = d->top_slots ? VN_MAX_QUEUES - 1 - i : i;  /* ring memory of this queue */
	uint8_t *r = rings[m];
	memset(r, 0, RING_BYTES);
	*q = (struct vn_queue){
		.idx = (uint16_t)i, .num = num, .desc = (struct vring_desc *)r,
		.avail = (volatile uint16_t *)(r + RING_AVAIL_OFF), .used = r + RING_USED_OFF, .bufs = bufs[m],
		.event_idx = vn_has(d, VIRTIO_F_RING_EVENT_IDX),
	};
	q->notify = (volatile uint16_t *)(d->notify + c16(d, VIRTIO_PCI_COMMON_Q_NOFF) * d->notify_mult);
	for (uint16_t k = 0; k < num; k++) {
		q->desc[k] = (struct vring_desc){ .addr = (uintptr_t)(q->bufs + (uint32_t)k * VN_BUF_SIZE) };
		q->free[q->nfree++] = (uint16_t)(num - 1 - k);
	}
	w16(d, VIRTIO_PCI_COMMON_Q_SIZE, num);
	w32(d, VIRTIO_PCI_COMMON_Q_DESCLO, (uint32_t)(uintptr_t)q->desc);
	w32(d, VIRTIO_PCI_COMMON_Q_DESCHI, 0);
	w32(d, VIRTIO_PCI_COMMON_Q_AVAILLO, (uint32_t)(uintptr_t)q->avail);
	w32(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 0);
	w32(d, VIRTIO_PCI_COMMON_Q_USEDLO, (uint32_t)(uintptr_t)q->used);
	w32(d, VIRTIO_PCI_COMMON_Q_USEDHI, 0);
	if (d->msix) {
		w16(d, VIRTIO_PCI_COMMON_Q_MSIX, (uint16_t)(i + 1));
		if (c16(d, VIRTIO_PCI_COMMON_Q_MSIX) != i + 1) {
			guest_printf("vnet: queue %u refused MSI-X vector %u\n", i, i + 1);
			return false;
		}
	}
	w16(d, VIRTIO_PCI_COMMON_Q_ENABLE, 1);
	return true;
}

/* Decide whether the device wants a notification for what was published since
 * the last decision (§2.7.13.4 / §2.7.10), and send it. */
static void kick(struct vn_queue *q)
{
	uint16_t now = q->avail_idx, old = q->kicked;
	if (now == old)
		return;
	q->kicked = now;
	vn_mb();
	bool need = q->event_idx ? (uint16_t)(now - avail_event(q) - 1) < (uint16_t)(now - old)
	                         : !(*(volatile uint16_t *)q->used & VRING_USED_F_NO_NOTIFY);
	if (need) {
		*q->notify = q->idx;
		q->kicks++;
	} else {
		q->suppressed++;
	}
}

static void publish(struct vn_queue *q)
{
	__asm__ volatile("" ::: "memory"); /* x86: stores are not reordered with stores */
	q->avail[1] = q->avail_idx;
}

static void post_rx(struct vn_queue *q, uint16_t id, uint32_t len)
{
	q->desc[id].len = len;
	q->desc[id].flags = VRING_DESC_F_WRITE;
	q->avail[2 + q->avail_idx % q->num] = id;
	q->avail_idx++;
}

bool vn_init(struct vn_dev *d, uint64_t want, unsigned pairs, uint16_t qsize, uint32_t rxbuf, bool msix)
{
	vn_reset(d);
	w8(d, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	w8(d, VIRTIO_PCI_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	w32(d, VIRTIO_PCI_COMMON_DFSELECT, 0);
	d->offered = c32(d, VIRTIO_PCI_COMMON_DF);
	w32(d, VIRTIO_PCI_COMMON_DFSELECT, 1);
	d->offered |= (uint64_t)c32(d, VIRTIO_PCI_COMMON_DF) << 32;
	d->features = (want | VIRTIO_BIT(VIRTIO_F_VERSION_1)) & d->offered;
	w32(d, VIRTIO_PCI_COMMON_GFSELECT, 0);
	w32(d, VIRTIO_PCI_COMMON_GF, (uint32_t)d->features);
	w32(d, VIRTIO_PCI_COMMON_GFSELECT, 1);
	w32(d, VIRTIO_PCI_COMMON_GF, (uint32_t)(d->features >> 32));
	uint8_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
	w8(d, VIRTIO_PCI_COMMON_STATUS, st);
	if (!(vn_status(d) & VIRTIO_STATUS_FEATURES_OK)) {
		guest_printf("vnet: features 0x%lx refused\n", (unsigned long)d->features);
		return false;
	}
	for (unsigned i = 0; i < 6; i++)
		d->mac[i] = mmio_read8(d->devcfg + VIRTIO_NET_CFG_MAC + i);
	d->max_pairs = vn_has(d, VIRTIO_NET_F_MQ) ? mmio_read16(d->devcfg + VIRTIO_NET_CFG_MAX_PAIRS) : 1;
	if (pairs > d->max_pairs || pairs > VN_MAX_PAIRS) {
		guest_printf("vnet: %u queue pairs wanted, the device has %u\n", pairs, d->max_pairs);
		return false;
	}
	d->pairs = pairs;
	d->qsize = qsize;
	d->rxbuf = rxbuf > VN_BUF_SIZE ? VN_BUF_SIZE : rxbuf;
	if (msix && d->nvec && d->msix_table) {
		msix_setup(d);
		w16(d, VIRTIO_PCI_COMMON_MSIX, 0);
	}
	d->nq = 2 * pairs;
	for (unsigned i = 0; i < d->nq; i++)
		if (!setup_queue(d, i, qsize))
			return false;
	if (vn_has(d, VIRTIO_NET_F_CTRL_VQ)) {
		if (!setup_queue(d, 2 * d->max_pairs, 16))
			return false;
	}
	for (unsigned p = 0; p < pairs; p++) { /* fill every RX ring */
		struct vn_queue *q = &d->q[2 * p];
		while (q->nfree)
			post_rx(q, q->free[--q->nfree], d->rxbuf);
		publish(q);
	}
	w8(d, VIRTIO_PCI_COMMON_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	if (vn_status(d) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) {
		guest_printf("vnet: device needs reset right after DRIVER_OK\n");
		return false;
	}
	for (unsigned p = 0; p < pairs; p++)
		kick(&d->q[2 * p]);
	if (pairs > 1) {
		uint16_t n = (uint16_t)pairs;
		if (vn_ctrl(d, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &n, sizeof(n)) != VIRTIO_NET_OK) {
			guest_printf("vnet: VQ_PAIRS_SET %u refused\n", pairs);
			return false;
		}
	}
	return true;
}

/* ---- control queue -------------------------------------------------------------------- */

uint8_t vn_ctrl(struct vn_dev *d, uint8_t cls, uint8_t cmd, const void *data, unsigned len)
{
	struct vn_queue *q = &d->q[2 * d->max_pairs];
	if (q->num == 0 || q->nfree < 3 || len > VN_BUF_SIZE - 2)
		return 0xff;
	uint16_t h = q->free[--q->nfree], b = q->free[--q->nfree], a = q->free[--q->nfree];
	uint8_t *hb = (uint8_t *)(uintptr_t)q->desc[h].addr, *ab = (uint8_t *)(uintptr_t)q->desc[a].addr;
	hb[0] = cls;
	hb[1] = cmd;
	memcpy((uint8_t *)(uintptr_t)q->desc[b].addr, data, len);
	*ab = 0xee;
	q->desc[h].len = 2;
	q->desc[h].flags = VRING_DESC_F_NEXT;
	q->desc[h].next = len ? b : a;
	q->desc[b].len = len;
	q->desc[b].flags = VRING_DESC_F_NEXT;
	q->desc[b].next = a;
	q->desc[a].len = 1;
	q->desc[a].flags = VRING_DESC_F_WRITE;
	q->avail[2 + q->avail_idx % q->num] = h;
	q->avail_idx++;
	publish(q);
	kick(q);
	uint64_t end = guest_rdtsc() + CTRL_WAIT;
	while (used_idx(q) == q->last_used)
		if (guest_rdtsc() > end)
			return 0xff;
	q->last_used++;
	q->free[q->nfree++] = a;
	q->free[q->nfree++] = b;
	q->free[q->nfree++] = h;
	return *(volatile uint8_t *)ab;
}

/* ---- TX --------------------------------------------------------------------------------- */

unsigned vn_tx_reclaim(struct vn_dev *d, unsigned p)
{
	struct vn_queue *q = &d->q[2 * p + 1];
	uint16_t u = used_idx(q);
	unsigned n = 0;
	__asm__ volatile("" ::: "memory");
	for (; q->last_used != u; q->last_used++, n++) {
		const struct vring_used_elem *e =
			(const struct vring_used_elem *)(q->used + VRING_USED_RING_OFF) + q->last_used % q->num;
		q->free[q->nfree++] = (uint16_t)e->id;
	}
	return n;
}

uint8_t *vn_tx_buf(struct vn_dev *d, unsigned p)
{
	struct vn_queue *q = &d->q[2 * p + 1];
	if (!q->nfree && !vn_tx_reclaim(d, p))
		return 0;
	return (uint8_t *)(uintptr_t)q->desc[q->free[q->nfree - 1]].addr;
}

void vn_tx_commit(struct vn_dev *d, unsigned p, uint32_t len)
{
	struct vn_queue *q = &d->q[2 * p + 1];
	uint16_t id = q->free[--q->nfree];
	q->desc[id].len = VN_HDR_LEN + len;
	q->desc[id].flags = 0;
	q->avail[2 + q->avail_idx % q->num] = id;
	q->avail_idx++;
}

void vn_tx_flush(struct vn_dev *d, unsigned p)
{
	struct vn_queue *q = &d->q[2 * p + 1];
	publish(q);
	kick(q);
}

bool vn_tx(struct vn_dev *d, unsigned p, const void *frame, uint32_t len, bool batch)
{
	uint8_t *b = vn_tx_buf(d, p);
	if (!b || len > VN_BUF_SIZE - VN_HDR_LEN)
		return false;
	memset(b, 0, VN_HDR_LEN);
	memcpy(b + VN_HDR_LEN, frame, len);
	vn_tx_commit(d, p, len);
	if (!batch)
		vn_tx_flush(d, p);
	return true;
}

/* ---- RX ---------------------------------------------------------------------------------- */

void vn_rx_flush(struct vn_dev *d, unsigned p)
{
	struct vn_queue *q = &d->q[2 * p];
	publish(q);
	kick(q);
}

int vn_rx(struct vn_dev *d, unsigned p, void *out, unsigned max, unsigned *nbufs)
{
	struct vn_queue *q = &d->q[2 * p];
	const struct vring_used_elem *ring = (const struct vring_used_elem *)(q->used + VRING_USED_RING_OFF);
	uint16_t u = used_idx(q);
	if (u == q->last_used)
		return -1;
	__asm__ volatile("" ::: "memory");
	const struct vring_used_elem *e = &ring[q->last_used % q->num];
	const uint8_t *b = (const uint8_t *)(uintptr_t)q->desc[e->id].addr;
	uint16_t nb = 1;
	if (vn_has(d, VIRTIO_NET_F_MRG_RXBUF))
		memcpy(&nb, b + 10, sizeof(nb));
	if (nb == 0 || (uint16_t)(u - q->last_used) < nb)
		return -1; /* the rest of a merged frame is not there yet */
	unsigned got = 0;
	for (unsigned i = 0; i < nb; i++) {
		e = &ring[q->last_used % q->num];
		b = (const uint8_t *)(uintptr_t)q->desc[e->id].addr;
		unsigned skip = i == 0 ? VN_HDR_LEN : 0;
		unsigned len = e->len > skip ? e->len - skip : 0;
		if (got + len > max)
			len = max > got ? max - got : 0;
		memcpy((uint8_t *)out + got, b + skip, len);
		got += len;
		post_rx(q, (uint16_t)e->id, d->rxbuf);
		q->last_used++;
	}
	if (nbufs)
		*nbufs = nb;
	return (int)got;
}

void vn_irq_enable(struct vn_dev *d, unsigned qi, bool on)
{
	struct vn_queue *q = &d->q[qi];
	if (q->event_idx)
		*used_event(q) = on ? q->last_used : (uint16_t)(q->last_used - 1);
	else
		q->avail[0] = on ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
	vn_mb();
}
