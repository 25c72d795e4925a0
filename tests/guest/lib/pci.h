/*
 * pci.h - PCI for the test guests: type-1 configuration access, bus-0
 * enumeration, BAR sizing and programming, capabilities, MSI-X entries.
 * PCI Local Bus Specification 3.0 (§ numbers below); configuration mechanism #1
 * (ports 0xcf8/0xcfc) from §3.2.2.3.2.  Works at CPL0 and at CPL3 (the TSS
 * I/O bitmap allows every port).
 */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_CONFIG_ENABLE  0x80000000u

/* Type-0 header (§6.1, figure 6-1). */
#define PCI_VENDOR_ID     0x00
#define PCI_DEVICE_ID     0x02
#define PCI_COMMAND       0x04
#define PCI_STATUS        0x06
#define PCI_REVISION      0x08
#define PCI_PROG_IF       0x09
#define PCI_SUBCLASS      0x0a
#define PCI_CLASS         0x0b
#define PCI_HEADER_TYPE   0x0e
#define PCI_BAR0          0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_SUBSYS_ID     0x2e
#define PCI_ROM           0x30    /* expansion ROM register (§6.2.5.2) */
#define PCI_CAP_PTR       0x34
#define PCI_INT_LINE      0x3c
#define PCI_INT_PIN       0x3d
#define PCI_NUM_BARS      6

#define PCI_CMD_IO        0x0001u /* §6.2.2 */
#define PCI_CMD_MEM       0x0002u
#define PCI_CMD_MASTER    0x0004u
#define PCI_CMD_INTX_OFF  0x0400u
#define PCI_STATUS_INTX   0x0008u /* §6.2.3 */
#define PCI_STATUS_CAPS   0x0010u
#define PCI_HDR_MULTIFN   0x80u   /* §6.2.1 */

/* BAR low bits (§6.2.5.1). */
#define PCI_BAR_IO        0x1u
#define PCI_BAR_MEM64     0x4u
#define PCI_BAR_PREFETCH  0x8u
#define PCI_BAR_IO_MASK   (~0x3u)
#define PCI_BAR_MEM_MASK  (~0xfu)
#define PCI_ROM_ENABLE    0x1u    /* §6.2.5.2: bits 31:11 address, bit 0 enable */
#define PCI_ROM_ADDR_MASK 0xfffff800u

#define PCI_CLASS_BRIDGE      0x06
#define PCI_SUBCLASS_HOST     0x00

/* MSI-X capability (§6.8.2). */
#define PCI_CAP_ID_MSIX       0x11
#define PCI_MSIX_CTRL         2      /* message control, from the capability start */
#define PCI_MSIX_TABLE        4      /* table offset | BIR */
#define PCI_MSIX_PBA          8      /* PBA offset | BIR */
#define PCI_MSIX_SIZE_MASK    0x07ffu
#define PCI_MSIX_FMASK        0x4000u
#define PCI_MSIX_ENABLE       0x8000u
#define PCI_MSIX_BIR_MASK     0x7u
#define PCI_MSIX_ENTRY_SIZE   16
#define PCI_MSIX_ADDR_LO      0
#define PCI_MSIX_ADDR_HI      4
#define PCI_MSIX_DATA         8
#define PCI_MSIX_VCTRL        12
#define PCI_MSIX_VCTRL_MASK   0x1u

/* MSI address for xAPIC (Intel SDM vol. 3A §11.11.1): 0xFEE, destination id in
 * bits 19:12; data: vector in bits 7:0, fixed delivery, edge. */
#define MSI_ADDR_BASE         0xfee00000u
#define MSI_ADDR_DEST_SHIFT   12

#define PCI_BDF(bus, dev, fn) ((unsigned)(bus) << 8 | (unsigned)(dev) << 3 | (unsigned)(fn))
#define PCI_BDF_DEV(bdf)      (((bdf) >> 3) & 0x1f)
#define PCI_BDF_FN(bdf)       ((bdf) & 7)

uint32_t pci_cfg_read(unsigned bdf, unsigned off, unsigned size);
void pci_cfg_write(unsigned bdf, unsigned off, unsigned size, uint32_t v);

struct pci_fn {
	unsigned bdf;
	uint16_t vendor, device;
	uint8_t class_code, subclass;
};

/* Functions present on bus 0 (vendor != 0xffff), at most max; returns the count. */
unsigned pci_scan(struct pci_fn *out, unsigned max);

struct pci_bar_info {
	uint64_t addr;   /* as programmed */
	uint64_t size;   /* 0: not implemented */
	bool io, mem64, prefetch;
};

/* Size BAR idx (§6.2.5.1: write all ones, read back, restore) with decode
 * turned off meanwhile.  Returns the BAR registers it uses (2 for a 64-bit
 * BAR, 1 otherwise, 1 for an unimplemented BAR with size 0). */
unsigned pci_bar_probe(unsigned bdf, unsigned idx, struct pci_bar_info *out);
/* Program BAR idx (both registers for a 64-bit BAR). */
void pci_bar_set(unsigned bdf, unsigned idx, uint64_t addr, bool mem64);
/* Current address of BAR idx, without the flag bits. */
uint64_t pci_bar_addr(unsigned bdf, unsigned idx);

/* Offset of the first capability with this id, 0 if none (§6.7). */
unsigned pci_find_cap(unsigned bdf, uint8_t id);

/* Map the 1 GiB region containing gpa (below 512 GiB) uncached in the
 * identity map, so 64-bit BARs above 4 GiB are reachable.  CPL0 only. */
void pci_map_high(uint64_t gpa);

#endif
