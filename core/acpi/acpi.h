/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables (a pure builder; acpi_vm.h is the VM glue) generated at start: RSDP, XSDT, FADT (hardware-reduced, with sleep
 * control/status and reset registers in I/O space), MADT (a local APIC per vCPU,
 * the IOAPIC, interrupt source overrides), DSDT (the PCI root bridge with its
 * windows, the device nodes that plugins describe, \_S5).  No MCFG: PCI configuration access is
 * type-1 ports 0xcf8/0xcfc only.
 * Spec: ACPI 6.5 §5.2 (tables), §4.8.3.7 (sleep registers), §5.2.12 (MADT),
 * §6.4 (resources); Linux finds the RSDP through boot_params.acpi_rsdp_addr,
 * hvm_start_info.rsdp_paddr, or a scan of 0xe0000-0xfffff.
 */
#ifndef MODVMM_ACPI_H
#define MODVMM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem/memmap.h"

/* The tables live in the reserved BIOS area (memmap.h), RSDP first and 16-byte
 * aligned so that a legacy scan of 0xe0000-0xfffff finds it too. */
#define ACPI_AREA_GPA       0xe0000ULL
#define ACPI_AREA_SIZE      0x20000ULL
#define ACPI_RSDP_GPA       ACPI_AREA_GPA
_Static_assert(ACPI_AREA_GPA >= MEMMAP_BIOS_GPA && ACPI_AREA_GPA + ACPI_AREA_SIZE <= MEMMAP_BIOS_END,
               "the ACPI tables must be inside the reserved BIOS area");

/* The core's fixed-hardware ports (FADT SLEEP_CONTROL_REG, SLEEP_STATUS_REG,
 * RESET_REG), one byte each.  Writing SLP_EN with SLP_TYP = ACPI_S5_SLP_TYP to
 * the control register powers the VM off (exit status 0); writing
 * ACPI_RESET_VALUE to the reset register ends it the same way (a reset is
 * treated as power-off, as for KVM_SYSTEM_EVENT_RESET). */
#define ACPI_SLEEP_CTL_PORT 0x600
#define ACPI_SLEEP_STS_PORT 0x601
#define ACPI_RESET_PORT     0x602
#define ACPI_PORTS          3
#define ACPI_SLEEP_TYP_SHIFT 2      /* §4.8.3.7: SLP_TYPx in bits 4:2 */
#define ACPI_SLEEP_TYP_MASK  0x1c
#define ACPI_SLEEP_EN        0x20   /* SLP_EN, bit 5 */
#define ACPI_S5_SLP_TYP     5       /* the value \_S5 hands to the OS */
#define ACPI_RESET_VALUE    1
#define ACPI_POWER_BUTTON_GSI 9     /* the GED's interrupt: an edge presses the power button */
#define ACPI_NOTIFY_BUTTON_PRESSED 0x80

/* The x86 reset vector (F000:FFF0, Intel SDM Vol. 3 §9.1.4), the end of the
 * reserved BIOS area.  A hardware-reduced FADT makes Linux reboot through EFI
 * and then, without EFI, through the BIOS: it returns to real mode and jumps
 * there (arch/x86/kernel/reboot.c, BOOT_BIOS), never trying the ACPI reset
 * register.  acpi_vm_setup() puts a stub there that writes ACPI_RESET_VALUE to
 * ACPI_RESET_PORT, so that such a reboot ends the VM as the reset register
 * would, instead of running whatever the empty BIOS area holds. */
#define ACPI_RESET_VECTOR_GPA 0xffff0ULL
#define ACPI_RESET_VECTOR_LEN 16
_Static_assert(ACPI_RESET_VECTOR_GPA + ACPI_RESET_VECTOR_LEN == ACPI_AREA_GPA + ACPI_AREA_SIZE,
               "the reset vector is the last 16 bytes of the ACPI area");

/* A device node in \_SB, as a device described it (modvmm_acpi_node). */
struct acpi_node {
	char name[5];              /* AML NameSeg, e.g. "COM1" */
	char hid[8];               /* EISA id, e.g. "PNP0501" */
	uint32_t uid;
	unsigned nio, nirq;
	uint16_t io_base[4];
	uint8_t io_len[4];
	uint8_t irq[4];            /* ISA IRQs 0-15 */
};

struct acpi_config {
	unsigned ncpus;            /* local APIC ids 0..ncpus-1 */
	uint64_t mmio64_base;      /* 64-bit PCI window */
	uint64_t mmio64_size;
	unsigned nnodes;           /* device nodes, in the order given */
	const struct acpi_node *nodes;
};

/* Write the tables for guest-physical address `gpa` into buf (`size` bytes), RSDP
 * at offset 0.  Returns the bytes used, or -ENOSPC. */
long acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t size, uint64_t gpa);

/* The real-mode code at the reset vector: out ACPI_RESET_VALUE to
 * ACPI_RESET_PORT, then cli; hlt forever.  Fills all ACPI_RESET_VECTOR_LEN
 * bytes. */
void acpi_reset_vector(uint8_t code[ACPI_RESET_VECTOR_LEN]);

#endif
