/*
 * pci-hostile - a guest that abuses modvmm's PCI bus, then checks that valid
 * accesses still work.  modvmm must stay up through all of it.
 *
 *  1. random configuration writes (every size, every offset) to every function
 *     on bus 0, writes to absent functions, odd accesses to 0xcf8-0xcff;
 *  2. the test device's BARs pointed at RAM (the guest's own code and data),
 *     at the LAPIC and the IOAPIC, at KVM's private pages below 4 GiB, at each
 *     other, beyond the physical address width, and its I/O BAR over the PCI
 *     configuration ports, COM1 and the debug console (the guest then prints
 *     through them: the host test looks for those lines);
 *  3. every offset of the I/O and MMIO BARs read and written with 1, 2, 4 and
 *     8 bytes, unaligned and across the BAR end, random values into the MSI-X
 *     table (also out of range) and the PBA while the function is masked;
 *  4. sane BARs again: trapped I/O and MMIO, counters, doorbells, devmem and an
 *     MSI-X interrupt must all work.
 *
 * Prints "ok: ..." / "FAIL: ..." per check; exits 0 only if all passed.
 * Cmdline: seed=N (random sequence, default 1).  Never writes a byte to 0xcf9
 * (the PC reset control register, which a VMM may implement as a reset).
 */
#include "testdev.h"

#define CFG_PORTS       0xcf8
#define CFG_PORTS_END   0xd00
#define CFG_RESET_PORT  0xcf9
#define COM1_BLOCK      0x300         /* a 256-port I/O BAR here covers COM1 (0x3f8) */
#define EXIT_BLOCK      0x500         /* ... the debug-exit port (0x501) */
#define CFG_BLOCK       0xc00         /* ... the PCI configuration ports */
#define IOAPIC_GPA      0xfec00000ull
#define IOAPIC_IOWIN    0x10          /* 82093AA §3.1: data window after the index register */
#define LAPIC_VERSION   0x30
#define KVM_PRIVATE_GPA 0xfeff0000ull /* KVM's identity-map and TSS pages live here */
#define HUGE_GPA        0xffffffffffff0000ull /* wraps past 2^64 with the BAR's size */
#define TOP_PAGE_GPA    0xfffff000ull         /* the last page below 4 GiB */
#define TOP_PORTS       0xff00                /* the last 256 ports */
#define TOP_PORT_UNALIGNED 0xfffc             /* the BAR keeps only the aligned bits */
#define SANE_MMIO       0xe0000000ull
#define SANE_MEM        0xe8000000ull
#define RAM_BAR_SIZE    0x10000       /* >= the devmem BAR in the e2e config */
#define STRAY_FIRST     0x20
#define STRAY_LAST      0xfe
#define N_KICKS         100

static uint64_t rng = 1;
static volatile unsigned stray_irqs;
static uint8_t ram_target[RAM_BAR_SIZE] __attribute__((aligned(RAM_BAR_SIZE)));
static uint16_t sane_pio;

static uint32_t rnd(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull; /* Knuth's MMIX LCG */
	return (uint32_t)(rng >> 32);
}

__attribute__((interrupt)) static void stray_isr(struct guest_intr_frame *f)
{
	(void)f;
	stray_irqs++;
	guest_lapic_eoi();
}

static void discover(void *found)
{
	*(bool *)found = td_discover(false);
}

/* ---- 1. configuration space ---- */

static void cfg_fuzz_fn(unsigned bdf)
{
	for (unsigned size = 1; size <= 4; size *= 2)
		for (unsigned off = 0; off < 256; off += size) {
			pci_cfg_write(bdf, off, size, rnd());
			(void)pci_cfg_read(bdf, off, size);
		}
	for (unsigned off = 0; off < 256; off++)  /* unaligned words and dwords */
		pci_cfg_write(bdf, off, 2 + 2 * (rnd() & 1), rnd());
}

static void cfg_port_abuse(void)
{
	for (unsigned i = 0; i < 64; i++) {
		uint32_t addr = rnd();
		outl(CFG_PORTS, i & 1 ? addr : addr & 0x7fffffffu);  /* enable bit off, reserved bits */
		unsigned port = CFG_PORTS + 4 + (rnd() & 3);
		switch (rnd() % 6) {
		case 0: outb((uint16_t)port, (uint8_t)rnd()); break;
		case 1: outw((uint16_t)port, (uint16_t)rnd()); break;
		case 2: outl((uint16_t)port, rnd()); break;          /* unaligned dword */
		case 3: (void)inl((uint16_t)port); break;
		case 4: (void)inw((uint16_t)port); break;
		default: (void)inb((uint16_t)(CFG_PORTS + (rnd() & 7))); break;
		}
	}
	for (unsigned p = CFG_PORTS; p < CFG_PORTS_END; p++) {
		if (p != CFG_RESET_PORT)
			outb((uint16_t)p, (uint8_t)rnd());
		outw((uint16_t)p, (uint16_t)rnd());
		(void)inl((uint16_t)p);
	}
}

