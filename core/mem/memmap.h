/* SPDX-License-Identifier: MIT */
/*
 * The guest's physical memory map as handed to the kernel: the e820 table of the
 * Linux boot protocol and the PVH memmap are both built from memmap_build(), so
 * every boot path describes the same layout.
 * Types: ACPI 6.5 §15 "System Address Map Interfaces", Table 15.1 (the e820 types).
 */
#ifndef MODVMM_MEMMAP_H
#define MODVMM_MEMMAP_H

#include <stdint.h>

#include "mem/mem.h"

#define MEMMAP_RAM      1u /* AddressRangeMemory */
#define MEMMAP_RESERVED 2u /* AddressRangeReserved */

/* PC layout below 1 MiB: conventional memory ends at 640 KiB; 0xA0000-0xFFFFF is
 * the VGA/option-ROM/BIOS area, reserved (modvmm keeps its ACPI tables there). */
#define MEMMAP_CONV_END  0xA0000ULL
#define MEMMAP_BIOS_GPA  MEMMAP_CONV_END
#define MEMMAP_BIOS_END  0x100000ULL

/* Reserved below 4 GiB: IOAPIC (0xFEC00000), HPET, LAPIC (0xFEE00000), the KVM
 * identity-map and TSS pages, up to 4 GiB.  The 32-bit PCI window below it is not
 * RAM and is left out of the map. */
#define MEMMAP_APIC_GPA  PCI_MMIO32_END
#define MEMMAP_APIC_END  0x100000000ULL

/* Conventional RAM, BIOS area, RAM from 1 MiB, APIC area, RAM above 4 GiB. */
#define MEMMAP_MAX_ENTRIES (MEM_MAX_REGIONS + 3)

struct memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;   /* MEMMAP_RAM or MEMMAP_RESERVED */
};

/* Fill map[] in address order from the RAM layout of `mem`; returns the number of
 * entries.  The first RAM region must start at 0 and hold at least 1 MiB. */
unsigned memmap_build(const struct guest_mem *mem, struct memmap_entry map[MEMMAP_MAX_ENTRIES]);

/* "usable" / "reserved", the words Linux prints for these types. */
const char *memmap_type_name(uint32_t type);

/* Log the map at info level (-v), one "e820: [mem 0x...-0x...] TYPE" line per
 * entry: the format of the kernel's own "BIOS-e820:" lines. */
void memmap_print(const struct guest_mem *mem);

#endif
