/*
 * vfio-edu - drives QEMU's edu device (1234:11e8) passed through by modvmm's
 * vfio-pci plugin: the guest talks to the real (emulated-by-the-outer-QEMU)
 * device through its BAR, the host's IOMMU and VFIO.
 *
 * Checks the ids and BAR0, then, at BAR0's first address and again after the
 * guest moved it (the old address must stop decoding): the ID and liveness
 * registers, a factorial polled to completion and one completed by an MSI, an
 * interrupt raised by the interrupt-raise register, and a DMA of a buffer from
 * guest RAM into the device and back into another buffer, each completion an
 * MSI.  Then bus mastering off (DMA and MSI must not reach the guest) and on
 * again.  Then junk in the configuration space and a DMA aimed outside guest
 * RAM, and everything once more.  Finally INTx (MSI off): a raised interrupt
 * through the IOAPIC, acked in the handler, no storm after the ack, and a
 * second one after the EOI.  With an e1000e passed through too (8086:10d3),
 * its MSI-X: an unmasked vector, and a masked one pending, then delivered,
 * and first its expansion ROM (rom = on; vfio-rom.c).  With a virtio-net
 * (1af4:1041) passed through too, its ROM hidden (rom = off) and a Function
 * Level Reset.
 *
 * qemu=1 on the command line: the same guest under QEMU's own vfio-pci (the
 * reference, tests/e2e/vfio-edu.sh) with edu alone; the modvmm-specific parts
 * change: the old BAR0 address must no longer read the ID register (QEMU reads
 * unassigned memory as 0, modvmm as all-ones, which is checked under modvmm),
 * and an e1000e's INTx pin is not checked (modvmm hides the pin of a function
 * that has MSI-X, QEMU shows the device's).  Where the firmware placed BAR0 at
 * BAR_NEW_ADDR, it is moved to BAR_ALT_ADDR instead.
 *
 * edu's registers (QEMU hw/misc/edu.c): 32-bit accesses below 0x80, 32 or
 * 64-bit from 0x80; DMA addresses are masked to 28 bits (guest RAM here is
 * below 256 MiB) and DMA targets [0x40000, 0x41000) inside the device.
 * Prints one "ok:"/"FAIL:" line per check; exits 0 only if all passed.
 */
#include "testdev.h"
#include "vfio-rom.h"

#define EDU_VENDOR       0x1234
#define EDU_DEVICE       0x11e8
#define EDU_CLASS        0x00     /* PCI_CLASS_OTHERS 0x00ff: base class 0, subclass 0xff */
#define EDU_SUBCLASS     0xff
#define EDU_BAR_SIZE     0x100000 /* 1 MiB, 32-bit memory */
#define EDU_ID           0x00
#define EDU_ID_VALUE     0x010000edu
#define EDU_LIVENESS     0x04     /* reads back the inverse of what was written */
#define EDU_FACT         0x08
#define EDU_STATUS       0x20
#define EDU_ST_COMPUTING 0x01u
#define EDU_ST_IRQFACT   0x80u
#define EDU_IRQ_STATUS   0x24
#define EDU_IRQ_RAISE    0x60
#define EDU_IRQ_ACK      0x64
#define EDU_DMA_SRC      0x80
#define EDU_DMA_DST      0x88
#define EDU_DMA_COUNT    0x90
#define EDU_DMA_CMD      0x98
#define EDU_DMA_RUN      0x1u
#define EDU_DMA_TO_RAM   0x2u     /* direction: device buffer -> RAM */
#define EDU_DMA_IRQ      0x4u
#define EDU_DMA_BUF      0x40000  /* the device's buffer */
#define EDU_IRQ_FACT     0x1u     /* interrupt status bits */
#define EDU_IRQ_DMA      0x100u
#define EDU_IRQ_TEST     0x1000u
/* Less than the device's 4 KiB: QEMU before 9.1 refuses a transfer that ends
 * exactly at the buffer's end (an off-by-one) and aborts. */
#define DMA_LEN          1024

/* MSI capability (PCI Local Bus 3.0 §6.8.1), 64-bit layout. */
#define PCI_CAP_ID_MSI   0x05
#define MSI_CTRL         2
#define MSI_ADDR_LO      4
#define MSI_ADDR_HI      8
#define MSI_DATA         12
#define MSI_CTRL_ENABLE  0x0001u
#define MSI_CTRL_64BIT   0x0080u
#define MSI_CTRL_MME     0x0070u  /* Multiple Message Enable: 0 = one vector */

