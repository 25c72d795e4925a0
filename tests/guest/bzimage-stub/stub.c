/*
 * stub.c - a synthetic bzImage that checks, from inside the guest, what a Linux
 * boot loader hands a kernel through the 64-bit boot protocol: the CPU state,
 * boot_params and its setup header, the command line, the e820 map, the initrd
 * and the ACPI tables.  It prints what it found on COM1 and exits through the
 * debug-exit port with a status made of the STUB_FAIL_* bits, or with ok=N
 * (default 42) when everything holds; with poweroff=acpi it powers the VM off
 * the way an OS does, through the FADT's sleep control register and \_S5.
 *
 * Command line keys: ram_kib=N (usable e820 RAM), initrd_size=N, cpus=N (MADT
 * local APICs), ok=N, poweroff=acpi.
 *
 * boot_params offsets: Documentation/arch/x86/zero-page.rst; ACPI offsets: ACPI
 * 6.5 §5.2.  This runs at CPL0, emulated instruction by instruction on nested
 * KVM, so it reads no more than it needs.
 */
#include "guest.h"
#include "io.h"
#include "stub.h"

#define DEBUG_EXIT_PORT  0x501
#define EXIT_ACPI_STUCK  0x7e /* still running after the ACPI power-off write */

#define STUB_FAIL_CPU    0x01
#define STUB_FAIL_HDR    0x02
#define STUB_FAIL_CMDLINE 0x04
#define STUB_FAIL_E820   0x08
#define STUB_FAIL_INITRD 0x10
#define STUB_FAIL_ACPI   0x20

/* boot_params */
#define BP_ACPI_RSDP     0x070
#define BP_EXT_RD_IMAGE  0x0c0
#define BP_EXT_RD_SIZE   0x0c4
#define BP_EXT_CMDLINE   0x0c8
#define BP_E820_ENTRIES  0x1e8
#define BP_SENTINEL      0x1ef
#define BP_MAGIC         0x202
#define BP_VERSION       0x206
#define BP_LOADER_TYPE   0x210
#define BP_LOADFLAGS     0x211
#define BP_RD_IMAGE      0x218
#define BP_RD_SIZE       0x21c
#define BP_CMDLINE_PTR   0x228
#define BP_CMDLINE_SIZE  0x238
#define BP_PREF_ADDRESS  0x258
#define BP_INIT_SIZE     0x260
#define BP_E820_TABLE    0x2d0
#define E820_ENTRY_SIZE  20
#define E820_MAX         128
#define E820_RAM         1
#define BIOS_AREA        0xa0000ul
#define BIOS_AREA_END    0x100000ul

/* CPU state of the 64-bit boot protocol */
#define BOOT_CS          0x10
#define BOOT_DS          0x18
#define CR0_PE           0x1ul
#define CR0_PG           0x80000000ul
#define CR4_PAE          0x20ul
#define MSR_EFER         0xc0000080u
#define EFER_LMA         0x400ul
#define RFLAGS_IF        0x200ul

/* ACPI */
#define ACPI_HDR_LEN     36
#define FADT_X_DSDT      140
#define FADT_SLEEP_CTL   244  /* Generic Address Structure: address at +4 */
#define MADT_ENTRIES     44
#define MADT_LAPIC       0
#define SLP_TYP_SHIFT    2
#define SLP_EN           0x20
#define AML_NAME_OP      0x08
#define AML_PACKAGE_OP   0x12
#define AML_BYTE_PREFIX  0x0a
#define AML_ONE_OP       0x01

#define FNV_OFFSET       2166136261u
#define FNV_PRIME        16777619u
#define CMDLINE_MAX      2048

extern char startup_64[];
static char cmdline[CMDLINE_MAX];
static unsigned int failed;

const char *guest_cmdline(void)
{
	return cmdline;
}

static void check(int ok, unsigned int bit, const char *what)
{
	if (!ok) {
		failed |= bit;
		guest_printf("FAIL: %s\n", what);
	}
}

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;
	for (unsigned int i = n; i-- > 0;)
		v = (v << 8) | p[i];
	return v;
}

static uint8_t sum(const uint8_t *p, uint64_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static int same(const void *a, const char *b, size_t n)
{
	const char *p = a;
	for (size_t i = 0; i < n; i++)
		if (p[i] != b[i])
			return 0;
	return 1;
}

static void check_cpu(void)
{
	uint16_t cs, ds, es, ss;
	uint64_t cr0, cr4, rflags;
	uint32_t lo, hi;
	__asm__ volatile("mov %%cs, %0; mov %%ds, %1; mov %%es, %2; mov %%ss, %3"
	                 : "=r"(cs), "=r"(ds), "=r"(es), "=r"(ss));
	__asm__ volatile("mov %%cr0, %0; mov %%cr4, %1; pushf; pop %2"
	                 : "=r"(cr0), "=r"(cr4), "=r"(rflags));
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_EFER));
	check(cs == BOOT_CS, STUB_FAIL_CPU, "CS is not __BOOT_CS");
	check(ds == BOOT_DS && es == BOOT_DS && ss == BOOT_DS, STUB_FAIL_CPU, "DS/ES/SS are not __BOOT_DS");
	check((cr0 & (CR0_PE | CR0_PG)) == (CR0_PE | CR0_PG) && (cr4 & CR4_PAE) && (lo & EFER_LMA),
	      STUB_FAIL_CPU, "not in long mode with paging");
	check(!(rflags & RFLAGS_IF), STUB_FAIL_CPU, "interrupts enabled");
	check((uintptr_t)startup_64 == STUB_LOAD_ADDR + 0x200, STUB_FAIL_CPU, "entered away from load address + 0x200");
	guest_printf("cpu: cs %x ds %x cr0 %lx cr4 %lx efer %x\n", cs, ds, cr0, cr4, lo);
}

