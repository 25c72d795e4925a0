/* SPDX-License-Identifier: MIT */
/*
 * The PCI bus (bus 0 only): host bridge at 00:00.0, type-1 configuration access
 * through ports 0xCF8/0xCFC, functions registered by plugins, BAR assignment and
 * mapping, doorbells (ioeventfd), MSI-X and INTx.
 *
 * Files: pci.c (bus, configuration access, functions, INTx), pci_cfg.c (the
 * configuration-space store), pci_bar.c (BAR registers, windows, mapping),
 * pci_doorbell.c (doorbells), msix.c (MSI-X table and PBA), msi.c (MSI vectors
 * for plugins that emulate the MSI capability), irq.c (GSI routing),
 * pci_vm.c (the VM glue, pci_register, topology printing).
 *
 * Locking: each function has a recursive mutex serializing its configuration
 * space, BAR registers and MSI-X table (vCPU threads and plugin threads call in
 * concurrently; plugin hooks may call back into the same function).  Mapping
 * decisions are bus-wide (overlaps between functions) and take bus->map_lock
 * inside a function's lock.  The CF8 address latch is one atomic word, like the
 * single register of a real host bridge.
 *
 * All KVM calls go through bus->ops (struct kvm_ops), so unit tests run the bus
 * without /dev/kvm.
 */
#ifndef MODVMM_PCI_H
#define MODVMM_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modvmm/plugin.h>

#include "vm/evloop.h"
#include "vm/iobus.h"
#include "pci/irq.h"
#include "vm/kvmops.h"
#include "mem/mem.h"
#include "pci/pci_cfg.h"

#define PCI_SLOTS      32      /* devices on bus 0 (§3.2.2.3.2: 5-bit device number) */
#define PCI_FUNCS      8       /* functions per device (3-bit function number) */
#define PCI_NUM_BARS   6       /* type-0 header BAR registers (§6.2.5.1) */
#define PCI_ROM_BAR    MODVMM_PCI_ROM_BAR /* bar[] slot of the expansion ROM register */
#define PCI_BAR_SLOTS  (PCI_NUM_BARS + 1) /* the six BARs and the ROM */
#define PCI_BAR_REG_SIZE 4

/* BAR register low bits (PCI Local Bus 3.0 §6.2.5.1). */
#define PCI_BAR_IO_SPACE     0x1u
#define PCI_BAR_IO_FLAGS     0x3u
#define PCI_BAR_MEM_TYPE_64  0x4u
#define PCI_BAR_MEM_PREFETCH 0x8u
#define PCI_BAR_MEM_FLAGS    0xfu
/* Expansion ROM register (§6.2.5.2): address bits 31:11, bit 0 ROM Enable. */
#define PCI_ROM_ADDR_MASK    0xfffff800u
#define PCI_ROM_ENABLE       0x1u
#define PCI_ROM_MIN          2048    /* smallest ROM: 11 low bits are not address */
#define PCI_BAR_IO_MIN       4       /* smallest I/O BAR */
#define PCI_BAR_MEM_MIN      16      /* smallest memory BAR */
#define PCI_PAGE_SIZE        4096ULL /* memory BARs are placed page aligned */
/* memslots of one split BAR: each area may lose a table and a PBA hole */
#define PCI_BAR_MAX_PIECES   (MODVMM_BAR_MAX_AREAS * 3)

/* Port window the core assigns I/O BARs from; x86 has 64 KiB of ports. */
#define PCI_IO_WINDOW_BASE   0xc000ULL
#define PCI_IO_WINDOW_END    0x10000ULL
#define PCI_IO_SPACE_END     0x10000ULL
/* [PCI_MMIO32_END, 4 GiB): IOAPIC, LAPIC, KVM identity map and TSS, firmware.
 * A BAR placed there is refused. */
#define PCI_RESERVED_BASE    PCI_MMIO32_END
#define PCI_RESERVED_END     0x100000000ULL

