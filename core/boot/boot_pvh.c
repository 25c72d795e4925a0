/* SPDX-License-Identifier: MIT */
/*
 * Xen PVH boot: find the entry note, load PT_LOAD segments at their physical
 * addresses, write hvm_start_info, the memory map, the command line and the initrd.
 *
 * The kernel file is untrusted: every offset and size is checked against the file
 * size and against guest RAM (mem_gpa_to_hva) before anything is copied.
 * ELF layouts: System V ABI (gABI) ch. 4 "ELF Header", "Program Header", "Note
 * Section"; fields are little endian, read with memcpy (the file may be unaligned).
 */
#include "boot/boot_pvh.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mem/memmap.h"
#include "boot/range.h"

/* xen/include/public/elfnote.h: the 32-bit physical entry point of a PVH kernel. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
/* Note name "Xen" with its NUL (namesz 4), as written by ELFNOTE(Xen, ...). */
#define XEN_NOTE_NAME "Xen"
#define XEN_NOTE_NAMESZ 4
/* gABI "Note Section": namesz, descsz and type words precede the name. */
#define NOTE_HDR_SIZE 12

#define GIB (1024ULL * 1024 * 1024)

/* The ELF header fields PVH needs, from either class. */
struct elf_info {
	bool is64;
	uint64_t phoff, shoff;
	unsigned phnum, shnum;
	uint32_t entry;         /* from the Xen note */
};

/* One program or section header, widened to 64 bits. */
struct elf_seg {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz, align;
};


/* [off, off + len) lies inside a file of `size` bytes (overflow-safe). */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

bool boot_pvh_is_elf(const struct boot_image *img)
{
	return img->size >= SELFMAG && !memcmp(img->data, ELFMAG, SELFMAG);
}

