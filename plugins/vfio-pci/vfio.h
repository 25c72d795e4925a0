/* SPDX-License-Identifier: MIT */
/* vfio-pci plugin: what its files share (see vfio-pci.c for the whole story). */
#ifndef MODVMM_VFIO_PCI_H
#define MODVMM_VFIO_PCI_H

#include <linux/vfio.h>
#include <stdbool.h>
#include <stdint.h>

#include <modvmm/plugin.h>


/* Type-0 configuration header (PCI Local Bus 3.0 §6.1). */
#define CFG_VENDOR        0x00
#define CFG_DEVICE        0x02
#define CFG_COMMAND       0x04
#define CFG_STATUS        0x06
#define CFG_REVISION      0x08
#define CFG_PROG_IF       0x09
#define CFG_SUBCLASS      0x0a
#define CFG_CLASS         0x0b
#define CFG_HEADER_TYPE   0x0e
#define CFG_BAR0          0x10
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS_ID     0x2e
#define CFG_CAP_PTR       0x34
#define CFG_INT_PIN       0x3d
#define CFG_HEADER_END    0x40
#define CFG_SIZE          256
#define HEADER_TYPE_MASK  0x7f     /* bit 7: multi-function */
#define STATUS_CAPS       0x0010u  /* §6.2.3: capability list present */
#define CMD_IO            0x0001u  /* §6.2.2 */
#define CMD_MEM           0x0002u
#define CMD_MASTER        0x0004u
#define NUM_BARS          6
#define BAR_IO            0x1u     /* §6.2.5.1 */
#define BAR_MEM_TYPE_MASK 0x6u
#define BAR_MEM_TYPE_64   0x4u
#define BAR_PREFETCH      0x8u
#define CAP_MAX_WALK      48       /* (256 - 64) / 4 capabilities at most */

/* MSI capability (§6.8.1), 64-bit layout, offsets from its start. */
#define CAP_ID_MSI        0x05
#define CAP_ID_MSIX       0x11
#define MSIX_CONTROL      2
#define MSIX_TABLE        4        /* offset | BIR */
#define MSIX_PBA          8
#define MSIX_SIZE_MASK    0x7ffu   /* table size - 1 */
#define MSIX_BIR_MASK     0x7u
#define MSI_CONTROL       2
#define MSI_ADDR_LO       4
#define MSI_ADDR_HI       8
#define MSI_DATA          12
#define MSI_LEN           16       /* 14 bytes, padded to a dword */
#define MSI_CTL_ENABLE    0x0001u
#define MSI_CTL_MMC_SHIFT 1        /* Multiple Message Capable: log2(vectors) */
#define MSI_CTL_MME_SHIFT 4        /* Multiple Message Enable */
#define MSI_CTL_MM_MASK   0x7u
#define MSI_CTL_64BIT     0x0080u
#define MSI_MAX_LOG2      5        /* 32 vectors */

/* PCI Express capability (PCIe Base 4.0 §7.5.3), version 2 layout: the guest
 * sees a Root Complex Integrated Endpoint whose one feature is Function Level
 * Reset (§6.6.2), offered when the device has FLR and VFIO can reset it. */
#define CAP_ID_EXP        0x10
#define EXP_FLAGS         2        /* capability version, device/port type */
#define EXP_DEVCAP        4
#define EXP_DEVCTL        8
#define EXP_LEN           0x3c     /* through Slot Control 2 (version 2) */
#define EXP_FLAGS_VERS2   0x0002u
#define EXP_TYPE_RC_END   0x0090u  /* device/port type 9 in bits 7:4 */
#define EXP_DEVCAP_FLR    0x10000000u
#define EXP_DEVCTL_FLR    0x8000u  /* Initiate Function Level Reset (reads 0) */

#define PAGE_SIZE_4K      4096u

