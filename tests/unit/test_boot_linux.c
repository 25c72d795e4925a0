/* SPDX-License-Identifier: MIT */
/* Linux 64-bit boot protocol: synthetic bzImages built here, loaded into guest RAM. */
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
#include "boot/boot_linux.h"
#include "mem/mem.h"
#include "mem/memmap.h"
#include "boot-fixtures/bzimage_builder.h"

#define RAM_SIZE  (64ULL << 20)
#define RSDP      0xe0000ULL
#define IMG_MAX   (64 << 10)

/* boot_params offsets (zero-page.rst), spelled out here. */
#define ZP_ACPI_RSDP     0x070
#define ZP_EXT_RD_IMAGE  0x0c0
#define ZP_EXT_RD_SIZE   0x0c4
#define ZP_EXT_CMDLINE   0x0c8
#define ZP_E820_ENTRIES  0x1e8
#define ZP_SENTINEL      0x1ef
#define ZP_HDR           0x1f1
#define ZP_LOADER_TYPE   0x210
#define ZP_RD_IMAGE      0x218
#define ZP_RD_SIZE       0x21c
#define ZP_CMDLINE_PTR   0x228
#define ZP_E820_TABLE    0x2d0

struct fx {
	struct guest_mem mem;
	char path[256], initrd[256], err[1024];
	struct boot_entry entry;
	uint8_t img[IMG_MAX];
	size_t img_len;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	if (!fx || mem_init(&fx->mem, RAM_SIZE, false))
		return -1;
	test_temp_file(fx->path, sizeof(fx->path), "modvmm-bz");
	test_temp_file(fx->initrd, sizeof(fx->initrd), "modvmm-bz");
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

static void write_bz(struct fx *fx, const struct bz_opts *o)
{
	fx->img_len = build_bzimage(fx->img, o);
	test_write_file(fx->path, fx->img, fx->img_len);
}

static void *gpa(struct fx *fx, uint64_t addr, uint64_t len)
{
	void *p = mem_gpa_to_hva(&fx->mem, addr, len);
	assert_non_null(p);
	return p;
}

static int load_req(struct fx *fx, const char *cmdline, const char *initrd, bool dry)
{
	struct boot_request req = { .kernel = fx->path, .cmdline = cmdline, .initrd = initrd,
	                            .vcpus = 1, .rsdp = RSDP, .dry_run = dry };
	fx->err[0] = 0;
	return boot_load(&fx->mem, &req, &fx->entry, fx->err, sizeof(fx->err));
}

static int load(struct fx *fx, const char *cmdline, const char *initrd)
{
	return load_req(fx, cmdline, initrd, false);
}

static void assert_err(struct fx *fx, const char *needle)
{
	if (!strstr(fx->err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", fx->err, needle);
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* boot_params' e820 table equals memmap_build's map, entry for entry. */
static void check_e820(struct fx *fx, const uint8_t *bp, unsigned want)
{
	struct memmap_entry map[MEMMAP_MAX_ENTRIES];
	unsigned n = memmap_build(&fx->mem, map);
	assert_int_equal(n, want);
	assert_int_equal(bp[ZP_E820_ENTRIES], n);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = bp + ZP_E820_TABLE + 20 * i;
		assert_int_equal(rd64(e), map[i].addr);
		assert_int_equal(rd64(e + 8), map[i].size);
		assert_int_equal(rd32(e + 16), map[i].type);
	}
	for (size_t i = ZP_E820_TABLE + 20 * n; i < ZP_E820_TABLE + 20 * 128; i++)
		assert_int_equal(bp[i], 0);
}

/* ---- loading -------------------------------------------------------------- */

static void boot_params_fields(void **state)
{
	struct fx *fx = *state;
	static uint8_t rd[5000];
	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i ^ 0x3c);
	test_write_file(fx->initrd, rd, sizeof(rd));
	write_bz(fx, &bz_default);
	memset(gpa(fx, LINUX_BOOT_PARAMS_GPA, 4096), 0xee, 4096); /* stale bytes must go */
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(load(fx, "console=ttyS0 nokaslr", fx->initrd), 0);

	/* entry: 64-bit entry point, boot_params in %rsi, our page tables and GDT */
	assert_int_equal(fx->entry.mode, BOOT_LINUX64);
	assert_int_equal(fx->entry.rip, 0x1000000 + 0x200);
	assert_int_equal(fx->entry.rsi, LINUX_BOOT_PARAMS_GPA);
	assert_int_equal(fx->entry.rsp, LINUX_STACK_TOP);
	assert_int_equal(fx->entry.cr3, LINUX_PML4_GPA);
	assert_int_equal(fx->entry.gdt_base, LINUX_GDT_GPA);
	assert_int_equal(fx->entry.gdt_limit, 4 * 8 - 1);

	/* the protected-mode kernel at pref_address */
	size_t setup = bz_setup_size(&bz_default);
	assert_memory_equal(gpa(fx, 0x1000000, bz_default.kernel_size), fx->img + setup,
	                    bz_default.kernel_size);

	const uint8_t *bp = gpa(fx, LINUX_BOOT_PARAMS_GPA, 4096);
	/* before the header: zero but acpi_rsdp_addr and e820_entries */
	for (size_t i = 0; i < ZP_HDR; i++)
		if (i < ZP_ACPI_RSDP || i >= ZP_ACPI_RSDP + 8)
			if (i != ZP_E820_ENTRIES)
				assert_int_equal(bp[i], 0);
	assert_int_equal(rd64(bp + ZP_ACPI_RSDP), RSDP);
	assert_int_equal(bp[ZP_SENTINEL], 0);
	/* the setup header, copied up to 0x202 + byte 0x201, with the loader's fields */
	size_t hdr_end = 0x202 + bz_default.hdr_jump_len;
	for (size_t i = ZP_HDR; i < hdr_end; i++) {
		if (i == ZP_LOADER_TYPE || (i >= ZP_RD_IMAGE && i < ZP_RD_SIZE + 4) ||
		    (i >= ZP_CMDLINE_PTR && i < ZP_CMDLINE_PTR + 4))
			continue;
		if (bp[i] != fx->img[i])
			fail_msg("boot_params byte 0x%zx is 0x%x, the image has 0x%x", i, bp[i], fx->img[i]);
	}
	assert_int_equal(bp[ZP_LOADER_TYPE], 0xff);
	assert_int_equal(rd32(bp + ZP_CMDLINE_PTR), LINUX_CMDLINE_GPA);
	assert_int_equal(rd32(bp + ZP_EXT_CMDLINE), 0);
	assert_string_equal(gpa(fx, LINUX_CMDLINE_GPA, 1), "console=ttyS0 nokaslr");
	/* the initrd: page aligned, as high as possible in low RAM */
	uint32_t rd_gpa = rd32(bp + ZP_RD_IMAGE);
	assert_int_equal(rd_gpa, (RAM_SIZE - sizeof(rd)) & ~0xfffULL);
	assert_int_equal(rd32(bp + ZP_RD_SIZE), sizeof(rd));
	assert_int_equal(rd32(bp + ZP_EXT_RD_IMAGE), 0);
	assert_int_equal(rd32(bp + ZP_EXT_RD_SIZE), 0);
	assert_memory_equal(gpa(fx, rd_gpa, sizeof(rd)), rd, sizeof(rd));
	/* after the header: zero up to the e820 table (the image's setup code stays out) */
	for (size_t i = hdr_end; i < ZP_E820_TABLE; i++)
		assert_int_equal(bp[i], 0);
	check_e820(fx, bp, 4);
	const uint8_t *e = bp + ZP_E820_TABLE;
	assert_int_equal(rd64(e), 0);
	assert_int_equal(rd64(e + 8), 0xa0000);          /* RAM below 640 KiB */
	assert_int_equal(rd64(e + 20), 0xa0000);         /* BIOS/ACPI area, reserved */
	assert_int_equal(rd32(e + 36), 2);
	assert_int_equal(rd64(e + 40), 0x100000);        /* RAM from 1 MiB */
	assert_int_equal(rd64(e + 48), RAM_SIZE - 0x100000);
	assert_int_equal(rd64(e + 60), 0xfec00000);      /* IOAPIC..4 GiB, reserved */
	for (size_t i = ZP_E820_TABLE + 20 * 128; i < 4096; i++)
		assert_int_equal(bp[i], 0);
}

static void page_tables_and_gdt(void **state)
{
	struct fx *fx = *state;
	write_bz(fx, &bz_default);
	assert_int_equal(load(fx, NULL, NULL), 0);
	assert_string_equal(gpa(fx, LINUX_CMDLINE_GPA, 1), ""); /* no cmdline: empty string */
	const uint64_t *pml4 = gpa(fx, fx->entry.cr3, 4096);
	assert_int_equal(pml4[0] & ~0xfffULL, LINUX_PDPT_GPA);
	assert_int_equal(pml4[0] & 3, 3);                         /* present, writable */
	for (unsigned i = 1; i < 512; i++)
		assert_int_equal(pml4[i], 0);
	const uint64_t *pdpt = gpa(fx, LINUX_PDPT_GPA, 4096);
	for (uint64_t va = 0; va < (4ULL << 30); va += 0x200000 * 37) {
		uint64_t pdpte = pdpt[va >> 30];
		assert_int_equal(pdpte & 1, 1);
		const uint64_t *pd = gpa(fx, pdpte & ~0xfffULL, 4096);
		uint64_t pde = pd[(va >> 21) & 511];
		assert_int_equal(pde & 0x83, 0x83);                  /* present, writable, 2 MiB */
		assert_int_equal(pde & ~0x1fffffULL, va & ~0x1fffffULL); /* identity */
		assert_int_equal((pde >> 4) & 1, va >= (3ULL << 30)); /* the MMIO GiB uncached */
	}
	assert_int_equal(pdpt[4], 0);
	const uint64_t *gdt = gpa(fx, fx->entry.gdt_base, 32);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[1], 0);
	assert_int_equal(gdt[2], 0x00af9b000000ffffULL); /* __BOOT_CS: 64-bit code, flat */
	assert_int_equal(gdt[3], 0x00cf93000000ffffULL); /* __BOOT_DS: data, flat */
}

/* RAM above 3 GiB: the e820 table has the high region after the APIC hole. */
static void e820_above_3g(void **state)
{
	struct fx *fx = *state;
	struct guest_mem small = fx->mem;
	assert_int_equal(mem_init(&fx->mem, MEM_LOW_LIMIT + (6ULL << 20), false), 0);
	write_bz(fx, &bz_default);
	assert_int_equal(load(fx, NULL, NULL), 0);
	const uint8_t *bp = gpa(fx, LINUX_BOOT_PARAMS_GPA, 4096);
	check_e820(fx, bp, 5);
	const uint8_t *e = bp + ZP_E820_TABLE;
	assert_int_equal(rd64(e + 48), MEM_LOW_LIMIT - 0x100000);   /* 1 MiB .. 3 GiB */
	assert_int_equal(rd64(e + 60), 0xfec00000);
	assert_int_equal(rd64(e + 68), 0x100000000ULL - 0xfec00000);
	assert_int_equal(rd64(e + 80), MEM_HIGH_BASE);
	assert_int_equal(rd64(e + 88), 6ULL << 20);
	assert_int_equal(rd32(e + 96), 1);
	mem_free(&fx->mem);
	fx->mem = small;
}

/* pref_address too high for RAM: a relocatable kernel moves down to the first
 * kernel_alignment boundary above 1 MiB; a fixed one is refused. */
static void relocation(void **state)
{
	struct fx *fx = *state;
	struct bz_opts o = bz_default;
	o.init_size = 60 << 20; /* 16 MiB + 60 MiB > 64 MiB of RAM */
	write_bz(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), 0);
	assert_int_equal(fx->entry.rip, 0x200000 + 0x200);
	assert_memory_equal(gpa(fx, 0x200000, o.kernel_size), fx->img + bz_setup_size(&o), o.kernel_size);

