/* SPDX-License-Identifier: MIT */
/* PVH boot: ELF images built here, loaded into a small guest RAM. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_files.h"

#include "boot/boot.h"
#include "boot/boot_pvh.h"
#include "mem/mem.h"
#include "boot-fixtures/elf_builder.h"

#define RAM_SIZE   (16ULL << 20)
#define LOAD_GPA   0x100000ULL
#define ENTRY_GPA  0x100040ULL

static const struct elf_opts elf64_default = {
	.is64 = true, .note_size = 8, .entry = ENTRY_GPA, .paddr = LOAD_GPA, .memsz = MEMSZ,
};

/* ---- fixtures ------------------------------------------------------------- */

struct fx {
	struct guest_mem mem;
	char path[256];         /* the kernel */
	char initrd[256];
	char err[1024];
	struct boot_entry entry;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	if (!fx || mem_init(&fx->mem, RAM_SIZE, false))
		return -1;
	test_temp_file(fx->path, sizeof(fx->path), "modvmm-boot");
	test_temp_file(fx->initrd, sizeof(fx->initrd), "modvmm-boot");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	unlink(fx->path);
	unlink(fx->initrd);
	mem_free(&fx->mem);
	free(fx);
	return 0;
}

static void *gpa(struct fx *fx, uint64_t addr, uint64_t len)
{
	void *p = mem_gpa_to_hva(&fx->mem, addr, len);
	assert_non_null(p);
	return p;
}

static int load(struct fx *fx, const char *cmdline, const char *initrd)
{
	struct boot_request req = { .kernel = fx->path, .cmdline = cmdline, .initrd = initrd,
	                            .vcpus = 1 };
	fx->err[0] = 0;
	return boot_load(&fx->mem, &req, &fx->entry, fx->err, sizeof(fx->err));
}

static void write_elf(struct fx *fx, const struct elf_opts *o)
{
	uint8_t buf[4096];
	test_write_file(fx->path, buf, build_elf(buf, o));
}

static struct hvm_start_info start_info(struct fx *fx)
{
	struct hvm_start_info si;
	memcpy(&si, gpa(fx, PVH_START_INFO_GPA, sizeof(si)), sizeof(si));
	return si;
}

static void assert_err(struct fx *fx, const char *needle)
{
	if (!strstr(fx->err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", fx->err, needle);
	assert_non_null(strstr(fx->err, fx->path));
}

/* ---- loading -------------------------------------------------------------- */

static void check_loaded(struct fx *fx, uint64_t rip)
{
	const uint8_t *p = gpa(fx, LOAD_GPA, MEMSZ);
	assert_int_equal(fx->entry.mode, BOOT_PVH32);
	assert_int_equal(fx->entry.rip, rip);
	assert_int_equal(fx->entry.rbx, PVH_START_INFO_GPA);
	for (size_t i = 0; i < PAYLOAD; i++)
		assert_int_equal(p[i], payload_byte(i));
	for (size_t i = PAYLOAD; i < MEMSZ; i++)
		assert_int_equal(p[i], 0);
}

static void elf64_note8(void **state)
{
	struct fx *fx = *state;
	write_elf(fx, &elf64_default);
	memset(gpa(fx, LOAD_GPA, MEMSZ), 0xaa, MEMSZ); /* the bss part must be cleared */
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(load(fx, "console=ttyS0 hello", NULL), 0);
	check_loaded(fx, ENTRY_GPA);

	struct hvm_start_info si = start_info(fx);
	assert_int_equal(si.magic, 0x336ec578);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.nr_modules, 0);
	assert_int_equal(si.modlist_paddr, 0);
	assert_int_equal(si.cmdline_paddr, PVH_CMDLINE_GPA);
	assert_string_equal(gpa(fx, si.cmdline_paddr, 1), "console=ttyS0 hello");
	assert_int_equal(si.memmap_paddr, PVH_MEMMAP_GPA);
	assert_int_equal(si.rsdp_paddr, 0); /* no ACPI tables in this request */
	/* RAM below 640 KiB, the BIOS/ACPI area, RAM from 1 MiB, the APIC area */
	assert_int_equal(si.memmap_entries, 4);
	struct hvm_memmap_table_entry map[4];
	memcpy(map, gpa(fx, si.memmap_paddr, sizeof(map)), sizeof(map));
	assert_int_equal(map[0].addr, 0);
	assert_int_equal(map[0].size, 0xa0000);
	assert_int_equal(map[0].type, HVM_MEMMAP_RAM);
	assert_int_equal(map[1].addr, 0xa0000);
	assert_int_equal(map[1].size, 0x60000);
	assert_int_equal(map[1].type, HVM_MEMMAP_RESERVED);
	assert_int_equal(map[2].addr, 0x100000);
	assert_int_equal(map[2].size, RAM_SIZE - 0x100000);
	assert_int_equal(map[2].type, HVM_MEMMAP_RAM);
	assert_int_equal(map[3].addr, 0xfec00000);
	assert_int_equal(map[3].addr + map[3].size, 0x100000000ULL);
	assert_int_equal(map[3].type, HVM_MEMMAP_RESERVED);
}

static void elf32_note4(void **state)
{
	struct fx *fx = *state;
	struct elf_opts o = elf64_default;
	o.is64 = false, o.note_size = 4, o.entry = 0x100010;
	write_elf(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), 0);
	check_loaded(fx, 0x100010);
	assert_int_equal(start_info(fx).cmdline_paddr, 0); /* no command line: "not present" */
}

