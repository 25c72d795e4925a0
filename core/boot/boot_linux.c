/* SPDX-License-Identifier: MIT */
/*
 * Linux x86 boot protocol, 64-bit entry: validate the setup header of a bzImage,
 * load its protected-mode kernel, write boot_params (setup header, command line,
 * initrd, e820 map, RSDP), identity page tables and the boot GDT.
 *
 * The kernel file is untrusted: every header field is range-checked against the
 * file and guest RAM before anything is written.  Fields are little endian and
 * read with memcpy (the file may be unaligned).
 */
#include "boot/boot_linux.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mem/memmap.h"
#include "boot/range.h"

/* x86 SDM vol. 3 §4.5 (4-level paging) and §3.4.5 (segment descriptors). */
#define PTE_P    0x001ULL
#define PTE_RW   0x002ULL
#define PTE_PWT  0x008ULL
#define PTE_PCD  0x010ULL
#define PTE_PS   0x080ULL   /* 2 MiB page in a page-directory entry */
#define PAGE_SIZE 0x1000ULL
#define PAGE_2M  0x200000ULL
#define PT_ENTRIES 512
#define GIB      0x40000000ULL
#define UNCACHED_GIB 3      /* the 4th GiB holds the PCI window, IOAPIC and LAPIC */
/* Flat 4 GiB descriptors: 64-bit code (L=1, type execute/read, accessed) and
 * data (D/B=1, type read/write, accessed), DPL 0, present, 4 KiB granularity. */
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_DATA   0x00cf93000000ffffULL

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;
	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void wr64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

bool boot_linux_is_bzimage(const struct boot_image *img)
{
	return img->size >= HDR_MAGIC + strlen(BZ_MAGIC) &&
	       !memcmp(img->data + HDR_MAGIC, BZ_MAGIC, strlen(BZ_MAGIC));
}

int boot_linux_probe(const struct boot_image *k, struct bz_header *out, char *err, size_t errlen)
{
	struct bz_header h = { 0 };
	const uint8_t *d = k->data;

	if (!boot_linux_is_bzimage(k))
		return boot_fail(err, errlen, -ENOEXEC, "%s has no Linux setup header (\"HdrS\" at 0x%x)",
		                 k->path, HDR_MAGIC);
	if (k->size < HDR_VERSION + sizeof(h.version))
		return boot_fail(err, errlen, -ENOEXEC, "%s: truncated inside the setup header (%zu bytes)",
		                 k->path, k->size);
	h.hdr_end = HDR_MAGIC + (size_t)d[HDR_JUMP_LEN];
	h.version = rd16(d, HDR_VERSION);
	if (h.version < BZ_MIN_VERSION)
		return boot_fail(err, errlen, -ENOEXEC,
		                 "%s uses Linux boot protocol %u.%02u; modvmm needs 2.12 or newer "
		                 "(the 64-bit entry, Linux 3.8+)", k->path, h.version >> 8, h.version & 0xff);
	if (h.hdr_end < HDR_MIN_END)
		return boot_fail(err, errlen, -ENOEXEC,
		                 "%s: setup header ends at 0x%zx, before the protocol 2.12 fields (0x%x)",
		                 k->path, h.hdr_end, HDR_MIN_END);
	if (k->size < h.hdr_end)
		return boot_fail(err, errlen, -ENOEXEC,
		                 "%s: truncated inside the setup header (%zu bytes, header ends at 0x%zx)",
		                 k->path, k->size, h.hdr_end);
	h.loadflags = d[HDR_LOADFLAGS];
	h.xloadflags = rd16(d, HDR_XLOADFLAGS);
	h.relocatable = d[HDR_RELOCATABLE] != 0;
	h.kernel_alignment = rd32(d, HDR_KERNEL_ALIGNMENT);
	h.initrd_addr_max = rd32(d, HDR_INITRD_ADDR_MAX);
	h.cmdline_size = rd32(d, HDR_CMDLINE_SIZE);
	h.pref_address = rd64(d, HDR_PREF_ADDRESS);
	h.init_size = rd32(d, HDR_INIT_SIZE);

	if (!(h.loadflags & BZ_LOADED_HIGH))
		return boot_fail(err, errlen, -ENOEXEC,
		                 "%s is a zImage (loadflags without LOADED_HIGH); modvmm boots bzImages",
		                 k->path);
	if (!(h.xloadflags & BZ_XLF_KERNEL_64))
		return boot_fail(err, errlen, -ENOEXEC,
		                 "%s has no 64-bit entry point (xloadflags 0x%x lacks XLF_KERNEL_64); "
		                 "modvmm boots x86-64 kernels", k->path, h.xloadflags);
	if (h.relocatable && (!is_pow2(h.kernel_alignment) || h.kernel_alignment < PAGE_SIZE))
		return boot_fail(err, errlen, -ENOEXEC, "%s: kernel_alignment 0x%x is not a power of two "
		                 ">= 4 KiB", k->path, h.kernel_alignment);

	unsigned sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : BZ_DEFAULT_SETUP_SECTS;
	uint64_t syssize = (uint64_t)rd32(d, HDR_SYSSIZE) * 16;
	h.kernel_off = (size_t)(sects + 1) * BZ_SECTOR;
	if (k->size <= h.kernel_off || k->size - h.kernel_off < syssize)
		return boot_fail(err, errlen, -ENOEXEC,
		                 "%s is truncated: %zu bytes, but its setup (%zu bytes) and protected-mode "
		                 "kernel (syssize %llu bytes) need %llu", k->path, k->size, h.kernel_off,
		                 (unsigned long long)syssize, (unsigned long long)(h.kernel_off + syssize));
	h.kernel_size = k->size - h.kernel_off;
	if (h.init_size < h.kernel_size)
		h.init_size = h.kernel_size;
	if (out)
		*out = h;
	return 0;
}