static int parse_header(const struct boot_image *img, struct elf_info *info,
                        char *err, size_t errlen)
{
	const uint8_t *id = img->data;
	unsigned type, machine, want_machine, phentsize, shentsize, want_ph, want_sh;

	*info = (struct elf_info){ 0 };
	if (img->size < EI_NIDENT)
		return boot_fail(err, errlen, -ENOEXEC, "%s: ELF header truncated (%zu bytes)",
		            img->path, img->size);
	if (id[EI_DATA] != ELFDATA2LSB)
		return boot_fail(err, errlen, -ENOEXEC, "%s is not a little-endian ELF file", img->path);
	if (id[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;
		if (img->size < sizeof(eh))
			goto truncated;
		memcpy(&eh, img->data, sizeof(eh));
		info->is64 = true;
		type = eh.e_type, machine = eh.e_machine, want_machine = EM_X86_64;
		info->phoff = eh.e_phoff, info->phnum = eh.e_phnum, phentsize = eh.e_phentsize;
		info->shoff = eh.e_shoff, info->shnum = eh.e_shnum, shentsize = eh.e_shentsize;
		want_ph = sizeof(Elf64_Phdr), want_sh = sizeof(Elf64_Shdr);
	} else if (id[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;
		if (img->size < sizeof(eh))
			goto truncated;
		memcpy(&eh, img->data, sizeof(eh));
		type = eh.e_type, machine = eh.e_machine, want_machine = EM_386;
		info->phoff = eh.e_phoff, info->phnum = eh.e_phnum, phentsize = eh.e_phentsize;
		info->shoff = eh.e_shoff, info->shnum = eh.e_shnum, shentsize = eh.e_shentsize;
		want_ph = sizeof(Elf32_Phdr), want_sh = sizeof(Elf32_Shdr);
	} else {
		return boot_fail(err, errlen, -ENOEXEC, "%s: unknown ELF class %u", img->path, id[EI_CLASS]);
	}

	if (type != ET_EXEC)
		return boot_fail(err, errlen, -ENOEXEC,
		            "%s is not an executable ELF file (e_type %u); PVH kernels are ET_EXEC",
		            img->path, type);
	if (machine != want_machine)
		return boot_fail(err, errlen, -ENOEXEC,
		            "%s is an ELF%d file for machine %u; modvmm boots %s",
		            img->path, info->is64 ? 64 : 32, machine,
		            info->is64 ? "x86-64 (EM_X86_64)" : "i386 (EM_386)");
	if (info->phnum == 0)
		return boot_fail(err, errlen, -ENOEXEC, "%s: ELF file has no program headers", img->path);
	if (phentsize != want_ph)
		return boot_fail(err, errlen, -ENOEXEC, "%s: program header size %u, expected %u",
		            img->path, phentsize, want_ph);
	if (!in_file(info->phoff, (uint64_t)info->phnum * want_ph, img->size))
		return boot_fail(err, errlen, -ENOEXEC,
		            "%s: %u program headers at offset 0x%llx extend past the end of the "
		            "file (%zu bytes); is it truncated?",
		            img->path, info->phnum, (unsigned long long)info->phoff, img->size);
	/* Section headers only serve as a fallback for finding the note: ignore bad ones. */
	if (shentsize != want_sh || !in_file(info->shoff, (uint64_t)info->shnum * want_sh, img->size))
		info->shnum = 0;
	return 0;

truncated:
	return boot_fail(err, errlen, -ENOEXEC, "%s: ELF header truncated (%zu bytes)",
	            img->path, img->size);
}

static void get_phdr(const struct boot_image *img, const struct elf_info *info, unsigned i,
                     struct elf_seg *s)
{
	if (info->is64) {
		Elf64_Phdr ph;
		memcpy(&ph, img->data + info->phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		*s = (struct elf_seg){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz,
		                       ph.p_align };
	} else {
		Elf32_Phdr ph;
		memcpy(&ph, img->data + info->phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		*s = (struct elf_seg){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz,
		                       ph.p_align };
	}
}

/* Section header i as an elf_seg (type, offset, filesz = sh_size, align). */
static void get_shdr(const struct boot_image *img, const struct elf_info *info, unsigned i,
                     struct elf_seg *s)
{
	if (info->is64) {
		Elf64_Shdr sh;
		memcpy(&sh, img->data + info->shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		*s = (struct elf_seg){ .type = sh.sh_type, .offset = sh.sh_offset,
		                       .filesz = sh.sh_size, .align = sh.sh_addralign };
	} else {
		Elf32_Shdr sh;
		memcpy(&sh, img->data + info->shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		*s = (struct elf_seg){ .type = sh.sh_type, .offset = sh.sh_offset,
		                       .filesz = sh.sh_size, .align = sh.sh_addralign };
	}
}

/* Look for the Xen PHYS32_ENTRY note among the notes at [off, off + len).
 * Returns 1 (found, *entry set), 0 (not there) or -errno. */
static int scan_notes(const struct boot_image *img, uint64_t off, uint64_t len, uint64_t align,
                      uint32_t *entry, char *err, size_t errlen)
{
	/* gABI: entries are 4-byte aligned; some producers use 8 for ELF64 notes. */
	uint64_t pad = align == 8 ? 7 : 3;
	if (!in_file(off, len, img->size))
		return boot_fail(err, errlen, -ENOEXEC,
		            "%s: notes at offset 0x%llx (0x%llx bytes) extend past the end of the file",
		            img->path, (unsigned long long)off, (unsigned long long)len);
	while (len >= NOTE_HDR_SIZE) {
		const uint8_t *p = img->data + off;
		uint32_t w[3]; /* namesz, descsz, type */
		memcpy(w, p, sizeof(w));
		uint64_t name_len = ((uint64_t)w[0] + pad) & ~pad;
		uint64_t desc_len = ((uint64_t)w[1] + pad) & ~pad;
		uint64_t room = len - NOTE_HDR_SIZE;
		if (name_len > room || w[1] > room - name_len)
			return 0; /* malformed tail: stop looking */
		const uint8_t *name = p + NOTE_HDR_SIZE, *desc = name + name_len;
		if (w[0] == XEN_NOTE_NAMESZ && !memcmp(name, XEN_NOTE_NAME, XEN_NOTE_NAMESZ) &&
		    w[2] == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint64_t v;
			if (w[1] == 4) {
				uint32_t v32;
				memcpy(&v32, desc, 4);
				v = v32;
			} else if (w[1] == 8) {
				memcpy(&v, desc, 8);
			} else {
				return boot_fail(err, errlen, -ENOEXEC,
				            "%s: the Xen PVH entry note has a %u-byte descriptor; "
				            "expected 4 or 8", img->path, w[1]);
			}
			if (v >= 4 * GIB)
				return boot_fail(err, errlen, -ENOEXEC,
				            "%s: PVH entry point 0x%llx is above 4 GiB", img->path,
				            (unsigned long long)v);
			*entry = (uint32_t)v;
			return 1;
		}
		if (desc_len > room - name_len)
			return 0;
		off += NOTE_HDR_SIZE + name_len + desc_len;
		len -= NOTE_HDR_SIZE + name_len + desc_len;
	}
	return 0;
}

/* Headers, every PT_LOAD's file range and the entry note. */
static int parse(const struct boot_image *img, struct elf_info *info, char *err, size_t errlen)
{
	struct elf_seg s;
	unsigned loads = 0;
	int ret = parse_header(img, info, err, errlen);
	if (ret)
		return ret;

	for (unsigned i = 0; i < info->phnum; i++) {
		get_phdr(img, info, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		loads++;
		if (s.filesz > s.memsz)
			return boot_fail(err, errlen, -ENOEXEC,
			            "%s: segment %u has p_filesz 0x%llx larger than p_memsz 0x%llx",
			            img->path, i, (unsigned long long)s.filesz,
			            (unsigned long long)s.memsz);
		if (!in_file(s.offset, s.filesz, img->size))
			return boot_fail(err, errlen, -ENOEXEC,
			            "%s: segment %u (file offset 0x%llx, 0x%llx bytes) extends past the "
			            "end of the file (%zu bytes); is it truncated?", img->path, i,
			            (unsigned long long)s.offset, (unsigned long long)s.filesz, img->size);
		if (s.paddr + s.memsz < s.paddr)
			return boot_fail(err, errlen, -ENOEXEC,
			            "%s: segment %u at 0x%llx with size 0x%llx wraps around", img->path,
			            i, (unsigned long long)s.paddr, (unsigned long long)s.memsz);
	}
	if (!loads)
		return boot_fail(err, errlen, -ENOEXEC, "%s: ELF file has no loadable segments", img->path);

	ret = 0;
	for (unsigned i = 0; i < info->phnum && !ret; i++) {
		get_phdr(img, info, i, &s);
		if (s.type == PT_NOTE)
			ret = scan_notes(img, s.offset, s.filesz, s.align, &info->entry, err, errlen);
	}
	for (unsigned i = 0; i < info->shnum && !ret; i++) {
		get_shdr(img, info, i, &s);
		if (s.type == SHT_NOTE)
			ret = scan_notes(img, s.offset, s.filesz, s.align, &info->entry, err, errlen);
	}
	if (ret < 0)
		return ret;
	if (!ret)
		return boot_fail(err, errlen, -ENOEXEC,
		            "%s is an ELF file without a Xen PVH entry note "
		            "(XEN_ELFNOTE_PHYS32_ENTRY); modvmm boots PVH ELF kernels", img->path);
	return 0;
}

int boot_pvh_probe(const struct boot_image *kernel, char *err, size_t errlen)
{
	struct elf_info info;
	return parse(kernel, &info, err, errlen);
}

/* Refuse a kernel range that would overwrite the boot information. */
static int check_reserved(const char *path, const char *what, uint64_t gpa, uint64_t len,
                          char *err, size_t errlen)
{
	static const struct { uint64_t gpa, len; const char *name; } areas[] = {
		{ PVH_INFO_GPA, PVH_INFO_SIZE, "start_info/memmap area" },
		{ PVH_CMDLINE_GPA, PVH_CMDLINE_MAX, "command-line area" },
		{ MEMMAP_BIOS_GPA, MEMMAP_BIOS_END - MEMMAP_BIOS_GPA, "BIOS/ACPI area" },
	};
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (range_overlaps(gpa, len, areas[i].gpa, areas[i].len))
			return boot_fail(err, errlen, -EINVAL,
			            "%s: %s (0x%llx-0x%llx) overlaps modvmm's PVH %s 0x%llx-0x%llx",
			            path, what, (unsigned long long)gpa,
			            (unsigned long long)(gpa + len - 1), areas[i].name,
			            (unsigned long long)areas[i].gpa,
			            (unsigned long long)(areas[i].gpa + areas[i].len - 1));
	return 0;
}

/* Pick a home for the initrd as high as possible in low RAM, above the boot
 * information and clear of the kernel's [klo, khi) and of the BIOS/ACPI area: first
 * just below the end of low RAM, else just below the kernel, else below 640 KiB. */
static int place_initrd(const struct guest_mem *mem, const struct boot_image *initrd,
                        uint64_t klo, uint64_t khi, uint64_t *gpa, char *err, size_t errlen)
{
	const uint64_t floor = PVH_CMDLINE_GPA + PVH_CMDLINE_MAX;
	uint64_t size = initrd->size;
	uint64_t low_end = mem->nregions && mem->region[0].gpa == 0 ? mem->region[0].size : 0;
	if (low_end > MEM_LOW_LIMIT)
		low_end = MEM_LOW_LIMIT;

	uint64_t tops[3] = { low_end, klo < low_end ? klo : low_end, MEMMAP_CONV_END };
	for (int i = 0; i < 3; i++) {
		uint64_t at = range_fit_below(tops[i], size, floor, PVH_INITRD_ALIGN);
		if (at && !range_overlaps(at, size, klo, khi - klo) &&
		    !range_overlaps(at, size, MEMMAP_BIOS_GPA, MEMMAP_BIOS_END - MEMMAP_BIOS_GPA) &&
		    mem_gpa_to_hva(mem, at, size)) {
			*gpa = at;
			return 0;
		}
	}
	return boot_fail(err, errlen, -ENOMEM,
	            "initrd %s (%zu bytes) does not fit in low guest RAM (0x%llx-0x%llx) beside "
	            "the kernel (0x%llx-0x%llx); give the VM more memory", initrd->path,
	            initrd->size, (unsigned long long)floor, (unsigned long long)(low_end - 1),
	            (unsigned long long)klo, (unsigned long long)(khi - 1));
}

/* The memory map shared with the Linux boot path (memmap.c; the types are the
 * same e820 values). */
static unsigned fill_memmap(const struct guest_mem *mem, struct hvm_memmap_table_entry *map)
{
	struct memmap_entry m[MEMMAP_MAX_ENTRIES];
	unsigned n = memmap_build(mem, m);
	for (unsigned i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_table_entry){ .addr = m[i].addr, .size = m[i].size,
		                                          .type = m[i].type };
	return n;
}

int boot_pvh_load(const struct guest_mem *mem, const struct boot_request *req,
                  const struct boot_image *kernel, const struct boot_image *initrd,
                  struct boot_entry *entry, char *err, size_t errlen)
{
	const char *cmdline = req->cmdline;
	struct elf_info info;
	struct elf_seg s;
	char what[64];
	int ret = parse(kernel, &info, err, errlen);
	if (ret)
		return ret;

	uint8_t *info_hva = mem_gpa_to_hva(mem, PVH_INFO_GPA, PVH_INFO_SIZE);
	uint8_t *cmdline_hva = mem_gpa_to_hva(mem, PVH_CMDLINE_GPA, PVH_CMDLINE_MAX);
	if (!info_hva || !cmdline_hva)
		return boot_fail(err, errlen, -ENOMEM, "guest RAM too small for the PVH boot information");

	/* Pass 1: check everything before writing guest memory. */
	uint64_t klo = UINT64_MAX, khi = 0;
	for (unsigned i = 0; i < info.phnum; i++) {
		get_phdr(kernel, &info, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		snprintf(what, sizeof(what), "segment %u", i);
		if ((ret = check_reserved(kernel->path, what, s.paddr, s.memsz, err, errlen)))
			return ret;
		if (!mem_gpa_to_hva(mem, s.paddr, s.memsz))
			return boot_fail(err, errlen, -ENOMEM,
			            "%s: segment %u (0x%llx-0x%llx) does not fit in guest RAM "
			            "(%llu MiB)", kernel->path, i, (unsigned long long)s.paddr,
			            (unsigned long long)(s.paddr + s.memsz - 1),
			            (unsigned long long)(mem->total >> 20));
		if (s.paddr < klo)
			klo = s.paddr;
		if (s.paddr + s.memsz > khi)
			khi = s.paddr + s.memsz;
	}
	if (!mem_gpa_to_hva(mem, info.entry, 1))
		return boot_fail(err, errlen, -ENOEXEC, "%s: PVH entry point 0x%x is outside guest RAM",
		            kernel->path, info.entry);
	size_t cmdlen = cmdline ? strlen(cmdline) : 0;
	if (cmdlen >= PVH_CMDLINE_MAX)
		return boot_fail(err, errlen, -E2BIG, "kernel command line is %zu bytes; the limit is %llu",
		            cmdlen, PVH_CMDLINE_MAX - 1);
	uint64_t initrd_gpa = 0;
	if (initrd && initrd->size == 0)
		return boot_fail(err, errlen, -EINVAL, "initrd %s is empty", initrd->path);
	if (initrd && (ret = place_initrd(mem, initrd, klo, khi, &initrd_gpa, err, errlen)))
		return ret;
	if (req->dry_run)
		return 0;

	/* Pass 2: write. */
	for (unsigned i = 0; i < info.phnum; i++) {
		get_phdr(kernel, &info, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		uint8_t *dst = mem_gpa_to_hva(mem, s.paddr, s.memsz);
		if (s.filesz)
			memcpy(dst, kernel->data + s.offset, s.filesz);
		memset(dst + s.filesz, 0, s.memsz - s.filesz);
	}

	memset(info_hva, 0, PVH_INFO_SIZE);
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.memmap_paddr = PVH_MEMMAP_GPA,
		.rsdp_paddr = req->rsdp,
	};
	struct hvm_memmap_table_entry map[PVH_MAX_MEMMAP];
	si.memmap_entries = fill_memmap(mem, map);
	memcpy(info_hva + (PVH_MEMMAP_GPA - PVH_INFO_GPA), map, si.memmap_entries * sizeof(map[0]));
	if (cmdline) {
		memcpy(cmdline_hva, cmdline, cmdlen + 1);
		si.cmdline_paddr = PVH_CMDLINE_GPA;
	}
	if (initrd) {
		struct hvm_modlist_entry mod = { .paddr = initrd_gpa, .size = initrd->size };
		memcpy(mem_gpa_to_hva(mem, initrd_gpa, initrd->size), initrd->data, initrd->size);
		memcpy(info_hva + (PVH_MODLIST_GPA - PVH_INFO_GPA), &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_GPA;
	}
	memcpy(info_hva + (PVH_START_INFO_GPA - PVH_INFO_GPA), &si, sizeof(si));

	*entry = (struct boot_entry){ .mode = BOOT_PVH32, .rip = info.entry,
	                              .rbx = PVH_START_INFO_GPA };
	return 0;
}
