/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables: walked from the RSDP the way an OS does, every checksum and length
 * checked, the fields modvmm sets asserted, and (when ACPICA's iasl is installed)
 * each table disassembled with `iasl -d` and compiled back to the same bytes.
 * Offsets are spelled out here from the ACPI 6.5 tables, independently of core/.
 */
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

#include "acpi/acpi.h"
#include "acpi/acpi_vm.h"
#include "plugin/dev.h"
#include "mem/mem.h"
#include "mem/memmap.h"
#include "vm/vm.h"

#define AREA_GPA  0xe0000ULL
#define AREA_SIZE 0x20000
#define HDR_LEN   36

static uint8_t area[AREA_SIZE];

static uint32_t u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint16_t u16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

/* The table at guest address gpa, after checking its signature, length and checksum. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	assert_true(gpa >= AREA_GPA && gpa + HDR_LEN <= AREA_GPA + AREA_SIZE);
	const uint8_t *t = area + (gpa - AREA_GPA);
	if (memcmp(t, sig, 4))
		fail_msg("expected %s at 0x%llx, found %.4s", sig, (unsigned long long)gpa, (const char *)t);
	uint32_t len = u32(t + 4);
	assert_true(len >= HDR_LEN && gpa + len <= AREA_GPA + AREA_SIZE);
	assert_int_equal(sum(t, len), 0);
	assert_memory_equal(t + 10, "MODVMM", 6);   /* OEM ID */
	assert_int_equal(gpa % 8, 0);
	return t;
}

struct tables {
	const uint8_t *xsdt, *fadt, *madt, *dsdt;
	long len;
};

static struct tables build(const struct acpi_config *cfg)
{
	struct tables t = { 0 };
	memset(area, 0xcc, sizeof(area));
	t.len = acpi_build(cfg, area, sizeof(area), AREA_GPA);
	assert_true(t.len > 0 && t.len < AREA_SIZE);

	/* RSDP (Table 5.3): checksum over 20 bytes, extended checksum over 36 */
	assert_memory_equal(area, "RSD PTR ", 8);
	assert_int_equal(sum(area, 20), 0);
	assert_int_equal(area[15], 2);                /* revision */
	assert_int_equal(u32(area + 16), 0);          /* no RSDT */
	assert_int_equal(u32(area + 20), 36);         /* length */
	assert_int_equal(sum(area, 36), 0);

	t.xsdt = table(u64(area + 24), "XSDT");
	assert_int_equal(u32(t.xsdt + 4), HDR_LEN + 2 * 8);
	assert_int_equal(t.xsdt[8], 1);
	t.fadt = table(u64(t.xsdt + HDR_LEN), "FACP");
	t.madt = table(u64(t.xsdt + HDR_LEN + 8), "APIC");
	t.dsdt = table(u64(t.fadt + 140), "DSDT");    /* X_DSDT */
	assert_int_equal(t.dsdt + u32(t.dsdt + 4) - area, t.len);
	return t;
}

/* A Generic Address Structure: one byte in system I/O space at port. */
static void assert_io_gas(const uint8_t *g, uint16_t port)
{
	assert_int_equal(g[0], 1);   /* SystemIO */
	assert_int_equal(g[1], 8);   /* bit width */
	assert_int_equal(g[2], 0);   /* bit offset */
	assert_int_equal(g[3], 1);   /* byte access */
	assert_int_equal(u64(g + 4), port);
}

