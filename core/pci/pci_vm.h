/* SPDX-License-Identifier: MIT */
/* The PCI bus and devmem folder of a VM (called from vm.c), and pci_register. */
#ifndef MODVMM_PCI_VM_H
#define MODVMM_PCI_VM_H

#include <modvmm/plugin.h>

struct vm;

/* Create the bus (after RAM is mapped, before devices) and the devmem folder state. */
int pci_vm_init(struct vm *vm) __attribute__((warn_unused_result));
/* Print the topology at info level (-v): BDF, ids, class, BARs, interrupts. */
void pci_vm_print(struct vm *vm);
/* Unmap and free the bus, then remove the devmem files (vm_destroy). */
void pci_vm_destroy(struct vm *vm);

/* Host service: place a function at the instance's `slot` key or the next free slot. */
int pci_register(struct modvmm_dev *dev, const struct modvmm_pci_id *id, const struct modvmm_pci_cfg_ops *cfg_ops,
                 void *opaque, struct modvmm_pci **out);

#endif