static void phase_config(void *arg)
{
	struct pci_fn fns[TD_MAX_FNS];
	unsigned n = pci_scan(fns, TD_MAX_FNS);

	(void)arg;
	for (unsigned i = 0; i < n && i < TD_MAX_FNS; i++)
		cfg_fuzz_fn(fns[i].bdf);
	for (unsigned dev = 0; dev < 32; dev++)           /* absent functions, other buses */
		for (unsigned fn = 0; fn < 8; fn++) {
			pci_cfg_write(PCI_BDF(0, dev, fn), PCI_BAR0, 4, rnd());
			pci_cfg_write(PCI_BDF(rnd() & 0xff, dev, fn), PCI_COMMAND, 2, rnd());
		}
	cfg_port_abuse();
	check(true, "survived random configuration writes to %u functions", n);
}

/* ---- 2. BARs in bad places ---- */

static void sane_bars(void)
{
	pci_bar_set(td.bdf, TESTDEV_BAR_PIO, sane_pio, false);
	td.pio = sane_pio;
	td_place(SANE_MMIO, SANE_MEM);
}

static void bar_pio_at(uint16_t port)
{
	pci_bar_set(td.bdf, TESTDEV_BAR_PIO, port, false);
	td.pio = port;
}

static void phase_bad_bars(void *arg)
{
	uintptr_t code = (uintptr_t)guest_main & ~0xfffull;
	uint32_t code_word = mmio_read32(code);
	uint32_t lapic_ver = mmio_read32(LAPIC_BASE + LAPIC_VERSION);
	uint32_t ioapic_id;

	(void)arg;
	mmio_write32(IOAPIC_GPA, 0);
	ioapic_id = mmio_read32(IOAPIC_GPA + IOAPIC_IOWIN);
	for (unsigned i = 0; i < RAM_BAR_SIZE; i += 4)
		mmio_write32((uintptr_t)ram_target + i, i * 7u);

	td_place(code, (uintptr_t)ram_target);  /* trapped MMIO over code, devmem over data */
	check(mmio_read32(code) == code_word, "BAR1 over the guest's code: RAM still reads as RAM");
	mmio_write32((uintptr_t)ram_target + 8, 0x12345678);
	check(mmio_read32((uintptr_t)ram_target) == 0 && mmio_read32((uintptr_t)ram_target + 8) == 0x12345678 &&
	      mmio_read32((uintptr_t)ram_target + 16) == 16 * 7u, "BAR2 over guest RAM: RAM still reads as RAM");

	td_place(LAPIC_BASE, LAPIC_BASE);
	check(mmio_read32(LAPIC_BASE + LAPIC_VERSION) == lapic_ver, "BAR1 and BAR2 at the LAPIC: LAPIC still there");
	td_place(SANE_MMIO, IOAPIC_GPA);
	mmio_write32(IOAPIC_GPA, 0);
	check(mmio_read32(IOAPIC_GPA + IOAPIC_IOWIN) == ioapic_id, "BAR2 at the IOAPIC: IOAPIC still there");
	td_place(KVM_PRIVATE_GPA + 0xf000, KVM_PRIVATE_GPA);
	td_place(SANE_MMIO, HUGE_GPA);
	td_place(TOP_PAGE_GPA, 0);

	td_place(SANE_MMIO, SANE_MMIO);  /* at each other */
	(void)mmio_read32(SANE_MMIO);
	mmio_write32(SANE_MMIO + TESTDEV_SCRATCH, 1);
	td_place(SANE_MMIO, SANE_MEM);
	check(td_mmio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE && mmio_read32(td.mem) == TESTDEV_DEVMEM_MAGIC,
	      "BAR1 and BAR2 overlapped, then moved apart: both decode");

	bar_pio_at(CFG_BLOCK);
	check(pci_cfg_read(td.bdf, PCI_VENDOR_ID, 2) == TESTDEV_VENDOR_ID,
	      "I/O BAR over 0xcf8-0xcff: configuration access still works");
	bar_pio_at(COM1_BLOCK);
	guest_printf("serial still works with BAR0 over COM1\n");
	bar_pio_at(0);
	guest_cprintf(CON_DEBUGCON, "debugcon still works with BAR0 at port 0\n");
	bar_pio_at(EXIT_BLOCK);
	bar_pio_at(TOP_PORTS);
	bar_pio_at(TOP_PORT_UNALIGNED);
	sane_bars();
	check(td_pio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE && td_mmio_read(TESTDEV_MAGIC) == TESTDEV_MAGIC_VALUE,
	      "sane BARs again: I/O and MMIO decode");
}

/* ---- 3. odd accesses to every BAR ---- */