static void fadt_hw_reduced(void **state)
{
	(void)state;
	struct acpi_config cfg = { .ncpus = 1 };
	struct tables t = build(&cfg);
	const uint8_t *f = t.fadt;
	assert_int_equal(u32(f + 4), 276);
	assert_int_equal(f[8], 6);                    /* revision */
	assert_int_equal(f[131], 3);                  /* minor version */
	assert_int_equal(u32(f + 36), 0);             /* no FACS */
	assert_int_equal(u32(f + 40), 0);             /* DSDT only through X_DSDT */
	assert_int_equal(u16(f + 46), 0);             /* no SCI */
	assert_int_equal(u32(f + 112), (1u << 20) | (1u << 10)); /* HW_REDUCED_ACPI, RESET_REG_SUP */
	assert_int_equal(u16(f + 109), (1u << 2) | (1u << 5));   /* no VGA, no CMOS RTC, no 8042 */
	assert_io_gas(f + 116, ACPI_RESET_PORT);
	assert_int_equal(f[128], ACPI_RESET_VALUE);
	assert_io_gas(f + 244, ACPI_SLEEP_CTL_PORT);
	assert_io_gas(f + 256, ACPI_SLEEP_STS_PORT);
	for (size_t off = 56; off < 88; off++)        /* no PM1/PM2/timer/GPE blocks */
		assert_int_equal(f[off], 0);
}

static void madt_cpus(void **state)
{
	(void)state;
	static const unsigned counts[] = { 1, 2, 3, 16, 64 };
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		unsigned n = counts[c];
		struct acpi_config cfg = { .ncpus = n };
		struct tables t = build(&cfg);
		const uint8_t *m = t.madt;
		uint32_t len = u32(m + 4);
		assert_int_equal(len, HDR_LEN + 8 + 8 * n + 12 + 10 + 6);
		assert_int_equal(m[8], 5);
		assert_int_equal(u32(m + 36), 0xfee00000);     /* local APIC address */
		assert_int_equal(u32(m + 40), 1);              /* PCAT_COMPAT */
		unsigned lapics = 0, ioapics = 0, overrides = 0, nmis = 0;
		for (uint32_t off = HDR_LEN + 8; off < len;) {
			const uint8_t *e = m + off;
			assert_true(e[1] >= 2 && off + e[1] <= len);
			switch (e[0]) {
			case 0:
				assert_int_equal(e[1], 8);
				assert_int_equal(e[2], lapics);        /* processor UID */
				assert_int_equal(e[3], lapics);        /* APIC id */
				assert_int_equal(u32(e + 4), 1);       /* enabled */
				lapics++;
				break;
			case 1:
				assert_int_equal(e[1], 12);
				assert_int_equal(e[2], 0);
				assert_int_equal(u32(e + 4), 0xfec00000);
				assert_int_equal(u32(e + 8), 0);       /* GSI base */
				ioapics++;
				break;
			case 2:
				assert_int_equal(e[1], 10);
				assert_int_equal(e[2], 0);             /* ISA */
				assert_int_equal(e[3], 0);             /* IRQ 0 (the PIT) ... */
				assert_int_equal(u32(e + 4), 0);       /* ... on IOAPIC pin 0, as KVM routes it */
				overrides++;
				break;
			case 4:
				assert_int_equal(e[2], 0xff);
				assert_int_equal(e[5], 1);             /* LINT1 */
				nmis++;
				break;
			default:
				fail_msg("unexpected MADT entry type %u", e[0]);
			}
			off += e[1];
		}
		assert_int_equal(lapics, n);
		assert_int_equal(ioapics, 1);
		assert_int_equal(overrides, 1);
		assert_int_equal(nmis, 1);
	}
}

static const uint8_t *find(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return hay + i;
	return NULL;
}

/* The node the serial plugin describes for a 16550 at `port`, IRQ `irq`. */
static struct acpi_node com(unsigned n, uint16_t port, uint8_t irq)
{
	struct acpi_node c = { .name = "COM0", .hid = "PNP0501", .uid = n, .nio = 1, .nirq = 1,
	                       .io_base = { port }, .io_len = { 8 }, .irq = { irq } };
	c.name[3] = (char)('0' + n);
	return c;
}