static void elf64_note4(void **state)
{
	struct fx *fx = *state;
	struct elf_opts o = elf64_default;
	o.note_size = 4, o.entry = 0x100020;
	write_elf(fx, &o);
	assert_int_equal(load(fx, "", NULL), 0);
	check_loaded(fx, 0x100020);
	assert_string_equal(gpa(fx, start_info(fx).cmdline_paddr, 1), "");
}

static void note_in_section_only(void **state)
{
	struct fx *fx = *state;
	struct elf_opts o = elf64_default;
	o.note_in_section = true;
	write_elf(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), 0);
	check_loaded(fx, ENTRY_GPA);
}

static void initrd_placed_high(void **state)
{
	struct fx *fx = *state;
	static uint8_t rd[10000];
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i ^ 0x5a);
	test_write_file(fx->initrd, rd, sizeof(rd));
	write_elf(fx, &elf64_default);
	assert_int_equal(load(fx, "x", fx->initrd), 0);

	struct hvm_start_info si = start_info(fx);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(si.modlist_paddr, PVH_MODLIST_GPA);
	struct hvm_modlist_entry mod;
	memcpy(&mod, gpa(fx, si.modlist_paddr, sizeof(mod)), sizeof(mod));
	assert_int_equal(mod.size, sizeof(rd));
	assert_int_equal(mod.paddr, (RAM_SIZE - sizeof(rd)) & ~0xfffULL);
	assert_int_equal(mod.cmdline_paddr, 0);
	assert_memory_equal(gpa(fx, mod.paddr, sizeof(rd)), rd, sizeof(rd));
}

static void initrd_too_big(void **state)
{
	struct fx *fx = *state;
	write_elf(fx, &elf64_default);
	assert_int_equal(truncate(fx->initrd, RAM_SIZE), 0);
	assert_int_equal(load(fx, NULL, fx->initrd), -ENOMEM);
	assert_non_null(strstr(fx->err, "does not fit in low guest RAM"));
	assert_non_null(strstr(fx->err, fx->initrd));
	assert_int_equal(truncate(fx->initrd, 0), 0);
	assert_int_equal(load(fx, NULL, fx->initrd), -EINVAL);
	assert_non_null(strstr(fx->err, "is empty"));
	assert_int_equal(load(fx, NULL, "/nonexistent/initrd"), -ENOENT);
	assert_non_null(strstr(fx->err, "cannot open initrd /nonexistent/initrd"));
}

/* A kernel filling RAM above 1 MiB pushes the initrd below 640 KiB, but never onto
 * the command line, start_info or the BIOS/ACPI area 0xa0000-0xfffff. */
static void initrd_below_kernel(void **state)
{
	struct fx *fx = *state;
	struct elf_opts o = elf64_default;
	o.memsz = RAM_SIZE - LOAD_GPA;
	write_elf(fx, &o);
	assert_int_equal(truncate(fx->initrd, 0x40000), 0);
	assert_int_equal(load(fx, NULL, fx->initrd), 0);
	struct hvm_modlist_entry mod;
	memcpy(&mod, gpa(fx, PVH_MODLIST_GPA, sizeof(mod)), sizeof(mod));
	assert_int_equal(mod.paddr, 0xa0000 - 0x40000);
	assert_int_equal(mod.size, 0x40000);

	assert_int_equal(truncate(fx->initrd, LOAD_GPA - PVH_CMDLINE_GPA), 0);
	assert_int_equal(load(fx, NULL, fx->initrd), -ENOMEM);
	assert_non_null(strstr(fx->err, "does not fit in low guest RAM"));
}

