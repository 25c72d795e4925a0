/* SPDX-License-Identifier: MIT */
/*
 * The KVM calls made by the PCI, interrupt and doorbell code, as a table of
 * function pointers.  The VM uses kvm_vm_ops (ctx = struct vm *); unit tests pass
 * a fake that records the calls, so bus, BAR, MSI-X and routing logic runs
 * without /dev/kvm.
 */
#ifndef MODVMM_KVMOPS_H
#define MODVMM_KVMOPS_H

#include <linux/kvm.h>
#include <stdint.h>

struct kvm_ops {
	/* Map [gpa, gpa + size) to host memory hva as a new memslot.  Returns the
	 * slot (>= 0) or -errno (-EEXIST: it overlaps another memslot). */
	int (*map)(void *ctx, uint64_t gpa, uint64_t size, void *hva);
	/* Delete a slot returned by map(); the guest no longer reaches it on return. */
	void (*unmap)(void *ctx, int slot);
	/* KVM_IOEVENTFD (assign, or deassign with KVM_IOEVENTFD_FLAG_DEASSIGN). */
	int (*ioeventfd)(void *ctx, const struct kvm_ioeventfd *req);
	/* KVM_IRQFD (assign, or deassign with KVM_IRQFD_FLAG_DEASSIGN). */
	int (*irqfd)(void *ctx, const struct kvm_irqfd *req);
	/* KVM_SET_GSI_ROUTING: replaces the whole routing table. */
	int (*set_gsi_routing)(void *ctx, const struct kvm_irq_routing *table);
	/* KVM_IRQ_LINE: drive GSI `gsi` to `level`. */
	int (*irq_line)(void *ctx, unsigned gsi, int level);
	/* KVM_CHECK_EXTENSION on the VM: > 0 when supported (value per capability). */
	int (*check_extension)(void *ctx, long cap);
};

extern const struct kvm_ops kvm_vm_ops;

#endif