	o.kernel_alignment = 0x1000000;  /* first 16 MiB boundary above 1 MiB is 16 MiB: no room */
	write_bz(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), -ENOMEM);
	assert_err(fx, "needs 0x3c00000 bytes (init_size)");
	assert_err(fx, "give the VM more memory");

	o = bz_default;
	o.relocatable = false;
	o.init_size = 60 << 20;
	write_bz(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), -ENOMEM);
	assert_err(fx, "from its load address 0x1000000");
	o.init_size = bz_default.init_size;
	o.pref_address = 0x80000;        /* below 1 MiB */
	write_bz(fx, &o);
	assert_int_equal(load(fx, NULL, NULL), -ENOEXEC);
	assert_err(fx, "is not relocatable and its pref_address 0x80000");
}

/* initrd_addr_max caps the initrd; without room above the kernel it goes below. */
static void initrd_placement(void **state)
{
	struct fx *fx = *state;
	struct bz_opts o = bz_default;
	o.initrd_addr_max = 0x1ffffff;   /* 32 MiB - 1 */
	write_bz(fx, &o);
	assert_int_equal(truncate(fx->initrd, 0x3000), 0);
	assert_int_equal(load(fx, NULL, fx->initrd), 0);
	const uint8_t *bp = gpa(fx, LINUX_BOOT_PARAMS_GPA, 4096);
	assert_int_equal(rd32(bp + ZP_RD_IMAGE), 0x2000000 - 0x3000);

	o.initrd_addr_max = 0x13fffff;   /* 20 MiB - 1: inside the kernel's init_size */
	write_bz(fx, &o);
	assert_int_equal(load(fx, NULL, fx->initrd), 0);
	assert_int_equal(rd32(bp + ZP_RD_IMAGE), 0x1000000 - 0x3000); /* just below the kernel */

	assert_int_equal(truncate(fx->initrd, 0x1000000), 0); /* 16 MiB: no room below either */
	assert_int_equal(load(fx, NULL, fx->initrd), -ENOMEM);
	assert_err(fx, "does not fit in guest RAM between 1 MiB and 0x1400000");
}

