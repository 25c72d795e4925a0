/* SPDX-License-Identifier: MIT */
/*
 * Xen PVH boot (internal to core/boot*.c and its unit test).
 *
 * A PVH kernel is an ELF file carrying the note XEN_ELFNOTE_PHYS32_ENTRY; the
 * boot vCPU starts there in flat 32-bit protected mode with %ebx holding the
 * guest-physical address of a struct hvm_start_info.
 * Spec: xen/include/public/arch-x86/hvm/start_info.h and public/elfnote.h.
 */
#ifndef MODVMM_BOOT_PVH_H
#define MODVMM_BOOT_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "mem/mem.h"
#include "mem/memmap.h"

/*
 * Fixed guest-physical layout of the boot information.  Kernel segments may not
 * overlap these areas; the memory map reports them as ordinary RAM (the kernel
 * copies what it needs early, as it does under Xen and QEMU).
 */
#define PVH_INFO_GPA        0x6000ULL  /* area holding start_info, modlist and memmap */
#define PVH_INFO_SIZE       0x2000ULL
#define PVH_START_INFO_GPA  0x6000ULL  /* struct hvm_start_info, passed in %ebx */
#define PVH_MODLIST_GPA     0x6800ULL  /* struct hvm_modlist_entry[PVH_MAX_MODULES] */
#define PVH_MEMMAP_GPA      0x7000ULL  /* struct hvm_memmap_table_entry[PVH_MAX_MEMMAP] */
#define PVH_CMDLINE_GPA     0x20000ULL /* NUL-terminated kernel command line */
#define PVH_CMDLINE_MAX     0x10000ULL /* bytes reserved for it, NUL included */
#define PVH_MAX_MODULES     1          /* the initrd */
#define PVH_MAX_MEMMAP      MEMMAP_MAX_ENTRIES /* memmap.h */
#define PVH_INITRD_ALIGN    0x1000ULL  /* the initrd starts on a page boundary */

/* start_info.h: XEN_HVM_START_MAGIC_VALUE ("xEn3" with the 0x80 bit of 'E' set). */
#define HVM_START_MAGIC     0x336ec578u
#define HVM_START_VERSION   1u /* version 1 adds memmap_paddr/memmap_entries */
/* start_info.h: XEN_HVM_MEMMAP_TYPE_* (the e820 types). */
#define HVM_MEMMAP_RAM      1u
#define HVM_MEMMAP_RESERVED 2u

/* All fields little endian; layouts from start_info.h. */
struct hvm_start_info {
	uint32_t magic;          /*  0: HVM_START_MAGIC */
	uint32_t version;        /*  4 */
	uint32_t flags;          /*  8: SIF_xxx, 0 here */
	uint32_t nr_modules;     /* 12 */
	uint64_t modlist_paddr;  /* 16: struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr;  /* 24: 0 when there is no command line */
	uint64_t rsdp_paddr;     /* 32: ACPI RSDP, 0 = none */
	uint64_t memmap_paddr;   /* 40: version >= 1 */
	uint32_t memmap_entries; /* 48 */
	uint32_t reserved;       /* 52 */
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;           /* HVM_MEMMAP_* */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "start_info.h layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "start_info.h layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "start_info.h layout");

/* True if the image starts with the ELF magic. */
bool boot_pvh_is_elf(const struct boot_image *img);

/* Validate the ELF headers, program headers and the PVH entry note.
 * Returns 0 or -errno with a reason naming the file in err. */
int boot_pvh_probe(const struct boot_image *kernel, char *err, size_t errlen);

/* Load the kernel's PT_LOAD segments, the initrd (may be NULL) and the command line
 * (req->cmdline, may be NULL), write hvm_start_info (with req->rsdp) and fill
 * *entry.  Everything is checked before guest memory is written; with req->dry_run
 * nothing is written.  Returns 0 or -errno with a reason in err. */
int boot_pvh_load(const struct guest_mem *mem, const struct boot_request *req,
                  const struct boot_image *kernel, const struct boot_image *initrd,
                  struct boot_entry *entry, char *err, size_t errlen);

#endif