/* The ACPI RSDP address reaches hvm_start_info.rsdp_paddr; a dry run writes nothing. */
static void rsdp_and_dry_run(void **state)
{
	struct fx *fx = *state;
	write_elf(fx, &elf64_default);
	struct boot_request req = { .kernel = fx->path, .vcpus = 1, .rsdp = 0xe0000, .dry_run = true };
	assert_int_equal(boot_load(&fx->mem, &req, &fx->entry, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(start_info(fx).magic, 0);
	assert_int_equal(*(uint8_t *)gpa(fx, LOAD_GPA, 1), 0);
	req.dry_run = false;
	assert_int_equal(boot_load(&fx->mem, &req, &fx->entry, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(start_info(fx).rsdp_paddr, 0xe0000);
}

/* RAM above 3 GiB: two RAM entries around the reserved hole; sparse memfd. */
static void two_ram_regions(void **state)
{
	struct fx *fx = *state;
	struct guest_mem small = fx->mem;
	assert_int_equal(mem_init(&fx->mem, MEM_LOW_LIMIT + (2ULL << 20), false), 0);
	write_elf(fx, &elf64_default);
	assert_int_equal(load(fx, NULL, NULL), 0);
	struct hvm_start_info si = start_info(fx);
	struct hvm_memmap_table_entry map[5];
	assert_int_equal(si.memmap_entries, 5);
	memcpy(map, gpa(fx, si.memmap_paddr, sizeof(map)), sizeof(map));
	assert_int_equal(map[2].addr, 0x100000);
	assert_int_equal(map[2].size, MEM_LOW_LIMIT - 0x100000);
	assert_int_equal(map[3].type, HVM_MEMMAP_RESERVED);
	assert_int_equal(map[4].addr, MEM_HIGH_BASE);
	assert_int_equal(map[4].size, 2ULL << 20);
	assert_int_equal(map[4].type, HVM_MEMMAP_RAM);
	mem_free(&fx->mem);
	fx->mem = small;
}

/* ---- refusals ------------------------------------------------------------- */

static void no_note(void **state)
{
	struct fx *fx = *state;
	struct elf_opts o = elf64_default;
	o.note_size = 0;
	write_elf(fx, &o);
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, "is an ELF file without a Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
	assert_int_equal(load(fx, NULL, NULL), -ENOEXEC);
	assert_err(fx, "without a Xen PVH entry note");
}

static void bad_note(void **state)
{
	struct fx *fx = *state;
	struct elf_opts o = elf64_default;
	o.note_size = 2;
	write_elf(fx, &o);
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, "2-byte descriptor");

	o.note_size = 8, o.entry = 0x100000000ULL;
	write_elf(fx, &o);
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, "above 4 GiB");

	o.entry = RAM_SIZE + 0x1000; /* valid note, but no RAM there */
	write_elf(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), -ENOEXEC);
	assert_err(fx, "outside guest RAM");
}

static void not_elf(void **state)
{
	struct fx *fx = *state;
	test_write_file(fx->path, "#!/bin/sh\necho hi\n", 18);
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, "is not an ELF file");
	test_write_file(fx->path, "", 0);
	assert_int_equal(load(fx, NULL, NULL), -ENOEXEC);
	assert_err(fx, "is not an ELF file");
}

/* "HdrS" sends the file to the Linux boot protocol (test_boot_linux.c has the rest). */
static void bzimage(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[0x400] = { 0 };
	memcpy(buf + 0x202, "HdrS", 4);
	test_write_file(fx->path, buf, sizeof(buf));
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, "uses Linux boot protocol 0.00; modvmm needs 2.12 or newer");
}

static void unreadable(void **state)
{
	struct fx *fx = *state;
	assert_int_equal(boot_probe("/nonexistent/vmlinux", fx->err, sizeof(fx->err)), -ENOENT);
	assert_non_null(strstr(fx->err, "cannot open kernel /nonexistent/vmlinux: "));
	assert_int_equal(boot_probe("/tmp", fx->err, sizeof(fx->err)), -EINVAL);
	assert_non_null(strstr(fx->err, "not a regular file"));
}

static void segment_beyond_ram(void **state)
{
	struct fx *fx = *state;
	struct elf_opts o = elf64_default;
	o.paddr = RAM_SIZE - 0x800; /* straddles the end of RAM */
	o.entry = o.paddr;
	write_elf(fx, &o);
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(load(fx, NULL, NULL), -ENOMEM);
	assert_err(fx, "segment 0 (0xfff800-0x10007ff) does not fit in guest RAM");
	assert_int_equal(start_info(fx).magic, 0); /* nothing written on refusal */
}

static void segment_over_boot_info(void **state)
{
	struct fx *fx = *state;
	struct elf_opts o = elf64_default;
	o.paddr = 0x1000, o.memsz = 0x6000, o.entry = 0x1000;
	write_elf(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), -EINVAL);
	assert_err(fx, "segment 0 (0x1000-0x6fff) overlaps modvmm's PVH start_info");
	o.paddr = 0x2f000, o.memsz = 0x2000, o.entry = 0x2f000;
	write_elf(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), -EINVAL);
	assert_err(fx, "command-line area 0x20000-0x2ffff");
}

