/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables (acpi.h): a pure builder, from an acpi_config to bytes.  Layouts: ACPI
 * 6.5 §5.2.5.3 (RSDP), §5.2.6 (header), §5.2.8 (XSDT), §5.2.9 (FADT), §5.2.12
 * (MADT), §5.2.3.2 (Generic Address Structure); all little endian.
 */
#include "acpi/acpi.h"

#include <errno.h>
#include <string.h>

#include "acpi/aml.h"
#include "pci/irq.h"
#include "pci/pci.h"

#define ACPI_OEM_ID        "MODVMM"
#define ACPI_OEM_TABLE_ID  "MODVMM  "
#define ACPI_OEM_REVISION  1
#define ACPI_CREATOR_ID    "MVMM"
#define ACPI_CREATOR_REV   1
#define ACPI_TABLE_ALIGN   16

#define RSDP_SIGNATURE     "RSD PTR "
#define RSDP_REVISION      2    /* ACPI 2.0+: XSDT and the extended checksum */
#define RSDP_V1_LENGTH     20   /* bytes covered by the first checksum */
#define XSDT_REVISION      1
#define FADT_REVISION      6    /* ACPI 6.x, with FADT minor version below */
#define FADT_MINOR_VERSION 3    /* ACPI 6.3: Hypervisor Vendor Identity */
#define MADT_REVISION      5
#define DSDT_REVISION      2    /* 64-bit AML integers */

/* FADT Flags (Table 5.10) and IA-PC boot architecture flags (Table 5.11). */
#define FADT_RESET_REG_SUP    (1u << 10)
#define FADT_HW_REDUCED_ACPI  (1u << 20)
#define IAPC_VGA_NOT_PRESENT  (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)  /* KVM has no RTC; no 8042 either (bit 1 clear) */
/* Generic Address Structure (Table 5.1). */
#define GAS_SYSTEM_IO      1
#define GAS_ACCESS_BYTE    1

/* MADT (§5.2.12): flags, structure types and lengths. */
#define MADT_PCAT_COMPAT   1u   /* the two 8259s are present (KVM's in-kernel PIC) */
#define MADT_LAPIC         0
#define MADT_IOAPIC        1
#define MADT_INT_OVERRIDE  2
#define MADT_LAPIC_NMI     4
#define MADT_LAPIC_ENABLED 1u
#define MADT_NMI_ALL_CPUS  0xff
#define MADT_NMI_LINT1     1
#define LAPIC_GPA          0xfee00000u
#define IOAPIC_GPA         0xfec00000u
#define IOAPIC_ID          0    /* KVM's IOAPIC id register resets to 0 */
#define IOAPIC_GSI_BASE    0
/* ISA IRQs routed to an IOAPIC pin other than their own number.  KVM's default
 * routing and the core's routing table (irq.h) put ISA IRQ n on IOAPIC pin n,
 * including the PIT on pin 0; the override states it explicitly for IRQ 0 so
 * no OS falls back to the PC convention of pin 2.  Flags 0: ISA bus defaults
 * (edge, active high). */
static const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } isa_overrides[] = {
	{ 0, 0, 0 },
};

/* The PCI root bridge (DSDT): bus 0, config ports 0xcf8-0xcff, the I/O window the
 * PCI bus assigns I/O BARs from (pci.h), the 32-bit window [PCI_MMIO32_BASE,
 * PCI_MMIO32_END) and the 64-bit window from mem.h; _PRT gives each slot's INTA#-
 * INTD# as the IOAPIC GSI irq.c drives (ACPI 6.5 §6.2.13: address 0xSSSSFFFF,
 * pin 0-3, source 0 = a GSI, which the OS takes as level, active low). */