/* The lowest address at or above 1 MiB aligned to `align` (a power of two). */
static uint64_t low_aligned(uint64_t align)
{
	return (LINUX_KERNEL_MIN_GPA + align - 1) & ~(align - 1);
}

/* Where the kernel goes: pref_address when [pref, pref + init_size) is RAM, else
 * (relocatable kernels) the lowest kernel_alignment boundary above 1 MiB. */
static int place_kernel(const struct guest_mem *mem, const struct boot_image *k,
                        const struct bz_header *h, uint64_t *load, char *err, size_t errlen)
{
	uint64_t cand[2] = { h->pref_address, h->relocatable ? low_aligned(h->kernel_alignment) : 0 };
	for (int i = 0; i < 2; i++) {
		if (cand[i] < LINUX_KERNEL_MIN_GPA || (cand[i] & (PAGE_SIZE - 1)))
			continue;
		if (mem_gpa_to_hva(mem, cand[i], h->init_size)) {
			*load = cand[i];
			return 0;
		}
	}
	if (!h->relocatable && (h->pref_address < LINUX_KERNEL_MIN_GPA ||
	                        (h->pref_address & (PAGE_SIZE - 1))))
		return boot_fail(err, errlen, -ENOEXEC,
		                 "%s is not relocatable and its pref_address 0x%llx is not a page-aligned "
		                 "address at or above 1 MiB", k->path, (unsigned long long)h->pref_address);
	return boot_fail(err, errlen, -ENOMEM,
	                 "%s needs 0x%llx bytes (init_size) from its load address 0x%llx; guest RAM "
	                 "(%llu MiB) is too small, give the VM more memory", k->path,
	                 (unsigned long long)h->init_size,
	                 (unsigned long long)(h->relocatable ? cand[1] : h->pref_address),
	                 (unsigned long long)(mem->total >> 20));
}

/* The initrd goes as high as possible below min(initrd_addr_max + 1, end of low
 * RAM) and above 1 MiB, outside [klo, klo + ksize): first at the top, else just
 * below the kernel. */
static int place_initrd(const struct guest_mem *mem, const struct bz_header *h,
                        const struct boot_image *initrd, uint64_t klo, uint64_t *gpa,
                        char *err, size_t errlen)
{
	uint64_t low_end = mem->nregions && mem->region[0].gpa == 0 ? mem->region[0].size : 0;
	uint64_t top = (uint64_t)h->initrd_addr_max + 1;
	if (low_end < top)
		top = low_end;
	uint64_t tops[2] = { top, klo < top ? klo : top };
	for (int i = 0; i < 2; i++) {
		uint64_t at = range_fit_below(tops[i], initrd->size, LINUX_KERNEL_MIN_GPA, LINUX_INITRD_ALIGN);
		if (at && !range_overlaps(at, initrd->size, klo, h->init_size) &&
		    mem_gpa_to_hva(mem, at, initrd->size)) {
			*gpa = at;
			return 0;
		}
	}
	return boot_fail(err, errlen, -ENOMEM,
	                 "initrd %s (%zu bytes) does not fit in guest RAM between 1 MiB and 0x%llx "
	                 "(initrd_addr_max or the end of low RAM) beside the kernel (0x%llx-0x%llx); "
	                 "give the VM more memory", initrd->path, initrd->size,
	                 (unsigned long long)top, (unsigned long long)klo,
	                 (unsigned long long)(klo + h->init_size - 1));
}

/* boot_params: the image's setup header, then the fields a boot loader fills. */
static void write_boot_params(uint8_t *bp, const struct guest_mem *mem,
                              const struct boot_image *k, const struct bz_header *h,
                              uint64_t initrd_gpa, uint64_t initrd_size, uint64_t rsdp)
{
	size_t hdr_end = h->hdr_end < BP_HDR_MAX_END ? h->hdr_end : BP_HDR_MAX_END;
	struct memmap_entry map[MEMMAP_MAX_ENTRIES];
	unsigned n = memmap_build(mem, map);

	memset(bp, 0, BP_SIZE);
	memcpy(bp + BP_HDR, k->data + BP_HDR, hdr_end - BP_HDR);
	bp[HDR_TYPE_OF_LOADER] = BZ_LOADER_UNDEFINED;
	wr32(bp, HDR_CMD_LINE_PTR, (uint32_t)LINUX_CMDLINE_GPA);
	wr32(bp, BP_EXT_CMD_LINE_PTR, (uint32_t)(LINUX_CMDLINE_GPA >> 32));
	wr32(bp, HDR_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
	wr32(bp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_gpa >> 32));
	wr32(bp, HDR_RAMDISK_SIZE, (uint32_t)initrd_size);
	wr32(bp, BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	wr64(bp, BP_ACPI_RSDP_ADDR, rsdp);
	bp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = bp + BP_E820_TABLE + (size_t)i * BP_E820_ENTRY_SIZE;
		wr64(e, 0, map[i].addr);
		wr64(e, 8, map[i].size);
		wr32(e, 16, map[i].type);
	}
}