#define MSI_VEC          0x60
#define INTX_VEC         0x61
#define WAIT_CYCLES      40000000000ull /* bound on one operation, ~10-20 s */
#define SHORT_CYCLES     20000000ull
#define BAR_NEW_ADDR     0xe0000000ull  /* where the guest moves BAR0 */
#define BAR_ALT_ADDR     0xe1000000ull  /* or here, when it is at BAR_NEW_ADDR already (SeaBIOS under QEMU) */
#define OUTSIDE_RAM      0x6000000u     /* 96 MiB: past the test's 32 MiB of RAM, within edu's 28-bit mask */


static unsigned bdf;
static uintptr_t bar;
static bool under_qemu;   /* qemu=1: the modvmm-specific checks changed or left out */
static volatile unsigned msi_irqs, intx_irqs;
static uint8_t dma_out[DMA_LEN] __attribute__((aligned(4096)));
static uint8_t dma_in[DMA_LEN] __attribute__((aligned(4096)));

static uint32_t rd(unsigned off)
{
	return mmio_read32(bar + off);
}

static void wr(unsigned off, uint32_t v)
{
	mmio_write32(bar + off, v);
}

__attribute__((interrupt)) static void msi_isr(struct guest_intr_frame *f)
{
	(void)f;
	msi_irqs++;
	guest_lapic_eoi();
}

__attribute__((interrupt)) static void intx_isr(struct guest_intr_frame *f)
{
	(void)f;
	intx_irqs++;
	wr(EDU_IRQ_ACK, rd(EDU_IRQ_STATUS)); /* level-triggered: lower the line before EOI */
	guest_lapic_eoi();
}

/* Spin until (reg & mask) == 0, at most WAIT_CYCLES. */
static bool wait_clear(unsigned reg, uint32_t mask)
{
	uint64_t end = guest_rdtsc() + WAIT_CYCLES;
	while ((rd(reg) & mask) && guest_rdtsc() < end)
		guest_pause();
	return !(rd(reg) & mask);
}

/* One interrupt more than `before`, with `bit` in the interrupt status; acks it. */
static bool got_msi(unsigned before, uint32_t bit, const char *what)
{
	bool arrived = guest_irq_wait(&msi_irqs, before + 1, WAIT_CYCLES);
	uint32_t st = rd(EDU_IRQ_STATUS);
	wr(EDU_IRQ_ACK, st);
	return check(arrived && (st & bit), "%s: MSI arrived (%u), interrupt status 0x%x", what, msi_irqs - before, st);
}

static void msi_setup(void)
{
	unsigned cap = pci_find_cap(bdf, PCI_CAP_ID_MSI);
	if (!check(cap != 0, "MSI capability at 0x%x", cap))
		return;
	uint16_t ctrl = (uint16_t)pci_cfg_read(bdf, cap + MSI_CTRL, 2);
	check((ctrl & MSI_CTRL_64BIT) && !(ctrl & MSI_CTRL_ENABLE), "MSI control 0x%x: 64-bit, off", ctrl);
	guest_irq_set(MSI_VEC, msi_isr);
	pci_cfg_write(bdf, cap + MSI_ADDR_LO, 4, MSI_ADDR_BASE | guest_lapic_id() << MSI_ADDR_DEST_SHIFT);
	pci_cfg_write(bdf, cap + MSI_ADDR_HI, 4, 0);
	pci_cfg_write(bdf, cap + MSI_DATA, 2, MSI_VEC);
	pci_cfg_write(bdf, cap + MSI_CTRL, 2, (ctrl & ~MSI_CTRL_MME) | MSI_CTRL_ENABLE);
	ctrl = (uint16_t)pci_cfg_read(bdf, cap + MSI_CTRL, 2);
	check(ctrl & MSI_CTRL_ENABLE, "MSI enabled (control 0x%x)", ctrl);
}

static void msi_off(void)
{
	unsigned cap = pci_find_cap(bdf, PCI_CAP_ID_MSI);
	if (cap)
		pci_cfg_write(bdf, cap + MSI_CTRL, 2, pci_cfg_read(bdf, cap + MSI_CTRL, 2) & ~MSI_CTRL_ENABLE);
}

static void dma(uint64_t src, uint64_t dst, uint32_t cmd)
{
	mmio_write64(bar + EDU_DMA_SRC, src);
	mmio_write64(bar + EDU_DMA_DST, dst);
	mmio_write64(bar + EDU_DMA_COUNT, DMA_LEN);
	mmio_write64(bar + EDU_DMA_CMD, EDU_DMA_RUN | EDU_DMA_IRQ | cmd);
}

/* One DMA that must complete as usual: its MSI arrives, RUN clears. */
static void dma_msi(uint64_t src, uint64_t dst, uint32_t cmd, const char *what)
{
	unsigned before = msi_irqs;
	dma(src, dst, cmd);
	got_msi(before, EDU_IRQ_DMA, what);
	check(wait_clear(EDU_DMA_CMD, EDU_DMA_RUN), "%s: done", what);
}