#define CONFIG_PORTS_LEN   (PCI_CONFIG_DATA + PCI_CONFIG_PORTS - PCI_CONFIG_ADDRESS) /* 0xcf8-0xcff */
#define PCI_BUS_LAST       0xff
#define PRT_ANY_FUNCTION   0xffff
#define PRT_SLOT_SHIFT     16
#define PRT_ENTRY_ELEMS    4

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {
	uint8_t space, bit_width, bit_offset, access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len, gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr;
	struct acpi_gas x_gpe0, x_gpe1, sleep_control, sleep_status;
	uint64_t hypervisor_vendor;
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length, uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

struct madt_override {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type, length, uid;
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI 6.5 Table 5.4");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "ACPI 6.5 Table 5.3");
_Static_assert(sizeof(struct acpi_fadt) == 276, "ACPI 6.5 Table 5.9");
_Static_assert(__builtin_offsetof(struct acpi_fadt, flags) == 112, "FADT Flags");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, sleep_control) == 244, "FADT SLEEP_CONTROL_REG");
_Static_assert(sizeof(struct madt_lapic) == 8 && sizeof(struct madt_ioapic) == 12 &&
               sizeof(struct madt_override) == 10 && sizeof(struct madt_lapic_nmi) == 6,
               "ACPI 6.5 §5.2.12");

#define MADT_FIXED 8  /* Local Interrupt Controller Address, Flags */

static uint8_t checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	while (n--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, sizeof(h->signature));
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, sizeof(h->creator_id));
	h->creator_revision = ACPI_CREATOR_REV;
	h->checksum = 0;
	h->checksum = checksum(h, len);
}

static struct acpi_gas io_reg(uint16_t port)
{
	return (struct acpi_gas){ .space = GAS_SYSTEM_IO, .bit_width = 8,
	                          .access_size = GAS_ACCESS_BYTE, .address = port };
}

static size_t align(size_t v)
{
	return (v + ACPI_TABLE_ALIGN - 1) & ~(size_t)(ACPI_TABLE_ALIGN - 1);
}

/* The DSDT body (after its header): \_SB.PCI0, the device nodes, \_S5. */
static void dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	size_t sb = aml_scope_begin(a, "_SB");

	size_t pci = aml_device_begin(a, "PCI0");
	aml_name_eisaid(a, "_HID", "PNP0A03");
	aml_name_integer(a, "_UID", 0);
	aml_name_integer(a, "_SEG", 0);
	aml_name_integer(a, "_BBN", 0);
	size_t crs = aml_name_crs_begin(a, "_CRS");
	aml_res_bus_numbers(a, 0, PCI_BUS_LAST);
	aml_res_io(a, PCI_CONFIG_ADDRESS, CONFIG_PORTS_LEN);
	aml_res_io_window(a, PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_END - 1);
	aml_res_mem32_window(a, (uint32_t)PCI_MMIO32_BASE, (uint32_t)(PCI_MMIO32_END - 1), false);
	if (cfg->mmio64_size)
		aml_res_mem64_window(a, cfg->mmio64_base, cfg->mmio64_base + cfg->mmio64_size - 1, true);
	aml_crs_end(a, crs);
	size_t prt = aml_name_package_begin(a, "_PRT", PCI_SLOTS * IRQ_INTX_LINES);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < IRQ_INTX_LINES; pin++) {
			size_t e = aml_package_begin(a, PRT_ENTRY_ELEMS);
			aml_integer(a, (slot << PRT_SLOT_SHIFT) | PRT_ANY_FUNCTION);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, irq_intx_gsi(slot, pin + 1));
			aml_end(a, e);
		}
	}
	aml_end(a, prt);
	aml_end(a, pci);

	/* The power button (ACPI 6.5 §4.8.2.2.1.2, control method): with
	 * hardware-reduced ACPI its event comes through a Generic Event Device
	 * (§5.6.9): an edge on ACPI_POWER_BUTTON_GSI makes the OS run
	 * GED0._EVT (GSI), which notifies PWRB (0x80: pressed). */
	size_t pwrb = aml_device_begin(a, "PWRB");
	aml_name_eisaid(a, "_HID", "PNP0C0C");
	aml_end(a, pwrb);
	size_t ged = aml_device_begin(a, "GED0");
	aml_name_string(a, "_HID", "ACPI0013");
	crs = aml_name_crs_begin(a, "_CRS");
	aml_res_ext_irq_edge(a, ACPI_POWER_BUTTON_GSI);
	aml_crs_end(a, crs);
	size_t evt = aml_method_begin(a, "_EVT", 1);
	size_t cond = aml_if_arg_equals_begin(a, 0, ACPI_POWER_BUTTON_GSI);
	aml_notify(a, "PWRB", ACPI_NOTIFY_BUTTON_PRESSED); /* found in \_SB by the search rules */
	aml_end(a, cond);
	aml_end(a, evt);
	aml_end(a, ged);

	for (unsigned i = 0; i < cfg->nnodes; i++) {
		const struct acpi_node *n = &cfg->nodes[i];
		size_t dev = aml_device_begin(a, n->name);
		aml_name_eisaid(a, "_HID", n->hid);
		aml_name_integer(a, "_UID", n->uid);
		crs = aml_name_crs_begin(a, "_CRS");
		for (unsigned r = 0; r < n->nio; r++)
			aml_res_io(a, n->io_base[r], n->io_len[r]);
		for (unsigned r = 0; r < n->nirq; r++)
			aml_res_irq(a, n->irq[r]);
		aml_crs_end(a, crs);
		aml_end(a, dev);
	}
	aml_end(a, sb);

	/* \_S5: SLP_TYPa, SLP_TYPb (only the first is used with hardware-reduced ACPI) */
	size_t pkg = aml_name_package_begin(a, "_S5", 2);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_end(a, pkg);
}