static void check_header(const uint8_t *bp)
{
	check(same(bp + BP_MAGIC, "HdrS", 4), STUB_FAIL_HDR, "no HdrS in boot_params");
	check(rd(bp + BP_VERSION, 2) == STUB_PROTOCOL, STUB_FAIL_HDR, "protocol version not copied");
	check(bp[BP_LOADER_TYPE] == 0xff, STUB_FAIL_HDR, "type_of_loader is not 0xff");
	check(bp[BP_LOADFLAGS] & 1, STUB_FAIL_HDR, "LOADED_HIGH lost");
	check(rd(bp + BP_PREF_ADDRESS, 8) == STUB_LOAD_ADDR, STUB_FAIL_HDR, "pref_address not copied");
	check(rd(bp + BP_CMDLINE_SIZE, 4) == STUB_CMDLINE_SIZE, STUB_FAIL_HDR, "cmdline_size not copied");
	check(bp[BP_SENTINEL] == 0, STUB_FAIL_HDR, "sentinel set");
	guest_printf("boot_params at %p: protocol %x, type_of_loader %x\n", bp,
	             (unsigned int)rd(bp + BP_VERSION, 2), bp[BP_LOADER_TYPE]);
}

static void copy_cmdline(const uint8_t *bp)
{
	const char *src = (const char *)(uintptr_t)(rd(bp + BP_CMDLINE_PTR, 4) | rd(bp + BP_EXT_CMDLINE, 4) << 32);
	size_t i = 0;
	if (src)
		for (; i < CMDLINE_MAX - 1 && src[i]; i++)
			cmdline[i] = src[i];
	cmdline[i] = 0;
	check(src && i <= STUB_CMDLINE_SIZE, STUB_FAIL_CMDLINE, "no command line, or longer than cmdline_size");
	guest_printf("cmdline: %s\n", cmdline);
}

/* [addr, addr + len) lies inside one usable e820 entry. */
static int in_ram(const uint8_t *bp, uint64_t addr, uint64_t len)
{
	for (unsigned int i = 0; i < bp[BP_E820_ENTRIES] && i < E820_MAX; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;
		uint64_t a = rd(e, 8), s = rd(e + 8, 8);
		if (rd(e + 16, 4) == E820_RAM && addr >= a && addr + len <= a + s)
			return 1;
	}
	return 0;
}

static void check_e820(const uint8_t *bp)
{
	unsigned int n = bp[BP_E820_ENTRIES];
	uint64_t ram = 0, prev_end = 0;
	int sorted = 1, bios_reserved = 0;
	check(n > 0 && n <= E820_MAX, STUB_FAIL_E820, "e820_entries out of range");
	for (unsigned int i = 0; i < n && i < E820_MAX; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;
		uint64_t a = rd(e, 8), s = rd(e + 8, 8);
		uint32_t t = (uint32_t)rd(e + 16, 4);
		guest_printf("stub-e820: [mem 0x%016lx-0x%016lx] %s\n", a, a + s - 1,
		             t == E820_RAM ? "usable" : t == 2 ? "reserved" : "other");
		sorted &= a >= prev_end && s > 0;
		prev_end = a + s;
		if (t == E820_RAM)
			ram += s;
		else if (a <= BIOS_AREA && a + s >= BIOS_AREA_END)
			bios_reserved = 1;
	}
	check(sorted, STUB_FAIL_E820, "e820 entries unsorted, empty or overlapping");
	check(bios_reserved, STUB_FAIL_E820, "0xa0000-0xfffff is not reserved");
	unsigned long kib = guest_cmdline_ulong("ram_kib", 0);
	check(!kib || ram == (uint64_t)kib << 10, STUB_FAIL_E820, "usable RAM differs from ram_kib");
	check(in_ram(bp, STUB_LOAD_ADDR, rd(bp + BP_INIT_SIZE, 4)), STUB_FAIL_E820, "the kernel is not in usable RAM");
	check(in_ram(bp, (uintptr_t)bp, 4096), STUB_FAIL_E820, "boot_params is not in usable RAM");
	guest_printf("e820: %u entries, %lu KiB usable\n", n, ram >> 10);
}

