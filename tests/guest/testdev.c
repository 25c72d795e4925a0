/*
 * testdev.c - guest-side helpers for pci-testdev (see testdev.h).
 */
#include "testdev.h"


struct td td;
struct td_range td_ranges[TD_MAX_RANGES];
unsigned td_nranges;
static unsigned failures;

bool check(bool cond, const char *fmt, ...)
{
	va_list ap;

	guest_printf(cond ? "ok: " : "FAIL: ");
	va_start(ap, fmt);
	guest_vcprintf(CON_SERIAL, fmt, ap);
	va_end(ap);
	guest_printf("\n");
	if (!cond)
		failures++;
	return cond;
}

unsigned check_failures(void)
{
	return failures;
}

static void size_bars(const struct pci_fn *f, bool verbose)
{
	for (unsigned i = 0; i < PCI_NUM_BARS;) {
		struct pci_bar_info b;
		unsigned used = pci_bar_probe(f->bdf, i, &b);

		if (b.size) {
			if (verbose)
				guest_printf("  bar%u: %s%s%s at 0x%lx size 0x%lx\n", i,
					     b.io ? "io" : b.mem64 ? "mem64" : "mem32",
					     b.prefetch ? " prefetchable" : "", "", (unsigned long)b.addr,
					     (unsigned long)b.size);
			if (td_nranges < TD_MAX_RANGES)
				td_ranges[td_nranges++] = (struct td_range){
					.bdf = f->bdf, .bar = i, .base = b.addr, .size = b.size, .io = b.io,
				};
		}
		i += used;
	}
}

bool td_discover(bool verbose)
{
	struct pci_fn fns[TD_MAX_FNS];
	unsigned n = pci_scan(fns, TD_MAX_FNS);
	bool found = false;

	td_nranges = 0;
	if (n > TD_MAX_FNS)
		n = TD_MAX_FNS;
	for (unsigned i = 0; i < n; i++) {
		const struct pci_fn *f = &fns[i];

		if (verbose)
			guest_printf("pci 00:%x.%u %x:%x class %x/%x\n", PCI_BDF_DEV(f->bdf), PCI_BDF_FN(f->bdf),
				     f->vendor, f->device, f->class_code, f->subclass);
		size_bars(f, verbose);
		if (!found && f->vendor == TESTDEV_VENDOR_ID && f->device == TESTDEV_DEVICE_ID) {
			found = true;
			td.bdf = f->bdf;
		}
	}
	if (!found)
		return false;
	td.pio = (uint16_t)pci_bar_addr(td.bdf, TESTDEV_BAR_PIO);
	td.mmio = (uintptr_t)pci_bar_addr(td.bdf, TESTDEV_BAR_MMIO);
	td.mem = pci_bar_addr(td.bdf, TESTDEV_BAR_DEVMEM);
	for (unsigned i = 0; i < td_nranges; i++)
		if (td_ranges[i].bdf == td.bdf && td_ranges[i].bar == TESTDEV_BAR_DEVMEM)
			td.mem_size = td_ranges[i].size;
	return true;
}

static bool overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

uint64_t td_free_addr(uint64_t from, uint64_t size, uint64_t avoid, uint64_t avoid_size)
{
	uint64_t a = (from + size - 1) & ~(size - 1);

	if (a < PCI_MMIO32_START)
		a = PCI_MMIO32_START;
	for (; a + size <= PCI_MMIO32_LIMIT; a += size) {
		bool busy = overlaps(a, size, avoid, avoid_size);

		for (unsigned i = 0; !busy && i < td_nranges; i++)
			busy = !td_ranges[i].io && overlaps(a, size, td_ranges[i].base, td_ranges[i].size);
		if (!busy)
			return a;
	}
	return 0;
}

void td_place(uint64_t mmio, uint64_t mem)
{
	uint16_t cmd = (uint16_t)pci_cfg_read(td.bdf, PCI_COMMAND, 2);

	if (mmio) {
		pci_bar_set(td.bdf, TESTDEV_BAR_MMIO, mmio, false);
		td.mmio = (uintptr_t)mmio;
	}
	if (mem) {
		pci_bar_set(td.bdf, TESTDEV_BAR_DEVMEM, mem, true);
		td.mem = mem;
	}
	pci_cfg_write(td.bdf, PCI_COMMAND, 2, cmd | PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER);
}