static void truncated(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[4096];
	size_t len = build_elf(buf, &elf64_default);

	test_write_file(fx->path, buf, 40); /* inside the ELF header */
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, "ELF header truncated");
	test_write_file(fx->path, buf, sizeof(Elf64_Ehdr) + 10); /* inside the program headers */
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, "program headers at offset 0x40 extend past the end of the file");
	test_write_file(fx->path, buf, payload_offset(buf) + 16); /* inside the segment */
	assert_int_equal(load(fx, NULL, NULL), -ENOEXEC);
	assert_err(fx, "segment 0 (file offset");

	Elf64_Ehdr eh;
	memcpy(&eh, buf, sizeof(eh));
	eh.e_phoff = 0xfffffffffffffff0ULL; /* wraps around */
	memcpy(buf, &eh, sizeof(eh));
	test_write_file(fx->path, buf, len);
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, "extend past the end of the file");
}

static void cmdline_too_long(void **state)
{
	struct fx *fx = *state;
	char *cmd = malloc(PVH_CMDLINE_MAX + 1);
	assert_non_null(cmd);
	memset(cmd, 'a', PVH_CMDLINE_MAX);
	cmd[PVH_CMDLINE_MAX] = 0;
	write_elf(fx, &elf64_default);
	assert_int_equal(load(fx, cmd, NULL), -E2BIG);
	assert_non_null(strstr(fx->err, "command line is 65536 bytes; the limit is 65535"));
	cmd[PVH_CMDLINE_MAX - 1] = 0;
	assert_int_equal(load(fx, cmd, NULL), 0);
	assert_int_equal(strlen(gpa(fx, PVH_CMDLINE_GPA, PVH_CMDLINE_MAX)), PVH_CMDLINE_MAX - 1);
	free(cmd);
}

/* Random byte flips and truncations must produce errors, never crashes (run this
 * under valgrind too).  MODVMM_FUZZ_SEED / MODVMM_FUZZ_ITERS override the defaults. */
static void fuzz(void **state)
{
	struct fx *fx = *state;
	const char *s = getenv("MODVMM_FUZZ_SEED"), *n = getenv("MODVMM_FUZZ_ITERS");
	unsigned seed = s ? (unsigned)strtoul(s, NULL, 0) : 12345;
	unsigned iters = n ? (unsigned)strtoul(n, NULL, 0) : 1500;
	uint8_t base[2][4096], buf[4096];
	size_t base_len[2];
	struct elf_opts o32 = elf64_default;
	o32.is64 = false, o32.note_size = 4;
	base_len[0] = build_elf(base[0], &elf64_default);
	base_len[1] = build_elf(base[1], &o32);
	unsigned ok = 0;

	srand(seed);
	for (unsigned it = 0; it < iters; it++) {
		unsigned which = it & 1;
		size_t len = base_len[which];
		memcpy(buf, base[which], len);
		unsigned flips = 1 + rand() % 8;
		for (unsigned f = 0; f < flips; f++) {
			/* mostly the headers and notes, where the parsing happens */
			size_t at = rand() % 4 ? (size_t)rand() % 200 : (size_t)rand() % len;
			buf[at] ^= (uint8_t)(1u << (rand() % 8));
			if (rand() % 16 == 0)
				buf[at] = 0xff;
		}
		if (rand() % 8 == 0)
			len = (size_t)rand() % len;
		test_write_file(fx->path, buf, len);
		(void)boot_probe(fx->path, fx->err, sizeof(fx->err));
		if (load(fx, "fuzz", NULL) == 0) {
			assert_int_equal(fx->entry.mode, BOOT_PVH32);
			assert_non_null(mem_gpa_to_hva(&fx->mem, fx->entry.rip, 1));
			ok++;
		} else {
			assert_true(fx->err[0] != 0);
		}
	}
	print_message("fuzz: seed %u, %u images, %u loaded\n", seed, iters, ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(elf64_note8, setup, teardown),
		cmocka_unit_test_setup_teardown(elf32_note4, setup, teardown),
		cmocka_unit_test_setup_teardown(elf64_note4, setup, teardown),
		cmocka_unit_test_setup_teardown(note_in_section_only, setup, teardown),
		cmocka_unit_test_setup_teardown(initrd_placed_high, setup, teardown),
		cmocka_unit_test_setup_teardown(initrd_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(initrd_below_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(two_ram_regions, setup, teardown),
		cmocka_unit_test_setup_teardown(rsdp_and_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(no_note, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_note, setup, teardown),
		cmocka_unit_test_setup_teardown(not_elf, setup, teardown),
		cmocka_unit_test_setup_teardown(bzimage, setup, teardown),
		cmocka_unit_test_setup_teardown(unreadable, setup, teardown),
		cmocka_unit_test_setup_teardown(segment_beyond_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(segment_over_boot_info, setup, teardown),
		cmocka_unit_test_setup_teardown(truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(cmdline_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(fuzz, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