static void dsdt_contents(void **state)
{
	(void)state;
	const struct acpi_node coms[] = { com(1, 0x3f8, 4), com(2, 0x2f8, 3) };
	struct acpi_config cfg = { .ncpus = 2, .mmio64_base = 0x140000000ULL,
	                           .mmio64_size = 0x1000000000ULL, .nnodes = 2, .nodes = coms };
	struct tables t = build(&cfg);
	const uint8_t *d = t.dsdt;
	size_t len = u32(d + 4);
	assert_int_equal(d[8], 2);                                  /* 64-bit integers */
	static const uint8_t pnp0a03[] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 }; /* EisaId ("PNP0A03") */
	static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	assert_non_null(find(d, len, "PCI0", 4));
	assert_non_null(find(d, len, pnp0a03, sizeof(pnp0a03)));
	assert_non_null(find(d, len, "COM1", 4));
	assert_non_null(find(d, len, "COM2", 4));
	assert_null(find(d, len, "COM3", 4));
	assert_non_null(find(d, len, pnp0501, sizeof(pnp0501)));
	/* IO (Decode16, 0x2f8, 0x2f8, 1, 8) and IRQNoFlags () {3} */
	static const uint8_t com2_io[] = { 0x47, 0x01, 0xf8, 0x02, 0xf8, 0x02, 0x01, 0x08, 0x22, 0x08, 0x00 };
	assert_non_null(find(d, len, com2_io, sizeof(com2_io)));
	/* _PRT: 32 slots x INTA#-INTD#, GSI 16 + (slot + pin) % 4 as the core's INTx
	 * swizzle; slot 3 INTB# is Package (4) { 0x0003FFFF, One, Zero, 0x10 } */
	assert_non_null(find(d, len, "_PRT", 4));
	const uint8_t *prt = find(d, len, "_PRT", 4) + 4;
	assert_int_equal(prt[0], 0x12);                             /* PackageOp */
	assert_int_equal(prt[3], 32 * 4);                           /* NumElements (2-byte PkgLength) */
	static const uint8_t slot3_intb[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x03, 0x00, 0x01, 0x00, 0x0a, 0x10 };
	static const uint8_t slot0_intd[] = { 0x12, 0x0a, 0x04, 0x0b, 0xff, 0xff, 0x0a, 0x03, 0x00, 0x0a, 0x13 };
	assert_non_null(find(d, len, slot3_intb, sizeof(slot3_intb)));
	assert_non_null(find(d, len, slot0_intd, sizeof(slot0_intd)));
	/* the power button: PWRB (PNP0C0C) and the GED (ACPI0013) whose
	 * Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) {9} runs
	 * _EVT: If (LEqual (Arg0, 9)) { Notify (PWRB, 0x80) } */
	static const uint8_t pnp0c0c[] = { 0x0c, 0x41, 0xd0, 0x0c, 0x0c };
	static const uint8_t ged_irq[] = { 0x89, 0x06, 0x00, 0x03, 0x01, 0x09, 0x00, 0x00, 0x00 };
	static const uint8_t evt[] = { 0x14, 0x13, '_', 'E', 'V', 'T', 0x01, 0xa0, 0x0c, 0x93, 0x68, 0x0a, 0x09,
	                               0x86, 'P', 'W', 'R', 'B', 0x0a, 0x80 };
	assert_non_null(find(d, len, pnp0c0c, sizeof(pnp0c0c)));
	assert_non_null(find(d, len, "ACPI0013", 9));
	assert_non_null(find(d, len, ged_irq, sizeof(ged_irq)));
	assert_non_null(find(d, len, evt, sizeof(evt)));
	/* Name (_S5, Package (2) { 5, 0 }) */
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00 };
	assert_non_null(find(d, len, s5, sizeof(s5)));
	/* QWordMemory 64-bit window: minimum and length */
	uint64_t min = cfg.mmio64_base, size = cfg.mmio64_size;
	const uint8_t *q = find(d, len, (const uint8_t[]){ 0x8a, 0x2b, 0x00, 0x00 }, 4);
	assert_non_null(q);
	assert_int_equal(u64(q + 14), min);
	assert_int_equal(u64(q + 22), min + size - 1);
	assert_int_equal(u64(q + 38), size);
	/* DWordMemory 32-bit window */
	const uint8_t *dw = find(d, len, (const uint8_t[]){ 0x87, 0x17, 0x00, 0x00 }, 4);
	assert_non_null(dw);
	assert_int_equal(u32(dw + 10), PCI_MMIO32_BASE);
	assert_int_equal(u32(dw + 14), PCI_MMIO32_END - 1);
}

