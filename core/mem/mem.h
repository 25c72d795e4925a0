/* SPDX-License-Identifier: MIT */
/* Guest RAM: memfd-backed, low part below 3 GiB, the rest from 4 GiB. */
#ifndef MODVMM_MEM_H
#define MODVMM_MEM_H

#include <stdbool.h>
#include <stdint.h>

/* Guest-physical memory map (see DESIGN.md "Core"). */
#define MEM_LOW_LIMIT     0xC0000000ULL  /* low RAM ends at 3 GiB at most */
#define MEM_HIGH_BASE     0x100000000ULL /* RAM beyond 3 GiB continues at 4 GiB */
#define PCI_MMIO32_BASE   0xC0000000ULL  /* 32-bit PCI window */
#define PCI_MMIO32_END    0xFEC00000ULL  /* IOAPIC starts here */
#define MEM_HIGH_ALIGN    0x40000000ULL  /* the 64-bit PCI window starts 1 GiB-aligned above RAM */
#define PCI_MMIO64_SIZE   0x1000000000ULL /* 64 GiB */

#define MEM_MAX_REGIONS 2

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint64_t fd_offset;
};

struct guest_mem {
	int fd;                 /* memfd holding all RAM, -1 when none */
	uint64_t total;         /* bytes of RAM */
	unsigned nregions;
	struct mem_region region[MEM_MAX_REGIONS];
	uint64_t mmio64_base;   /* start of the 64-bit PCI window */
};

/* Create `size` bytes of RAM (memfd, MAP_SHARED). Returns 0 or -errno. */
int mem_init(struct guest_mem *mem, uint64_t size, bool hugepages) __attribute__((warn_unused_result));
void mem_free(struct guest_mem *mem);
/* Host address of [gpa, gpa+len) if it lies entirely inside one RAM region, else NULL.
 * len == 0 is treated as 1. Overflow-safe. */
void *mem_gpa_to_hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* True if [gpa, gpa+len) intersects guest RAM. */
bool mem_overlaps_ram(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

#endif