/* ---- refusals ------------------------------------------------------------- */

static void refuse(struct fx *fx, const struct bz_opts *o, const char *msg)
{
	write_bz(fx, o);
	assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_err(fx, msg);
	assert_non_null(strstr(fx->err, fx->path));
	memset(gpa(fx, LINUX_BOOT_PARAMS_GPA, 4096), 0, 4096);
	assert_int_equal(load(fx, "x", NULL), -ENOEXEC);
	assert_int_equal(*(uint8_t *)gpa(fx, LINUX_BOOT_PARAMS_GPA + ZP_LOADER_TYPE, 1), 0);
}

static void old_protocol(void **state)
{
	struct bz_opts o = bz_default;
	o.version = 0x020b;
	refuse(*state, &o, "uses Linux boot protocol 2.11; modvmm needs 2.12 or newer");
}

static void no_64bit_entry(void **state)
{
	struct bz_opts o = bz_default;
	o.xloadflags = 0x0002;
	refuse(*state, &o, "has no 64-bit entry point (xloadflags 0x2 lacks XLF_KERNEL_64)");
}

static void zimage(void **state)
{
	struct bz_opts o = bz_default;
	o.loadflags = 0;
	refuse(*state, &o, "is a zImage");
}

static void bad_alignment(void **state)
{
	struct bz_opts o = bz_default;
	o.kernel_alignment = 0x300000;
	refuse(*state, &o, "kernel_alignment 0x300000 is not a power of two");
}

