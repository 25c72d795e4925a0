/* SPDX-License-Identifier: MIT */
/*
 * Builds small x86 ELF images for test_boot.c: an ELF header, two program headers
 * (PT_LOAD, PT_NOTE), a GNU build-id note, optionally the Xen PVH entry note,
 * a payload and two section headers (NULL, SHT_NOTE).  Included by one test only,
 * hence static functions in a header.
 */
#ifndef MODVMM_TEST_ELF_BUILDER_H
#define MODVMM_TEST_ELF_BUILDER_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PAYLOAD    0x300   /* p_filesz of the test segment */
#define MEMSZ      0x1000  /* default p_memsz: the rest must be zeroed */
#define XEN_NOTE_PHYS32_ENTRY 18 /* xen/include/public/elfnote.h, spelled out independently of core */

struct elf_opts {
	bool is64;
	unsigned note_size;     /* 0: no Xen note; else its descsz */
	bool note_in_section;   /* note reachable only through a SHT_NOTE section */
	uint64_t entry;
	uint64_t paddr;
	uint64_t memsz;
};

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* Append a note: namesz/descsz/type words, name and desc padded to 4 bytes. */
static size_t put_note(uint8_t *p, const char *name, uint32_t type, const void *desc,
                       uint32_t descsz)
{
	uint32_t w[3] = { (uint32_t)strlen(name) + 1, descsz, type };
	size_t off = sizeof(w);
	memcpy(p, w, sizeof(w));
	memcpy(p + off, name, w[0]);
	off += (w[0] + 3) & ~3u;
	memcpy(p + off, desc, descsz);
	return off + ((descsz + 3) & ~3u);
}

/* Build an image into buf (>= 4096 bytes); returns its size.
 * Layout: ehdr, 2 phdrs (LOAD, NOTE), notes, payload, 2 shdrs (NULL, NOTE). */
static size_t build_elf(uint8_t *buf, const struct elf_opts *o)
{
	const size_t ehsz = o->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	const size_t phsz = o->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	const size_t shsz = o->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	const size_t note_off = ehsz + 2 * phsz;
	uint8_t gnu_desc[20] = { 1, 2, 3 }, xen_desc[8];
	size_t notes_len, payload_off, shoff, end;

	memset(buf, 0, 4096);
	memcpy(xen_desc, &o->entry, 8);
	notes_len = put_note(buf + note_off, "GNU", NT_GNU_BUILD_ID, gnu_desc, 20);
	if (o->note_size)
		notes_len += put_note(buf + note_off + notes_len, "Xen", XEN_NOTE_PHYS32_ENTRY,
		                      xen_desc, o->note_size);
	payload_off = (note_off + notes_len + 15) & ~(size_t)15;
	for (size_t i = 0; i < PAYLOAD; i++)
		buf[payload_off + i] = payload_byte(i);
	shoff = payload_off + PAYLOAD;
	end = shoff + 2 * shsz;
	uint32_t note_ptype = o->note_in_section ? PT_NULL : PT_NOTE;

	if (o->is64) {
		Elf64_Ehdr eh = {
			.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			.e_entry = 0xffffffff81000000ULL, .e_phoff = ehsz, .e_shoff = shoff,
			.e_ehsize = ehsz, .e_phentsize = phsz, .e_phnum = 2,
			.e_shentsize = shsz, .e_shnum = 2,
		};
		Elf64_Phdr ph[2] = {
			{ .p_type = PT_LOAD, .p_offset = payload_off, .p_vaddr = 0xffffffff81000000ULL,
			  .p_paddr = o->paddr, .p_filesz = PAYLOAD, .p_memsz = o->memsz, .p_align = 4096 },
			{ .p_type = note_ptype, .p_offset = note_off, .p_filesz = notes_len, .p_align = 4 },
		};
		Elf64_Shdr sh[2] = {
			{ 0 },
			{ .sh_type = SHT_NOTE, .sh_offset = note_off, .sh_size = notes_len,
			  .sh_addralign = 4 },
		};
		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS64;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(buf, &eh, sizeof(eh));
		memcpy(buf + ehsz, ph, sizeof(ph));
		memcpy(buf + shoff, sh, sizeof(sh));
	} else {
		Elf32_Ehdr eh = {
			.e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
			.e_entry = (uint32_t)o->entry, .e_phoff = ehsz, .e_shoff = shoff,
			.e_ehsize = ehsz, .e_phentsize = phsz, .e_phnum = 2,
			.e_shentsize = shsz, .e_shnum = 2,
		};
		Elf32_Phdr ph[2] = {
			{ .p_type = PT_LOAD, .p_offset = payload_off, .p_vaddr = (uint32_t)o->paddr,
			  .p_paddr = (uint32_t)o->paddr, .p_filesz = PAYLOAD, .p_memsz = (uint32_t)o->memsz,
			  .p_align = 4096 },
			{ .p_type = note_ptype, .p_offset = note_off, .p_filesz = notes_len, .p_align = 4 },
		};
		Elf32_Shdr sh[2] = {
			{ 0 },
			{ .sh_type = SHT_NOTE, .sh_offset = note_off, .sh_size = notes_len,
			  .sh_addralign = 4 },
		};
		memcpy(eh.e_ident, ELFMAG, SELFMAG);
		eh.e_ident[EI_CLASS] = ELFCLASS32;
		eh.e_ident[EI_DATA] = ELFDATA2LSB;
		eh.e_ident[EI_VERSION] = EV_CURRENT;
		memcpy(buf, &eh, sizeof(eh));
		memcpy(buf + ehsz, ph, sizeof(ph));
		memcpy(buf + shoff, sh, sizeof(sh));
	}
	return end;
}

/* Offset of the PT_LOAD payload in an image from build_elf. */
static size_t payload_offset(const uint8_t *buf)
{
	if (buf[EI_CLASS] == ELFCLASS64) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + sizeof(Elf64_Ehdr), sizeof(ph));
		return ph.p_offset;
	}
	Elf32_Phdr ph;
	memcpy(&ph, buf + sizeof(Elf32_Ehdr), sizeof(ph));
	return ph.p_offset;
}

#endif