static void drive(const char *where, unsigned seed)
{
	guest_printf("edu at 0x%lx (%s)\n", (unsigned long)bar, where);
	check(rd(EDU_ID) == EDU_ID_VALUE, "%s: ID register 0x%x", where, rd(EDU_ID));
	wr(EDU_LIVENESS, 0x12345678u + seed);
	check(rd(EDU_LIVENESS) == ~(0x12345678u + seed), "%s: liveness register inverts", where);

	wr(EDU_STATUS, 0);
	wr(EDU_FACT, 10);
	/* Polled until the result shows: in one of the first runs the status read
	 * had COMPUTING clear while the register still held the input, so the
	 * status bit alone is not the completion signal here. */
	uint64_t end = guest_rdtsc() + WAIT_CYCLES;
	while (rd(EDU_FACT) != 3628800 && guest_rdtsc() < end)
		guest_pause();
	bool done = wait_clear(EDU_STATUS, EDU_ST_COMPUTING);
	uint32_t st = rd(EDU_STATUS), fact = rd(EDU_FACT);
	check(done && fact == 3628800, "%s: 10! = %u (polled; status 0x%x)", where, fact, st);

	unsigned before = msi_irqs;
	wr(EDU_STATUS, EDU_ST_IRQFACT);
	wr(EDU_FACT, 12);
	if (got_msi(before, EDU_IRQ_FACT, "factorial"))
		check(rd(EDU_FACT) == 479001600, "%s: 12! = %u", where, rd(EDU_FACT));
	wr(EDU_STATUS, 0);

	before = msi_irqs;
	wr(EDU_IRQ_RAISE, EDU_IRQ_TEST);
	got_msi(before, EDU_IRQ_TEST, "interrupt-raise register");

	for (unsigned i = 0; i < DMA_LEN; i++) {
		dma_out[i] = (uint8_t)(i * 7 + seed);
		dma_in[i] = 0;
	}
	dma_msi((uintptr_t)dma_out, EDU_DMA_BUF, 0, "DMA guest RAM -> device");
	dma_msi(EDU_DMA_BUF, (uintptr_t)dma_in, EDU_DMA_TO_RAM, "DMA device -> guest RAM");
	unsigned bad = 0;
	for (unsigned i = 0; i < DMA_LEN; i++)
		bad += dma_in[i] != dma_out[i];
	check(bad == 0, "%s: %u bytes came back through the device's DMA buffer intact (%u differ)", where, DMA_LEN,
	      bad);
}

/* COMMAND's bus-master bit reaches the device (PCI Local Bus 3.0 §6.2.2): with
 * it off, QEMU's edu still runs a DMA command to its end (RUN clears and the
 * DMA bit shows in the interrupt status), but its DMA and its MSI write go
 * through the function's bus-master address space, which QEMU disables
 * (hw/pci/pci.c: bus_master_enable_region, pci_msi_trigger): nothing reaches
 * guest RAM, nothing comes from it, and no MSI arrives.  With the bit on again
 * both directions work. */