static void fadt(struct acpi_fadt *f, uint64_t dsdt_gpa)
{
	memset(f, 0, sizeof(*f));
	f->flags = FADT_HW_REDUCED_ACPI | FADT_RESET_REG_SUP;
	f->iapc_boot_arch = IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT;
	f->reset_reg = io_reg(ACPI_RESET_PORT);
	f->reset_value = ACPI_RESET_VALUE;
	f->minor_version = FADT_MINOR_VERSION;
	f->x_dsdt = dsdt_gpa;
	f->sleep_control = io_reg(ACPI_SLEEP_CTL_PORT);
	f->sleep_status = io_reg(ACPI_SLEEP_STS_PORT);
	memcpy(&f->hypervisor_vendor, ACPI_OEM_ID, strlen(ACPI_OEM_ID));
	header(&f->h, "FACP", sizeof(*f), FADT_REVISION);
}

static size_t madt(uint8_t *p, const struct acpi_config *cfg)
{
	size_t off = sizeof(struct acpi_header);
	uint32_t fixed[2] = { LAPIC_GPA, MADT_PCAT_COMPAT };
	memcpy(p + off, fixed, sizeof(fixed));
	off += sizeof(fixed);
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		struct madt_lapic l = { .type = MADT_LAPIC, .length = sizeof(l), .uid = (uint8_t)i,
		                        .apic_id = (uint8_t)i, .flags = MADT_LAPIC_ENABLED };
		memcpy(p + off, &l, sizeof(l));
		off += sizeof(l);
	}
	struct madt_ioapic io = { .type = MADT_IOAPIC, .length = sizeof(io), .id = IOAPIC_ID,
	                          .address = IOAPIC_GPA, .gsi_base = IOAPIC_GSI_BASE };
	memcpy(p + off, &io, sizeof(io));
	off += sizeof(io);
	for (size_t i = 0; i < sizeof(isa_overrides) / sizeof(isa_overrides[0]); i++) {
		struct madt_override o = { .type = MADT_INT_OVERRIDE, .length = sizeof(o),
		                           .source = isa_overrides[i].irq, .gsi = isa_overrides[i].gsi,
		                           .flags = isa_overrides[i].flags };
		memcpy(p + off, &o, sizeof(o));
		off += sizeof(o);
	}
	struct madt_lapic_nmi nmi = { .type = MADT_LAPIC_NMI, .length = sizeof(nmi),
	                              .uid = MADT_NMI_ALL_CPUS, .lint = MADT_NMI_LINT1 };
	memcpy(p + off, &nmi, sizeof(nmi));
	off += sizeof(nmi);
	header((struct acpi_header *)p, "APIC", (uint32_t)off, MADT_REVISION);
	return off;
}