static void short_header(void **state)
{
	struct bz_opts o = bz_default;
	o.hdr_jump_len = 0x40; /* ends at 0x242, before init_size */
	refuse(*state, &o, "setup header ends at 0x242, before the protocol 2.12 fields");
}

static void truncated(void **state)
{
	struct fx *fx = *state;
	write_bz(fx, &bz_default);
	size_t setup = bz_setup_size(&bz_default);
	/* inside the version field, the header, the setup sectors, the kernel */
	const size_t cuts[] = { 0x207, 0x220, setup - 1, setup, setup + 100 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		test_write_file(fx->path, fx->img, cuts[i]);
		assert_int_equal(boot_probe(fx->path, fx->err, sizeof(fx->err)), -ENOEXEC);
		assert_err(fx, "truncated");
		assert_int_equal(load(fx, NULL, NULL), -ENOEXEC);
		assert_err(fx, "truncated");
	}
	assert_err(fx, "its setup (2048 bytes) and protected-mode kernel (syssize 12288 bytes) need");
}

static void cmdline_limits(void **state)
{
	struct fx *fx = *state;
	struct bz_opts o = bz_default;
	o.cmdline_size = 10;
	write_bz(fx, &o);
	assert_int_equal(load(fx, "0123456789", NULL), 0);
	assert_string_equal(gpa(fx, LINUX_CMDLINE_GPA, 11), "0123456789");
	assert_int_equal(load(fx, "0123456789a", NULL), -E2BIG);
	assert_err(fx, "kernel command line is 11 bytes");
	assert_err(fx, "accepts at most 10 (cmdline_size)");
}

static void initrd_refusals(void **state)
{
	struct fx *fx = *state;
	write_bz(fx, &bz_default);
	assert_int_equal(truncate(fx->initrd, RAM_SIZE), 0);
	assert_int_equal(load(fx, NULL, fx->initrd), -ENOMEM);
	assert_err(fx, "does not fit in guest RAM");
	assert_non_null(strstr(fx->err, fx->initrd));
	assert_int_equal(truncate(fx->initrd, 0), 0);
	assert_int_equal(load(fx, NULL, fx->initrd), -EINVAL);
	assert_err(fx, "is empty");
}