static void check_bus_master(void)
{
	for (unsigned i = 0; i < DMA_LEN; i++) {
		dma_out[i] = (uint8_t)(i * 7 + 9);
		dma_in[i] = 0x5a;
	}
	pci_cfg_write(bdf, PCI_COMMAND, 2, PCI_CMD_MEM);
	check((pci_cfg_read(bdf, PCI_COMMAND, 2) & (PCI_CMD_MEM | PCI_CMD_MASTER)) == PCI_CMD_MEM,
	      "bus master off (COMMAND 0x%x)", pci_cfg_read(bdf, PCI_COMMAND, 2));
	unsigned before = msi_irqs;
	dma(EDU_DMA_BUF, (uintptr_t)dma_in, EDU_DMA_TO_RAM);
	bool ran = wait_clear(EDU_DMA_CMD, EDU_DMA_RUN);
	bool msi = guest_irq_wait(&msi_irqs, before + 1, SHORT_CYCLES);
	uint32_t st = rd(EDU_IRQ_STATUS);
	wr(EDU_IRQ_ACK, st);
	unsigned moved = 0;
	for (unsigned i = 0; i < DMA_LEN; i++)
		moved += dma_in[i] != 0x5a;
	check(ran && (st & EDU_IRQ_DMA), "bus master off: DMA device -> guest RAM ran (interrupt status 0x%x)", st);
	check(moved == 0, "bus master off: no byte reached guest RAM (%u changed)", moved);
	check(!msi, "bus master off: no MSI (%u)", msi_irqs - before);
	before = msi_irqs;
	dma((uintptr_t)dma_out, EDU_DMA_BUF, 0);
	ran = wait_clear(EDU_DMA_CMD, EDU_DMA_RUN);
	msi = guest_irq_wait(&msi_irqs, before + 1, SHORT_CYCLES);
	wr(EDU_IRQ_ACK, rd(EDU_IRQ_STATUS));
	check(ran && !msi, "bus master off: DMA guest RAM -> device ran, no MSI (%u)", msi_irqs - before);

	pci_cfg_write(bdf, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	check(pci_cfg_read(bdf, PCI_COMMAND, 2) & PCI_CMD_MASTER, "bus master on again");
	dma_msi(EDU_DMA_BUF, (uintptr_t)dma_in, EDU_DMA_TO_RAM, "bus master on: DMA device -> guest RAM");
	unsigned same = 0;
	for (unsigned i = 0; i < DMA_LEN; i++)
		same += dma_in[i] == dma_out[i];
	/* the device's buffer did not get the bytes offered while bus mastering
	 * was off (whatever it read instead matches the pattern by chance in a
	 * few bytes at most) */
	check(same <= 16, "bus master on: the device's buffer lacks what it could not read (%u bytes match)", same);
	dma_msi((uintptr_t)dma_out, EDU_DMA_BUF, 0, "bus master on: DMA guest RAM -> device");
	for (unsigned i = 0; i < DMA_LEN; i++)
		dma_in[i] = 0;
	dma_msi(EDU_DMA_BUF, (uintptr_t)dma_in, EDU_DMA_TO_RAM, "bus master on: DMA back to guest RAM");
	unsigned bad = 0;
	for (unsigned i = 0; i < DMA_LEN; i++)
		bad += dma_in[i] != dma_out[i];
	check(bad == 0, "bus master on: %u bytes through the device intact (%u differ)", DMA_LEN, bad);
}

/* Hostile: junk in every configuration register (BARs, COMMAND and the MSI
 * capability included; nothing raises an interrupt meanwhile), then the BAR,
 * COMMAND and MSI programmed again; and a DMA aimed past guest RAM, which the
 * host's IOMMU must stop (the script finds the fault in the host's log).  The
 * device must keep working afterwards. */
static void hostile(void)
{
	uint32_t x = 0x2545f491u, line = pci_cfg_read(bdf, PCI_INT_LINE, 1);
	for (unsigned round = 0; round < 4; round++) {
		for (unsigned off = PCI_COMMAND; off < 0x100; off += 4) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;     /* xorshift32 */
			pci_cfg_write(bdf, off, 4, round & 1 ? 0xffffffffu : x);
		}
	}
	pci_cfg_write(bdf, PCI_COMMAND, 2, 0);
	pci_cfg_write(bdf, PCI_INT_LINE, 1, line);   /* the OS's scratch register */
	pci_bar_set(bdf, 0, BAR_NEW_ADDR, false);
	pci_cfg_write(bdf, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	check(pci_cfg_read(bdf, PCI_VENDOR_ID, 4) == (EDU_DEVICE << 16 | EDU_VENDOR), "ids unchanged by the junk");
	msi_off();
	msi_setup();
	unsigned before = msi_irqs;
	dma(EDU_DMA_BUF, OUTSIDE_RAM, EDU_DMA_TO_RAM);
	got_msi(before, EDU_IRQ_DMA, "DMA aimed outside guest RAM");
	guest_printf("DMA aimed at 0x%x done\n", OUTSIDE_RAM);
}

/* The BARs of function b as programmed now. */
static void bars_save(unsigned b, struct pci_bar_info bars[PCI_NUM_BARS])
{
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		bars[i] = (struct pci_bar_info){ 0 };
	for (unsigned i = 0; i < PCI_NUM_BARS; i += pci_bar_probe(b, i, &bars[i]))
		;
}

/* Program them back (the ROM disabled), then memory decode and bus mastering. */
static void bars_restore(unsigned b, const struct pci_bar_info bars[PCI_NUM_BARS])
{
	pci_cfg_write(b, PCI_COMMAND, 2, 0);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		if (bars[i].size)
			pci_bar_set(b, i, bars[i].addr, bars[i].mem64);
	pci_cfg_write(b, PCI_ROM, 4, 0);
	pci_cfg_write(b, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
}

/* Hostile, for the MSI-X devices: junk over every configuration register of
 * function b (BARs and the ROM moved anywhere, split BARs mapped and unmapped,
 * MSI-X control, Initiate FLR of a PCIe capability set by chance), then its
 * BARs and COMMAND programmed back as they were.  The checks that follow must
 * pass. */
static void junk_config(unsigned b, uint32_t seed)
{
	struct pci_bar_info bars[PCI_NUM_BARS];
	bars_save(b, bars);
	uint32_t x = seed;
	for (unsigned round = 0; round < 4; round++) {
		for (unsigned off = PCI_COMMAND; off < 0x100; off += 4) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;     /* xorshift32 */
			pci_cfg_write(b, off, 4, round & 1 ? 0xffffffffu : x);
		}
	}
	bars_restore(b, bars);
	check(pci_cfg_read(b, PCI_VENDOR_ID, 2) != 0xffff, "junk over the configuration space of %02x:%02x.%x survived",
	      b >> 8, (b >> 3) & 0x1f, b & 7);
}

/* e1000e (82574, 8086:10d3) with MSI-X, when one is passed through too: its
 * "other" interrupt cause raised by ICS on vector E1000E_OTHER_VEC while that
 * vector is masked in the guest's table must show as pending in the PBA and
 * arrive only on unmask.  82574 datasheet §10.2.4 (ICR, ICS, IMS, IVAR). */
#define E1000E_DEVICE     0x10d3
#define E1000E_ICS        0x00c8
#define E1000E_ICR        0x00c0      /* write 1 to clear */
#define E1000E_IMS        0x00d0
#define E1000E_IMC        0x00d8
#define E1000E_IVAR       0x00e4
#define E1000E_LSC        0x00000004u /* link status change */
#define E1000E_OTHER      0x01000000u /* ICR.OTHER: non-queue causes under MSI-X */
#define E1000E_RXQ0       0x00100000u /* receive queue 0 (MSI-X) */
#define E1000E_IVAR_RXQ0  0           /* IVAR fields: vector 2:0, valid bit 3 */
#define E1000E_IVAR_OTHER 16
#define E1000E_IVAR_VALID 0x8u
#define E1000E_OTHER_VEC  4
#define E1000E_VEC_BASE   0x70

static volatile unsigned e1000e_irqs, e1000e_rx_irqs;

__attribute__((interrupt)) static void e1000e_isr(struct guest_intr_frame *f)
{
	(void)f;
	e1000e_irqs++;
	guest_lapic_eoi();
}

__attribute__((interrupt)) static void e1000e_rx_isr(struct guest_intr_frame *f)
{
	(void)f;
	e1000e_rx_irqs++;
	guest_lapic_eoi();
}

static void check_e1000e_msix(unsigned nbdf)
{
	unsigned cap = pci_find_cap(nbdf, PCI_CAP_ID_MSIX);
	if (!check(cap != 0, "e1000e: MSI-X capability at 0x%x", cap))
		return;
	uint16_t ctrl = (uint16_t)pci_cfg_read(nbdf, cap + PCI_MSIX_CTRL, 2);
	uint32_t table = pci_cfg_read(nbdf, cap + PCI_MSIX_TABLE, 4), pba = pci_cfg_read(nbdf, cap + PCI_MSIX_PBA, 4);
	unsigned nvec = (ctrl & PCI_MSIX_SIZE_MASK) + 1u;
	check(nvec > E1000E_OTHER_VEC, "e1000e: %u MSI-X vectors", nvec);
	if (!under_qemu)
		check(pci_cfg_read(nbdf, PCI_INT_PIN, 1) == 0, "e1000e: no INTx pin (MSI-X only)");
	pci_cfg_write(nbdf, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	uintptr_t regs = (uintptr_t)pci_bar_addr(nbdf, 0);
	uintptr_t tbl = (uintptr_t)pci_bar_addr(nbdf, table & PCI_MSIX_BIR_MASK) + (table & ~PCI_MSIX_BIR_MASK);
	uintptr_t pb = (uintptr_t)pci_bar_addr(nbdf, pba & PCI_MSIX_BIR_MASK) + (pba & ~PCI_MSIX_BIR_MASK);
	/* The table's BAR outside the pages of the table and PBA: mapped directly
	 * by modvmm (no exit; the script finds 0 trapped accesses in its log).
	 * QEMU's e1000e decodes nothing there, so the values are not checked. */
	if ((table & PCI_MSIX_BIR_MASK) == (pba & PCI_MSIX_BIR_MASK)) {
		uintptr_t b3 = (uintptr_t)pci_bar_addr(nbdf, table & PCI_MSIX_BIR_MASK);
		unsigned n = 0;
		for (uintptr_t page = 0x1000; page < 0x4000; page += 0x2000)   /* between and after them */
			for (unsigned i = 0; i < 8; i++, n += 2) {
				mmio_write32(b3 + page + 4 * i, 0xa5a50000u + i);
				(void)mmio_read32(b3 + page + 4 * i);
			}
		check(n == 32, "e1000e: %u accesses to BAR%u outside the MSI-X table and PBA", n, table & PCI_MSIX_BIR_MASK);
	}
	for (unsigned v = 0; v < nvec && v <= E1000E_OTHER_VEC; v++) {
		uintptr_t e = tbl + v * PCI_MSIX_ENTRY_SIZE;
		mmio_write32(e + PCI_MSIX_ADDR_LO, MSI_ADDR_BASE | guest_lapic_id() << MSI_ADDR_DEST_SHIFT);
		mmio_write32(e + PCI_MSIX_ADDR_HI, 0);
		mmio_write32(e + PCI_MSIX_DATA, E1000E_VEC_BASE + v);
		mmio_write32(e + PCI_MSIX_VCTRL, v == E1000E_OTHER_VEC ? PCI_MSIX_VCTRL_MASK : 0);
	}
	guest_irq_set(E1000E_VEC_BASE + E1000E_OTHER_VEC, e1000e_isr);
	guest_irq_set(E1000E_VEC_BASE, e1000e_rx_isr);
	pci_cfg_write(nbdf, cap + PCI_MSIX_CTRL, 2, (ctrl & ~PCI_MSIX_FMASK) | PCI_MSIX_ENABLE);
	mmio_write32(regs + E1000E_IVAR, (E1000E_IVAR_VALID | 0) << E1000E_IVAR_RXQ0 |
	                                 (E1000E_IVAR_VALID | E1000E_OTHER_VEC) << E1000E_IVAR_OTHER);
	/* An unmasked vector first: RxQ0 on vector 0.  (It also makes QEMU's model
	 * forget an "other" cause an earlier VM left pending: it notifies a cause
	 * again only after one interrupt without it.) */
	mmio_write32(regs + E1000E_IMC, ~0u);
	mmio_write32(regs + E1000E_ICR, ~0u);
	mmio_write32(regs + E1000E_IMS, E1000E_RXQ0);
	mmio_write32(regs + E1000E_ICS, E1000E_RXQ0);
	check(guest_irq_wait(&e1000e_rx_irqs, 1, WAIT_CYCLES), "e1000e: RxQ0 cause delivered on MSI-X vector 0");
	mmio_write32(regs + E1000E_IMC, ~0u);
	mmio_write32(regs + E1000E_ICR, ~0u);
	mmio_write32(regs + E1000E_IMS, E1000E_LSC | E1000E_OTHER);
	mmio_write32(regs + E1000E_ICS, E1000E_LSC);
	uint64_t end = guest_rdtsc() + WAIT_CYCLES;
	while (!(mmio_read64(pb) & (1ull << E1000E_OTHER_VEC)) && guest_rdtsc() < end)
		guest_pause();
	check(mmio_read64(pb) & (1ull << E1000E_OTHER_VEC), "e1000e: masked vector %u pending in the PBA",
	      E1000E_OTHER_VEC);
	check(!guest_irq_wait(&e1000e_irqs, 1, SHORT_CYCLES), "e1000e: masked vector %u not delivered",
	      E1000E_OTHER_VEC);
	mmio_write32(tbl + E1000E_OTHER_VEC * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_VCTRL, 0);
	check(guest_irq_wait(&e1000e_irqs, 1, WAIT_CYCLES), "e1000e: MSI-X vector %u delivered on unmask",
	      E1000E_OTHER_VEC);
}

/* Function Level Reset, when a virtio-net (1af4:1041, behind a PCIe root port
 * of the KVM host, FLR capable) is passed through: modvmm gives the guest a
 * PCIe capability offering FLR, and Initiate FLR (PCIe Base 4.0 §6.6.2,
 * §7.5.3.4) resets the real function: QEMU's virtio-pci resets the device on
 * FLR, so the device status and queue select of its common configuration
 * (virtio 1.2 §4.1.4.3, at BAR4 + 0 in QEMU's layout) read 0 afterwards, and
 * the device takes a new status.  The guest's view is reset too, as an FLR
 * leaves a function (§6.6.2): COMMAND 0, every BAR's address bits 0, MSI-X
 * enable and function mask clear; the guest then programs it again (Linux
 * restores the configuration it saved before the FLR). */
#define VIRTIO_DEVICE_MODERN 0x1041
#define PCI_CAP_ID_EXP       0x10
#define EXP_FLAGS            2
#define EXP_DEVCAP           4
#define EXP_DEVCTL           8
#define EXP_TYPE_MASK        0x00f0u
#define EXP_TYPE_RC_END      0x0090u
#define EXP_DEVCAP_FLR       0x10000000u
#define EXP_DEVCTL_FLR       0x8000u
#define VIRTIO_COMMON_BAR    4
#define VIRTIO_STATUS        0x14  /* device_status (8 bits) */
#define VIRTIO_QUEUE_SELECT  0x16  /* queue_select (16 bits) */
#define VIRTIO_ST_ACK_DRIVER 0x03  /* ACKNOWLEDGE | DRIVER */

static void check_flr(unsigned vbdf)
{
	unsigned cap = pci_find_cap(vbdf, PCI_CAP_ID_EXP);
	if (!check(cap != 0, "virtio-net: PCI Express capability at 0x%x", cap))
		return;
	uint16_t flags = (uint16_t)pci_cfg_read(vbdf, cap + EXP_FLAGS, 2);
	uint32_t devcap = pci_cfg_read(vbdf, cap + EXP_DEVCAP, 4);
	check((flags & EXP_TYPE_MASK) == EXP_TYPE_RC_END && (devcap & EXP_DEVCAP_FLR),
	      "virtio-net: an integrated endpoint offering FLR (flags 0x%x, device capabilities 0x%x)", flags, devcap);
	struct pci_bar_info bars[PCI_NUM_BARS];
	bars_save(vbdf, bars);
	pci_cfg_write(vbdf, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
	unsigned msix = pci_find_cap(vbdf, PCI_CAP_ID_MSIX);
	if (msix)
		pci_cfg_write(vbdf, msix + PCI_MSIX_CTRL, 2, PCI_MSIX_ENABLE | PCI_MSIX_FMASK);
	uint64_t common = pci_bar_addr(vbdf, VIRTIO_COMMON_BAR);
	pci_map_high(common);
	uintptr_t c = (uintptr_t)common;
	mmio_write8(c + VIRTIO_STATUS, 0);   /* a reset by the driver's own means first */
	mmio_write8(c + VIRTIO_STATUS, VIRTIO_ST_ACK_DRIVER);
	mmio_write16(c + VIRTIO_QUEUE_SELECT, 1);
	uint8_t st = mmio_read8(c + VIRTIO_STATUS);
	uint16_t qs = mmio_read16(c + VIRTIO_QUEUE_SELECT);
	check(st == VIRTIO_ST_ACK_DRIVER && qs == 1, "virtio-net: device status 0x%x, queue select %u before FLR", st, qs);
	pci_cfg_write(vbdf, cap + EXP_DEVCTL, 2, pci_cfg_read(vbdf, cap + EXP_DEVCTL, 2) | EXP_DEVCTL_FLR);
	check(!(pci_cfg_read(vbdf, cap + EXP_DEVCTL, 2) & EXP_DEVCTL_FLR), "virtio-net: Initiate FLR reads 0");
	uint16_t cmd = (uint16_t)pci_cfg_read(vbdf, PCI_COMMAND, 2);
	check(cmd == 0, "virtio-net: COMMAND reads 0x%x after FLR", cmd);
	unsigned addressed = 0;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		uint32_t reg = pci_cfg_read(vbdf, PCI_BAR0 + 4 * i, 4);
		addressed += (reg & (reg & PCI_BAR_IO ? PCI_BAR_IO_MASK : PCI_BAR_MEM_MASK)) != 0;
	}
	check(addressed == 0, "virtio-net: every BAR's address bits read 0 after FLR (%u do not)", addressed);
	uint32_t gone = mmio_read32(c + VIRTIO_STATUS);
	check(gone == 0xffffffffu, "virtio-net: BAR%u no longer decodes after FLR (reads 0x%x)", VIRTIO_COMMON_BAR, gone);
	uint16_t mctl = msix ? (uint16_t)pci_cfg_read(vbdf, msix + PCI_MSIX_CTRL, 2) : 0;
	check(msix && !(mctl & (PCI_MSIX_ENABLE | PCI_MSIX_FMASK)),
	      "virtio-net: MSI-X enable and function mask clear after FLR (control 0x%x)", mctl);
	bars_restore(vbdf, bars);
	st = mmio_read8(c + VIRTIO_STATUS);
	qs = mmio_read16(c + VIRTIO_QUEUE_SELECT);
	check(st == 0 && qs == 0, "virtio-net: FLR reset the device (status 0x%x, queue select %u)", st, qs);
	mmio_write8(c + VIRTIO_STATUS, VIRTIO_ST_ACK_DRIVER);
	st = mmio_read8(c + VIRTIO_STATUS);
	check(st == VIRTIO_ST_ACK_DRIVER, "virtio-net: driven again after FLR (status 0x%x)", st);
	mmio_write8(c + VIRTIO_STATUS, 0);
}

static void check_intx(void)
{
	unsigned gsi = pci_cfg_read(bdf, PCI_INT_LINE, 1);
	if (!check(gsi > 0 && gsi < GUEST_IOAPIC_PINS, "INTx routed to IOAPIC pin %u", gsi))
		return;
	msi_off();
	guest_irq_set(INTX_VEC, intx_isr);
	guest_ioapic_route(gsi, INTX_VEC, true, false);
	wr(EDU_IRQ_RAISE, EDU_IRQ_TEST);
	check(guest_irq_wait(&intx_irqs, 1, WAIT_CYCLES), "INTx interrupt arrived");
	guest_irq_wait(&intx_irqs, ~0u, SHORT_CYCLES);
	unsigned n = intx_irqs;
	guest_irq_wait(&intx_irqs, ~0u, SHORT_CYCLES);
	check(n <= 2 && intx_irqs == n, "INTx acked in the handler: no more interrupts (%u)", intx_irqs);
	wr(EDU_IRQ_RAISE, EDU_IRQ_TEST);
	check(guest_irq_wait(&intx_irqs, n + 1, WAIT_CYCLES), "a second INTx arrived after the EOI (resample)");
	guest_ioapic_route(gsi, INTX_VEC, true, true);
}

int guest_main(void)
{
	struct pci_fn fns[32];
	unsigned n = pci_scan(fns, 32), nic = 0, vnet = 0;
	bool found = false, have_vnet = false;
	under_qemu = guest_cmdline_ulong("qemu", 0) == 1;
	for (unsigned i = 0; i < n; i++) {
		if (fns[i].vendor == 0x8086 && fns[i].device == E1000E_DEVICE)
			nic = fns[i].bdf;
		if (fns[i].vendor == 0x1af4 && fns[i].device == VIRTIO_DEVICE_MODERN) {
			vnet = fns[i].bdf;
			have_vnet = true;
		}
	}
	guest_pic_disable();
	for (unsigned i = 0; i < n && !found; i++) {
		if (fns[i].vendor == EDU_VENDOR && fns[i].device == EDU_DEVICE) {
			bdf = fns[i].bdf;
			found = true;
		}
	}
	if (check(found, "edu 1234:11e8 on bus 0")) {
		check(fns[0].class_code == PCI_CLASS_BRIDGE, "host bridge first");
		check(pci_cfg_read(bdf, PCI_CLASS, 1) == EDU_CLASS && pci_cfg_read(bdf, PCI_SUBCLASS, 1) == EDU_SUBCLASS,
		      "edu class 0x%x subclass 0x%x", pci_cfg_read(bdf, PCI_CLASS, 1), pci_cfg_read(bdf, PCI_SUBCLASS, 1));
		struct pci_bar_info b;
		pci_bar_probe(bdf, 0, &b);
		check(b.size == EDU_BAR_SIZE && !b.io && !b.mem64, "BAR0: 32-bit memory, 0x%lx bytes at 0x%lx",
		      (unsigned long)b.size, (unsigned long)b.addr);
		pci_cfg_write(bdf, PCI_COMMAND, 2, PCI_CMD_MEM | PCI_CMD_MASTER);
		bar = (uintptr_t)b.addr;
		guest_lapic_enable();
		msi_setup();
		drive("first address", 1);
		uintptr_t old = bar, to = old == BAR_NEW_ADDR ? BAR_ALT_ADDR : BAR_NEW_ADDR;
		pci_bar_set(bdf, 0, to, false);
		bar = (uintptr_t)pci_bar_addr(bdf, 0);
		check(bar == to, "BAR0 moved to 0x%lx", (unsigned long)bar);
		/* modvmm reads all-ones where nothing decodes (a master abort);
		 * QEMU reads 0 from unassigned memory */
		uint32_t gone = mmio_read32(old + EDU_ID);
		check(under_qemu ? gone != EDU_ID_VALUE : gone == 0xffffffffu,
		      "the old address 0x%lx no longer decodes (reads 0x%x)", (unsigned long)old, gone);
		drive("moved", 2);
		check_bus_master();
		hostile();
		drive("after junk and a stray DMA", 3);
		check_intx();
		if (nic) {
			check_rom(nic, "e1000e", true);
			junk_config(nic, 0x9e3779b9u);
			check_e1000e_msix(nic);
		}
		if (have_vnet) {
			check_rom(vnet, "virtio-net", false);
			junk_config(vnet, 0x85ebca6bu);
			check_flr(vnet);
		}
	}
	if (check_failures()) {
		guest_printf("vfio-edu guest: %u checks FAILED\n", check_failures());
		return 1;
	}
	guest_printf("vfio-edu guest: all checks passed\n");
	return 0;
}