static size_t madt_size(const struct acpi_config *cfg)
{
	return sizeof(struct acpi_header) + MADT_FIXED + cfg->ncpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) +
	       sizeof(isa_overrides) / sizeof(isa_overrides[0]) * sizeof(struct madt_override) +
	       sizeof(struct madt_lapic_nmi);
}

long acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t size, uint64_t gpa)
{
	enum { NTABLES = 2 }; /* in the XSDT: FADT, MADT */
	const size_t rsdp_off = 0;
	const size_t xsdt_off = align(rsdp_off + sizeof(struct acpi_rsdp));
	const size_t xsdt_len = sizeof(struct acpi_header) + NTABLES * sizeof(uint64_t);
	const size_t fadt_off = align(xsdt_off + xsdt_len);
	const size_t madt_off = align(fadt_off + sizeof(struct acpi_fadt));
	const size_t dsdt_off = align(madt_off + madt_size(cfg));
	const size_t hdr = sizeof(struct acpi_header);

	if (size < dsdt_off + hdr)
		return -ENOSPC;
	memset(buf, 0, dsdt_off);

	struct aml a;
	aml_init(&a, buf + dsdt_off + hdr, size - dsdt_off - hdr);
	dsdt_body(&a, cfg);
	if (a.overflow)
		return -ENOSPC;
	header((struct acpi_header *)(buf + dsdt_off), "DSDT", (uint32_t)(hdr + a.len), DSDT_REVISION);

	madt(buf + madt_off, cfg);

	struct acpi_fadt f;
	fadt(&f, gpa + dsdt_off);
	memcpy(buf + fadt_off, &f, sizeof(f));

	uint64_t entries[NTABLES] = { gpa + fadt_off, gpa + madt_off };
	memcpy(buf + xsdt_off + hdr, entries, sizeof(entries));
	header((struct acpi_header *)(buf + xsdt_off), "XSDT", (uint32_t)xsdt_len, XSDT_REVISION);

	struct acpi_rsdp r = { .revision = RSDP_REVISION, .length = sizeof(r), .xsdt = gpa + xsdt_off };
	memcpy(r.signature, RSDP_SIGNATURE, sizeof(r.signature));
	memcpy(r.oem_id, ACPI_OEM_ID, sizeof(r.oem_id));
	r.checksum = checksum(&r, RSDP_V1_LENGTH);
	r.ext_checksum = checksum(&r, sizeof(r));
	memcpy(buf + rsdp_off, &r, sizeof(r));
	return (long)(dsdt_off + hdr + a.len);
}

/* 16-bit real-mode encodings (Intel SDM Vol. 2) */
#define X86_MOV_DX_IMM16 0xba
#define X86_MOV_AL_IMM8  0xb0
#define X86_OUT_DX_AL    0xee
#define X86_CLI          0xfa
#define X86_HLT          0xf4
#define X86_JMP_REL8     0xeb
#define X86_NOP          0x90

void acpi_reset_vector(uint8_t code[ACPI_RESET_VECTOR_LEN])
{
	const uint8_t stub[] = {
		X86_MOV_DX_IMM16, ACPI_RESET_PORT & 0xff, ACPI_RESET_PORT >> 8,
		X86_MOV_AL_IMM8, ACPI_RESET_VALUE,
		X86_OUT_DX_AL,
		X86_CLI,
		X86_HLT,
		X86_JMP_REL8, (uint8_t)-3, /* back to the hlt */
	};
	_Static_assert(sizeof(stub) <= ACPI_RESET_VECTOR_LEN, "the stub fits before 1 MiB");
	memset(code, X86_NOP, ACPI_RESET_VECTOR_LEN);
	memcpy(code, stub, sizeof(stub));
}
