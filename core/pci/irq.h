/* SPDX-License-Identifier: MIT */
/*
 * Interrupt routing for PCI: the KVM GSI routing table, MSI routes, irqfds and
 * the shared INTx lines.
 *
 * KVM_SET_GSI_ROUTING replaces the whole table, so every commit contains the
 * default irqchip routes first (as QEMU and kvmtool do): IOAPIC pins 0-23 on
 * GSIs 0-23, and PIC pins on GSIs 0-15 except the cascade, GSI 2 (master pins
 * 0-7, slave pins 8-15).  MSI routes follow on GSIs from IRQ_FIRST_MSI_GSI up.
 * Until the first MSI route is committed KVM's own default table is in place.
 *
 * INTx: PCI pin P (1 = INTA#) of slot S drives IOAPIC GSI
 * IRQ_INTX_FIRST_GSI + (S + P - 1) % 4 (the usual bridge swizzle, PCI-to-PCI
 * Bridge Architecture 1.2 §9.1), level-triggered, active high; several functions
 * may share one GSI: the line is high while any of them asserts it.
 */
#ifndef MODVMM_IRQ_H
#define MODVMM_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vm/kvmops.h"

#define IRQ_IOAPIC_PINS     24   /* KVM's in-kernel IOAPIC */
#define IRQ_PIC_PINS        16   /* two cascaded 8259s */
#define IRQ_PIC_PINS_EACH   8
#define IRQ_PIC_CASCADE     2    /* master pin 2 carries the slave */
#define IRQ_FIRST_MSI_GSI   IRQ_IOAPIC_PINS
#define IRQ_INTX_FIRST_GSI  16   /* IOAPIC pins 16-19 carry PCI INTA#-INTD# */
#define IRQ_INTX_LINES      4
#define IRQ_DEFAULT_ROUTES  (IRQ_IOAPIC_PINS + IRQ_PIC_PINS - 1)

struct irq_msi_route {
	bool routed;       /* has an entry in the table */
	uint64_t addr;
	uint32_t data;
};

struct irq_router {
	const struct kvm_ops *ops;
	void *ctx;
	pthread_mutex_t lock;
	unsigned max_gsi;              /* GSIs must stay below (KVM_CAP_IRQ_ROUTING) */
	unsigned next_gsi;
	struct irq_msi_route *msi;     /* index: gsi - IRQ_FIRST_MSI_GSI */
	unsigned nmsi;
	unsigned intx_count[IRQ_INTX_LINES];  /* functions asserting each INTx GSI */
	unsigned commits;              /* KVM_SET_GSI_ROUTING calls made */
};

int irq_router_init(struct irq_router *r, const struct kvm_ops *ops, void *ctx);
void irq_router_destroy(struct irq_router *r);
/* Reserve n consecutive GSIs for MSI; -ENOSPC past the KVM limit, -ENOTSUP
 * without GSI routing. */
int irq_gsi_alloc(struct irq_router *r, unsigned n, unsigned *first) __attribute__((warn_unused_result));
/* Route `gsi` (from irq_gsi_alloc) to the MSI message (addr, data) and commit
 * the table if the route changed. */
int irq_msi_route(struct irq_router *r, unsigned gsi, uint64_t addr, uint32_t data);
/* The table a commit would send (malloc'd; caller frees).  For tests. */
struct kvm_irq_routing *irq_table_build(struct irq_router *r);
/* Bind (assign) or unbind eventfd `fd` to `gsi`; resample_fd >= 0 makes a
 * level-triggered irqfd with a resample fd (KVM_IRQFD_FLAG_RESAMPLE). */
int irq_irqfd(struct irq_router *r, int fd, unsigned gsi, int resample_fd, bool assign);
/* The IOAPIC GSI of INTx pin `pin` (1-4) of `slot`. */
unsigned irq_intx_gsi(unsigned slot, unsigned pin);
/* One function's INTx input on `gsi` changes from `was` to `now`. */
int irq_intx_change(struct irq_router *r, unsigned gsi, bool was, bool now);

#endif