/* Every size too small for the tables is refused, never overrun. */
static void too_small(void **state)
{
	(void)state;
	const struct acpi_node coms[] = { com(1, 0x3f8, 4), com(2, 0x2f8, 3), com(3, 0x3e8, 4), com(4, 0x2e8, 3) };
	struct acpi_config cfg = { .ncpus = 64, .nnodes = 4, .nodes = coms };
	long need = acpi_build(&cfg, area, sizeof(area), AREA_GPA);
	assert_true(need > 0);
	for (long size = 0; size < need; size += 7) {
		memset(area, 0xcc, sizeof(area));
		assert_int_equal(acpi_build(&cfg, area, (size_t)size, AREA_GPA), -ENOSPC);
		for (size_t i = (size_t)size; i < sizeof(area); i++)
			if (area[i] != 0xcc)
				fail_msg("size %ld: byte %zu written", size, i);
	}
	assert_int_equal(acpi_build(&cfg, area, (size_t)need, AREA_GPA), need);
}

/* The area sits inside a reserved e820 range below 1 MiB, for any RAM size. */
static void area_reserved(void **state)
{
	(void)state;
	struct guest_mem mem;
	assert_int_equal(mem_init(&mem, 2ULL << 20, false), 0);
	struct memmap_entry map[MEMMAP_MAX_ENTRIES];
	unsigned n = memmap_build(&mem, map), hits = 0;
	for (unsigned i = 0; i < n; i++) {
		if (map[i].addr <= ACPI_AREA_GPA && ACPI_AREA_GPA + ACPI_AREA_SIZE <= map[i].addr + map[i].size) {
			assert_int_equal(map[i].type, MEMMAP_RESERVED);
			hits++;
		}
	}
	assert_int_equal(hits, 1);
	assert_non_null(mem_gpa_to_hva(&mem, ACPI_AREA_GPA, ACPI_AREA_SIZE)); /* backed by RAM */
	mem_free(&mem);
}

/* ---- ACPICA ----------------------------------------------------------------- */

static int run(const char *dir, const char *cmd)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "cd '%s' && %s >>iasl.log 2>&1", dir, cmd);
	return system(buf);
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot read %s", path);
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

/* `iasl -d` each table, then compile the disassembly back: without errors, and to
 * the same bytes after the header (iasl puts its own compiler id there). */
/* Linux reboots a hardware-reduced machine through the BIOS reset vector (no
 * EFI): the stub there must write the reset value to the reset register. */
static void reset_vector(void **state)
{
	(void)state;
	uint8_t code[ACPI_RESET_VECTOR_LEN];
	memset(code, 0, sizeof(code));
	acpi_reset_vector(code);
	const uint8_t want[] = { 0xba, ACPI_RESET_PORT & 0xff, ACPI_RESET_PORT >> 8, /* mov dx, port */
		                 0xb0, ACPI_RESET_VALUE,                             /* mov al, value */
		                 0xee,                                               /* out dx, al */
		                 0xfa, 0xf4, 0xeb, 0xfd };                           /* cli; 1: hlt; jmp 1b */
	assert_memory_equal(code, want, sizeof(want));
	for (size_t i = sizeof(want); i < sizeof(code); i++)
		assert_int_equal(code[i], 0x90);          /* nop up to 1 MiB (fadt_hw_reduced checks the FADT side) */
}