/* Type-1 configuration mechanism (PCI Local Bus 3.0 §3.2.2.3.2). */
#define PCI_CONFIG_ADDRESS   0xcf8
#define PCI_CONFIG_DATA      0xcfc
#define PCI_CONFIG_PORTS     4
#define PCI_CONFIG_ENABLE    0x80000000u
#define PCI_CONFIG_BUS(a)    (((a) >> 16) & 0xffu)
#define PCI_CONFIG_DEVFN(a)  (((a) >> 8) & 0xffu)
#define PCI_CONFIG_REG(a)    ((a) & 0xfcu)

/* Host bridge 00:00.0: Intel 82441FX PMC (i440FX), class 06/00/00 (host bridge),
 * the identity QEMU's pc machine gives it. */
#define PCI_HOST_VENDOR      0x8086
#define PCI_HOST_DEVICE      0x1237
#define PCI_CLASS_BRIDGE     0x06
#define PCI_SUBCLASS_HOST    0x00

struct pci_bus;
struct pci_msix;
struct pci_msi;

/* A bump allocator over [base, end) with natural alignment. */
struct pci_window {
	const char *name;
	uint64_t base, end, next;
};

struct pci_doorbell {
	struct pci_doorbell *next;
	uint64_t offset;
	unsigned len;
	bool match;
	uint64_t data;
	int fd;
	modvmm_doorbell_cb cb;
	void *opaque;
	bool assigned;       /* KVM has it at `addr` */
	uint64_t addr;
	uint64_t failed_addr; /* logged once */
};

struct pci_bar_state {
	struct modvmm_pci *fn;
	unsigned idx;
	bool present;
	bool upper;                /* upper half of the MEM64 BAR idx - 1 */
	struct modvmm_bar desc;
	uint64_t addr;             /* programmed base address (address bits only) */
	bool rom_enable;           /* the ROM register's enable bit (PCI_ROM_BAR only) */
	/* mapping state, under bus->map_lock */
	bool want;                 /* decode on, address programmed */
	uint64_t want_addr;
	bool mapped;
	uint64_t map_addr;
	int64_t io_id;             /* iobus id of a trapped BAR */
	int slot;                  /* memslot of a direct-mapped BAR */
	bool refused;              /* refusal of want_addr logged */
	uint64_t refused_addr;
	bool msix;                 /* the MSI-X table or PBA lives here */
	/* split mapping of a trapped BAR (ABI 2.3 areas): the plugin's areas, and
	 * the memslots mapped for them around the MSI-X pages (map_lock) */
	struct modvmm_bar_area areas[MODVMM_BAR_MAX_AREAS];
	unsigned nareas;
	struct pci_bar_piece { uint64_t off, len; int slot; } piece[PCI_BAR_MAX_PIECES];
	unsigned npieces;
	struct pci_doorbell *doorbells;
};

struct modvmm_pci {
	struct pci_bus *bus;
	struct modvmm_dev *dev;    /* NULL for the host bridge and in unit tests */
	unsigned slot, fn;
	char name[96];             /* "00:03.0 [device td0]" for messages */
	struct modvmm_pci_id id;
	const struct modvmm_pci_cfg_ops *cfg_ops;
	void *cfg_opaque;
	unsigned abi_minor;        /* of the plugin that registered it (MODVMM_ABI_MINOR: the core's own) */
	/* cfg_ops->header_written, NULL for plugins built before ABI 2.3 */
	void (*header_written)(void *opaque, unsigned offset, unsigned size, uint32_t value);
	pthread_mutex_t lock;      /* recursive */
	struct pci_cfg cfg;
	struct pci_bar_state bar[PCI_BAR_SLOTS];
	struct pci_msix *msix;
	struct pci_msi *msi;       /* MSI vectors of pci_msi_vector (msi.c) */
	unsigned intx_gsi;         /* 0 when the function has no pin */
	bool intx_level;           /* as the device drives it */
	bool intx_line;            /* what the IOAPIC sees from us (level && !disabled) */
	int intx_trigger, intx_resample;
	unsigned warnings;         /* placement warnings printed (bus->map_lock) */
};