/* A dry run checks everything and writes nothing. */
static void dry_run(void **state)
{
	struct fx *fx = *state;
	write_bz(fx, &bz_default);
	assert_int_equal(truncate(fx->initrd, 0x2000), 0);
	assert_int_equal(load_req(fx, "x", fx->initrd, true), 0);
	const uint8_t *ram = gpa(fx, 0, RAM_SIZE);
	for (size_t i = 0; i < RAM_SIZE; i += 64)
		if (ram[i])
			fail_msg("the dry run wrote guest RAM at 0x%zx", i);
}

/* `modvmm check`: each failure names the key at fault. */
static void check_keys(void **state)
{
	struct fx *fx = *state;
	const char *key;
	struct bz_opts o = bz_default;
	o.cmdline_size = 4;
	write_bz(fx, &o);
	struct boot_request req = { .kernel = fx->path, .cmdline = "12345", .vcpus = 1 };
	assert_int_equal(boot_check(&req, RAM_SIZE, &key, fx->err, sizeof(fx->err)), -E2BIG);
	assert_string_equal(key, "cmdline");
	req.cmdline = "1234";
	assert_int_equal(boot_check(&req, RAM_SIZE, &key, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(truncate(fx->initrd, RAM_SIZE), 0);
	req.initrd = fx->initrd;
	assert_int_equal(boot_check(&req, RAM_SIZE, &key, fx->err, sizeof(fx->err)), -ENOMEM);
	assert_string_equal(key, "initrd");
	assert_int_equal(boot_check(&req, 2ULL << 30, &key, fx->err, sizeof(fx->err)), 0);
	req.initrd = NULL;
	assert_int_equal(boot_check(&req, 4ULL << 20, &key, fx->err, sizeof(fx->err)), -ENOMEM);
	assert_string_equal(key, "kernel");
	o.version = 0x0200;
	write_bz(fx, &o);
	assert_int_equal(boot_check(&req, RAM_SIZE, &key, fx->err, sizeof(fx->err)), -ENOEXEC);
	assert_string_equal(key, "kernel");
}

/* Random flips in the setup header and truncations: errors, never crashes. */
static void fuzz(void **state)
{
	struct fx *fx = *state;
	const char *s = getenv("MODVMM_FUZZ_SEED"), *n = getenv("MODVMM_FUZZ_ITERS");
	unsigned seed = s ? (unsigned)strtoul(s, NULL, 0) : 4242;
	unsigned iters = n ? (unsigned)strtoul(n, NULL, 0) : 1500;
	static uint8_t base[IMG_MAX], buf[IMG_MAX];
	size_t base_len = build_bzimage(base, &bz_default), ok = 0;
	srand(seed);
	for (unsigned it = 0; it < iters; it++) {
		size_t len = base_len;
		memcpy(buf, base, len);
		unsigned flips = 1 + rand() % 6;
		for (unsigned f = 0; f < flips; f++) {
			size_t at = 0x1f1 + (size_t)rand() % (0x270 - 0x1f1);
			if (at >= 0x202 && at < 0x206 && rand() % 4)
				continue; /* mostly keep the magic, to reach the deeper checks */
			buf[at] ^= (uint8_t)(1u << (rand() % 8));
			if (rand() % 8 == 0)
				buf[at] = 0xff;
		}
		if (rand() % 8 == 0)
			len = (size_t)rand() % len;
		test_write_file(fx->path, buf, len);
		(void)boot_probe(fx->path, fx->err, sizeof(fx->err));
		if (load(fx, "fuzz", NULL) == 0) {
			assert_int_equal(fx->entry.mode, BOOT_LINUX64);
			assert_non_null(mem_gpa_to_hva(&fx->mem, fx->entry.rip, 1));
			ok++;
		} else {
			assert_true(fx->err[0] != 0);
		}
	}
	print_message("fuzz: seed %u, %u images, %zu loaded\n", seed, iters, ok);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(boot_params_fields), T(page_tables_and_gdt), T(e820_above_3g), T(relocation),
		T(initrd_placement), T(old_protocol), T(no_64bit_entry), T(zimage), T(bad_alignment),
		T(short_header), T(truncated), T(cmdline_limits), T(initrd_refusals), T(dry_run),
		T(check_keys), T(fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