static void iasl_roundtrip(void **state)
{
	(void)state;
	if (system("command -v iasl >/dev/null 2>&1")) {
		print_message("iasl not found (Debian package acpica-tools): skipping\n");
		skip();
	}
	const struct acpi_node com1 = com(1, 0x3f8, 4);
	struct acpi_config cfg = { .ncpus = 4, .mmio64_base = 0x140000000ULL,
	                           .mmio64_size = 0x1000000000ULL, .nnodes = 1, .nodes = &com1 };
	struct tables t = build(&cfg);
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[512], log[8192];
	snprintf(dir, sizeof(dir), "%s/modvmm-acpi-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	const struct { const char *name; const uint8_t *t; } tabs[] = {
		{ "xsdt", t.xsdt }, { "fadt", t.fadt }, { "madt", t.madt }, { "dsdt", t.dsdt },
	};
	static uint8_t back[AREA_SIZE];
	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++) {
		uint32_t len = u32(tabs[i].t + 4);
		char cmd[256];
		snprintf(path, sizeof(path), "%s/iasl.log", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.dat", dir, tabs[i].name);
		test_write_file(path, tabs[i].t, len);
		snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", tabs[i].name);
		int rc = run(dir, cmd);
		snprintf(cmd, sizeof(cmd), "iasl -p %s-back %s.dsl", tabs[i].name, tabs[i].name);
		int rc2 = run(dir, cmd);
		snprintf(path, sizeof(path), "%s/iasl.log", dir);
		log[read_file(path, (uint8_t *)log, sizeof(log) - 1)] = 0;
		if (rc || rc2 || !strstr(log, "Compilation successful. 0 Errors, 0 Warnings, 0 Remarks"))
			fail_msg("iasl on the %s: %s", tabs[i].name, log);
		snprintf(path, sizeof(path), "%s/%s-back.aml", dir, tabs[i].name);
		size_t n = read_file(path, back, sizeof(back));
		assert_int_equal(n, len);
		assert_memory_equal(back + HDR_LEN, tabs[i].t + HDR_LEN, len - HDR_LEN);
		print_message("iasl: %s (%u bytes) disassembles and compiles back unchanged\n",
		              tabs[i].name, len);
	}
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* host->acpi_node: nodes of one prefix are numbered 1, 2, ...; malformed nodes
 * and calls after create() are refused. */
static void node_service(void **state)
{
	(void)state;
	struct vm vm = { 0 };
	struct cfg_section sec = { .name = "com" };
	struct modvmm_dev dev = { .vm = &vm, .sec = &sec };
	struct modvmm_acpi_node n = { .size = sizeof(n), .prefix = "COM", .hid = "PNP0501", .nio = 1, .nirq = 1,
	                              .io = { { 0x3f8, 8 } }, .irq = { 4 } };
	assert_int_equal(acpi_vm_node(&dev, &n), 0);
	assert_int_equal(acpi_vm_node(&dev, &n), 0);
	struct modvmm_acpi_node other = n;
	other.prefix = "CO";
	assert_int_equal(acpi_vm_node(&dev, &other), 0);
	assert_int_equal(vm.acpi.n, 3);
	assert_string_equal(vm.acpi.node[0].name, "COM1");
	assert_string_equal(vm.acpi.node[1].name, "COM2");
	assert_int_equal(vm.acpi.node[1].uid, 2);
	assert_string_equal(vm.acpi.node[2].name, "CO1");

	struct modvmm_acpi_node bad[6];
	for (int i = 0; i < 6; i++)
		bad[i] = n;
	bad[0].hid = "pnp0501";
	bad[1].prefix = "COMX";
	bad[2].irq[0] = 16;
	bad[3].io[0].len = 0;
	bad[4].nio = MODVMM_ACPI_MAX_IO + 1;
	bad[5].size = 8;
	for (int i = 0; i < 6; i++)
		assert_int_equal(acpi_vm_node(&dev, &bad[i]), -EINVAL);
	for (int i = 3; i <= 9; i++)
		assert_int_equal(acpi_vm_node(&dev, &n), 0);
	assert_int_equal(acpi_vm_node(&dev, &n), -ENOSPC);
	dev.created = true;
	assert_int_equal(acpi_vm_node(&dev, &other), -EBUSY);
	acpi_vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fadt_hw_reduced),
		cmocka_unit_test(madt_cpus),
		cmocka_unit_test(dsdt_contents),
		cmocka_unit_test(too_small),
		cmocka_unit_test(area_reserved),
		cmocka_unit_test(reset_vector),
		cmocka_unit_test(iasl_roundtrip),
		cmocka_unit_test(node_service),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