static void check_initrd(const uint8_t *bp)
{
	uint64_t at = rd(bp + BP_RD_IMAGE, 4) | rd(bp + BP_EXT_RD_IMAGE, 4) << 32;
	uint64_t size = rd(bp + BP_RD_SIZE, 4) | rd(bp + BP_EXT_RD_SIZE, 4) << 32;
	unsigned long want = guest_cmdline_ulong("initrd_size", 0);
	uint32_t h = FNV_OFFSET;
	check(size == want, STUB_FAIL_INITRD, "ramdisk_size differs from initrd_size");
	if (!size)
		return;
	check(!(at & 0xfff) && at >= BIOS_AREA_END && in_ram(bp, at, size), STUB_FAIL_INITRD,
	      "initrd misplaced");
	check(at + size - 1 <= rd(bp + 0x22c, 4), STUB_FAIL_INITRD, "initrd above initrd_addr_max");
	for (const uint8_t *p = (const uint8_t *)(uintptr_t)at, *end = p + size; p < end; p++)
		h = (h ^ *p) * FNV_PRIME;
	guest_printf("initrd: %lu bytes at 0x%lx fnv1a32=%08x\n", size, at, h);
}

/* The table at gpa with signature sig and a valid checksum, or NULL. */
static const uint8_t *acpi_table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)gpa;
	if (!gpa || !same(t, sig, 4) || sum(t, rd(t + 4, 4)) != 0)
		return 0;
	return t;
}

/* SLP_TYPa of \_S5: Name (_S5_, Package (n) { a, ... }) in the DSDT. */
static int s5_type(const uint8_t *dsdt)
{
	uint64_t len = rd(dsdt + 4, 4);
	for (uint64_t i = ACPI_HDR_LEN; i + 9 < len; i++) {
		const uint8_t *p = dsdt + i;
		if (p[0] == AML_NAME_OP && same(p + 1, "_S5_", 4) && p[5] == AML_PACKAGE_OP)
			return p[8] == AML_BYTE_PREFIX ? p[9] : p[8] <= AML_ONE_OP ? p[8] : -1;
	}
	return -1;
}

/* Returns the sleep control port | the \_S5 sleep type << 16, 0 when unusable. */
static uint32_t check_acpi(const uint8_t *bp)
{
	const uint8_t *rsdp = (const uint8_t *)(uintptr_t)rd(bp + BP_ACPI_RSDP, 8);
	const uint8_t *xsdt = 0, *fadt = 0, *madt = 0, *dsdt = 0;
	unsigned int cpus = 0;
	if (rsdp && same(rsdp, "RSD PTR ", 8) && !sum(rsdp, 20) && !sum(rsdp, 36))
		xsdt = acpi_table(rd(rsdp + 24, 8), "XSDT");
	for (uint64_t off = ACPI_HDR_LEN; xsdt && off + 8 <= rd(xsdt + 4, 4); off += 8) {
		uint64_t gpa = rd(xsdt + off, 8);
		fadt = fadt ? fadt : acpi_table(gpa, "FACP");
		madt = madt ? madt : acpi_table(gpa, "APIC");
	}
	if (fadt)
		dsdt = acpi_table(rd(fadt + FADT_X_DSDT, 8), "DSDT");
	for (uint64_t off = MADT_ENTRIES; madt && off + 2 <= rd(madt + 4, 4) && madt[off + 1];
	     off += madt[off + 1])
		cpus += madt[off] == MADT_LAPIC;
	check(rsdp && xsdt && fadt && madt && dsdt, STUB_FAIL_ACPI, "ACPI tables missing or bad checksums");
	if (!dsdt)
		return 0;
	int s5 = s5_type(dsdt);
	uint16_t port = (uint16_t)rd(fadt + FADT_SLEEP_CTL + 4, 8);
	check(cpus == guest_cmdline_ulong("cpus", 1), STUB_FAIL_ACPI, "MADT CPU count differs from cpus");
	check(s5 >= 0 && port, STUB_FAIL_ACPI, "no \\_S5 or sleep control register");
	guest_printf("acpi: rsdp %p, %u cpus, sleep control port 0x%x, S5 type %d\n", rsdp, cpus, port, s5);
	return s5 >= 0 ? port | (uint32_t)s5 << 16 : 0;
}

__attribute__((noreturn)) void stub_main(uint8_t *bp);

void stub_main(uint8_t *bp)
{
	check_cpu();
	copy_cmdline(bp);
	check_header(bp);
	check_e820(bp);
	check_initrd(bp);
	uint32_t sleep = check_acpi(bp);
	unsigned int status = failed;
	if (!failed) {
		guest_printf("bzimage stub: all checks passed\n");
		size_t len;
		const char *v = guest_cmdline_get("poweroff", &len);
		if (v && len == 4 && same(v, "acpi", 4) && sleep) {
			guest_printf("powering off through ACPI\n");
			outb((uint16_t)sleep, (uint8_t)(((sleep >> 16) << SLP_TYP_SHIFT) | SLP_EN));
			status = EXIT_ACPI_STUCK;
		} else {
			status = (unsigned int)guest_cmdline_ulong("ok", 42);
		}
	}
	outb(DEBUG_EXIT_PORT, (uint8_t)status);
	for (;;)
		__asm__ volatile("cli; hlt");
}