struct pci_bus_params {
	const struct kvm_ops *ops;
	void *ctx;
	struct iobus *pio, *mmio;
	const struct guest_mem *mem;
	struct evloop *loop;          /* doorbell callbacks; may be NULL in tests */
	unsigned phys_bits;           /* guest physical address width */
	uint32_t reserved_slots;      /* bit S: slot S is claimed by a config key */
};

struct pci_bus {
	const struct kvm_ops *ops;
	void *ctx;
	struct iobus *pio, *mmio;
	const struct guest_mem *mem;
	struct evloop *loop;
	uint64_t phys_limit;
	bool any_length;              /* KVM_CAP_IOEVENTFD_ANY_LENGTH */
	pthread_mutex_t map_lock;
	_Atomic uint32_t cf8;
	uint32_t reserved_slots;
	struct modvmm_pci *fns[PCI_SLOTS * PCI_FUNCS];
	struct pci_window io, mem32, mem64;
	struct irq_router irq;
	int64_t port_ids[2];
};

/* ---- pci.c ---- */
int pci_bus_init(struct pci_bus *bus, const struct pci_bus_params *p) __attribute__((warn_unused_result));
void pci_bus_destroy(struct pci_bus *bus);
/* Add a function at slot.fn (slot < 0: the next free slot from 1 that no config
 * key claims, function 0).  -EBUSY when taken, -ENOSPC when the bus is full. */
int pci_func_add(struct pci_bus *bus, int slot, int fn, const struct modvmm_pci_id *id,
                 const struct modvmm_pci_cfg_ops *cfg_ops, void *opaque,
                 struct modvmm_pci **out) __attribute__((warn_unused_result));
struct modvmm_pci *pci_func_at(struct pci_bus *bus, unsigned slot, unsigned fn);
/* Configuration access as the guest sees it (masks, BARs, hooks, side effects).
 * Bad offsets or sizes read all ones and drop writes. */
