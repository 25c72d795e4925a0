/*
 * testdev.h - guest-side helpers for modvmm's pci-testdev (register layout in
 * plugins/pci-testdev/pci-testdev-regs.h), shared by the pci, pci-hostile and
 * pci-bench guests; and the ok/FAIL reporting of the PCI guests.
 */
#ifndef GUEST_TESTDEV_H
#define GUEST_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "guest.h"
#include "io.h"
#include "irq.h"
#include "pci.h"
#include "pci-testdev-regs.h"

#define PCI_MMIO32_START 0xc0000000ull /* modvmm's 32-bit PCI window (README, memory map) */
#define PCI_MMIO32_LIMIT 0xfec00000ull

#define TD_MAX_FNS     32
#define TD_MAX_RANGES  (TD_MAX_FNS * PCI_NUM_BARS)
#define TD_VEC_BASE    0x40          /* IDT vector of MSI-X vector 0 */
#define TD_WAIT_CYCLES 4000000000ull /* bound on waiting for an interrupt (~1-2 s) */

struct td {
	unsigned bdf;
	uint16_t pio;            /* BAR0 */
	uintptr_t mmio;          /* BAR1 */
	uint64_t mem;            /* BAR2 */
	uint64_t mem_size;
	unsigned msix_cap;
	unsigned nvec;
	volatile unsigned irqs[TESTDEV_MSIX_VECTORS];  /* per vector, counted by the ISRs */
};

/* A memory or I/O range decoded by some function's BAR. */
struct td_range {
	unsigned bdf, bar;
	uint64_t base, size;
	bool io;
};

extern struct td td;
extern struct td_range td_ranges[TD_MAX_RANGES];
extern unsigned td_nranges;

/* Report a check: "ok: ..." or "FAIL: ..." on serial; counts failures. */
__attribute__((format(printf, 2, 3))) bool check(bool cond, const char *fmt, ...);
unsigned check_failures(void);

/* Scan bus 0, size every BAR of every function (recording td_ranges), find
 * the test device; prints what it sees.  Returns false if no test device. */
bool td_discover(bool verbose);
/* An address for `size` bytes (aligned to size) in [from, PCI 32-bit window end)
 * overlapping no recorded range nor `avoid`/`avoid_size`. */
uint64_t td_free_addr(uint64_t from, uint64_t size, uint64_t avoid, uint64_t avoid_size);

/* Move BAR1 and BAR2 (0 = leave) and turn on I/O, memory decode and mastering. */
void td_place(uint64_t mmio, uint64_t mem);

static inline uint32_t td_pio_read(unsigned reg)
{
	return inl((uint16_t)(td.pio + reg));
}

static inline void td_pio_write(unsigned reg, uint32_t v)
{
	outl((uint16_t)(td.pio + reg), v);
}

static inline uint32_t td_mmio_read(unsigned reg)
{
	return mmio_read32(td.mmio + reg);
}

static inline void td_mmio_write(unsigned reg, uint32_t v)
{
	mmio_write32(td.mmio + reg, v);
}

/* MSI-X (CPL0): install the ISRs, point vector i at IDT vector TD_VEC_BASE + i
 * on this CPU's LAPIC, all unmasked, and enable MSI-X.  Returns false if the
 * capability is missing or does not match the device's layout. */
bool td_msix_setup(void);
void td_msix_mask(unsigned vec, bool masked);
void td_msix_function_mask(bool masked);
bool td_msix_pending(unsigned vec);

#endif
