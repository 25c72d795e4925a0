/* SPDX-License-Identifier: MIT */
#ifndef MODVMM_FAULTDUMP_H
#define MODVMM_FAULTDUMP_H

struct vm;

/* Write guest RAM to $MODVMM_FAULT_DUMP/modvmm-PID.ram (once per process),
 * when that variable is set; the VM has failed. */
void vm_fault_dump(struct vm *vm);

#endif