uint32_t pci_guest_cfg_read(struct modvmm_pci *pci, unsigned off, unsigned size);
void pci_guest_cfg_write(struct modvmm_pci *pci, unsigned off, unsigned size, uint32_t v);
/* A message about a function, once per call site condition (caller decides). */
void pci_log(const struct modvmm_pci *pci, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A warning caused by the guest: at most PCI_WARN_LIMIT per function, then one
 * line saying the rest are suppressed (a hostile guest cannot flood stderr). */
#define PCI_WARN_LIMIT 16
void pci_guest_warn(struct modvmm_pci *pci, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- host services (plugin ABI 2) ---- */
uint32_t pci_config_read(struct modvmm_pci *pci, unsigned offset, unsigned size);
void pci_config_write(struct modvmm_pci *pci, unsigned offset, unsigned size, uint32_t v);
int pci_cap_add(struct modvmm_pci *pci, uint8_t cap_id, const void *body, unsigned len, unsigned *offset);
int pci_bar_add(struct modvmm_pci *pci, unsigned idx, const struct modvmm_bar *bar);
uint64_t pci_bar_addr(struct modvmm_pci *pci, unsigned idx);
int pci_doorbell_add(struct modvmm_pci *pci, unsigned bar, uint64_t offset, unsigned len, bool match,
                     uint64_t data, modvmm_doorbell_cb cb, void *opaque, int *fd);
int pci_msix_init(struct modvmm_pci *pci, unsigned nvec, unsigned table_bar, uint64_t table_off,
                  unsigned pba_bar, uint64_t pba_off);
int pci_msix_fd(struct modvmm_pci *pci, unsigned vec);
int pci_msix_notify(struct modvmm_pci *pci, unsigned vec);
int pci_intx(struct modvmm_pci *pci, int level);
int pci_intx_fds(struct modvmm_pci *pci, int *trigger, int *resample);
/* ABI 2.2 */
int pci_msi_vector(struct modvmm_pci *pci, unsigned vec, uint64_t addr, uint32_t data, bool deliver);
/* ABI 2.4: the guest's view as a Function Level Reset leaves it (plugin.h). */
void pci_reset(struct modvmm_pci *pci);

/* ---- pci_bar.c ---- */
void pci_window_init(struct pci_window *w, const char *name, uint64_t base, uint64_t end);
/* Allocate `size` bytes aligned to `align` (powers of two). -ENOSPC when full. */
int pci_window_alloc(struct pci_window *w, uint64_t size, uint64_t align, uint64_t *out);
/* The 32-bit value of BAR register `reg` (0-5, or PCI_ROM_BAR) as the guest reads it. */
uint32_t pci_bar_reg_read(const struct modvmm_pci *pci, unsigned reg);
/* A guest write of BAR register `reg`; maps, moves or unmaps the region. */
void pci_bar_reg_write(struct modvmm_pci *pci, unsigned reg, uint32_t v);
/* Re-evaluate every BAR of the function (after a COMMAND decode change). */
void pci_bar_update_all(struct modvmm_pci *pci);
/* Function reset: every BAR address and the ROM Enable bit to 0, then
 * re-evaluated (fn lock held). */
void pci_bar_reset_all(struct modvmm_pci *pci);
/* "BAR0".."BAR5" or "ROM", for messages. */
const char *pci_bar_name(const struct pci_bar_state *b);
/* Unmap and map again (the dispatch of a trapped BAR changed). */
void pci_bar_remap(struct pci_bar_state *b);
/* Unmap every BAR of the function and free its doorbells (bus teardown). */
void pci_bar_release(struct modvmm_pci *pci);
/* "io", "mem32", "mem64" and the backing name, for the topology. */
const char *pci_bar_type_name(const struct pci_bar_state *b);
const char *pci_bar_backing_name(const struct pci_bar_state *b);

/* ---- pci_doorbell.c (called with bus->map_lock held) ---- */
void pci_doorbells_attach(struct pci_bar_state *b);
void pci_doorbells_detach(struct pci_bar_state *b);
void pci_doorbells_free(struct pci_bar_state *b);

/* ---- msix.c ---- */
/* Serve an access to BAR `idx` at `off` if it falls in the MSI-X table or PBA. */
bool msix_bar_access(struct modvmm_pci *pci, unsigned idx, uint64_t off, unsigned size, bool write,
                     uint64_t *value);
/* Does [off, off + size) touch the MSI-X capability (off in config space)? */
bool msix_cap_touched(const struct modvmm_pci *pci, unsigned off, unsigned size);
/* The guest wrote the MSI-X capability: re-evaluate enable and function mask. */
void msix_control_written(struct modvmm_pci *pci);
unsigned msix_vectors(const struct modvmm_pci *pci);
/* The page-aligned ranges of BAR `idx` that hold the MSI-X table or PBA:
 * stores up to two (offset, length) pairs, returns how many. */
unsigned msix_bar_pages(const struct modvmm_pci *pci, unsigned idx, uint64_t off[2], uint64_t len[2]);
/* "MSI-X 4 vectors (table BAR1+0x0, PBA BAR1+0x800)" or "" without MSI-X. */
void msix_describe(const struct modvmm_pci *pci, char *buf, size_t len);
void msix_free(struct modvmm_pci *pci);
/* Function reset: MSI-X disabled, function unmasked, every entry 0 and
 * masked, pending bits dropped (fn lock held). */
void msix_reset(struct modvmm_pci *pci);

/* ---- msi.c ---- */
#define PCI_MSI_MAX_VECTORS 32   /* §6.8.1.3: Multiple Message Capable, at most 32 */
void msi_free(struct modvmm_pci *pci);

#endif
