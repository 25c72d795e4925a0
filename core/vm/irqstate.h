/* SPDX-License-Identifier: MIT */
#ifndef MODVMM_IRQSTATE_H
#define MODVMM_IRQSTATE_H

struct vm;

/* Log (info) each vCPU's RIP, interrupt flag and LAPIC in-service and
 * requested vectors, and the IOAPIC pins asserted; the vCPUs are stopped. */
void vm_dump_irq_state(struct vm *vm);

#endif
