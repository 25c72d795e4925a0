/* SPDX-License-Identifier: MIT */
/*
 * One PCI function's 256-byte configuration space as a byte store with write
 * masks: guest writes change only writable bits, clear write-1-to-clear bits,
 * and leave read-only and unimplemented registers alone.  The device (plugin)
 * writes the store unmasked.  Pure data: no locking, no KVM (unit-testable).
 *
 * Offsets and bits are those of the type-0 header, PCI Local Bus Specification
 * 3.0 §6.1-§6.2 (PCI_CFG_*), and the capability list of §6.7.
 */
#ifndef MODVMM_PCI_CFG_H
#define MODVMM_PCI_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include <modvmm/plugin.h>

#define PCI_CFG_SIZE          256   /* conventional configuration space (§6.1) */

/* Type-0 header registers (§6.1, figure 6-1). */
#define PCI_CFG_VENDOR_ID     0x00
#define PCI_CFG_DEVICE_ID     0x02
#define PCI_CFG_COMMAND       0x04
#define PCI_CFG_STATUS        0x06
#define PCI_CFG_REVISION      0x08
#define PCI_CFG_PROG_IF       0x09
#define PCI_CFG_SUBCLASS      0x0a
#define PCI_CFG_CLASS         0x0b
#define PCI_CFG_CACHE_LINE    0x0c
#define PCI_CFG_LATENCY       0x0d
#define PCI_CFG_HEADER_TYPE   0x0e
#define PCI_CFG_BAR0          0x10  /* six 32-bit BAR registers (§6.2.5.1) */
#define PCI_CFG_BAR_END       0x28
#define PCI_CFG_SUBSYS_VENDOR 0x2c
#define PCI_CFG_SUBSYS_ID     0x2e
#define PCI_CFG_ROM           0x30  /* expansion ROM register (§6.2.5.2): pci_bar.c, PCI_ROM_BAR */
#define PCI_CFG_CAP_PTR       0x34
#define PCI_CFG_INT_LINE      0x3c
#define PCI_CFG_INT_PIN       0x3d
#define PCI_CFG_HEADER_END    0x40  /* device-specific registers and capabilities follow */

/* COMMAND register bits (§6.2.2). */
#define PCI_CMD_IO            0x0001u  /* I/O space decode */
#define PCI_CMD_MEM           0x0002u  /* memory space decode */
#define PCI_CMD_MASTER        0x0004u  /* bus master */
#define PCI_CMD_PARITY        0x0040u  /* parity error response */
#define PCI_CMD_SERR          0x0100u  /* SERR# enable */
#define PCI_CMD_INTX_DISABLE  0x0400u
#define PCI_CMD_WRITABLE      (PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_PARITY | \
                               PCI_CMD_SERR | PCI_CMD_INTX_DISABLE)

/* STATUS register bits (§6.2.3). */
#define PCI_STATUS_INTX       0x0008u  /* interrupt status (read-only) */
#define PCI_STATUS_CAP_LIST   0x0010u  /* capabilities list present (read-only) */
#define PCI_STATUS_W1C        0xf900u  /* parity, target/master aborts, SERR: write 1 to clear */

#define PCI_HEADER_MULTIFUNCTION 0x80u /* HEADER_TYPE bit 7 (§6.2.1) */

/* Capability list (§6.7): byte 0 ID, byte 1 next pointer, dword aligned. */
#define PCI_CAP_ID            0
#define PCI_CAP_NEXT          1
#define PCI_CAP_HDR_LEN       2
#define PCI_CAP_ALIGN         4
#define PCI_CAP_ID_MSIX       0x11  /* MSI-X (§6.8.2); added only by pci_msix_init */

struct pci_cfg {
	uint8_t data[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
	uint8_t w1c[PCI_CFG_SIZE];     /* bits the guest clears by writing 1 */
	unsigned cap_end;              /* where the next capability goes */
	unsigned last_cap;             /* offset of the last capability, 0 if none */
};

/* Header from `id`; COMMAND/cache line/latency/interrupt line writable,
 * STATUS error bits write-1-to-clear, everything else read-only. */
void pci_cfg_init(struct pci_cfg *c, const struct modvmm_pci_id *id);
/* True for size 1, 2 or 4 within one dword of the 256-byte space. */
bool pci_cfg_access_ok(unsigned off, unsigned size);
/* Little-endian read of the store (caller checked pci_cfg_access_ok-like bounds:
 * off + size <= PCI_CFG_SIZE, size <= 4). */
uint32_t pci_cfg_get(const struct pci_cfg *c, unsigned off, unsigned size);
/* Unmasked write (the device's view). */
void pci_cfg_set(struct pci_cfg *c, unsigned off, unsigned size, uint32_t v);
/* Guest write: writable bits take v, W1C bits set in v are cleared, others kept. */
void pci_cfg_guest_write(struct pci_cfg *c, unsigned off, unsigned size, uint32_t v);
/* Replace the write mask of [off, off + size). */
void pci_cfg_set_wmask(struct pci_cfg *c, unsigned off, unsigned size, uint32_t mask);
/* Append capability `id` whose bytes after the 2-byte header are body[0..len).
 * Returns 0 and its offset in *off, -ENOSPC when it does not fit, -EINVAL. */
int pci_cfg_cap_add(struct pci_cfg *c, uint8_t id, const void *body, unsigned len, unsigned *off);
/* Offset of the first capability with this ID, 0 if none (walks the chain). */
unsigned pci_cfg_cap_find(const struct pci_cfg *c, uint8_t id);

#endif