/* PML4[0] -> PDPT[0..3] -> 4 page directories of 2 MiB pages: 0-4 GiB identity. */
static void write_page_tables(const struct guest_mem *mem)
{
	uint64_t *pml4 = mem_gpa_to_hva(mem, LINUX_PML4_GPA, PAGE_SIZE);
	uint64_t *pdpt = mem_gpa_to_hva(mem, LINUX_PDPT_GPA, PAGE_SIZE);
	uint64_t *pd = mem_gpa_to_hva(mem, LINUX_PD_GPA, LINUX_PD_COUNT * PAGE_SIZE);

	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = LINUX_PDPT_GPA | PTE_P | PTE_RW;
	for (unsigned g = 0; g < LINUX_PD_COUNT; g++) {
		pdpt[g] = (LINUX_PD_GPA + g * PAGE_SIZE) | PTE_P | PTE_RW;
		uint64_t attr = PTE_P | PTE_RW | PTE_PS | (g == UNCACHED_GIB ? PTE_PWT | PTE_PCD : 0);
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			pd[g * PT_ENTRIES + i] = (g * GIB + i * PAGE_2M) | attr;
	}
}

static void write_gdt(const struct guest_mem *mem)
{
	uint64_t gdt[LINUX_GDT_ENTRIES] = { 0 };
	gdt[LINUX_BOOT_CS / 8] = GDT_CODE64;
	gdt[LINUX_BOOT_DS / 8] = GDT_DATA;
	memcpy(mem_gpa_to_hva(mem, LINUX_GDT_GPA, sizeof(gdt)), gdt, sizeof(gdt));
}

int boot_linux_load(const struct guest_mem *mem, const struct boot_request *req,
                    const struct boot_image *k, const struct boot_image *initrd,
                    struct boot_entry *entry, char *err, size_t errlen)
{
	struct bz_header h;
	uint64_t load = 0, initrd_gpa = 0;
	int ret = boot_linux_probe(k, &h, err, errlen);
	if (ret)
		return ret;

	/* Pass 1: check everything before writing guest memory. */
	uint8_t *bp = mem_gpa_to_hva(mem, LINUX_BOOT_PARAMS_GPA, BP_SIZE);
	uint8_t *cmd = mem_gpa_to_hva(mem, LINUX_CMDLINE_GPA, LINUX_CMDLINE_MAX);
	if (!bp || !cmd || !mem_gpa_to_hva(mem, 0, MEMMAP_CONV_END))
		return boot_fail(err, errlen, -ENOMEM, "guest RAM too small for the Linux boot information");
	if ((ret = place_kernel(mem, k, &h, &load, err, errlen)))
		return ret;
	size_t cmdlen = req->cmdline ? strlen(req->cmdline) : 0;
	uint64_t cmdmax = h.cmdline_size < LINUX_CMDLINE_MAX - 1 ? h.cmdline_size
	                                                          : LINUX_CMDLINE_MAX - 1;
	if (cmdlen > cmdmax)
		return boot_fail(err, errlen, -E2BIG, "kernel command line is %zu bytes; %s accepts at "
		                 "most %llu (cmdline_size)", cmdlen, k->path, (unsigned long long)cmdmax);
	if (initrd && initrd->size == 0)
		return boot_fail(err, errlen, -EINVAL, "initrd %s is empty", initrd->path);
	if (initrd && (ret = place_initrd(mem, &h, initrd, load, &initrd_gpa, err, errlen)))
		return ret;
	if (req->dry_run)
		return 0;

	/* Pass 2: write. */
	memcpy(mem_gpa_to_hva(mem, load, h.kernel_size), k->data + h.kernel_off, h.kernel_size);
	if (initrd)
		memcpy(mem_gpa_to_hva(mem, initrd_gpa, initrd->size), initrd->data, initrd->size);
	memcpy(cmd, req->cmdline ? req->cmdline : "", cmdlen + 1);
	write_boot_params(bp, mem, k, &h, initrd_gpa, initrd ? initrd->size : 0, req->rsdp);
	write_page_tables(mem);
	write_gdt(mem);

	*entry = (struct boot_entry){
		.mode = BOOT_LINUX64,
		.rip = load + BZ_ENTRY64_OFFSET,
		.rsi = LINUX_BOOT_PARAMS_GPA,
		.rsp = LINUX_STACK_TOP,
		.cr3 = LINUX_PML4_GPA,
		.gdt_base = LINUX_GDT_GPA,
		.gdt_limit = LINUX_GDT_ENTRIES * 8 - 1,
	};
	return 0;
}
