/* SPDX-License-Identifier: MIT */
/*
 * ACPI for a VM: the device nodes plugins describe (host->acpi_node), the
 * tables written into guest RAM, the reset-vector stub and the fixed-hardware
 * sleep/reset ports.  The tables themselves come from acpi_build() (acpi.h).
 */
#ifndef MODVMM_ACPI_VM_H
#define MODVMM_ACPI_VM_H

#include <modvmm/plugin.h>

#include "acpi/acpi.h"

struct vm;

/* The nodes described so far, in the order the devices described them. */
struct acpi_nodes {
	struct acpi_node *node;
	unsigned n;
};

/* host->acpi_node: check and keep a copy of `node` for the DSDT.  Only while the
 * device's create() runs (-EBUSY after). */
int acpi_vm_node(struct modvmm_dev *dev, const struct modvmm_acpi_node *node);

/* Build the tables into guest RAM at ACPI_AREA_GPA for the VM's vCPUs and the
 * device nodes, the reset vector stub at ACPI_RESET_VECTOR_GPA, and register the
 * sleep/reset ports on the VM's port bus.  After every device is created. */
int acpi_vm_setup(struct vm *vm) __attribute__((warn_unused_result));

void acpi_vm_destroy(struct vm *vm);

/* Press the power button: an edge on ACPI_POWER_BUTTON_GSI, which the DSDT's
 * GED turns into Notify (PWRB, 0x80); a guest with ACPI shuts down.  Any thread. */
int acpi_vm_power_button(struct vm *vm);

#endif