static void phase_odd_access(void *arg)
{
	(void)arg;
	for (unsigned off = 0; off < TESTDEV_PIO_SIZE; off++) {
		uint16_t port = (uint16_t)(td.pio + off);
		(void)inb(port);
		(void)inw(port);
		(void)inl(port);
		if (off == TESTDEV_RESET)
			continue;  /* keep the counters for the checks below */
		outb(port, (uint8_t)rnd());
		outw(port, (uint16_t)rnd());
		outl(port, rnd());
	}
	for (unsigned off = 0; off < TESTDEV_MMIO_SIZE; off++) {
		uintptr_t a = td.mmio + off;
		(void)mmio_read8(a);
		(void)mmio_read16(a);
		(void)mmio_read32(a);
		(void)mmio_read64(a);
		mmio_write8(a, (uint8_t)rnd());
		mmio_write16(a, (uint16_t)rnd());
		mmio_write32(a, rnd());
		mmio_write64(a, (uint64_t)rnd() << 32 | rnd());
	}
	for (unsigned off = 0; off < 16; off++) {  /* unaligned devmem, across its end */
		mmio_write64(td.mem + 0x101 + off, 0x0102030405060708ull);
		(void)mmio_read64(td.mem + td.mem_size - 8 + off);
		mmio_write32(td.mem + td.mem_size - 4 + off, rnd());
	}
	check(mmio_read64(td.mem + 0x101 + 15) == 0x0102030405060708ull, "unaligned devmem write reads back");
}

/* ---- 4. valid accesses ---- */

static void phase_valid(void *arg)
{
	(void)arg;
	td_mmio_write(TESTDEV_RESET, 1);
	for (unsigned i = 0; i < 10; i++) {
		td_pio_write(TESTDEV_SCRATCH, i);
		td_mmio_write(TESTDEV_SCRATCH, 100 + i);
	}
	check(td_pio_read(TESTDEV_SCRATCH) == 109 && td_pio_read(TESTDEV_PIO_WRITES) == 10 &&
	      td_pio_read(TESTDEV_MMIO_WRITES) == 10, "trapped I/O and MMIO writes counted after the abuse");
	for (unsigned i = 0; i < N_KICKS; i++) {
		td_pio_write(TESTDEV_DOORBELL, i);
		td_mmio_write(TESTDEV_DOORBELL, i);
	}
	check(td_mmio_read(TESTDEV_PIO_KICKS) == N_KICKS && td_mmio_read(TESTDEV_MMIO_KICKS) == N_KICKS &&
	      td_pio_read(TESTDEV_PIO_WRITES) == 10 && td_pio_read(TESTDEV_MMIO_WRITES) == 10,
	      "doorbells after the abuse: %u kicks each, no trapped write", N_KICKS);
	check(mmio_read32(td.mem) == TESTDEV_DEVMEM_MAGIC, "devmem BAR after the abuse");
}

int guest_main(void)
{
	rng = guest_cmdline_ulong("seed", 1);
	guest_printf("pci-hostile guest: seed %lu\n", (unsigned long)rng);
	guest_pic_disable();
	guest_lapic_enable();
	for (unsigned v = STRAY_FIRST; v <= STRAY_LAST; v++)
		guest_irq_set(v, stray_isr);
	bool found = false;
	guest_user_run(discover, &found);
	if (!check(found, "test device found"))
		return 1;
	sane_pio = td.pio;
	uint16_t line = (uint16_t)pci_cfg_read(td.bdf, PCI_INT_LINE, 1);

	guest_user_run(phase_config, NULL);
	pci_cfg_write(td.bdf, PCI_INT_LINE, 1, line);
	sane_bars();
	guest_user_run(phase_bad_bars, NULL);
	/* MSI-X on but masked as a function while the table gets random values */
	unsigned cap = pci_find_cap(td.bdf, PCI_CAP_ID_MSIX);
	if (check(cap != 0, "MSI-X capability still found"))
		pci_cfg_write(td.bdf, cap + PCI_MSIX_CTRL, 2, PCI_MSIX_ENABLE | PCI_MSIX_FMASK);
	guest_user_run(phase_odd_access, NULL);
	sane_bars();
	if (td_msix_setup()) {
		unsigned before = td.irqs[0];
		guest_irq_wait(&stray_irqs, ~0u, TD_WAIT_CYCLES / 100);  /* let pending vectors in */
		td_mmio_write(TESTDEV_MSIX_NOTIFY, 0);
		check(guest_irq_wait(&td.irqs[0], before + 1, TD_WAIT_CYCLES), "MSI-X interrupt after the abuse");
	}
	guest_user_run(phase_valid, NULL);
	guest_printf("stray interrupts: %u\n", stray_irqs);
	if (check_failures()) {
		guest_printf("pci-hostile: %u checks FAILED\n", check_failures());
		return 1;
	}
	guest_printf("pci-hostile: all checks passed\n");
	return 0;
}
