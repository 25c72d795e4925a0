/*
 * pci.c - type-1 configuration access, bus-0 scan, BAR sizing (see pci.h).
 */
#include "pci.h"

#include "guest.h"
#include "io.h"
#include "layout.h"

#define PCI_DEVS_PER_BUS 32
#define PCI_FNS_PER_DEV  8
#define PCI_CAP_MAX      48   /* bound on a (hostile) capability chain */

/* 2 MiB pages in a page directory (paging bits: layout.h). */
#define GIB     0x40000000ull
#define MIB2    0x200000ull
#define PT_ENTRIES 512

static uint64_t high_pd[PT_ENTRIES] __attribute__((aligned(4096)));
static uint64_t high_pd_gib = ~0ull;

static void cfg_select(unsigned bdf, unsigned off)
{
	outl(PCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | (uint32_t)bdf << 8 | (off & 0xfcu));
}

uint32_t pci_cfg_read(unsigned bdf, unsigned off, unsigned size)
{
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (off & 3));

	cfg_select(bdf, off);
	switch (size) {
	case 1:
		return inb(port);
	case 2:
		return inw(port);
	default:
		return inl(PCI_CONFIG_DATA);
	}
}

void pci_cfg_write(unsigned bdf, unsigned off, unsigned size, uint32_t v)
{
	uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (off & 3));

	cfg_select(bdf, off);
	switch (size) {
	case 1:
		outb(port, (uint8_t)v);
		break;
	case 2:
		outw(port, (uint16_t)v);
		break;
	default:
		outl(PCI_CONFIG_DATA, v);
		break;
	}
}

unsigned pci_scan(struct pci_fn *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned dev = 0; dev < PCI_DEVS_PER_BUS; dev++) {
		for (unsigned fn = 0; fn < PCI_FNS_PER_DEV; fn++) {
			unsigned bdf = PCI_BDF(0, dev, fn);
			uint32_t id = pci_cfg_read(bdf, PCI_VENDOR_ID, 4);

			if ((id & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			if (n < max) {
				uint32_t cls = pci_cfg_read(bdf, PCI_REVISION, 4);
				out[n] = (struct pci_fn){
					.bdf = bdf, .vendor = (uint16_t)id, .device = (uint16_t)(id >> 16),
					.class_code = (uint8_t)(cls >> 24), .subclass = (uint8_t)(cls >> 16),
				};
			}
			n++;
			if (fn == 0 && !(pci_cfg_read(bdf, PCI_HEADER_TYPE, 1) & PCI_HDR_MULTIFN))
				break;
		}
	}
	return n;
}

uint64_t pci_bar_addr(unsigned bdf, unsigned idx)
{
	uint32_t lo = pci_cfg_read(bdf, PCI_BAR0 + 4 * idx, 4);

	if (lo & PCI_BAR_IO)
		return lo & PCI_BAR_IO_MASK;
	if ((lo & PCI_BAR_MEM64) && idx + 1 < PCI_NUM_BARS)
		return (lo & PCI_BAR_MEM_MASK) |
		       (uint64_t)pci_cfg_read(bdf, PCI_BAR0 + 4 * (idx + 1), 4) << 32;
	return lo & PCI_BAR_MEM_MASK;
}

unsigned pci_bar_probe(unsigned bdf, unsigned idx, struct pci_bar_info *out)
{
	unsigned reg = PCI_BAR0 + 4 * idx;
	uint16_t cmd = (uint16_t)pci_cfg_read(bdf, PCI_COMMAND, 2);
	uint32_t lo = pci_cfg_read(bdf, reg, 4), hi = 0, slo, shi = 0xffffffffu;
	unsigned used = 1;

	*out = (struct pci_bar_info){ 0 };
	pci_cfg_write(bdf, PCI_COMMAND, 2, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	pci_cfg_write(bdf, reg, 4, 0xffffffffu);
	slo = pci_cfg_read(bdf, reg, 4);
	pci_cfg_write(bdf, reg, 4, lo);
	out->io = lo & PCI_BAR_IO;
	out->mem64 = !out->io && (lo & PCI_BAR_MEM64) && idx + 1 < PCI_NUM_BARS;
	out->prefetch = !out->io && (lo & PCI_BAR_PREFETCH);
	if (out->mem64) {
		hi = pci_cfg_read(bdf, reg + 4, 4);
		pci_cfg_write(bdf, reg + 4, 4, 0xffffffffu);
		shi = pci_cfg_read(bdf, reg + 4, 4);
		pci_cfg_write(bdf, reg + 4, 4, hi);
		used = 2;
	}
	pci_cfg_write(bdf, PCI_COMMAND, 2, cmd);
	if (out->io) {
		uint32_t m = slo & PCI_BAR_IO_MASK;

		/* the upper 16 bits of an I/O BAR may read back as 0 (§6.2.5.1) */
		out->addr = lo & PCI_BAR_IO_MASK;
		out->size = (m & 0xffff) ? (uint32_t)(~(m | 0xffff0000u) + 1u) : 0;
		return used;
	}
	uint64_t mask = (slo & PCI_BAR_MEM_MASK) | (uint64_t)shi << 32;

	out->addr = (lo & PCI_BAR_MEM_MASK) | (uint64_t)hi << 32;
	out->size = (slo & PCI_BAR_MEM_MASK) || (out->mem64 && shi) ? ~mask + 1 : 0;
	return used;
}

void pci_bar_set(unsigned bdf, unsigned idx, uint64_t addr, bool mem64)
{
	unsigned reg = PCI_BAR0 + 4 * idx;

	pci_cfg_write(bdf, reg, 4, (uint32_t)addr);
	if (mem64)
		pci_cfg_write(bdf, reg + 4, 4, (uint32_t)(addr >> 32));
}

unsigned pci_find_cap(unsigned bdf, uint8_t id)
{
	if (!(pci_cfg_read(bdf, PCI_STATUS, 2) & PCI_STATUS_CAPS))
		return 0;
	unsigned off = pci_cfg_read(bdf, PCI_CAP_PTR, 1) & 0xfc;
	for (unsigned n = 0; off >= 0x40 && n < PCI_CAP_MAX; n++) {
		if (pci_cfg_read(bdf, off, 1) == id)
			return off;
		off = pci_cfg_read(bdf, off + 1, 1) & 0xfc;
	}
	return 0;
}

void pci_map_high(uint64_t gpa)
{
	uint64_t gib = gpa / GIB, cr3;

	if (gib < 4 || gib >= PT_ENTRIES || gib == high_pd_gib)
		return;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(cr3 & PTE_ADDR_MASK);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & PTE_ADDR_MASK);
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		high_pd[i] = (gib * GIB + i * MIB2) | PTE_P | PTE_RW | PTE_US | PTE_PS | PTE_PWT | PTE_PCD;
	if (high_pd_gib != ~0ull)
		pdpt[high_pd_gib] = 0;
	pdpt[gib] = (uintptr_t)high_pd | PTE_P | PTE_RW | PTE_US;
	high_pd_gib = gib;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}