/* ---- MSI-X ---- */

#define DEFINE_ISR(n)                                                              \
	__attribute__((interrupt)) static void isr##n(struct guest_intr_frame *f)  \
	{                                                                          \
		(void)f;                                                           \
		td.irqs[n]++;                                                      \
		guest_lapic_eoi();                                                 \
	}
DEFINE_ISR(0)
DEFINE_ISR(1)
DEFINE_ISR(2)
DEFINE_ISR(3)
static void (*const isrs[TESTDEV_MSIX_VECTORS])(struct guest_intr_frame *) = { isr0, isr1, isr2, isr3 };

static uintptr_t msix_entry(unsigned vec)
{
	return td.mmio + TESTDEV_MSIX_TABLE_OFF + vec * PCI_MSIX_ENTRY_SIZE;
}

bool td_msix_setup(void)
{
	unsigned cap = pci_find_cap(td.bdf, PCI_CAP_ID_MSIX);

	td.msix_cap = cap;
	if (!check(cap != 0, "MSI-X capability at 0x%x", cap))
		return false;
	uint16_t ctrl = (uint16_t)pci_cfg_read(td.bdf, cap + PCI_MSIX_CTRL, 2);
	uint32_t table = pci_cfg_read(td.bdf, cap + PCI_MSIX_TABLE, 4);
	uint32_t pba = pci_cfg_read(td.bdf, cap + PCI_MSIX_PBA, 4);
	td.nvec = (ctrl & PCI_MSIX_SIZE_MASK) + 1u;
	bool ok = check(td.nvec == TESTDEV_MSIX_VECTORS, "MSI-X table size %u", td.nvec);
	ok &= check(table == (TESTDEV_MSIX_TABLE_OFF | TESTDEV_BAR_MMIO) &&
		    pba == (TESTDEV_MSIX_PBA_OFF | TESTDEV_BAR_MMIO),
		    "MSI-X table 0x%x, PBA 0x%x (offset | BIR)", table, pba);
	if (!ok)
		return false;
	guest_lapic_enable();
	for (unsigned v = 0; v < TESTDEV_MSIX_VECTORS; v++) {
		guest_irq_set(TD_VEC_BASE + v, isrs[v]);
		mmio_write32(msix_entry(v) + PCI_MSIX_ADDR_LO,
			     MSI_ADDR_BASE | guest_lapic_id() << MSI_ADDR_DEST_SHIFT);
		mmio_write32(msix_entry(v) + PCI_MSIX_ADDR_HI, 0);
		mmio_write32(msix_entry(v) + PCI_MSIX_DATA, TD_VEC_BASE + v);
		mmio_write32(msix_entry(v) + PCI_MSIX_VCTRL, 0);
	}
	pci_cfg_write(td.bdf, cap + PCI_MSIX_CTRL, 2, (ctrl & ~PCI_MSIX_FMASK) | PCI_MSIX_ENABLE);
	return true;
}

void td_msix_mask(unsigned vec, bool masked)
{
	mmio_write32(msix_entry(vec) + PCI_MSIX_VCTRL, masked ? PCI_MSIX_VCTRL_MASK : 0);
}

void td_msix_function_mask(bool masked)
{
	uint16_t ctrl = (uint16_t)pci_cfg_read(td.bdf, td.msix_cap + PCI_MSIX_CTRL, 2);

	ctrl = masked ? ctrl | PCI_MSIX_FMASK : ctrl & ~PCI_MSIX_FMASK;
	pci_cfg_write(td.bdf, td.msix_cap + PCI_MSIX_CTRL, 2, ctrl);
}

bool td_msix_pending(unsigned vec)
{
	return mmio_read32(td.mmio + TESTDEV_MSIX_PBA_OFF + (vec / 32) * 4) >> (vec % 32) & 1u;
}
