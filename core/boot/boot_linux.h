/* SPDX-License-Identifier: MIT */
/*
 * Linux x86 boot protocol, 64-bit entry (internal to core/boot*.c and its tests).
 *
 * A bzImage starts with the real-mode setup (boot sector + setup_sects sectors)
 * whose setup header describes the protected-mode kernel that follows.  modvmm
 * loads that kernel, fills a struct boot_params ("zero page") and enters the
 * kernel's 64-bit entry point (load address + 0x200) in long mode with %rsi
 * pointing to boot_params.
 * Spec: Documentation/arch/x86/boot.rst ("THE REAL-MODE KERNEL HEADER", "64-bit
 * BOOT PROTOCOL") and Documentation/arch/x86/zero-page.rst; layouts from
 * arch/x86/include/uapi/asm/bootparam.h.
 */
#ifndef MODVMM_BOOT_LINUX_H
#define MODVMM_BOOT_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "mem/mem.h"

/*
 * Guest-physical layout of the boot structures: all of it in conventional memory
 * below 640 KiB, clear of the BIOS/ACPI area and of anything a kernel or an initrd
 * may occupy (both are placed at or above 1 MiB).
 */
#define LINUX_GDT_GPA          0x1000ULL  /* boot GDT, LINUX_GDT_ENTRIES descriptors */
#define LINUX_PML4_GPA         0x9000ULL  /* identity map of the first 4 GiB: */
#define LINUX_PDPT_GPA         0xa000ULL  /*   PML4 -> one PDPT -> 4 page directories */
#define LINUX_PD_GPA           0xb000ULL  /*   of 2 MiB pages (0xb000-0xefff) */
#define LINUX_PD_COUNT         4
#define LINUX_STACK_TOP        0x10000ULL /* initial %rsp; the stack page is 0xf000 */
#define LINUX_BOOT_PARAMS_GPA  0x10000ULL /* struct boot_params, 4 KiB */
#define LINUX_CMDLINE_GPA      0x20000ULL /* NUL-terminated command line */
#define LINUX_CMDLINE_MAX      0x10000ULL /* bytes reserved for it, NUL included */
#define LINUX_KERNEL_MIN_GPA   0x100000ULL /* kernels and initrds stay at or above 1 MiB */
#define LINUX_INITRD_ALIGN     0x1000ULL

/* GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18) (boot.rst "64-bit BOOT PROTOCOL"). */
#define LINUX_GDT_ENTRIES      4
#define LINUX_BOOT_CS          0x10
#define LINUX_BOOT_DS          0x18

/* struct boot_params (zero-page.rst): offsets of the fields modvmm writes. */
#define BP_SIZE                0x1000
#define BP_ACPI_RSDP_ADDR      0x070  /* u64, read by protocol >= 2.14 kernels */
#define BP_EXT_RAMDISK_IMAGE   0x0c0  /* u32: bits 63:32 of ramdisk_image */
#define BP_EXT_RAMDISK_SIZE    0x0c4
#define BP_EXT_CMD_LINE_PTR    0x0c8
#define BP_E820_ENTRIES        0x1e8  /* u8 */
#define BP_SENTINEL            0x1ef  /* u8: must stay 0 (the kernel checks it) */
#define BP_HDR                 0x1f1  /* struct setup_header, copied from the image */
#define BP_HDR_MAX_END         0x290  /* edd_mbr_sig_buffer follows the header */
#define BP_E820_TABLE          0x2d0  /* struct boot_e820_entry[BP_E820_MAX] */
#define BP_E820_MAX            128
#define BP_E820_ENTRY_SIZE     20     /* u64 addr, u64 size, u32 type, packed */

/* struct setup_header (boot.rst "THE REAL-MODE KERNEL HEADER"): file offsets, equal
 * to their offsets inside boot_params. */
#define HDR_SETUP_SECTS        0x1f1  /* u8: 0 means 4 */
#define HDR_SYSSIZE            0x1f4  /* u32: protected-mode code size / 16 */
#define HDR_JUMP_LEN           0x201  /* u8: the header ends at 0x202 + this byte */
#define HDR_MAGIC              0x202  /* "HdrS" */
#define HDR_VERSION            0x206  /* u16: protocol version, 0x020c = 2.12 */
#define HDR_TYPE_OF_LOADER     0x210  /* u8 */
#define HDR_LOADFLAGS          0x211  /* u8 */
#define HDR_RAMDISK_IMAGE      0x218  /* u32 */
#define HDR_RAMDISK_SIZE       0x21c  /* u32 */
#define HDR_CMD_LINE_PTR       0x228  /* u32 */
#define HDR_INITRD_ADDR_MAX    0x22c  /* u32: highest address the initrd may occupy */
#define HDR_KERNEL_ALIGNMENT   0x230  /* u32 */
#define HDR_RELOCATABLE        0x234  /* u8 */
#define HDR_MIN_ALIGNMENT      0x235  /* u8: log2 */
#define HDR_XLOADFLAGS         0x236  /* u16 */
#define HDR_CMDLINE_SIZE       0x238  /* u32: longest command line, NUL excluded */
#define HDR_PAYLOAD_OFFSET     0x248  /* u32 */
#define HDR_PAYLOAD_LENGTH     0x24c  /* u32 */
#define HDR_PREF_ADDRESS       0x258  /* u64 */
#define HDR_INIT_SIZE          0x260  /* u32: bytes the kernel needs from its load address */
#define HDR_MIN_END            0x268  /* a protocol 2.12 header extends at least to here */

#define BZ_MAGIC               "HdrS"
#define BZ_SECTOR              512
#define BZ_DEFAULT_SETUP_SECTS 4
#define BZ_MIN_VERSION         0x020c /* 2.12: xloadflags */
#define BZ_VERSION_RSDP        0x020e /* 2.14: acpi_rsdp_addr */
#define BZ_LOADER_UNDEFINED    0xff   /* type_of_loader for loaders without an assigned id */
#define BZ_LOADED_HIGH         0x01   /* loadflags: protected-mode code at 0x100000 */
#define BZ_XLF_KERNEL_64       0x0001 /* xloadflags: 64-bit entry at load address + 0x200 */
#define BZ_ENTRY64_OFFSET      0x200

/* Fields of a validated setup header. */
struct bz_header {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	bool relocatable;
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint64_t init_size;     /* max(init_size, kernel_size) */
	size_t hdr_end;         /* end of the setup header in the file */
	size_t kernel_off;      /* protected-mode kernel: file offset ... */
	size_t kernel_size;     /* ... and size */
};

/* True if the image carries the setup header magic "HdrS" at 0x202. */
bool boot_linux_is_bzimage(const struct boot_image *img);

/* Validate the setup header; *hdr may be NULL.  Returns 0 or -errno with a reason
 * naming the file in err. */
int boot_linux_probe(const struct boot_image *kernel, struct bz_header *hdr, char *err,
                     size_t errlen);

/* Load the protected-mode kernel, the initrd (may be NULL), the command line
 * (req->cmdline, may be NULL), boot_params with the e820 map, the page tables and
 * the GDT, and fill *entry (BOOT_LINUX64).  Everything is checked before guest
 * memory is written; with req->dry_run nothing is written.  Returns 0 or -errno
 * with a reason in err. */
int boot_linux_load(const struct guest_mem *mem, const struct boot_request *req,
                    const struct boot_image *kernel, const struct boot_image *initrd,
                    struct boot_entry *entry, char *err, size_t errlen);

#endif
