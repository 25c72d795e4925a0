/* SPDX-License-Identifier: MIT */
#include "mem/memmap.h"

#include <stdbool.h>
#include <stddef.h>

#include "log.h"

static unsigned add(struct memmap_entry *map, unsigned n, uint64_t addr, uint64_t end, uint32_t type)
{
	if (end > addr)
		map[n++] = (struct memmap_entry){ .addr = addr, .size = end - addr, .type = type };
	return n;
}

unsigned memmap_build(const struct guest_mem *mem, struct memmap_entry map[MEMMAP_MAX_ENTRIES])
{
	unsigned n = 0;
	bool apic_done = false;
	for (unsigned i = 0; i < mem->nregions && i < MEM_MAX_REGIONS; i++) {
		const struct mem_region *r = &mem->region[i];
		uint64_t end = r->gpa + r->size;
		if (!apic_done && r->gpa >= MEMMAP_APIC_END) {
			n = add(map, n, MEMMAP_APIC_GPA, MEMMAP_APIC_END, MEMMAP_RESERVED);
			apic_done = true;
		}
		if (r->gpa == 0 && end >= MEMMAP_BIOS_END) {
			/* split the low region around the BIOS area */
			n = add(map, n, 0, MEMMAP_CONV_END, MEMMAP_RAM);
			n = add(map, n, MEMMAP_BIOS_GPA, MEMMAP_BIOS_END, MEMMAP_RESERVED);
			n = add(map, n, MEMMAP_BIOS_END, end, MEMMAP_RAM);
		} else {
			n = add(map, n, r->gpa, end, MEMMAP_RAM);
		}
	}
	if (!apic_done)
		n = add(map, n, MEMMAP_APIC_GPA, MEMMAP_APIC_END, MEMMAP_RESERVED);
	return n;
}

const char *memmap_type_name(uint32_t type)
{
	return type == MEMMAP_RAM ? "usable" : type == MEMMAP_RESERVED ? "reserved" : "unknown";
}

void memmap_print(const struct guest_mem *mem)
{
	struct memmap_entry map[MEMMAP_MAX_ENTRIES];
	unsigned n = memmap_build(mem, map);
	for (unsigned i = 0; i < n; i++)
		pr_info("e820: [mem 0x%016llx-0x%016llx] %s", (unsigned long long)map[i].addr,
		        (unsigned long long)(map[i].addr + map[i].size - 1), memmap_type_name(map[i].type));
}