struct vbar {
	struct vfio_pci *v;
	unsigned idx;
	uint64_t size;       /* 0: not implemented */
	uint64_t offset;     /* of the region in the device fd */
	bool io;
	void *map;           /* mmapped region (a HOSTBUF BAR or a split one), or NULL */
	unsigned nareas;     /* split: the directly mapped areas (around MSI-X) */
	uint64_t reads, writes; /* accesses trapped to bar_read/bar_write (atomic) */
};

struct vfio_pci {
	const struct modvmm_host *host;
	struct modvmm_dev *dev;
	struct modvmm_pci *pci;
	char addr[32];       /* DDDD:BB:DD.F */
	int container, group, device;
	uint64_t cfg_offset; /* configuration-space region in the device fd */
	bool dma_mapped;
	unsigned ndma;
	struct modvmm_mem_region *dma;
	struct vbar bar[NUM_BARS];
	uint8_t irq_pin;
	/* MSI as the guest sees it; lock: the function's config lock (hooks) */
	unsigned msi_cap;    /* virtual offset; 0: the device has no MSI */
	unsigned msi_log2;   /* vectors the device offers (log2) */
	unsigned msi_on;     /* vectors enabled in VFIO, 0 when MSI is off */
	bool intx_on;
	/* MSI-X (§6.8.2): the device's table and PBA, served by the core's MSI-X
	 * emulation in trapped BARs; every vector's irqfd handed to VFIO at start */
	unsigned msix_nvec;  /* 0: the device has no MSI-X */
	unsigned msix_table_bar, msix_pba_bar;
	uint64_t msix_table_off, msix_pba_off;
	bool msix_on;
	int intx_trigger, intx_resample;
	bool warned_irq;
	bool can_reset;      /* VFIO_DEVICE_FLAGS_RESET */
	unsigned exp_cap;    /* the virtual PCIe capability (FLR), 0: none */
	uint64_t resets;     /* guest-initiated resets done (atomic) */
	bool warned_reset;
	uint8_t *rom;        /* rom = on: the device's expansion ROM, read at create */
	uint64_t rom_size;
};

/* vfio-pci.c: log "host ADDR: ..." as an error and return ret. */
int vfio_fail(struct vfio_pci *v, int ret, const char *fmt, ...) MODVMM_PRINTF(3, 4);

/* host.c: the host function, its IOMMU group, the container, DMA mappings. */
bool vfio_addr_ok(const char *s);
/* The function exists, has an IOMMU group (in *group) and is bound to vfio-pci. */
int vfio_check_host_fn(struct vfio_pci *v, char *group, size_t len);
/* Container, group (viable) and device fd. */
int vfio_open_group(struct vfio_pci *v, const char *group);
/* Every guest RAM region at IOVA = guest-physical address. */
int vfio_dma_map_ram(struct vfio_pci *v);
void vfio_dma_unmap_ram(struct vfio_pci *v);

/* config.c: the device's configuration space, the guest's view, interrupts. */
uint32_t vfio_hw_cfg_read(struct vfio_pci *v, unsigned off, unsigned size);
void vfio_hw_cfg_write(struct vfio_pci *v, unsigned off, unsigned size, uint32_t val);
unsigned vfio_hw_find_cap(struct vfio_pci *v, uint8_t id);
int vfio_set_irqs(struct vfio_pci *v, unsigned index, unsigned action, const int *fds, unsigned count);
void vfio_intx_enable(struct vfio_pci *v, bool on);
void vfio_set_master(struct vfio_pci *v, bool on);
int vfio_add_msi_cap(struct vfio_pci *v);
int vfio_add_exp_cap(struct vfio_pci *v);
extern const struct modvmm_pci_cfg_ops vfio_cfg_ops;

/* bars.c: BARs (direct, split around MSI-X, trapped) and the expansion ROM. */
int vfio_add_bar(struct vfio_pci *v, unsigned idx, unsigned *used);
int vfio_add_rom(struct vfio_pci *v);

#endif
